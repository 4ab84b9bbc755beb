// Gathering what reconcile (and the janitor) look at: tmux, the queue folders, the hook records,
// the transcripts' mtimes and the state cache, read once into a plain snapshot for the pure planner.
// Read-only: nothing here changes a file or a session.
import {join} from 'node:path'

import type {Config, Project} from '../config.js'
import type {State} from '../state.js'
import type {SessionInfo, Tmux} from '../tmux.js'

import {deriveTranscriptPath} from '../checkpoint/transcript.js'
import {CLAIM_SUFFIX, type DispatchedTask, listDispatched} from '../dispatch/claims.js'
import {pathExists} from '../fs-atomic.js'
import {lstat, readdirOrEmpty, stat} from '../fs.js'
import {isShell} from '../pane.js'
import {dedicatedSessionNames, poolSessionNames} from '../pool.js'
import {queueDir, type QueueState} from '../queue/layout.js'
import {type SignalRecord, signalReader} from '../signals.js'
import {failures, LEDGER_SUFFIX, readLedger} from './ledger.js'
import {type DispatchedView, LAUNCH_GRACE_MS, paneHash, type ReconcileSnapshot, type SessionView, type SidecarView} from './plan.js'

export const REASON_SUFFIX = '.reason'

/** The sessions of a tmux survey as the planner sees them (pane text not read yet). */
export function sessionViews(sessions: readonly SessionInfo[]): Record<string, SessionView> {
  const views: Record<string, SessionView> = {}
  for (const s of sessions) views[s.name] = {atShell: isShell(s.currentCommand), currentPath: s.currentPath, name: s.name, paneDead: s.paneDead, paneHash: null}
  return views
}

async function inode(path: string): Promise<{dev: number; ino: number} | undefined> {
  try {
    const info = await lstat(path)
    return info.isFile() ? {dev: info.dev, ino: info.ino} : undefined
  } catch {
    return undefined
  }
}

/** The names in a folder, read once per pass and shared (a missing folder is empty). */
export type Listing = (dir: string) => Promise<ReadonlySet<string>>

/** A Listing that reads each folder once; a pass that moves files makes a new one afterwards. */
export function folderListing(): Listing {
  const seen = new Map<string, Promise<ReadonlySet<string>>>()
  return (dir) => {
    let names = seen.get(dir)
    if (!names) {
      names = readdirOrEmpty(dir).then((list) => new Set(list))
      seen.set(dir, names)
    }

    return names
  }
}

/**
 * Where else the file of a dispatched task is, by inode: a move cut between link and unlink. With a
 * `listing`, only a folder that holds a file of that name is looked at, so a task with no twin (the
 * usual case) costs no system call.
 */
export async function twinOf(projectPath: string, taskId: string, listing?: Listing): Promise<DispatchedView['twin']> {
  const name = `${taskId}.md`
  const candidates: ('inbox' | 'done' | 'failed')[] = []
  for (const state of ['inbox', 'done', 'failed'] as const) {
    if (!listing || (await listing(queueDir(projectPath, state))).has(name)) candidates.push(state)
  }

  if (candidates.length === 0) return null
  const own = await inode(join(queueDir(projectPath, 'dispatched'), name))
  if (!own) return null
  for (const state of candidates) {
    const other = await inode(join(queueDir(projectPath, state), name))
    if (other && other.ino === own.ino && other.dev === own.dev) return state
  }

  return null
}

/** The folder a task's file is in now (first found), or null. */
export async function taskLocation(projectPath: string, taskId: string): Promise<QueueState | null> {
  for (const state of ['dispatched', 'inbox', 'done', 'failed', 'archive'] as const) {
    if (await pathExists(join(queueDir(projectPath, state), `${taskId}.md`))) return state
  }

  return null
}

/**
 * Sidecars whose task is not beside them: a claim in dispatched/ without its task, an attempts
 * ledger in inbox/ whose task is neither waiting nor dispatched, a reason in failed/ without its task.
 */
export async function orphanSidecars(project: Project): Promise<SidecarView[]> {
  const found: SidecarView[] = []
  const scan: {state: QueueState; suffix: string; kind: SidecarView['kind']; taskAlso: QueueState[]}[] = [
    {kind: 'claim', state: 'dispatched', suffix: CLAIM_SUFFIX, taskAlso: []},
    {kind: 'ledger', state: 'inbox', suffix: LEDGER_SUFFIX, taskAlso: ['dispatched']},
    {kind: 'reason', state: 'failed', suffix: REASON_SUFFIX, taskAlso: []},
  ]
  for (const {kind, state, suffix, taskAlso} of scan) {
    const dir = queueDir(project.path, state)
    const all = await readdirOrEmpty(dir)
    const present = new Set(all)
    for (const name of all) {
      if (name.startsWith('.') || !name.endsWith(`.md${suffix}`)) continue
      const task = name.slice(0, -(suffix.length + 3))
      if (present.has(`${task}.md`)) continue
      let elsewhere = false
      for (const other of taskAlso) if (await pathExists(join(queueDir(project.path, other), `${task}.md`))) elsewhere = true
      if (elsewhere) continue
      const taskIn = await taskLocation(project.path, task)
      let home: string | null = null
      if (kind !== 'reason' && (taskIn === 'done' || taskIn === 'failed' || taskIn === 'archive')) {
        const target = join(queueDir(project.path, taskIn), `${task}.md${suffix}`)
        home = (await pathExists(target)) ? null : target
      }

      found.push({home, kind, path: join(dir, name), project: project.name, task, taskIn})
    }
  }

  return found
}

