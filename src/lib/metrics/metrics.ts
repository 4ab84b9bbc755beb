// `metrics` (issue 16 item 5): the pool as OpenMetrics/Prometheus text, for node_exporter's textfile
// collector (the tick rewrites `metrics.file` atomically) or on demand. Read-only except for its own
// small state file (the event counters' offset, the last tick's duration).
import {statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import type {Config} from '../config.js'
import type {StatusReport} from '../status.js'
import type {Tmux} from '../tmux.js'
import type {AccountUsage} from '../usage/view.js'

import {fail} from '../errors.js'
import {ensurePrivateDir, writeFileAtomic} from '../fs-atomic.js'
import {SESSION_STATES} from '../state.js'
import {gatherStatus} from '../status.js'
import {WINDOWS} from '../usage/records.js'
import {advanceCounts, type EventCounts, type MetricsState, readMetricsState, writeMetricsState} from './event-counts.js'
import {type ExpositionFormat, exposition, type MetricFamily} from './exposition.js'

export interface MetricsDeps {
  tmux: Tmux
  now: () => Date
}

export interface MetricsOptions {
  format: ExpositionFormat
  /** Write here (atomically, 0644 so node_exporter's user can read it) instead of returning only. */
  output?: string
  /** The tick's own duration, recorded for this and later exports. */
  tickSeconds?: number
}

export interface MetricsResult {
  format: ExpositionFormat
  text: string
  families: number
  output: string | null
}

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined)
const PREFIX = 'claude_failover_'

