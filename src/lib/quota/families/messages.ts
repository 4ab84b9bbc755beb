// Every other family of Claude Code's own messages: API and transport errors (the status decides:
// a 500 whose body mentions rate limits is a server error), auth failures, transient throttles, and
// the notices that look like limits and are not (warnings, fallbacks, fast mode, usage credits).
// `classifyMessageText` is the one entry: the limit family first, then these. Pure.
import {type ClassifyOptions, type Event, type EventKind, event, unify, type Verdict} from '../verdict.js'
import {limitFamily} from './limits.js'

const API_PREFIX = /^(?:API Error|Error)\b\s*:?\s*/i

const RULES: [RegExp, EventKind, Verdict, string][] = [
  [/^Interrupted\b/i, 'idle', 'idle', 'interrupted'],
  [/^(?:Context limit reached|Prompt is too long|Conversation is too long)/i, 'idle', 'idle', 'context_limit'],
  [/^(?:Your )?(?:usage )?limit (?:has )?reset\b|^Usage limit reset\b/i, 'idle', 'idle', 'limit_has_reset'],
  [/not your usage limit/i, 'error', 'rate_limited', 'server_throttle'],
  [
    /(?:please )?run \/login\b|^(?:invalid|missing) (?:api key|auth token)|^oauth (?:access )?token (?:has expired|has been revoked|revoked|is invalid|does not meet)|^not logged in|^login expired|^failed to authenticate|^invalid bearer token|^authentication (?:failed|error|required)/i,
    'error',
    'auth_error',
    'auth_login_required',
  ],
  [
    /^(?:server error mid-response|connection (?:lost|closed|error|reset)|response stalled|request timed out|no response from api|typeerror \(fetch failed\)|unable to connect to api|[\w ]{1,40} is experiencing high load|repeated 529)/i,
    'error',
    'server_error',
    'server_error',
  ],
  [/^approaching\b.*\blimit\b/i, 'notice', 'idle', 'approaching_limit'],
  [/^(?:You've|You have) used \d+%|^Over \d+% of your|^(?:You're|You are) (?:close to|near|nearing)|^near(?:ing)? (?:your )?[\w-]+ (?:usage )?limit|limit almost reached/i, 'notice', 'idle', 'usage_warning'],
  [/limit reached,? now using|limit reached · continuing on|now using (?:claude )?(?:sonnet|haiku|opus)/i, 'notice', 'idle', 'model_fallback'],
  [/^fast (?:mode|limit)\b|^You've hit your fast limit/i, 'notice', 'idle', 'fast_mode_notice'],
  [/^(?:You're|You are) now using (?:usage credits|extra usage|your usage allocation)|^Now using (?:usage credits|credits|extra usage|your usage allocation)|^usage credits\b/i, 'notice', 'idle', 'usage_credits_notice'],
]

/**
 * Classifies one Claude Code message (stripped of its `⎿`/`⏺`); null when it is none of ours.
 * `strict`: nothing but the position vouches for the text, so a limit must be the whole message
 * and any other rule must match from its first word.
 */
export function classifyMessageText(text: string, options: ClassifyOptions, strict: boolean): Event | null {
  const limit = limitFamily(text, options, strict)
  if (limit) return limit
  const prefix = API_PREFIX.exec(text)
  if (prefix) {
    // `API Error: Claude AI usage limit reached|<epoch>` was shown that way in some versions.
    const wrapped = limitFamily(text.slice(prefix[0].length), options, strict)
    if (wrapped) return {...wrapped, text}
    return classifyApiError(text, false, options)
  }

  const s = unify(text)
  for (const [regex, kind, verdict, pattern] of RULES) {
    const match = regex.exec(s)
    if (match && (!strict || match.index === 0 || kind === 'notice')) return event(kind, verdict, pattern, text, match.index)
  }

  return null
}

/** An API error or a retry notice (`API Error: 529 …`, `✻ 401 invalid x-api-key · retrying in 3s · attempt 4/10`). */
export function classifyApiError(text: string, spinner: boolean, options?: ClassifyOptions): Event | null {
  const s = unify(text)
  const retry = spinner || /Retrying in|\battempt \d+\/\d+/i.test(s)
  // `API Error: 500 …`, `API Error (529 …)`, `API Error (claude-opus-4-8): 400 …`, `… rejected (429)`,
  // and the 2.1.328 retry line that starts with the status: `500 Internal server error · retrying in 7s`.
  const status = Number(
    /^(?:API )?Error\b(?:\s*\((?!\d{3}\b)[^)]*\))?\s*:?\s*\(?\s*(\d{3})\b/i.exec(s)?.[1] ?? /\((\d{3})\)/.exec(s)?.[1] ?? (retry ? /^(\d{3})\b/.exec(s)?.[1] : undefined) ?? 0,
  )
  const pick = (verdict: Verdict, pattern: string): Event => ({...event('error', verdict, retry ? `retrying_${pattern}` : pattern, text), retry})
  if (options && /you have reached your (?:specified )?api usage limits?/i.test(s)) {
    const limit = limitFamily(s.slice(s.search(/you have reached/i)), options, false)
    if (limit) return {...limit, text}
  }

  // The status decides first: a 500 whose body mentions rate limits is still a server error.
  if (status >= 500 && status <= 599) return pick('server_error', 'api_error_5xx')
  if (status === 401 || status === 403) return pick('auth_error', `api_error_${status}`)
  if (status === 429) return pick('rate_limited', 'api_error_429')
  if (/not your usage limit/i.test(s)) return pick('rate_limited', 'server_throttle')
  if (/\brate[ _-]?limit(?:ed|_error)?\b|\b429\b|too many requests/i.test(s)) return pick('rate_limited', 'api_rate_limit')
  if (/overload|high load|\b5\d\d\b|internal server error|bad gateway|service unavailable|upstream/i.test(s)) return pick('server_error', 'overloaded')
  if (/timed? ?out\b|timeout/i.test(s)) return pick('server_error', 'timeout')
  if (/connect|ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR|socket|fetch failed|network|no response|mid-response|stalled|aborted/i.test(s)) return pick('server_error', 'connection_error')
  if (/\/login|oauth|api[ -]key|authenticat|unauthori[sz]ed|forbidden|permission_error/i.test(s)) return pick('auth_error', 'auth_login_required')
  if (/extra usage is required|usage credits required|\/extra-usage/i.test(s)) return {...event('error', 'unknown', 'extra_usage_required', text), retry}
  if (retry) return pick('server_error', 'api_error')
  return /^API Error/i.test(s) ? event('error', 'unknown', 'api_error_other', text) : null
}
