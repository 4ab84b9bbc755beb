// `swap` (SPEC §5): fail the whole pool over to another account, one swap at a time under the state
// lock, journaled so that a crash at any step is rolled forward (see journal.ts).
import {basename, dirname, join} from 'node:path'

import type {Account, Config} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'
import type {SessionInfo, Tmux} from '../tmux.js'

import {latestCheckpoint} from '../checkpoint/checkpoint.js'
import {crashpoint} from '../crashpoint.js'
import {randomUUID} from '../crypto.js'
import {listDispatched} from '../dispatch/claims.js'
import {fail} from '../errors.js'
import {appendEvent} from '../events.js'
import {access, readdirOrEmpty} from '../fs.js'
import {withStateLock} from '../lock.js'
import {trace} from '../log.js'
import {allExhausted, deliverNotifications, swapFailed} from '../notify/notifier.js'
import {dedicatedSessionNames, poolSessionNames} from '../pool.js'
import {discoverProjects} from '../queue/layout.js'
import {isConversationId, readSignals} from '../signals.js'
import {checkHomes, describeHomeProblem, HOMES_FIX} from '../homes.js'
import {clearForOperator, loginFix, loginMark} from '../logins.js'
import {checkSharedLinks, describeProblem} from '../symlinks.js'
import {isResumed, type Journal, type JournalSession, rollForwardSwap, runJournal} from './journal.js'

export interface SwapOptions {
  to?: string
  dryRun?: boolean
  wait?: boolean
  reason?: string
  /** Only swap if this is still the active account (a quota check's view when it decided). */
  expectFrom?: string
}

export interface SwapDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  staggerMs?: number
  readyTimeoutMs?: number
}

export interface SwapResult {
  from: string | null
  to: string | null
  /** `fresh`: relaunched with a new conversation (there was none to resume); `reason` says why. */
  sessions: {name: string; kind: 'pool' | 'dedicated'; resumed: boolean; fresh: boolean; conversation_id: string | null; working: boolean; reason: string | null}[]
  actions: string[]
  dry_run: boolean
  /** Why no swap happened, when none did. */
  skipped: string | null
}

/** Runs a swap (or its plan, with dryRun) under the lock. */
export async function swap(config: Config, options: SwapOptions, deps: SwapDeps): Promise<SwapResult> {
  return withStateLock(config, {command: 'swap', log: deps.log, now: deps.now, wait: options.wait}, (tx) => swapLocked(config, options, deps, tx))
}

