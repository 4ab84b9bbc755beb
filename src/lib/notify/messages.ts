// What each notification says (SPEC §7): what happened, on which session/account/task, and what
// happens next, plus the condition key de-duplication works on and the keys it clears. Pure.
import type {FieldValue, Severity} from './channels.js'

export type NotificationKind =
  | 'swap_done'
  | 'swap_failed'
  | 'all_exhausted'
  | 'account_reactivated'
  | 'session_died'
  | 'session_recovered'
  | 'session_stuck'
  | 'account_login_required'
  | 'account_login_restored'
  | 'task_failed'
  | 'task_stalled'
  | 'symlinks_invalid'
  | 'symlinks_repaired'
  | 'homes_not_ready'
  | 'session_not_started'
  | 'test'

/**
 * How de-duplication treats a notification:
 * - `condition`: a state that persists (all accounts exhausted); sent once, then a reminder every
 *   `remindAfterMs` while it is still offered, until a recovery clears its key;
 * - `event`: something that happened once (a swap); its key names the occurrence, sent once;
 * - `recovery`: sent only when it clears a condition that was notified (nobody is told "recovered"
 *   about a failure they never heard of), and it clears it.
 */
export type NotificationMode = 'condition' | 'event' | 'recovery'

/** One notification: the condition key, what happened, where, and what happens next. */
export interface Notification {
  /** The condition, e.g. `all_exhausted`, `session_died:ccl-auto-12`, `task_failed:proj/id`. */
  key: string
  kind: NotificationKind
  severity: Severity
  mode: NotificationMode
  /** One line: the subject of the email, the first line of the message. */
  title: string
  /** What happened, on which session/account/task, and what happens next. */
  text: string
  fields: Record<string, FieldValue>
  /** Condition keys this notification resolves. */
  clears: string[]
}

// Message builders. Each takes what the caller knows and an optional `next` that overrides the
// default "what happens next" sentence when the caller does something else.

/** The pool failed over from one account to another. */
export function swapDone(input: {
  from: string | null
  to: string
  /** The swap's time as recorded in `last_swap.at`: it makes the key unique per swap. */
  at: string
  reason?: string
  sessions?: {name: string; resumed: boolean}[]
  /** When the account left behind may be used again. */
  fromExhaustedUntil?: string | null
  next?: string
}): Notification {
  const from = input.from ?? '(none)'
  const sessions = input.sessions ?? []
  const resumed = sessions.filter((s) => s.resumed).map((s) => s.name)
  const lines = [`The pool failed over from account ${from} to ${input.to} at ${formatTime(input.at)}${input.reason ? ` (${input.reason})` : ''}.`]
  if (sessions.length > 0) {
    lines.push(
      `${sessions.length} session(s) relaunched on ${input.to}; ${resumed.length} resumed their conversation${resumed.length > 0 ? ` (${list(resumed)})` : ''}, the others wait at a shell for new tasks.`,
    )
  }

  const next =
    input.next ??
    (input.fromExhaustedUntil
      ? `Next: ${from} is not used again before ${formatTime(input.fromExhaustedUntil)}; nothing to do.`
      : `Next: the pool keeps working on ${input.to}; nothing to do.`)
  return {
    clears: ['swap_failed', 'all_exhausted', ...(input.from ? [`account_reactivated:${input.from}`] : [])],
    fields: {
      at: input.at,
      from: input.from,
      from_exhausted_until: input.fromExhaustedUntil ?? null,
      reason: input.reason ?? null,
      sessions_relaunched: sessions.length,
      sessions_resumed: resumed,
      to: input.to,
    },
    key: `swap_done:${from}->${input.to}@${input.at}`,
    kind: 'swap_done',
    mode: 'event',
    severity: 'info',
    text: [...lines, next].join('\n'),
    title: `Swapped accounts: ${from} → ${input.to}`,
  }
}

/** A swap did not complete. */
export function swapFailed(input: {from: string | null; to: string | null; reason: string; next?: string}): Notification {
  const from = input.from ?? '(none)'
  const to = input.to ?? '(no target)'
  return {
    clears: [],
    fields: {from: input.from, reason: input.reason, to: input.to},
    key: 'swap_failed',
    kind: 'swap_failed',
    mode: 'condition',
    severity: 'critical',
    text: [
      `The failover from account ${from} to ${to} failed: ${input.reason}.`,
      input.next ??
        'Next: the next `swap` or `reconcile` run picks it up from the swap journal; if this message repeats, run `claude-failover status` and `claude-failover swap --dry-run`.',
    ].join('\n'),
    title: `Swap failed: ${from} → ${to}`,
  }
}

