// The limit family: every wording Claude Code has used to say "this account is out of usage", as
// one table of templates. Each template is the opening words of the message (matched from its
// first word), the window it names, and the vetoes that keep look-alikes out. The 2.1.328 wordings
// come from the binary itself (test/fixtures/claude-2.1.328-strings.txt: its own list of limit
// openings, `_Xs`, and the label map `Mxe`); the older ones from reference/claude-code.md §1.
// To add a wording: add a row here and a line to that fixture file. Pure.
import {parseResetTime} from '../reset-time.js'
import {type ClassifyOptions, type Event, type LimitScope, unify} from '../verdict.js'

// Words that name a limit that is not an account's plan quota (`fast limit`, `context limit`, …).
const NOT_QUOTA_LABEL =
  /\b(?:context|fast|speed|tokens?|output|input|rate|requests?|retry|retries|tools?|files?|size|length|turns?|memory|lines?|characters?|recursion|depth|concurrency|connections?|image|prompt|compaction|mcp|device|export|subagents?|nesting|budget limit|watch)\b/i
// `Claude Opus 4 limit reached, now using Sonnet 4`: a fallback, the work goes on.
const FALLBACK = /^\s*(?:[,;:·—–-]\s*)?(?:now using|switching to|falling back|using \w+ instead|continuing on)/i
// What may follow `<label> limit reached` in a banner: the reset, a hint, the epoch, nothing.
const REACHED_TAIL =
  /^\s*(?:[·.,:;!|—–-]\s*)?(?:(?:your limit |limit |it )?(?:will )?(?:resets?|be reset)\b|\/[a-z]|\d{9,}|(?:available|usable) again|try again|continu\w* (?:automatically|shortly|when)|regain access|again\b|$)/i
const WINDOW_LABEL = /^(?:5-hour|five-hour|5h|session|hourly|daily|weekly|7-day|seven-day|monthly|opus|sonnet|fable|opus weekly|sonnet weekly|weekly opus|weekly sonnet)\s*$/i
const RESET_KEYWORD = /\|\s*\d{9,}|\bresets?\b|continuing automatically at|continue automatically at|regain access (?:on|at)|(?:available|try) again (?:at|in)/i

interface LimitTemplate {
  pattern: string
  /** The opening words, from the message's first word; group 1, when there is one, is the window's label. */
  opening: RegExp
  /** The window, when the template fixes it; otherwise read from the label. */
  scope?: LimitScope | null
  /** True when the words after the opening make it something else (a fallback, a warning). */
  veto?: (label: string, tail: string) => boolean
  /** Rendered with prose after it (`… Your limit will reset at 5pm.`), so never held to "banner only". */
  prose?: boolean
}

