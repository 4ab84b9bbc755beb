// `quota check` (SPEC §4): read every live session of the active account, decide whether the
// account is exhausted, and trigger the swap. The rules the Go daemon learned in production:
//  - a hit with a reset time swaps at once; one without must be seen on `confirm_polls`
//    consecutive polls (counted in state.json: the command is stateless);
//  - no second swap within `reactivate_cooldown` of the last one;
//  - every swap decision logs the session, the pattern and a 120-character snippet;
//  - an exhausted account is marked until its reset (+ `reset_grace`) and used again afterwards.
// Observing is read-only and lock-free; the lock is taken only when the state must change.
import type {Config} from '../config.js'
import type {Transaction} from '../lock.js'
import type {Logger} from '../log.js'
import type {State, StuckSession} from '../state.js'
import type {Tmux} from '../tmux.js'

import {takeRequest} from '../event-run.js'
import {appendEvent} from '../events.js'
import {readStateSnapshot, withStateLock} from '../lock.js'
import {loginsNeedLock, loginSwapAway, type LoginsOutcome, observeLogins, previewLogins, recordLogins} from '../logins.js'
import {accountReactivated, clearNotified, deliverNotifications, type Notification, sessionStuck} from '../notify/notifier.js'
import {poolSessionNames} from '../pool.js'
import {readSignals, type SignalRecord} from '../signals.js'
import {describeStuck, sameStuck, stuckSessions, stuckWayOut} from '../stuck.js'
import {chooseTarget, swapLocked, type SwapResult} from '../swap/swap.js'
import {parseJsonLines, readTail} from '../tail.js'
import {classifyPane} from './classify.js'
import {type CombinedClassification, combineSignals, type HookSignal, type TranscriptRecord} from './signals.js'
import {decideLimit, type LimitPolicyDecision, waitCovers} from './policy.js'
import {type UsageReading, readUsage} from './usage.js'

const LIVE_LIMIT_PATTERNS = new Set(['limit_retrying', 'auto_continue_wait'])

/** When a limit shows no reset time, the account is assumed out for one 5-hour window. */
const UNKNOWN_RESET_MS = 5 * 3_600_000

export interface QuotaCheckOptions {
  dryRun?: boolean
  wait?: boolean
}

export interface QuotaCheckDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  fetch?: typeof fetch
  env?: NodeJS.ProcessEnv
}

export interface SessionVerdict extends CombinedClassification {
  session: string
  /** A limit shown in the pane that the session's fresh records contradict (a redrawn old banner). */
  stale?: boolean
}

export interface QuotaDecision {
  /** `wait`: the policy lets Claude Code's own wait run (new); `waiting`: a wait already decided covers this limit. */
  action: 'none' | 'confirming' | 'cooldown' | 'swap' | 'wait' | 'waiting'
  account: string | null
  trigger: {session: string; pattern: string; snippet: string; reset_at: string | null; scope?: string | null} | null
  /** Swap or wait, and why (null when there is no limit to decide on). */
  policy: LimitPolicyDecision | null
  /** Suspected-hit counters after this poll (session → consecutive polls). */
  suspects: Record<string, number>
  reactivated: string[]
  message: string
}

export interface QuotaCheckResult {
  active_account: string | null
  sessions: SessionVerdict[]
  usage: UsageReading[]
  decision: QuotaDecision
  swap: SwapResult | null
  dry_run: boolean
  /** Sessions waiting for input or without a login, as recorded after this poll (session → since, verdict…). */
  stuck: Record<string, StuckSession>
  /** Accounts whose login is gone (marked this poll, cleared this poll, marked after it); see logins.ts. */
  logins?: LoginsOutcome
}

