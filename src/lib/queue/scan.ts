// One pass over a project's inbox: every task file is judged ready, blocked, invalid or settling,
// and the markers beside it are brought in line with the verdict. One bad file never stops the
// pass: every refusal is a verdict, and an unexpected error on one file becomes a warning.
//
// Half-written files (the settle rule): a task is read only when it is settled, that is when
//   - its mtime is at least `settleMs` (default 2 s) before `now`: nothing has written to it for
//     that long (an editor saving, `cat >`, `cp` in progress all keep bumping the mtime), or
//   - its ctime is later than its mtime: the last thing done to the inode was not a write but a
//     rename or link into inbox/ (Maildir-style delivery, as `task add` does) or a utimes; any
//     later write would set mtime and ctime together again.
// and a file whose size changes while it is read is put back to settling. Until then it is
// neither read nor judged, so a half-written file is never dispatched and never marked invalid.
// This closes the window "a writer pauses for less than settleMs mid-file". A writer that pauses
// longer than settleMs (or changes the file's metadata mid-write) can still be read early: the
// only airtight delivery is to write elsewhere and rename into inbox/, as `task add` does.
import type {Stats} from 'node:fs'
import {lstatSync} from 'node:fs'
import {join} from 'node:path'

import type {DependencyCache, InboxDependencyCache} from './dependencies.js'
import type {TaskFingerprint} from './markers.js'
import type {JudgedTask, Task, TaskProject} from './task-file.js'
import type {BlockedKind, VerdictCache} from './verdict-cache.js'

import {fsFailure} from '../errors.js'
import {readdir} from '../fs.js'
import {CYCLE_REASON_PREFIX, type DependencyCheck, gateDependencies, waitingReason} from './dependencies.js'
import {queueDir} from './layout.js'
import {
  BLOCKED_SUFFIX,
  blockedMarkerPath,
  INVALID_SUFFIX,
  clearBlockedMarker,
  clearInvalidMarker,
  ensureBlockedMarker,
  fingerprintOf,
  markerReason,
  readInvalidMarkerSync,
  readMarkerReasonSync,
  replaceBlockedMarker,
  sameFingerprint,
  writeInvalidMarker,
} from './markers.js'
import {fieldsOfTask, finishTask, parseTaskBytes, readTaskBytes, readTaskFile, SYMLINK_REASON, taskFromFields, taskIdFromName} from './task-file.js'

/** How long a task file must go unwritten before it is read (unless it was delivered by rename). */
export const DEFAULT_SETTLE_MS = 2000

export interface ScanOptions {
  /** The clock, in ms since the epoch. */
  now?: number
  settleMs?: number
  /** Share one across the projects of a pass so each dependency is looked up once. */
  cache?: DependencyCache
  /**
   * Judge only: return the marker changes in `markerUpdates` instead of making them, for the
   * caller to apply (applyMarkerUpdates) once it knows the pass will go ahead, or to drop (a dry
   * run, or no tmux server: the inbox must be left exactly as it was).
   */
  deferMarkers?: boolean
  /**
   * This project's verdicts from earlier passes (verdict-cache.ts): an unchanged file is not read
   * again. Brought up to date by the pass and saved as its last marker update.
   */
  verdicts?: VerdictCache
}

/** One marker change a scan decided on: create, rewrite or remove a `.blocked`/`.invalid` beside a task. */
export interface MarkerUpdate {
  /** The file name it concerns, for warnings. */
  name: string
  apply: () => Promise<unknown>
}

export interface ScanResult {
  /** Highest priority first, then the oldest file, then the id. Without the prompt: read it again to deliver (readReadyTask). */
  ready: JudgedTask[]
  blocked: {id: string; reason: string; unresolved: string[]}[]
  invalid: {id: string; reason: string}[]
  /** Still being written (or just edited): judged on a later pass. */
  settling: {id: string; reason: string}[]
  /** Markers that could not be written or removed, and unexpected errors; the verdicts stand. */
  warnings: string[]
  /** With `deferMarkers`: the marker changes not made yet (otherwise empty: they were made). */
  markerUpdates: MarkerUpdate[]
}

