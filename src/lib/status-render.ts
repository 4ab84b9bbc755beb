import type {StatusReport} from './status.js'

import type {WindowView} from './usage/view.js'

import {colour, relative, table} from './render.js'
import {earliestRunOut} from './usage/view.js'

/** The status report as a few short tables for a terminal. */
export function renderStatus(report: StatusReport, now: Date): string {
  const out: string[] = []
  out.push(colour.heading('Accounts'))
  out.push(
    table(
      ['account', 'active', 'exhausted until', 'limit', 'home'],
      report.accounts.map((a) => [
        a.name,
        a.active ? colour.good('yes') : '',
        a.exhausted ? colour.bad(`${a.exhausted_until} (${relative(a.exhausted_until, now)})`) : colour.dim(a.exhausted_until ? 'reset passed' : '-'),
        a.limit ? colour.warn(a.limit) : colour.dim('-'),
        a.home,
      ]),
    ),
  )
  for (const a of report.accounts) {
    if (a.login_required) out.push(colour.bad(`${a.name}: needs a login since ${relative(a.login_required.since, now)} (${JSON.stringify(a.login_required.snippet.slice(0, 60))}); never swapped to until then; fix: ${a.login_required.fix}`))
  }

  out.push(...renderUsage(report, now))
  if (report.dispatch_paused_until && Date.parse(report.dispatch_paused_until) > now.getTime()) {
    out.push(colour.warn(`dispatch paused until ${report.dispatch_paused_until} (${relative(report.dispatch_paused_until, now)})`))
  }

  out.push('', colour.heading(`Sessions (tmux ${report.tmux.running ? 'running' : colour.bad('not running')}${report.tmux.socket ? ` on ${report.tmux.socket}` : ''})`))
  out.push(
    table(
      ['session', 'kind', 'alive', 'state', 'task', 'account', 'conversation', 'since'],
      report.sessions.map((s) => [
        s.name,
        s.kind,
        s.alive ? colour.good('yes') : colour.dim('no'),
        (s.state === 'dead' || s.state === 'stalled' || s.state === 'awaiting_input' || s.state === 'auth_error' ? colour.bad(s.state) : s.state) + (s.limit ? ` · ${colour.warn(s.limit)}` : ''),
        s.task ?? '-',
        s.account ?? '-',
        s.conversation_id ? s.conversation_id.slice(0, 8) : '-',
        relative(s.since, now),
      ]),
    ),
  )
  for (const s of report.sessions) {
    if (s.stuck) out.push(colour.bad(`${s.name}: ${s.stuck.verdict === 'auth_error' ? 'login gone' : 'waiting for input'} since ${relative(s.stuck.since, now)} (${JSON.stringify(s.stuck.snippet.slice(0, 60))}); ${s.stuck.way_out}`))
  }

  out.push('', colour.heading('Queues'))
  out.push(
    report.queues.length === 0
      ? colour.dim('no projects (set projects: or projects_dir: in the config)')
      : table(
          ['project', 'inbox', 'blocked', 'invalid', 'dispatched', 'done', 'failed'],
          report.queues.map((q) => [q.project, q.inbox, q.blocked, q.invalid > 0 ? colour.bad(String(q.invalid)) : 0, q.dispatched, q.done, q.failed > 0 ? colour.bad(String(q.failed)) : 0]),
        ),
  )
  const swap = report.last_swap
  out.push('', `${colour.heading('Last swap')} ${swap ? `${swap.from ?? '?'} -> ${swap.to} at ${swap.at} (${relative(swap.at, now)})` : colour.dim('never')}`)
  out.push('', colour.heading('Recent events'))
  out.push(
    report.events.length === 0
      ? colour.dim('none')
      : report.events
          .map((e) => {
            const {event, ts, ...rest} = e
            const detail = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ')
            return `${ts}  ${event}  ${colour.dim(detail)}`
          })
          .join('\n'),
  )
  for (const warning of report.warnings) out.push(colour.warn(`warning: ${warning}`))
  return out.join('\n')
}

/** One window's cell: `42% · resets in 2h` (dim when stale), or `-`. */
function windowCell(view: WindowView | null, now: Date): string {
  if (!view) return colour.dim('-')
  const text = `${view.used_percentage}%${view.resets_at ? ` · resets ${relative(view.resets_at, now)}` : ''}`
  if (view.stale) return colour.dim(`${text} (seen ${relative(view.seen_at, now)})`)
  return view.used_percentage >= 90 ? colour.warn(text) : text
}

/** The usage table (what the statusLine recorded), or one dim line when nothing was recorded. */
function renderUsage(report: StatusReport, now: Date): string[] {
  const seen = report.usage.filter((u) => u.five_hour || u.seven_day)
  if (seen.length === 0) return [colour.dim('usage: nothing recorded yet (subscription accounts report it through the statusLine after their first response)')]
  const runsOut = (u: StatusReport['usage'][number]) => {
    const at = earliestRunOut(u)
    if (at) return Date.parse(at) <= now.getTime() ? colour.bad('now') : colour.warn(`${at} (${relative(at, now)})`)
    const resetsFirst = [u.five_hour, u.seven_day].some((w) => w && !w.stale && w.resets_first)
    return resetsFirst ? colour.good('resets first') : '—'
  }

  return [
    '',
    colour.heading('Usage (from the statusLine)'),
    table(
      ['account', '5-hour', 'weekly', 'runs out at the current rate'],
      report.usage.map((u) => [u.account, windowCell(u.five_hour, now), windowCell(u.seven_day, now), u.five_hour || u.seven_day ? runsOut(u) : '—']),
    ),
  ]
}
