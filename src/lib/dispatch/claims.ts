// Claim records (SPEC §3): `dispatched/<id>.md.claim` beside a claimed task, naming the session,
// account, time and the conversation id chosen at dispatch. The task's move to dispatched/ is the
// claim itself (only one process can win the link); the record is written and fsynced before
// anything is typed, and `launched_at` is set once the launch line has been sent.
import {join} from 'node:path'

import {writeFileAtomic} from '../fs-atomic.js'
import {readdirOrEmpty, readFile, unlink} from '../fs.js'
import {queueDir} from '../queue/layout.js'
import {type Checked, integer, nullable, object, parseShape, string} from '../shape.js'

export const CLAIM_SUFFIX = '.claim'

const claimSchema = object({
  account: string,
  attempt: integer(1),
  claimed_at: string,
  conversation_id: string,
  cwd: string,
  launched_at: nullable(string),
  pid: integer(),
  project: string,
  session: string,
  task: string,
  timeout_ms: nullable(integer(1)),
  retries: integer(0),
})

export type Claim = Checked<typeof claimSchema>

/** The claim record's path for a task of a project (in dispatched/, or where the task moved on to). */
export function claimPath(projectPath: string, taskId: string, state: 'dispatched' | 'done' | 'failed' = 'dispatched'): string {
  return join(queueDir(projectPath, state), `${taskId}.md${CLAIM_SUFFIX}`)
}

/** Writes (or rewrites) a claim record atomically and durably. */
export async function writeClaim(projectPath: string, claim: Claim): Promise<void> {
  await writeFileAtomic(claimPath(projectPath, claim.task), `${JSON.stringify(claim, null, 2)}\n`, {mode: 0o600})
}

/** Reads a claim record; undefined when it is missing or unreadable. */
export async function readClaim(projectPath: string, taskId: string, state: 'dispatched' | 'done' | 'failed' = 'dispatched'): Promise<Claim | undefined> {
  try {
    const parsed = parseShape(claimSchema, JSON.parse(await readFile(claimPath(projectPath, taskId, state), 'utf8')))
    return parsed.ok ? parsed.value : undefined
  } catch {
    return undefined
  }
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
}

/** Every task in dispatched/ of the given projects, with its claim record when there is one. */
export async function listDispatched(projects: {name: string; path: string}[]): Promise<DispatchedTask[]> {
  const out: DispatchedTask[] = []
  for (const project of projects) {
    for (const name of (await readdirOrEmpty(queueDir(project.path, 'dispatched'))).sort()) {
      if (name.startsWith('.') || !name.endsWith('.md')) continue
      const id = name.slice(0, -3)
      out.push({claim: await readClaim(project.path, id), id, project: project.name, projectPath: project.path})
    }
  }

  return out
}
