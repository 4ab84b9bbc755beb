// Logins watched (issue 16 item 4). A session whose request came back "Not logged in · Please run
// /login" (pane), StopFailure `authentication_failed` (hook) or an `authentication_failed`
// transcript record marks its ACCOUNT `login_required` in state.json: never a swap target, shown by
// `status`, a problem for `status --check`, notified once with the command that fixes it. The mark is
// cleared by proof that the login works again:
//  - a `Stop` from a session under that account's home written after the failing record: Stop fires
//    only when the API answered a turn. SessionStart is no proof: Claude Code sends it before any
//    request, logged in or not;
//  - the home's `.credentials.json` rewritten after the mark (what `/login` does): the operator fixed
//    it. Should the login still fail, the next failing record marks it again;
//  - the operator's own `swap --to` into it (swap.ts).
// Evidence older than the last clear never marks again: the pane keeps showing the old "Not logged
// in" line until the next turn, and that must not undo the clear.
// A marked ACTIVE account makes quota check swap away once, if some account is usable (neither
// exhausted nor marked): every turn on it fails at once with no retry, so staying means a dead pool
// until a human acts. It cannot ping-pong: a marked account is never a target, so each further swap
// needs a new account to fail; with no usable account the pool stays and the notification says so.
import type {Config} from './config.js'
import type {Transaction} from './lock.js'
import type {Logger} from './log.js'
import type {LoginMark, LoginState, State, StuckSession} from './state.js'

import {appendEvent} from './events.js'
import {readStateFile} from './state.js'
import {stat} from './fs.js'
import {accountLoginRequired, accountLoginRestored, deliverNotifications, type Notification} from './notify/notifier.js'
import {dedicatedSessionNames, poolSessionNames} from './pool.js'
import {classifyMessage} from './quota/classify.js'
import {type SignalRecord, signalReader} from './signals.js'

/** One sighting of a lost login in this poll. */
export interface LoginEvidence {
  account: string
  session: string
  source: string
  pattern: string
  snippet: string
  /** The failing record's time, or when the session was first seen so (pane only). */
  at: string
}

/** The newest record proving an account's login works: a Stop under its home. */
export interface LoginSuccess {
  account: string
  session: string
  at: string
}

export interface LoginObservation {
  evidence: LoginEvidence[]
  successes: LoginSuccess[]
  /** Account → mtime of its home's `.credentials.json`, for marked accounts. */
  credentials: Record<string, string>
}

export type LoginClearReason = 'session_succeeded' | 'credentials_renewed' | 'operator_swap'

export interface LoginPlan {
  mark: LoginEvidence[]
  clear: {account: string; reason: LoginClearReason; session: string | null; at: string}[]
}

export interface LoginsOutcome extends LoginPlan {
  /** Accounts marked after this poll. */
  required: string[]
}

/** The command that fixes an account's login, as every message words it. */
export function loginFix(config: Config, account: string): string {
  const home = config.accounts.find((a) => a.name === account)?.home
  return `CLAUDE_CONFIG_DIR=${home ?? '<its home>'} claude, then /login`
}

/** The account's mark, or null when its login is not known to be gone. */
export function loginMark(state: Pick<State, 'logins'>, account: string): LoginMark | null {
  return state.logins?.[account]?.required ?? null
}

/** The account whose home is `configDir` (a hook record's CLAUDE_CONFIG_DIR). */
export function accountOfHome(config: Config, configDir: string | null | undefined): string | null {
  if (!configDir) return null
  const clean = (p: string) => p.replace(/\/+$/, '')
  return config.accounts.find((a) => clean(a.home) === clean(configDir))?.name ?? null
}

/** The one line for status --check and the status screen. */
export function describeLoginRequired(config: Config, account: string, mark: Pick<LoginMark, 'since' | 'session' | 'source' | 'snippet'>): string {
  const where = mark.session ? ` on ${mark.session}` : ''
  return `account ${account} needs a login since ${mark.since} (${mark.source}${where}: ${JSON.stringify(mark.snippet.slice(0, 60))}): it is never swapped to until then; fix: ${loginFix(config, account)}`
}

