// The one lock every mutating command takes, and the fenced commit of state.json under it.
//
// proper-lockfile gives a mkdir lock refreshed every few seconds and taken over once its mtime is
// older than `stale` (a SIGKILLed holder). Two windows remain and are closed here by fencing:
//  - a holder paused past `stale` (SIGSTOP, a suspended VM) wakes up still believing it holds the
//    lock while another process has taken it over;
//  - two contenders that see the same stale lock can both "take it over" (proper-lockfile #121).
// Every commit therefore (1) checks that the generation in state.json is still the one this
// process read, and (2) claims the next generation by creating `fence/<n>` with O_EXCL, which only
// one process can do. A process that loses either check writes nothing and exits 75.
import {appendFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Config} from './config.js'
import type {Logger} from './log.js'

import {crashpoint} from './crashpoint.js'
import {fail, FailoverError, fsFailure} from './errors.js'
import {appendEvent} from './events.js'
import {createExclusive, ensurePrivateDir} from './fs-atomic.js'
import {readFile, stat, unlink, writeFile} from './fs.js'
import {FENCE_DIR, freshState, highestFence, quarantineState, readStateFile, type State, statePath, writeStateFile} from './state.js'

export const LOCK_DIR = 'lock'
export const LOCK_OWNER_FILE = 'lock.owner'
/** Fence markers older than this many generations are pruned at commit. */
export const FENCE_KEEP = 256

/**
 * Test hook: CLAUDE_FAILOVER_LOCK_LOG=<file> appends `acquire <pid> <ns>` once the lock is held,
 * `commit <pid> <generation> <ns>` after each fenced commit and `release <pid> <ns>` just before the
 * lock is let go (ns from the shared monotonic clock), one O_APPEND write per line, so a stress
 * test can prove that no two critical sections overlap and that no commit was lost. Unset: nothing.
 */
function lockLog(line: string): void {
  const file = process.env.CLAUDE_FAILOVER_LOCK_LOG
  if (!file) return
  try {
    appendFileSync(file, `${line} ${process.hrtime.bigint()}\n`, {flag: 'a'})
  } catch {
    // A trace, never a reason to fail a command.
  }
}

export interface LockOptions {
  /** Wait for the lock (an operator at a shell) instead of failing at once with exit 75 (a timer). */
  wait?: boolean
  /** The command taking the lock, shown to whoever finds it busy. */
  command: string
  now?: () => Date
  log?: Logger
}

/** What a critical section gets: the state as read under the lock, and a fenced commit. */
export interface Transaction {
  state: State
  /** Writes `state` (generation bumped) if this process still owns the lock; else throws lockLost. */
  commit(): Promise<void>
  /** Throws lockLost if the lock was compromised; call before an irreversible side effect. */
  assertHeld(): void
  /** Warnings raised while reading the state (a quarantined file). */
  warnings: string[]
}

