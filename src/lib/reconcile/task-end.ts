// Ending a run that will never send its Stop: back to the inbox (within `retries`) or into failed/
// with the reason. Shared by reconcile (a dead session, a timeout) and the janitor (a stale claim).
//
// Order of the steps, and the window each closes:
//   1. the attempts ledger records the run (idempotent by conversation id): a process killed after
//      this and before the move re-records the same run next time and counts it once;
//   2. for a failure, failed/<id>.md.reason is written before the task moves: a process killed in
//      between leaves the reason beside nothing, and the next pass either fails the task again
//      (rewriting it) or removes it; the task is never in failed/ without its reason;
//   3. the task file moves with link+unlink (never overwriting); killed in between, the file has
//      two names for one inode, which the next pass sees and resolves (complete-move);
//   4. the sidecars (claim, ledger) follow, then the prompt file goes; a sidecar left behind is
//      tidied by the next pass.
// The caller has killed the session first when it had to (a timeout): a run killed after that
// finds the session gone and the task past its timeout, and fails it the same way.
import {join} from 'node:path'

import type {Config} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'

import {crashpoint} from '../crashpoint.js'
import {CLAIM_SUFFIX, removeClaim} from '../dispatch/claims.js'
import {promptPath} from '../dispatch/dispatch.js'
import {appendEvent} from '../events.js'
import {renameNoReplace, writeFileAtomic} from '../fs-atomic.js'
import {unlink} from '../fs.js'
import {ensureQueueDir, queueDir} from '../queue/layout.js'
import {LEDGER_SUFFIX, ledgerPath, recordRun} from './ledger.js'
import {BUSY_STATES} from './plan.js'
import {REASON_SUFFIX, twinOf} from './snapshot.js'

export interface RunRef {
  project: string
  projectPath: string
  task: string
  session: string
  account: string
  conversation_id: string
}

export interface EndDeps {
  now: () => Date
  log: Logger
}

/** Moves a sidecar to `to`, or removes it when something is already there. Missing is fine. */
export async function moveSidecar(from: string, to: string): Promise<void> {
  if (!(await renameNoReplace(from, to))) await unlink(from).catch(() => {})
}

/** Every session record that names this task no longer does; a busy one becomes idle (a dead one stays dead). */
function freeRecords(tx: Transaction, key: string, now: Date): void {
  for (const [name, record] of Object.entries(tx.state.sessions)) {
    if (record.task !== key) continue
    const state = BUSY_STATES.has(record.state) ? 'idle' : record.state
    tx.state.sessions[name] = {account: record.account, conversation_id: null, since: state === record.state ? record.since : now.toISOString(), state, task: null}
  }
}

/**
 * Moves dispatched/<id>.md to `target`/ without overwriting; true when it is there now (including
 * a move an earlier run had half done). False when the task is gone or another file has its name.
 */
async function moveTask(ref: RunRef, target: 'inbox' | 'failed', log: Logger): Promise<boolean> {
  const from = join(ensureQueueDir(ref.projectPath, 'dispatched'), `${ref.task}.md`)
  const to = join(ensureQueueDir(ref.projectPath, target), `${ref.task}.md`)
  if (await renameNoReplace(from, to)) return true
  if ((await twinOf(ref.projectPath, ref.task)) === target) {
    await unlink(from)
    return true
  }

  log.warn(`${ref.project}/${ref.task}: cannot move it to ${target}/ (${target}/${ref.task}.md already exists, or it was moved meanwhile); left as it is`)
  return false
}

/** Puts a task back in the inbox, recording the run in its ledger; false when it could not move. */
export async function requeueRun(config: Config, tx: Transaction, ref: RunRef, run: {reason: string; counted: boolean}, deps: EndDeps): Promise<boolean> {
  const now = deps.now()
  await recordRun(ref.projectPath, ref.task, {at: now.toISOString(), conversation_id: ref.conversation_id, counted: run.counted, reason: run.reason, session: ref.session})
  crashpoint('reconcile:after-ledger')
  tx.assertHeld()
  if (!(await moveTask(ref, 'inbox', deps.log))) return false
  crashpoint('reconcile:after-requeue-move')
  await removeClaim(ref.projectPath, ref.task)
  await unlink(promptPath(config, ref.project, ref.task)).catch(() => {})
  freeRecords(tx, `${ref.project}/${ref.task}`, now)
  await appendEvent(config.stateDir, 'task_requeued', {conversation_id: ref.conversation_id, counted: run.counted, project: ref.project, reason: run.reason, session: ref.session, task: ref.task}, now)
  deps.log.info(`${ref.project}/${ref.task}: back in the inbox (${run.reason})`)
  return true
}

