// `dispatch` (SPEC §3): hand ready inbox tasks to free pool sessions, under the state lock.
//
// Order of a delivery, and the crash window each step closes:
//   1. claim: link inbox/<id>.md → dispatched/<id>.md, then unlink (only one process wins);
//   2. the claim record (session, account, time, conversation id) written and fsynced;
//   3. state.json records the session as working on the task (fenced commit);
//   4. the prompt file, then the launch line typed (never the prompt itself), then Enter;
//   5. `launched_at` set in the claim record.
// A process killed anywhere leaves a claim without `launched_at`; the next pass (under the same
// lock, so no live dispatcher can own it) verifies before redelivering: a SessionStart record for
// the conversation, or a pane running something other than its shell, means it was launched; a
// launch line still on the screen of a shell, for a fresh claim, means "not yet": decided on a
// later pass; otherwise the half-typed line is cleared and the task goes back to the inbox. No
// task is lost, none is delivered twice.
import {join} from 'node:path'

import type {Config} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'
import type {JudgedTask} from '../queue/task-file.js'
import type {SessionInfo, Tmux} from '../tmux.js'

import {crashpoint} from '../crashpoint.js'
import {randomUUID} from '../crypto.js'
import {markWaiting, takeRequest} from '../event-run.js'
import {appendEvent} from '../events.js'
import {renameNoReplace, writeFileAtomic} from '../fs-atomic.js'
import {mkdir, unlink} from '../fs.js'
import {buildLaunchLine, ensureHooksSettings} from '../launch.js'
import {withStateLock} from '../lock.js'
import {isShell} from '../pane.js'
import {poolSessionNames} from '../pool.js'
import {discoverProjects, ensureQueueDir} from '../queue/layout.js'
import {fingerprintOf, writeInvalidMarker} from '../queue/markers.js'
import {applyMarkerUpdates, type MarkerUpdate, readReadyTask, scanInbox} from '../queue/scan.js'
import {VerdictCache, verdictCachePath} from '../queue/verdict-cache.js'
import {readSignals} from '../signals.js'
import {type Claim, claimProblems, type DispatchedTask, listDispatched, removeClaim, writeClaim} from './claims.js'
import {settleFinishedTasks} from './finish.js'

export interface DispatchOptions {
  dryRun?: boolean
  wait?: boolean
  /** Settle time for task files still being written (tests shorten it). */
  settleMs?: number
}

export interface DispatchDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
}

export interface DispatchResult {
  dispatched: {project: string; task: string; session: string; conversation_id: string; account: string}[]
  blocked: {project: string; task: string; reason: string}[]
  invalid: {project: string; task: string; reason: string}[]
  settling: {project: string; task: string}[]
  finished: {project: string; task: string; session: string}[]
  recovered: {project: string; task: string; session: string; outcome: 'launched' | 'requeued'}[]
  paused_until: string | null
  /** Ready tasks left for a later pass (no free session, or dispatch paused), with their place in the order (1 = next). */
  waiting: {project: string; task: string; position: number; priority: number}[]
  /** How many ready tasks wait in all; `waiting` lists the first MAX_WAITING_LISTED of them. */
  waiting_total: number
  dry_run: boolean
  warnings: string[]
}

/**
 * How long a claim whose launch line is on its pane's screen, with nothing started yet, is given
 * before it is judged never launched (a shell takes milliseconds to start a typed command).
 */
const LAUNCH_GRACE_MS = 10_000

/** The most waiting tasks a pass lists: its output stays bounded whatever the inbox holds (10,000 ready tasks printed 1 MB a pass). */
export const MAX_WAITING_LISTED = 100

/** The prompt file of a task: its body, read by the shell at launch. */
export function promptPath(config: Config, project: string, taskId: string): string {
  return join(config.stateDir, 'prompts', project, `${taskId}.md`)
}

