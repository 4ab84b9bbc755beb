// A task ends when Claude Code's Stop hook reports the end of the turn for the task's conversation
// (SPEC §3 "Finishing"): the task moves to done/ with its claim record, and its session is free.
// Level-triggered: it looks only at the folders and the hook records, so dispatch and reconcile
// can both run it and a second run finds nothing to do.
import {join} from 'node:path'

import type {Config, Project} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'

import {appendEvent} from '../events.js'
import {renameNoReplace} from '../fs-atomic.js'
import {unlink} from '../fs.js'
import {ensureQueueDir} from '../queue/layout.js'
import {signalReader} from '../signals.js'
import {stopFor} from '../stop.js'
import {CLAIM_SUFFIX, type DispatchedTask, listDispatched} from './claims.js'

/** Moves every dispatched task whose conversation has stopped to done/; returns what it moved. */
export async function settleFinishedTasks(
  config: Config,
  tx: Transaction,
  projects: Project[],
  deps: {now: () => Date; log: Logger},
  dispatched?: DispatchedTask[],
  signals = signalReader(config.stateDir),
): Promise<{project: string; task: string; session: string}[]> {
  const finished: {project: string; task: string; session: string}[] = []
  for (const item of dispatched ?? (await listDispatched(projects))) {
    const claim = item.claim
    if (!claim?.launched_at) continue
    if (!stopFor(claim, await signals(claim.session))) continue
    const dispatched = ensureQueueDir(item.projectPath, 'dispatched')
    const done = ensureQueueDir(item.projectPath, 'done')
    tx.assertHeld()
    if (!(await renameNoReplace(join(dispatched, `${item.id}.md`), join(done, `${item.id}.md`)))) {
      deps.log.warn(`${item.project}/${item.id}: finished, but done/${item.id}.md already exists; left in dispatched/`)
      continue
    }

    await renameNoReplace(join(dispatched, `${item.id}.md${CLAIM_SUFFIX}`), join(done, `${item.id}.md${CLAIM_SUFFIX}`)).catch(() => false)
    await unlink(join(config.stateDir, 'prompts', item.project, `${item.id}.md`)).catch(() => {})
    const record = tx.state.sessions[claim.session]
    if (record?.task === `${item.project}/${item.id}`) {
      tx.state.sessions[claim.session] = {...record, since: deps.now().toISOString(), state: 'idle', task: null}
    }

    finished.push({project: item.project, session: claim.session, task: item.id})
    await appendEvent(config.stateDir, 'task_done', {conversation_id: claim.conversation_id, project: item.project, session: claim.session, task: item.id}, deps.now())
    deps.log.info(`done: ${item.project}/${item.id} (${claim.session})`)
  }

  if (finished.length > 0) await tx.commit()
  return finished
}
