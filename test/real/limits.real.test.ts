// Limits and errors as the real Claude Code shows them: a limit on the first request, a weekly limit,
// a dedicated session following the swap, the old banner redrawn on resume (never a second swap),
// and the errors that must never swap: 500, 529, a transient 429. (A 401 is no limit either, but the
// pool leaves a dead login once, for a usable account: logins.real.test.ts.)
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {type Answer} from './fake-api.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForPane, waitForSignal} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const inHours = (h: number) => Math.floor(Date.now() / 1000) + h * 3600

async function activeAccount(p: RealPool): Promise<string | null> {
  return (await readStateSnapshot(p.config)).state.active_account
}

interface SessionVerdictJson {
  session: string
  verdict: string
}

async function verdicts(p: RealPool): Promise<Record<string, string>> {
  const run = await p.cli(['quota', 'check', '--json'])
  expect(run.code, run.stderr).toBe(0)
  return Object.fromEntries((JSON.parse(run.stdout).sessions as SessionVerdictJson[]).map((s) => [s.session, s.verdict]))
}

describe('limits of the real Claude Code', {timeout: REAL_TEST_MS}, () => {
  it('a weekly limit on the very first request, with a dedicated session: both follow to backup, and the redrawn banners never swap again', async () => {
    const resetsAt = inHours(72)
    pool = await makeRealPool({
      extraYaml: 'dedicated: [{session: ccl-1-vault, cwd: ./proj, relaunch: true}]',
      script: (r) => (r.account === 'main' ? {kind: 'limit', resetsAt, window: 'seven_day'} : {kind: 'text', text: `backup answers: ${r.lastUser.slice(0, 40)}`}),
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    // The operator's own session, started as the README shows (the pool's hooks settings file).
    p.launchBy('ccl-1-vault', 'main', ['--dangerously-skip-permissions', '--settings', join(p.config.stateDir, 'hooks-settings.json'), '--', 'the operator asks something'])
    p.addTask('first', 'a task whose first request meets the weekly limit')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    for (const s of ['ccl-auto-11', 'ccl-1-vault']) {
      expect((await waitForSignal(p, s, 'StopFailure')).error).toBe('rate_limit')
      await waitForPane(p, s, /You've hit your weekly limit · resets/)
    }

    const before = await readStateSnapshot(p.config)
    const vaultId = before.state.sessions['ccl-1-vault']?.conversation_id ?? (await p.signals('ccl-1-vault')).find((s) => s.event === 'SessionStart')?.conversation_id
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect(await activeAccount(p)).toBe('backup')
    const {state} = await readStateSnapshot(p.config)
    // Judged by its reset: main is out for three days, not for a guessed five hours.
    expect(Date.parse(state.accounts.main?.exhausted_until ?? '')).toBeGreaterThanOrEqual((resetsAt - 60) * 1000)

    const vault = await waitForSignal(p, 'ccl-1-vault', 'SessionStart', (s) => s.source === 'resume')
    expect(vault).toMatchObject({config_dir: join(p.dir, 'backup'), conversation_id: vaultId})
    await waitForSignal(p, 'ccl-auto-11', 'SessionStart', (s) => s.source === 'resume')
    // The dedicated session got no continue message: its pane still ends with the old banner, redrawn.
    await waitForPane(p, 'ccl-1-vault', /You've hit your weekly limit/)
    const vaultRequests = p.api.mainRequests('backup').filter((r) => r.userTexts[0] === 'the operator asks something')
    expect(vaultRequests).toEqual([])

    // Later checks read those redrawn banners: no second swap, nothing charged to backup by them.
    for (let i = 0; i < 3; i++) {
      const seen = await verdicts(p)
      expect(seen['ccl-1-vault']).toBeDefined()
      expect(seen['ccl-1-vault']).not.toBe('quota_exhausted')
      expect(await activeAccount(p)).toBe('backup')
    }

    expect((await readRecentEvents(p.config.stateDir, 50)).filter((e) => e.event === 'swap')).toHaveLength(1)
    expect(p.api.mainRequests('backup').filter((r) => r.userTexts[0] === 'the operator asks something')).toEqual([])
  })

  it.each([
    ['a 500', {kind: 'error', status: 500} as Answer, /API Error: 500/, 'server_error'],
    ['a 529', {kind: 'error', status: 529} as Answer, /API Error: 529/, 'server_error'],
  ])('%s ends the turn but never swaps', async (_name, answer, screen, verdict) => {
    pool = await makeRealPool({script: () => answer})
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('job', 'a task that meets an error')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitForSignal(p, 'ccl-auto-11', 'StopFailure')
    await waitForPane(p, 'ccl-auto-11', screen)
    for (let i = 0; i < 3; i++) expect((await verdicts(p))['ccl-auto-11']).toBe(verdict)
    expect(await activeAccount(p)).toBe('main')
    expect((await readRecentEvents(p.config.stateDir, 50)).map((e) => e.event)).not.toContain('swap')
    expect(p.api.mainRequests('backup')).toEqual([])
  })

  it('a transient 429 that Claude Code retries, then succeeds: no swap, the task ends', async () => {
    let transient = 0
    pool = await makeRealPool({
      maxRetries: 2,
      script: (r) => (r.account === 'main' && transient++ === 0 ? {kind: 'transient429'} : {kind: 'text', text: 'done after a retry'}),
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('job', 'a task whose first request is throttled')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitForSignal(p, 'ccl-auto-11', 'Stop')
    expect((await verdicts(p))['ccl-auto-11']).not.toBe('quota_exhausted')
    expect(await activeAccount(p)).toBe('main')
    expect(transient).toBeGreaterThanOrEqual(2)
  })
})