/** Observes the active account's live sessions; never locks, never writes. */
export async function observeSessions(config: Config, state: State, deps: Pick<QuotaCheckDeps, 'tmux' | 'now'>): Promise<SessionVerdict[]> {
  const survey = await deps.tmux.survey()
  // No server: nothing can be observed, and "no session shows a limit" would be a false all-clear.
  if (!survey.running) await deps.tmux.requireServer()
  const live = new Set(survey.sessions.filter((s) => !s.paneDead).map((s) => s.name))
  // Dedicated sessions that do not follow the account (relaunch: false) stay on whatever account
  // they started on: their limits are not the active account's.
  const following = config.dedicated.filter((d) => d.relaunch).map((d) => d.session)
  const names = [...poolSessionNames(config), ...following].filter((n) => live.has(n))
  const activeHome = config.accounts.find((a) => a.name === state.active_account)?.home
  const now = deps.now()
  const [panes, signals] = await Promise.all([
    deps.tmux.capturePanes(names, config.quota.captureLines),
    Promise.all(names.map((n) => readSignals(config.stateDir, n, 50))),
  ])
  const verdicts = await Promise.all(
    names.map(async (session, i) => {
      const records = signals[i] ?? []
      // A session whose Claude was started under another account's home is not on the active one.
      const started = records.filter((s) => s.event === 'SessionStart').at(-1)
      if (activeHome && started?.config_dir && started.config_dir !== activeHome) {
        // Its limits are not the active account's, but a modal is a modal on any account (a
        // relaunch stuck at one never sends the SessionStart that would show its new home).
        const pane = classifyPane(panes.get(session) ?? '', {now, ...(config.quota.timezone ? {timeZone: config.quota.timezone} : {})})
        return pane.verdict === 'awaiting_input' ? {...pane, session, sources: ['pane' as const]} : undefined
      }

      return judgeSession(session, panes.get(session) ?? '', records, state, config, now)
    }),
  )
  return verdicts.filter((v): v is SessionVerdict => v !== undefined)
}

async function judgeSession(session: string, paneText: string, signals: SignalRecord[], state: State, config: Config, now: Date): Promise<SessionVerdict> {
  const options = {now, ...(config.quota.timezone ? {timeZone: config.quota.timezone} : {})}
  const pane = classifyPane(paneText, options)
  const started = signals.filter((s) => s.event === 'SessionStart').at(-1)
  // Records from before this process started (an earlier account, an earlier conversation) say
  // nothing about the account the session runs on now.
  const fresh = (ts: string | undefined | null) => !started || (ts ?? '') >= started.ts
  const hook = signals.filter((s) => s.event === 'StopFailure' || s.event === 'Stop' || s.event === 'SessionStart').at(-1)
  const transcriptPath = started?.transcript_path ?? null
  const transcript = transcriptPath ? (await readTranscriptTail(transcriptPath)).filter((r) => fresh(r.timestamp)) : undefined
  const combined = combineSignals(
    {
      pane,
      ...(hook && fresh(hook.ts) ? {hook: hook as HookSignal} : {}),
      ...(transcript ? {transcript} : {}),
    },
    options,
  )
  // A resumed conversation redraws its history, old limit banner included. For a session whose
  // transcript we can read, a limit seen only in the pane needs the records to agree.
  // A live row (the retry line of a limit still being retried, the native wait) is never history.
  if (combined.verdict === 'quota_exhausted' && transcript !== undefined && !combined.sources.some((s) => s !== 'pane') && !LIVE_LIMIT_PATTERNS.has(combined.pattern)) {
    const structured = combineSignals({...(hook && fresh(hook.ts) ? {hook: hook as HookSignal} : {}), transcript}, options)
    if (structured.verdict !== 'quota_exhausted' && started && (state.last_swap === null || started.ts >= state.last_swap.at)) {
      return {...combined, session, stale: true, verdict: 'idle'}
    }
  }

  return {...combined, session}
}

/** The last records of a transcript, reading only its tail (transcripts grow to many megabytes). */
export async function readTranscriptTail(path: string, bytes = 64 * 1024): Promise<TranscriptRecord[]> {
  const tail = await readTail(path, bytes)
  if (!tail) return []
  const isObject = (value: unknown): value is TranscriptRecord => typeof value === 'object' && value !== null
  return parseJsonLines(tail.text.split('\n').slice(-40).join('\n'), isObject)
}

