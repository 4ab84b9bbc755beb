// File-system calls for a one-shot command. node:fs/promises sends every call through libuv's
// thread pool: reading one small file is four round trips (open, fstat, read, close), each a futex
// and an eventfd wake-up, and they cost more CPU than the reads themselves (reconcile over 20
// working sessions: ~1,300 context switches and a fifth of its CPU). A timer run does its file work
// one step after another anyway, so these make the same calls synchronously behind the same
// promise interface (a failure is a rejected promise, as before). Writes that must be durable keep
// FileHandle and fsync: see fs-atomic.ts.
import * as fs from 'node:fs'
import type {Dirent, MakeDirectoryOptions, Mode, Stats} from 'node:fs'

export function readFile(path: string): Promise<Buffer>
export function readFile(path: string, encoding: BufferEncoding): Promise<string>
export async function readFile(path: string, encoding?: BufferEncoding): Promise<Buffer | string> {
  return fs.readFileSync(path, encoding)
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
