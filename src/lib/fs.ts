// File-system calls for a one-shot command. node:fs/promises sends every call through libuv's
// thread pool: reading one small file is four round trips (open, fstat, read, close), each a futex
// and an eventfd wake-up, and they cost more CPU than the reads themselves (reconcile over 20
// working sessions: ~1,300 context switches and a fifth of its CPU). A timer run does its file work
// one step after another anyway, so these make the same calls synchronously behind the same
// promise interface (a failure is a rejected promise, as before). Writes that must be durable keep
// FileHandle and fsync: see fs-atomic.ts.
import * as fs from 'node:fs'
import type {Dirent, MakeDirectoryOptions, Mode, Stats} from 'node:fs'

// Every file this tool reads back from a queue or state folder (claims, ledgers, markers, hook
// records, state.json, checkpoints, the lock's notes) is input anyone who can write that folder
// controls: a Claude Code session of the pool runs with permissions bypassed. So a read never
// follows a final symlink (a claim linked to a secret, or to /dev/zero), never blocks in open() (a
// FIFO named like a claim once hung `dispatch` and `tick` for good, deaf to SIGTERM because the
// event loop was stuck in a synchronous open), and reads only a regular file of bounded size.
// libuv adds O_CLOEXEC to every open. O_NOCTTY: a tty node must never become our terminal.
export const SAFE_READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY
const SAFE_APPEND_FLAGS =
  fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY

/** The largest file readFile reads unless told otherwise (state.json of a large pool is ~100 KB). */
export const MAX_READ_BYTES = 16 * 1024 * 1024

/** A file refused before it was read: a symlink, not a regular file, or too large. `code` as errno. */
export class RefusedFileError extends Error {
  readonly code: 'EFBIG' | 'EFTYPE' | 'ELOOP'
  readonly path: string

  constructor(code: 'EFBIG' | 'EFTYPE' | 'ELOOP', path: string, why: string) {
    super(`${path} ${why}`)
    this.code = code
    this.path = path
  }
}

/** What a stat says a non-regular file is, for messages: "a FIFO", "a folder"… */
export function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  if (info.isDirectory()) return 'a folder'
  if (info.isSymbolicLink()) return 'a symbolic link'
  return 'a regular file'
}

/** Opens `path` with `flags` (which hold O_NOFOLLOW) and checks it is a regular file; the caller closes the descriptor. */
function openChecked(path: string, flags: number, mode?: number): {fd: number; info: Stats} {
  let fd: number
  try {
    fd = fs.openSync(path, flags, mode)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOOP' || code === 'EMLINK') throw new RefusedFileError('ELOOP', path, 'is a symbolic link; it is not followed (replace it with a regular file)')
    throw error
  }

  try {
    const info = fs.fstatSync(fd)
    if (!info.isFile()) throw new RefusedFileError('EFTYPE', path, `is ${fileKind(info)}, not a regular file; only regular files are used here (remove it)`)
    return {fd, info}
  } catch (error) {
    fs.closeSync(fd)
    throw error
  }
}

/**
 * Opens `path` for reading the safe way (see SAFE_READ_FLAGS) and checks it is a regular file of at
 * most `maxBytes`; returns the descriptor (the caller closes it) and its stat. Throws a
 * RefusedFileError for a symlink, a FIFO, a device or a folder, or a file too large; ENOENT as is.
 */
export function openRegularSync(path: string, maxBytes: number = MAX_READ_BYTES, followLinks = false): {fd: number; info: Stats} {
  const opened = openChecked(path, followLinks ? SAFE_READ_FLAGS & ~fs.constants.O_NOFOLLOW : SAFE_READ_FLAGS)
  if (opened.info.size > maxBytes) {
    fs.closeSync(opened.fd)
    throw new RefusedFileError('EFBIG', path, `is ${opened.info.size} bytes, over the ${maxBytes}-byte limit for this file; it is not read`)
  }

  return opened
}