/** The pure decision: from this poll's verdicts and the state, what to do. */
export function decideQuota(sessions: SessionVerdict[], usage: UsageReading[], state: State, config: Config, now: Date): QuotaDecision {
  const account = state.active_account
  const reactivated = Object.entries(state.accounts)
    .filter(([, a]) => a.exhausted_until !== null && Date.parse(a.exhausted_until) <= now.getTime())
    .map(([name]) => name)
  const suspects: Record<string, number> = {}
  // A limit whose reset has passed is over (a session left at its banner after the wait, a record
  // read late): it decides nothing, or the wait would be decided again every tick.
  const hits = sessions.filter((s) => s.verdict === 'quota_exhausted' && !(s.reset_at !== null && Date.parse(s.reset_at) <= now.getTime()))
  // The latest reset decides: of a 5-hour and a weekly limit at once, the weekly one is the wall.
  const withReset = hits.filter((s) => s.reset_at !== null).sort((a, b) => Date.parse(b.reset_at as string) - Date.parse(a.reset_at as string))[0]
  let trigger: QuotaDecision['trigger'] = null
  for (const hit of hits.filter((s) => s.reset_at === null)) {
    suspects[hit.session] = (state.suspect[hit.session]?.count ?? 0) + 1
    if (!trigger && (suspects[hit.session] as number) >= config.quota.confirmPolls) trigger = {pattern: hit.pattern, reset_at: null, scope: hit.scope, session: hit.session, snippet: hit.snippet}
  }

  if (withReset) trigger = {pattern: withReset.pattern, reset_at: withReset.reset_at, scope: withReset.scope, session: withReset.session, snippet: withReset.snippet}
  const limitHit = trigger !== null
  const proactive = usage.find((u) => u.account === account && u.over_threshold)
  if (!trigger && proactive) trigger = proactiveTrigger(proactive, config.quota.usage.threshold)

  const base = {account, policy: null, reactivated, suspects, trigger}
  if (!trigger) {
    const confirming = Object.entries(suspects)
    if (confirming.length > 0) {
      const [session, count] = confirming[0] as [string, number]
      return {...base, action: 'confirming', message: `[quota] suspected hit on ${session} without a reset time: poll ${count} of ${config.quota.confirmPolls}`}
    }

    return {...base, action: 'none', message: `[quota] ${account ?? 'no account'}: ${sessions.length} session(s) checked, no limit`}
  }

  // A swap before the wall (a usage reading) is no limit Claude Code waits out: the policy is for limits.
  const target = limitHit ? chooseTarget(config, {state}, {}, now) : null
  const policy = !target ? null : decideLimit({
    mode: config.quota.policy.mode,
    noTarget: 'none' in target ? target.none.replace(/; dispatch is paused until then$/, '') : null,
    now,
    resetAt: trigger.reset_at,
    scope: trigger.scope ?? null,
    waitHorizonMs: config.quota.policy.waitHorizonMs,
  })
  if (policy?.choice === 'wait') {
    const waiting = account ? state.accounts[account]?.waiting : undefined
    if (waiting && waitCovers(waiting.until, trigger.reset_at)) {
      return {...base, action: 'waiting', policy, message: `[quota] ${account} is waiting until ${waiting.until ?? 'its reset'} (native wait); ${trigger.session} is still at its limit`}
    }

    return {...base, action: 'wait', policy, message: `[quota] wait: ${account} ${trigger.session} ${trigger.pattern}: ${policy.reason}`}
  }

  const last = state.last_swap ? Date.parse(state.last_swap.at) : Number.NEGATIVE_INFINITY
  if (now.getTime() - last < config.quota.reactivateCooldownMs) {
    return {...base, action: 'cooldown', policy, message: `[quota] swap cooldown active: last swap at ${state.last_swap?.at}; limit on ${trigger.session} (${trigger.pattern}) noted`}
  }

  return {...base, action: 'swap', policy, message: `[quota] swap: trigger_session=${trigger.session} pattern=${trigger.pattern} snippet=${JSON.stringify(trigger.snippet)}${policy ? ` reason=${JSON.stringify(policy.reason)}` : ''}`}
}

/** The trigger of a swap before the wall: a usage reading at or past the threshold. */
function proactiveTrigger(reading: UsageReading, threshold: number): NonNullable<QuotaDecision['trigger']> {
  const pattern = `usage_${reading.window}_${Math.round(reading.utilization)}pct`
  if (reading.source === 'statusline') {
    return {pattern, reset_at: reading.resets_at, session: '(statusline)', snippet: `${reading.session ?? 'a session'} reported ${reading.window} usage ${reading.utilization}% ≥ ${threshold}%`}
  }

  return {pattern, reset_at: reading.resets_at, session: '(usage endpoint)', snippet: `server-side utilization ${reading.utilization}% ≥ ${threshold}%`}
}

/** Records the stuck sessions: an event and a notification for each newly stuck one, an event when one is free again. */
async function recordStuck(config: Config, tx: Transaction, stuck: Record<string, StuckSession>, deps: QuotaCheckDeps): Promise<Notification[]> {
  const now = deps.now()
  const before = tx.state.stuck ?? {}
  const offered: Notification[] = []
  for (const [session, entry] of Object.entries(stuck)) {
    if (before[session]?.verdict === entry.verdict) continue
    const wayOut = stuckWayOut(config, session, entry)
    await appendEvent(config.stateDir, entry.verdict === 'auth_error' ? 'session_login_lost' : 'session_awaiting_input', {account: entry.account, pattern: entry.pattern, session, snippet: entry.snippet, way_out: wayOut}, now)
    deps.log.warn(`[quota] ${describeStuck(config, session, entry)}`)
    offered.push(sessionStuck({account: entry.account, session, snippet: entry.snippet, verdict: entry.verdict, wayOut}))
  }

  const freed = Object.keys(before).filter((session) => stuck[session] === undefined)
  for (const session of freed) await appendEvent(config.stateDir, 'session_unstuck', {session, was: before[session]?.verdict}, now)
  // A session stuck again later is a new occurrence: it is notified again.
  tx.state.notified = clearNotified(tx.state.notified, freed.map((session) => `session_stuck:${session}`))
  tx.state.stuck = stuck
  return offered
}

