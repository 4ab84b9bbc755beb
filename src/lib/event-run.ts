// Runs started by an event instead of the next tick (issue 16: a limit starts `quota check`;
// issue 18: a task's end or `task add` starts `dispatch`): one request file per command, created
// O_EXCL, so a burst of events makes one run, and the command started detached. Only node
// built-ins here: the hook handler imports it and must start in milliseconds.
import {spawn} from 'node:child_process'
import {closeSync, openSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {packageRoot} from './paths.js'

/** The commands an event can start at once; each has its request file `<name>.request` and log `<name>.last.log` in the state folder. */
export type EventRun = 'dispatch' | 'quota-check'
/** The triggers a hook command names (CLAUDE_FAILOVER_ON): `limit` (a usage limit starts quota check), `stop` (a task's Stop starts dispatch). */
export type HookTrigger = 'limit' | 'stop'
/** Starts the command for an event; must return at once (the hook never waits for it). */
export type Starter = (run: EventRun, stateDir: string, configFile: string, env: NodeJS.ProcessEnv) => void

/** The request file of an event-driven run: present from the hook that asks until the run starts observing. */
export function requestFile(run: EventRun): string {
  return `${run}.request`
}

/**
 * Present while a task waits in an inbox (ready, blocked or still being written) after a dispatch
 * pass. A task's Stop starts a pass only then: with nothing waiting, a pass would only move the
 * task to done/, which the next tick does, so a pool working through its last tasks costs no pass
 * per task end. A marker out of date costs a pass (present) or leaves a task to the tick (absent);
 * it is absent only between a pass that found the inboxes empty and the next task, and `task add`
 * starts its own pass.
 */
export const WAITING_MARK = 'tasks.waiting'

/** Records what a dispatch pass left in the inboxes (see WAITING_MARK). */
export function markWaiting(stateDir: string, waiting: boolean): void {
  try {
    if (waiting) closeSync(openSync(join(stateDir, WAITING_MARK), 'a', 0o600))
    else unlinkSync(join(stateDir, WAITING_MARK))
  } catch {}
}

/** True when the last dispatch pass left a task waiting in an inbox. */
export function tasksWaiting(stateDir: string): boolean {
  return statSync(join(stateDir, WAITING_MARK), {throwIfNoEntry: false}) !== undefined
}

/** A request older than this was left by a run that never started (killed, crashed): it covers nothing. */
const REQUEST_STALE_MS = 30_000

/**
 * True when the caller must start `run`: it created the request file (O_EXCL). Twenty sessions
 * hitting the limit, or ending their tasks, in the same second make one run, not twenty: the others
 * find the request pending. The run removes the request before it observes (takeRequest), so an
 * event recorded after that starts another run (which waits for the lock) instead of being missed
 * until the tick; an event recorded before it is seen by the pending run.
 */
export function requestRun(stateDir: string, run: EventRun, now: Date): boolean {
  const path = join(stateDir, requestFile(run))
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, `${now.toISOString()}\n`)
      } finally {
        closeSync(fd)
      }

      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false
      const age = now.getTime() - statSync(path, {throwIfNoEntry: false})!.mtimeMs
      if (!(age > REQUEST_STALE_MS)) return false
      try {
        unlinkSync(path)
      } catch {}
    }
  }

  return false
}

/**
 * Requests `run` and starts it, detached, unless a run already requested will cover it: true when
 * this call started it. What the hook does on its events, and `task add` after writing a task.
 */
export function triggerRun(run: EventRun, stateDir: string, configFile: string, env: NodeJS.ProcessEnv, now: Date, start: Starter = startDetached): boolean {
  if (!requestRun(stateDir, run, now)) return false
  start(run, stateDir, configFile, env)
  return true
}

/** Consumes the request (the run, before it observes). */
export function takeRequest(stateDir: string, run: EventRun): void {
  try {
    unlinkSync(join(stateDir, requestFile(run)))
  } catch {}
}

const COMMANDS: Record<EventRun, string[]> = {dispatch: ['dispatch'], 'quota-check': ['quota', 'check']}

/**
 * Starts `run` with --wait, detached; returns at once. setsid: neither Claude Code ending the hook
 * nor a swap or dispatch killing this very pane reaches it. Its output goes to `<run>.last.log` in
 * the state folder, overwritten each time.
 */
export function startDetached(run: EventRun, stateDir: string, configFile: string, env: NodeJS.ProcessEnv): void {
  const out = openSync(join(stateDir, `${run}.last.log`), 'w', 0o600)
  try {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'run.js'), ...COMMANDS[run], '--wait', '--config', configFile], {
      detached: true,
      env,
      stdio: ['ignore', out, out],
    })
    child.on('error', () => {})
    child.unref()
  } finally {
    closeSync(out)
  }
}
