// The messages and the de-duplication rules: pure functions over `state.notified`, run as a
// sequence of ticks the way the timers fire the commands.
import {describe, expect, it} from 'vitest'

import {
  accountReactivated,
  allExhausted,
  clearNotified,
  DEFAULT_DEDUPE_POLICY,
  formatTime,
  type Notification,
  type Notified,
  planNotifications,
  pruneNotified,
  recordNotification,
  sessionDied,
  sessionRecovered,
  swapDone,
  swapFailed,
  symlinksInvalid,
  symlinksRepaired,
  taskFailed,
  taskKeys,
  taskStalled,
  UNDELIVERED_PREFIX,
} from '../../src/lib/notify/notifier.js'

const T0 = new Date('2026-05-03T14:00:00.000Z')
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000)

/** One timer tick: offer the notifications, "send" the due ones, record them. */
function tick(notified: Notified, offered: Notification[], now: Date, delivered = true): {notified: Notified; sent: string[]} {
  const plan = planNotifications(notified, offered, now)
  let next = notified
  for (const n of plan.due) next = recordNotification(next, n, delivered, now)
  return {notified: next, sent: plan.due.map((n) => n.key)}
}

describe('messages say what happened, where, and what happens next', () => {
  it('swap done', () => {
    const n = swapDone({
      at: '2026-05-03T14:05:00.000Z',
      from: 'main',
      fromExhaustedUntil: '2026-05-03T17:05:00.000Z',
      reason: 'ccl-auto-12 hit the 5-hour limit',
      sessions: [
        {name: 'ccl-auto-11', resumed: true},
        {name: 'ccl-auto-12', resumed: true},
        {name: 'ccl-auto-13', resumed: false},
      ],
      to: 'backup',
    })
    expect(n.key).toBe('swap_done:main->backup@2026-05-03T14:05:00.000Z')
    expect(n.title).toBe('Swapped accounts: main → backup')
    expect(n.text).toBe(
      [
        'The pool failed over from account main to backup at 2026-05-03 14:05 UTC (ccl-auto-12 hit the 5-hour limit).',
        '3 session(s) relaunched on backup; 2 resumed their conversation (ccl-auto-11, ccl-auto-12), the others wait at a shell for new tasks.',
        'Next: main is not used again before 2026-05-03 17:05 UTC; nothing to do.',
      ].join('\n'),
    )
    expect(n.clears).toEqual(['swap_failed', 'all_exhausted', 'account_reactivated:main'])
    expect(n.fields.sessions_resumed).toEqual(['ccl-auto-11', 'ccl-auto-12'])
  })

  it('swap failed', () => {
    const n = swapFailed({from: 'main', reason: 'backup home has a diverging projects link', to: 'backup'})
    expect(n).toMatchObject({key: 'swap_failed', mode: 'condition', severity: 'critical', title: 'Swap failed: main → backup'})
    expect(n.text).toMatch(/^The failover from account main to backup failed: backup home has a diverging projects link\.\nNext: the next `swap` or `reconcile`/)
  })

  it('all accounts exhausted names the earliest reset', () => {
    const n = allExhausted({
      accounts: [
        {exhaustedUntil: '2026-05-03T19:00:00.000Z', name: 'main'},
        {exhaustedUntil: '2026-05-03T17:30:00.000Z', name: 'backup'},
        {exhaustedUntil: null, name: 'spare'},
      ],
      dispatchPausedUntil: '2026-05-03T17:35:00.000Z',
    })
    expect(n.title).toBe('All accounts exhausted until 2026-05-03 17:30 UTC (backup resets first)')
    expect(n.text).toContain('main until 2026-05-03 19:00 UTC, backup until 2026-05-03 17:30 UTC, spare until an unknown time')
    expect(n.text).toContain('Dispatching is paused until 2026-05-03 17:35 UTC')
    expect(n.text).toContain('Next: the pool resumes on backup')
    expect(n.fields).toMatchObject({earliest_account: 'backup', earliest_reset: '2026-05-03T17:30:00.000Z'})
    expect(allExhausted({accounts: [{exhaustedUntil: null, name: 'main'}]}).title).toBe('All accounts exhausted (no reset time known)')
  })

  it('account reactivated, session died and recovered, task failed and stalled, symlinks', () => {
    expect(accountReactivated({account: 'main', activeAccount: 'backup', exhaustedUntil: '2026-05-03T17:05:00.000Z'}).text).toBe(
      'The usage limit of account main has reset (it was exhausted until 2026-05-03 17:05 UTC); it can take work again.\nNext: the pool stays on backup; main is a failover target again.',
    )
    expect(sessionDied({account: 'main', session: 'ccl-auto-12', task: 'web/fix-login', taskOutcome: 'requeued'}).text).toBe(
      'tmux session ccl-auto-12 (account main) died while working on task web/fix-login.\nNext: `reconcile` recreates the session. Task web/fix-login was put back in its inbox and will be dispatched again.',
    )
    expect(sessionRecovered({session: 'ccl-auto-12'})).toMatchObject({clears: ['session_died:ccl-auto-12'], mode: 'recovery'})
    const failed = taskFailed({account: 'main', project: 'web', reason: 'timed out after 2h', session: 'ccl-auto-12', task: 'fix-login'})
    expect(failed.key).toBe('task_failed:web/fix-login')
    expect(failed.text).toMatch(/^Task web\/fix-login failed on session ccl-auto-12 \(account main\): timed out after 2h\./)
    const stalled = taskStalled({project: 'web', session: 'ccl-auto-12', since: '2026-05-03T13:20:00.000Z', task: 'fix-login', timeoutAt: '2026-05-03T15:00:00.000Z'})
    expect(stalled.text).toContain('has shown no progress since 2026-05-03 13:20 UTC')
    expect(stalled.text).toContain('failed at its timeout, 2026-05-03 15:00 UTC')
    const links = symlinksInvalid({problems: Array.from({length: 12}, (_, i) => `backup/projects: problem ${i}`)})
    expect(links.title).toBe('Shared symlinks broken (12 problem(s))')
    expect(links.text).toContain('- … and 2 more')
    expect(formatTime('not a time')).toBe('not a time')
  })
})

