// The pure core of `reconcile` (SPEC §6): a snapshot of tmux, the queue folders, the hook records and
// the state cache in, the actions that bring them in line out. No I/O and no clock here: the plan is
// what `--dry-run` prints and what the property test drives. Level-triggered: every rule looks only
// at what is observed now, and applying a plan leaves a world whose next plan is empty.
import type {Claim} from '../dispatch/claims.js'
import type {SignalRecord} from '../signals.js'
import type {SessionRecord} from '../state.js'

import {formatDuration} from '../duration.js'
import {stopFor} from '../stop.js'
import {textHash} from '../text.js'

/**
 * A pane back at its shell counts as "Claude exited" only once Claude had started (a SessionStart
 * for the conversation) or this long after the launch line was typed. This closes the window right
 * after a dispatch, when the shell is still reading the prompt file and has not exec'd `claude`
 * yet: without it a reconcile run just after the dispatch would requeue a task that is starting.
 */
export const LAUNCH_GRACE_MS = 60_000

export const BUSY_STATES: ReadonlySet<string> = new Set(['working', 'starting', 'stalled', 'awaiting_input'])

export type Watch = NonNullable<SessionRecord['watch']>

/** A tmux session as reconcile sees it. */
export interface SessionView {
  name: string
  /** The pane has exited but the session is kept (remain-on-exit): dead, and in the way of a new one. */
  paneDead: boolean
  /** The pane's foreground process is a shell (nothing launched, or Claude exited). */
  atShell: boolean
  currentPath: string
  /** Hash of the normalized visible pane (see paneHash); null when it was not read. */
  paneHash: string | null
}

/** A task in dispatched/ with what is known about its run. */
export interface DispatchedView {
  project: string
  id: string
  claim: Claim | undefined
  /** The same file (inode) is also in this folder: a move was cut between its link and its unlink. */
  twin: 'inbox' | 'done' | 'failed' | null
  /** Counted failed runs in the attempts ledger, and whether this claim's run is already in it. */
  failures: number
  runRecorded: boolean
  /** mtime of the conversation's transcript, when it could be found. */
  transcriptMtimeMs: number | null
}

/** A sidecar file (claim, attempts ledger, failure reason) whose task is not beside it. */
export interface SidecarView {
  kind: 'claim' | 'ledger' | 'reason'
  project: string
  task: string
  path: string
  /** Where the task file is now; null when it is nowhere. */
  taskIn: 'inbox' | 'dispatched' | 'done' | 'failed' | 'archive' | null
  /** The path it belongs at in the task's folder (null: it has no use there and is removed). */
  home: string | null
}

export interface ReconcileSnapshot {
  now: number
  pool: string[]
  min: number
  dedicated: string[]
  stallAfterMs: number
  taskTimeoutMs: number
  launchGraceMs: number
  /** A launch with no SessionStart after this long is reported as waiting before its session. */
  startDeadlineMs: number
  /** When the last swap flipped the pool (its relaunches come after): ms, or null. */
  lastSwapAt: number | null
  /** Dispatch is paused (every account exhausted): no stall and no timeout verdicts meanwhile. */
  paused: boolean
  activeAccount: string | null
  /** Sessions present in tmux, by name (pool, dedicated and others). */
  sessions: Record<string, SessionView>
  records: Record<string, SessionRecord>
  dispatched: DispatchedView[]
  /** Recent hook records of the sessions named by claims. */
  signals: Record<string, SignalRecord[]>
  sidecars: SidecarView[]
}

interface TaskRef {
  project: string
  task: string
  session: string
  account: string
  conversation_id: string
}

/** What reconcile does; the `--json` `actions[]` entries. */
export type ReconcileAction =
  | {action: 'roll-forward-swap'; detail: string}
  | {action: 'complete-move'; project: string; task: string; to: 'inbox' | 'done' | 'failed'; reason: string}
  | {action: 'tidy-sidecar'; project: string; task: string; path: string; to: string | null; reason: string}
  | {action: 'finish-task'; project: string; task: string; session: string}
  | {action: 'kill-session'; session: string; reason: string}
  | (TaskRef & {action: 'requeue-task'; cause: 'died' | 'stale'; reason: string; attempt: number; retries: number})
  | (TaskRef & {action: 'fail-task'; cause: 'died' | 'timeout'; reason: string; attempt: number; retries: number})
  | (TaskRef & {action: 'mark-stalled'; since: string; timeout_at: string})
  | (TaskRef & {action: 'unstall'; reason: string})
  | (TaskRef & {action: 'report-not-started'; launched_at: string})
  | (TaskRef & {action: 'rebuild-record'})
  | {action: 'release-session'; session: string; task: string; reason: string}
  | {action: 'create-session'; session: string; reason: 'below-min' | 'dead' | 'replace'}
  | {action: 'dedicated-dead'; session: string}
  | {action: 'dedicated-back'; session: string}