/** One dispatch pass. */
export async function dispatch(config: Config, options: DispatchOptions, deps: DispatchDeps): Promise<DispatchResult> {
  return withStateLock(config, {command: 'dispatch', log: deps.log, now: deps.now, wait: options.wait}, async (tx) => {
    const result = await dispatchLocked(config, options, deps, tx)
    // Under the lock: a pass that ended earlier must not overwrite what a later pass found.
    if (!options.dryRun) markWaiting(config.stateDir, result.waiting_total + result.blocked.length + result.settling.length > 0)
    return result
  })
}

async function dispatchLocked(config: Config, options: DispatchOptions, deps: DispatchDeps, tx: Transaction): Promise<DispatchResult> {
  // Before observing (under the lock): a Stop recorded from here on is not covered by this pass
  // and starts another (see requestRun in hook.ts).
  if (!options.dryRun) takeRequest(config.stateDir, 'dispatch')
  const now = deps.now()
  const result: DispatchResult = {
    blocked: [],
    dispatched: [],
    dry_run: options.dryRun === true,
    finished: [],
    invalid: [],
    paused_until: null,
    recovered: [],
    settling: [],
    waiting: [],
    waiting_total: 0,
    warnings: [...tx.warnings],
  }
  const {projects, warnings} = await discoverProjects(config)
  result.warnings.push(...warnings)
  const survey = await deps.tmux.survey()
  const live = new Map(survey.sessions.filter((s) => !s.paneDead).map((s) => [s.name, s]))

  if (!options.dryRun && tx.state.swap_journal) {
    // A swap stopped midway: finish it before handing out anything, or new tasks would start on the
    // old account (a split pool) or in sessions the roll-forward is about to kill.
    const {rollForwardSwap} = await import('../swap/journal.js')
    result.warnings.push(...(await rollForwardSwap(config, tx, {...deps, staggerMs: config.swap.staggerMs})))
    const after = await deps.tmux.survey()
    live.clear()
    for (const s of after.sessions.filter((x) => !x.paneDead)) live.set(s.name, s)
  }

  // One listing of dispatched/ serves the pass: recovery looks at the unlaunched claims, settling at
  // the launched ones, and whatever is still claimed afterwards keeps its session busy.
  const dispatched = await listDispatched(projects)
  result.warnings.push(...claimProblems(dispatched))
  if (!options.dryRun) {
    result.recovered = await recoverUnlaunched(config, tx, dispatched, live, deps, result)
    result.finished = await settleFinishedTasks(config, tx, projects, deps, dispatched)
  }

  // Judge every inbox. The marker changes (.blocked/.invalid) are made only once the pass is known
  // to go ahead: a dry run, or a pass that stops for want of a tmux server, leaves the inbox
  // exactly as it found it (reliability P15).
  const projectsByName = new Map(projects.map((p) => [p.name, {path: p.path}]))
  const known = new Set(projectsByName.keys())
  const cache = new Map<string, boolean>()
  const ready: JudgedTask[] = []
  const markerUpdates: MarkerUpdate[] = []
  for (const project of projects) {
    const cachePath = verdictCachePath(config.stateDir, project.name)
    const verdicts = cachePath === undefined ? undefined : VerdictCache.load(cachePath, project.path)
    const scan = await scanInbox(project, known, projectsByName, {
      cache,
      deferMarkers: true,
      now: now.getTime(),
      ...(options.settleMs === undefined ? {} : {settleMs: options.settleMs}),
      ...(verdicts ? {verdicts} : {}),
    })
    ready.push(...scan.ready)
    markerUpdates.push(...scan.markerUpdates.map((update) => ({...update, name: `${project.name}: ${update.name}`})))
    result.blocked.push(...scan.blocked.map((b) => ({project: project.name, reason: b.reason, task: b.id})))
    result.invalid.push(...scan.invalid.map((i) => ({project: project.name, reason: i.reason, task: i.id})))
    result.settling.push(...scan.settling.map((s) => ({project: project.name, task: s.id})))
    result.warnings.push(...scan.warnings.map((w) => `${project.name}: ${w}`))
  }

  ready.sort((a, b) => b.priority - a.priority || a.mtimeMs - b.mtimeMs || a.project.localeCompare(b.project) || a.id.localeCompare(b.id))

  const account = activeAccount(config, tx, now)
  // A pass with work for tmux but no server stops here (exit 69), before any marker is written.
  if (!('pausedUntil' in account) && ready.length > 0 && !survey.running) await deps.tmux.requireServer()
  if (!options.dryRun) result.warnings.push(...(await applyMarkerUpdates(markerUpdates)))
  const wait = (tasks: JudgedTask[], first: number) => {
    result.waiting_total = tasks.length
    return tasks.slice(0, MAX_WAITING_LISTED).map((task, i) => ({position: first + i, priority: task.priority, project: task.project, task: task.id}))
  }

  if ('pausedUntil' in account) {
    result.waiting = wait(ready, 1)
    result.paused_until = account.pausedUntil
    if (ready.length > 0) deps.log.info(`dispatch paused: every account is exhausted until ${account.pausedUntil}; ${ready.length} ready task(s) wait`)
    return result
  }

  if (ready.length === 0) return result

  // A session named by a launched claim in dispatched/ is busy whatever state.json says (it may
  // have been rebuilt empty after corruption): never recycle a pane whose Claude may be mid-task.
  const ended = new Set([...result.finished, ...result.recovered.filter((r) => r.outcome === 'requeued')].map((t) => `${t.project}/${t.task}`))
  const claimed = new Set(dispatched.flatMap((d) => (d.claim && !ended.has(`${d.project}/${d.id}`) ? [d.claim.session] : [])))
  const free = freeSessions(config, tx, live).filter((name) => !claimed.has(name))
  const projectPaths = new Map(projects.map((p) => [p.name, p.path]))
  result.waiting = wait(ready.slice(free.length), free.length + 1)
  for (const [i, task] of ready.slice(0, free.length).entries()) {
    const session = free[i] as string
    if (options.dryRun) {
      result.dispatched.push({account: account.name, conversation_id: '(chosen at dispatch)', project: task.project, session, task: task.id})
      continue
    }

    const delivered = await deliver(config, tx, deps, {account, live: live.get(session), projectPath: projectPaths.get(task.project) as string, session, task})
    if (delivered) result.dispatched.push(delivered)
  }

  return result
}

