// The dependency gate (seed 000, SPEC §3): a task is ready when every `depends_on` entry names a
// task found in `done/` or `archive/` of its project. Malformed entries are refused by the pure
// parser before any lookup, so `../../tmp:foo` never becomes a path.
import {lstatSync} from 'node:fs'
import {join} from 'node:path'

import type {DependencyRef} from './task-file.js'

import {queueDir} from './layout.js'
import {parseDependency} from './task-file.js'

export type DependencyCheck = {ready: true} | {ready: false; reason: string; unresolved: string[]}

/** Lookups shared by the tasks of one pass: many tasks waiting on one id cost one stat. */
export type DependencyCache = Map<string, boolean>

/**
 * True when `<project>/.agent-queue/done/<id>.md` or `archive/<id>.md` is a regular file. A sync
 * lstat that does not throw on a missing file: most lookups miss, and an Error per miss dominated
 * the cost of a pass.
 */
export function isTaskFinished(projectPath: string, taskId: string): boolean {
  for (const state of ['done', 'archive'] as const) {
    try {
      if (lstatSync(join(queueDir(projectPath, state), `${taskId}.md`), {throwIfNoEntry: false})?.isFile()) return true
    } catch {
      // Unreadable (EACCES, ENOTDIR): not finished there.
    }
  }

  return false
}

/**
 * Checks a task's `depends_on`. Any malformed entry (traversal, bad segment, unknown project)
 * blocks the task with its reason and no filesystem lookup at all; otherwise each entry is looked
 * up in done/ then archive/. `unresolved` lists the raw entries still in the way.
 */
export async function checkDependencies(
  task: {project: string; dependsOn: ReadonlyArray<DependencyRef | string>},
  projectsByName: ReadonlyMap<string, {path: string}>,
  options: {cache?: DependencyCache; knownProjects?: ReadonlySet<string>} = {},
): Promise<DependencyCheck> {
  if (task.dependsOn.length === 0) return {ready: true}
  const known = options.knownProjects ?? new Set(projectsByName.keys())
  const malformed: {raw: string; reason: string}[] = []
  const wanted: {raw: string; projectPath: string; taskId: string; project: string}[] = []
  for (const entry of task.dependsOn) {
    const raw = typeof entry === 'string' ? entry : entry.raw
    if (typeof entry !== 'string' && !entry.ok) {
      malformed.push({raw, reason: entry.reason})
      continue
    }

    const parsed = parseDependency(raw, task.project, known)
    if (!parsed.ok) {
      malformed.push({raw, reason: parsed.reason})
      continue
    }

    const target = projectsByName.get(parsed.project)
    if (!target) {
      malformed.push({raw, reason: `depends_on entry ${JSON.stringify(raw)}: project "${parsed.project}" has no folder configured`})
      continue
    }

    wanted.push({project: parsed.project, projectPath: target.path, raw, taskId: parsed.taskId})
  }

  if (malformed.length > 0) {
    return {ready: false, reason: malformed.map((m) => m.reason).join('; '), unresolved: malformed.map((m) => m.raw)}
  }

  const cache = options.cache ?? new Map<string, boolean>()
  const done = wanted.map(({project, projectPath, taskId}) => {
    const key = `${project}\0${taskId}`
    let finished = cache.get(key)
    if (finished === undefined) {
      finished = isTaskFinished(projectPath, taskId)
      cache.set(key, finished)
    }

    return finished
  })
  const unresolved = [...new Set(wanted.filter((_, i) => !done[i]).map((w) => w.raw))]
  if (unresolved.length === 0) return {ready: true}
  const shown = unresolved.length > 5 ? `${unresolved.slice(0, 5).join(', ')} and ${unresolved.length - 5} more` : unresolved.join(', ')
  return {ready: false, reason: `waiting for ${shown} (not in done/ or archive/ yet)`, unresolved}
}
