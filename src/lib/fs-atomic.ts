// Durable file primitives. Every state write goes through writeFileAtomic: a reader (or a process
// restarted after SIGKILL or a power cut) sees the old complete file or the new complete file, never
// a torn one, and success is reported only once the rename itself is on disk.
import * as nodeFs from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {fsFailure} from './errors.js'

/** The subset of fs/promises the primitives use; tests pass a copy with one call made to fail. */
export type FsLike = Pick<typeof nodeFs, 'chmod' | 'link' | 'mkdir' | 'open' | 'rename' | 'stat' | 'unlink'>

export const realFs: FsLike = nodeFs

let counter = 0

/** A temporary name beside `path`, unique per process and call, recognisable by the janitor. */
export function tempPathFor(path: string): string {
  counter += 1
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}-${counter}`)
}

/** Pattern of the temporary files tempPathFor makes; the janitor prunes old ones and nothing else. */
export const TEMP_FILE_PATTERN = /^\..+\.tmp-\d+-[0-9a-z]+-\d+$/

/** fsync a folder so that a rename or create inside it survives a crash. */
export async function fsyncDir(dir: string, fs: FsLike = realFs): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Writes `data` to `path` atomically and durably: temp file in the same folder, write, fsync,
 * close, rename over `path`, fsync of the folder. On any failure the temp file is removed and the
 * old file is left untouched; the error says what failed (ENOSPC → exit 74).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: {mode?: number; fs?: FsLike} = {}): Promise<void> {
  const fs = options.fs ?? realFs
  const mode = options.mode ?? 0o600
  const temp = tempPathFor(path)
  let created = false
  try {
    const handle = await fs.open(temp, 'wx', mode)
    created = true
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }

    // The mode given to open() is filtered by the umask; set it explicitly.
    await fs.chmod(temp, mode)
    await fs.rename(temp, path)
    created = false
    await fsyncDir(dirname(path), fs)
  } catch (error) {
    if (created) await fs.unlink(temp).catch(() => {})
    throw fsFailure('write', path, error)
  }
}

/**
 * Creates a file that must not exist yet (O_EXCL), writes and fsyncs it, then fsyncs the folder.
 * Returns false when the file already exists: creating it is the claim, and only one caller wins.
 */
export async function createExclusive(path: string, data: string, options: {mode?: number; fs?: FsLike} = {}): Promise<boolean> {
  const fs = options.fs ?? realFs
  let handle: nodeFs.FileHandle
  try {
    handle = await fs.open(path, 'wx', options.mode ?? 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw fsFailure('create', path, error)
  }

  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (error) {
    await handle.close().catch(() => {})
    await fs.unlink(path).catch(() => {})
    throw fsFailure('write', path, error)
  }

  await handle.close()
  await fsyncDir(dirname(path), fs)
  return true
}

/**
 * Moves `from` to `to` without ever overwriting `to` (link, then unlink), durably. Returns false
 * when `to` exists or `from` is gone (someone else moved it first). A crash between the link and
 * the unlink leaves two names for one inode; recovery recognises that by the inode number.
 */
export async function renameNoReplace(from: string, to: string, fs: FsLike = realFs): Promise<boolean> {
  try {
    await fs.link(from, to)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOENT') return false
    throw fsFailure('move', `${from} to ${to}`, error)
  }

  try {
    await fs.unlink(from)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsFailure('move', `${from} to ${to}`, error)
  }

  await fsyncDir(dirname(to), fs)
  if (dirname(from) !== dirname(to)) await fsyncDir(dirname(from), fs)
  return true
}

/** True when something (a file, a folder, a link, even a dangling one) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await nodeFs.lstat(path)
    return true
  } catch {
    return false
  }
}

/** Creates `dir` (and parents) and makes it 0700: state is the operator's alone. */
export async function ensurePrivateDir(dir: string, fs: FsLike = realFs): Promise<void> {
  try {
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    const info = await fs.stat(dir)
    if ((info.mode & 0o777) !== 0o700) await fs.chmod(dir, 0o700)
  } catch (error) {
    throw fsFailure('create the folder', dir, error)
  }
}
