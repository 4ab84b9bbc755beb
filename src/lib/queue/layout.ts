// Where tasks live (SPEC §3): a task's state is the folder its file is in.
//   <project>/.agent-queue/{inbox,dispatched,done,failed,archive}/<task_id>.md
// plus `.blocked` / `.invalid` markers beside a task in inbox/. Dot-files are in-progress writes.
import type {Stats} from 'node:fs'
import {closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'

import type {Config, Project} from '../config.js'

import {NAME} from '../config.js'
import {fail} from '../errors.js'
import {fileKind, readdir, readdirOrEmpty} from '../fs.js'

export const QUEUE_DIR = '.agent-queue'
export const QUEUE_STATES = ['inbox', 'dispatched', 'done', 'failed', 'archive'] as const
export type QueueState = (typeof QUEUE_STATES)[number]

/** The states `task list --state` accepts: the folders, with inbox split by its markers. */
export const LIST_STATES = ['inbox', 'blocked', 'invalid', 'dispatched', 'done', 'failed', 'archive'] as const
export type ListState = (typeof LIST_STATES)[number]

/**
 * The mode of the queue folders this tool creates, whatever the umask (under umask 000 they were
 * made world-writable, letting any local user plant a FIFO or a forged claim). 0700, not 0750 or
 * 0770: whoever can write a task runs it with the pool's permissions (bypassed), and whoever can
 * read one reads every prompt; the pool's sessions and the operator's shell run as the owner. An
 * operator who shares a queue with a group makes the folders so (chmod g+rwx): an existing folder's
 * mode is never changed; one writable by every user is refused (see queueFolderProblem).
 */
export const QUEUE_DIR_MODE = 0o700

/** The folder holding a project's tasks in one state. */
export function queueDir(projectPath: string, state: QueueState): string {
  return join(projectPath, QUEUE_DIR, state)
}

/** True for a task id that is safe as a file name and a path segment. */
export function isTaskId(id: string): boolean {
  return NAME.test(id) && id !== '.' && id !== '..'
}

/** Why one existing queue folder may not be used, or undefined when it is a real folder that is not world-writable. */
function folderProblem(path: string, info: Stats): string | undefined {
  if (info.isSymbolicLink()) {
    let target = '?'
    try {
      target = readlinkSync(path)
    } catch {}

    return `is a symbolic link (to ${JSON.stringify(target.slice(0, 80))}); queue folders must be real folders inside the project, or tasks would be read from and moved to elsewhere: replace it with a folder (mkdir -m 700)`
  }

  if (!info.isDirectory()) return `is ${fileKind(info)}, not a folder; replace it with a folder (mkdir -m 700)`
  if (info.mode & 0o002) return `is writable by every local user (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')}): anyone could give the pool a task; chmod o-w it (e.g. chmod 700)`
  return undefined
}

/**
 * Why a project's queue may not be used: `.agent-queue/` or one of its state folders is a symlink,
 * not a folder, or world-writable. Missing folders are fine (made on demand by ensureQueueDir).
 * Checked at the start of every pass (discoverProjects) and again before each move (ensureQueueDir).
 */
export function queueFolderProblem(projectPath: string): string | undefined {
  const root = join(projectPath, QUEUE_DIR)
  for (const [path, shown] of [[root, QUEUE_DIR], ...QUEUE_STATES.map((state) => [join(root, state), `${QUEUE_DIR}/${state}`])] as const) {
    let info: Stats | undefined
    try {
      info = lstatSync(path, {throwIfNoEntry: false})
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // No project folder (ENOTDIR: a file where it should be): no queue, nothing to refuse.
      if (code === 'ENOTDIR' && path === root) return undefined
      return `${shown} cannot be examined (${code ?? 'error'})`
    }

    if (!info) {
      if (path === root) return undefined
      continue
    }

    const problem = folderProblem(path, info)
    if (problem) return `${shown} ${problem}`
  }

  return undefined
}

/**
 * The folder of one state, created (with `.agent-queue/`) when missing, with QUEUE_DIR_MODE exactly;
 * throws (exit 65) when it or `.agent-queue/` is a symlink, not a folder, or world-writable. Called
 * right before every move into a state folder, so a folder swapped for a link since the pass's
 * first check is still refused; what remains is the microseconds between this check and the move.
 */
export function ensureQueueDir(projectPath: string, state: QueueState): string {
  const root = join(projectPath, QUEUE_DIR)
  ensureFolder(root)
  const dir = join(root, state)
  ensureFolder(dir)
  return dir
}

function ensureFolder(path: string): void {
  let created = false
  try {
    mkdirSync(path, {mode: QUEUE_DIR_MODE})
    created = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fail('cantCreate', `cannot create the queue folder ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }

  // Checked (and, when just made, chmod'ed) through a descriptor opened without following a link:
  // what is checked is what the mode is set on.
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const info = lstatSync(path, {throwIfNoEntry: false})
    const problem = info ? folderProblem(path, info) : undefined
    throw fail('invalidData', `${path}: ${problem ?? `cannot be opened as a folder (${code ?? 'error'})`}`)
  }

  try {
    if (created) {
      // The mode given to mkdir is filtered by the umask; make it exact.
      fchmodSync(fd, QUEUE_DIR_MODE)
    } else {
      const problem = folderProblem(path, fstatSync(fd))
      if (problem) throw fail('invalidData', `${path}: ${problem}`)
    }
  } finally {
    closeSync(fd)
  }
}

/** A project whose queue folders are refused this pass, and why (queueFolderProblem). */
export interface RefusedProject {
  project: Project
  reason: string
}

/**
 * The configured projects plus every child of `projects_dir` holding a `.agent-queue/`, less those
 * whose queue folders are refused (listed in `refused`, with a warning each): nothing in such a
 * project is read or moved until it is fixed.
 */
export async function discoverProjects(config: Config): Promise<{projects: Project[]; warnings: string[]; refused: RefusedProject[]}> {
  const projects = [...config.projects]
  const warnings: string[] = []
  if (config.projectsDir) {
    const known = new Set(projects.map((p) => p.name))
    let entries: string[] = []
    try {
      entries = (await readdir(config.projectsDir)).sort()
    } catch (error) {
      warnings.push(`projects_dir ${config.projectsDir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }

    for (const name of entries) {
      if (known.has(name) || name.startsWith('.')) continue
      const path = join(config.projectsDir, name)
      // lstat: a `.agent-queue` that is a link is still found, then refused below with its reason.
      try {
        if (!lstatSync(join(path, QUEUE_DIR), {throwIfNoEntry: false})) continue
      } catch {
        continue
      }

      if (!isTaskId(name)) {
        warnings.push(`skipping project folder ${JSON.stringify(name)}: names may use only letters, digits, ., _ and -`)
        continue
      }

      projects.push({name, path})
    }
  }

  const usable: Project[] = []
  const refused: RefusedProject[] = []
  for (const project of projects) {
    const reason = queueFolderProblem(project.path)
    if (reason === undefined) {
      usable.push(project)
    } else {
      refused.push({project, reason})
      warnings.push(`project ${project.name} skipped: ${reason}`)
    }
  }

  return {projects: usable, refused, warnings}
}

/** Throws (exit 65) when `name` is a project refused by discoverProjects, with the reason; for commands naming one project. */
export function assertNotRefused(refused: readonly RefusedProject[], name: string): void {
  const hit = refused.find((r) => r.project.name === name)
  if (hit) throw fail('invalidData', `project ${hit.project.name} cannot be used: ${hit.reason}`)
}

export interface QueueCounts {
  project: string
  inbox: number
  blocked: number
  invalid: number
  dispatched: number
  done: number
  failed: number
  archived: number
}

async function names(dir: string): Promise<string[]> {
  return (await readdirOrEmpty(dir)).filter((name) => !name.startsWith('.'))
}

/** Counts a project's tasks by state; a task with a marker counts as blocked or invalid, not inbox. */
export async function countQueue(project: Project): Promise<QueueCounts> {
  const inboxNames = await names(queueDir(project.path, 'inbox'))
  const tasks = new Set(inboxNames.filter((n) => n.endsWith('.md')))
  const invalid = inboxNames.filter((n) => n.endsWith('.md.invalid') && tasks.has(n.slice(0, -'.invalid'.length))).length
  const invalidTasks = new Set(inboxNames.filter((n) => n.endsWith('.md.invalid')).map((n) => n.slice(0, -'.invalid'.length)))
  const blocked = inboxNames.filter((n) => n.endsWith('.md.blocked') && tasks.has(n.slice(0, -'.blocked'.length)) && !invalidTasks.has(n.slice(0, -'.blocked'.length))).length
  const count = async (state: QueueState) => (await names(queueDir(project.path, state))).filter((n) => n.endsWith('.md')).length
  return {
    archived: await count('archive'),
    blocked,
    dispatched: await count('dispatched'),
    done: await count('done'),
    failed: await count('failed'),
    inbox: tasks.size - blocked - invalid,
    invalid,
    project: project.name,
  }
}