/** The reason file's text: the reason on the first line (for people and `task list`), then facts. */
export function formatReason(ref: RunRef, fields: {reason: string; cause: string; at: string; runs: number; retries: number}): string {
  const oneLine = fields.reason.replaceAll(/[\r\n]+/g, ' ')
  return [
    oneLine,
    `cause: ${fields.cause}`,
    `session: ${ref.session}`,
    `account: ${ref.account}`,
    `conversation_id: ${ref.conversation_id}`,
    `failed_at: ${fields.at}`,
    `failed_runs: ${fields.runs}`,
    `retries: ${fields.retries}`,
    '',
  ].join('\n')
}

/** Moves a task to failed/ with its reason; false when it could not move. */
export async function failRun(
  config: Config,
  tx: Transaction,
  ref: RunRef,
  run: {reason: string; cause: 'died' | 'timeout'; runs: number; retries: number},
  deps: EndDeps,
): Promise<boolean> {
  const now = deps.now()
  if (run.cause === 'died') {
    await recordRun(ref.projectPath, ref.task, {at: now.toISOString(), conversation_id: ref.conversation_id, counted: true, reason: run.reason, session: ref.session})
    crashpoint('reconcile:after-ledger')
  }

  const failed = ensureQueueDir(ref.projectPath, 'failed')
  await writeFileAtomic(join(failed, `${ref.task}.md${REASON_SUFFIX}`), formatReason(ref, {at: now.toISOString(), cause: run.cause, reason: run.reason, retries: run.retries, runs: run.runs}), {mode: 0o644})
  crashpoint('reconcile:after-reason')
  tx.assertHeld()
  if (!(await moveTask(ref, 'failed', deps.log))) return false
  crashpoint('reconcile:after-fail-move')
  await moveSidecar(join(queueDir(ref.projectPath, 'dispatched'), `${ref.task}.md${CLAIM_SUFFIX}`), join(failed, `${ref.task}.md${CLAIM_SUFFIX}`))
  await moveSidecar(ledgerPath(ref.projectPath, ref.task), join(failed, `${ref.task}.md${LEDGER_SUFFIX}`))
  await unlink(promptPath(config, ref.project, ref.task)).catch(() => {})
  freeRecords(tx, `${ref.project}/${ref.task}`, now)
  await appendEvent(config.stateDir, 'task_failed', {cause: run.cause, conversation_id: ref.conversation_id, project: ref.project, reason: run.reason, session: ref.session, task: ref.task}, now)
  deps.log.warn(`${ref.project}/${ref.task}: moved to failed/ (${run.reason})`)
  return true
}

/** Finishes a move a killed process left half done (two names for one inode): dispatched/ goes. */
export async function completeMove(config: Config, tx: Transaction, item: {project: string; projectPath: string; task: string}, to: 'inbox' | 'done' | 'failed', deps: EndDeps): Promise<boolean> {
  // Checked again under the lock, right before the unlink: only a true twin loses its dispatched/ name.
  if ((await twinOf(item.projectPath, item.task)) !== to) return false
  const dispatched = queueDir(item.projectPath, 'dispatched')
  tx.assertHeld()
  await unlink(join(dispatched, `${item.task}.md`))
  crashpoint('reconcile:after-complete-move')
  if (to === 'inbox') {
    await removeClaim(item.projectPath, item.task)
  } else {
    await moveSidecar(join(dispatched, `${item.task}.md${CLAIM_SUFFIX}`), join(queueDir(item.projectPath, to), `${item.task}.md${CLAIM_SUFFIX}`))
    await moveSidecar(ledgerPath(item.projectPath, item.task), join(queueDir(item.projectPath, to), `${item.task}.md${LEDGER_SUFFIX}`))
  }

  await unlink(promptPath(config, item.project, item.task)).catch(() => {})
  freeRecords(tx, `${item.project}/${item.task}`, deps.now())
  await appendEvent(config.stateDir, 'move_completed', {project: item.project, task: item.task, to}, deps.now())
  return true
}