/** Every account has hit its usage limit; says which resets first. */
export function allExhausted(input: {
  accounts: {name: string; exhaustedUntil: string | null}[]
  dispatchPausedUntil?: string | null
  /** Accounts left out because their login is gone, each with the command that fixes it. */
  loginRequired?: {name: string; fix: string}[]
  next?: string
}): Notification {
  const known = input.accounts.filter((a) => a.exhaustedUntil !== null && !Number.isNaN(Date.parse(a.exhaustedUntil)))
  const earliest = known.sort((a, b) => Date.parse(a.exhaustedUntil ?? '') - Date.parse(b.exhaustedUntil ?? ''))[0]
  const each = input.accounts.map((a) => `${a.name} until ${a.exhaustedUntil ? formatTime(a.exhaustedUntil) : 'an unknown time'}`)
  const paused = input.dispatchPausedUntil ? ` until ${formatTime(input.dispatchPausedUntil)}` : ''
  const next =
    input.next ??
    (earliest?.exhaustedUntil
      ? `Next: the pool resumes on ${earliest.name} at the first \`quota check\` after ${formatTime(earliest.exhaustedUntil)} (plus reset_grace); nothing to do unless you add an account.`
      : 'Next: each account is tried again once its limit has reset; add an account to resume sooner.')
  return {
    clears: input.accounts.map((a) => `account_reactivated:${a.name}`),
    fields: {
      accounts: input.accounts.map((a) => a.name),
      dispatch_paused_until: input.dispatchPausedUntil ?? null,
      earliest_account: earliest?.name ?? null,
      earliest_reset: earliest?.exhaustedUntil ?? null,
    },
    key: 'all_exhausted',
    kind: 'all_exhausted',
    mode: 'condition',
    severity: 'critical',
    text: [
      input.loginRequired?.length
        ? `No account can take the pool: ${[...each, ...input.loginRequired.map((a) => `${a.name} needs a login (fix: ${a.fix})`)].join(', ')}.`
        : `Every account has hit its usage limit: ${each.join(', ')}.`,
      `Dispatching is paused${paused}: no task is handed out and no swap is attempted.`, next].join('\n'),
    title: input.loginRequired?.length
      ? `No account to swap to: ${input.loginRequired.map((l) => l.name).join(', ')} need${input.loginRequired.length === 1 ? 's' : ''} a login${earliest?.exhaustedUntil ? `, ${earliest.name} is back at ${formatTime(earliest.exhaustedUntil)}` : ''}`
      : earliest?.exhaustedUntil ? `All accounts exhausted until ${formatTime(earliest.exhaustedUntil)} (${earliest.name} resets first)` : 'All accounts exhausted (no reset time known)',
  }
}

/** An exhausted account's limit has reset. */
export function accountReactivated(input: {account: string; exhaustedUntil?: string | null; activeAccount?: string | null; next?: string}): Notification {
  const next =
    input.next ??
    (input.activeAccount === input.account
      ? `Next: the pool works on ${input.account} again; dispatching resumes at the next tick.`
      : input.activeAccount
        ? `Next: the pool stays on ${input.activeAccount}; ${input.account} is a failover target again.`
        : 'Next: dispatching resumes at the next tick.')
  return {
    clears: ['all_exhausted'],
    fields: {account: input.account, active_account: input.activeAccount ?? null, exhausted_until: input.exhaustedUntil ?? null},
    key: `account_reactivated:${input.account}`,
    kind: 'account_reactivated',
    mode: 'event',
    severity: 'info',
    text: [`The usage limit of account ${input.account} has reset${input.exhaustedUntil ? ` (it was exhausted until ${formatTime(input.exhaustedUntil)})` : ''}; it can take work again.`, next].join('\n'),
    title: `Account ${input.account} is available again`,
  }
}

/** A pool or dedicated session died; says what became of its task. */
export function sessionDied(input: {
  session: string
  account?: string | null
  /** `project/task_id` it was working on, if any. */
  task?: string | null
  /** What reconcile did with the task: put back in the inbox, or moved to failed/. */
  taskOutcome?: 'requeued' | 'failed'
  reason?: string
  next?: string
}): Notification {
  const where = `tmux session ${input.session}${input.account ? ` (account ${input.account})` : ''}`
  const doing = input.task ? ` while working on task ${input.task}` : ''
  const taskNext =
    input.task && input.taskOutcome === 'requeued'
      ? ` Task ${input.task} was put back in its inbox and will be dispatched again.`
      : input.task && input.taskOutcome === 'failed'
        ? ` Task ${input.task} was moved to failed/ (no retries left).`
        : ''
  return {
    clears: [],
    fields: {account: input.account ?? null, reason: input.reason ?? null, session: input.session, task: input.task ?? null, task_outcome: input.taskOutcome ?? null},
    key: `session_died:${input.session}`,
    kind: 'session_died',
    mode: 'condition',
    severity: 'warning',
    text: [`${where} died${doing}${input.reason ? `: ${input.reason}` : ''}.`, input.next ?? `Next: \`reconcile\` recreates the session.${taskNext}`].join('\n'),
    title: `Session ${input.session} died`,
  }
}

