// The `.blocked` and `.invalid` markers beside `inbox/<id>.md` (SPEC §3). A marker is a verdict
// derived from the task file and the queue folders, recomputed on every pass; no decision to
// dispatch ever rests on a marker (readiness always comes from a fresh read), so markers are
// written atomically (temp file + rename/link: a reader sees no marker or a whole one) but not
// fsynced. A power cut can lose a marker; the next pass writes it again.
import {closeSync, fchmodSync, linkSync, lstatSync, openSync, renameSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import type {Stats} from 'node:fs'

import {fsFailure} from '../errors.js'
import {tempPathFor} from '../fs-atomic.js'
import {readHeadSync} from '../tail.js'

export const BLOCKED_SUFFIX = '.blocked'
export const INVALID_SUFFIX = '.invalid'
const MARKER_MODE = 0o600
const MAX_MARKER_BYTES = 16 * 1024
/**
 * The longest reason a marker (or `dispatch`, `task list`) shows, in characters: at most 4 KB of
 * UTF-8, so the fingerprint line after it always lies within what the reader reads (a 5.6 MB
 * reason once pushed it out, and the file was parsed again on every pass).
 */
export const MAX_REASON_CHARS = 1000

/** The `.blocked` marker of a task file. */
export function blockedMarkerPath(taskPath: string): string {
  return taskPath + BLOCKED_SUFFIX
}

/** The `.invalid` marker of a task file. */
export function invalidMarkerPath(taskPath: string): string {
  return taskPath + INVALID_SUFFIX
}

/** What identifies one version of a task file: any edit, replacement or `touch` changes it. */
export interface TaskFingerprint {
  size: number
  mtimeMs: number
  ctimeMs: number
  ino: number
}

/** The fingerprint of a stat of the task file. */
export function fingerprintOf(stat: Pick<Stats, 'ctimeMs' | 'ino' | 'mtimeMs' | 'size'>): TaskFingerprint {
  return {ctimeMs: stat.ctimeMs, ino: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size}
}

/** True when two fingerprints describe the same version of the file. */
export function sameFingerprint(a: TaskFingerprint, b: TaskFingerprint): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino
}

const FINGERPRINT_LINE = /^task-file: size=(\d+) mtime_ms=([\d.e+-]+) ctime_ms=([\d.e+-]+) ino=(\d+)$/

/** The text of an `.invalid` marker: the reason (one line, for people), then the fingerprint. */
export function formatInvalidMarker(reason: string, fingerprint?: TaskFingerprint): string {
  if (!fingerprint) return `${markerReason(reason)}\n`
  const {ctimeMs, ino, mtimeMs, size} = fingerprint
  return `${markerReason(reason)}\ntask-file: size=${size} mtime_ms=${mtimeMs} ctime_ms=${ctimeMs} ino=${ino}\n`
}

/** Reads an `.invalid` marker's text back; no fingerprint means "always stale". */
export function parseInvalidMarker(text: string): {reason: string; fingerprint?: TaskFingerprint} {
  const lines = text.split('\n')
  const reason = lines[0] ?? ''
  for (const line of lines.slice(1)) {
    const match = FINGERPRINT_LINE.exec(line)
    if (match) {
      const fingerprint = {ctimeMs: Number(match[3]), ino: Number(match[4]), mtimeMs: Number(match[2]), size: Number(match[1])}
      if (Object.values(fingerprint).every((n) => Number.isFinite(n))) return {fingerprint, reason}
    }
  }

  return {reason}
}

/** The reason a marker holds (its first line), or undefined when there is no marker. */
export async function readMarkerReason(markerPath: string): Promise<string | undefined> {
  return readMarkerReasonSync(markerPath)
}

/** readMarkerReason for the scan's hot path. */
export function readMarkerReasonSync(markerPath: string): string | undefined {
  const text = readSmallFile(markerPath)
  return text === undefined ? undefined : (text.split('\n')[0] ?? '')
}

/** Reads an `.invalid` marker, or undefined when there is none. */
export async function readInvalidMarker(taskPath: string): Promise<{reason: string; fingerprint?: TaskFingerprint} | undefined> {
  return readInvalidMarkerSync(taskPath)
}

/** readInvalidMarker for the scan's hot path (one small local read; see readTaskBytes). */
export function readInvalidMarkerSync(taskPath: string): {reason: string; fingerprint?: TaskFingerprint} | undefined {
  const text = readSmallFile(invalidMarkerPath(taskPath))
  return text === undefined ? undefined : parseInvalidMarker(text)
}

