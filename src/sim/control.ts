// The simulator's control file, `$CLAUDE_CONFIG_DIR/sim-control.json`: how a test or the demo says
// "this account is now exhausted". Every simulated claude sharing the config dir (one account, many
// sessions) reads it at the start of each turn and once mid-turn.
import {open, readFile, stat, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {writeFileAtomic} from '../lib/fs-atomic.js'

export const CONTROL_FILE = 'sim-control.json'

/** Which Claude Code era's limit wording (and hook) to imitate; `2.1` is the 2.1.328 the simulator is held to. */
export type BannerEra = 'legacy' | '2.0' | '2.1'

/**
 * Which window ran out: `session` (5-hour), `weekly`, `opus`, `sonnet`, or `any` (a limit whose
 * response carries no overage-disabled reason: 2.1.328 then says just `You've hit your limit`).
 */
export type LimitKind = 'session' | 'weekly' | 'opus' | 'sonnet' | 'any'

/** The API failures a turn can end with (CLAUDE_CODE_MAX_RETRIES=0: the final error, no retry). */
export type ApiFailure = 401 | 500 | 529

/** The control file's content; every field is optional and a missing file means "not exhausted". */
export interface SimControl {
  /** The account is out: every turn ends with the limit banner. */
  exhausted?: boolean
  /** Turns this account may still complete, shared by all processes; at 0 the account is out. */
  turns_left?: number
  /** Reset text shown verbatim, e.g. `3pm (Europe/Paris)`; `null` or `""` shows no reset. */
  reset?: string | null
  /** Reset instant (ISO-8601), formatted in the process's zone when `reset` is absent. */
  reset_at?: string
  banner?: BannerEra
  limit?: LimitKind
  /** Also open the `/rate-limit-options` menu after the banner. */
  menu?: boolean
  /** With `exhausted`: the turn's first request works (its tool call runs), the next meets the limit. */
  limit_after_tool?: boolean
  /** Every turn ends with this API error instead (500, 529: server_error; 401: authentication_failed). */
  error?: ApiFailure
  /** Turns complete, and the usage warning shows this percentage of the 5-hour limit used. */
  warning?: number
  /**
   * What the account's usage is (percent per window): after a completed turn the statusLine input
   * carries it as `rate_limits`, as 2.1.328 does for a subscription account (absent: an API-key
   * account, whose statusLine input has no `rate_limits`).
   */
  usage?: {five_hour?: number; seven_day?: number}
}

const ERAS = new Set<string>(['legacy', '2.0', '2.1'])
const LIMITS = new Set<string>(['session', 'weekly', 'opus', 'sonnet', 'any'])
const FAILURES = new Set<unknown>([401, 500, 529])
const LOCK_WAIT_MS = 5000
const LOCK_STALE_MS = 10_000

/** `$CLAUDE_CONFIG_DIR/sim-control.json`. */
export function controlPath(configDir: string): string {
  return join(configDir, CONTROL_FILE)
}

/** Keeps the fields of the right type and drops the rest. */
export function sanitizeControl(value: unknown): SimControl {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
  const raw = value as Record<string, unknown>
  const control: SimControl = {}
  if (typeof raw.exhausted === 'boolean') control.exhausted = raw.exhausted
  if (typeof raw.turns_left === 'number' && Number.isFinite(raw.turns_left)) control.turns_left = Math.floor(raw.turns_left)
  if (typeof raw.reset === 'string' || raw.reset === null) control.reset = raw.reset
  if (typeof raw.reset_at === 'string' && !Number.isNaN(Date.parse(raw.reset_at))) control.reset_at = raw.reset_at
  if (typeof raw.banner === 'string' && ERAS.has(raw.banner)) control.banner = raw.banner as BannerEra
  if (typeof raw.limit === 'string' && LIMITS.has(raw.limit)) control.limit = raw.limit as LimitKind
  if (typeof raw.menu === 'boolean') control.menu = raw.menu
  if (typeof raw.limit_after_tool === 'boolean') control.limit_after_tool = raw.limit_after_tool
  if (FAILURES.has(raw.error)) control.error = raw.error as ApiFailure
  if (typeof raw.warning === 'number' && raw.warning > 0 && raw.warning < 100) control.warning = Math.round(raw.warning)
  if (raw.usage && typeof raw.usage === 'object' && !Array.isArray(raw.usage)) {
    const usage: NonNullable<SimControl['usage']> = {}
    for (const window of ['five_hour', 'seven_day'] as const) {
      const value = (raw.usage as Record<string, unknown>)[window]
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) usage[window] = value
    }

    if (usage.five_hour !== undefined || usage.seven_day !== undefined) control.usage = usage
  }
  return control
}