/** The swap's body, for callers that already hold the lock (quota check). */
export async function swapLocked(config: Config, options: SwapOptions, deps: SwapDeps, tx: Transaction): Promise<SwapResult> {
  const result: SwapResult = {actions: [], dry_run: options.dryRun === true, from: tx.state.active_account, sessions: [], skipped: null, to: null}
  const rollDeps = {...deps, staggerMs: deps.staggerMs ?? config.swap.staggerMs}
  const rolled = options.dryRun ? [] : await rollForwardSwap(config, tx, rollDeps)
  result.actions.push(...rolled)
  const from = tx.state.active_account
  result.from = from
  if (rolled.length > 0 && (!options.to || options.to === from)) {
    // The interrupted swap was what was asked for: finishing it is this run's swap.
    result.skipped = `finished an interrupted swap to ${from ?? '?'} instead of starting another`
    result.to = from
    return result
  }

  if (options.expectFrom !== undefined && options.expectFrom !== from) {
    result.skipped = `the active account is already ${from ?? 'none'}, not ${options.expectFrom}`
    return result
  }

  // Without a tmux server the relaunch step would fail after the flip was committed, leaving the
  // account flipped and a journal behind on an exit 69 (reliability P15): refuse before anything.
  if (!options.dryRun) await deps.tmux.requireServer()
  const target = chooseTarget(config, tx, options, deps.now())
  if ('none' in target) {
    if (options.dryRun) {
      result.skipped = target.none
      return result
    }

    await allAccountsExhausted(config, tx, target, deps)
    throw fail('allExhausted', target.none)
  }

  result.to = target.account.name
  // The operator chose a marked account (they may just have logged it in): without clearing the
  // mark, the next quota check would swap straight back out of it. A login still gone marks it again.
  if (options.to && !options.dryRun && (await clearForOperator(config, tx, target.account.name, deps.now()))) deps.log.warn(`${target.account.name} was marked as needing a login; cleared by this swap (it is marked again if its login still fails)`)
  const links = (await checkSharedLinks(config, [target.account.name])).map((p) => describeProblem(p))
  // A home that stops at a first-launch screen would leave every resumed session waiting for an
  // answer nobody gives, while the pool looks swapped: refused before anything is killed.
  const homes = links.length > 0 ? [] : (await checkHomes(config, [target.account.name])).problems.map((p) => describeHomeProblem(p))
  const problems = [...links, ...homes]
  if (problems.length > 0) {
    const reason = links.length > 0 ? `refusing to swap into ${target.account.name}: its shared links are broken (${links.join('; ')})` : `refusing to swap into ${target.account.name}: its home would stop at a first-launch screen (${homes.join('; ')})`
    if (!options.dryRun) {
      await appendEvent(config.stateDir, 'swap_failed', {from, reason, to: target.account.name}, deps.now())
      const sent = await deliverNotifications(config, tx.state.notified, [swapFailed({from: from ?? '?', reason, to: target.account.name})], {log: deps.log, now: deps.now})
      tx.state.notified = sent.notified
      await tx.commit()
    }

    throw fail('config', reason, {details: homes.length > 0 ? [...homes, `fix: ${HOMES_FIX} --account ${target.account.name}`] : problems})
  }

  trace('swap: plan')
  const sessions = await planSessions(config, tx, target.account, deps)
  trace('swap: planned')
  const journal: Journal = {
    from,
    id: randomUUID(),
    reason: options.reason ?? (options.to ? `operator: swap --to ${options.to}` : 'operator: swap'),
    sessions,
    started_at: deps.now().toISOString(),
    step: 'planned',
    to: target.account.name,
  }
  result.sessions = sessions.map((s) => ({conversation_id: s.conversation_id, fresh: s.fresh, kind: s.kind, name: s.name, reason: s.skip_reason ?? s.note, resumed: isResumed(s), working: s.working}))
  for (const s of sessions.filter((x) => x.skip_reason)) deps.log.warn(`${s.name}: will not be resumed: ${s.skip_reason}`)
  if (options.dryRun) return result

  deps.log.info(`swap ${from ?? '?'} -> ${target.account.name}: ${sessions.length} session(s), ${result.sessions.filter((s) => s.resumed).length} to resume (${journal.reason})`)
  tx.state.swap_journal = journal
  await tx.commit()
  crashpoint('swap:after-plan')
  result.actions.push(...(await runJournal(config, tx, journal, rollDeps)))
  return result
}

type TargetChoice = {account: Account} | {none: string; earliest: string | null; loginRequired?: string[]}