function activeAccount(config: Config, tx: Transaction, now: Date): {name: string; home: string} | {pausedUntil: string} {
  const paused = tx.state.dispatch_paused_until
  if (paused && Date.parse(paused) > now.getTime()) return {pausedUntil: paused}
  const name = tx.state.active_account ?? config.accounts[0]?.name
  const account = config.accounts.find((a) => a.name === name) ?? config.accounts[0]
  if (!account) throw new Error('no account configured')
  const until = tx.state.accounts[account.name]?.exhausted_until
  if (until && Date.parse(until) > now.getTime()) {
    // The swap moves the pool off an exhausted account; until it has, nothing new is started there.
    const others = config.accounts.filter((a) => a.name !== account.name).map((a) => tx.state.accounts[a.name]?.exhausted_until ?? null)
    if (others.every((u) => u !== null && Date.parse(u) > now.getTime())) {
      return {pausedUntil: [until, ...(others as string[])].sort()[0] as string}
    }

    return {pausedUntil: until}
  }

  return {home: account.home, name: account.name}
}

/** Pool sessions that can take a task now, existing idle ones first, then slots to create. */
function freeSessions(config: Config, tx: Transaction, live: Map<string, SessionInfo>): string[] {
  const idle: string[] = []
  const empty: string[] = []
  for (const name of poolSessionNames(config)) {
    const record = tx.state.sessions[name]
    const busy = record && (record.state === 'working' || record.state === 'starting' || record.state === 'awaiting_input' || record.state === 'stalled')
    const info = live.get(name)
    if (info) {
      if (!busy && !info.inMode) idle.push(name)
    } else if (!busy) {
      empty.push(name)
    }
  }

  return [...idle, ...empty]
}

