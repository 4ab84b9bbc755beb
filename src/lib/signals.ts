// Hook records: what Claude Code told us through its hooks (SPEC §6), one JSON line per event in
// `state_dir/signals/<session>.jsonl`, appended with O_APPEND (one write per line, so concurrent
// hooks never interleave). Only node built-ins here: the hook handler must start in milliseconds.
import {join} from 'node:path'

import {appendToFileSync, mkdir} from './fs.js'
import {parseJsonLines, readTail} from './tail.js'

export const SIGNALS_DIR = 'signals'
const SESSION_NAME = /^[A-Za-z0-9_-]+$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_TEXT = 2000

export interface SignalRecord {
  ts: string
  session: string
  event: string
  task: string | null
  conversation_id: string | null
  transcript_path: string | null
  cwd: string | null
  config_dir: string | null
  source?: string
  error?: string
  error_details?: string
  last_assistant_message?: string
  /** Set when the hook's input was not the JSON Claude Code sends. */
  malformed?: string
}

/** True for a valid conversation id (a UUID); anything else is never resumed. */
export function isConversationId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/** True for a name that may be a session's (and a file name under signals/): letters, digits, _ and -. */
export function isSessionName(value: unknown): value is string {
  return typeof value === 'string' && SESSION_NAME.test(value)
}

/**
 * The signals file of one session. The name is checked here, where it becomes a path, whoever
 * passes it: a claim once named `../../victim/ff` and made dispatch read a file outside the state
 * folder.
 */
export function signalsPath(stateDir: string, session: string): string {
  if (!isSessionName(session)) throw new Error(`invalid session name ${JSON.stringify(String(session).slice(0, 60))} (letters, digits, _ and - only)`)
  return join(stateDir, SIGNALS_DIR, `${session}.jsonl`)
}

const text = (value: unknown, max = 500): string | undefined => (typeof value === 'string' ? value.slice(0, max) : undefined)

/** Builds the record for one hook invocation from its stdin text and environment. Never throws. */
export function signalFromHook(input: string, env: NodeJS.ProcessEnv, now: Date): SignalRecord | undefined {
  const session = env.CLAUDE_FAILOVER_SESSION
  if (!isSessionName(session)) return undefined
  let data: Record<string, unknown> = {}
  let malformed: string | undefined
  try {
    const parsed = JSON.parse(input) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>
    else malformed = 'not a JSON object'
  } catch {
    malformed = `not JSON: ${JSON.stringify(input.slice(0, 80))}`
  }

  const record: SignalRecord = {
    config_dir: text(env.CLAUDE_CONFIG_DIR) ?? null,
    conversation_id: isConversationId(data.session_id) ? data.session_id : null,
    cwd: text(data.cwd) ?? null,
    event: text(data.hook_event_name, 40) ?? 'unknown',
    session,
    task: text(env.CLAUDE_FAILOVER_TASK, 300) ?? null,
    transcript_path: text(data.transcript_path, 1000) ?? null,
    ts: now.toISOString(),
  }
  const source = text(data.source, 40)
  if (source) record.source = source
  const error = text(data.error, 60)
  if (error) record.error = error
  const details = text(data.error_details)
  if (details) record.error_details = details
  const message = text(data.last_assistant_message, MAX_TEXT)
  if (message !== undefined) record.last_assistant_message = message
  if (malformed) record.malformed = malformed
  return record
}

/** Appends one record to its session's signals file (0600 in a 0700 folder). */
export async function appendSignal(stateDir: string, record: SignalRecord): Promise<void> {
  // Not recursive: a hook firing after the state folder was removed (a test sandbox, an uninstall)
  // must not bring it back.
  await mkdir(join(stateDir, SIGNALS_DIR), {mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error
  })
  appendToFileSync(signalsPath(stateDir, record.session), `${JSON.stringify(record)}\n`, 0o600)
}

/**
 * readSignals for one pass over many tasks: each session's records are read once, however many
 * tasks and steps ask (a pass is milliseconds; a record appended meanwhile is seen next pass).
 */
export function signalReader(stateDir: string, count = 500): (session: string) => Promise<SignalRecord[]> {
  const read = new Map<string, Promise<SignalRecord[]>>()
  return (session) => {
    let records = read.get(session)
    if (!records) {
      records = readSignals(stateDir, session, count)
      read.set(session, records)
    }

    return records
  }
}

/** The last `count` records of a session (newest last), reading only the file's tail. */
export async function readSignals(stateDir: string, session: string, count = 50): Promise<SignalRecord[]> {
  if (!isSessionName(session)) return []
  const tail = await readTail(signalsPath(stateDir, session), 256 * 1024)
  if (!tail) return []
  const isRecord = (value: unknown): value is SignalRecord =>
    typeof value === 'object' && value !== null && typeof (value as SignalRecord).event === 'string' && typeof (value as SignalRecord).ts === 'string'
  return parseJsonLines(tail.text, isRecord).slice(-count)
}
