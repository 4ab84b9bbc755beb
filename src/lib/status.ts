// `status`: one read-only picture of accounts, pool, queues, last swap and recent events. It never
// takes the lock, so it answers while a swap is running (reliability P9).
import {statSync} from 'node:fs'

import type {Config} from './config.js'
import type {StuckSession} from './state.js'
import type {Tmux} from './tmux.js'

import {FailoverError} from './errors.js'
import {type EventRecord, readRecentEvents} from './events.js'
import {readStateSnapshot} from './lock.js'
import {dedicatedSessionNames, poolSessionNames} from './pool.js'
import {countQueue, discoverProjects, type QueueCounts} from './queue/layout.js'
import {describeLoginRequired, loginFix, loginMark} from './logins.js'
import {describeStuck, stuckWayOut} from './stuck.js'
import {recordedUsage} from './usage/recorded.js'
import type {AccountUsage} from './usage/view.js'
import {checkSharedLinks, describeProblem} from './symlinks.js'

export interface StatusReport {
  /** With --check: what needs a human; empty when all is well. */
  problems?: string[]
  active_account: string | null
  accounts: {
    name: string
    home: string
    active: boolean
    exhausted_until: string | null
    exhausted: boolean
    /** Its login was seen gone (quota check's mark): never a swap target until it works again. */
    login_required: {since: string; session: string | null; source: string; snippet: string; fix: string} | null
    /** The limit policy's choice while the account is out: `waiting until 20:21 (native wait)` or `swapped until …`; null when not out. */
    limit: string | null
  }[]
  sessions: {
    name: string
    kind: 'pool' | 'dedicated'
    alive: boolean
    state: string
    task: string | null
    account: string | null
    conversation_id: string | null
    since: string | null
    /** On the account Claude Code is waiting out natively: `waiting until 20:21 (native wait)`. */
    limit: string | null
    /** Waiting for what no tick will give it (quota check's record): the verdict and the way out. */
    stuck: {verdict: StuckSession['verdict']; since: string; snippet: string; way_out: string} | null
  }[]
  queues: QueueCounts[]
  last_swap: {at: string; from: string | null; to: string} | null
  dispatch_paused_until: string | null
  tmux: {running: boolean; socket: string | null; error?: string}
  events: EventRecord[]
  /** Per account, what the statusLine recorded: used % and reset per window, and when it runs out at the current rate. */
  usage: AccountUsage[]
  warnings: string[]
}

export interface StatusDeps {
  tmux: Tmux
  now: () => Date
}

/** Task names for a message: the first few, then a count. */
function someOf(names: readonly string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')
}

/**
 * What needs a human (for `status --check`), one line per condition, for as long as it lasts:
 * every account exhausted; a session stuck at a prompt or modal, or whose login is gone; a stalled
 * task; failed tasks (until retried or removed); invalid tasks (until fixed or removed); a
 * dependency cycle (until broken); a configured project whose folder is missing; a broken shared
 * link; an account home that would stop at a first-launch screen; no tmux server. Empty when all is well.
 */
export async function attentionNeeded(config: Config, report: StatusReport): Promise<{problems: string[]; brokenLinks: boolean}> {
  const problems: string[] = []
  const exhausted = report.accounts.filter((a) => a.exhausted)
  if (exhausted.length === report.accounts.length && exhausted.length > 0) {
    const earliest = exhausted.map((a) => a.exhausted_until as string).sort()[0]
    problems.push(`every account is exhausted; the earliest is back at ${earliest}`)
  }

  for (const s of report.sessions) {
    if (s.stuck) problems.push(describeStuck(config, s.name, {...s.stuck, account: s.account}))
    else if (s.state === 'awaiting_input') problems.push(`${s.name} is waiting at a prompt or modal; ${stuckWayOut(config, s.name, {account: s.account, verdict: 'awaiting_input'})}`)
    if (s.state === 'stalled') problems.push(`${s.name} has stalled on ${s.task ?? 'its task'} since ${s.since}`)
  }

  for (const a of report.accounts) {
    if (a.login_required) problems.push(describeLoginRequired(config, a.name, a.login_required))
  }

  const unusable = report.accounts.filter((a) => a.exhausted || a.login_required)
  if (unusable.length === report.accounts.length && unusable.length > exhausted.length) {
    problems.push(`no account can take the pool: ${unusable.map((a) => (a.login_required ? `${a.name} needs a login` : `${a.name} is exhausted until ${a.exhausted_until}`)).join('; ')}`)
  }

  if (!report.tmux.running && config.autonomous.min > 0) problems.push(`no tmux server is running${report.tmux.socket ? ` on ${report.tmux.socket}` : ''}`)
  problems.push(...(await queueProblems(config, report)))
  const links = await checkSharedLinks(config)
  problems.push(...links.map((p) => describeProblem(p)))
  // A home that would stop at a first-launch screen: the swap into it (or a boot) is refused.
  const {checkHomes, describeHomeProblem} = await import('./homes.js')
  problems.push(...(await checkHomes(config)).problems.filter((p) => p.gap !== 'home-missing').map((p) => describeHomeProblem(p)))
  return {brokenLinks: links.length > 0, problems}
}