export interface ReconcilePlan {
  actions: ReconcileAction[]
  /** Silent updates of the stall watch (a cache, not an action): session → watch. */
  watches: Record<string, Watch>
}

/** How a launched claim stands. */
export type ClaimVerdict = 'finished' | 'gone' | 'exited' | 'starting' | 'running' | 'stale'

export {stopFor} from '../stop.js'

/**
 * Judges a launched claim from its session and the hook records:
 *  finished  its Stop arrived;
 *  gone      the session is not there (or its pane is dead);
 *  exited    the pane is back at its shell after Claude started (or after the launch grace);
 *  starting  at its shell, but just launched: the shell may not have exec'd Claude yet;
 *  stale     the session runs something else now: a newer claim on it, or a newer conversation;
 *  running   otherwise.
 */
export function judgeClaim(
  claim: Claim,
  session: SessionView | undefined,
  signals: readonly SignalRecord[],
  context: {now: number; launchGraceMs: number; newerClaimOnSession: boolean; relaunchedAt?: number | null},
): ClaimVerdict {
  if (stopFor(claim, signals)) return 'finished'
  if (!session || session.paneDead) return 'gone'
  const launchedAt = Date.parse(claim.launched_at ?? claim.claimed_at)
  // A swap relaunches the conversation (`--resume`) after its flip: that is the launch to wait for.
  const relaunched = context.relaunchedAt !== undefined && context.relaunchedAt !== null && context.relaunchedAt > launchedAt
  if (session.atShell) {
    const since = relaunched ? (context.relaunchedAt as number) : Date.parse(claim.claimed_at)
    const started = signals.some((s) => s.event === 'SessionStart' && s.conversation_id === claim.conversation_id && Date.parse(s.ts) >= since)
    const graceFrom = lastLaunchOf(claim, context.relaunchedAt)
    return started || context.now - graceFrom >= context.launchGraceMs ? 'exited' : 'starting'
  }

  if (context.newerClaimOnSession) return 'stale'
  const lastStart = signals.findLast((s) => s.event === 'SessionStart' && s.conversation_id !== null)
  if (lastStart && lastStart.conversation_id !== claim.conversation_id && Date.parse(lastStart.ts) > launchedAt) return 'stale'
  return 'running'
}

/** When a claim's conversation was last launched: its launch, or a swap's relaunch after it (ms). */
export function lastLaunchOf(claim: Claim, relaunchedAt: number | null | undefined): number {
  const launchedAt = Date.parse(claim.launched_at ?? claim.claimed_at)
  return relaunchedAt !== undefined && relaunchedAt !== null && relaunchedAt > launchedAt ? relaunchedAt : launchedAt
}

/** The order that makes the newest launched claim own its session: claim time, then project/id. */
export function claimOrder(t: {project: string; id: string; claim?: Claim | undefined}): string {
  return `${t.claim?.claimed_at ?? ''}\u0000${t.project}/${t.id}`
}

/** The deadline of a claim's run: its task timeout (else the default) after the launch. */
export function deadlineOf(claim: Claim, defaultTimeoutMs: number): number {
  return Date.parse(claim.launched_at ?? claim.claimed_at) + (claim.timeout_ms ?? defaultTimeoutMs)
}

/**
 * The hash of a pane's text for the stall watch, normalized so that what moves on a pane that makes
 * no progress does not count as progress: digits (elapsed seconds and token counters of the
 * spinner line), the spinner's glyphs, and trailing blanks.
 */
export function paneHash(text: string): string {
  const normalized = text
    .replaceAll(/\d+/g, '#')
    .replaceAll(/[·✢✳✶✻✽*⏺]/g, '*')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd()
  return textHash(normalized)
}

