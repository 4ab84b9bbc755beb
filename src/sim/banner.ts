// The usage-limit notice in each era's wording (reference §1, §4.2, §6): what the screen shows,
// what the transcript's synthetic record says, and which hook reports it. The `2.1` era is the
// real 2.1.328 (test/fixtures/real/2.1.328, held by test/sim/fidelity.test.ts).
import type {ApiFailure, BannerEra, LimitKind, SimControl} from './control.js'

/** Everything one usage-limit hit produces. */
export interface LimitNotice {
  /** The banner as printed (no indentation). */
  banner: string
  /** Extra line printed under the banner by older versions. */
  followUp: string | null
  /** Text of the transcript's synthetic record (the raw `…|<epoch>` form before 2.1). */
  recordText: string
  /** 2.1 records carry `error: "rate_limit"`, `apiErrorStatus: 429`, `apiError` and `apiErrorParams.rate_limit_info`. */
  tagged: boolean
  /** The limit as 2.1.328 records it in `apiErrorParams.rate_limit_info`. */
  rateLimitInfo: RateLimitInfo
  /** 2.1.78+ fires StopFailure; older versions ended the turn with a plain Stop. */
  hookEvent: 'StopFailure' | 'Stop'
}

/** `rate_limit_info` of a 2.1.328 limit record. */
export interface RateLimitInfo {
  status: 'rejected'
  /** Absent when the response named no reset (the banner then shows none either). */
  resetsAt?: number
  rateLimitType: string
  overageStatus: 'rejected'
  overageDisabledReason?: string
  isUsingOverage: false
}

// 2.1.328's names for each window; `any` is what it shows when the response names no
// overage-disabled reason.
const LABEL_21: Record<LimitKind, string> = {any: 'limit', opus: 'Opus limit', session: '5-hour limit', sonnet: 'Sonnet limit', weekly: 'weekly limit'}
const WINDOW: Record<LimitKind, string> = {any: 'five_hour', opus: 'seven_day_opus', session: 'five_hour', sonnet: 'seven_day_sonnet', weekly: 'seven_day'}
const LABEL_20: Record<LimitKind, string> = {
  any: 'Session limit reached ∙',
  opus: 'Opus weekly limit reached ∙',
  session: '5-hour limit reached ∙',
  sonnet: 'Weekly limit reached ·',
  weekly: 'Weekly limit reached ·',
}
const UPGRADE = '/upgrade to increase your usage limit.'

/** A reset about an hour ahead on a 10-minute mark, as 2026 resets are. */
export function defaultResetAt(now: Date): Date {
  const step = 10 * 60_000
  return new Date(Math.ceil((now.getTime() + 60 * 60_000) / step) * step)
}

/**
 * `3pm (Europe/Paris)`, `8:30pm (UTC)`, and more than a day ahead `Dec 8, 7:25pm (UTC)` (with the
 * year when it is not this year's): the reset as 2.1.328 prints it, truncated to the minute.
 */
export function formatResetClock(at: Date, timeZone: string, now: Date = at): string {
  const parts = new Intl.DateTimeFormat('en-US', {day: 'numeric', hour: 'numeric', hour12: true, minute: '2-digit', month: 'short', timeZone, year: 'numeric'}).formatToParts(at)
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? ''
  const minutes = part('minute') === '00' ? '' : `:${part('minute')}`
  const clock = `${part('hour')}${minutes}${part('dayPeriod').toLowerCase()}`
  if (at.getTime() - now.getTime() <= 24 * 3_600_000) return `${clock} (${timeZone})`
  const thisYear = new Intl.DateTimeFormat('en-US', {timeZone, year: 'numeric'}).format(now)
  const year = part('year') === thisYear ? '' : ` ${part('year')},`
  return `${part('month')} ${part('day')},${year} ${clock} (${timeZone})`
}

/** The notice for a limit hit at `now` in `timeZone`, worded as the control file's era says. */
export function limitNotice(control: SimControl, now: Date, timeZone: string): LimitNotice {
  const era: BannerEra = control.banner ?? '2.1'
  const kind: LimitKind = control.limit ?? 'session'
  const resetAt = control.reset_at ? new Date(control.reset_at) : defaultResetAt(now)
  const reset = control.reset === undefined ? formatResetClock(resetAt, timeZone, now) : control.reset ?? ''
  const resetsAt = Math.floor(resetAt.getTime() / 1000)
  const rawForm = `Claude AI usage limit reached|${resetsAt}`
  const rateLimitInfo: RateLimitInfo = {
    status: 'rejected',
    ...(control.reset === null || control.reset === '' ? {} : {resetsAt}),
    rateLimitType: WINDOW[kind],
    overageStatus: 'rejected',
    ...(kind === 'any' ? {} : {overageDisabledReason: 'org_level_disabled'}),
    isUsingOverage: false,
  }

  if (era === 'legacy') {
    const banner = reset ? `Claude usage limit reached. Your limit will reset at ${reset}.` : 'Claude usage limit reached.'
    return {banner, followUp: UPGRADE, hookEvent: 'Stop', rateLimitInfo, recordText: rawForm, tagged: false}
  }

  if (era === '2.0') {
    const label = LABEL_20[kind]
    const banner = reset ? `${label} resets ${reset}` : label.replace(/ [∙·]$/, '')
    return {banner, followUp: UPGRADE, hookEvent: 'Stop', rateLimitInfo, recordText: rawForm, tagged: false}
  }

  const banner = `You've hit your ${LABEL_21[kind]}${reset ? ` · resets ${reset}` : ''}`
  return {banner, followUp: null, hookEvent: 'StopFailure', rateLimitInfo, recordText: banner, tagged: true}
}

/** What one failed request (no retries left) produces in 2.1.328. */
export interface FailureNotice {
  /** The message: shown, recorded as the synthetic record's text, and StopFailure's `last_assistant_message`. */
  text: string
  /** StopFailure's and the record's `error`. */
  error: 'server_error' | 'authentication_failed'
  status: ApiFailure
  /** The API's error type, recorded as `apiErrorType`. */
  type: 'api_error' | 'overloaded_error' | 'authentication_error'
  /** `●` line (API Error …) or a `⎿` line under the prompt (Not logged in). */
  shape: 'bullet' | 'notice'
  /** The empty input's placeholder until the next turn. */
  placeholder: string
}

/**
 * A 500, 529 or 401 as 2.1.328 words it under gateway auth. `gateway` is ANTHROPIC_BASE_URL: with
 * one, the server errors name its host; without, Anthropic's status page.
 */
export function failureNotice(failure: ApiFailure, gateway: string | undefined): FailureNotice {
  if (failure === 401) {
    return {error: 'authentication_failed', placeholder: 'Once fixed, resend your message', shape: 'notice', status: 401, text: 'Not logged in · Please run /login', type: 'authentication_error'}
  }

  let host = gateway ?? ''
  try {
    host = new URL(host).host
  } catch {}

  const persists = gateway ? ` If it persists, check your inference gateway (${host}).` : ' If it persists, check https://status.claude.com.'
  const what = failure === 529 ? '529 Overloaded' : '500 Internal server error'
  const text = `API Error: ${what}. This is a server-side issue, usually temporary — try again in a moment.${persists}`
  return {error: 'server_error', placeholder: 'Resend your message to try again', shape: 'bullet', status: failure, text, type: failure === 529 ? 'overloaded_error' : 'api_error'}
}