/**
 * True when the `.invalid` verdict no longer applies to the file as it is now: the marker is
 * missing or unreadable, or the task was edited, replaced or touched since the verdict.
 */
export async function isInvalidStale(taskPath: string): Promise<boolean> {
  const marker = await readInvalidMarker(taskPath)
  if (!marker?.fingerprint) return true
  try {
    return !sameFingerprint(marker.fingerprint, fingerprintOf(lstatSync(taskPath)))
  } catch {
    return true
  }
}

/**
 * Creates the `.blocked` marker unless one exists. An existing marker is never rewritten, even if
 * the reason changed: its mtime records when the block was first detected (the watchdog measures
 * blocked-since from it). Returns true when this call created it.
 */
export async function ensureBlockedMarker(taskPath: string, reason: string): Promise<boolean> {
  const marker = blockedMarkerPath(taskPath)
  const temp = writeTemp(marker, `${markerReason(reason)}\n`)
  try {
    // link() never replaces an existing name: two passes racing create the marker once, and the
    // first detection's mtime survives. The temp file makes the content appear whole, at once.
    linkSync(temp, marker)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw fsFailure('create the marker', marker, error)
  } finally {
    unlinkQuietly(temp)
  }
}

/**
 * Replaces the `.blocked` marker's reason, keeping its mtime (when the block was first detected).
 * Only for a change of kind (a dependency cycle found, or gone): the usual "waiting for" reason
 * is never rewritten (ensureBlockedMarker).
 */
export async function replaceBlockedMarker(taskPath: string, reason: string): Promise<void> {
  const marker = blockedMarkerPath(taskPath)
  const first = lstatSync(marker, {throwIfNoEntry: false})
  const temp = writeTemp(marker, `${markerReason(reason)}\n`)
  try {
    if (first) utimesSync(temp, first.atime, first.mtime)
    renameSync(temp, marker)
  } catch (error) {
    unlinkQuietly(temp)
    throw fsFailure('write the marker', marker, error)
  }
}

/** Removes the `.blocked` marker; true when there was one. */
export async function clearBlockedMarker(taskPath: string): Promise<boolean> {
  return removeIfPresent(blockedMarkerPath(taskPath))
}

/**
 * Writes (or replaces) the `.invalid` marker: the reason plus the fingerprint of the version of
 * the task file that was judged, so an edit is noticed without reading the task again. Without a
 * fingerprint the verdict counts as stale and is made again on every pass.
 */
export async function writeInvalidMarker(taskPath: string, reason: string, fingerprint?: TaskFingerprint): Promise<void> {
  const marker = invalidMarkerPath(taskPath)
  const temp = writeTemp(marker, formatInvalidMarker(reason, fingerprint))
  try {
    renameSync(temp, marker)
  } catch (error) {
    unlinkQuietly(temp)
    throw fsFailure('write the marker', marker, error)
  }
}

/** Removes the `.invalid` marker; true when there was one. */
export async function clearInvalidMarker(taskPath: string): Promise<boolean> {
  return removeIfPresent(invalidMarkerPath(taskPath))
}

/** A reason as markers hold it: one line, at most MAX_REASON_CHARS characters. */
export function markerReason(text: string): string {
  const line = text.replaceAll(/[\r\n]+/g, ' ').trim()
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line
}

// Marker I/O is synchronous, like the scan's reads (see readTaskBytes in task-file.ts): a first
// pass over 10,000 tasks can create thousands of markers, and each is a few local syscalls.
function writeTemp(path: string, data: string): string {
  const temp = tempPathFor(path)
  let fd: number | undefined
  try {
    fd = openSync(temp, 'wx', MARKER_MODE)
    writeFileSync(fd, data)
    // The mode given to open() is filtered by the umask; make it exact.
    fchmodSync(fd, MARKER_MODE)
    closeSync(fd)
    return temp
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd)
      } catch {}
    }

    unlinkQuietly(temp)
    throw fsFailure('write the marker', path, error)
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {}
}

function removeIfPresent(path: string): boolean {
  try {
    unlinkSync(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw fsFailure('remove the marker', path, error)
  }
}

/** Reads a marker's head; undefined when missing, unreadable or not a regular file (a marker an older version wrote may be megabytes). */
function readSmallFile(path: string): string | undefined {
  return readHeadSync(path, MAX_MARKER_BYTES)
}
