// `checkpoint` (SPEC §6): per working session, what is needed to resume it elsewhere (account,
// task, working directory, conversation id, transcript path, the last tool call, time), one atomic
// file per session and run: `state_dir/checkpoints/<session>-<UTC stamp>.json` (0600). The stamp
// sorts as text, so a session's latest checkpoint is the greatest name with its prefix; the swap
// asks latestCheckpoint() for a session whose conversation id it does not know.
//
// It takes no lock: it changes nothing shared (each run writes new files under unique names, by
// temp file + rename, so a reader never sees half a checkpoint), and the swap calls it while
// holding the lock itself.
import {join} from 'node:path'

import type {Config} from '../config.js'
import type {Logger} from '../log.js'
import type {State} from '../state.js'
import type {Tmux} from '../tmux.js'

import {type Claim, listDispatched} from '../dispatch/claims.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {mkdir, readdirOrEmpty, readFile} from '../fs.js'
import {readStateSnapshot} from '../lock.js'
import {isShell} from '../pane.js'
import {dedicatedSessionNames, poolSessionNames} from '../pool.js'
import {discoverProjects} from '../queue/layout.js'
import {isConversationId, readSignals, type SignalRecord} from '../signals.js'
import {deriveTranscriptPath, lastToolCall, newestTranscript, readTail, type ToolCall} from './transcript.js'

export const CHECKPOINT_DIR = 'checkpoints'
const NAME = /^([A-Za-z0-9_-]+)-(\d{8}T\d{9}Z)\.json$/

export interface Checkpoint {
  version: 1
  session: string
  kind: 'pool' | 'dedicated'
  at: string
  account: string | null
  /** `project/task_id` of a pool session's task; null for a dedicated session. */
  task: string | null
  /** The pane's working directory (`#{pane_current_path}`). */
  cwd: string | null
  conversation_id: string | null
  /** Where the conversation id came from: the task's claim, a hook record, or the newest transcript of the cwd. */
  conversation_source: 'claim' | 'hook' | 'transcript' | null
  transcript_path: string | null
  transcript_bytes: number | null
  last_tool_call: ToolCall | null
}

export interface CheckpointDeps {
  tmux: Pick<Tmux, 'survey'>
  now: () => Date
  log: Logger
}

export interface CheckpointResult {
  checkpoints: (Checkpoint & {file: string | null})[]
  dry_run: boolean
  warnings: string[]
}

/** `20260503T170000123Z`: sortable as text, safe in a file name. */
export function checkpointStamp(at: Date): string {
  return at.toISOString().replaceAll(/[-:.]/g, '')
}

/** The folder of checkpoint files. */
export function checkpointDir(config: Config): string {
  return join(config.stateDir, CHECKPOINT_DIR)
}

