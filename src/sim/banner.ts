// The usage-limit notice in each era's wording (reference §1, §4.2, §6): what the screen shows,
// what the transcript's synthetic record says, and which hook reports it.
import type {BannerEra, LimitKind, SimControl} from './control.js'

/** Everything one usage-limit hit produces. */
export interface LimitNotice {
  /** The banner as printed (no indentation). */
  banner: string
  /** Extra line printed under the banner by older versions. */
  followUp: string | null
  /** Text of the transcript's synthetic record (the raw `…|<epoch>` form before 2.1). */
  recordText: string
  /** 2.1 records carry `error: "rate_limit"` and `apiErrorStatus: 429`. */
  tagged: boolean
  /** 2.1.78+ fires StopFailure; older versions ended the turn with a plain Stop. */
  hookEvent: 'StopFailure' | 'Stop'
}

const LABEL_21: Record<LimitKind, string> = {any: 'limit', opus: 'Opus limit', session: 'session limit', sonnet: 'Sonnet limit', weekly: 'weekly limit'}
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

/** `3pm (Europe/Paris)`, `8:30pm (UTC)`: the reset clock as Claude Code prints it. */
export function formatResetClock(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {hour: 'numeric', hour12: true, minute: '2-digit', timeZone}).formatToParts(at)
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? ''
  const minutes = part('minute') === '00' ? '' : `:${part('minute')}`
  return `${part('hour')}${minutes}${part('dayPeriod').toLowerCase()} (${timeZone})`
}

/** The notice for a limit hit at `now` in `timeZone`, worded as the control file's era says. */
export function limitNotice(control: SimControl, now: Date, timeZone: string): LimitNotice {
  const era: BannerEra = control.banner ?? '2.1'
  const kind: LimitKind = control.limit ?? 'session'
  const resetAt = control.reset_at ? new Date(control.reset_at) : defaultResetAt(now)
  const reset = control.reset === undefined ? formatResetClock(resetAt, timeZone) : control.reset ?? ''
  const rawForm = `Claude AI usage limit reached|${Math.floor(resetAt.getTime() / 1000)}`

  if (era === 'legacy') {
    const banner = reset ? `Claude usage limit reached. Your limit will reset at ${reset}.` : 'Claude usage limit reached.'
    return {banner, followUp: UPGRADE, hookEvent: 'Stop', recordText: rawForm, tagged: false}
  }

  if (era === '2.0') {
    const label = LABEL_20[kind]
    const banner = reset ? `${label} resets ${reset}` : label.replace(/ [∙·]$/, '')
    return {banner, followUp: UPGRADE, hookEvent: 'Stop', recordText: rawForm, tagged: false}
  }

  const banner = `You've hit your ${LABEL_21[kind]}${reset ? ` · resets ${reset}` : ''}`
  return {banner, followUp: null, hookEvent: 'StopFailure', recordText: banner, tagged: true}
}
