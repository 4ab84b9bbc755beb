// What the usage records say per account (pure): the latest used percentage and reset of each
// window, and a forecast of when the window runs out at the recent burn rate. `status`, `metrics`
// and quota check's proactive swap read it.
import type {UsageSample, UsageWindow, SessionUsage} from './records.js'

import {WINDOWS} from './records.js'

/** How far back the burn rate looks, per window. */
export const BURN_LOOKBACK_MS: Record<UsageWindow, number> = {five_hour: 3_600_000, seven_day: 24 * 3_600_000}
/** The rate needs readings at least this far apart: two renders a second apart say nothing. */
export const MIN_SPAN_MS = 5 * 60_000
/** Two resets_at this close are the same window (the server's value may move by a second). */
const SAME_WINDOW_MS = 120_000

export interface Forecast {
  /** When the window reaches 100 % at the current rate; null when unknown or after the reset. */
  runs_out_at: string | null
  /** Percentage points per hour over the lookback; null when there is not enough data. */
  rate_per_hour: number | null
  /** True when the window resets before it would run out. */
  resets_first: boolean
}

export interface WindowView extends Forecast {
  used_percentage: number
  resets_at: string | null
  /** When the reading was recorded. */
  seen_at: string
  /** The reading is older than the freshness limit, or its reset has passed (the server has moved on). */
  stale: boolean
}

export interface AccountUsage {
  account: string
  five_hour: WindowView | null
  seven_day: WindowView | null
  /** The session that reported the newest reading. */
  session: string | null
}

export interface Point {
  at: number
  used: number
  resetsAt: number | null
}

/**
 * The forecast for one window from its readings (oldest first): the rate from the first to the last
 * reading of the current window within the lookback, projected from the last reading to 100 %.
 */
export function forecastWindow(points: Point[], window: UsageWindow): Forecast {
  const none: Forecast = {rate_per_hour: null, resets_first: false, runs_out_at: null}
  const last = points.at(-1)
  if (!last) return none
  const sameWindow = (p: Point) => (p.resetsAt === null && last.resetsAt === null) || (p.resetsAt !== null && last.resetsAt !== null && Math.abs(p.resetsAt - last.resetsAt) <= SAME_WINDOW_MS)
  const recent = points.filter((p) => p.at >= last.at - BURN_LOOKBACK_MS[window] && sameWindow(p))
  const first = recent[0] as Point
  if (last.used >= 100) return {rate_per_hour: null, resets_first: false, runs_out_at: new Date(last.at).toISOString()}
  if (last.at - first.at < MIN_SPAN_MS || last.used <= first.used) return none
  const perMs = (last.used - first.used) / (last.at - first.at)
  const runsOut = last.at + (100 - last.used) / perMs
  const rate = Math.round(perMs * 3_600_000 * 100) / 100
  if (last.resetsAt !== null && runsOut >= last.resetsAt) return {rate_per_hour: rate, resets_first: true, runs_out_at: null}
  return {rate_per_hour: rate, resets_first: false, runs_out_at: new Date(Math.round(runsOut)).toISOString()}
}

/** Every account's usage from the session records; an account with no reading has null windows. */
export function accountUsage(records: SessionUsage[], accounts: readonly {name: string; home: string}[], now: Date, maxAgeMs: number): AccountUsage[] {
  const byHome = new Map<string, {sample: UsageSample; session: string}[]>()
  for (const record of records) {
    for (const sample of record.samples) {
      const list = byHome.get(sample.home) ?? []
      list.push({sample, session: record.session})
      byHome.set(sample.home, list)
    }
  }

  return accounts.map((account) => {
    const samples = (byHome.get(account.home) ?? []).sort((a, b) => Date.parse(a.sample.ts) - Date.parse(b.sample.ts))
    const view: AccountUsage = {account: account.name, five_hour: null, seven_day: null, session: samples.at(-1)?.session ?? null}
    for (const window of WINDOWS) {
      const points = samples.flatMap(({sample}) => {
        const reading = sample[window]
        return reading ? [{at: Date.parse(sample.ts), resetsAt: reading.resets_at === null ? null : reading.resets_at * 1000, used: reading.used_percentage}] : []
      })
      const last = points.at(-1)
      if (!last) continue
      const stale = now.getTime() - last.at > maxAgeMs || (last.resetsAt !== null && last.resetsAt <= now.getTime())
      view[window] = {
        ...forecastWindow(points, window),
        resets_at: last.resetsAt === null ? null : new Date(last.resetsAt).toISOString(),
        seen_at: new Date(last.at).toISOString(),
        stale,
        used_percentage: last.used,
      }
    }

    return view
  })
}

/** The window closest to its limit among the fresh ones, or null. */
export function fullestWindow(usage: AccountUsage): {window: UsageWindow; view: WindowView} | null {
  const fresh = WINDOWS.flatMap((window) => {
    const view = usage[window]
    return view && !view.stale ? [{view, window}] : []
  })
  return fresh.sort((a, b) => b.view.used_percentage - a.view.used_percentage)[0] ?? null
}

/** The earliest forecast run-out among an account's fresh windows, or null. */
export function earliestRunOut(usage: AccountUsage): string | null {
  const times = WINDOWS.flatMap((window) => {
    const view = usage[window]
    return view && !view.stale && view.runs_out_at ? [view.runs_out_at] : []
  })
  return times.sort()[0] ?? null
}
