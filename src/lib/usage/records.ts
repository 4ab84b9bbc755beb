// Usage records: what Claude Code's statusLine input says about the account's rate limits
// (`rate_limits.{five_hour,seven_day}.{used_percentage,resets_at}`, claude.ai subscription accounts,
// after the session's first response; reference §5.2), one small JSON file per session in
// `state_dir/usage/<session>.json`. Each sample names the account home it was seen under (a swap
// relaunches the same session under another home). Only node built-ins here: the statusLine
// command runs on every render of every session and must start in milliseconds.
import {mkdir, readdir, readFile, rename, unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {tempPathFor} from '../fs-atomic.js'

export const USAGE_DIR = 'usage'
export const WINDOWS = ['five_hour', 'seven_day'] as const
export type UsageWindow = (typeof WINDOWS)[number]

const SESSION_NAME = /^[A-Za-z0-9_-]+$/
/** At most this many samples per session file (~150 bytes each): the file stays under ~60 KB. */
export const MAX_SAMPLES = 400
/** Samples older than this are dropped (the weekly window, and a day to spare). */
export const MAX_AGE_MS = 8 * 86_400_000
/** An unchanged reading is written again after this long, so a record's age says how fresh it is. */
export const REFRESH_MS = 5 * 60_000

export interface WindowReading {
  used_percentage: number
  /** Epoch seconds, as Claude Code gives it; null when absent. */
  resets_at: number | null
}

export interface UsageSample {
  ts: string
  /** CLAUDE_CONFIG_DIR of the Claude Code that rendered it: the account. */
  home: string
  five_hour?: WindowReading
  seven_day?: WindowReading
}

export interface SessionUsage {
  version: 1
  session: string
  samples: UsageSample[]
}

function windowOf(value: unknown): WindowReading | undefined {
  if (!value || typeof value !== 'object') return undefined
  const {resets_at: resets, used_percentage: used} = value as Record<string, unknown>
  // used_percentage can pass 100 (a captured payload showed 105); anything else is not a reading.
  if (typeof used !== 'number' || !Number.isFinite(used) || used < 0 || used > 1000) return undefined
  const resetsAt = typeof resets === 'number' && Number.isFinite(resets) && resets > 0 ? Math.floor(resets) : null
  return {resets_at: resetsAt, used_percentage: Math.round(used * 100) / 100}
}

/**
 * The sample in one statusLine input (its JSON text), or undefined when it carries no rate limits
 * (an API-key or gateway account, the render before the first response) or is not JSON. Never throws.
 */
export function sampleFromStatusLine(input: string, home: string, now: Date): UsageSample | undefined {
  let data: unknown
  try {
    data = JSON.parse(input)
  } catch {
    return undefined
  }

  const limits = data && typeof data === 'object' && !Array.isArray(data) ? (data as {rate_limits?: unknown}).rate_limits : undefined
  if (!limits || typeof limits !== 'object') return undefined
  const sample: UsageSample = {home, ts: now.toISOString()}
  for (const window of WINDOWS) {
    const reading = windowOf((limits as Record<string, unknown>)[window])
    if (reading) sample[window] = reading
  }

  return sample.five_hour || sample.seven_day ? sample : undefined
}

/** The usage file of one session; undefined for a name that is not a session's. */
export function usagePath(stateDir: string, session: string): string | undefined {
  return SESSION_NAME.test(session) ? join(stateDir, USAGE_DIR, `${session}.json`) : undefined
}

function isSample(value: unknown): value is UsageSample {
  if (!value || typeof value !== 'object') return false
  const s = value as Partial<UsageSample>
  return typeof s.ts === 'string' && !Number.isNaN(Date.parse(s.ts)) && typeof s.home === 'string' && (s.five_hour !== undefined || s.seven_day !== undefined)
}

/** Parses one session's usage file; a torn or foreign file reads as no samples. */
export function parseSessionUsage(text: string, session: string): SessionUsage {
  try {
    const data = JSON.parse(text) as Partial<SessionUsage>
    if (data && Array.isArray(data.samples)) {
      const samples = data.samples.flatMap((s) => {
        if (!isSample(s)) return []
        const clean: UsageSample = {home: s.home, ts: s.ts}
        for (const window of WINDOWS) {
          const reading = windowOf(s[window])
          if (reading) clean[window] = reading
        }

        return clean.five_hour || clean.seven_day ? [clean] : []
      })
      return {samples, session, version: 1}
    }
  } catch {}

  return {samples: [], session, version: 1}
}

const same = (a: WindowReading | undefined, b: WindowReading | undefined) => a?.used_percentage === b?.used_percentage && a?.resets_at === b?.resets_at

/** The samples after adding `sample`: null when nothing changed (the file need not be written). */
export function addSample(samples: UsageSample[], sample: UsageSample): UsageSample[] | null {
  const last = samples.at(-1)
  const now = Date.parse(sample.ts)
  if (last && last.home === sample.home && same(last.five_hour, sample.five_hour) && same(last.seven_day, sample.seven_day) && now - Date.parse(last.ts) < REFRESH_MS) return null
  return [...samples, sample].filter((s) => now - Date.parse(s.ts) <= MAX_AGE_MS).slice(-MAX_SAMPLES)
}

/**
 * Records one sample in its session's file: read, add, write a temporary file (0600) and rename it
 * over the old one, so a reader never sees a torn file. Two renders of one session racing can drop
 * one sample (the last rename wins): a sample is a reading, the next render brings it back. No
 * fsync: the file is a cache, and one emptied by a crash reads as no samples.
 */
export async function recordSample(stateDir: string, session: string, sample: UsageSample): Promise<boolean> {
  const path = usagePath(stateDir, session)
  if (!path) return false
  const current = await readFile(path, 'utf8').then(
    (text) => parseSessionUsage(text, session).samples,
    () => [],
  )
  const next = addSample(current, sample)
  if (!next) return false
  // Not recursive: a statusLine running after the state folder was removed must not bring it back.
  await mkdir(join(stateDir, USAGE_DIR), {mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  // fs-atomic's temporary name: one left by a killed render is the janitor's to prune.
  const temp = tempPathFor(path)
  const body: SessionUsage = {samples: next, session, version: 1}
  try {
    await writeFile(temp, `${JSON.stringify(body)}\n`, {flag: 'wx', mode: 0o600})
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }

  return true
}

/** Every session's usage samples, read from `state_dir/usage/`; unreadable files are skipped. */
export async function readAllUsage(stateDir: string): Promise<SessionUsage[]> {
  const dir = join(stateDir, USAGE_DIR)
  const names = await readdir(dir).catch(() => [] as string[])
  const sessions = names.filter((n) => n.endsWith('.json') && SESSION_NAME.test(n.slice(0, -5))).map((n) => n.slice(0, -5))
  return Promise.all(
    sessions.map(async (session) =>
      readFile(join(dir, `${session}.json`), 'utf8').then(
        (text) => parseSessionUsage(text, session),
        () => ({samples: [], session, version: 1}) as SessionUsage,
      ),
    ),
  )
}