type Verdict =
  | {kind: 'ready'; task: JudgedTask}
  | {kind: 'blocked'; id: string; reason: string; unresolved: string[]}
  | {kind: 'invalid'; id: string; reason: string}
  | {kind: 'settling'; id: string; reason: string}
  | {kind: 'gone'}

/** True when a file may be read: unwritten for `settleMs`, or delivered by rename/link since its last write. */
export function isSettled(stat: Pick<Stats, 'ctimeMs' | 'mtimeMs'>, now: number, settleMs: number = DEFAULT_SETTLE_MS): boolean {
  return now - stat.mtimeMs >= settleMs || stat.ctimeMs > stat.mtimeMs
}

/** Orders ready tasks: priority desc, then oldest mtime, then id. */
export function compareTasks(a: JudgedTask, b: JudgedTask): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs - b.mtimeMs
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * Judges every task of one project's inbox in a single pass and updates the markers: `.blocked`
 * created once (never rewritten) and removed when the task is ready or invalid; `.invalid`
 * written with the file's fingerprint and removed when the file changes; orphan markers removed.
 * A missing inbox is an empty one.
 */
export async function scanInbox(
  project: TaskProject,
  knownProjects: ReadonlySet<string>,
  projectsByName: ReadonlyMap<string, {path: string}>,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const now = options.now ?? Date.now()
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS
  const cache = options.cache ?? new Map()
  const inbox = queueDir(project.path, 'inbox')
  const result: ScanResult = {blocked: [], invalid: [], markerUpdates: [], ready: [], settling: [], warnings: []}
  // Names only: every task is lstat'ed below anyway (its type and fingerprint), and a Dirent per
  // file was a tenth of the garbage of a steady pass over 10,000 tasks.
  let entries: string[]
  try {
    entries = await readdir(inbox)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return result
    throw fsFailure('read the inbox', inbox, error)
  }

  // Dependencies on projects missing from projectsByName are unknown, whatever knownProjects says.
  // (dispatch passes the same projects in both: no copy per project then.)
  const same = projectsByName.size === knownProjects.size && [...projectsByName.keys()].every((name) => knownProjects.has(name))
  const lookup = same ? projectsByName : new Map([...projectsByName].filter(([name]) => knownProjects.has(name)))
  const known = same ? knownProjects : new Set(lookup.keys())
  const tasks: string[] = []
  const markers = new Set<string>()
  for (const name of entries) {
    // Dot-files are writes in progress (tempPathFor, Maildir-style deliveries, editors' swap files).
    if (name.startsWith('.')) continue
    if (name.endsWith('.md')) tasks.push(name)
    else if (name.endsWith(`.md${BLOCKED_SUFFIX}`) || name.endsWith(`.md${INVALID_SUFFIX}`)) markers.add(name)
  }

  const warn = (message: string) => result.warnings.push(message)
  // Marker changes are collected while judging and made after it (or handed back, deferred).
  const updates: MarkerUpdate[] = []
  const mark = (name: string, apply: () => Promise<unknown>) => {
    updates.push({apply, name})
  }

  const stored = options.verdicts
  const taskNames: ReadonlySet<string> = new Set(tasks)
  const inboxNames = {names: taskNames, project: project.name}
  const context: Context = {cache, inbox, inboxCache: new Map(), inboxNames, known, lookup, mark, markers, now, project, settleMs, verdicts: stored, warn}
  for (let index = 0; index < tasks.length; index++) {
    const name = tasks[index] as string
    let verdict: Verdict
    try {
      // Synchronous unless the file must be parsed or a dependency chain followed: a steady pass
      // over 10,000 unchanged files made five promises a file, and their garbage, for nothing.
      const judged = judge(context, name)
      verdict = judged instanceof Promise ? await judged : judged
    } catch (error) {
      warn(`${name}: skipped this pass (${error instanceof Error ? error.message : String(error)})`)
      continue
    }

    // The reads are synchronous, so without a turn of the event loop now and then a SIGTERM
    // (systemd stopping the unit) would wait for the whole inbox: its handler, which releases
    // the lock, runs only between turns. Every 256 files costs nothing measurable.
    if (index % 256 === 255) await new Promise((resolve) => setImmediate(resolve))
    switch (verdict.kind) {
      case 'ready': {
        result.ready.push(verdict.task)
        break
      }

      case 'blocked': {
        result.blocked.push({id: verdict.id, reason: verdict.reason, unresolved: verdict.unresolved})
        break
      }

      case 'invalid': {
        result.invalid.push({id: verdict.id, reason: verdict.reason})
        break
      }

      case 'settling': {
        result.settling.push({id: verdict.id, reason: verdict.reason})
        break
      }

      case 'gone': {
        break
      }
    }
  }

  // Markers whose task is gone (claimed, deleted, renamed): nothing to say any more.
  for (const marker of markers) {
    const taskName = marker.slice(0, marker.lastIndexOf('.'))
    if (!taskNames.has(taskName)) mark(marker, () => (marker.endsWith(BLOCKED_SUFFIX) ? clearBlockedMarker : clearInvalidMarker)(join(inbox, taskName)))
  }

  // Last, after the marker changes it records: a pass whose markers are dropped saves nothing either.
  if (stored) mark('verdict cache', async () => stored.save())
  if (options.deferMarkers) result.markerUpdates = updates
  else for (const update of updates) await quietly(warn, update.name, update.apply)

  result.ready.sort(compareTasks)
  const byId = (a: {id: string}, b: {id: string}) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  result.blocked.sort(byId)
  result.invalid.sort(byId)
  result.settling.sort(byId)
  return result
}

