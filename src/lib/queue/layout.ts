// Where tasks live (SPEC §3): a task's state is the folder its file is in.
//   <project>/.agent-queue/{inbox,dispatched,done,failed,archive}/<task_id>.md
// plus `.blocked` / `.invalid` markers beside a task in inbox/. Dot-files are in-progress writes.
import {join} from 'node:path'

import type {Config, Project} from '../config.js'

import {NAME} from '../config.js'
import {readdir, readdirOrEmpty, stat} from '../fs.js'

export const QUEUE_DIR = '.agent-queue'
export const QUEUE_STATES = ['inbox', 'dispatched', 'done', 'failed', 'archive'] as const
export type QueueState = (typeof QUEUE_STATES)[number]

/** The states `task list --state` accepts: the folders, with inbox split by its markers. */
export const LIST_STATES = ['inbox', 'blocked', 'invalid', 'dispatched', 'done', 'failed', 'archive'] as const
export type ListState = (typeof LIST_STATES)[number]

/** The folder holding a project's tasks in one state. */
export function queueDir(projectPath: string, state: QueueState): string {
  return join(projectPath, QUEUE_DIR, state)
}

/** True for a task id that is safe as a file name and a path segment. */
export function isTaskId(id: string): boolean {
  return NAME.test(id) && id !== '.' && id !== '..'
}

/** The configured projects plus every child of `projects_dir` holding a `.agent-queue/`. */
export async function discoverProjects(config: Config): Promise<{projects: Project[]; warnings: string[]}> {
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
      try {
        if (!(await stat(join(path, QUEUE_DIR))).isDirectory()) continue
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

  return {projects, warnings}
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
