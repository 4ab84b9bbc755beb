// Reading the end of an append-only file (events.jsonl, signals, transcripts that grow to many
// megabytes) without reading the whole of it. Node built-ins only: the hook handler imports this.
// Synchronous calls behind a promise, like lib/fs.ts: three thread-pool round trips per file were
// most of what reading 20 transcripts cost a timer run. Opened like every other untrusted read
// (openRegularSync): a FIFO, a device or a symlink in its place is not read, and never hangs.
import type {Stats} from 'node:fs'
import {closeSync, readSync} from 'node:fs'

import {openRegularSync} from './fs.js'

/**
 * The last `bytes` of a file, from the start of a whole line; undefined when it cannot be read, or
 * is not a regular file (a FIFO, a device, a symlink: refused without reading).
 */
export async function readTail(path: string, bytes: number): Promise<{text: string; size: number; mtimeMs: number} | undefined> {
  let opened: {fd: number; info: Stats}
  try {
    opened = openRegularSync(path, Number.MAX_SAFE_INTEGER)
  } catch {
    return undefined
  }

  const {fd, info} = opened

  try {
    const length = Math.min(bytes, info.size)
    const buffer = Buffer.alloc(length)
    const bytesRead = readSync(fd, buffer, 0, length, info.size - length)
    let text = buffer.subarray(0, bytesRead).toString('utf8')
    // A read that starts mid-file starts mid-line: drop the partial first line.
    if (info.size > length) text = text.slice(text.indexOf('\n') + 1)
    return {mtimeMs: info.mtimeMs, size: info.size, text}
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** The first `bytes` of a regular file as text (cut anywhere); undefined when it cannot be read or is not a regular file. */
export function readHeadSync(path: string, bytes: number): string | undefined {
  let fd: number
  try {
    fd = openRegularSync(path, Number.MAX_SAFE_INTEGER).fd
  } catch {
    return undefined
  }

  try {
    const buffer = Buffer.allocUnsafe(bytes)
    const bytesRead = readSync(fd, buffer, 0, bytes, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/** The JSON lines of `text` that parse and pass `accept`; torn or foreign lines are skipped. */
export function parseJsonLines<T>(text: string, accept: (value: unknown) => value is T): T[] {
  const out: T[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const value = JSON.parse(line) as unknown
      if (accept(value)) out.push(value)
    } catch {
      // A line being written, or cut by a full disk: skip it.
    }
  }

  return out
}