/** A session reported dead is alive again (sent only if its death was notified). */
export function sessionRecovered(input: {session: string; account?: string | null; next?: string}): Notification {
  return {
    clears: [`session_died:${input.session}`],
    fields: {account: input.account ?? null, session: input.session},
    key: `session_recovered:${input.session}`,
    kind: 'session_recovered',
    mode: 'recovery',
    severity: 'info',
    text: [`tmux session ${input.session} is alive again${input.account ? ` on account ${input.account}` : ''}.`, input.next ?? 'Next: it takes tasks again; nothing to do.'].join('\n'),
    title: `Session ${input.session} recovered`,
  }
}

/** A session waits for input it will never get (a modal, a menu) or its account's login is gone. */
export function sessionStuck(input: {session: string; verdict: 'awaiting_input' | 'auth_error'; account?: string | null; snippet: string; wayOut: string}): Notification {
  const what = input.verdict === 'auth_error' ? `lost its login${input.account ? ` (account ${input.account})` : ''}` : 'is waiting for input nothing will give it'
  return {
    clears: [],
    fields: {account: input.account ?? null, session: input.session, snippet: input.snippet, verdict: input.verdict},
    key: `session_stuck:${input.session}`,
    kind: 'session_stuck',
    mode: 'event',
    severity: 'warning',
    text: [`tmux session ${input.session} ${what}: ${JSON.stringify(input.snippet)}.`, `Next: nothing happens by itself; ${input.wayOut}.`].join('\n'),
    title: `Session ${input.session} ${input.verdict === 'auth_error' ? 'needs a login' : 'is stuck at a prompt'}`,
  }
}

/** An account's login is gone: the pool never swaps to it until it works again. */
export function accountLoginRequired(input: {account: string; home: string; since: string; session: string | null; snippet: string; fix: string; next: string}): Notification {
  return {
    clears: [],
    fields: {account: input.account, fix: input.fix, home: input.home, session: input.session, since: input.since, snippet: input.snippet},
    key: `account_login_required:${input.account}`,
    kind: 'account_login_required',
    mode: 'event',
    severity: 'critical',
    text: [
      `Account ${input.account} is not logged in any more${input.session ? ` (seen on session ${input.session})` : ''}: ${JSON.stringify(input.snippet)}.`,
      `Fix: ${input.fix}.`,
      input.next,
    ].join('\n'),
    title: `Account ${input.account} needs a login`,
  }
}

/** A login that was marked gone works again (sent only when the loss was notified). */
export function accountLoginRestored(input: {account: string; reason: string; next?: string}): Notification {
  return {
    clears: [`account_login_required:${input.account}`],
    fields: {account: input.account, reason: input.reason},
    key: `account_login_restored:${input.account}`,
    kind: 'account_login_restored',
    mode: 'recovery',
    severity: 'info',
    text: [`Account ${input.account} is logged in again (${input.reason}).`, input.next ?? 'Next: the pool may swap to it again; nothing to do.'].join('\n'),
    title: `Account ${input.account} is logged in again`,
  }
}

/** A task failed or timed out and was moved to failed/. */
export function taskFailed(input: {project: string; task: string; reason: string; session?: string | null; account?: string | null; next?: string}): Notification {
  const id = `${input.project}/${input.task}`
  const where = [input.session ? `on session ${input.session}` : '', input.account ? `(account ${input.account})` : ''].filter(Boolean).join(' ')
  return {
    clears: [`task_stalled:${id}`],
    fields: {account: input.account ?? null, project: input.project, reason: input.reason, session: input.session ?? null, task: input.task},
    key: `task_failed:${id}`,
    kind: 'task_failed',
    mode: 'event',
    severity: 'warning',
    text: [
      `Task ${id} failed${where ? ` ${where}` : ''}: ${input.reason}. It is now in ${input.project}'s .agent-queue/failed/.`,
      input.next ?? `Next: the session is free for other tasks; tasks that depend on ${input.task} stay blocked. To retry it, move failed/${input.task}.md back to inbox/.`,
    ].join('\n'),
    title: `Task ${id} failed`,
  }
}

