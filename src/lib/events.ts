// events.jsonl: the audit trail. One JSON object per line, appended with O_APPEND so that lines
// from concurrent commands never interleave (each line is kept under PIPE_BUF, 4096 bytes).
import {join} from 'node:path'

import {ensurePrivateDir} from './fs-atomic.js'
import {appendToFileSync} from './fs.js'
import {parseJsonLines, readTail} from './tail.js'

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
  appendToFileSync(eventsPath(stateDir), `${line}\n`, 0o600)

  return record
}

/** The last `count` events, newest last; unreadable lines are skipped. Reads only the file's tail. */
export async function readRecentEvents(stateDir: string, count: number): Promise<EventRecord[]> {
  // slice(-0) is the whole list: none asked for is none read.
  if (count <= 0) return []
  const tail = await readTail(eventsPath(stateDir), 64 * 1024)
  if (!tail) return []
  const isEvent = (value: unknown): value is EventRecord => typeof value === 'object' && value !== null && typeof (value as EventRecord).event === 'string'
  return parseJsonLines(tail.text, isEvent).slice(-count)
}
