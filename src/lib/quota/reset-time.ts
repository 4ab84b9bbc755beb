// Reset times as Claude Code prints them in its limit banners (`5pm`, `8:30pm (Europe/Paris)`,
// `Oct 6, 6pm`, `Sep 15 at 7pm`, `Mon 12:00am`, `in 1h 15m`, the legacy `|<epoch>`), turned into
// an instant. Pure: the clock comes in through `options.now`, and zone arithmetic uses only Intl.

export interface ResetTimeOptions {
  /** The moment the banner was printed (or first seen): a time-only reset is the next one after it. */
  now: Date
  /** The zone of the Claude process when the text shows none; default: this process's zone. */
  timeZone?: string
}

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

const EPOCH = /\|\s*(\d{10}|\d{13})(?!\d)/
// Every place a reset expression may start: `resets 5pm`, `reset at 5pm`, `Resets Jul 11 at 12pm`,
// `continuing automatically at 3:45pm`, `regain access on 2026-10-01 at 00:00 UTC`.
const KEYWORD = /\bresets?\b(?:\s+(?:at|on))?|\bcontinuing automatically(?: at)?|\bregain access(?: on| at)?|\b(?:available|try) again(?: at)?/gi
// The expression ends at the next banner separator or hint.
const END = /\s[·∙•|]\s|\s[·∙•]$|\s\/(?:upgrade|extra-usage|low-priority)|\.\s|\.$|\s-\s|\s—\s/
const ZONE = /\(\s*([A-Za-z][A-Za-z0-9_+\-]*(?:\/[A-Za-z0-9_+\-]+){0,2})\s*\)/
const RELATIVE = /^in\s+((?:\d+\s*(?:days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b\s*,?\s*(?:and\s+)?)+)/i
const RELATIVE_PART = /(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b/gi
const TIME_12 = /\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?/i
const TIME_24 = /\b([01]?\d|2[0-3]):([0-5]\d)\b/
const NOON = /\b(noon|midnight)\b/i
const MONTH = String.raw`(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`
const MONTH_DAY = new RegExp(String.raw`\b${MONTH}\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b`, 'i')
const DAY_MONTH = new RegExp(String.raw`\b(\d{1,2})(?:st|nd|rd|th)?\s+${MONTH}\b`, 'i')
const WEEKDAY = /\b(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b/i
const TOMORROW = /\btomorrow\b/i
const ISO_DATE = /\b(\d{4})-(\d{2})-(\d{2})\b/
const BARE_ZONE = /\b(UTC|GMT)\b/

/** Parses the reset moment in a limit banner (or a bare time expression); null when there is none. */
export function parseResetTime(text: string, options: ResetTimeOptions): Date | null {
  const flat = text.replaceAll(/[\s\u00a0\u202f]+/g, ' ')
  const epoch = EPOCH.exec(flat)
  if (epoch?.[1]) {
    const value = Number(epoch[1])
    return new Date(epoch[1].length === 13 ? value : value * 1000)
  }

  const expressions: string[] = []
  for (const match of flat.matchAll(KEYWORD)) expressions.push(flat.slice((match.index ?? 0) + match[0].length))
  if (expressions.length === 0) expressions.push(flat)
  for (const expression of expressions) {
    const parsed = parseExpression(cutExpression(expression), options)
    if (parsed) return parsed
  }

  return null
}

/** True when Intl knows the zone (`Europe/Paris`, `UTC`, `Etc/GMT+5`). */
export function isValidTimeZone(zone: string): boolean {
  if (zone.trim() === '') return false
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: zone})
    return true
  } catch {
    return false
  }
}

/** The zone this process formats dates in (TZ, else the system zone). */
export function processTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone
}

function cutExpression(expression: string): string {
  const trimmed = expression.trim()
  const end = END.exec(trimmed)
  const cut = end ? trimmed.slice(0, end.index) : trimmed
  return cut.slice(0, 80)
}

interface WallTime {
  hour: number
  minute: number
}