/** A working task has shown no progress for `stall_after`. */
export function taskStalled(input: {project: string; task: string; session: string; account?: string | null; since: string; timeoutAt?: string | null; next?: string}): Notification {
  const id = `${input.project}/${input.task}`
  return {
    clears: [],
    fields: {account: input.account ?? null, project: input.project, session: input.session, since: input.since, task: input.task, timeout_at: input.timeoutAt ?? null},
    key: `task_stalled:${id}`,
    kind: 'task_stalled',
    mode: 'condition',
    severity: 'warning',
    text: [
      `Task ${id} on session ${input.session}${input.account ? ` (account ${input.account})` : ''} has shown no progress since ${formatTime(input.since)}.`,
      input.next ??
        `Next: it is left running${input.timeoutAt ? ` and is failed at its timeout, ${formatTime(input.timeoutAt)}, if nothing changes` : ''}; look at the session (\`claude-failover status\`) if it waits for input.`,
    ].join('\n'),
    title: `Task ${id} stalled on ${input.session}`,
  }
}

/** `validate-symlinks` found problems; one line per problem as it prints them. */
export function symlinksInvalid(input: {problems: string[]; next?: string}): Notification {
  const shown = input.problems.slice(0, 10)
  const more = input.problems.length - shown.length
  return {
    clears: [],
    fields: {problems: input.problems.slice(0, 50)},
    key: 'symlinks_invalid',
    kind: 'symlinks_invalid',
    mode: 'condition',
    severity: 'critical',
    text: [
      `Shared symlink validation failed (${input.problems.length} problem(s)):`,
      ...shown.map((p) => `- ${p}`),
      ...(more > 0 ? [`- … and ${more} more`] : []),
      input.next ??
        'Next: no swap goes into an affected home and `reconcile --boot` does not start the pool until they are fixed; run `claude-failover validate-symlinks` (`--fix` creates missing links).',
    ].join('\n'),
    title: `Shared symlinks broken (${input.problems.length} problem(s))`,
  }
}

/** Symlink validation passes again (sent only if the failure was notified). */
export function symlinksRepaired(input: {next?: string} = {}): Notification {
  return {
    clears: ['symlinks_invalid'],
    fields: {},
    key: 'symlinks_repaired',
    kind: 'symlinks_repaired',
    mode: 'recovery',
    severity: 'info',
    text: ['Every account home shares the transcript folders again.', input.next ?? 'Next: swaps and `reconcile --boot` proceed normally; nothing to do.'].join('\n'),
    title: 'Shared symlinks repaired',
  }
}

/** An account home would stop at a first-launch screen (theme picker, folder trust, bypass warning). */
export function homesNotReady(input: {problems: string[]; next?: string}): Notification {
  return {
    clears: [],
    fields: {problems: input.problems.slice(0, 50)},
    key: 'homes_not_ready',
    kind: 'homes_not_ready',
    mode: 'condition',
    severity: 'critical',
    text: [
      `An account home is not ready for unattended use (${input.problems.length} problem(s)):`,
      ...input.problems.slice(0, 10).map((p) => `- ${p}`),
      input.next ?? 'Next: nothing starts or swaps into that home until it is fixed; run `claude-failover homes --fix`.',
    ].join('\n'),
    title: `Account home not ready (${input.problems.length} problem(s))`,
  }
}

/** A launch never reached Claude Code's SessionStart: the session waits at a screen before it. */
export function sessionNotStarted(input: {session: string; task: string | null; account: string | null; launchedAt: string; next?: string}): Notification {
  return {
    clears: [],
    fields: {account: input.account, launched_at: input.launchedAt, session: input.session, task: input.task},
    key: `session_not_started:${input.session}`,
    kind: 'session_not_started',
    mode: 'condition',
    severity: 'warning',
    text: [
      `Claude Code in ${input.session}${input.task ? ` (task ${input.task})` : ''}${input.account ? ` on ${input.account}` : ''} was launched at ${formatTime(input.launchedAt)} and never started its session: it waits at a screen nobody answers (a first-launch modal, a login, a question).`,
      input.next ?? `Next: look with \`tmux attach -t ${input.session}\`; \`claude-failover homes --fix\` pre-answers the first-launch screens. The task stays dispatched until its timeout.`,
    ].join('\n'),
    title: `${input.session} waits before its session started`,
  }
}

/** The message `notify test` sends. */
export function testNotification(input: {host: string}): Notification {
  return {
    clears: [],
    fields: {},
    key: 'test',
    kind: 'test',
    mode: 'event',
    severity: 'info',
    text: [`A test sent by \`claude-failover notify test\` on ${input.host}.`, 'If you can read this, this channel works; nothing else happens.'].join('\n'),
    title: 'Test notification',
  }
}

/** The keys a task's notifications use; clear them when the task is dispatched again or finishes. */
export function taskKeys(project: string, task: string): string[] {
  return [`task_failed:${project}/${task}`, `task_stalled:${project}/${task}`]
}

/** `2026-05-03 17:00 UTC`: times in messages are read by people, in one zone. */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function list(names: string[]): string {
  return names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ')
}