interface Context {
  cache: DependencyCache
  inbox: string
  /** The dependencies of inbox tasks, read when following a chain to find a cycle. */
  inboxCache: InboxDependencyCache
  /** This inbox's task files as listed at the start of the pass. */
  inboxNames: {project: string; names: ReadonlySet<string>}
  known: ReadonlySet<string>
  lookup: ReadonlyMap<string, {path: string}>
  markers: ReadonlySet<string>
  /** Records one marker change, made once the inbox is judged (or handed back, deferred). */
  mark: (name: string, apply: () => Promise<unknown>) => void
  now: number
  project: TaskProject
  settleMs: number
  verdicts: VerdictCache | undefined
  warn: (message: string) => void
}

function judge(context: Context, name: string): Verdict | Promise<Verdict> {
  const {inbox, mark, markers, project, verdicts} = context
  // The inbox path is normalised and a listed name holds no slash: no join() (a tenth of a pass).
  const taskPath = `${inbox}/${name}`
  const id = name.slice(0, -'.md'.length)
  const hasBlocked = markers.has(name + BLOCKED_SUFFIX)
  const hasInvalid = markers.has(name + INVALID_SUFFIX)
  const flags: Flags = {hasBlocked, hasInvalid, staleInvalid: false}

  const named = taskIdFromName(name)
  if (!named.ok) return invalidVerdict(context, name, named.reason, flags)
  // The entry itself, never what a link points at: its type, and the fingerprint of this version.
  const stat = lstatOrUndefined(taskPath)
  if (!stat) return {kind: 'gone'}
  if (stat.isSymbolicLink()) return invalidVerdict(context, name, SYMLINK_REASON, flags, stat)

  // This very version of the file was judged on an earlier pass: its bytes are not read again.
  // A symlink or FIFO swapped in since is a miss (lookup wants a regular file), read below.
  const hit = verdicts?.lookup(name, stat)
  if (hit?.verdict.kind === 'invalid') {
    const {reason} = hit.verdict
    if (!hasInvalid) mark(name, () => writeInvalidMarker(taskPath, reason, fingerprintOf(stat)))
    if (hasBlocked) mark(name, () => clearBlockedMarker(taskPath))
    return {id, kind: 'invalid', reason}
  }

  if (hit?.verdict.kind === 'parsed') {
    flags.staleInvalid = hasInvalid
    const meta = {ctimeMs: stat.ctimeMs, ino: stat.ino, mtimeMs: stat.mtimeMs, path: taskPath, size: stat.size}
    return judgeParsed(context, name, flags, taskFromFields(hit.verdict.fields, id, meta, project), stat, hit.blocked)
  }

  // A standing verdict on this exact version of the file: not read again. Any edit, replacement
  // or touch changes the fingerprint, and the verdict is cleared on this pass.
  if (hasInvalid) {
    const marker = readInvalidMarkerSync(taskPath)
    if (marker?.fingerprint && sameFingerprint(marker.fingerprint, fingerprintOf(stat))) {
      verdicts?.remember(name, stat, {kind: 'invalid', reason: marker.reason})
      if (hasBlocked) mark(name, () => clearBlockedMarker(taskPath))
      return {id, kind: 'invalid', reason: marker.reason}
    }

    flags.staleInvalid = true
  }

  return readAndJudge(context, name, flags)
}

