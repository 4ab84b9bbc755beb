// Proactive mode (`quota.usage`, off by default): each account's server-side utilization from the
// OAuth usage endpoint (reference §5.1), so the pool can move before it hits the wall. The token
// comes only from the environment variable the account names (`usage_token_env`); answers are
// cached for `cache_ttl` in state_dir/usage-cache.json, and a failure never fails the check.
import {join} from 'node:path'

import type {Config} from '../config.js'
import type {Logger} from '../log.js'

import {ensurePrivateDir, writeFileAtomic} from '../fs-atomic.js'
import {readFile} from '../fs.js'

export interface UsageReading {
  account: string
  window: 'five_hour' | 'seven_day' | null
  utilization: number
  resets_at: string | null
  over_threshold: boolean
  cached: boolean
  error?: string
  /** Where it comes from: the usage endpoint (absent, the default) or the statusLine records. */
  source?: 'endpoint' | 'statusline'
  /** For a statusLine reading: the session whose render recorded it. */
  session?: string
}

interface UsageDeps {
  fetch: typeof fetch
  env: NodeJS.ProcessEnv
  now: () => Date
  log: Logger
}

type Window = {utilization?: number | null; resets_at?: string | null} | null | undefined
interface UsageBody {
  five_hour?: Window
  seven_day?: Window
}

const CACHE_FILE = 'usage-cache.json'

/** Reads (or takes from the cache) every account's utilization; never throws. */
export async function readUsage(config: Config, deps: UsageDeps): Promise<UsageReading[]> {
  const cachePath = join(config.stateDir, CACHE_FILE)
  const cache = (await readFile(cachePath, 'utf8').then((t) => JSON.parse(t) as Record<string, {at: string; body: UsageBody}>).catch(() => ({}))) as Record<string, {at: string; body: UsageBody}>
  const now = deps.now()
  let dirty = false
  const readings: UsageReading[] = []
  for (const account of config.accounts) {
    const hit = cache[account.name]
    if (hit && now.getTime() - Date.parse(hit.at) < config.quota.usage.cacheTtlMs) {
      readings.push(reading(account.name, hit.body, config, true))
      continue
    }

    if (!account.usageTokenEnv) continue
    const token = deps.env[account.usageTokenEnv]?.trim()
    if (!token) {
      readings.push(failed(account.name, `${account.usageTokenEnv} is not set`))
      continue
    }

    const answer = await fetchUsage(config, token, deps)
    if ('error' in answer) {
      deps.log.warn(`[quota] usage of ${account.name}: ${answer.error}`)
      readings.push(hit ? {...reading(account.name, hit.body, config, true), error: answer.error} : failed(account.name, answer.error))
      continue
    }

    cache[account.name] = {at: now.toISOString(), body: answer.body}
    dirty = true
    readings.push(reading(account.name, answer.body, config, false))
  }

  if (dirty) await ensurePrivateDir(config.stateDir).then(() => writeFileAtomic(cachePath, JSON.stringify(cache), {mode: 0o600})).catch(() => {})
  return readings
}

async function fetchUsage(config: Config, token: string, deps: UsageDeps): Promise<{body: UsageBody} | {error: string}> {
  let response: Response
  try {
    response = await deps.fetch(`${config.quota.usage.baseUrl}/api/oauth/usage`, {
      headers: {accept: 'application/json', 'anthropic-beta': 'oauth-2025-04-20', authorization: `Bearer ${token}`, 'user-agent': 'claude-failover'},
      signal: AbortSignal.timeout(config.notifications.timeoutMs),
    })
  } catch (error) {
    return {error: `usage endpoint unreachable (${(error as Error).name === 'TimeoutError' ? 'timeout' : ((error as {cause?: {code?: string}}).cause?.code ?? 'network error')})`}
  }

  if (response.status === 401 || response.status === 403) return {error: `usage endpoint refused the token (${response.status}); it may have expired: put a fresh OAuth access token in the variable`}
  if (response.status === 429) return {error: 'usage endpoint rate-limited this client (429); using the cached reading, if any'}
  if (!response.ok) return {error: `usage endpoint answered ${response.status}`}
  try {
    return {body: (await response.json()) as UsageBody}
  } catch {
    return {error: 'usage endpoint answered with something that is not JSON'}
  }
}

function reading(account: string, body: UsageBody, config: Config, cached: boolean): UsageReading {
  const windows = (['five_hour', 'seven_day'] as const)
    .map((window) => ({resets_at: body[window]?.resets_at ?? null, utilization: Number(body[window]?.utilization ?? 0), window}))
    .sort((a, b) => b.utilization - a.utilization)
  const top = windows[0] ?? {resets_at: null, utilization: 0, window: null}
  return {account, cached, over_threshold: top.utilization >= config.quota.usage.threshold, resets_at: top.resets_at, utilization: top.utilization, window: top.window}
}

function failed(account: string, error: string): UsageReading {
  return {account, cached: false, error, over_threshold: false, resets_at: null, utilization: 0, window: null}
}
