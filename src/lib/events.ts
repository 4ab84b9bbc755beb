// events.jsonl: the audit trail. One JSON object per line, appended with O_APPEND so that lines
// from concurrent commands never interleave (each line is kept under PIPE_BUF, 4096 bytes).
import {open, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {ensurePrivateDir} from './fs-atomic.js'

export const EVENTS_FILE = 'events.jsonl'
const MAX_LINE = 4000
const MAX_FIELD = 400

export interface EventRecord {
  ts: string
  event: string
  [field: string]: unknown
}

/** The path of the audit trail inside the state folder. */
export function eventsPath(stateDir: string): string {
  return join(stateDir, EVENTS_FILE)
}

/** Appends one event line; long string fields are cut so the line stays atomic. */
export async function appendEvent(stateDir: string, event: string, fields: Record<string, unknown>, now: Date): Promise<EventRecord> {
  const record: EventRecord = {ts: now.toISOString(), event}
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    record[key] = typeof value === 'string' && value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}…` : value
  }

  let line = JSON.stringify(record)
  if (line.length > MAX_LINE) line = JSON.stringify({ts: record.ts, event, truncated: true})
  await ensurePrivateDir(stateDir)
  const handle = await open(eventsPath(stateDir), 'a', 0o600)
  try {
    await handle.write(`${line}\n`)
  } finally {
    await handle.close()
  }

  return record
}

/** The last `count` events, newest last; unreadable lines are skipped. Reads only the file's tail. */
export async function readRecentEvents(stateDir: string, count: number): Promise<EventRecord[]> {
  const path = eventsPath(stateDir)
  let text: string
  try {
    const {size} = await stat(path)
    const tail = 64 * 1024
    if (size <= tail) {
      text = await readFile(path, 'utf8')
    } else {
      const handle = await open(path, 'r')
      try {
        const buffer = Buffer.alloc(tail)
        await handle.read(buffer, 0, tail, size - tail)
        text = buffer.toString('utf8')
        text = text.slice(text.indexOf('\n') + 1)
      } finally {
        await handle.close()
      }
    }
  } catch {
    return []
  }

  const events: EventRecord[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const value = JSON.parse(line) as unknown
      if (value && typeof value === 'object' && typeof (value as EventRecord).event === 'string') events.push(value as EventRecord)
    } catch {
      // A torn or hand-edited line: skip it, keep the rest.
    }
  }

  return events.slice(-count)
}
