// state.json: the small cache of what cannot be seen in the folders or in tmux (active account,
// exhausted-until times, suspected-hit counters, last swap, the swap journal). Validated on every
// read; a corrupt file is moved aside and rebuilt loudly, never silently reset (reliability P12).
import {join, resolve} from 'node:path'

import type {Config} from './config.js'

import {fsFailure} from './errors.js'
import {ensurePrivateDir, writeFileAtomic} from './fs-atomic.js'
import {readdirOrEmpty, readFile, readlink, rename} from './fs.js'
import {type Checked, integer, isoTime, literal, nullable, object, oneOf, optional, parseShape, record, string, unknown, withDefault} from './shape.js'

export const STATE_VERSION = 1

const nullableTime = withDefault(nullable(isoTime), () => null)
const nullableString = withDefault(nullable(string), () => null)

const accountStateSchema = object({
  exhausted_until: nullableTime,
  last_hit: withDefault(nullable(object({at: isoTime, session: string, pattern: string, snippet: string, reset_at: nullable(isoTime)})), () => null),
  /**
   * The limit policy chose to let Claude Code's own wait run on this (active) account: until the
   * reset, no swap and no new limit event for the same limit (absent: not waiting).
   */
  waiting: optional(object({since: isoTime, until: nullable(isoTime), reason: string, session: string, pattern: string, scope: nullable(string)})),
})

export const SESSION_STATES = ['idle', 'starting', 'working', 'awaiting_input', 'stalled', 'dead'] as const

const sessionStateSchema = object({
  state: oneOf(SESSION_STATES),
  task: nullableString,
  account: nullableString,
  conversation_id: nullableString,
  since: isoTime,
  /** reconcile's stall watch: a hash of the pane's text and when progress was last seen (optional, a cache). */
  watch: optional(object({conversation_id: string, pane_hash: string, progress_at: isoTime, stalled_at: nullableTime})),
})

/** Verdicts that leave a session waiting for what no tick will give it: a human must act. */
export const STUCK_VERDICTS = ['awaiting_input', 'auth_error'] as const

const stuckSchema = object({
  verdict: oneOf(STUCK_VERDICTS),
  /** When quota check first saw it so. */
  since: isoTime,
  account: nullableString,
  pattern: string,
  snippet: string,
})

/** An account whose login the pool saw fail (issue 16 item 4): never a swap target until cleared. */
const loginMarkSchema = object({
  /** When quota check marked it. */
  since: isoTime,
  /** When the failing record was written (or first seen, for a pane-only sighting). */
  evidence_at: isoTime,
  session: nullableString,
  /** The witness that decided: `hook` (StopFailure authentication_failed), `transcript` or `pane`. */
  source: string,
  pattern: string,
  snippet: string,
})

const loginStateSchema = object({
  required: withDefault(nullable(loginMarkSchema), () => null),
  /** The last clear: evidence older than this never marks the account again. */
  cleared_at: nullableTime,
})

export const stateSchema = object({
  version: literal(STATE_VERSION),
  generation: integer(0),
  updated_at: nullableTime,
  active_account: nullableString,
  accounts: withDefault(record(accountStateSchema), () => ({})),
  last_swap: withDefault(nullable(object({at: isoTime, from: nullable(string), to: string})), () => null),
  suspect: withDefault(record(object({count: integer(0), first_at: isoTime, last_at: isoTime, pattern: string})), () => ({})),
  sessions: withDefault(record(sessionStateSchema), () => ({})),
  dispatch_paused_until: nullableTime,
  notified: withDefault(record(object({at: isoTime, message: optional(string)})), () => ({})),
  swap_journal: withDefault(unknown, () => null),
  /** Sessions the last quota check saw waiting for input or without a login (absent: none). */
  stuck: optional(record(stuckSchema)),
  /** Per account: a login the pool saw fail, and when the last one was cleared (absent: none ever). */
  logins: optional(record(loginStateSchema)),
})

export type State = Checked<typeof stateSchema>
export type AccountState = Checked<typeof accountStateSchema>
export type SessionRecord = Checked<typeof sessionStateSchema>
export type StuckSession = Checked<typeof stuckSchema>
export type LoginMark = Checked<typeof loginMarkSchema>
export type LoginState = Checked<typeof loginStateSchema>

export const STATE_FILE = 'state.json'
export const FENCE_DIR = 'fence'

/** The state file's path inside the state folder. */
export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE)
}

/** A fresh state: the active account is read from `active_link` when it points at an account home. */
export async function freshState(config: Config, generation: number): Promise<State> {
  return {
    version: STATE_VERSION,
    generation,
    updated_at: null,
    active_account: await activeAccountFromLink(config),
    accounts: {},
    last_swap: null,
    suspect: {},
    sessions: {},
    dispatch_paused_until: null,
    notified: {},
    swap_journal: null,
  }
}

async function activeAccountFromLink(config: Config): Promise<string | null> {
  if (config.activeLink) {
    try {
      const target = resolve(join(config.activeLink, '..'), await readlink(config.activeLink))
      const match = config.accounts.find((account) => resolve(account.home) === target)
      if (match) return match.name
    } catch {
      // No link yet, or not a link: fall back to the first account.
    }
  }

  return config.accounts[0]?.name ?? null
}

/** The highest generation ever committed, from the fence markers (survives a lost state file). */
export async function highestFence(stateDir: string): Promise<number> {
  let highest = 0
  for (const name of await readdirOrEmpty(join(stateDir, FENCE_DIR))) {
    if (/^\d+$/.test(name)) highest = Math.max(highest, Number(name))
  }

  return highest
}

export type StateRead =
  | {kind: 'ok'; state: State}
  | {kind: 'missing'}
  | {kind: 'corrupt'; reason: string}

/** Reads and validates state.json without changing anything on disk. */
export async function readStateFile(stateDir: string): Promise<StateRead> {
  let text: string
  try {
    text = await readFile(statePath(stateDir), 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return {kind: 'missing'}
    return {kind: 'corrupt', reason: `unreadable (${code ?? (error as Error).message})`}
  }

  return parseStateText(text)
}

/** Parses state text; every way it can be wrong becomes a reason, never a throw. */
export function parseStateText(text: string): StateRead {
  if (text.trim() === '') return {kind: 'corrupt', reason: 'empty file'}
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return {kind: 'corrupt', reason: `not JSON (${(error as Error).message})`}
  }

  const result = parseShape(stateSchema, data)
  if (!result.ok) return {kind: 'corrupt', reason: `does not match the schema at ${result.path || 'document'}: ${result.message}`}
  // Accounts the config no longer lists are harmless; keep them so nothing is lost.
  return {kind: 'ok', state: result.value}
}

/** Moves a corrupt state file aside as `state.json.corrupt-<time>` and returns the new path. */
export async function quarantineState(stateDir: string, now: Date): Promise<string> {
  const target = `${statePath(stateDir)}.corrupt-${now.toISOString().replaceAll(':', '-')}`
  try {
    await rename(statePath(stateDir), target)
  } catch (error) {
    throw fsFailure('move the corrupt state file aside to', target, error)
  }

  return target
}

/** Serializes the state the way it is stored: stable key order, trailing newline. */
export function serializeState(state: State): string {
  return `${JSON.stringify(state, null, 2)}\n`
}

/** Writes state.json atomically (0600 in a 0700 folder). Only the lock module calls this. */
export async function writeStateFile(stateDir: string, state: State): Promise<void> {
  await ensurePrivateDir(stateDir)
  await writeFileAtomic(statePath(stateDir), serializeState(state), {mode: 0o600})
}