/** The metric families for a status report, the usage records, the event counters and the last tick (pure). */
export function metricFamilies(input: {report: StatusReport; usage: AccountUsage[]; loginRequired: Record<string, boolean>; counts: EventCounts; tick: MetricsState['tick']; now: Date}): MetricFamily[] {
  const {counts, report, tick, usage} = input
  const family = (name: string, type: MetricFamily['type'], help: string, samples: MetricFamily['samples']): MetricFamily => ({help, name: `${PREFIX}${name}`, samples, type})
  const perWindow = (pick: (u: AccountUsage, w: (typeof WINDOWS)[number]) => number | undefined) =>
    usage.flatMap((u) =>
      WINDOWS.flatMap((window) => {
        const value = pick(u, window)
        return value === undefined ? [] : [{labels: {account: u.account, window}, value}]
      }),
    )
  const sessionStates = new Set<string>([...SESSION_STATES, 'absent', 'auth_error', ...report.sessions.map((s) => s.state)])
  const taskStates = ['inbox', 'blocked', 'invalid', 'dispatched', 'done', 'failed'] as const
  return [
    family('account_active', 'gauge', 'Whether the pool runs on this account (1) or not (0).', report.accounts.map((a) => ({labels: {account: a.name}, value: a.active ? 1 : 0}))),
    family('account_exhausted', 'gauge', 'Whether the account is marked exhausted (1) or usable (0).', report.accounts.map((a) => ({labels: {account: a.name}, value: a.exhausted ? 1 : 0}))),
    family(
      'account_exhausted_until_timestamp_seconds',
      'gauge',
      'When an exhausted account may be used again (its reset plus reset_grace), Unix seconds.',
      report.accounts.flatMap((a) => (a.exhausted && a.exhausted_until ? [{labels: {account: a.name}, value: seconds(a.exhausted_until) as number}] : [])),
    ),
    family('account_login_required', 'gauge', 'Whether the account needs a new login (1) or not (0).', report.accounts.map((a) => ({labels: {account: a.name}, value: input.loginRequired[a.name] ? 1 : 0}))),
    family('account_usage_percent', 'gauge', "The account's used share of the window, as its sessions' statusLine last reported it (fresh readings only).", perWindow((u, w) => (u[w] && !u[w].stale ? u[w].used_percentage : undefined))),
    family('account_usage_resets_timestamp_seconds', 'gauge', 'When the window resets, Unix seconds (fresh readings only).', perWindow((u, w) => (u[w] && !u[w].stale ? seconds(u[w].resets_at) : undefined))),
    family('account_usage_seen_timestamp_seconds', 'gauge', 'When the statusLine last reported the window, Unix seconds.', perWindow((u, w) => seconds(u[w]?.seen_at))),
    family('account_usage_runs_out_timestamp_seconds', 'gauge', 'When the window runs out at the recent burn rate, Unix seconds (only when it would run out before its reset).', perWindow((u, w) => (u[w] && !u[w].stale ? seconds(u[w].runs_out_at) : undefined))),
    family('swaps', 'counter', 'Swaps completed, by reason (limit, proactive, operator, …).', Object.entries(counts.swaps).map(([reason, value]) => ({labels: {reason}, value}))),
    family('swap_failures', 'counter', 'Swaps that failed, by reason.', Object.entries(counts.swap_failures).map(([reason, value]) => ({labels: {reason}, value}))),
    family('last_swap_timestamp_seconds', 'gauge', 'When the last swap happened, Unix seconds.', report.last_swap ? [{value: seconds(report.last_swap.at) as number}] : []),
    family('limit_to_resume_seconds', 'summary', 'Time from a limit (the hook record, else its detection) to the swap that resumed the pool.', [
      {suffix: '_sum', value: counts.limit_to_resume.sum},
      {suffix: '_count', value: counts.limit_to_resume.count},
    ]),
    family('last_limit_to_resume_seconds', 'gauge', 'Time from the last limit to the swap that resumed the pool.', counts.limit_to_resume.last === null ? [] : [{value: counts.limit_to_resume.last}]),
    family(
      'sessions',
      'gauge',
      'Pool and dedicated sessions by state.',
      [...sessionStates].flatMap((state) => (['pool', 'dedicated'] as const).map((kind) => ({labels: {kind, state}, value: report.sessions.filter((s) => s.kind === kind && s.state === state).length}))),
    ),
    family('tasks', 'gauge', 'Tasks by project and state (the queue folders).', report.queues.flatMap((q) => taskStates.map((state) => ({labels: {project: q.project, state}, value: q[state]})))),
    family('dispatch_paused', 'gauge', 'Whether dispatching is paused (every account exhausted).', [{value: report.dispatch_paused_until && Date.parse(report.dispatch_paused_until) > input.now.getTime() ? 1 : 0}]),
    family('tmux_up', 'gauge', "Whether the pool's tmux server is running.", [{value: report.tmux.running ? 1 : 0}]),
    family('tick_duration_seconds', 'gauge', 'How long the last tick took.', tick ? [{value: tick.seconds}] : []),
    family('last_tick_timestamp_seconds', 'gauge', 'When the last tick ended, Unix seconds.', tick ? [{value: seconds(tick.at) as number}] : []),
  ]
}

/** Gathers everything, renders it, and writes it to `options.output` when given. */
export async function exportMetrics(config: Config, deps: MetricsDeps, options: MetricsOptions): Promise<MetricsResult> {
  const now = deps.now()
  const folder = options.output ? dirname(resolve(options.output)) : undefined
  if (folder && !statSync(folder, {throwIfNoEntry: false})?.isDirectory()) throw fail('cantCreate', `cannot write ${options.output}: the folder ${folder} does not exist; create it first (e.g. mkdir -p ${folder})`)
  const [report, previous] = await Promise.all([gatherStatus(config, deps, {events: 0}), readMetricsState(config.stateDir)])
  const loginRequired = Object.fromEntries(report.accounts.map((a) => [a.name, a.login_required !== null]))
  const counts = await advanceCounts(config.stateDir, previous.events)
  const tick = options.tickSeconds === undefined ? previous.tick : {at: now.toISOString(), seconds: options.tickSeconds}
  const families = metricFamilies({counts, loginRequired, now, report, tick, usage: report.usage})
  const text = exposition(families, options.format)
  await ensurePrivateDir(config.stateDir)
  await writeMetricsState(config.stateDir, {events: counts, tick, version: 1})
  if (options.output) await writeFileAtomic(options.output, text, {mode: 0o644})

  return {families: families.filter((f) => f.samples.length > 0).length, format: options.format, output: options.output ?? null, text}
}

