// `reconcile` (SPEC §6): keep the pool alive. Under the state lock, in this order:
//   0. with --boot, the shared-symlink guard (seed 003): refuse (exit 78, notified) when it fails;
//   1. tmux must answer (exit 69 otherwise: with no server every session looks dead, and acting on
//      that would requeue tasks that may be running on a server we cannot see);
//   2. an unfinished swap journal is rolled forward (the pool must be on one account first);
//   3. tasks whose Stop arrived move to done/ (settleFinishedTasks, the same rule dispatch uses);
//   4. a snapshot is planned (plan.ts, pure) and applied: interrupted moves completed, dead
//      working sessions killed/recreated with their task requeued or failed, timeouts failed,
//      stalls marked, records repaired, the pool brought up to `autonomous.min`, dead dedicated
//      sessions reported;
//   5. notifications go out (de-duplicated against state.notified) and the state is committed.
// Level-triggered: a second run right after finds nothing to do (`actions: []`).
import {homedir} from 'node:os'

import type {Config, Project} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'
import type {Tmux} from '../tmux.js'

import {crashpoint} from '../crashpoint.js'
import {claimProblems, type DispatchedTask, listDispatched} from '../dispatch/claims.js'
import {settleFinishedTasks} from '../dispatch/finish.js'
import {fail, FailoverError} from '../errors.js'
import {appendEvent} from '../events.js'
import {unlink} from '../fs.js'
import {checkHomes, describeHomeProblem, HOMES_FIX} from '../homes.js'
import {ensureHooksSettings} from '../launch.js'
import {readStateSnapshot, withStateLock} from '../lock.js'
import {
  clearNotified,
  deliverNotifications,
  homesNotReady,
  type Notification,
  sessionNotStarted,
  type NotifyDeps,
  sessionDied,
  sessionRecovered,
  symlinksInvalid,
  symlinksRepaired,
  taskFailed,
  taskKeys,
  taskStalled,
} from '../notify/notifier.js'
import {poolSessionNames} from '../pool.js'
import {discoverProjects} from '../queue/layout.js'
import {signalReader} from '../signals.js'
import {rollForwardSwap} from '../swap/journal.js'
import {checkSharedLinks, describeProblem} from '../symlinks.js'
import {describeAction, type ReconcileAction, type ReconcilePlan, planReconcile} from './plan.js'
import {folderListing, gatherSnapshot, twinOf} from './snapshot.js'
import {completeMove, failRun, moveSidecar, requeueRun} from './task-end.js'

export {describeAction, planReconcile, type ReconcileAction, type ReconcilePlan, type ReconcileSnapshot} from './plan.js'

export interface ReconcileOptions {
  boot?: boolean
  dryRun?: boolean
  wait?: boolean
}

export interface ReconcileDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  /** Where new pool sessions start their shell (default: the user's home). */
  home?: string
  notify?: NotifyDeps
}

export interface ReconcileResult {
  /** What was done (or, with --dry-run, what would be); empty when there was nothing to do. */
  actions: ReconcileAction[]
  dry_run: boolean
  boot: boolean
  /** --boot only: the shared-link or active-home problems that made it refuse (null when it went on). */
  refused: {what: 'shared-links' | 'account-home'; problems: string[]} | null
  /** Actions that failed; the rest were still applied. */
  errors: {action: string; session?: string; task?: string; message: string}[]
  warnings: string[]
}

