// Counters from the audit trail (events.jsonl): swaps by reason, failed swaps, and the time from a
// limit to the swap that resumed the pool. The log is read incrementally: a small state file
// (`state_dir/metrics-state.json`) keeps the byte offset reached and the counts so far, so a run
// reads only what was appended since the last one and the counters never go down while the log is
// rotated by the janitor (the rest of the rotated file is read from `events.jsonl.1`).
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'

import type {EventRecord} from '../events.js'

import {eventsPath} from '../events.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {readFile} from '../fs.js'
import {readSignals} from '../signals.js'

export const METRICS_STATE_FILE = 'metrics-state.json'
/** A limit is looked for in the trigger session's hook records this long before it was marked. */
const LIMIT_LOOKBACK_MS = 3_600_000

export interface EventCounts {
  /** The log file read so far (its inode) and the byte offset reached in it. */
  ino: number
  offset: number
  swaps: Record<string, number>
  swap_failures: Record<string, number>
  limit_to_resume: {sum: number; count: number; last: number | null; last_at: string | null}
  /** account → when it was marked exhausted and by which session, until the swap away from it. */
  pending: Record<string, {ts: string; session: string}>
}

export interface MetricsState {
  version: 1
  events: EventCounts
  /** The last tick's duration and end, written by the tick. */
  tick: {at: string; seconds: number} | null
}

export function emptyCounts(): EventCounts {
  return {ino: 0, limit_to_resume: {count: 0, last: null, last_at: null, sum: 0}, offset: 0, pending: {}, swap_failures: {}, swaps: {}}
}

/** Reads the metrics state; a missing or foreign file starts from nothing (the counters reset once). */
export async function readMetricsState(stateDir: string): Promise<MetricsState> {
  try {
    const data = JSON.parse(await readFile(join(stateDir, METRICS_STATE_FILE), 'utf8')) as Partial<MetricsState>
    const e = data.events
    if (data.version === 1 && e && typeof e.ino === 'number' && typeof e.offset === 'number' && e.swaps && e.swap_failures && e.limit_to_resume && e.pending) {
      return {events: e, tick: data.tick ?? null, version: 1}
    }
  } catch {}

  return {events: emptyCounts(), tick: null, version: 1}
}

/**
 * Writes the metrics state (temp + rename, 0600). Two runs at once (the tick and an operator's
 * `metrics`) each write an offset with the counts read up to it: the last rename wins and the next
 * run goes on from there, so a count is never lost or doubled, only read again.
 */
export async function writeMetricsState(stateDir: string, state: MetricsState): Promise<void> {
  await writeFileAtomic(join(stateDir, METRICS_STATE_FILE), `${JSON.stringify(state)}\n`, {mode: 0o600})
}

/** A swap's reason as a label with few values: `limit`, `proactive`, `operator`, or its first word. */
export function swapReasonLabel(reason: unknown): string {
  if (typeof reason !== 'string') return 'unknown'
  if (reason.startsWith('quota')) return / usage_/.test(reason) ? 'proactive' : 'limit'
  const word = /^[a-z_]+/i.exec(reason)?.[0]?.toLowerCase()
  return word ? word.slice(0, 32) : 'other'
}

/** Complete lines from `start` in an open file; returns them and the offset after the last newline. */
function readLinesFrom(fd: number, start: number, size: number): {lines: string[]; end: number} {
  if (size <= start) return {end: start, lines: []}
  const buffer = Buffer.alloc(size - start)
  let read = 0
  while (read < buffer.length) {
    const n = readSync(fd, buffer, read, buffer.length - read, start + read)
    if (n === 0) break
    read += n
  }

  const last = buffer.subarray(0, read).lastIndexOf(0x0a)
  if (last < 0) return {end: start, lines: []}
  return {end: start + last + 1, lines: buffer.subarray(0, last).toString('utf8').split('\n')}
}

function openInfo(path: string): {fd: number; ino: number; size: number} | undefined {
  try {
    const fd = openSync(path, 'r')
    const info = fstatSync(fd)
    return {fd, ino: info.ino, size: info.size}
  } catch {
    return undefined
  }
}

/** When the limit behind a swap was hit: the trigger session's last rate-limit StopFailure before it was marked. */
async function limitMoment(stateDir: string, pending: {ts: string; session: string}): Promise<number> {
  const marked = Date.parse(pending.ts)
  const records = await readSignals(stateDir, pending.session, 200).catch(() => [])
  const hit = records.filter((r) => r.event === 'StopFailure' && r.error === 'rate_limit' && Date.parse(r.ts) <= marked && Date.parse(r.ts) >= marked - LIMIT_LOOKBACK_MS).at(-1)
  return hit ? Date.parse(hit.ts) : marked
}

async function count(counts: EventCounts, line: string, stateDir: string): Promise<void> {
  let event: EventRecord
  try {
    event = JSON.parse(line) as EventRecord
  } catch {
    return
  }

  if (!event || typeof event.event !== 'string' || typeof event.ts !== 'string') return
  if (event.event === 'account_exhausted' && typeof event.account === 'string') {
    counts.pending[event.account] = {session: typeof event.session === 'string' ? event.session : '', ts: event.ts}
  } else if (event.event === 'swap_failed') {
    const label = swapReasonLabel(event.reason)
    counts.swap_failures[label] = (counts.swap_failures[label] ?? 0) + 1
  } else if (event.event === 'swap') {
    const label = swapReasonLabel(event.reason)
    counts.swaps[label] = (counts.swaps[label] ?? 0) + 1
    const from = typeof event.from === 'string' ? event.from : undefined
    const pending = from ? counts.pending[from] : undefined
    if (from && pending && (label === 'limit' || label === 'proactive')) {
      const seconds = Math.max(0, (Date.parse(event.ts) - (await limitMoment(stateDir, pending))) / 1000)
      counts.limit_to_resume = {count: counts.limit_to_resume.count + 1, last: seconds, last_at: event.ts, sum: counts.limit_to_resume.sum + seconds}
    }

    if (from) delete counts.pending[from]
  }
}

/** The counts brought up to the end of the log (a new object; `previous` is not changed). */
export async function advanceCounts(stateDir: string, previous: EventCounts): Promise<EventCounts> {
  const counts: EventCounts = structuredClone(previous)
  const path = eventsPath(stateDir)
  const current = openInfo(path)
  const chunks: string[][] = []
  try {
    if (current && current.ino === counts.ino && current.size >= counts.offset) {
      const {end, lines} = readLinesFrom(current.fd, counts.offset, current.size)
      chunks.push(lines)
      counts.offset = end
    } else {
      // Rotated (or first run): the rest of the file we were reading is `events.jsonl.1` now.
      const rotated = counts.ino !== 0 ? openInfo(`${path}.1`) : undefined
      if (rotated) {
        try {
          if (rotated.ino === counts.ino && rotated.size >= counts.offset) chunks.push(readLinesFrom(rotated.fd, counts.offset, rotated.size).lines)
        } finally {
          closeSync(rotated.fd)
        }
      }

      if (current) {
        const {end, lines} = readLinesFrom(current.fd, 0, current.size)
        chunks.push(lines)
        counts.ino = current.ino
        counts.offset = end
      } else {
        counts.ino = 0
        counts.offset = 0
      }
    }
  } finally {
    if (current) closeSync(current.fd)
  }

  for (const lines of chunks) for (const line of lines) if (line.trim() !== '') await count(counts, line, stateDir)
  return counts
}
