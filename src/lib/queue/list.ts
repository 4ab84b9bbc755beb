// `task list` (SPEC §3): a project's tasks by state, read from the folders alone (no lock, writes
// nothing). Blocked and invalid tasks show the reason from their marker, as the last dispatch pass
// judged them (the same rule `status` counts by); claimed ones show their claim record.
import {join} from 'node:path'

import type {Config} from '../config.js'

import {readClaim} from '../dispatch/claims.js'
import {fail} from '../errors.js'
import {readdir} from '../fs.js'
import {assertNotRefused, discoverProjects, type ListState, queueDir, type QueueState} from './layout.js'
import {BLOCKED_SUFFIX, blockedMarkerPath, INVALID_SUFFIX, readInvalidMarker, readMarkerReason} from './markers.js'
import {quoteInput, readTaskFile} from './task-file.js'

export interface ListedTask {
  task: string
  state: ListState
  path: string
  /** Why a blocked or invalid task is not dispatched. */
  reason?: string
  /** From the task's frontmatter (absent for an invalid or unreadable file). */
  priority?: number
  depends_on?: string[]
  /** From the claim record of a dispatched (or finished) task. */
  session?: string
  account?: string
  claimed_at?: string
  launched_at?: string | null
  conversation_id?: string
}

export interface ListTasksResult {
  project: string
  /** The --state filter, when one was given. */
  state?: ListState
  tasks: ListedTask[]
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** Lists a project's tasks, all states or one, in state order then by id. */
export async function listTasks(config: Config, options: {project: string; state?: ListState}): Promise<ListTasksResult> {
  const {projects, refused} = await discoverProjects(config)
  assertNotRefused(refused, options.project)
  const project = projects.find((p) => p.name === options.project)
  if (!project) {
    const known = projects.map((p) => p.name).sort()
    throw fail('usage', `unknown project ${quoteInput(options.project)} (known: ${known.slice(0, 8).join(', ') || 'none'}); e.g. claude-failover task list --project ${known[0] ?? 'web'}`)
  }

  const wanted = (state: ListState) => options.state === undefined || options.state === state
  const tasks: ListedTask[] = []

  if (wanted('inbox') || wanted('blocked') || wanted('invalid')) {
    const inbox = queueDir(project.path, 'inbox')
    const all = await names(inbox)
    const present = new Set(all)
    const inboxTasks: ListedTask[] = []
    for (const name of all.filter((n) => n.endsWith('.md'))) {
      const path = join(inbox, name)
      const task = name.slice(0, -3)
      // An invalid verdict outranks a blocked one, as in the scan and in `status`.
      if (present.has(name + INVALID_SUFFIX)) {
        if (wanted('invalid')) inboxTasks.push({path, reason: (await readInvalidMarker(path))?.reason ?? '', state: 'invalid', task})
      } else if (present.has(name + BLOCKED_SUFFIX)) {
        if (wanted('blocked')) inboxTasks.push({path, reason: (await readMarkerReason(blockedMarkerPath(path))) ?? '', state: 'blocked', task})
      } else if (wanted('inbox')) {
        inboxTasks.push({path, state: 'inbox', task})
      }
    }

    const order: ListState[] = ['inbox', 'blocked', 'invalid']
    tasks.push(...inboxTasks.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state)))
  }

  for (const state of ['dispatched', 'done', 'failed', 'archive'] as const satisfies readonly QueueState[]) {
    if (!wanted(state)) continue
    const dir = queueDir(project.path, state)
    for (const name of (await names(dir)).filter((n) => n.endsWith('.md'))) {
      const task = name.slice(0, -3)
      const listed: ListedTask = {path: join(dir, name), state, task}
      // finish.ts moves the claim record along with the task, so done/ keeps who did it.
      const claim = state === 'archive' ? undefined : await readClaim(project.path, task, state)
      if (claim) Object.assign(listed, {account: claim.account, claimed_at: claim.claimed_at, conversation_id: claim.conversation_id, launched_at: claim.launched_at, session: claim.session})
      if (state === 'failed') {
        const reason = (await readMarkerReason(join(dir, `${name}.reason`)))?.split('\n')[0]
        if (reason) listed.reason = reason
      }

      tasks.push(listed)
    }
  }

  for (const task of tasks) {
    if (task.state === 'invalid') continue
    const read = await readTaskFile(task.path, project)
    if (read.ok) Object.assign(task, {depends_on: read.task.dependsOn.map((d) => d.raw), priority: read.task.priority})
  }

  return {project: project.name, ...(options.state ? {state: options.state} : {}), tasks}
}
