// The service behind `quota classify`: validate --now/--tz, read one capture (a file, or stdin),
// and, when given, the session's transcript and its newest hook record; classify them the way
// `quota check` does (records first). The operator's "why did (or didn't) this pane swap?".
import {fail, fsFailure} from '../errors.js'
import {readNamedFile} from '../fs.js'
import {parseJsonLines} from '../tail.js'
import {classifyPane} from './classify.js'
import {isValidTimeZone} from './reset-time.js'
import {type CombinedClassification, combineSignals, type HookSignal, type TranscriptRecord} from './signals.js'

export interface ClassifyCaptureOptions {
  /** Path of the capture; undefined or `-` reads stdin. */
  file?: string
  /** The capture moment, ISO-8601 with a zone; default: deps.now(). */
  now?: string
  /** IANA zone of the claude process; default: this process's zone. */
  tz?: string
  /** The session's transcript (JSONL): its last records decide before the pane. */
  transcript?: string
  /** One hook record (JSON): a hook's stdin payload, or a line of the state dir's signal records. */
  hook?: string
}

export interface ClassifyCaptureDeps {
  now: () => Date
  readFile: (path: string) => Promise<string>
  readStdin: () => Promise<string>
  /** A terminal on stdin means nothing was piped in: say so instead of waiting. */
  stdinIsTTY: boolean
}

export interface ClassifyCaptureResult {
  classification: CombinedClassification
  /** The capture moment used. */
  now: Date
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i

/** Reads one pane capture and classifies it at the given moment and zone. */
export async function classifyCapture(options: ClassifyCaptureOptions, deps: ClassifyCaptureDeps): Promise<ClassifyCaptureResult> {
  const now = options.now === undefined ? deps.now() : parseNow(options.now)
  if (options.tz !== undefined && !isValidTimeZone(options.tz)) {
    throw fail('usage', `--tz: unknown time zone '${cut(options.tz)}' (example: --tz Europe/Paris)`)
  }

  const classifyOptions = options.tz === undefined ? {now} : {now, timeZone: options.tz}
  const transcript = options.transcript === undefined ? undefined : readTranscript(await readInput(options.transcript, 'transcript', deps))
  const hook = options.hook === undefined ? undefined : readHook(await readInput(options.hook, 'hook', deps), options.hook)
  const text = await readCapture(options.file, deps)
  const pane = classifyPane(text, classifyOptions)
  return {classification: combineSignals({pane, ...(hook ? {hook} : {}), ...(transcript ? {transcript} : {})}, classifyOptions), now}
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function readTranscript(text: string): TranscriptRecord[] {
  return parseJsonLines(text.split('\n').slice(-40).join('\n'), isObject) as TranscriptRecord[]
}

// A hook's own payload names its event `hook_event_name`; the records `hook` writes name it `event`.
function readHook(text: string, path: string): HookSignal {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = null
  }

  const event = isObject(value) ? (value.event ?? value.hook_event_name) : undefined
  if (!isObject(value) || typeof event !== 'string') {
    throw fail('usage', `--hook ${path}: not one JSON hook record with an event (example: {"hook_event_name":"StopFailure","error":"rate_limit","last_assistant_message":"…"})`)
  }

  return {...(value as unknown as HookSignal), event}
}

async function readInput(path: string, name: string, deps: ClassifyCaptureDeps): Promise<string> {
  try {
    return await deps.readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EISDIR') throw fail('usage', `cannot read --${name} ${path}: ${code === 'ENOENT' ? 'no such file' : 'is a directory'} (example: --${name} ~/.claude/projects/-home-ops-app/<session>.jsonl)`)
    throw fsFailure(`read ${name}`, path, error)
  }
}

/** Parses --now: an ISO-8601 instant with its zone, so the same capture always reads the same. */
export function parseNow(value: string): Date {
  const time = ISO_INSTANT.test(value.trim()) ? Date.parse(value.trim().replace(' ', 'T')) : Number.NaN
  if (Number.isNaN(time)) throw fail('usage', `--now: not an ISO-8601 instant with a zone: '${cut(value)}' (example: --now 2026-03-08T14:30:00Z)`)
  return new Date(time)
}

async function readCapture(file: string | undefined, deps: ClassifyCaptureDeps): Promise<string> {
  if (file !== undefined && file !== '-') {
    try {
      return await deps.readFile(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EISDIR') throw fail('usage', `cannot read capture ${file}: ${code === 'ENOENT' ? 'no such file' : 'is a directory'} (example: tmux capture-pane -p -J -t ccl-auto-11 > pane.txt)`)
      throw fsFailure('read capture', file, error)
    }
  }

  if (deps.stdinIsTTY) throw fail('usage', 'no capture: give a FILE or pipe one on stdin (example: tmux capture-pane -p -J -t ccl-auto-11 | claude-failover quota classify)')
  return deps.readStdin()
}

function cut(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

/** Production dependencies: the clock, the filesystem, this process's stdin. */
export function defaultClassifyDeps(readStdin: () => Promise<string>): ClassifyCaptureDeps {
  return {now: () => new Date(), readFile: readNamedFile, readStdin, stdinIsTTY: process.stdin.isTTY === true}
}