interface Delivery {
  account: {name: string; home: string}
  live: SessionInfo | undefined
  projectPath: string
  session: string
  task: JudgedTask
}

async function deliver(config: Config, tx: Transaction, deps: DispatchDeps, d: Delivery): Promise<DispatchResult['dispatched'][number] | undefined> {
  // The prompt, and every field delivered, from a fresh read of the version that was judged.
  const fresh = await readReadyTask(d.task, {name: d.task.project, path: d.projectPath})
  if (!fresh.ok) {
    deps.log.warn(`${d.task.project}/${d.task.id}: not dispatched this pass: ${fresh.reason}`)
    return undefined
  }

  const {task} = fresh
  // Both folders checked again right before the move (see ensureQueueDir): one swapped for a
  // symlink since the pass began would move a file from or to outside the project.
  const from = join(ensureQueueDir(d.projectPath, 'inbox'), `${task.id}.md`)
  const to = join(ensureQueueDir(d.projectPath, 'dispatched'), `${task.id}.md`)
  // The launch line is built before the claim: a task it cannot be built for (a token the line
  // refuses) is marked invalid and skipped, instead of being claimed, put back and claimed again
  // on every pass, stopping everything ranked after it.
  const conversationId = randomUUID()
  const prompt = promptPath(config, task.project, task.id)
  let line: string
  try {
    line = buildLaunchLine(config, {account: d.account, conversationId, cwd: task.cwd, mode: {kind: 'new', promptFile: prompt}, session: d.session, task: {id: task.id, project: task.project}})
  } catch (error) {
    const reason = `cannot be launched: ${(error as Error).message}`
    await writeInvalidMarker(from, reason, fingerprintOf(task)).catch(() => {})
    deps.log.warn(`${task.project}/${task.id}: ${reason}`)
    return undefined
  }

  tx.assertHeld()
  if (!(await renameNoReplace(from, to))) {
    deps.log.warn(`${task.project}/${task.id}: could not be claimed (moved or already dispatched); skipped`)
    return undefined
  }

  crashpoint('dispatch:after-claim')
  const now = deps.now()
  const claim: Claim = {
    account: d.account.name,
    attempt: 1,
    claimed_at: now.toISOString(),
    conversation_id: conversationId,
    cwd: task.cwd,
    launched_at: null,
    pid: process.pid,
    project: task.project,
    retries: task.retries,
    session: d.session,
    task: task.id,
    timeout_ms: task.timeoutMs ?? null,
  }
  await writeClaim(d.projectPath, claim)
  await mkdir(join(config.stateDir, 'prompts', task.project), {mode: 0o700, recursive: true})
  await writeFileAtomic(prompt, task.body, {mode: 0o600})
  tx.state.sessions[d.session] = {account: d.account.name, conversation_id: conversationId, since: now.toISOString(), state: 'working', task: `${task.project}/${task.id}`}
  await tx.commit()
  crashpoint('dispatch:after-record')

  // A pane left running a finished Claude (its Stop was handled) is recycled into a fresh shell.
  if (d.live && !isShell(d.live.currentCommand)) await deps.tmux.killSession(d.session)
  if (!d.live || !isShell(d.live.currentCommand)) {
    await deps.tmux.newSession(d.session, {cwd: task.cwd, env: {CLAUDE_FAILOVER_SESSION: d.session}})
  }

  await ensureHooksSettings(config)
  tx.assertHeld()
  await deps.tmux.sendLine(d.session, line)
  crashpoint('dispatch:after-launch')
  await writeClaim(d.projectPath, {...claim, launched_at: deps.now().toISOString()})
  await appendEvent(config.stateDir, 'dispatch', {account: d.account.name, conversation_id: conversationId, project: task.project, session: d.session, task: task.id}, deps.now())
  deps.log.info(`dispatched ${task.project}/${task.id} to ${d.session} on ${d.account.name}`)
  return {account: d.account.name, conversation_id: conversationId, project: task.project, session: d.session, task: task.id}
}