/** The queue's share of --check: missing project folders, failed and invalid tasks, dependency cycles. */
async function queueProblems(config: Config, report: StatusReport): Promise<string[]> {
  const problems: string[] = []
  for (const project of config.projects) {
    if (!statSync(project.path, {throwIfNoEntry: false})?.isDirectory()) {
      problems.push(`project ${project.name} has no folder at ${project.path}: create it, or fix its path in ${config.file}`)
    }
  }

  const {listTasks} = await import('./queue/list.js')
  const {CYCLE_REASON_PREFIX} = await import('./queue/dependencies.js')
  for (const q of report.queues) {
    const ids = async (state: 'blocked' | 'failed' | 'invalid') => (await listTasks(config, {project: q.project, state})).tasks
    if (q.failed > 0) {
      const failed = (await ids('failed')).map((t) => t.task)
      problems.push(`${q.project}: ${failed.length} failed task(s) (${someOf(failed)}): see why with claude-failover task list --project ${q.project} --state failed, then move each back to inbox/ to retry it or delete it`)
    }

    if (q.invalid > 0) {
      const invalid = await ids('invalid')
      problems.push(`${q.project}: ${invalid.length} invalid task(s) (${someOf(invalid.map((t) => t.task))}), e.g. ${invalid[0]?.task}: ${invalid[0]?.reason ?? ''}; fix or delete each file`)
    }

    if (q.blocked > 0) {
      const cycles = (await ids('blocked')).filter((t) => t.reason?.startsWith(CYCLE_REASON_PREFIX))
      if (cycles.length > 0) problems.push(`${q.project}: ${cycles[0]?.reason}${cycles.length > 1 ? ` (${cycles.length} tasks of ${q.project} are in a cycle)` : ''}`)
    }
  }

  return problems
}

/** Gathers the status report from state.json, tmux and the queue folders. */
export async function gatherStatus(config: Config, deps: StatusDeps, options: {events?: number} = {}): Promise<StatusReport> {
  const now = deps.now()
  const [{state, warnings}, tmuxView, {projects, warnings: projectWarnings}, events, usage] = await Promise.all([
    readStateSnapshot(config),
    listLive(deps.tmux),
    discoverProjects(config),
    readRecentEvents(config.stateDir, options.events ?? 10),
    recordedUsage(config, now),
  ])
  const live = new Map(tmuxView.sessions.map((s) => [s.name, s]))

  const clock = (iso: string) =>
    new Intl.DateTimeFormat('en-GB', {hour: '2-digit', hourCycle: 'h23', minute: '2-digit', ...(config.quota.timezone ? {timeZone: config.quota.timezone} : {})}).format(new Date(iso))
  const accounts = config.accounts.map((account) => {
    const entry = state.accounts[account.name]
    const until = entry?.exhausted_until ?? null
    const exhausted = until !== null && Date.parse(until) > now.getTime()
    const limit = !exhausted ? null : entry?.waiting ? `waiting until ${entry.waiting.until ? clock(entry.waiting.until) : 'its reset'} (native wait)` : `swapped, out until ${clock(until)}`
    const mark = loginMark(state, account.name)
    return {
      active: state.active_account === account.name,
      exhausted,
      exhausted_until: until,
      home: account.home,
      limit,
      login_required: mark ? {fix: loginFix(config, account.name), session: mark.session, since: mark.since, snippet: mark.snippet, source: mark.source} : null,
      name: account.name,
    }
  })
  const waitingLimit = new Map(accounts.filter((a) => a.limit?.startsWith('waiting')).map((a) => [a.name, a.limit]))

  const describe = (name: string, kind: 'pool' | 'dedicated') => {
    const record = state.sessions[name]
    const info = live.get(name)
    const alive = info !== undefined && !info.paneDead
    const stuck = alive ? state.stuck?.[name] : undefined
    return {
      account: stuck?.account ?? record?.account ?? null,
      alive,
      conversation_id: record?.conversation_id ?? null,
      kind,
      limit: alive ? (waitingLimit.get(stuck?.account ?? record?.account ?? '') ?? null) : null,
      name,
      since: record?.since ?? null,
      state: stuck ? stuck.verdict : alive ? (record?.state ?? 'idle') : record ? 'dead' : 'absent',
      stuck: stuck ? {since: stuck.since, snippet: stuck.snippet, verdict: stuck.verdict, way_out: stuckWayOut(config, name, stuck)} : null,
      task: record?.task ?? null,
    }
  }

  return {
    accounts,
    active_account: state.active_account,
    dispatch_paused_until: state.dispatch_paused_until,
    events,
    last_swap: state.last_swap,
    queues: await Promise.all(projects.map((project) => countQueue(project))),
    sessions: [...poolSessionNames(config).map((n) => describe(n, 'pool')), ...dedicatedSessionNames(config).map((n) => describe(n, 'dedicated'))],
    tmux: {running: tmuxView.running, socket: config.tmux.socket ?? null, ...(tmuxView.error ? {error: tmuxView.error} : {})},
    usage,
    warnings: [...warnings, ...projectWarnings, ...(tmuxView.error ? [tmuxView.error] : [])],
  }
}

async function listLive(tmux: Tmux): Promise<{running: boolean; sessions: Awaited<ReturnType<Tmux['listSessions']>>; error?: string}> {
  try {
    return await tmux.survey()
  } catch (error) {
    // status must answer even when tmux is missing or hung: report it instead of failing.
    if (error instanceof FailoverError) return {error: error.message, running: false, sessions: []}
    throw error
  }
}
