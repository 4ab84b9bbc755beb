// The dependency gate (seed 000, SPEC §3): a task is ready when every `depends_on` entry names a
// task found in `done/` or `archive/` of its project. Malformed entries are refused by the pure
// parser before any lookup, so `../../tmp:foo` never becomes a path.
import type {Stats} from 'node:fs'
import {lstatSync} from 'node:fs'

import type {DependencyRef} from './task-file.js'

import {queueDir} from './layout.js'
import {parseDependency, readTaskFile} from './task-file.js'

/** `cycle`: the tasks of a dependency cycle this task is part of (`project:id`, the first repeated last). */
export type DependencyCheck = {ready: true} | {ready: false; reason: string; unresolved: string[]; cycle?: string[]}

/** The words every cycle reason starts with (a `.blocked` marker holding them is rewritten once the cycle is gone). */
export const CYCLE_REASON_PREFIX = 'dependency cycle'
/** Tasks followed at most when looking for a cycle through the inboxes: bounds a pass over a long chain. */
const MAX_CYCLE_WALK = 2000

/** Lookups shared by the tasks of one pass: many tasks waiting on one id cost one stat. */
export type DependencyCache = Map<string, boolean>

const dirsOf = new Map<string, {finished: readonly [string, string]; inbox: string}>()

/** done/ and archive/ (where a dependency is finished) and inbox/ of a project, joined once per process (a pass looks up thousands of dependencies). */
function dirs(projectPath: string): {finished: readonly [string, string]; inbox: string} {
  let found = dirsOf.get(projectPath)
  if (!found) {
    found = {finished: [queueDir(projectPath, 'done'), queueDir(projectPath, 'archive')], inbox: queueDir(projectPath, 'inbox')}
    dirsOf.set(projectPath, found)
  }

  return found
}

/**
 * True when `<project>/.agent-queue/done/<id>.md` or `archive/<id>.md` is a regular file. A sync
 * lstat that does not throw on a missing file: most lookups miss, and an Error per miss dominated
 * the cost of a pass.
 */
export function isTaskFinished(projectPath: string, taskId: string): boolean {
  for (const dir of dirs(projectPath).finished) {
    try {
      if (lstatSync(`${dir}/${taskId}.md`, {throwIfNoEntry: false})?.isFile()) return true
    } catch {
      // Unreadable (EACCES, ENOTDIR): not finished there.
    }
  }

  return false
}

function lstatQuietly(path: string): Stats | undefined {
  try {
    return lstatSync(path, {throwIfNoEntry: false})
  } catch {
    return undefined
  }
}

/** What can be said about a task's dependencies without following chains through the inboxes. */
export type DependencyGate = {ready: true} | {ready: false; reason: string; unresolved: string[]; waiting?: undefined} | {ready: false; unresolved: string[]; waiting: TaskRef[]}

/**
 * The synchronous part of checkDependencies: ready, blocked by a malformed entry, or the list of
 * entries not finished yet (`waiting`), which checkDependencies then follows to find a cycle.
 */
export function gateDependencies(
  task: {project: string; dependsOn: ReadonlyArray<DependencyRef | string>},
  projectsByName: ReadonlyMap<string, {path: string}>,
  options: {cache?: DependencyCache; knownProjects?: ReadonlySet<string>} = {},
): DependencyGate {
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
  const waiting = wanted.filter(({project, projectPath, taskId}) => {
    const key = `${project}\0${taskId}`
    let finished = cache.get(key)
    if (finished === undefined) {
      finished = isTaskFinished(projectPath, taskId)
      cache.set(key, finished)
    }

    return !finished
  })
  if (waiting.length === 0) return {ready: true}
  return {ready: false, unresolved: [...new Set(waiting.map((w) => w.raw))], waiting: waiting.map(({project, taskId}) => ({project, taskId}))}
}

/**
 * Checks a task's `depends_on`. Any malformed entry (traversal, bad segment, unknown project)
 * blocks the task with its reason and no filesystem lookup at all; otherwise each entry is looked
 * up in done/ then archive/. `unresolved` lists the raw entries still in the way.
 */
export async function checkDependencies(
  task: {project: string; dependsOn: ReadonlyArray<DependencyRef | string>},
  projectsByName: ReadonlyMap<string, {path: string}>,
  options: WaitingOptions = {},
): Promise<DependencyCheck> {
  const gate = gateDependencies(task, projectsByName, options)
  return gate.ready || gate.waiting === undefined ? gate : waitingReason(task.project, gate, projectsByName, options)
}

export interface WaitingOptions {
  cache?: DependencyCache
  knownProjects?: ReadonlySet<string>
  id?: string
  inboxCache?: InboxDependencyCache
  /** The task files of one project's inbox as just listed: a walk into that inbox looks there, not on disk. */
  inboxNames?: {project: string; names: ReadonlySet<string>}
}

interface InboxLookup {
  cache: InboxDependencyCache
  names?: {project: string; names: ReadonlySet<string>}
}