/** Reads a whole file through openRegularSync: never a symlink, a FIFO or a device, at most `maxBytes`. */
export function readRegularSync(path: string, maxBytes: number = MAX_READ_BYTES, followLinks = false): Buffer {
  const {fd, info} = openRegularSync(path, maxBytes, followLinks)
  try {
    // One byte more than the size: a file that grew since the fstat (an append) is read on, and
    // one that grew past the limit is refused rather than cut.
    let buffer = Buffer.allocUnsafe(Math.min(maxBytes, info.size) + 1)
    let total = 0
    for (;;) {
      if (total === buffer.length) {
        if (total > maxBytes) throw new RefusedFileError('EFBIG', path, `grew past the ${maxBytes}-byte limit for this file while being read; it is not read`)
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, total * 2))
        buffer.copy(bigger, 0, 0, total)
        buffer = bigger
      }

      const read = fs.readSync(fd, buffer, total, buffer.length - total, total)
      if (read === 0) return buffer.subarray(0, total)
      total += read
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** How readFile reads: `maxBytes` (default MAX_READ_BYTES); `followLinks` for the operator's own files (an account home's settings linked from a dotfiles repo). */
export interface ReadOptions {
  maxBytes?: number
  followLinks?: boolean
}

/** A whole file, read safely (see openRegularSync): a regular file, not through a final symlink unless `followLinks`. */
export function readFile(path: string, options?: ReadOptions): Promise<Buffer>
export function readFile(path: string, encoding: BufferEncoding, options?: ReadOptions): Promise<string>
export async function readFile(path: string, encoding?: BufferEncoding | ReadOptions, options?: ReadOptions): Promise<Buffer | string> {
  const chosen = (typeof encoding === 'object' ? encoding : options) ?? {}
  const bytes = readRegularSync(path, chosen.maxBytes ?? MAX_READ_BYTES, chosen.followLinks === true)
  return typeof encoding === 'string' ? bytes.toString(encoding) : bytes
}

/** A file the operator named on the command line (`quota classify FILE`), read as given: `<(…)`, a pipe or /dev/stdin included. */
export async function readNamedFile(path: string): Promise<string> {
  return fs.readFileSync(path, 'utf8')
}

/**
 * Appends `text` to a file in one write (O_APPEND: lines from concurrent writers never interleave),
 * creating it with `mode`. Like the reads: never through a final symlink, never blocking on a FIFO
 * (ENXIO when no one reads it), and only into a regular file.
 */
export function appendToFileSync(path: string, text: string, mode: number): void {
  const {fd} = openChecked(path, SAFE_APPEND_FLAGS, mode)
  try {
    fs.writeSync(fd, text)
  } finally {
    fs.closeSync(fd)
  }
}

export function readdir(path: string): Promise<string[]>
export function readdir(path: string, options: {withFileTypes: true}): Promise<Dirent[]>
export async function readdir(path: string, options?: {withFileTypes: true}): Promise<Dirent[] | string[]> {
  return options ? fs.readdirSync(path, options) : fs.readdirSync(path)
}

/** The names in a folder; none when it is missing or cannot be read (callers that must tell use readdir). */
export async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return fs.readdirSync(path)
  } catch {
    return []
  }
}

export async function stat(path: string): Promise<Stats> {
  return fs.statSync(path)
}

export async function lstat(path: string): Promise<Stats> {
  return fs.lstatSync(path)
}

export async function readlink(path: string): Promise<string> {
  return fs.readlinkSync(path)
}

export async function realpath(path: string): Promise<string> {
  return fs.realpathSync.native(path)
}

export async function access(path: string, mode?: number): Promise<void> {
  fs.accessSync(path, mode)
}

export async function unlink(path: string): Promise<void> {
  fs.unlinkSync(path)
}

export async function mkdir(path: string, options?: MakeDirectoryOptions | Mode): Promise<string | undefined> {
  return fs.mkdirSync(path, options)
}

export async function rename(from: string, to: string): Promise<void> {
  fs.renameSync(from, to)
}

export async function link(existing: string, created: string): Promise<void> {
  fs.linkSync(existing, created)
}

export async function symlink(target: string, path: string): Promise<void> {
  fs.symlinkSync(target, path)
}

export async function writeFile(path: string, data: string | Uint8Array, options?: fs.WriteFileOptions): Promise<void> {
  fs.writeFileSync(path, data, options)
}