/** Runs `fn` under the state lock; the lock is released whatever happens. */
export async function withStateLock<T>(config: Config, options: LockOptions, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const {stateDir} = config
  const now = options.now ?? (() => new Date())
  await ensurePrivateDir(stateDir)
  const {default: lockfile} = await import('proper-lockfile')

  let compromised: Error | undefined
  const staleMs = config.lock.staleMs
  const retries = options.wait
    ? {retries: Math.ceil((staleMs * 1.5) / 1000) + 10, factor: 1.2, minTimeout: 100, maxTimeout: 1000}
    : 0
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(stateDir, {
      lockfilePath: join(stateDir, LOCK_DIR),
      onCompromised(error) {
        // The default throws inside a timer and kills the process; record it and refuse to commit.
        compromised = error
      },
      realpath: false,
      retries,
      stale: staleMs,
      update: Math.max(1000, Math.min(5000, Math.floor(staleMs / 4))),
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw await busyError(stateDir, options.wait === true)
    throw fsFailure('take the lock in', stateDir, error)
  }

  lockLog(`acquire ${process.pid}`)
  try {
    await writeFile(join(stateDir, LOCK_OWNER_FILE), JSON.stringify({command: options.command, pid: process.pid, since: now().toISOString()}), {mode: 0o600}).catch(() => {})
    const warnings: string[] = []
    const state = await loadUnderLock(config, now, warnings, options.log)
    let expected = state.generation

    const assertHeld = () => {
      if (compromised) {
        throw fail('lockLost', `lost the state lock (${compromised.message}); nothing more was written; the next run will pick up from here`)
      }
    }

    const tx: Transaction = {
      assertHeld,
      async commit() {
        assertHeld()
        const onDisk = await readStateFile(stateDir)
        const diskGeneration = onDisk.kind === 'ok' ? onDisk.state.generation : undefined
        if (onDisk.kind === 'ok' ? diskGeneration !== expected : onDisk.kind === 'corrupt') {
          throw fail('lockLost', `lost the state lock: state.json is at generation ${diskGeneration ?? '?'} but this run read ${expected}; nothing was written`)
        }

        let next = expected + 1
        await ensurePrivateDir(join(stateDir, FENCE_DIR))
        while (!(await createExclusive(join(stateDir, FENCE_DIR, String(next)), `${process.pid}\n`))) {
          // A marker whose process is dead, with state.json still at the generation before it, is a
          // claim that never got its state written (killed, or its write failed): skip past it, or
          // every later commit would fail forever. A live owner means the lock really was lost.
          if (!(await orphanFence(stateDir, next, staleMs))) throw fail('lockLost', `lost the state lock: generation ${next} was committed by another process; nothing was written`)
          next += 1
        }

        crashpoint('lock:after-fence')
        tx.state.generation = next
        tx.state.updated_at = now().toISOString()
        try {
          await writeStateFile(stateDir, tx.state)
        } catch (error) {
          // Nothing was written (ENOSPC, EIO): give the claimed generation back for the next run.
          tx.state.generation = expected
          await unlink(join(stateDir, FENCE_DIR, String(next))).catch(() => {})
          throw error
        }

        expected = next
        lockLog(`commit ${process.pid} ${next}`)
        if (next > FENCE_KEEP) await unlink(join(stateDir, FENCE_DIR, String(next - FENCE_KEEP))).catch(() => {})
      },
      state,
      warnings,
    }
    return await fn(tx)
  } finally {
    await unlink(join(stateDir, LOCK_OWNER_FILE)).catch(() => {})
    lockLog(`release ${process.pid}`)
    await release().catch(() => {
      // ERELEASED after a compromise: the lock is someone else's now; nothing to undo.
    })
  }
}

/**
 * True when fence/<n> can never be followed by its state write: its process no longer exists, or
 * it is older than `stale` (a holder takes milliseconds between the fence and the write; one that
 * took longer has lost its lock anyway). Age also covers a fence left empty by a kill between its
 * creation and its pid being written, and a dead pid reused by another process.
 */
async function orphanFence(stateDir: string, n: number, staleMs: number): Promise<boolean> {
  const path = join(stateDir, FENCE_DIR, String(n))
  let pid: number
  try {
    if (Date.now() - (await stat(path)).mtimeMs > staleMs) return true
    pid = Number.parseInt(await readFile(path, 'utf8'), 10)
  } catch {
    return false
  }

  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

async function loadUnderLock(config: Config, now: () => Date, warnings: string[], log?: Logger): Promise<State> {
  const read = await readStateFile(config.stateDir)
  if (read.kind === 'ok') return read.state
  const generation = await highestFence(config.stateDir)
  if (read.kind === 'corrupt') {
    const movedTo = await quarantineState(config.stateDir, now())
    const message = `state.json was corrupt (${read.reason}); moved it aside to ${movedTo} and rebuilt the state from the folders and tmux`
    warnings.push(message)
    log?.warn(message)
    await appendEvent(config.stateDir, 'state_corrupt', {reason: read.reason, moved_to: movedTo}, now()).catch(() => {})
  }

  return freshState(config, generation)
}

async function busyError(stateDir: string, waited: boolean): Promise<FailoverError> {
  let holder = 'another claude-failover command'
  try {
    const owner = JSON.parse(await readFile(join(stateDir, LOCK_OWNER_FILE), 'utf8')) as {command?: string; pid?: number; since?: string}
    holder = `\`${owner.command ?? '?'}\` (pid ${owner.pid ?? '?'}, since ${owner.since ?? '?'})`
  } catch {
    // The owner note is best-effort.
  }

  const advice = waited ? 'gave up waiting; try again' : 'try again at the next tick, or pass --wait'
  return fail('busy', `the state lock in ${stateDir} is held by ${holder}; ${advice}`)
}

/** Reads state.json for a read-only command: never locks, never moves anything. */
export async function readStateSnapshot(config: Config): Promise<{state: State; warnings: string[]}> {
  const read = await readStateFile(config.stateDir)
  if (read.kind === 'ok') return {state: read.state, warnings: []}
  const state = await freshState(config, await highestFence(config.stateDir))
  const warnings = read.kind === 'corrupt' ? [`${statePath(config.stateDir)} is corrupt (${read.reason}); the next mutating command will move it aside and rebuild it`] : []
  return {state, warnings}
}