/** Accounts a swap may move to now: not the active one, not exhausted, not needing a login, in config order after the active one. */
export function usableTargets(config: Config, state: Pick<State, 'accounts' | 'active_account' | 'logins'>, now: Date): string[] {
  const names = config.accounts.map((a) => a.name)
  const start = Math.max(0, names.indexOf(state.active_account ?? ''))
  const ordered = names.map((_, i) => names[(start + 1 + i) % names.length] as string)
  return ordered.filter((name) => {
    if (name === state.active_account || loginMark(state, name)) return false
    const until = state.accounts[name]?.exhausted_until ?? null
    return !until || Date.parse(until) <= now.getTime()
  })
}

function isSuccess(record: SignalRecord, now: Date): boolean {
  if (record.event !== 'Stop') return false
  const text = record.last_assistant_message?.trim() ?? ''
  // An older Claude Code ended a failed turn with Stop and the error as its message.
  return text === '' || classifyMessage(text, {now}).verdict !== 'auth_error'
}

function isAuthFailure(record: SignalRecord): boolean {
  return record.event === 'StopFailure' && record.error === 'authentication_failed'
}

/**
 * Reads what this poll needs: the sessions quota check found without a login, and (only when some
 * account is marked or a login was seen lost) every session's newest Stop and the marked homes'
 * credentials. Read-only; costs nothing on a poll where no login is in question.
 */
export async function observeLogins(config: Config, state: Pick<State, 'logins'>, stuck: Readonly<Record<string, StuckSession>>, verdicts: readonly {session: string; source: string | null; sources?: readonly string[]}[], now: Date): Promise<LoginObservation> {
  const lost = Object.entries(stuck).filter(([, entry]) => entry.verdict === 'auth_error')
  const marked = Object.entries(state.logins ?? {}).filter(([, s]) => s.required !== null).map(([name]) => name)
  const observation: LoginObservation = {credentials: {}, evidence: [], successes: []}
  if (lost.length === 0 && marked.length === 0) return observation
  const read = signalReader(config.stateDir, 200)
  for (const [session, entry] of lost) {
    const records = await read(session)
    const started = records.filter((r) => r.event === 'SessionStart').at(-1)
    const failed = records.filter((r) => isAuthFailure(r) && (!started || r.ts >= started.ts)).at(-1)
    const verdict = verdicts.find((v) => v.session === session)
    // A session with hook records must have a fresh record that agrees: a conversation resumed on
    // another account redraws its old "Not logged in" line, which would mark the new account.
    // Claude Code 2.1.328 always ends a turn on a lost login with StopFailure authentication_failed.
    if (!failed && started && !verdict?.sources?.some((s) => s !== 'pane')) continue
    // An API-key 401 shows `✻ 401 invalid x-api-key · retrying …`: Claude Code has not given up, and
    // a retry that works must not have cost a swap. Its StopFailure, when it gives up, marks it.
    if (!failed && entry.pattern.startsWith('retrying_')) continue
    const account = accountOfHome(config, failed?.config_dir) ?? accountOfHome(config, started?.config_dir) ?? entry.account
    if (!account) continue
    const source = verdict?.source ?? 'pane'
    observation.evidence.push({account, at: failed?.ts ?? entry.since, pattern: entry.pattern, session, snippet: entry.snippet, source})
  }

  for (const session of [...poolSessionNames(config), ...dedicatedSessionNames(config)]) {
    for (const record of (await read(session)).filter((r) => isSuccess(r, now))) {
      const account = accountOfHome(config, record.config_dir)
      if (!account) continue
      const known = observation.successes.find((s) => s.account === account)
      if (!known) observation.successes.push({account, at: record.ts, session})
      else if (record.ts > known.at) Object.assign(known, {at: record.ts, session})
    }
  }

  for (const name of marked) {
    const home = config.accounts.find((a) => a.name === name)?.home
    if (!home) continue
    try {
      observation.credentials[name] = (await stat(`${home}/.credentials.json`)).mtime.toISOString()
    } catch {
      // No credentials file (a token in the environment or the settings): only a Stop clears it.
    }
  }

  return observation
}