/** The plan that brings the pool, the folders and the cache in line. Pure. */
export function planReconcile(s: ReconcileSnapshot): ReconcilePlan {
  const actions: ReconcileAction[] = []
  const watches: Record<string, Watch> = {}
  const poolSet = new Set(s.pool)
  const killed = new Set<string>()
  const replaced = new Set<string>()
  const failing = new Set<string>()
  const iso = (ms: number) => new Date(ms).toISOString()
  const alive = (name: string) => {
    const view = s.sessions[name]
    return view !== undefined && !view.paneDead
  }

  // Claims are judged until nothing changes: ending one claim (or killing its session) changes how
  // the others on the same session stand (a claim stale behind a newer one becomes the live one,
  // or loses its session), and every consequence must be in this plan for the next to be empty.
  const decided = new Set<string>()
  const order = claimOrder
  const launched = s.dispatched.filter((t) => !t.twin && t.claim?.launched_at)
  for (const t of s.dispatched) {
    if (!t.twin) continue
    // Link done, unlink not: finish the move the killed process was making (reliability P1).
    actions.push({action: 'complete-move', project: t.project, reason: `the task was both in dispatched/ and ${t.twin}/ (a move cut short)`, task: t.id, to: t.twin})
  }

  for (let changed = true; changed; ) {
    changed = false
    // The newest live claim of each session (claim time, then id: a total order) owns it; any
    // other launched claim on that session is stale.
    const owner = new Map<string, string>()
    for (const t of launched) {
      if (decided.has(`${t.project}/${t.id}`)) continue
      const session = (t.claim as Claim).session
      if ((owner.get(session) ?? '') < order(t)) owner.set(session, order(t))
    }

    for (const t of launched) {
      const key = `${t.project}/${t.id}`
      if (decided.has(key)) continue
      const c = t.claim as Claim
      const ref: TaskRef = {account: c.account, conversation_id: c.conversation_id, project: t.project, session: c.session, task: t.id}
      const signals = s.signals[c.session] ?? []
      const view = killed.has(c.session) ? undefined : s.sessions[c.session]
      const verdict = judgeClaim(c, view, signals, {launchGraceMs: s.launchGraceMs, newerClaimOnSession: owner.get(c.session) !== order(t), now: s.now, relaunchedAt: s.lastSwapAt})
      if (verdict === 'finished') {
        actions.push({action: 'finish-task', project: t.project, session: c.session, task: t.id})
        decided.add(key)
        changed = true
        continue
      }

      const timedOut = !s.paused && s.now >= deadlineOf(c, s.taskTimeoutMs)
      // Stale claims are the janitor's (it checks the pane before redelivering); starting ones
      // wait; running ones are watched below unless past their timeout.
      if (verdict === 'stale' || verdict === 'starting' || (verdict === 'running' && !timedOut)) continue
      const owned = poolSet.has(c.session)
      const attempt = t.failures + (t.runRecorded ? 0 : 1)
      decided.add(key)
      changed = true

      if (timedOut) {
        const limit = formatDuration(c.timeout_ms ?? s.taskTimeoutMs)
        if (owned && view) {
          actions.push({action: 'kill-session', reason: `task ${key} timed out`, session: c.session})
          killed.add(c.session)
        }

        actions.push({...ref, action: 'fail-task', attempt: t.failures, cause: 'timeout', reason: `timed out: no Stop within ${limit} of its launch at ${c.launched_at}`, retries: c.retries})
        failing.add(key)
        if (owned) replaced.add(c.session)
        continue
      }

      // Gone or exited. A claim that was stale on a session this plan kills lost its run through
      // no fault of its own: back to the inbox without using a retry.
      const staleBefore = killed.has(c.session) && judgeClaim(c, s.sessions[c.session], signals, {launchGraceMs: s.launchGraceMs, newerClaimOnSession: true, now: s.now, relaunchedAt: s.lastSwapAt}) === 'stale'
      if (staleBefore) {
        actions.push({...ref, action: 'requeue-task', attempt: t.failures, cause: 'stale', reason: `${c.session} was killed while it ran another conversation`, retries: c.retries})
        continue
      }

      const reason = verdict === 'gone' ? `session ${c.session} is gone` : `Claude Code exited in ${c.session}: its pane is back at the shell with no Stop for the task`
      // A pane left at its shell (or dead) is killed and made afresh, so the next task starts clean.
      if (owned && view) {
        actions.push({action: 'kill-session', reason, session: c.session})
        killed.add(c.session)
      }

      if (attempt > c.retries) {
        actions.push({...ref, action: 'fail-task', attempt, cause: 'died', reason: `${reason}; ${attempt} failed run(s), retries: ${c.retries}`, retries: c.retries})
        failing.add(key)
      } else {
        actions.push({...ref, action: 'requeue-task', attempt, cause: 'died', reason, retries: c.retries})
      }

      if (owned) replaced.add(c.session)
    }
  }

  /** Tasks whose run is live on a session now: their record must say so. */
  const backing = new Map<string, TaskRef>()
  const owners = new Map<string, DispatchedView>()
  for (const t of launched) {
    if (decided.has(`${t.project}/${t.id}`)) continue
    const current = owners.get((t.claim as Claim).session)
    if (!current || order(current) < order(t)) owners.set((t.claim as Claim).session, t)
  }

  for (const t of owners.values()) {
    const key = `${t.project}/${t.id}`
    const c = t.claim as Claim
    const view = s.sessions[c.session]
    const signals = s.signals[c.session] ?? []
    if (judgeClaim(c, view, signals, {launchGraceMs: s.launchGraceMs, newerClaimOnSession: false, now: s.now, relaunchedAt: s.lastSwapAt}) !== 'running') continue
    const ref: TaskRef = {account: c.account, conversation_id: c.conversation_id, project: t.project, session: c.session, task: t.id}
    const deadline = deadlineOf(c, s.taskTimeoutMs)
    // Running: keep the record in line with the claim, and watch for progress.
    backing.set(c.session, ref)
    const record = s.records[c.session]
    const rebuild = !record || record.task !== key || !BUSY_STATES.has(record.state)
    // Claude Code runs in the pane but never said SessionStart for this launch: it waits at a screen
    // before its session (a first-launch modal, a login, a "Resume this conversation?" question).
    // Reported once (this task's record says awaiting_input) instead of looking like a working
    // session; the report writes the whole record, so no rebuild goes with it.
    const launch = lastLaunchOf(c, s.lastSwapAt)
    const started = signals.some((r) => r.event === 'SessionStart' && r.conversation_id === c.conversation_id && Date.parse(r.ts) >= launch - 1000)
    if (!started && s.now - launch >= s.startDeadlineMs) {
      if (rebuild || record?.state !== 'awaiting_input') actions.push({...ref, action: 'report-not-started', launched_at: iso(launch)})
      continue
    }

    if (rebuild) actions.push({...ref, action: 'rebuild-record'})

    if (started && record?.state === 'awaiting_input') actions.push({...ref, action: 'unstall', reason: 'Claude Code started its session'})
    const live = view as SessionView
    const previous = record?.task === key ? record.watch : undefined
    const hash = live.paneHash ?? ''
    if (!previous || previous.conversation_id !== c.conversation_id) {
      watches[c.session] = {conversation_id: c.conversation_id, pane_hash: hash, progress_at: iso(s.now), stalled_at: null}
      continue
    }

    const since = Date.parse(previous.progress_at)
    const progressed =
      (live.paneHash !== null && hash !== previous.pane_hash) ||
      (t.transcriptMtimeMs !== null && t.transcriptMtimeMs > since) ||
      signals.some((r) => Date.parse(r.ts) > since)
    if (progressed) {
      // Progress seen within the last quarter of stall_after is not written again: the stored hash
      // stays older, so the next run still sees the change; state.json is not rewritten every tick.
      if (previous.stalled_at || s.now - since >= s.stallAfterMs / 4) watches[c.session] = {conversation_id: c.conversation_id, pane_hash: hash, progress_at: iso(s.now), stalled_at: null}
      if (previous.stalled_at) actions.push({...ref, action: 'unstall', reason: 'the pane or the transcript changed again'})
    } else if (!previous.stalled_at && !s.paused && s.now - since >= s.stallAfterMs) {
      watches[c.session] = {...previous, stalled_at: iso(s.now)}
      actions.push({...ref, action: 'mark-stalled', since: previous.progress_at, timeout_at: iso(deadline)})
    }
  }

  // Sidecars left beside nothing by a killed process: move them to their task, or remove them.
  for (const sidecar of s.sidecars) {
    // A reason written just before a failing move that was cut short: the fail is planned again.
    if (sidecar.kind === 'reason' && failing.has(`${sidecar.project}/${sidecar.task}`)) continue
    actions.push({
      action: 'tidy-sidecar',
      path: sidecar.path,
      project: sidecar.project,
      reason: sidecar.taskIn ? `its task is in ${sidecar.taskIn}/` : 'its task is gone',
      task: sidecar.task,
      to: sidecar.home,
    })
  }

  // Records claiming a task that no claim backs any more (a killed run between a move and the
  // state commit, or a hand-moved file): the session is free.
  const backed = new Set(s.dispatched.filter((t) => !t.twin).map((t) => `${t.project}/${t.id}\u0000${t.claim?.session ?? ''}`))
  const releasing = new Set<string>()
  for (const [name, record] of Object.entries(s.records)) {
    if (!BUSY_STATES.has(record.state) || !record.task || backing.has(name) || killed.has(name)) continue
    if (backed.has(`${record.task}\u0000${name}`) || backed.has(`${record.task}\u0000`)) continue
    actions.push({action: 'release-session', reason: `no claim in dispatched/ names ${record.task} on ${name}`, session: name, task: record.task})
    releasing.add(name)
  }

  // The pool: dead panes in the way are killed; dead sessions we ran are recreated; then up to min.
  const up = new Set(s.pool.filter((name) => alive(name) && !killed.has(name)))
  for (const name of s.pool) {
    if (replaced.has(name)) {
      actions.push({action: 'create-session', reason: 'replace', session: name})
      up.add(name)
      continue
    }

    if (up.has(name)) continue
    if (s.sessions[name]?.paneDead && !killed.has(name)) {
      actions.push({action: 'kill-session', reason: 'its pane is dead', session: name})
      killed.add(name)
    }

    if (s.records[name] || killed.has(name)) {
      actions.push({action: 'create-session', reason: 'dead', session: name})
      up.add(name)
    }
  }

  for (const name of s.pool) {
    if (up.size >= Math.min(s.min, s.pool.length)) break
    if (up.has(name)) continue
    actions.push({action: 'create-session', reason: 'below-min', session: name})
    up.add(name)
  }

  // Dedicated sessions are the operator's: never created or killed, a death is only reported.
  for (const name of s.dedicated) {
    const record = s.records[name]
    if (!alive(name) && record?.state !== 'dead') actions.push({action: 'dedicated-dead', session: name})
    else if (alive(name) && record?.state === 'dead') actions.push({action: 'dedicated-back', session: name})
  }

  return {actions, watches}
}

