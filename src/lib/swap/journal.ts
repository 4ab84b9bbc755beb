// The swap journal (SPEC §5), kept in state.json while a swap runs. Each step is committed (fenced)
// before the next irreversible action, so a process killed anywhere leaves a journal that the next
// `swap` or `reconcile` rolls forward to the same end: the whole pool on the target account, every
// recorded conversation resumed exactly once. Re-running a step is safe by construction:
//   planned    → kill the pool's sessions and the relaunching dedicated ones (killing twice is a no-op)
//   killed     → flip active_link and the active account (a rename; flipping twice is a no-op)
//   flipped    → per session: create it at its shell, type the resume line, mark it relaunched
//                (a session found already running something is taken as relaunched: a
//                conversation must never run in two processes, so we never type a second resume)
//   relaunched → type the continue message where a session was mid-task, mark it continued
// then `last_swap` is recorded, the journal closed and the swap notified.
import {setTimeout as sleep} from 'node:timers/promises'

import type {Config} from '../config.js'
import {type Logger, trace} from '../log.js'
import type {Transaction} from '../lock.js'
import type {BatchStep, SessionInfo, Tmux} from '../tmux.js'

import {crashpoint} from '../crashpoint.js'
import {fail} from '../errors.js'
import {appendEvent} from '../events.js'
import {buildLaunchLine, ensureHooksSettings} from '../launch.js'
import {deliverNotifications, swapDone} from '../notify/notifier.js'
import {isShell} from '../pane.js'
import {classifyPane} from '../quota/classify.js'
import {array, boolean, type Checked, nullable, object, oneOf, parseShape, string, withDefault} from '../shape.js'
import {readSignals} from '../signals.js'
import {repointLink} from '../symlinks.js'

export const JOURNAL_STEPS = ['planned', 'killed', 'flipped', 'relaunched'] as const

const journalSessionSchema = object({
  name: string,
  kind: oneOf(['pool', 'dedicated'] as const),
  cwd: string,
  conversation_id: nullable(string),
  /** Why the conversation is not resumed (no id, transcript unreachable). */
  skip_reason: nullable(string),
  task: nullable(string),
  working: boolean,
  relaunched: boolean,
  continued: boolean,
  awaiting_input: withDefault(boolean, () => false),
  /** Claude Code ran with no turn yet (no transcript, nothing to resume): relaunched with a new conversation, `conversation_id`. */
  fresh: withDefault(boolean, () => false),
  /** Why a relaunched session was not resumed, in plain words (with `fresh`). */
  note: withDefault(nullable(string), () => null),
})

export const journalSchema = object({
  id: string,
  started_at: string,
  from: nullable(string),
  to: string,
  reason: string,
  step: oneOf(JOURNAL_STEPS),
  sessions: array(journalSessionSchema),
})

export type Journal = Checked<typeof journalSchema>
export type JournalSession = Checked<typeof journalSessionSchema>

/** True when a session's own conversation goes on on the target (not a fresh one, not left at its shell). */
export function isResumed(session: Pick<JournalSession, 'conversation_id' | 'fresh' | 'skip_reason'>): boolean {
  return Boolean(session.conversation_id && !session.skip_reason && !session.fresh)
}

export interface SwapRollDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  /** Pause between relaunches (swap.stagger); tests and the bench pass 0. */
  staggerMs?: number
  /** How long to wait for a resumed session to come up before typing into it. */
  readyTimeoutMs?: number
}

/** Reads the journal from the state; a journal that does not parse is reported and dropped. */
export function readJournal(tx: Transaction, log: Logger): Journal | null {
  if (tx.state.swap_journal === null || tx.state.swap_journal === undefined) return null
  const parsed = parseShape(journalSchema, tx.state.swap_journal)
  if (parsed.ok) return parsed.value
  log.warn(`the swap journal in state.json is unreadable (${parsed.path || 'journal'}: ${parsed.message}); dropping it: reconcile will repair the pool`)
  tx.state.swap_journal = null
  return null
}

/**
 * Finishes a swap a killed process left in the journal; returns one line per action taken, empty
 * when there was no unfinished swap. Called by `swap` and `reconcile` under the lock.
 */