/** The pure decision: which accounts to mark, which marks to clear, from this poll's observation. */
export function planLogins(state: Pick<State, 'logins'>, observation: LoginObservation): LoginPlan {
  const plan: LoginPlan = {clear: [], mark: []}
  const success = (account: string) => observation.successes.find((s) => s.account === account)
  for (const [account, entry] of Object.entries(state.logins ?? {})) {
    const mark = entry.required
    if (!mark) continue
    const ok = success(account)
    const renewed = observation.credentials[account]
    if (ok && ok.at > mark.evidence_at) plan.clear.push({account, at: ok.at, reason: 'session_succeeded', session: ok.session})
    else if (renewed && renewed > mark.since) plan.clear.push({account, at: renewed, reason: 'credentials_renewed', session: null})
  }

  const newest = new Map<string, LoginEvidence>()
  for (const e of observation.evidence) if ((newest.get(e.account)?.at ?? '') < e.at) newest.set(e.account, e)
  for (const [account, e] of newest) {
    const entry: LoginState | undefined = state.logins?.[account]
    if (entry?.required && !plan.clear.some((c) => c.account === account)) continue
    if (entry?.cleared_at && e.at <= entry.cleared_at) continue
    const ok = success(account)
    if (ok && ok.at > e.at) continue
    plan.mark.push(e)
  }

  return plan
}

/** What recording this observation would do (dry run, or a poll that takes no lock). */
export function previewLogins(state: Pick<State, 'logins'>, observation: LoginObservation): LoginsOutcome {
  const plan = planLogins(state, observation)
  const kept = Object.entries(state.logins ?? {}).filter(([name, s]) => s.required !== null && !plan.clear.some((c) => c.account === name)).map(([name]) => name)
  return {...plan, required: [...new Set([...kept, ...plan.mark.map((m) => m.account)])]}
}

/** True when this poll's observation changes the marks or must act on them (quota check then takes the lock). */
export function loginsNeedLock(config: Config, state: State, observation: LoginObservation, now: Date): boolean {
  const plan = planLogins(state, observation)
  if (plan.mark.length > 0 || plan.clear.length > 0) return true
  const marked = Object.values(state.logins ?? {}).some((s) => s.required !== null)
  // A marked account whose notice is not recorded yet (undelivered, or offered for the first time).
  if (marked && Object.entries(state.logins ?? {}).some(([name, s]) => s.required && !state.notified[`account_login_required:${name}`])) return true
  return loginSwapAway(config, state, now) !== null
}