/** The reason a task waits on `gate.waiting`: a dependency cycle through the inboxes (when `options.id` names the task), or the list. */
export async function waitingReason(
  project: string,
  gate: {unresolved: string[]; waiting: TaskRef[]},
  projectsByName: ReadonlyMap<string, {path: string}>,
  options: WaitingOptions = {},
): Promise<DependencyCheck> {
  const {unresolved} = gate
  if (options.id !== undefined) {
    const known = options.knownProjects ?? new Set(projectsByName.keys())
    const inbox: InboxLookup = {cache: options.inboxCache ?? new Map(), ...(options.inboxNames ? {names: options.inboxNames} : {})}
    const cycle = await findCycle({project, taskId: options.id}, gate.waiting, projectsByName, known, options.cache ?? new Map(), inbox)
    if (cycle) return {cycle, ready: false, reason: cycleReason(cycle, project), unresolved}
  }

  const shown = unresolved.length > 5 ? `${unresolved.slice(0, 5).join(', ')} and ${unresolved.length - 5} more` : unresolved.join(', ')
  return {ready: false, reason: `waiting for ${shown} (not in done/ or archive/ yet)`, unresolved}
}

export interface TaskRef {
  project: string
  taskId: string
}

/** The unfinished dependencies of tasks waiting in an inbox (`project\0id` → targets; null: not in an inbox). Share one per pass. */
export type InboxDependencyCache = Map<string, TaskRef[] | null>

/** The dependencies of `inbox/<id>.md` that are not finished yet; null when no usable task file waits there. */
async function waitingOn(ref: TaskRef, projectsByName: ReadonlyMap<string, {path: string}>, known: ReadonlySet<string>, finished: DependencyCache, inbox: InboxLookup): Promise<TaskRef[] | null> {
  const inboxCache = inbox.cache
  const key = `${ref.project}\0${ref.taskId}`
  const cached = inboxCache.get(key)
  if (cached !== undefined) return cached
  const projectPath = projectsByName.get(ref.project)?.path
  let targets: TaskRef[] | null = null
  const path = projectPath === undefined ? undefined : `${dirs(projectPath).inbox}/${ref.taskId}.md`
  // Most dependencies a cycle walk follows are in no inbox: the listing or an lstat says so without
  // the Error a failed open() costs (2,000 of them in a pass over 10,000 tasks).
  const listed = inbox.names?.project === ref.project ? inbox.names.names.has(`${ref.taskId}.md`) : path !== undefined && lstatQuietly(path) !== undefined
  if (projectPath !== undefined && path !== undefined && listed) {
    const read = await readTaskFile(path, {name: ref.project, path: projectPath})
    if (read.ok) {
      targets = []
      for (const entry of read.task.dependsOn) {
        const parsed = parseDependency(entry.raw, ref.project, known)
        const path = parsed.ok ? projectsByName.get(parsed.project)?.path : undefined
        if (!parsed.ok || path === undefined) continue
        const doneKey = `${parsed.project}\0${parsed.taskId}`
        let isDone = finished.get(doneKey)
        if (isDone === undefined) {
          isDone = isTaskFinished(path, parsed.taskId)
          finished.set(doneKey, isDone)
        }

        if (!isDone) targets.push({project: parsed.project, taskId: parsed.taskId})
      }
    }
  }

  inboxCache.set(key, targets)
  return targets
}

/**
 * A path of unfinished dependencies that leads from `start` back to itself through tasks waiting in
 * inboxes (a self-dependency is the shortest), or undefined. Depth-first, each task visited once,
 * at most MAX_CYCLE_WALK of them.
 */
async function findCycle(
  start: TaskRef,
  first: TaskRef[],
  projectsByName: ReadonlyMap<string, {path: string}>,
  known: ReadonlySet<string>,
  finished: DependencyCache,
  inbox: InboxLookup,
): Promise<string[] | undefined> {
  const name = (ref: TaskRef) => `${ref.project}:${ref.taskId}`
  const target = name(start)
  const visited = new Set<string>([target])
  const walk = async (refs: TaskRef[], path: string[]): Promise<string[] | undefined> => {
    for (const ref of refs) {
      const id = name(ref)
      if (id === target) return [...path, id]
      if (visited.has(id) || visited.size >= MAX_CYCLE_WALK) continue
      visited.add(id)
      const next = await waitingOn(ref, projectsByName, known, finished, inbox)
      const found = next && (await walk(next, [...path, id]))
      if (found) return found
    }

    return undefined
  }

  return walk(first, [target])
}

/** The reason a task in a cycle is blocked: the cycle, in `depends_on` notation, and the way out. */
export function cycleReason(cycle: readonly string[], project: string): string {
  const shown = cycle.map((ref) => (ref.startsWith(`${project}:`) ? ref.slice(project.length + 1) : ref))
  const [first] = shown
  return `${CYCLE_REASON_PREFIX}: ${shown.join(' -> ')}; none of these tasks can ever run: remove one depends_on entry to break it, e.g. edit ${first}.md`
}