/** One quota check: observe, decide, and (unless dry-run) record and swap. */
export async function checkQuota(config: Config, options: QuotaCheckOptions, deps: QuotaCheckDeps): Promise<QuotaCheckResult> {
  // Before observing: a limit recorded from here on is not covered by this check (see requestRun).
  if (!options.dryRun) takeRequest(config.stateDir, 'quota-check')
  const snapshot = (await readStateSnapshot(config)).state
  const [sessions, usage] = await Promise.all([
    observeSessions(config, snapshot, deps),
    readAllReadings(config, deps),
  ])
  const now = deps.now()
  const preview = decideQuota(sessions, usage, snapshot, config, now)
  const stuck = stuckSessions(sessions, snapshot.stuck ?? {}, snapshot, now)
  const logins = await observeLogins(config, snapshot, stuck, sessions, now)
  const result: QuotaCheckResult = {active_account: snapshot.active_account, decision: preview, dry_run: options.dryRun === true, logins: previewLogins(snapshot, logins), sessions, stuck, swap: null, usage}
  if (options.dryRun) return result
  const changes =
    (preview.action !== 'none' && preview.action !== 'waiting') ||
    preview.reactivated.length > 0 ||
    Object.keys(snapshot.suspect).length > 0 ||
    (snapshot.dispatch_paused_until !== null && Date.parse(snapshot.dispatch_paused_until) <= now.getTime()) ||
    !sameStuck(stuck, snapshot.stuck ?? {}) ||
    loginsNeedLock(config, snapshot, logins, now)
  if (!changes) return result

  return withStateLock(config, {command: 'quota check', log: deps.log, now: deps.now, wait: options.wait}, async (tx) => {
    // Decide again on the state as it is under the lock. If another command swapped while this one
    // was observing, what it saw belongs to the previous account: count none of it.
    const moved = tx.state.active_account !== snapshot.active_account || tx.state.last_swap?.at !== snapshot.last_swap?.at
    const decision = decideQuota(moved ? [] : sessions, moved ? [] : usage, tx.state, config, deps.now())
    result.decision = decision
    if (!moved) result.stuck = stuckSessions(sessions, tx.state.stuck ?? {}, tx.state, deps.now())
    // Login evidence is attributed by each record's own home, not by the active account: it holds even if another command swapped meanwhile.
    result.logins = await recordLogins(config, tx, logins, deps)
    await applyDecision(config, tx, decision, deps, moved ? undefined : result.stuck)
    if (decision.action === 'swap') {
      deps.log.warn(decision.message)
      result.swap = await swapLocked(config, {expectFrom: snapshot.active_account ?? undefined, reason: `quota: ${decision.trigger?.session} ${decision.trigger?.pattern}${decision.policy ? ` (${decision.policy.reason})` : ''}`}, deps, tx)
    } else if (decision.action === 'wait') {
      deps.log.warn(decision.message)
    } else if (decision.action !== 'none') {
      deps.log.info(decision.message)
    }

    const away = decision.action === 'swap' ? null : loginSwapAway(config, tx.state, deps.now())
    if (away) {
      deps.log.warn(`[logins] swap: ${away}`)
      result.swap = await swapLocked(config, {expectFrom: tx.state.active_account ?? undefined, reason: away}, deps, tx)
    }

    return result
  })
}

/** The usage endpoint's readings (when enabled), then the statusLine records' (when they may swap). */
async function readAllReadings(config: Config, deps: QuotaCheckDeps): Promise<UsageReading[]> {
  const [endpoint, recorded] = await Promise.all([
    config.quota.usage.enabled ? readUsage(config, {env: deps.env ?? process.env, fetch: deps.fetch ?? fetch, log: deps.log, now: deps.now}) : Promise.resolve([]),
    config.statusline.swap ? import('../usage/recorded.js').then(async (m) => m.readingsFromRecords(await m.recordedUsage(config, deps.now()), config)) : Promise.resolve([]),
  ])
  return [...endpoint, ...recorded]
}