/**
 * Claims a killed dispatcher left behind: launched (evidence in the hook records or the pane) →
 * recorded as launched; not launched → the typed line is cleared and the task goes back to inbox.
 */
async function recoverUnlaunched(
  config: Config,
  tx: Transaction,
  dispatched: DispatchedTask[],
  live: Map<string, SessionInfo>,
  deps: DispatchDeps,
  result: Pick<DispatchResult, 'warnings'>,
): Promise<DispatchResult['recovered']> {
  const recovered: DispatchResult['recovered'] = []
  for (const item of dispatched) {
    if (item.claim?.launched_at) continue
    const claim = item.claim
    const session = claim?.session ?? '?'
    let launched = false
    if (claim) {
      const signals = await readSignals(config.stateDir, claim.session, 200)
      const started = signals.some((s) => s.event === 'SessionStart' && s.conversation_id === claim.conversation_id)
      const pane = live.get(claim.session)
      // A pane running something other than its shell counts only if it shows this claim's launch
      // line: after a crash between the commit and the recycling of a pane that still ran the
      // previous task's finished Claude, that Claude is not this task's.
      launched = started || (pane !== undefined && !isShell(pane.currentCommand) && (await deps.tmux.capturePane(claim.session, 200).catch(() => '')).includes(claim.conversation_id))
      // The pane still runs its shell, but the launch line (it names the conversation) is on the
      // screen: it was typed, and perhaps submitted a moment ago with the shell still expanding
      // it. Requeuing now could deliver the task twice, so a fresh claim is left for a later pass;
      // SessionStart or claude in the pane will show by then, or the line never ran.
      if (!launched && pane !== undefined && deps.now().getTime() - Date.parse(claim.claimed_at) < LAUNCH_GRACE_MS) {
        const screen = await deps.tmux.capturePane(claim.session, 200).catch(() => '')
        if (screen.includes(claim.conversation_id)) {
          result.warnings.push(`${item.project}/${item.id}: its launch line is in ${claim.session} but nothing has started yet; checked again on the next pass`)
          continue
        }
      }
    }

    if (claim && launched) {
      await writeClaim(item.projectPath, {...claim, launched_at: deps.now().toISOString()})
      recovered.push({outcome: 'launched', project: item.project, session, task: item.id})
    } else {
      if (claim && live.has(claim.session)) await deps.tmux.sendKey(claim.session, 'C-u').catch(() => {})
      const back = await renameNoReplace(join(ensureQueueDir(item.projectPath, 'dispatched'), `${item.id}.md`), join(ensureQueueDir(item.projectPath, 'inbox'), `${item.id}.md`))
      if (!back) {
        deps.log.warn(`${item.project}/${item.id}: could not be put back in the inbox (a task of that id is already there); left in dispatched/`)
        continue
      }

      await removeClaim(item.projectPath, item.id)
      await unlink(promptPath(config, item.project, item.id)).catch(() => {})
      if (claim && tx.state.sessions[claim.session]?.task === `${item.project}/${item.id}`) {
        tx.state.sessions[claim.session] = {account: claim.account, conversation_id: null, since: deps.now().toISOString(), state: 'idle', task: null}
      }

      recovered.push({outcome: 'requeued', project: item.project, session, task: item.id})
    }

    await appendEvent(config.stateDir, 'claim_recovered', {outcome: recovered.at(-1)?.outcome, project: item.project, session, task: item.id}, deps.now())
    deps.log.warn(`${item.project}/${item.id}: an earlier dispatch stopped mid-claim; ${recovered.at(-1)?.outcome === 'launched' ? 'it had been launched: recorded' : 'it had not been launched: back in the inbox'}`)
  }

  if (recovered.length > 0) await tx.commit()
  return recovered
}
