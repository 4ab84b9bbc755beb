// Sessions that look alive but wait for what no tick will give them: a modal, a menu or a
// permission prompt (`awaiting_input`), or a login that is gone (`auth_error`). quota check reads
// the verdicts (the pane classifier's, not ours) and records them in state.json; status shows them,
// status --check exits non-zero on them, and each lands one event and one notification.
import type {Config} from './config.js'
import type {State, StuckSession} from './state.js'

import {STUCK_VERDICTS} from './state.js'

/** One session's verdict, as quota check observed it. */
export interface ObservedVerdict {
  session: string
  verdict: string
  pattern: string
  snippet: string
}

/** The stuck sessions after this poll: a session still stuck keeps its first `since`; one no longer stuck is dropped. */
export function stuckSessions(observed: readonly ObservedVerdict[], previous: Readonly<Record<string, StuckSession>>, state: Pick<State, 'active_account' | 'sessions'>, now: Date): Record<string, StuckSession> {
  const next: Record<string, StuckSession> = {}
  for (const v of observed) {
    if (!(STUCK_VERDICTS as readonly string[]).includes(v.verdict)) continue
    const verdict = v.verdict as StuckSession['verdict']
    const before = previous[v.session]
    next[v.session] =
      before?.verdict === verdict
        ? before
        : {account: state.sessions[v.session]?.account ?? state.active_account, pattern: v.pattern, since: now.toISOString(), snippet: v.snippet.slice(0, 120), verdict}
  }

  return next
}

/** True when two maps name the same sessions with the same verdicts. */
export function sameStuck(a: Readonly<Record<string, StuckSession>>, b: Readonly<Record<string, StuckSession>>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => b[k]?.verdict === a[k]?.verdict)
}

/** What the operator does about it, in one clause. */
export function stuckWayOut(config: Config, session: string, entry: Pick<StuckSession, 'account' | 'verdict'>): string {
  if (entry.verdict === 'auth_error') {
    const home = config.accounts.find((a) => a.name === entry.account)?.home
    return `log account ${entry.account ?? '(unknown)'} in again: CLAUDE_CONFIG_DIR=${home ?? '<its home>'} claude, then /login`
  }

  const attach = `tmux ${config.tmux.socket ? `-S ${config.tmux.socket} ` : ''}attach -t ${session}`
  return `answer it in the session (${attach}); for Claude Code's first-launch modals, pre-accept them in every account home (README, Troubleshooting)`
}

/** The status --check line for one stuck session. */
export function describeStuck(config: Config, session: string, entry: Pick<StuckSession, 'account' | 'since' | 'snippet' | 'verdict'>): string {
  const what = entry.verdict === 'auth_error' ? `has lost its login (account ${entry.account ?? 'unknown'})` : 'is waiting for input nothing will give it'
  return `${session} ${what} since ${entry.since}: ${JSON.stringify(entry.snippet.slice(0, 60))}; ${stuckWayOut(config, session, entry)}`
}
