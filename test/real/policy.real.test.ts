// The limit policy with the real Claude Code 2.1.328 (issue 16): a usage-limit StopFailure starts the
// check by itself and the pool is on backup with no tick; a near reset is waited out (no swap, no
// request charged to backup, one decision, nothing left marked after the reset); and the retry line
// the real binary shows while it retries a limit under gateway auth is read as that limit.
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {waitFor} from '../helpers/env.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForPane, waitForSignal} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const inSeconds = (s: number) => Math.floor(Date.now() / 1000) + s

async function state(p: RealPool) {
  return (await readStateSnapshot(p.config)).state
}

describe('the limit policy with the real Claude Code', {timeout: REAL_TEST_MS}, () => {
  it('a 5-hour limit three hours from its reset: the StopFailure hook starts the check, the pool is resumed on backup with no tick', async () => {
    pool = await makeRealPool({
      extraYaml: 'quota: {policy: {check_on_limit: true}}',
      script: (r) => (r.account === 'main' ? {kind: 'limit', resetsAt: inSeconds(3 * 3600), window: 'five_hour'} : {kind: 'text', text: `backup answers: ${r.lastUser.slice(0, 40)}`}),
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('first', 'a task whose first request meets the 5-hour limit')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    const failure = await waitForSignal(p, 'ccl-auto-11', 'StopFailure')
    expect(failure.error).toBe('rate_limit')
    // Nothing here runs quota check or a tick.
    const resumed = await waitForSignal(p, 'ccl-auto-11', 'SessionStart', (s) => s.source === 'resume' && s.config_dir === `${p.dir}/backup`, 90_000)
    expect((await state(p)).active_account).toBe('backup')
    const events = await readRecentEvents(p.config.stateDir, 100)
    expect(events.find((e) => e.event === 'account_exhausted')).toMatchObject({account: 'main', decision: 'swap', reason: expect.stringMatching(/^the session limit resets in 2h59m|^the session limit resets in 3h, beyond wait_horizon 15m/), scope: 'session'})
    const elapsed = Date.parse(resumed.ts) - Date.parse(failure.ts)
    // The real binary takes seconds to start on a loaded 2-core machine; a tick would be up to 2 min away.
    expect(elapsed).toBeLessThan(45_000)
    await waitFor(async () => p.api.mainRequests('backup').length > 0, 60_000)
  })

  it('a reset 90 s away: Claude Code is left to wait (no swap, nothing charged to backup, one decision), and after the reset nothing stays marked', async () => {
    const resetsAt = inSeconds(90)
    pool = await makeRealPool({
      extraYaml: 'quota: {policy: {check_on_limit: true, mode: auto, wait_horizon: 15m}, timezone: UTC}',
      script: (r) => (r.account === 'main' && Date.now() / 1000 < resetsAt ? {kind: 'limit', resetsAt, window: 'five_hour'} : {kind: 'text', text: 'answered'}),
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('near', 'a task that meets a limit about to reset')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitForSignal(p, 'ccl-auto-11', 'StopFailure')
    await waitForPane(p, 'ccl-auto-11', /You've hit your 5-hour limit · resets/)
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'limit_wait'), 60_000)
    for (let i = 0; i < 2; i++) {
      const run = await p.cli(['quota', 'check', '--json'])
      expect(run.code, run.stderr).toBe(0)
      expect(JSON.parse(run.stdout).decision.action).toBe('waiting')
    }

    const wait = (await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'limit_wait')
    expect(wait).toHaveLength(1)
    expect(wait[0]).toMatchObject({account: 'main', reset_at: new Date(resetsAt * 1000).toISOString(), scope: 'session'})
    const reset = new Date(resetsAt * 1000)
    const hhmm = `${String(reset.getUTCHours()).padStart(2, '0')}:${String(reset.getUTCMinutes()).padStart(2, '0')}`
    expect((await p.cli(['status'])).stdout).toContain(`waiting until ${hhmm} (native wait)`)
    expect((await state(p)).active_account).toBe('main')
    expect(p.api.mainRequests('backup')).toEqual([])

    // The reset passes: the next check ends the wait and leaves nothing marked.
    await waitFor(async () => Date.now() > resetsAt * 1000 + 2000, 120_000)
    const after = await p.cli(['quota', 'check', '--json'])
    expect(after.code, after.stderr).toBe(0)
    expect(JSON.parse(after.stdout).decision.action).toBe('none')
    const s = await state(p)
    expect(s.accounts.main).toMatchObject({exhausted_until: null})
    expect(s.accounts.main?.waiting).toBeUndefined()
    expect((await readRecentEvents(p.config.stateDir, 100)).map((e) => e.event)).toEqual(expect.arrayContaining(['limit_wait', 'limit_wait_ended']))
    expect((await readRecentEvents(p.config.stateDir, 100)).map((e) => e.event)).not.toContain('swap')
    expect((await p.cli(['status'])).stdout).not.toContain('native wait')
  })

  it('the retry line of a limit under gateway auth is the limit: quota check swaps before the retries run out', async () => {
    pool = await makeRealPool({
      maxRetries: 10,
      script: (r) => (r.account === 'main' ? {kind: 'limit', resetsAt: inSeconds(3 * 3600), window: 'five_hour'} : {kind: 'text', text: 'backup answers'}),
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('retry', 'a task whose requests meet the limit while Claude Code retries')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    const pane = await waitForPane(p, 'ccl-auto-11', /limit reached · retrying in/, 90_000)
    expect((await p.signals('ccl-auto-11')).some((s) => s.event === 'StopFailure')).toBe(false)
    const run = await p.cli(['quota', 'check', '--json'])
    expect(run.code, `${run.stderr}\npane:\n${pane}`).toBe(0)
    const doc = JSON.parse(run.stdout)
    expect(doc.sessions.find((s: {session: string}) => s.session === 'ccl-auto-11'), pane).toMatchObject({pattern: 'limit_retrying', verdict: 'quota_exhausted'})
    expect(doc.decision.action).toBe('swap')
    expect((await state(p)).active_account).toBe('backup')
  })
})