/** One reconcile pass (see the header). */
export async function reconcile(config: Config, options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileResult> {
  if (options.dryRun) return reconcileDryRun(config, options, deps)
  const command = options.boot ? 'reconcile --boot' : 'reconcile'
  return withStateLock(config, {command, log: deps.log, now: deps.now, wait: options.wait}, (tx) => reconcileLocked(config, options, deps, tx))
}

function emptyResult(options: ReconcileOptions, warnings: string[]): ReconcileResult {
  return {actions: [], boot: options.boot === true, dry_run: options.dryRun === true, errors: [], refused: null, warnings}
}

async function requireTmux(deps: ReconcileDeps) {
  const survey = await deps.tmux.survey()
  if (!survey.running) await deps.tmux.requireServer()
  return survey
}

async function reconcileDryRun(config: Config, options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileResult> {
  const {state, warnings} = await readStateSnapshot(config)
  const result = emptyResult(options, warnings)
  if (options.boot) {
    const refused = await bootGuard(config, state.active_account ?? config.accounts[0]?.name ?? '', result)
    if (refused) return {...result, refused}
  }

  const survey = await requireTmux(deps)
  if (state.swap_journal) result.actions.push({action: 'roll-forward-swap', detail: 'would roll the unfinished swap forward first'})
  const {projects, warnings: projectWarnings} = await discoverProjects(config)
  result.warnings.push(...projectWarnings)
  const snapshot = await gatherSnapshot({config, now: deps.now(), projects, sessions: survey.sessions, state, tmux: deps.tmux})
  result.actions.push(...planReconcile(snapshot).actions)
  return result
}

async function reconcileLocked(config: Config, options: ReconcileOptions, deps: ReconcileDeps, tx: Transaction): Promise<ReconcileResult> {
  const result = emptyResult(options, [...tx.warnings])
  const before = JSON.stringify(tx.state)
  const offered: Notification[] = []

  if (options.boot) {
    const refused = await bootGuard(config, tx.state.active_account ?? config.accounts[0]?.name ?? '', result)
    if (refused) {
      // Seed 003: a missing or divergent link would fork the transcripts; a home that stops at a
      // first-launch screen would leave every session waiting in silence. Nothing starts until fixed.
      await appendEvent(config.stateDir, 'boot_refused', {problems: refused.problems.slice(0, 20), what: refused.what}, deps.now())
      const notice = refused.what === 'shared-links' ? symlinksInvalid({problems: refused.problems}) : homesNotReady({problems: refused.problems})
      const delivery = await deliverNotifications(config, tx.state.notified, [notice], {log: deps.log, now: deps.now, ...deps.notify})
      tx.state.notified = delivery.notified
      await tx.commit()
      return {...result, refused}
    }

    if ('symlinks_invalid' in tx.state.notified) offered.push(symlinksRepaired())
  }

  const first = await requireTmux(deps)
  // A launch (dispatch, a swap, an operator's dedicated session per the README) passes this file.
  await ensureHooksSettings(config)
  const rolled = await rollForwardSwap(config, tx, {log: deps.log, now: deps.now, staggerMs: config.swap.staggerMs, tmux: deps.tmux})
  result.actions.push(...rolled.map((detail) => ({action: 'roll-forward-swap' as const, detail})))
  if (rolled.length > 0) crashpoint('reconcile:after-roll-forward')

  const {projects, warnings} = await discoverProjects(config)
  result.warnings.push(...warnings)
  // Moves cut between link and unlink are finished before settling: settling a task that is also
  // still in inbox/ would leave it in two states.
  // The tasks in dispatched/ are listed (with their claims) once, and again only after a step moved some.
  let items = await listDispatched(projects)
  result.warnings.push(...claimProblems(items))
  const signals = signalReader(config.stateDir)
  const moves = await completeInterruptedMoves(config, tx, items, deps)
  result.actions.push(...moves)
  if (moves.length > 0) items = await listDispatched(projects)
  const finished = await settleFinishedTasks(config, tx, projects, deps, items, signals)
  if (finished.length > 0) items = await listDispatched(projects)
  for (const f of finished) {
    result.actions.push({action: 'finish-task', project: f.project, session: f.session, task: f.task})
    tx.state.notified = clearNotified(tx.state.notified, taskKeys(f.project, f.task))
  }

  // The pool as it is now: surveyed again only when a rolled-forward swap changed it.
  const survey = rolled.length > 0 ? await requireTmux(deps) : first
  const snapshot = await gatherSnapshot({config, items, now: deps.now(), projects, sessions: survey.sessions, signals, state: tx.state, tmux: deps.tmux})
  const plan = planReconcile(snapshot)
  const applied = await applyReconcile(config, tx, plan, {...deps, projects}, offered)
  result.actions.push(...applied.actions)
  result.errors.push(...applied.errors)

  if (offered.length > 0) {
    const delivery = await deliverNotifications(config, tx.state.notified, offered, {log: deps.log, now: deps.now, ...deps.notify})
    tx.state.notified = delivery.notified
  }

  // A pool session made afresh is a new session: its next death is news again.
  const recreated = applied.actions.filter((a) => a.action === 'create-session').map((a) => `session_died:${(a as {session: string}).session}`)
  if (recreated.length > 0) tx.state.notified = clearNotified(tx.state.notified, recreated)

  if (JSON.stringify(tx.state) !== before) await tx.commit()
  return result
}

/** Finishes every move a killed process left with two names for one inode (reliability P1). */
async function completeInterruptedMoves(config: Config, tx: Transaction, items: DispatchedTask[], deps: ReconcileDeps): Promise<ReconcileAction[]> {
  const done: ReconcileAction[] = []
  const listing = folderListing()
  for (const item of items) {
    const to = await twinOf(item.projectPath, item.id, listing)
    if (!to || !(await completeMove(config, tx, {project: item.project, projectPath: item.projectPath, task: item.id}, to, deps))) continue
    done.push({action: 'complete-move', project: item.project, reason: `the task was both in dispatched/ and ${to}/ (a move cut short)`, task: item.id, to})
  }

  return done
}

export interface ApplyDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  home?: string
  projects: Project[]
}

/**
 * Applies a plan under the lock, action by action, in plan order; an action that fails is reported
 * and the others still run (a lost lock stops everything). Offers the notifications the actions
 * call for into `offered`; the caller delivers them and commits.
 */
export async function applyReconcile(
  config: Config,
  tx: Transaction,
  plan: ReconcilePlan,
  deps: ApplyDeps,
  offered: Notification[] = [],
): Promise<{actions: ReconcileAction[]; errors: ReconcileResult['errors']}> {
  const done: ReconcileAction[] = []
  const errors: ReconcileResult['errors'] = []
  const pathOf = new Map(deps.projects.map((p) => [p.name, p.path]))
  const pool = new Set(poolSessionNames(config))
  let settled = false

  for (const action of plan.actions) {
    try {
      const ok = await applyOne(action)
      if (ok) done.push(action)
    } catch (error) {
      if (error instanceof FailoverError && error.kind === 'lockLost') throw error
      const message = error instanceof Error ? error.message : String(error)
      deps.log.warn(`reconcile: ${action.action} failed: ${message}`)
      const task = 'project' in action ? `${action.project}/${action.task}` : 'task' in action ? action.task : undefined
      errors.push({action: action.action, message, ...('session' in action ? {session: action.session} : {}), ...(task ? {task} : {})})
    }
  }

  for (const [session, watch] of Object.entries(plan.watches)) {
    const record = tx.state.sessions[session]
    if (record) record.watch = watch
  }

  return {actions: done, errors}

  async function applyOne(a: ReconcileAction): Promise<boolean> {
    const now = deps.now()
    const projectPath = 'project' in a ? pathOf.get(a.project) : undefined
    switch (a.action) {
      case 'roll-forward-swap': {
        return false
      }

      case 'complete-move': {
        if (!projectPath) return false
        return completeMove(config, tx, {project: a.project, projectPath, task: a.task}, a.to, deps)
      }

      case 'tidy-sidecar': {
        tx.assertHeld()
        if (a.to) await moveSidecar(a.path, a.to)
        else await unlink(a.path).catch(() => {})
        return true
      }

      case 'finish-task': {
        // Planned only when a Stop arrived after this run's settling pass (or in a dry run).
        if (settled) return false
        settled = true
        const finished = await settleFinishedTasks(config, tx, deps.projects, deps)
        for (const f of finished) tx.state.notified = clearNotified(tx.state.notified, taskKeys(f.project, f.task))
        return finished.some((f) => f.project === a.project && f.task === a.task)
      }

      case 'kill-session': {
        if (!pool.has(a.session)) return false
        tx.assertHeld()
        await deps.tmux.killSession(a.session)
        crashpoint('reconcile:after-kill')
        await appendEvent(config.stateDir, 'session_killed', {reason: a.reason, session: a.session}, now)
        return true
      }

      case 'requeue-task': {
        if (!projectPath) return false
        const ok = await requeueRun(config, tx, {...a, projectPath}, {counted: a.cause === 'died', reason: a.reason}, deps)
        if (!ok) return false
        tx.state.notified = clearNotified(tx.state.notified, taskKeys(a.project, a.task))
        if (a.cause === 'died') {
          await appendEvent(config.stateDir, 'session_died', {account: a.account, project: a.project, reason: a.reason, session: a.session, task: a.task, task_outcome: 'requeued'}, now)
          offered.push(sessionDied({account: a.account, reason: a.reason, session: a.session, task: `${a.project}/${a.task}`, taskOutcome: 'requeued'}))
        }

        return true
      }

      case 'fail-task': {
        if (!projectPath) return false
        const ok = await failRun(config, tx, {...a, projectPath}, {cause: a.cause, reason: a.reason, retries: a.retries, runs: a.attempt}, deps)
        if (!ok) return false
        if (a.cause === 'died') {
          await appendEvent(config.stateDir, 'session_died', {account: a.account, project: a.project, reason: a.reason, session: a.session, task: a.task, task_outcome: 'failed'}, now)
          offered.push(sessionDied({account: a.account, reason: a.reason, session: a.session, task: `${a.project}/${a.task}`, taskOutcome: 'failed'}))
        }

        // Each failure is its own event: an earlier failure of the same id (retried by hand) must not mute it.
        tx.state.notified = clearNotified(tx.state.notified, [`task_failed:${a.project}/${a.task}`])
        offered.push(taskFailed({account: a.account, project: a.project, reason: a.reason, session: a.session, task: a.task}))
        return true
      }

      case 'mark-stalled': {
        const record = tx.state.sessions[a.session]
        if (record?.state === 'working') tx.state.sessions[a.session] = {...record, since: now.toISOString(), state: 'stalled'}
        await appendEvent(config.stateDir, 'task_stalled', {project: a.project, session: a.session, since: a.since, task: a.task}, now)
        // Planned once per stall (the watch remembers it): an earlier stall of this id must not mute it.
        tx.state.notified = clearNotified(tx.state.notified, [`task_stalled:${a.project}/${a.task}`])
        offered.push(taskStalled({account: a.account, project: a.project, session: a.session, since: a.since, task: a.task, timeoutAt: a.timeout_at}))
        deps.log.warn(`${a.project}/${a.task}: stalled on ${a.session} (no progress since ${a.since})`)
        return true
      }

      case 'report-not-started': {
        const record = tx.state.sessions[a.session]
        tx.state.sessions[a.session] = {...record, account: a.account, conversation_id: a.conversation_id, since: now.toISOString(), state: 'awaiting_input', task: `${a.project}/${a.task}`}
        await appendEvent(config.stateDir, 'session_not_started', {launched_at: a.launched_at, project: a.project, session: a.session, task: a.task}, now)
        offered.push(sessionNotStarted({account: a.account, launchedAt: a.launched_at, session: a.session, task: `${a.project}/${a.task}`}))
        deps.log.warn(describeAction(a))
        return true
      }

      case 'unstall': {
        const record = tx.state.sessions[a.session]
        if (record?.state === 'stalled' || record?.state === 'awaiting_input') tx.state.sessions[a.session] = {...record, since: now.toISOString(), state: 'working'}
        tx.state.notified = clearNotified(tx.state.notified, [`session_not_started:${a.session}`])
        tx.state.notified = clearNotified(tx.state.notified, [`task_stalled:${a.project}/${a.task}`])
        return true
      }

      case 'rebuild-record': {
        tx.state.sessions[a.session] = {account: a.account, conversation_id: a.conversation_id, since: now.toISOString(), state: 'working', task: `${a.project}/${a.task}`}
        deps.log.info(`${a.session}: record rebuilt from the claim of ${a.project}/${a.task}`)
        return true
      }

      case 'release-session': {
        const record = tx.state.sessions[a.session]
        tx.state.sessions[a.session] = {account: record?.account ?? null, conversation_id: null, since: now.toISOString(), state: 'idle', task: null}
        return true
      }

      case 'create-session': {
        if (!pool.has(a.session)) return false
        tx.assertHeld()
        await deps.tmux.newSession(a.session, {cwd: deps.home ?? homedir(), env: {CLAUDE_FAILOVER_SESSION: a.session}})
        crashpoint('reconcile:after-create')
        tx.state.sessions[a.session] = {account: tx.state.active_account, conversation_id: null, since: now.toISOString(), state: 'idle', task: null}
        await appendEvent(config.stateDir, 'session_created', {reason: a.reason, session: a.session}, now)
        deps.log.info(`${a.session}: created (${a.reason})`)
        return true
      }

      case 'dedicated-dead': {
        const record = tx.state.sessions[a.session]
        tx.state.sessions[a.session] = {account: record?.account ?? null, conversation_id: record?.conversation_id ?? null, since: now.toISOString(), state: 'dead', task: null}
        await appendEvent(config.stateDir, 'session_died', {dedicated: true, session: a.session}, now)
        offered.push(
          sessionDied({
            account: record?.account ?? null,
            next: 'Next: dedicated sessions are the operator\'s; reconcile does not recreate them. Start it again by hand (a swap relaunches it if it is alive).',
            reason: 'the tmux session is gone',
            session: a.session,
          }),
        )
        deps.log.warn(`dedicated session ${a.session} is dead`)
        return true
      }

      case 'dedicated-back': {
        const record = tx.state.sessions[a.session]
        if (record) tx.state.sessions[a.session] = {...record, since: now.toISOString(), state: 'idle'}
        await appendEvent(config.stateDir, 'session_recovered', {dedicated: true, session: a.session}, now)
        offered.push(sessionRecovered({account: record?.account ?? null, session: a.session}))
        return true
      }
    }
  }
}

/**
 * The boot guard: every home's shared links (seed 003), then the active account's home must start
 * without a first-launch screen (the other homes are checked by the swap that would go there, and
 * warned about here). Null when the boot may go on.
 */
async function bootGuard(config: Config, active: string, result: ReconcileResult): Promise<ReconcileResult['refused']> {
  const links = (await checkSharedLinks(config)).map((p) => describeProblem(p))
  if (links.length > 0) return {problems: links, what: 'shared-links'}
  const {problems} = await checkHomes(config)
  const lines = (account: boolean) => problems.filter((p) => (p.account === active) === account).map((p) => describeHomeProblem(p))
  result.warnings.push(...lines(false).map((line) => `${line}; a swap will refuse this home until then`))
  return lines(true).length > 0 ? {problems: lines(true), what: 'account-home'} : null
}

/** The error to report after the output: exit 78 for a refused boot, else the first failed action. */
export function reconcileFailure(result: ReconcileResult): FailoverError | undefined {
  if (result.refused?.what === 'shared-links') {
    return fail('config', `reconcile --boot refused to start the pool: ${result.refused.problems.length} shared-link problem(s) (seed 003: conversations could not resume across accounts)`, {
      details: [...result.refused.problems, 'fix them (claude-failover validate-symlinks --fix creates missing links), then run reconcile --boot again'],
    })
  }

  if (result.refused) {
    return fail('config', `reconcile --boot refused to start the pool: the active account's home would stop at a first-launch screen`, {
      details: [...result.refused.problems, `fix: ${HOMES_FIX}, then run reconcile --boot again`],
    })
  }

  if (result.errors.length > 0) {
    return fail('unavailable', `${result.errors.length} reconcile action(s) failed; the others were applied`, {
      details: result.errors.slice(0, 20).map((e) => `${e.action}${e.session ? ` ${e.session}` : ''}${e.task ? ` ${e.task}` : ''}: ${e.message}`),
    })
  }

  return undefined
}