async function applyDecision(config: Config, tx: Transaction, decision: QuotaDecision, deps: QuotaCheckDeps, stuck: Record<string, StuckSession> | undefined): Promise<void> {
  const now = deps.now()
  const at = now.toISOString()
  const offered: Notification[] = []
  if (stuck) offered.push(...(await recordStuck(config, tx, stuck, deps)))
  for (const name of decision.reactivated) {
    const before = tx.state.accounts[name]
    const until = before?.exhausted_until ?? null
    const {waiting, ...rest} = before ?? {exhausted_until: null, last_hit: null}
    tx.state.accounts[name] = {...rest, exhausted_until: null, last_hit: before?.last_hit ?? null}
    if (waiting) {
      // Claude Code continued by itself ("Usage limit reset · Continuing automatically"): the
      // account never left, so no "available again" notification; nothing stays marked.
      await appendEvent(config.stateDir, 'limit_wait_ended', {account: name, since: waiting.since, until: waiting.until}, now)
      deps.log.info(`[quota] ${name}: the native wait is over (reset ${waiting.until ?? until})`)
      continue
    }

    await appendEvent(config.stateDir, 'account_reactivated', {account: name, was_exhausted_until: until}, now)
    deps.log.info(`[quota] ${name} is available again (its reset ${until} has passed)`)
    offered.push(accountReactivated({account: name, activeAccount: tx.state.active_account ?? undefined, exhaustedUntil: until ?? undefined}))
  }

  if (tx.state.dispatch_paused_until && Date.parse(tx.state.dispatch_paused_until) <= now.getTime()) tx.state.dispatch_paused_until = null
  const suspect: State['suspect'] = {}
  for (const [session, count] of Object.entries(decision.suspects)) {
    suspect[session] = {count, first_at: tx.state.suspect[session]?.first_at ?? at, last_at: at, pattern: decision.trigger?.session === session ? decision.trigger.pattern : tx.state.suspect[session]?.pattern ?? 'limit'}
  }

  tx.state.suspect = decision.action === 'swap' || decision.action === 'wait' || decision.action === 'waiting' ? {} : suspect
  const trigger = decision.trigger
  if (trigger && decision.account && decision.action === 'wait') {
    const before = tx.state.accounts[decision.account]
    // Marked until the reset itself, without reset_grace: Claude Code continues at the reset, and
    // the mark keeps dispatch from starting new work into the limit until then.
    const until = trigger.reset_at ?? new Date(now.getTime() + UNKNOWN_RESET_MS).toISOString()
    tx.state.accounts[decision.account] = {
      ...before,
      exhausted_until: until,
      last_hit: {at, pattern: trigger.pattern, reset_at: trigger.reset_at, session: trigger.session, snippet: trigger.snippet},
      waiting: {pattern: trigger.pattern, reason: decision.policy?.reason ?? '', scope: trigger.scope ?? null, session: trigger.session, since: before?.waiting?.since ?? at, until: trigger.reset_at},
    }
    await appendEvent(config.stateDir, 'limit_wait', {account: decision.account, pattern: trigger.pattern, reason: decision.policy?.reason, reset_at: trigger.reset_at, scope: trigger.scope ?? null, session: trigger.session, snippet: trigger.snippet}, now)
  }

  const current = decision.account ? tx.state.accounts[decision.account]?.exhausted_until : null
  const alreadyMarked = current !== null && current !== undefined && Date.parse(current) > now.getTime()
  if (trigger && decision.account && (decision.action === 'swap' || (decision.action === 'cooldown' && !alreadyMarked))) {
    const resetMs = trigger.reset_at ? Date.parse(trigger.reset_at) : now.getTime() + UNKNOWN_RESET_MS
    const {waiting: _wait, ...rest} = tx.state.accounts[decision.account] ?? {exhausted_until: null, last_hit: null}
    tx.state.accounts[decision.account] = {
      ...rest,
      exhausted_until: new Date(resetMs + config.quota.resetGraceMs).toISOString(),
      last_hit: {at, pattern: trigger.pattern, reset_at: trigger.reset_at, session: trigger.session, snippet: trigger.snippet},
    }
    await appendEvent(config.stateDir, 'account_exhausted', {account: decision.account, decision: decision.action, pattern: trigger.pattern, reason: decision.policy?.reason, reset_at: trigger.reset_at, scope: trigger.scope ?? null, session: trigger.session, snippet: trigger.snippet}, now)
  }

  if (offered.length > 0) tx.state.notified = (await deliverNotifications(config, tx.state.notified, offered, {log: deps.log, now: deps.now})).notified
  await tx.commit()
}
