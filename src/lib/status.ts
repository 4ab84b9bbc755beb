// `status`: one read-only picture of accounts, pool, queues, last swap and recent events. It never
// takes the lock, so it answers while a swap is running (reliability P9).
import type {Config} from './config.js'
import type {Tmux} from './tmux.js'

import {FailoverError} from './errors.js'
import {type EventRecord, readRecentEvents} from './events.js'
import {readStateSnapshot} from './lock.js'
import {dedicatedSessionNames, poolSessionNames} from './pool.js'
import {countQueue, discoverProjects, type QueueCounts} from './queue/layout.js'
import {checkSharedLinks, describeProblem} from './symlinks.js'

export interface StatusReport {
  /** With --check: what needs a human; empty when all is well. */
  problems?: string[]
  active_account: string | null
  accounts: {name: string; home: string; active: boolean; exhausted_until: string | null; exhausted: boolean}[]
  sessions: {
    name: string
    kind: 'pool' | 'dedicated'
    alive: boolean
    state: string
    task: string | null
    account: string | null
    conversation_id: string | null
    since: string | null
  }[]
  queues: QueueCounts[]
  last_swap: {at: string; from: string | null; to: string} | null
  dispatch_paused_until: string | null
  tmux: {running: boolean; socket: string | null; error?: string}
  events: EventRecord[]
  warnings: string[]
}

export interface StatusDeps {
  tmux: Tmux
  now: () => Date
}

/**
 * What needs a human (for `status --check`): every account exhausted, a session stuck at a prompt
 * or modal, a stalled task, a broken shared link, an account home that would stop at a first-launch
 * screen, no tmux server. Empty when all is well.
 */
export async function attentionNeeded(config: Config, report: StatusReport): Promise<{problems: string[]; brokenLinks: boolean}> {
  const problems: string[] = []
  const exhausted = report.accounts.filter((a) => a.exhausted)
  if (exhausted.length === report.accounts.length && exhausted.length > 0) {
    const earliest = exhausted.map((a) => a.exhausted_until as string).sort()[0]
    problems.push(`every account is exhausted; the earliest is back at ${earliest}`)
  }

  for (const s of report.sessions) {
    if (s.state === 'awaiting_input') problems.push(`${s.name} is waiting at a prompt or modal (tmux attach -t ${s.name} to answer it)`)
    if (s.state === 'stalled') problems.push(`${s.name} has stalled on ${s.task ?? 'its task'} since ${s.since}`)
  }

  if (!report.tmux.running && config.autonomous.min > 0) problems.push(`no tmux server is running${report.tmux.socket ? ` on ${report.tmux.socket}` : ''}`)
  const links = await checkSharedLinks(config)
  problems.push(...links.map((p) => describeProblem(p)))
  // A home that would stop at a first-launch screen: the swap into it (or a boot) is refused.
  const {checkHomes, describeHomeProblem} = await import('./homes.js')
  problems.push(...(await checkHomes(config)).problems.filter((p) => p.gap !== 'home-missing').map((p) => describeHomeProblem(p)))
  return {brokenLinks: links.length > 0, problems}
}

/** Gathers the status report from state.json, tmux and the queue folders. */
export async function gatherStatus(config: Config, deps: StatusDeps, options: {events?: number} = {}): Promise<StatusReport> {
  const now = deps.now()
  const [{state, warnings}, tmuxView, {projects, warnings: projectWarnings}, events] = await Promise.all([
    readStateSnapshot(config),
    listLive(deps.tmux),
    discoverProjects(config),
    readRecentEvents(config.stateDir, options.events ?? 10),
  ])
  const live = new Map(tmuxView.sessions.map((s) => [s.name, s]))

  const accounts = config.accounts.map((account) => {
    const until = state.accounts[account.name]?.exhausted_until ?? null
    return {
      active: state.active_account === account.name,
      exhausted: until !== null && Date.parse(until) > now.getTime(),
      exhausted_until: until,
      home: account.home,
      name: account.name,
    }
  })

  const describe = (name: string, kind: 'pool' | 'dedicated') => {
    const record = state.sessions[name]
    const info = live.get(name)
    const alive = info !== undefined && !info.paneDead
    return {
      account: record?.account ?? null,
      alive,
      conversation_id: record?.conversation_id ?? null,
      kind,
      name,
      since: record?.since ?? null,
      state: alive ? (record?.state ?? 'idle') : record ? 'dead' : 'absent',
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
