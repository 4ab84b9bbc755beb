// What a pass learnt about each inbox file, kept for the next pass (issue 18): a file whose
// fingerprint (dev, inode, size, mtime, ctime of an lstat) has not changed since it was judged is
// not opened, read or parsed again. Per project, one file in the state dir, 0600.
//
// What the cache may and may not decide:
//   - it holds only what depends on the file's bytes alone: the frontmatter fields, or the reason
//     the bytes are refused. Everything that depends on other files (dependencies, the realpath of
//     `cwd`, cycles) is judged again on every pass;
//   - an entry is used only for a regular file (lstat: a symlink or FIFO swapped in is never a hit)
//     whose whole fingerprint matches; anything else is a miss and the file is read as before;
//   - dispatch reads a chosen task again before delivering it and delivers only when that read
//     shows the same fingerprint (readiness rests on the file, never on the cache alone);
//   - a missing, unreadable, corrupt, oversized or foreign (other project, other format) cache file
//     is an empty cache: rebuilt by the pass, never an error.
//
// The window the age rule closes: a file rewritten within one tick of the filesystem's clock, with
// the same size and inode, keeps its fingerprint (coarse kernel timestamps, 1-2 s on some
// filesystems). So a verdict is stored only when the file's ctime was at least MIN_AGE_MS old when
// it was read: any later write, rename, chmod or link sets the ctime to a later tick, which the
// next lstat sees. Files younger than that are simply read again (the settle window makes most of
// them wait anyway).
import type {Stats} from 'node:fs'
import {closeSync, fchmodSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'

import {tempPathFor} from '../fs-atomic.js'
import {readRegularSync} from '../fs.js'
import {isTaskId} from './layout.js'
import {isInside, type TaskFields} from './task-file.js'

/** Bump whenever a rule of parseTaskBytes changes: an older cache is then ignored, not trusted. */
export const CACHE_FORMAT = 1
/** A verdict is kept only for a file whose ctime was at least this old when it was read (see above). */
export const MIN_AGE_MS = 3000
/** Entries kept per project: beyond this the rest of an inbox is read on every pass, as before. */
export const MAX_ENTRIES = 100_000
/** A cache file larger than this is not read (100,000 entries take about 10 MB). */
export const MAX_CACHE_BYTES = 32 * 1024 * 1024
const CACHE_MODE = 0o600

/** What the bytes of one version of a task file came to: its fields, or why they are refused. */
export type CachedVerdict = {kind: 'parsed'; fields: TaskFields} | {kind: 'invalid'; reason: string}

/** The `.blocked` marker this tool last left beside a task, as far as the cache knows. */
export type BlockedKind = 'cycle' | 'wait'

/** [dev, ino, size, mtimeMs, ctimeMs] */
type Fingerprint = [number, number, number, number, number]
/** [fingerprint, 'p', fields] or [fingerprint, 'i', reason], then the blocked marker's kind (0 none, 1 wait, 2 cycle). */
type Entry = [Fingerprint, 'i', string, number] | [Fingerprint, 'p', [number, string[], number, number | null, string | null], number]

interface CacheFile {
  format: number
  project: string
  entries: Record<string, unknown>
}

export interface VerdictCacheOptions {
  /** Overrides MIN_AGE_MS (tests). */
  minAgeMs?: number
  /** Overrides MAX_ENTRIES (tests). */
  maxEntries?: number
}

/** The cache file of a project under `stateDir`; undefined for a name that cannot be a file name. */
export function verdictCachePath(stateDir: string, projectName: string): string | undefined {
  return isTaskId(projectName) ? join(stateDir, 'queue-cache', `${projectName}.json`) : undefined
}

function fingerprint(stat: Pick<Stats, 'ctimeMs' | 'dev' | 'ino' | 'mtimeMs' | 'size'>): Fingerprint {
  return [stat.dev, stat.ino, stat.size, stat.mtimeMs, stat.ctimeMs]
}

function sameFingerprint(a: unknown, stat: Pick<Stats, 'ctimeMs' | 'dev' | 'ino' | 'mtimeMs' | 'size'>): boolean {
  return Array.isArray(a) && a.length === 5 && a[0] === stat.dev && a[1] === stat.ino && a[2] === stat.size && a[3] === stat.mtimeMs && a[4] === stat.ctimeMs
}

/** One project's cache, loaded at the start of a pass and saved (only if something changed) at its end. */
export class VerdictCache {
  /** As parsed from the file (own properties only are read): no copy into a Map, a pass reads each once. */
  private readonly entries: Record<string, unknown>
  private readonly loaded: number
  /** Entries for the files this pass met: what is saved (a deleted task's entry goes with it). */
  private readonly kept = new Map<string, Entry>()
  /** Files judged from this cache this pass (for tests and figures). */
  hits = 0
  private changed = false
  private readonly minAgeMs: number
  private readonly maxEntries: number

  private constructor(
    readonly path: string,
    private readonly projectPath: string,
    entries: Record<string, unknown>,
    options: VerdictCacheOptions,
  ) {
    this.entries = entries
    this.loaded = Object.keys(entries).length
    this.minAgeMs = options.minAgeMs ?? MIN_AGE_MS
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES
  }

  /** Loads the cache at `path` for the project at `projectPath`; anything unusable is an empty cache. */
  static load(path: string, projectPath: string, options: VerdictCacheOptions = {}): VerdictCache {
    let entries: Record<string, unknown> = {}
    try {
      const data = JSON.parse(readRegularSync(path, MAX_CACHE_BYTES).toString('utf8')) as Partial<CacheFile> | null
      if (data && data.format === CACHE_FORMAT && data.project === projectPath && typeof data.entries === 'object' && data.entries !== null && !Array.isArray(data.entries)) {
        entries = data.entries
      }
    } catch {
      // Missing, a symlink, too large, not JSON: start empty; the save replaces it.
    }

    // An unusable file is replaced as soon as the pass has something to keep (remember), not before:
    // an empty inbox writes nothing.
    return new VerdictCache(path, projectPath, entries, options)
  }

  /** The verdict stored for file `name` if `stat` (an lstat of it) shows the very version that was judged. */
  lookup(name: string, stat: Stats): {verdict: CachedVerdict; blocked?: BlockedKind} | undefined {
    if (!stat.isFile() || !Object.hasOwn(this.entries, name)) return undefined
    const entry = this.entries[name]
    if (!Array.isArray(entry) || entry.length !== 4 || !sameFingerprint(entry[0], stat)) return undefined
    const verdict = this.decode(entry[1], entry[2])
    if (!verdict) return undefined
    if (entry[3] !== 1 && entry[3] !== 2) entry[3] = 0
    // Kept as loaded (checked above): it is saved back unchanged.
    this.keep(name, entry as Entry)
    const blocked = entry[3] === 1 ? 'wait' : entry[3] === 2 ? 'cycle' : undefined
    this.hits += 1
    return blocked ? {blocked, verdict} : {verdict}
  }

  /**
   * Stores the verdict on the version of `name` that `stat` (the fstat of the descriptor read)
   * describes, unless that version is too young to be told apart from a rewrite (see MIN_AGE_MS).
   */
  remember(name: string, stat: Stats, verdict: CachedVerdict): void {
    if (!stat.isFile() || Date.now() - stat.ctimeMs < this.minAgeMs) return
    if (!this.kept.has(name) && this.kept.size >= this.maxEntries) return
    const fp = fingerprint(stat)
    const entry: Entry =
      verdict.kind === 'invalid'
        ? [fp, 'i', verdict.reason, 0]
        : [fp, 'p', [verdict.fields.priority, verdict.fields.dependsOn, verdict.fields.retries, verdict.fields.timeoutMs ?? null, verdict.fields.cwd ?? null], 0]
    this.changed = true
    this.kept.set(name, entry)
  }

  /** Records the kind of `.blocked` marker now beside `name` (call once the marker is written or found). */
  setBlocked(name: string, kind: BlockedKind | undefined): void {
    const entry = this.kept.get(name)
    const value = kind === 'wait' ? 1 : kind === 'cycle' ? 2 : 0
    if (!entry || entry[3] === value) return
    entry[3] = value
    this.changed = true
  }

  /** Writes the cache if this pass changed it or met fewer files than it held: temp file, then rename, 0600. */
  save(): void {
    if (!this.changed && this.kept.size === this.loaded) return
    const data: CacheFile = {entries: Object.fromEntries(this.kept), format: CACHE_FORMAT, project: this.projectPath}
    mkdirSync(join(this.path, '..'), {mode: 0o700, recursive: true})
    const temp = tempPathFor(this.path)
    try {
      const fd = openSync(temp, 'wx', CACHE_MODE)
      try {
        writeSync(fd, JSON.stringify(data))
        // The mode given to open() is filtered by the umask; make it exact.
        fchmodSync(fd, CACHE_MODE)
      } finally {
        closeSync(fd)
      }

      // Not fsynced: a cache torn by a power cut is unreadable JSON, hence empty, hence rebuilt.
      renameSync(temp, this.path)
    } catch (error) {
      try {
        unlinkSync(temp)
      } catch {}

      throw error
    }

    this.changed = false
  }

  private keep(name: string, entry: Entry): void {
    if (!this.kept.has(name) && this.kept.size >= this.maxEntries) return
    this.kept.set(name, entry)
  }

  /** A stored verdict, checked as strictly as the file it stands for: any odd value is a miss. */
  private decode(kind: unknown, payload: unknown): CachedVerdict | undefined {
    if (kind === 'i') return typeof payload === 'string' && payload !== '' ? {kind: 'invalid', reason: payload} : undefined
    if (kind !== 'p' || !Array.isArray(payload) || payload.length !== 5) return undefined
    const [priority, dependsOn, retries, timeoutMs, cwd] = payload as unknown[]
    if (!Number.isSafeInteger(priority) || !Number.isSafeInteger(retries) || (retries as number) < 0) return undefined
    if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string')) return undefined
    if (timeoutMs !== null && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))) return undefined
    if (cwd !== null && (typeof cwd !== 'string' || cwd === '' || isAbsolute(cwd) || !isInside(this.projectPath, resolve(this.projectPath, cwd)))) return undefined
    const fields: TaskFields = {dependsOn: dependsOn as string[], priority: priority as number, retries: retries as number}
    if (timeoutMs !== null) fields.timeoutMs = timeoutMs as number
    if (cwd !== null) fields.cwd = cwd as string
    return {fields, kind: 'parsed'}
  }
}