export async function rollForwardSwap(config: Config, tx: Transaction, deps: SwapRollDeps): Promise<string[]> {
  const journal = readJournal(tx, deps.log)
  if (!journal) return []
  deps.log.warn(`an earlier swap ${journal.from ?? '?'} -> ${journal.to} stopped at step "${journal.step}"; rolling it forward`)
  const actions = [`rolled forward swap ${journal.id} from step ${journal.step}`]
  actions.push(...(await runJournal(config, tx, journal, deps)))
  return actions
}

async function save(tx: Transaction, journal: Journal): Promise<void> {
  tx.state.swap_journal = journal
  await tx.commit()
}

/** Runs the journal from its current step to the end. */
export async function runJournal(config: Config, tx: Transaction, journal: Journal, deps: SwapRollDeps): Promise<string[]> {
  const actions: string[] = []
  const target = config.accounts.find((a) => a.name === journal.to)
  // A config edit mid-swap, not a bug: exit 78 (a human must fix the config), never an internal error.
  if (!target) throw fail('config', `the swap journal names account ${journal.to}, which the config no longer lists; add it back to the config to finish the swap`)

  if (journal.step === 'planned') {
    trace('swap: kill')
    tx.assertHeld()
    // Two tmux processes for all of them (killing twice is a no-op, so a crash mid-list is harmless).
    for (const name of await deps.tmux.killSessions(journal.sessions.map((s) => s.name))) actions.push(`killed ${name}`)
    crashpoint('swap:after-kill')
    journal.step = 'killed'
    await save(tx, journal)
  }

  if (journal.step === 'killed') {
    trace('swap: flip')
    tx.assertHeld()
    if (config.activeLink) {
      await repointLink(config.activeLink, target.home)
      actions.push(`pointed ${config.activeLink} at ${target.home}`)
    }

    tx.state.active_account = journal.to
    tx.state.last_swap = {at: deps.now().toISOString(), from: journal.from, to: journal.to}
    tx.state.dispatch_paused_until = null
    journal.step = 'flipped'
    await save(tx, journal)
    crashpoint('swap:after-flip')
  }

  if (journal.step === 'flipped') {
    trace('swap: relaunch')
    await ensureHooksSettings(config)
    tx.assertHeld()
    const survey = await deps.tmux.survey()
    if (!survey.running) await deps.tmux.requireServer()
    const live = new Map(survey.sessions.filter((s) => !s.paneDead).map((s) => [s.name, s]))
    let todo = journal.sessions.filter((s) => !s.relaunched)
    // Unstaggered, the sessions that are gone (all of them, after the kill) are created and typed
    // into by one tmux process and submitted by a second: two round trips for the pool, not four per
    // session. The line stays unsubmitted between the two, the window a roll-forward already closes
    // (the pane shows the conversation id: cleared and typed again).
    if (!deps.staggerMs) {
      const fresh = todo.filter((s) => !live.has(s.name))
      const launches = fresh.map((session) => ({session, ...launchSteps(config, session, target)}))
      if ((await deps.tmux.batch(launches.flatMap((l) => l.steps))) === null) {
        crashpoint('swap:after-type')
        const typed = launches.filter((l) => l.typed)
        if ((await deps.tmux.batch(typed.map((l) => ({key: 'Enter', session: l.session.name})))) === null) {
          for (const l of launches) {
            actions.push(launchAction(l.session, journal))
            l.session.relaunched = true
          }

          crashpoint('swap:after-relaunch')
        }
      }

      // A step failed (a session appeared meanwhile, a full server): the rest one by one, each
      // from what the server shows now (relaunch() is idempotent).
      todo = todo.filter((s) => !s.relaunched)
      if (todo.length > 0) for (const s of (await deps.tmux.survey()).sessions) if (!s.paneDead) live.set(s.name, s)
    }

    // With a stagger they go one by one, spaced.
    await inParallel(todo, async (session, index) => {
      if (deps.staggerMs && index > 0) await sleep(deps.staggerMs * index)
      actions.push(await relaunch(config, session, target, journal, live.get(session.name), deps))
      session.relaunched = true
      crashpoint('swap:after-relaunch')
    }, deps.staggerMs ? todo.length : 6)
    journal.step = 'relaunched'
    await save(tx, journal)
  }

  if (journal.step === 'relaunched') {
    trace('swap: continue')
    actions.push(...(await continueWorking(config, tx, journal, deps)))
    // Event and notification before the journal is closed: a crash in between repeats them on the
    // roll-forward (at least once) rather than losing them.
    await appendEvent(config.stateDir, 'swap', {from: journal.from, reason: journal.reason, resumed: journal.sessions.filter(isResumed).length, sessions: journal.sessions.length, to: journal.to}, deps.now())
    const delivered = await deliverNotifications(
      config,
      tx.state.notified,
      [swapDone({at: tx.state.last_swap?.at ?? deps.now().toISOString(), from: journal.from ?? '?', reason: journal.reason, sessions: journal.sessions.map((s) => ({name: s.name, resumed: isResumed(s)})), to: journal.to})],
      {log: deps.log, now: deps.now},
    )
    tx.state.notified = delivered.notified
    trace('swap: close')
    crashpoint('swap:before-close')
    finish(tx, journal, deps.now())
    await tx.commit()
  }

  return actions
}