/** The transcript of a claim's conversation: from its SessionStart record, else derived. */
export function claimTranscriptPath(config: Config, claim: {account: string; cwd: string; conversation_id: string}, signals: readonly SignalRecord[]): string | undefined {
  const start = signals.findLast((s) => s.event === 'SessionStart' && s.conversation_id === claim.conversation_id && s.transcript_path)
  if (start?.transcript_path?.startsWith('/')) return start.transcript_path
  const home = config.accounts.find((a) => a.name === claim.account)?.home
  return home ? deriveTranscriptPath(home, claim.cwd, claim.conversation_id) : undefined
}

export interface GatherInput {
  config: Config
  /** The tasks in dispatched/ with their claims, when the caller has just listed them. */
  items?: DispatchedTask[]
  /** The pass's reader of hook records (see signalReader), when the caller has one. */
  signals?: (session: string) => Promise<SignalRecord[]>
  state: State
  sessions: readonly SessionInfo[]
  projects: Project[]
  tmux: Pick<Tmux, 'capturePanes'>
  now: Date
}

/** Reads everything the planner needs. Read-only. */
export async function gatherSnapshot(input: GatherInput): Promise<ReconcileSnapshot & {items: DispatchedTask[]}> {
  const {config, state} = input
  const sessions = sessionViews(input.sessions)
  const items = input.items ?? (await listDispatched(input.projects))
  const listing = folderListing()
  const readRecords = input.signals ?? signalReader(config.stateDir)
  const projectPath = new Map(input.projects.map((p) => [p.name, p.path]))
  const signals: Record<string, SignalRecord[]> = {}
  const dispatched: DispatchedView[] = []
  const capture = new Set<string>()

  for (const item of items) {
    const twin = await twinOf(item.projectPath, item.id, listing)
    const claim = item.claim
    let failed = 0
    let runRecorded = false
    let transcriptMtimeMs: number | null = null
    if (claim?.launched_at && !twin) {
      signals[claim.session] ??= await readRecords(claim.session)
      const projectDir = projectPath.get(item.project) ?? item.projectPath
      const hasLedger = (await listing(queueDir(projectDir, 'inbox'))).has(`${item.id}.md${LEDGER_SUFFIX}`)
      const ledger = hasLedger ? await readLedger(projectDir, item.id) : {runs: []}
      failed = failures(ledger)
      runRecorded = ledger.runs.some((r) => r.counted && r.conversation_id === claim.conversation_id)
      const view = sessions[claim.session]
      if (view && !view.paneDead && !view.atShell) {
        capture.add(claim.session)
        const path = claimTranscriptPath(config, claim, signals[claim.session] ?? [])
        if (path) transcriptMtimeMs = await stat(path).then((info) => info.mtimeMs, () => null)
      }
    }

    dispatched.push({claim, failures: failed, id: item.id, project: item.project, runRecorded, transcriptMtimeMs, twin})
  }

  // The visible screen only (capture-pane -S 0): what a person looking at the pane would see. One
  // tmux process for all the panes; a pane that could not be read has no hash (no verdict on it).
  if (capture.size > 0) {
    const screens = await input.tmux.capturePanes([...capture], 0).catch(() => new Map<string, string>())
    for (const name of capture) {
      const text = screens.get(name)
      ;(sessions[name] as SessionView).paneHash = text === undefined ? null : paneHash(text)
    }
  }

  const sidecars: SidecarView[] = []
  for (const project of input.projects) sidecars.push(...(await orphanSidecars(project)))

  const paused = state.dispatch_paused_until !== null && Date.parse(state.dispatch_paused_until) > input.now.getTime()
  return {
    activeAccount: state.active_account ?? config.accounts[0]?.name ?? null,
    dedicated: dedicatedSessionNames(config),
    dispatched,
    items,
    lastSwapAt: state.last_swap ? Date.parse(state.last_swap.at) : null,
    launchGraceMs: LAUNCH_GRACE_MS,
    startDeadlineMs: config.watcher.startWithinMs,
    min: config.autonomous.min,
    now: input.now.getTime(),
    paused,
    pool: poolSessionNames(config),
    records: state.sessions,
    sessions,
    sidecars,
    signals,
    stallAfterMs: config.watcher.stallAfterMs,
    taskTimeoutMs: config.dispatcher.taskTimeoutMs,
  }
}