/** Reads the control file; `{}` when it is missing or unreadable (a half-written file is retried once). */
export async function readSimControl(configDir: string): Promise<SimControl> {
  for (let attempt = 0; ; attempt++) {
    try {
      return sanitizeControl(JSON.parse(await readFile(controlPath(configDir), 'utf8')))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || attempt > 0) return {}
      await sleep(25)
    }
  }
}

/** Writes the control file atomically (tests and the demo call this to exhaust or restore an account). */
export async function writeSimControl(configDir: string, control: SimControl): Promise<void> {
  await writeFileAtomic(controlPath(configDir), JSON.stringify(control, null, 2) + '\n', {mode: 0o644})
}

/** Whether a turn may run, and the control content it was decided on. */
export interface TurnGate {
  allowed: boolean
  control: SimControl
}

/**
 * Decides at the start of a turn: refused when `exhausted` is true (unless the limit waits for the
 * tool call) or the budget is at 0; otherwise allowed, taking one unit of `turns_left` when a
 * budget is set.
 */
export async function claimTurn(configDir: string): Promise<TurnGate> {
  const first = await readSimControl(configDir)
  if (first.exhausted === true) return {allowed: first.limit_after_tool === true, control: first}
  if (first.turns_left === undefined) return {allowed: true, control: first}

  // Several sessions share one account: the read-decrement-write must be one step across processes,
  // or two turns could both take the last unit and the account would run one turn too long.
  return withControlLock(configDir, async () => {
    const control = await readSimControl(configDir)
    if (control.exhausted === true) return {allowed: false, control}
    if (control.turns_left === undefined) return {allowed: true, control}
    if (control.turns_left <= 0) return {allowed: false, control}
    const next = {...control, turns_left: control.turns_left - 1}
    await writeSimControl(configDir, next)
    return {allowed: true, control: next}
  })
}

/** True when a running turn must stop at the limit (only an explicit `exhausted: true` cuts a turn short). */
export async function exhaustedMidTurn(configDir: string): Promise<SimControl | null> {
  const control = await readSimControl(configDir)
  return control.exhausted === true ? control : null
}

async function withControlLock<T>(configDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${controlPath(configDir)}.lock`
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o644)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      // A holder killed inside the few-millisecond critical section leaves the lock behind: take it
      // over when its pid is gone or it is old. Two takers racing here is accepted for a simulator.
      if (await lockIsStale(lock)) {
        await unlink(lock).catch(() => {})
        continue
      }

      if (Date.now() > deadline) throw new Error(`the simulator's control lock ${lock} stayed busy for ${LOCK_WAIT_MS} ms`)
      await sleep(5 + Math.floor(Math.random() * 10))
    }
  }

  try {
    return await fn()
  } finally {
    await unlink(lock).catch(() => {})
  }
}

async function lockIsStale(lock: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lock, 'utf8'), stat(lock)])
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true
    const pid = Number(text)
    if (!Number.isInteger(pid) || pid <= 0) return false
    try {
      process.kill(pid, 0)
      return false
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH'
    }
  } catch {
    return false
  }
}