/**
 * Brings one session up on the target. Idempotent, because a roll-forward may run it again after a
 * crash: a pane already running something, or already showing this conversation's resume line, was
 * relaunched by the earlier run, and a second resume would run one conversation in two processes.
 */
async function relaunch(config: Config, session: JournalSession, target: {name: string; home: string}, journal: Journal, existing: SessionInfo | undefined, deps: SwapRollDeps): Promise<string> {
  if (existing && !isShell(existing.currentCommand)) return `${session.name} already relaunched`
  if (existing && session.conversation_id && (await deps.tmux.capturePane(session.name, 200).catch(() => '')).includes(session.conversation_id)) {
    // An earlier run typed the resume line. Either it was submitted (Claude is starting) or the run
    // was killed between the text and its Enter. Wait for the start; if none comes, the line was
    // never submitted: clear it and type it again.
    if (await startedWithin(config, session, journal, deps, 5000)) return `${session.name} already relaunched`
    await deps.tmux.sendKey(session.name, 'C-u')
  }

  const {steps, typed} = launchSteps(config, session, target)
  if (existing) {
    // Its shell may be in copy mode, which sendLiteral leaves first.
    if (typed) await deps.tmux.sendLiteral(session.name, typed)
  } else {
    const refused = await deps.tmux.batch(steps)
    if (refused) throw fail('unavailable', `${refused} (creating ${session.name} and typing its resume line)`)
  }

  if (typed) {
    crashpoint('swap:after-type')
    await deps.tmux.sendKey(session.name, 'Enter')
  }

  return launchAction(session, journal)
}

/**
 * The tmux steps that bring a missing session up at its shell and type its resume line (not yet
 * submitted), and that line (null when the session stays at its shell).
 */
function launchSteps(config: Config, session: JournalSession, target: {name: string; home: string}): {steps: BatchStep[]; typed: string | null} {
  const steps: BatchStep[] = [{create: {cwd: session.cwd, env: {CLAUDE_FAILOVER_SESSION: session.name}}, session: session.name}]
  if (!session.conversation_id || session.skip_reason) return {steps, typed: null}
  const line = buildLaunchLine(config, {
    account: target,
    conversationId: session.conversation_id,
    cwd: session.cwd,
    mode: session.fresh ? {kind: 'blank'} : {kind: 'resume'},
    session: session.name,
    task: session.task ? splitTask(session.task) : null,
  })
  // A session this list creates cannot be in copy mode: no need to ask.
  return {steps: [...steps, {literal: line, session: session.name}], typed: line}
}

function launchAction(session: JournalSession, journal: Journal): string {
  if (!session.conversation_id || session.skip_reason) return `${session.name} left at its shell (${session.skip_reason ?? 'no conversation'})`
  return session.fresh ? `started a new conversation ${session.conversation_id} in ${session.name} on ${journal.to} (${session.note ?? 'nothing to resume'})` : `resumed ${session.conversation_id} in ${session.name} on ${journal.to}`
}

