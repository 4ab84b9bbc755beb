// The statusLine records as the rest of the tool reads them: per account (`status`, `metrics`), and
// as UsageReadings for quota check's proactive swap, the same path the optional usage endpoint feeds.
import type {Config} from '../config.js'
import type {UsageReading} from '../quota/usage.js'

import {readAllUsage} from './records.js'
import {type AccountUsage, accountUsage, fullestWindow} from './view.js'

/** Every account's recorded usage (latest reading, forecast) as of `now`. */
export async function recordedUsage(config: Config, now: Date): Promise<AccountUsage[]> {
  return accountUsage(await readAllUsage(config.stateDir), config.accounts, now, config.statusline.maxAgeMs)
}

/**
 * One reading per account with a fresh record: its fullest window. It is over the threshold
 * (`quota.usage.threshold`) only when `statusline.swap` is on; a stale reading gives none.
 */
export function readingsFromRecords(usage: AccountUsage[], config: Config): UsageReading[] {
  return usage.flatMap((account) => {
    const top = fullestWindow(account)
    if (!top) return []
    const utilization = top.view.used_percentage
    return [
      {
        account: account.account,
        cached: false,
        over_threshold: config.statusline.swap && utilization >= config.quota.usage.threshold,
        resets_at: top.view.resets_at,
        source: 'statusline' as const,
        utilization,
        window: top.window,
        ...(account.session ? {session: account.session} : {}),
      },
    ]
  })
}