/** One line per action, for the table and the logs. */
export function describeAction(a: ReconcileAction): string {
  switch (a.action) {
    case 'roll-forward-swap': {
      return `swap journal: ${a.detail}`
    }

    case 'complete-move': {
      return `${a.project}/${a.task}: completed an interrupted move to ${a.to}/`
    }

    case 'tidy-sidecar': {
      return `${a.project}/${a.task}: ${a.to ? `moved ${a.path} to ${a.to}` : `removed ${a.path}`} (${a.reason})`
    }

    case 'finish-task': {
      return `${a.project}/${a.task}: done (Stop from ${a.session})`
    }

    case 'kill-session': {
      return `${a.session}: killed (${a.reason})`
    }

    case 'requeue-task': {
      return `${a.project}/${a.task}: back to the inbox (${a.reason}; run ${a.attempt}, retries ${a.retries})`
    }

    case 'fail-task': {
      return `${a.project}/${a.task}: moved to failed/ (${a.reason})`
    }

    case 'mark-stalled': {
      return `${a.project}/${a.task}: stalled on ${a.session} (no progress since ${a.since})`
    }

    case 'unstall': {
      return `${a.project}/${a.task}: progressing again on ${a.session} (${a.reason})`
    }

    case 'report-not-started': {
      return `${a.session}: Claude Code never started the session of ${a.project}/${a.task} (launched ${a.launched_at}); it waits at a screen nobody answers (tmux attach -t ${a.session}; claude-failover homes)`
    }

    case 'rebuild-record': {
      return `${a.session}: record rebuilt from the claim of ${a.project}/${a.task}`
    }

    case 'release-session': {
      return `${a.session}: released (${a.reason})`
    }

    case 'create-session': {
      return `${a.session}: created (${a.reason === 'below-min' ? 'pool below autonomous.min' : a.reason === 'dead' ? 'it had died' : 'fresh shell after its task ended'})`
    }

    case 'dedicated-dead': {
      return `${a.session}: dedicated session is dead (not recreated: it is the operator's)`
    }

    case 'dedicated-back': {
      return `${a.session}: dedicated session is alive again`
    }
  }
}