async function startedWithin(config: Config, session: JournalSession, journal: Journal, deps: SwapRollDeps, ms: number): Promise<boolean> {
  const deadline = deps.now().getTime() + ms
  for (;;) {
    const pane = (await deps.tmux.survey()).sessions.find((s) => s.name === session.name)
    if (pane && !isShell(pane.currentCommand)) return true
    const signals = await readSignals(config.stateDir, session.name, 20)
    if (signals.some((s) => s.event === 'SessionStart' && s.conversation_id === session.conversation_id && s.ts >= journal.started_at)) return true
    if (deps.now().getTime() > deadline) return false
    await sleep(100)
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
async function inParallel<T>(items: T[], fn: (item: T, index: number) => Promise<void>, limit = 6): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      await fn(items[index] as T, index)
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

function splitTask(task: string): {project: string; id: string} | null {
  const slash = task.indexOf('/')
  return slash > 0 ? {id: task.slice(slash + 1), project: task.slice(0, slash)} : null
}

/**
 * Types the continue message into resumed sessions that were mid-task, once each. Waits for the
 * resumed Claude Code to be ready (its SessionStart record, then a pane that is not a modal): a
 * first launch in a fresh account home shows modals whose default answer is "exit", so a session
 * stuck there is reported as awaiting input and never sent a bare Enter.
 */
async function continueWorking(config: Config, tx: Transaction, journal: Journal, deps: SwapRollDeps): Promise<string[]> {
  const actions: string[] = []
  const pending = journal.sessions.filter((s) => s.working && !s.continued && isResumed(s))
  const deadline = deps.now().getTime() + (deps.readyTimeoutMs ?? 30_000)
  tx.assertHeld()
  await inParallel(pending, async (session) => {
    const verdict = await waitReady(config, session, journal, deadline, deps)
    if (verdict === 'ready') {
      await deps.tmux.sendLine(session.name, config.claude.continueMessage)
      actions.push(`typed the continue message into ${session.name}`)
    } else {
      session.awaiting_input = verdict === 'awaiting_input'
      actions.push(`${session.name}: ${verdict === 'awaiting_input' ? 'waiting at a prompt or modal after the relaunch; not answered (see README: pre-accept the first-launch modals)' : 'did not come up in time; the continue message was not typed'}`)
      deps.log.warn(actions.at(-1) as string)
    }

    session.continued = true
  }, pending.length)
  if (pending.length > 0) await save(tx, journal)
  return actions
}

async function waitReady(config: Config, session: JournalSession, journal: Journal, deadline: number, deps: SwapRollDeps): Promise<'ready' | 'awaiting_input' | 'timeout'> {
  const since = journal.started_at
  for (;;) {
    const signals = await readSignals(config.stateDir, session.name, 50)
    const started = signals.some((s) => s.event === 'SessionStart' && s.conversation_id === session.conversation_id && s.ts >= since)
    const pane = await deps.tmux.capturePane(session.name, 40).catch(() => '')
    const verdict = classifyPane(pane, {now: deps.now()}).verdict
    if (verdict === 'awaiting_input') return 'awaiting_input'
    if (started) return 'ready'
    if (deps.now().getTime() > deadline) return 'timeout'
    await sleep(100)
  }
}

function finish(tx: Transaction, journal: Journal, now: Date): void {
  const at = now.toISOString()
  for (const session of journal.sessions) {
    const resumed = isResumed(session)
    const previous = tx.state.sessions[session.name]
    tx.state.sessions[session.name] = {
      account: journal.to,
      conversation_id: resumed || session.fresh ? session.conversation_id : null,
      since: at,
      state: session.awaiting_input ? 'awaiting_input' : resumed && session.working ? 'working' : resumed ? 'idle' : previous?.state === 'working' ? 'working' : 'idle',
      task: previous?.task ?? session.task,
    }
  }

  tx.state.swap_journal = null
}
