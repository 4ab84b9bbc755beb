// `quota check` against real tmux panes and the simulated claude.
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot, withStateLock} from '../../src/lib/lock.js'
import {writeSimControl} from '../../src/sim/control.js'
import {ROOT, waitFor} from '../helpers/env.js'
import {makePool, type Pool, showPaneFixture, waitStarted} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

async function limitedPool(control: Parameters<typeof writeSimControl>[1]): Promise<Pool> {
  const p = await makePool({turnMs: 400})
  await writeSimControl(join(p.dir, 'main'), control)
  p.addTask('alpha', 'a task that hits the limit')
  expect((await p.cli(['dispatch'])).code).toBe(0)
  await waitStarted(p, ['ccl-auto-11'])
  await waitFor(async () => (await p.signals('ccl-auto-11')).some((s) => s.event === 'StopFailure'))
  return p
}

async function check(p: Pool): Promise<{code: number; doc: {decision: {action: string; message: string}; sessions: {session: string; verdict: string; reset_at: string | null}[]; swap: {to: string} | null}; stderr: string}> {
  const result = await p.cli(['quota', 'check', '--json'])
  return {code: result.code, doc: JSON.parse(result.stdout), stderr: result.stderr}
}

describe('quota check', () => {
  it('a limit with a reset time swaps at once and marks the account until the reset plus grace', async () => {
    pool = await limitedPool({exhausted: true, reset: '3pm (Europe/Paris)'})
    const p = pool
    const first = await check(p)
    expect(first.code, first.stderr).toBe(0)
    expect(first.doc.decision.action).toBe('swap')
    expect(first.doc.swap).toMatchObject({from: 'main', to: 'backup'})
    expect(first.stderr).toMatch(/\[quota\] swap: trigger_session=ccl-auto-11 pattern=\S+ snippet="[^"]*You've hit your 5-hour limit · resets 3pm \(Europe\/Paris\)/)
    const {state} = await readStateSnapshot(p.config)
    const reset = Date.parse(first.doc.sessions[0]?.reset_at ?? '')
    expect(Date.parse(state.accounts.main?.exhausted_until ?? '')).toBe(reset + 5 * 60_000)
    expect(state.accounts.main?.last_hit).toMatchObject({session: 'ccl-auto-11'})
    expect(state.active_account).toBe('backup')

    // The resumed conversation redraws the old banner: it must not swap back.
    await waitFor(async () => (await p.signals('ccl-auto-11')).some((s) => s.event === 'Stop' && s.config_dir === join(p.dir, 'backup')), 30_000)
    const second = await check(p)
    expect(second.doc.decision.action).toBe('none')
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('backup')
    expect((await readRecentEvents(p.config.stateDir, 30)).filter((e) => e.event === 'swap')).toHaveLength(1)
  })

  it('a limit without a reset time needs two consecutive polls', async () => {
    pool = await limitedPool({exhausted: true, reset: ''})
    const p = pool
    const first = await check(p)
    expect(first.doc.decision.action).toBe('confirming')
    expect((await readStateSnapshot(p.config)).state).toMatchObject({active_account: 'main', suspect: {'ccl-auto-11': {count: 1}}})
    const second = await check(p)
    expect(second.doc.decision.action).toBe('swap')
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'backup', suspect: {}})
  })

  it('no second swap within the cooldown', async () => {
    pool = await limitedPool({exhausted: true, reset: '3pm (Europe/Paris)'})
    const p = pool
    await withStateLock(p.config, {command: 'test'}, async (tx) => {
      tx.state.last_swap = {at: new Date(Date.now() - 60_000).toISOString(), from: 'backup', to: 'main'}
      await tx.commit()
    })
    const result = await check(p)
    expect(result.doc.decision.action).toBe('cooldown')
    expect(result.stderr).toContain('[quota] swap cooldown active')
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('main')
    expect(state.accounts.main?.exhausted_until).not.toBeNull()
  })

  it('a 500 whose body mentions rate limits is never a quota (veto), whatever the number of polls', async () => {
    pool = await makePool()
    const p = pool
    const fixture = join(ROOT, 'test', 'fixtures', 'panes', 'n01-500-rate-limit-check-failed.txt')
    await showPaneFixture(p, 'ccl-auto-12', fixture)
    for (let poll = 0; poll < 3; poll++) {
      const result = await check(p)
      expect(result.doc.sessions).toEqual([expect.objectContaining({session: 'ccl-auto-12', verdict: 'server_error'})])
      expect(result.doc.decision.action).toBe('none')
    }

    expect((await readStateSnapshot(p.config)).state.active_account).toBe('main')
  })

  it('reactivates an account once its reset has passed', async () => {
    pool = await makePool()
    const p = pool
    await withStateLock(p.config, {command: 'test'}, async (tx) => {
      tx.state.accounts.backup = {exhausted_until: new Date(Date.now() - 1000).toISOString(), last_hit: null}
      tx.state.dispatch_paused_until = new Date(Date.now() - 1000).toISOString()
      await tx.commit()
    })
    const result = await check(p)
    expect(result.code).toBe(0)
    const {state} = await readStateSnapshot(p.config)
    expect(state.accounts.backup?.exhausted_until).toBeNull()
    expect(state.dispatch_paused_until).toBeNull()
    expect((await readRecentEvents(p.config.stateDir, 5)).map((e) => e.event)).toContain('account_reactivated')
  })

  it('--dry-run shows the decision and changes nothing', async () => {
    pool = await limitedPool({exhausted: true, reset: '3pm (Europe/Paris)'})
    const p = pool
    const result = await p.cli(['quota', 'check', '--dry-run', '--json'])
    expect(JSON.parse(result.stdout)).toMatchObject({decision: {action: 'swap'}, dry_run: true, swap: null})
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'main', accounts: {}})
  })
})
