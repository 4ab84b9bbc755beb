// What every stage of the classifier speaks: the verdicts of SPEC §4, the result `quota classify`
// prints, and the event one message of the screen produces. Pure.

export const VERDICTS = ['quota_exhausted', 'rate_limited', 'server_error', 'auth_error', 'working', 'idle', 'awaiting_input', 'unknown'] as const
export type Verdict = (typeof VERDICTS)[number]

/** The limit window a banner names: `session` is the 5-hour window. */
export type LimitScope = 'session' | 'weekly' | 'opus' | 'sonnet' | 'extra_usage' | 'other'

export interface Classification {
  verdict: Verdict
  /** ISO-8601 (UTC) reset instant when the text gives one. */
  reset_at: string | null
  scope: LimitScope | null
  /** Stable name of the rule that decided the verdict. */
  pattern: string
  /** At most 120 characters of the deciding text, on one line. */
  snippet: string
}

export interface ClassifyOptions {
  /** The capture moment: a time-only reset is the next occurrence after it. */
  now: Date
  /** Zone of the Claude process, used when the banner shows none. */
  timeZone?: string
}

export type EventKind = 'error' | 'idle' | 'notice' | 'activity' | 'running' | 'turn_end' | 'none'

/** What one message on the screen says. */
export interface Event {
  kind: EventKind
  verdict: Verdict
  pattern: string
  scope: LimitScope | null
  resetAt: string | null
  /** Claude Code is still retrying: a spinner below does not end this error. */
  retry: boolean
  text: string
  index: number
  /** Read from the first `⎿` of a tool call, where a tool's own output also goes. */
  fromTool?: boolean
}

const SNIPPET = 120

export function event(kind: EventKind, verdict: Verdict, pattern: string, text: string, index = 0): Event {
  return {index, kind, pattern, resetAt: null, retry: false, scope: null, text, verdict}
}

export function result(verdict: Verdict, pattern: string, snippet: string): Classification {
  return {pattern, reset_at: null, scope: null, snippet, verdict}
}

export function eventResult(ev: Event): Classification {
  return {pattern: ev.pattern, reset_at: ev.resetAt, scope: ev.scope, snippet: snippetAround(ev.text, ev.index), verdict: ev.verdict}
}

/** At most 120 characters of `text` on one line, starting a little before `index`. */
export function snippetAround(text: string, index: number): string {
  const flat = text.replaceAll(/\s+/g, ' ').trim()
  if (flat.length <= SNIPPET) return flat
  const at = text.slice(0, index).replaceAll(/\s+/g, ' ').trimStart().length
  const start = Math.max(0, Math.min(at - 20, flat.length - SNIPPET))
  return flat.slice(start, start + SNIPPET).trim()
}

// Matching runs on a copy where look-alike characters are unified one for one, so indexes still
// point into the original text for the snippet.
export function unify(text: string): string {
  return text.replaceAll(/[’‘ʼ`´]/g, "'").replaceAll(/[∙•⋅・]/g, '·').replaceAll('\n', ' ')
}

/** A message without the marker Claude Code drew in front of it (`⎿`, `⏺`, `✗`, …). */
export function stripLead(text: string): string {
  return text.replace(/^(?:[⎿⏺●✗✘×⚠❗›»◷]\s*)+/, '')
}
