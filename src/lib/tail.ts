// Reading the end of an append-only file (events.jsonl, signals, transcripts that grow to many
// megabytes) without reading the whole of it. Node built-ins only: the hook handler imports this.
// Synchronous calls behind a promise, like lib/fs.ts: three thread-pool round trips per file were
// most of what reading 20 transcripts cost a timer run.
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

/** The last `bytes` of a file, from the start of a whole line; undefined when it cannot be read. */
export async function readTail(path: string, bytes: number): Promise<{text: string; size: number; mtimeMs: number} | undefined> {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }

  try {
    const info = fstatSync(fd)
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