describe('de-duplication across runs', () => {
  it('a persisting condition is sent once, then reminded after 6 hours', () => {
    const offer = [allExhausted({accounts: [{exhaustedUntil: '2026-05-04T02:00:00.000Z', name: 'main'}]})]
    let state: Notified = {}
    const sends: number[] = []
    // Given the condition offered on every 5-minute tick for 13 hours
    for (let minute = 0; minute <= 13 * 60; minute += 5) {
      const result = tick(state, offer, at(minute))
      state = result.notified
      if (result.sent.length > 0) sends.push(minute)
    }

    // Then it went out at the start and at each 6-hour reminder only
    expect(sends).toEqual([0, 360, 720])
    expect(state.all_exhausted).toEqual({at: at(720).toISOString(), message: offer[0]!.title})
  })

  it('an event is sent once per key, and the same key offered again is suppressed', () => {
    const swap = swapDone({at: '2026-05-03T14:05:00.000Z', from: 'main', to: 'backup'})
    const first = tick({}, [swap], at(0))
    expect(first.sent).toEqual([swap.key])
    // A journal roll-forward offering the same swap again, a day later, still does not repeat it.
    const again = planNotifications(first.notified, [swap], at(24 * 60))
    expect(again.due).toEqual([])
    expect(again.suppressed[0]?.reason).toMatch(/^already sent at /)
    // A later swap is a new event.
    expect(tick(first.notified, [swapDone({at: '2026-05-03T19:00:00.000Z', from: 'backup', to: 'main'})], at(300)).sent).toHaveLength(1)
  })

  it('the same key twice in one batch goes out once', () => {
    const died = sessionDied({session: 'ccl-auto-12'})
    expect(planNotifications({}, [died, died], at(0)).due).toEqual([died])
  })

  it('a recovery clears the condition, so its return is sent at once', () => {
    const died = sessionDied({session: 'ccl-auto-12'})
    const recovered = sessionRecovered({session: 'ccl-auto-12'})
    let run = tick({}, [died], at(0))
    expect(run.sent).toEqual(['session_died:ccl-auto-12'])
    run = tick(run.notified, [died], at(5))
    expect(run.sent).toEqual([])

    run = tick(run.notified, [recovered], at(10))
    expect(run.sent).toEqual(['session_recovered:ccl-auto-12'])
    expect(run.notified).toEqual({})
    // Offered again on the next tick, the recovery has nothing left to recover from.
    expect(tick(run.notified, [recovered], at(15)).sent).toEqual([])

    expect(tick(run.notified, [died], at(20)).sent).toEqual(['session_died:ccl-auto-12'])
  })

  it('a recovery nobody needs to hear about is not sent', () => {
    const plan = planNotifications({}, [sessionRecovered({session: 'ccl-auto-13'}), symlinksRepaired()], at(0))
    expect(plan.due).toEqual([])
    expect(plan.suppressed.map((s) => s.reason)).toEqual(['nothing to recover from was notified', 'nothing to recover from was notified'])
  })

  it('died and recovered in the same run: both go out and nothing stays latched', () => {
    const run = tick({}, [sessionDied({session: 'ccl-auto-12'}), sessionRecovered({session: 'ccl-auto-12'})], at(0))
    expect(run.sent).toEqual(['session_died:ccl-auto-12', 'session_recovered:ccl-auto-12'])
    expect(run.notified).toEqual({})
  })

  it('account reactivated clears all_exhausted; all_exhausted and a swap away re-arm the reactivation', () => {
    const exhausted = allExhausted({
      accounts: [
        {exhaustedUntil: '2026-05-03T17:00:00.000Z', name: 'main'},
        {exhaustedUntil: '2026-05-03T18:00:00.000Z', name: 'backup'},
      ],
    })
    let run = tick({}, [exhausted], at(0))
    run = tick(run.notified, [accountReactivated({account: 'main'})], at(180))
    expect(run.sent).toEqual(['account_reactivated:main'])
    expect(Object.keys(run.notified)).toEqual(['account_reactivated:main'])
    // Level-triggered: offered again on every tick, it is not repeated.
    expect(tick(run.notified, [accountReactivated({account: 'main'})], at(185)).sent).toEqual([])

    // main is exhausted again and the pool swaps away from it: its next reset is news again.
    run = tick(run.notified, [swapDone({at: at(400).toISOString(), from: 'main', to: 'backup'})], at(400))
    expect(run.notified['account_reactivated:main']).toBeUndefined()
    expect(tick(run.notified, [accountReactivated({account: 'main'})], at(700)).sent).toEqual(['account_reactivated:main'])
  })

  it('a swap that succeeds clears swap_failed', () => {
    let run = tick({}, [swapFailed({from: 'main', reason: 'x', to: 'backup'})], at(0))
    run = tick(run.notified, [swapDone({at: at(10).toISOString(), from: 'main', to: 'backup'})], at(10))
    expect(run.notified.swap_failed).toBeUndefined()
    expect(tick(run.notified, [swapFailed({from: 'backup', reason: 'y', to: 'main'})], at(20)).sent).toEqual(['swap_failed'])
  })

  it('a failed task clears its stall; taskKeys lets the caller clear both when the task runs again', () => {
    let run = tick({}, [taskStalled({project: 'web', session: 's', since: at(0).toISOString(), task: 'a'})], at(0))
    run = tick(run.notified, [taskFailed({project: 'web', reason: 'timed out', task: 'a'})], at(60))
    expect(Object.keys(run.notified)).toEqual(['task_failed:web/a'])
    expect(clearNotified(run.notified, taskKeys('web', 'a'))).toEqual({})
  })

  it('a notification no channel accepted is retried after 15 minutes, not 6 hours', () => {
    const died = sessionDied({session: 'ccl-auto-12'})
    let run = tick({}, [died], at(0), false)
    expect(run.notified['session_died:ccl-auto-12']?.message).toBe(`${UNDELIVERED_PREFIX}Session ccl-auto-12 died`)
    expect(tick(run.notified, [died], at(10)).sent).toEqual([])
    run = tick(run.notified, [died], at(15))
    expect(run.sent).toEqual(['session_died:ccl-auto-12'])
    expect(run.notified['session_died:ccl-auto-12']?.message).toBe('Session ccl-auto-12 died')
  })

  it('old entries are forgotten after 7 days; the input map is never changed', () => {
    const notified: Notified = {fresh: {at: at(0).toISOString()}, old: {at: at(-8 * 24 * 60).toISOString()}}
    const frozen = structuredClone(notified)
    expect(Object.keys(pruneNotified(notified, at(0)))).toEqual(['fresh'])
    planNotifications(notified, [sessionDied({session: 'x'})], at(0))
    recordNotification(notified, sessionRecovered({session: 'x'}), true, at(0))
    expect(notified).toEqual(frozen)
    expect(DEFAULT_DEDUPE_POLICY).toEqual({forgetAfterMs: 7 * 24 * 3_600_000, remindAfterMs: 6 * 3_600_000, retryAfterMs: 15 * 60_000})
  })

  it('the remind interval is a parameter', () => {
    const died = sessionDied({session: 'x'})
    const run = tick({}, [died], at(0))
    const policy = {...DEFAULT_DEDUPE_POLICY, remindAfterMs: 60 * 60_000}
    expect(planNotifications(run.notified, [died], at(59), policy).due).toEqual([])
    expect(planNotifications(run.notified, [died], at(60), policy).due).toEqual([died])
  })
})