const TEMPLATES: LimitTemplate[] = [
  // 2.1.328 `_Xs` and its history: `You've hit your 5-hour limit · resets 8:21pm (UTC)`, `… weekly
  // limit`, `… Opus limit`, `… Fable limit`, `… monthly spend limit`, `… org's monthly spend limit`,
  // `… team's pooled group budget`, `You've reached your …`, the 2.1.3 `You've hit your limit`.
  {
    opening: /^(?:You've|You have|You) (?:hit|reached) (?:your|the) ((?:[\w.+'$-]+ ){0,5}?)(?:limits?|group budget)\b/i,
    pattern: 'hit_your_limit',
    veto: (label, tail) => NOT_QUOTA_LABEL.test(label) || FALLBACK.test(tail),
  },
  {opening: /^(?:You're|You are|You've run|You have run) out of (?:extra usage|usage credits?|credits)\b/i, pattern: 'out_of_extra_usage', scope: 'extra_usage'},
  {opening: /^Your org is out of usage\b/i, pattern: 'org_out_of_usage', scope: 'extra_usage'},
  {opening: /^Usage is paused for your organization\b/i, pattern: 'org_usage_paused', scope: 'other', prose: true},
  {opening: /^Your seat type doesn't include (?:usage credits|extra usage|usage)\b/i, pattern: 'seat_without_usage', scope: 'extra_usage'},
  {opening: /^Your usage allocation has been disabled by your admin\b/i, pattern: 'usage_allocation_disabled', scope: 'other'},
  {opening: /^Your group's usage limit is set to \$0\b/i, pattern: 'group_limit_zero', scope: 'other'},
  {opening: /^(?:Fable|Haiku|Mythos|Opus|Sonnet)(?: [^·\n]{1,40})? requires usage credits\./i, pattern: 'model_requires_credits', scope: 'extra_usage', prose: true},
  // The native wait of ≥ 2.1.234 that continues by itself at the reset, and how it gives up.
  {opening: /^Automatic continue stopped (?:after repeated usage[- ]limit hits|· the usage limit now resets)/i, pattern: 'auto_continue_stopped', scope: null, prose: true},
  {opening: /^(?=Continuing automatically (?:at|when it resets)\b)/i, pattern: 'auto_continue_wait', scope: null},
  {opening: /^Credit balance is too low\b/i, pattern: 'credit_balance_too_low', scope: 'extra_usage'},
  {opening: /^You have reached your (?:specified )?API usage limits?\b/i, pattern: 'api_usage_limits', scope: 'other', prose: true},
  // `Claude usage limit reached. Your limit will reset at 5pm.` (≤ 1.0), `Claude AI usage limit
  // reached|<epoch>`, `5-hour limit reached ∙ resets 5am`, `Opus weekly limit reached`, and the native
  // wait `Usage limit reached · continuing automatically at 8:21pm · esc to cancel`.
  {
    opening: /^((?:[\w.+-]+ ){0,3}?)limit reached\b/i,
    pattern: 'limit_reached',
    veto: (label, tail) => {
      if (NOT_QUOTA_LABEL.test(label) || FALLBACK.test(tail)) return true
      if (/\|\s*\d{9,13}\b/.test(tail)) return false
      if (!REACHED_TAIL.test(tail) || (label === '' && !/resets?\b/i.test(tail))) return true
      return /^\s*$/.test(tail) && !WINDOW_LABEL.test(label) && !/usage/i.test(label)
    },
  },
]

// Under gateway auth 2.1.328 retries a usage-limit 429 ten times before it gives up with the
// banner, and meanwhile its spinner row says so: `5-hour limit reached · retrying in 9s (8:27pm) ·
// attempt 6/10`, the reset in the parentheses. Read as a retry of a server error, the swap came
// only when the retries ran out, minutes later.
const LIMIT_RETRY = /^((?:[\w.+-]+ ){0,3}?)limit reached\s+[·∙•]\s+retrying in [^(·]*?(?:\((.*)\))?\s*(?:[·∙•]\s+attempt \d+\/\d+)?\s*$/i

/** The retry notice of a limit on Claude Code's spinner row, or null. */
export function limitRetryLine(text: string, options: ClassifyOptions): Event | null {
  // Its own row only: `-J` may glue a right-aligned item onto it after a run of spaces, and the
  // block may carry that item's own row below (`◐ medium · /effort`).
  const row = text.trim().split('\n')[0] as string
  const match = LIMIT_RETRY.exec(unify(row).split(/\s{3,}/)[0] as string)
  if (!match) return null
  const label = (match[1] ?? '').trim()
  if (NOT_QUOTA_LABEL.test(label) || (label !== '' && !WINDOW_LABEL.test(label) && !/usage/i.test(label))) return null
  const reset = match[2] ? parseResetTime(`resets ${match[2]}`, options) : null
  return {index: 0, kind: 'error', pattern: 'limit_retrying', resetAt: reset ? reset.toISOString() : null, retry: false, scope: labelScope(label), text, verdict: 'quota_exhausted'}
}

/** The limit a message states, or null; `strict`: nothing but the reset and Claude Code's hints may follow. */
export function limitFamily(text: string, options: ClassifyOptions, strict: boolean): Event | null {
  const s = unify(text)
  for (const template of TEMPLATES) {
    const match = template.opening.exec(s)
    if (!match) continue
    const label = (match[1] ?? '').trim()
    const tail = s.slice(match[0].length)
    if (template.veto?.(label, tail)) continue
    const rest = text.slice(match[0].length)
    if (strict && !template.prose && !bannerOnly(rest)) return null
    const keyword = RESET_KEYWORD.exec(rest)
    const reset = keyword ? parseResetTime(rest.slice(keyword.index), options) : null
    return {
      index: 0,
      kind: 'error',
      pattern: patternName(template, label, tail),
      resetAt: reset ? reset.toISOString() : null,
      retry: false,
      scope: template.scope === undefined ? labelScope(label) : template.scope,
      text,
      verdict: 'quota_exhausted',
    }
  }

  return null
}

function patternName(template: LimitTemplate, label: string, tail: string): string {
  if (template.pattern !== 'limit_reached') return template.pattern
  if (/^Claude (?:AI )?usage$/i.test(label)) return /\|\s*\d{9,13}\b/.test(tail) ? 'legacy_usage_limit_epoch' : 'legacy_usage_limit'
  return /continu/i.test(tail) ? 'auto_continue_wait' : 'limit_reached'
}

/** The window a label names (`5-hour limit` → session); null when it names none. */
export function labelScope(label: string): LimitScope | null {
  const l = label.toLowerCase()
  if (/credit|extra|overage|spend|budget|allocation/.test(l)) return 'extra_usage'
  if (/opus/.test(l)) return 'opus'
  if (/sonnet/.test(l)) return 'sonnet'
  if (/5-hour|five-hour|\b5h\b|session|hourly/.test(l)) return 'session'
  if (/weekly|7-day|seven-day|week/.test(l)) return 'weekly'
  if (l === '' || /^(?:claude(?: ai)?(?: usage)?|usage|plan|claude plan|your)$/.test(l)) return null
  return 'other'
}

// What a banner may carry after its opening words when nothing else vouches for it (a `⏺` line,
// a tool's `⎿`, a hook's message): the reset time and Claude Code's own hints, and no prose.
const TIME_WORD =
  String.raw`(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?`
const TIME_TOKEN = String.raw`(?:${TIME_WORD}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?|\d+\s*(?:d|h|m|s|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)|at|on|in|tomorrow|today|noon|midnight|shortly|utc|gmt|next month|,)`
const RESET_SEGMENT = new RegExp(
  String.raw`^(?:(?:your limit |limit |it |you |your [\w-]+ limit )?(?:will )?(?:resets?|regain access|be reset)|continuing automatically|continuing shortly|continuing when it resets|(?:available|try) again)(?:\s+${TIME_TOKEN}|,)*\s*(?:\([^)]*\))?\s*\.?$`,
  'i',
)
const HINT_SEGMENT =
  /^(?:\/[a-z][\w-]*\b.*|.*\bclaude\.ai\b.*|esc (?:or type )?to cancel.*|press enter.*|uses your [\w ]+ limit|visit .*|raise it.*|upgrade\b.*|turn on .*|\|\s*\d{9,13}|\([^)]*\)\.?|continuing automatically when your limit resets\.?|again…?|…|progress saved|(?:contact|ask) your admin\b.*|run \/[\w-]+ to .*|add funds to continue|manage it in admin settings.*|an org owner .*|switch models to keep working\.?)$/i
// No reset or hint is longer; anything longer is prose (and keeps the tests below linear).
const SEGMENT_MAX = 160

function bannerOnly(rest: string): boolean {
  const parts = rest
    .split(/\s+[·∙•]\s+|(?<=[.!])\s+|\n|\s+(?=\/[a-z])|\s+(?=\|)/i)
    .map((part) => unify(part).trim().replace(/^[·.,:;—–-]\s*/, ''))
    .filter((part) => part !== '')
  // A row break may fall inside a reset time (`resets Jul` / `31, 2am`): try joining a few parts.
  for (let i = 0; i < parts.length; ) {
    let joined = ''
    let next = -1
    for (let j = i; j < Math.min(parts.length, i + 3) && next === -1; j++) {
      joined = joined === '' ? (parts[j] as string) : `${joined} ${parts[j] as string}`
      if (joined.length > SEGMENT_MAX) break
      if (RESET_SEGMENT.test(joined) || HINT_SEGMENT.test(joined)) next = j + 1
    }

    if (next === -1) return false
    i = next
  }

  return true
}
