// Claim records (SPEC §3): `dispatched/<id>.md.claim` beside a claimed task, naming the session,
// account, time and the conversation id chosen at dispatch. The task's move to dispatched/ is the
// claim itself (only one process can win the link); the record is written and fsynced before
// anything is typed, and `launched_at` is set once the launch line has been sent.
import {join, resolve} from 'node:path'

import {writeFileAtomic} from '../fs-atomic.js'
import {readdirOrEmpty, readFile, unlink} from '../fs.js'
import {isTaskId, queueDir} from '../queue/layout.js'
import {isInside} from '../queue/task-file.js'
import {type Checked, integer, isoTime, matching, nullable, object, parseShape} from '../shape.js'
import {isConversationId, isSessionName} from '../signals.js'

export const CLAIM_SUFFIX = '.claim'

// Every name in a claim becomes a path or a tmux target somewhere (signals/<session>.jsonl, the
// prompt file, the transcript path), so each is checked here, where it is read back, not only
// where dispatch wrote it: anyone who can write dispatched/ can write a claim.
const claimSchema = object({
  account: matching(isTaskId, 'must be an account name'),
  attempt: integer(1),
  claimed_at: isoTime,
  conversation_id: matching(isConversationId, 'must be a UUID'),
  // eslint-disable-next-line no-control-regex
  cwd: matching((v) => v.startsWith('/') && !/[\u0000-\u001F\u007F]/.test(v), 'must be an absolute path'),
  launched_at: nullable(isoTime),
  pid: integer(),
  project: matching(isTaskId, 'must be a project name'),
  session: matching(isSessionName, 'must be a session name (letters, digits, _ and -)'),
  task: matching(isTaskId, 'must be a task id'),
  timeout_ms: nullable(integer(1)),
  retries: integer(0),
})

/** The most bytes a claim record may have (one is ~400). */
const MAX_CLAIM_BYTES = 64 * 1024

export type Claim = Checked<typeof claimSchema>

/** The claim record's path for a task of a project (in dispatched/, or where the task moved on to). */
export function claimPath(projectPath: string, taskId: string, state: 'dispatched' | 'done' | 'failed' = 'dispatched'): string {
  return join(queueDir(projectPath, state), `${taskId}.md${CLAIM_SUFFIX}`)
}

/** Writes (or rewrites) a claim record atomically and durably. */
export async function writeClaim(projectPath: string, claim: Claim): Promise<void> {
  await writeFileAtomic(claimPath(projectPath, claim.task), `${JSON.stringify(claim, null, 2)}\n`, {mode: 0o600})
}

/** Reads a claim record; undefined when it is missing or refused (see checkClaim). */
export async function readClaim(projectPath: string, taskId: string, state: 'dispatched' | 'done' | 'failed' = 'dispatched', project?: string): Promise<Claim | undefined> {
  const read = await checkClaim(projectPath, taskId, state, project)
  return 'claim' in read ? read.claim : undefined
}

/**
 * Reads and checks a claim record: missing → `{}`; a file that is not a regular file, too large, not
 * JSON, of the wrong shape, or naming another task or project → `{problem}`, one line naming the file.
 */
export async function checkClaim(
  projectPath: string,
  taskId: string,
  state: 'dispatched' | 'done' | 'failed' = 'dispatched',
  project?: string,
): Promise<{claim: Claim} | {problem: string} | Record<string, never>> {
  const path = claimPath(projectPath, taskId, state)
  let text: string
  try {
    text = await readFile(path, 'utf8', {maxBytes: MAX_CLAIM_BYTES})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    return {problem: refused(path, error instanceof Error ? error.message.replace(`${path} `, '') : String(error))}
  }

  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return {problem: refused(path, 'is not JSON')}
  }

  const parsed = parseShape(claimSchema, data)
  if (!parsed.ok) return {problem: refused(path, `${parsed.path}: ${parsed.message}`)}
  if (parsed.value.task !== taskId || (project !== undefined && parsed.value.project !== project)) {
    return {problem: refused(path, `names ${parsed.value.project}/${parsed.value.task}, not the task beside it`)}
  }

  if (!isInside(resolve(projectPath), parsed.value.cwd)) return {problem: refused(path, `cwd ${JSON.stringify(parsed.value.cwd.slice(0, 80))} is outside the project`)}

  return {claim: parsed.value}
}

function refused(path: string, why: string): string {
  return `claim ${path} refused: ${why}; the task is treated as having no claim`
}

/** Removes a claim record (missing is fine). */
export async function removeClaim(projectPath: string, taskId: string): Promise<void> {
  await unlink(claimPath(projectPath, taskId)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

export interface DispatchedTask {
  project: string
  projectPath: string
  id: string
  claim: Claim | undefined
  /** Why a claim record beside the task was not used (see checkClaim); absent when fine or missing. */
  problem?: string
}

/** The one-line problems of the claim records listDispatched refused, for a command's warnings. */
export function claimProblems(items: readonly DispatchedTask[]): string[] {
  return items.flatMap((item) => (item.problem ? [item.problem] : []))
}

/** Every task in dispatched/ of the given projects, with its claim record when there is one. */
export async function listDispatched(projects: {name: string; path: string}[]): Promise<DispatchedTask[]> {
  const out: DispatchedTask[] = []
  for (const project of projects) {
    for (const name of (await readdirOrEmpty(queueDir(project.path, 'dispatched'))).sort()) {
      if (name.startsWith('.') || !name.endsWith('.md')) continue
      const id = name.slice(0, -3)
      // Only dispatch puts files here, under valid ids: any other name is not a task of ours.
      if (!isTaskId(id)) continue
      const read = await checkClaim(project.path, id, 'dispatched', project.name)
      out.push({claim: 'claim' in read ? read.claim : undefined, id, project: project.name, projectPath: project.path, ...('problem' in read ? {problem: read.problem} : {})})
    }
  }

  return out
}
