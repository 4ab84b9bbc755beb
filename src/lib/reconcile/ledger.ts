// The attempts ledger: how many runs of a task died, kept durably with the task (state.json is only
// a cache). It is `inbox/<id>.md.attempts` for as long as the task can come back to the inbox (the
// inbox scan ignores it: it reads only `.md` files and their `.blocked`/`.invalid` markers), and it
// follows the task into failed/ (or done/, archive/) when the task ends there.
//
// Each run is recorded under the conversation id its dispatch chose, and recording the same run
// twice changes nothing: a process killed after writing the ledger but before moving the task
// (the window between the two) re-records the same run on the next pass and counts it once.
import {join} from 'node:path'

import {writeFileAtomic} from '../fs-atomic.js'
import {readFile} from '../fs.js'
import {queueDir} from '../queue/layout.js'
import {array, boolean, type Checked, object, parseShape, string, withDefault} from '../shape.js'

export const LEDGER_SUFFIX = '.attempts'

const runSchema = object({
  conversation_id: string,
  session: string,
  at: string,
  reason: string,
  /** False for a run lost through no fault of the task (a stale claim): it does not use a retry. */
  counted: withDefault(boolean, () => true),
})

const ledgerSchema = object({runs: withDefault(array(runSchema), () => [])})

export type LedgerRun = Checked<typeof runSchema>
export type Ledger = Checked<typeof ledgerSchema>

/** The ledger's path while the task lives (in inbox/, whatever folder the task is in). */
export function ledgerPath(projectPath: string, taskId: string): string {
  return join(queueDir(projectPath, 'inbox'), `${taskId}.md${LEDGER_SUFFIX}`)
}

/** Reads a ledger; an empty one when it is missing or unreadable (never throws). */
export async function readLedger(projectPath: string, taskId: string): Promise<Ledger> {
  try {
    const parsed = parseShape(ledgerSchema, JSON.parse(await readFile(ledgerPath(projectPath, taskId), 'utf8')))
    return parsed.ok ? parsed.value : {runs: []}
  } catch {
    return {runs: []}
  }
}

/** The number of counted failed runs. */
export function failures(ledger: Ledger): number {
  return ledger.runs.filter((r) => r.counted).length
}

/** The ledger with `run` recorded (unchanged when that conversation is already there). Pure. */
export function withRun(ledger: Ledger, run: LedgerRun): Ledger {
  if (ledger.runs.some((r) => r.conversation_id === run.conversation_id)) return ledger
  return {runs: [...ledger.runs, run]}
}

/** Records a run durably (atomic write) unless it is already recorded; returns the ledger. */
export async function recordRun(projectPath: string, taskId: string, run: LedgerRun): Promise<Ledger> {
  const current = await readLedger(projectPath, taskId)
  const next = withRun(current, run)
  if (next !== current) await writeFileAtomic(ledgerPath(projectPath, taskId), `${JSON.stringify(next, null, 2)}\n`, {mode: 0o600})
  return next
}