/** Judges a file from its bytes (no usable cached verdict): read, parse, remember what the bytes came to. */
async function readAndJudge(context: Context, name: string, flags: Flags): Promise<Verdict> {
  const {mark, project, verdicts} = context
  const taskPath = `${context.inbox}/${name}`
  const read = await readTaskBytes(taskPath, (s) => isSettled(s, context.now, context.settleMs))
  if (read.kind === 'gone') return read
  if (read.kind === 'refused') {
    if (read.stat) verdicts?.remember(name, read.stat, {kind: 'invalid', reason: markerReason(read.reason)})
    return invalidVerdict(context, name, read.reason, flags, read.stat)
  }

  if (read.kind === 'unsettled') {
    if (flags.staleInvalid) mark(name, () => clearInvalidMarker(taskPath))
    return {id: name.slice(0, -'.md'.length), kind: 'settling', reason: `written ${Math.max(0, Math.round((context.now - read.stat.mtimeMs) / 100) / 10)}s ago; read once unchanged for ${context.settleMs / 1000}s`}
  }

  const parsed = await parseTaskBytes(read.bytes, {ctimeMs: read.stat.ctimeMs, ino: read.stat.ino, mtimeMs: read.stat.mtimeMs, path: taskPath, size: read.stat.size}, project)
  // What the bytes alone came to; the checks against other files (cwd, dependencies) run on every pass.
  verdicts?.remember(name, read.stat, parsed.ok ? {fields: fieldsOfTask(parsed.task, project.path), kind: 'parsed'} : {kind: 'invalid', reason: markerReason(parsed.reason)})
  if (!parsed.ok) return invalidVerdict(context, name, parsed.reason, flags, read.stat)
  return judgeParsed(context, name, flags, parsed.task, read.stat, undefined)
}

interface Flags {
  hasBlocked: boolean
  hasInvalid: boolean
  /** An `.invalid` marker stands beside a version of the file that is no longer there. */
  staleInvalid: boolean
}

function invalidVerdict(context: Context, name: string, why: string, flags: Flags, stat?: Stats): Verdict {
  const taskPath = `${context.inbox}/${name}`
  const reason = markerReason(why)
  const current = stat ?? lstatOrUndefined(taskPath)
  const fingerprint: TaskFingerprint | undefined = current && fingerprintOf(current)
  context.mark(name, () => writeInvalidMarker(taskPath, reason, fingerprint))
  if (flags.hasBlocked) context.mark(name, () => clearBlockedMarker(taskPath))
  return {id: name.slice(0, -'.md'.length), kind: 'invalid', reason}
}

/**
 * The rest of the verdict on a task whose file is valid: the checks against other files (cwd after
 * realpath, dependencies), judged afresh on every pass, and its markers. `blocked`: the kind of
 * `.blocked` marker the cache says this tool left (the marker is then not read to find out).
 * Synchronous unless a dependency chain must be followed through the inboxes.
 */