/** Records marks and clears under the lock: state, one event each, a log line, and the notifications. */
export async function recordLogins(config: Config, tx: Transaction, observation: LoginObservation, deps: {now: () => Date; log: Logger}): Promise<LoginsOutcome> {
  const now = deps.now()
  const plan = planLogins(tx.state, observation)
  const logins: Record<string, LoginState> = {...tx.state.logins}
  const offered: Notification[] = []
  for (const c of plan.clear) {
    const was = logins[c.account]?.required ?? null
    logins[c.account] = {cleared_at: now.toISOString(), required: null}
    await appendEvent(config.stateDir, 'account_login_cleared', {account: c.account, at: c.at, reason: c.reason, session: c.session ?? undefined, was_since: was?.since}, now)
    deps.log.info(`[logins] ${c.account} is logged in again (${describeClear(c)})`)
    offered.push(accountLoginRestored({account: c.account, reason: describeClear(c)}))
  }

  for (const e of plan.mark) {
    logins[e.account] = {cleared_at: logins[e.account]?.cleared_at ?? null, required: {evidence_at: e.at, pattern: e.pattern, session: e.session, since: now.toISOString(), snippet: e.snippet.slice(0, 120), source: e.source}}
  }

  if (plan.clear.length > 0 || plan.mark.length > 0) tx.state.logins = logins
  for (const e of plan.mark) {
    const next = nextStep(config, tx.state, e.account, now)
    await appendEvent(config.stateDir, 'account_login_required', {account: e.account, evidence_at: e.at, fix: loginFix(config, e.account), next, pattern: e.pattern, session: e.session, snippet: e.snippet, source: e.source}, now)
    deps.log.warn(`[logins] ${describeLoginRequired(config, e.account, logins[e.account]?.required as LoginMark)}; ${next}`)
  }

  // Offered on every poll while marked: sent once (an `event` key), retried only if no channel took it.
  for (const [account, entry] of Object.entries(logins)) {
    if (!entry.required) continue
    const home = config.accounts.find((a) => a.name === account)?.home ?? '<its home>'
    offered.push(accountLoginRequired({account, fix: loginFix(config, account), home, next: `Next: ${nextStep(config, tx.state, account, now)}.`, session: entry.required.session, since: entry.required.since, snippet: entry.required.snippet}))
  }

  if (offered.length > 0) tx.state.notified = (await deliverNotifications(config, tx.state.notified, offered, {log: deps.log, now: deps.now})).notified
  const required = Object.entries(logins).filter(([, s]) => s.required !== null).map(([name]) => name)
  return {...plan, required}
}

function describeClear(c: LoginPlan['clear'][number]): string {
  if (c.reason === 'session_succeeded') return `a turn on ${c.session} ended normally at ${c.at}`
  if (c.reason === 'credentials_renewed') return `its .credentials.json was rewritten at ${c.at}`
  return 'the operator swapped to it'
}

function nextStep(config: Config, state: State, account: string, now: Date): string {
  if (state.active_account !== account) return `the pool never swaps to ${account} until a session on it works again`
  const targets = usableTargets(config, state, now)
  return targets.length > 0 ? `the pool swaps away to ${targets[0]} once` : `no other account is usable: the pool stays on ${account}, whose turns fail until it is logged in again`
}

/** The swap reason when the active account needs a login and another account is usable; null otherwise. */
export function loginSwapAway(config: Config, state: State, now: Date): string | null {
  const active = state.active_account
  const mark = active ? loginMark(state, active) : null
  if (!active || !mark) return null
  const targets = usableTargets(config, state, now)
  return targets.length > 0 ? `login: ${active} needs a login since ${mark.since} (${mark.session ?? mark.source})` : null
}

/** The operator's swap into a marked account: its mark is cleared, so the pool does not swap straight back out. */
export async function clearForOperator(config: Config, tx: Transaction, account: string, now: Date): Promise<boolean> {
  const was = loginMark(tx.state, account)
  if (!was) return false
  tx.state.logins = {...tx.state.logins, [account]: {cleared_at: now.toISOString(), required: null}}
  await appendEvent(config.stateDir, 'account_login_cleared', {account, at: now.toISOString(), reason: 'operator_swap' satisfies LoginClearReason, was_since: was.since}, now)
  return true
}

/** For `homes`: one warning per account the pool saw without a login (read-only; a missing or corrupt state says nothing). */
export async function loginMarkWarnings(config: Config, accounts?: string[]): Promise<string[]> {
  const read = await readStateFile(config.stateDir)
  if (read.kind !== 'ok') return []
  return config.accounts
    .filter((a) => !accounts || accounts.includes(a.name))
    .flatMap((a) => {
      const mark = loginMark(read.state, a.name)
      return mark ? [describeLoginRequired(config, a.name, mark)] : []
    })
}