function parseExpression(expression: string, options: ResetTimeOptions): Date | null {
  const relative = RELATIVE.exec(expression)
  if (relative?.[1]) return new Date(options.now.getTime() + relativeMs(relative[1]))

  const zoneMatch = ZONE.exec(expression) ?? BARE_ZONE.exec(expression)
  const zone = zoneMatch?.[1] && isValidTimeZone(zoneMatch[1]) ? zoneMatch[1] : options.timeZone && isValidTimeZone(options.timeZone) ? options.timeZone : processTimeZone()
  const body = zoneMatch ? expression.replace(zoneMatch[0], ' ') : expression
  const iso = ISO_DATE.exec(body)
  const time = wallTime(iso ? body.replace(iso[0], ' ') : body)
  const date = MONTH_DAY.exec(body) ?? swapDayMonth(DAY_MONTH.exec(body))
  const weekday = WEEKDAY.exec(body)
  if (!time && !date && !iso && !weekday) return null

  const clock = new ZoneClock(zone)
  const now = options.now.getTime()
  const today = clock.wall(now)
  const at = time ?? {hour: 0, minute: 0}
  if (iso) {
    const [year, month, day] = [Number(iso[1]), Number(iso[2]) - 1, Number(iso[3])]
    return isRealDate(year, month, day) ? new Date(clock.instants(year, month, day, at.hour, at.minute)[0] as number) : null
  }

  if (date?.[1] && date[2]) {
    const month = MONTHS.indexOf(date[1].slice(0, 3).toLowerCase())
    const day = Number(date[2])
    let best: number | null = null
    for (const year of [today.year - 1, today.year, today.year + 1]) {
      if (!isRealDate(year, month, day)) continue
      const instant = clock.instants(year, month, day, at.hour, at.minute)[0] as number
      if (best === null || Math.abs(instant - now) < Math.abs(best - now)) best = instant
    }

    return best === null ? null : new Date(best)
  }

  const target = weekday?.[1] ? WEEKDAYS.indexOf(weekday[1].slice(0, 3).toLowerCase()) : -1
  const firstDay = TOMORROW.test(body) ? 1 : 0
  for (let offset = firstDay; offset <= 8; offset++) {
    const day = new Date(Date.UTC(today.year, today.month, today.day + offset))
    if (target >= 0 && day.getUTCDay() !== target) continue
    for (const instant of clock.instants(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), at.hour, at.minute)) {
      if (instant > now) return new Date(instant)
    }
  }

  return null
}

function swapDayMonth(match: RegExpExecArray | null): [string, string, string] | null {
  return match?.[1] && match[2] ? [match[0], match[2], match[1]] : null
}

function wallTime(text: string): WallTime | null {
  const twelve = TIME_12.exec(text)
  if (twelve?.[1] && twelve[3]) {
    const hour = Number(twelve[1])
    const minute = twelve[2] ? Number(twelve[2]) : 0
    if (hour < 1 || hour > 12 || minute > 59) return null
    const pm = twelve[3].toLowerCase() === 'p'
    return {hour: (hour % 12) + (pm ? 12 : 0), minute}
  }

  const noon = NOON.exec(text)
  if (noon?.[1]) return {hour: noon[1].toLowerCase() === 'noon' ? 12 : 0, minute: 0}
  const day24 = TIME_24.exec(text)
  if (day24?.[1] && day24[2]) return {hour: Number(day24[1]), minute: Number(day24[2])}
  return null
}

function relativeMs(text: string): number {
  let total = 0
  for (const part of text.matchAll(RELATIVE_PART)) {
    const unit = (part[2] ?? 's').toLowerCase()
    const value = Number(part[1])
    total += value * (unit.startsWith('d') ? DAY : unit.startsWith('h') ? HOUR : unit.startsWith('m') ? MINUTE : 1000)
  }

  return total
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 0 || day < 1) return false
  const date = new Date(Date.UTC(year, month, day))
  return date.getUTCMonth() === month && date.getUTCDate() === day
}

interface WallParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
}

/** Wall-clock arithmetic in one IANA zone through Intl (no offset tables of our own). */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat

  constructor(zone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      day: 'numeric',
      hour: 'numeric',
      hourCycle: 'h23',
      minute: 'numeric',
      month: 'numeric',
      second: 'numeric',
      timeZone: zone,
      year: 'numeric',
    })
  }

  wall(instant: number): WallParts & {second: number} {
    const parts: Record<string, number> = {}
    for (const part of this.format.formatToParts(new Date(instant))) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value)
    }

    return {day: parts.day ?? 1, hour: (parts.hour ?? 0) % 24, minute: parts.minute ?? 0, month: (parts.month ?? 1) - 1, second: parts.second ?? 0, year: parts.year ?? 1970}
  }

  /** Milliseconds to add to UTC to get this zone's wall clock at `instant`. */
  offset(instant: number): number {
    const w = this.wall(instant)
    return Date.UTC(w.year, w.month, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000
  }

  /**
   * Every instant showing this wall time, earliest first: one on a normal day, two in the hour a
   * fall-back transition repeats. A time skipped by a spring-forward transition maps to the
   * instant the clock reads that time plus the jump (2:30 → 3:30), as a wall clock would.
   */
  instants(year: number, month: number, day: number, hour: number, minute: number): number[] {
    const local = Date.UTC(year, month, day, hour, minute)
    const before = this.offset(local - DAY)
    const after = this.offset(local + DAY)
    const found = [...new Set([before, after])].map((offset) => local - offset).filter((instant) => this.offset(instant) === local - instant)
    if (found.length === 0) return [local - before]
    return [...new Set(found)].sort((a, b) => a - b)
  }
}