/** `--to`, else the next account in config order (after the active one) that is neither exhausted nor in need of a login. */
export function chooseTarget(config: Config, tx: Pick<Transaction, 'state'>, options: SwapOptions, now: Date): TargetChoice {
  const active = tx.state.active_account
  const exhaustedUntil = (name: string) => {
    const until = tx.state.accounts[name]?.exhausted_until ?? null
    return until && Date.parse(until) > now.getTime() ? until : null
  }

  if (options.to) {
    const account = config.accounts.find((a) => a.name === options.to)
    if (!account) throw fail('usage', `no account named ${JSON.stringify(options.to)}; the config lists ${config.accounts.map((a) => a.name).join(', ')} (e.g. swap --to ${config.accounts[0]?.name})`)
    if (account.name === active) throw fail('usage', `${account.name} is already the active account`)
    const until = exhaustedUntil(account.name)
    if (until) throw fail('usage', `${account.name} is exhausted until ${until}; pick another account or wait`)
    return {account}
  }

  const start = Math.max(0, config.accounts.findIndex((a) => a.name === active))
  for (let i = 1; i <= config.accounts.length; i++) {
    const account = config.accounts[(start + i) % config.accounts.length] as Account
    if (account.name === active) continue
    if (!exhaustedUntil(account.name) && !loginMark(tx.state, account.name)) return {account}
  }

  const times = config.accounts.map((a) => exhaustedUntil(a.name)).filter((t): t is string => t !== null).sort()
  const earliest = times[0] ?? null
  const loggedOut = config.accounts.filter((a) => a.name !== active && loginMark(tx.state, a.name))
  if (loggedOut.length === 0) return {earliest, none: `all accounts are exhausted${earliest ? ` until ${earliest}` : ''}; dispatch is paused until then`}
  const others = config.accounts.filter((a) => a.name !== active && !loginMark(tx.state, a.name)).map((a) => `${a.name} is exhausted until ${exhaustedUntil(a.name)}`)
  const logins = loggedOut.map((a) => `${a.name} needs a login (${loginFix(config, a.name)})`)
  return {earliest, loginRequired: loggedOut.map((a) => a.name), none: `no account to swap to: ${[...logins, ...others].join('; ')}; ${earliest ? `dispatch is paused until ${earliest}` : 'the pool stays on ' + (active ?? 'its account')}`}
}

async function allAccountsExhausted(config: Config, tx: Transaction, target: {earliest: string | null; loginRequired?: string[]}, deps: SwapDeps): Promise<void> {
  tx.state.dispatch_paused_until = target.earliest
  const loggedOut = target.loginRequired ?? []
  await appendEvent(config.stateDir, 'all_exhausted', {login_required: loggedOut.length > 0 ? loggedOut : undefined, until: target.earliest}, deps.now())
  const sent = await deliverNotifications(
    config,
    tx.state.notified,
    [
      allExhausted({
        accounts: config.accounts.filter((a) => !loggedOut.includes(a.name)).map((a) => ({exhaustedUntil: tx.state.accounts[a.name]?.exhausted_until ?? null, name: a.name})),
        ...(target.earliest ? {dispatchPausedUntil: target.earliest} : {}),
        ...(loggedOut.length > 0 ? {loginRequired: loggedOut.map((name) => ({fix: loginFix(config, name), name}))} : {}),
      }),
    ],
    {log: deps.log, now: deps.now},
  )
  tx.state.notified = sent.notified
  await tx.commit()
}

/**
 * What each session becomes on the target: every live pool session, and every dedicated session
 * that relaunches. A conversation is resumed only with a valid UUID whose transcript the target
 * home can reach: never a resume onto an empty history.
 */