/** Parses a checkpoint file name into its session and time; undefined for any other file. */
export function parseCheckpointName(name: string): {session: string; at: number} | undefined {
  const match = NAME.exec(name)
  if (!match) return undefined
  const s = match[2] as string
  const at = Date.parse(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`)
  return Number.isNaN(at) ? undefined : {at, session: match[1] as string}
}

/** The newest readable checkpoint of a session, or undefined. Read-only; for the swap. */
export async function latestCheckpoint(config: Config, session: string): Promise<Checkpoint | undefined> {
  const mine = (await readdirOrEmpty(checkpointDir(config))).filter((name) => parseCheckpointName(name)?.session === session).sort().reverse()
  for (const name of mine) {
    try {
      const value = JSON.parse(await readFile(join(checkpointDir(config), name), 'utf8')) as Checkpoint
      if (value && value.version === 1 && value.session === session) return value
    } catch {
      // Unreadable (a hand-edited file): try the one before.
    }
  }

  return undefined
}

interface Target {
  session: string
  kind: 'pool' | 'dedicated'
  cwd: string
  claim: Claim | undefined
  record: State['sessions'][string] | undefined
}

/** Checkpoints every working session; with dryRun, builds them without writing. */
export async function checkpointSessions(config: Config, options: {dryRun?: boolean}, deps: CheckpointDeps): Promise<CheckpointResult> {
  const now = deps.now()
  const [{state, warnings}, survey, {projects, warnings: projectWarnings}] = await Promise.all([readStateSnapshot(config), deps.tmux.survey(), discoverProjects(config)])
  const result: CheckpointResult = {checkpoints: [], dry_run: options.dryRun === true, warnings: [...warnings, ...projectWarnings]}
  if (!survey.running) {
    result.warnings.push('no tmux server is running: no session to checkpoint')
    return result
  }

  // A pool session works on the task of its newest launched claim; the claim is the truth, the
  // state record only a fallback.
  const claims = new Map<string, Claim>()
  for (const item of await listDispatched(projects)) {
    const c = item.claim
    if (!c?.launched_at) continue
    const current = claims.get(c.session)
    if (!current || c.claimed_at > current.claimed_at) claims.set(c.session, c)
  }

  const pool = new Set(poolSessionNames(config))
  const dedicated = new Set(dedicatedSessionNames(config))
  const targets: Target[] = []
  for (const info of survey.sessions) {
    if (info.paneDead || isShell(info.currentCommand)) continue
    const kind = pool.has(info.name) ? 'pool' : dedicated.has(info.name) ? 'dedicated' : undefined
    if (!kind) continue
    const claim = kind === 'pool' ? claims.get(info.name) : undefined
    const record = state.sessions[info.name]
    if (kind === 'pool' && !claim && !(record?.task && record.state !== 'idle')) continue
    targets.push({claim, cwd: info.currentPath, kind, record, session: info.name})
  }

  const cwdCount = new Map<string, number>()
  for (const t of targets) cwdCount.set(t.cwd, (cwdCount.get(t.cwd) ?? 0) + 1)

  for (const target of targets) {
    const signals = await readSignals(config.stateDir, target.session, 200)
    const checkpoint = await buildCheckpoint(config, state, target, signals, {now, sharedCwd: (cwdCount.get(target.cwd) ?? 0) > 1})
    let file: string | null = null
    if (!options.dryRun) {
      await mkdir(checkpointDir(config), {mode: 0o700, recursive: true})
      file = join(checkpointDir(config), `${target.session}-${checkpointStamp(now)}.json`)
      await writeFileAtomic(file, `${JSON.stringify(checkpoint, null, 2)}\n`, {mode: 0o600})
    }

    result.checkpoints.push({...checkpoint, file})
  }

  return result
}

async function buildCheckpoint(config: Config, state: State, t: Target, signals: SignalRecord[], ctx: {now: Date; sharedCwd: boolean}): Promise<Checkpoint> {
  const accountName = t.claim?.account ?? t.record?.account ?? state.active_account ?? config.accounts[0]?.name ?? null
  const home = config.accounts.find((a) => a.name === accountName)?.home
  let conversationId: string | null = null
  let source: Checkpoint['conversation_source'] = null
  let transcriptPath: string | null = null

  const lastStart = signals.findLast((s) => s.event === 'SessionStart' && isConversationId(s.conversation_id))
  if (t.claim) {
    conversationId = t.claim.conversation_id
    source = 'claim'
  } else if (lastStart?.conversation_id) {
    conversationId = lastStart.conversation_id
    source = 'hook'
  } else if (isConversationId(t.record?.conversation_id)) {
    conversationId = t.record.conversation_id
    source = 'hook'
  } else if (home && !ctx.sharedCwd) {
    // No hook ever told us: the newest transcript of the pane's folder, unless another live session
    // works in the same folder (then the guess could hand one session's conversation to another).
    const newest = await newestTranscript(home, t.cwd)
    if (newest) {
      conversationId = newest.conversationId
      source = 'transcript'
      transcriptPath = newest.path
    }
  }

  if (conversationId && !transcriptPath) {
    const recorded = signals.findLast((s) => s.conversation_id === conversationId && s.transcript_path?.startsWith('/'))?.transcript_path
    transcriptPath = recorded ?? (home ? deriveTranscriptPath(home, t.claim?.cwd ?? t.cwd, conversationId) : null)
  }

  const tail = transcriptPath ? await readTail(transcriptPath) : undefined
  return {
    account: accountName,
    at: ctx.now.toISOString(),
    conversation_id: conversationId,
    conversation_source: source,
    cwd: t.cwd || null,
    kind: t.kind,
    last_tool_call: tail ? lastToolCall(tail.text) : null,
    session: t.session,
    task: t.claim ? `${t.claim.project}/${t.claim.task}` : t.kind === 'pool' ? (t.record?.task ?? null) : null,
    transcript_bytes: tail?.size ?? null,
    transcript_path: transcriptPath,
    version: 1,
  }
}