function judgeParsed(context: Context, name: string, flags: Flags, task: JudgedTask, stat: Stats, blocked: BlockedKind | undefined): Verdict | Promise<Verdict> {
  const {mark, verdicts} = context
  const taskPath = `${context.inbox}/${name}`
  const finished = finishTask({ok: true, task}, context.project.path)
  if (!finished.ok) return invalidVerdict(context, name, finished.reason, flags, stat)
  if (flags.staleInvalid) mark(name, () => clearInvalidMarker(taskPath))

  const gate = gateDependencies(task, context.lookup, {cache: context.cache, knownProjects: context.known})
  if (gate.ready) {
    if (flags.hasBlocked) {
      mark(name, async () => {
        await clearBlockedMarker(taskPath)
        verdicts?.setBlocked(name, undefined)
      })
    }

    return {kind: 'ready', task}
  }

  if (gate.waiting === undefined) return blockedVerdict(context, name, flags, gate, blocked)
  return waitingReason(task.project, gate, context.lookup, {cache: context.cache, id: task.id, inboxCache: context.inboxCache, inboxNames: context.inboxNames, knownProjects: context.known}).then((check) =>
    blockedVerdict(context, name, flags, check as Extract<DependencyCheck, {ready: false}>, blocked),
  )
}

/** A blocked verdict and its `.blocked` marker: created once, rewritten only when it turns into (or out of) a cycle. */
function blockedVerdict(context: Context, name: string, flags: Flags, check: {reason: string; unresolved: string[]; cycle?: string[]}, blocked: BlockedKind | undefined): Verdict {
  const {mark, verdicts} = context
  const taskPath = `${context.inbox}/${name}`
  const reason = markerReason(check.reason)
  const kind: BlockedKind = check.cycle === undefined ? 'wait' : 'cycle'
  if (!flags.hasBlocked) {
    mark(name, async () => {
      // A marker another pass created meanwhile (false) is of a kind not known here.
      const created = await ensureBlockedMarker(taskPath, reason)
      verdicts?.setBlocked(name, created ? kind : undefined)
    })
  } else if (blocked !== kind) {
    const found: BlockedKind = (readMarkerReasonSync(blockedMarkerPath(taskPath)) ?? '').startsWith(CYCLE_REASON_PREFIX) ? 'cycle' : 'wait'
    // A cycle found among tasks already blocked, or broken by an edit: the marker says so.
    if (found === kind) {
      verdicts?.setBlocked(name, kind)
    } else {
      mark(name, async () => {
        await replaceBlockedMarker(taskPath, reason)
        verdicts?.setBlocked(name, kind)
      })
    }
  }

  return {id: name.slice(0, -'.md'.length), kind: 'blocked', reason, unresolved: check.unresolved}
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, {throwIfNoEntry: false})
  } catch {
    return undefined
  }
}

/**
 * A ready task read again, with its prompt, to be delivered: ok only when the file is the very
 * version the pass judged (same inode, size, mtime and ctime) and still reads as a valid task.
 * Whatever a verdict was based on (the bytes of this pass or a cached verdict), what is delivered
 * comes from this read.
 */
export async function readReadyTask(task: JudgedTask, project: TaskProject): Promise<{ok: true; task: Task} | {ok: false; reason: string}> {
  const fresh = await readTaskFile(task.path, project)
  if (!fresh.ok) return fresh
  if (!sameFingerprint(fingerprintOf(fresh.task), fingerprintOf(task))) return {ok: false, reason: 'changed since it was judged; judged again on the next pass'}
  return fresh
}

/** Applies marker changes a deferred scan decided on; returns a warning per change that failed. */
export async function applyMarkerUpdates(updates: readonly MarkerUpdate[]): Promise<string[]> {
  const warnings: string[] = []
  for (const update of updates) await quietly((message) => warnings.push(message), update.name, update.apply)
  return warnings
}

/** Runs a marker update; a failure (read-only folder, disk full) becomes a warning, not a stop. */
async function quietly(warn: (message: string) => void, name: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action()
  } catch (error) {
    warn(`${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