async function planSessions(config: Config, tx: Transaction, target: Account, deps: SwapDeps): Promise<JournalSession[]> {
  const survey = await deps.tmux.survey()
  const live = new Map(survey.sessions.filter((s) => !s.paneDead).map((s) => [s.name, s]))
  const {projects} = await discoverProjects(config)
  const claims = new Map((await listDispatched(projects)).filter((d) => d.claim).map((d) => [`${d.project}/${d.id}`, d.claim]))
  const out: JournalSession[] = []
  const dedicated = new Map(config.dedicated.map((d) => [d.session, d]))
  // A dedicated session the operator closed is not brought back: its conversation may live on elsewhere.
  const names = [...poolSessionNames(config).filter((n) => live.has(n)), ...dedicatedSessionNames(config).filter((n) => dedicated.get(n)?.relaunch && live.has(n))]
  // Sessions named by a launched claim are working whatever state.json says (it may have been rebuilt).
  const claimedBy = new Map([...claims.values()].flatMap((c) => (c?.launched_at ? [[c.session, c] as const] : [])))
  for (const name of names) {
    const kind = dedicated.has(name) ? 'dedicated' : 'pool'
    const record = tx.state.sessions[name]
    const signals = await readSignals(config.stateDir, name, 200)
    const lastStart = signals.filter((s) => s.event === 'SessionStart' && isConversationId(s.conversation_id)).at(-1)
    const claim = (record?.task ? claims.get(record.task) : undefined) ?? claimedBy.get(name)
    const working = kind === 'pool' ? record?.state === 'working' || claimedBy.has(name) : lastSignalIsCut(signals)
    let conversation: string | null = null
    if (kind === 'pool' && working) conversation = record?.conversation_id ?? claim?.conversation_id ?? lastStart?.conversation_id ?? null
    if (kind === 'dedicated') conversation = lastStart?.conversation_id ?? record?.conversation_id ?? null
    // No id from the state, the claim or the hook records: the latest checkpoint may have one.
    const checkpoint = !conversation && (working || kind === 'dedicated') ? await latestCheckpoint(config, name) : undefined
    if (checkpoint?.conversation_id) conversation = checkpoint.conversation_id
    const cwd = pickCwd(lastStart?.conversation_id === conversation ? lastStart?.cwd : null, claim?.cwd, checkpoint?.cwd, dedicated.get(name)?.cwd, live.get(name))
    let skip: string | null = null
    let fresh: {conversation: string; note: string} | undefined
    if (!conversation) skip = kind === 'pool' && !working ? 'idle: nothing to resume' : 'no conversation id recorded'
    else if (!isConversationId(conversation)) skip = `invalid conversation id ${JSON.stringify(conversation)}`
    else if (!(await transcriptReachable(target.home, conversation, lastStart?.transcript_path ?? null))) {
      // Claude Code writes a transcript at the first turn: a conversation whose own recorded
      // transcript path holds nothing never had one. That is no link problem, and there is nothing
      // to resume: the person's session comes back with a new conversation, not a bare shell.
      const started = lastStart?.conversation_id === conversation ? lastStart : undefined
      if (started?.transcript_path && !(await access(started.transcript_path).then(() => true, () => false))) {
        fresh = {conversation: randomUUID(), note: `conversation ${conversation} had no turn yet (nothing to resume): started a new conversation`}
      } else {
        skip = `transcript of ${conversation} not reachable from ${target.home}/projects`
      }
    }

    out.push({
      awaiting_input: false,
      continued: false,
      conversation_id: fresh?.conversation ?? conversation,
      cwd,
      fresh: fresh !== undefined,
      kind,
      name,
      note: fresh?.note ?? null,
      relaunched: false,
      skip_reason: skip,
      task: record?.task ?? (claim ? `${claim.project}/${claim.task}` : null),
      working: fresh ? false : working,
    })
  }

  return out
}

function lastSignalIsCut(signals: {event: string; error?: string}[]): boolean {
  const last = signals.at(-1)
  return last?.event === 'StopFailure'
}

function pickCwd(...candidates: (string | null | undefined | SessionInfo)[]): string {
  for (const c of candidates) {
    if (!c) continue
    if (typeof c === 'string') return c
    if (c.currentPath) return c.currentPath
  }

  return '/'
}

/** True when `<home>/projects/<dir>/<id>.jsonl` exists for some project dir (through the shared link). */
async function transcriptReachable(home: string, conversation: string, knownPath: string | null): Promise<boolean> {
  if (knownPath && basename(knownPath) === `${conversation}.jsonl`) {
    const candidate = join(home, 'projects', basename(dirname(knownPath)), `${conversation}.jsonl`)
    if (await access(candidate).then(() => true, () => false)) return true
  }

  for (const dir of await readdirOrEmpty(join(home, 'projects'))) {
    if (await access(join(home, 'projects', dir, `${conversation}.jsonl`)).then(() => true, () => false)) return true
  }

  return false
}
