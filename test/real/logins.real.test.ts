// Logins watched, with the real Claude Code 2.1.328: the fake API answers main's requests with a 401
// (gateway auth: "Not logged in · Please run /login", StopFailure authentication_failed, no retry).
// quota check marks main login_required (not exhausted: a login is no limit), leaves it once for
// backup, notifies once with the fix, never swaps back; a real turn that ends normally under main's
// home later clears the mark.
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {type Loopback, loopback, webhookPosts as posts} from '../helpers/loopback.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForPane, waitForSignal} from './bed.js'

let pool: RealPool | undefined
let hook: Loopback | undefined
afterEach(async () => {
  await pool?.stop()
  await hook?.close()
  pool = undefined
  hook = undefined
})

describe('a lost login with the real Claude Code', {timeout: REAL_TEST_MS}, () => {
  it('a 401 marks the account, notifies once with the fix, leaves it once, and a later real turn under its home clears it', async () => {
    hook = await loopback()
    let mainLoggedIn = false
    pool = await makeRealPool({
      extraYaml: [`notifications: {webhook: {url: "${hook.url}/hook"}}`, 'dedicated: [{session: ccl-1-ops, cwd: ./proj, relaunch: false}]'].join('\n'),
      script: (r) => (r.account === 'main' && !mainLoggedIn ? {kind: 'error', status: 401} : {kind: 'text', text: `${r.account} answers`}),
    })
    const p = pool
    const fix = `CLAUDE_CONFIG_DIR=${join(p.dir, 'main')} claude, then /login`
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('job', 'a task whose first request meets a dead login')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    expect((await waitForSignal(p, 'ccl-auto-11', 'StopFailure')).error).toBe('authentication_failed')
    await waitForPane(p, 'ccl-auto-11', /Not logged in · Please run \/login/)

    const run = await p.cli(['quota', 'check', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).logins).toMatchObject({mark: [{account: 'main', session: 'ccl-auto-11'}], required: ['main']})
    const {state} = await readStateSnapshot(p.config)
    expect(state.logins?.main?.required).toMatchObject({session: 'ccl-auto-11', snippet: expect.stringContaining('Not logged in')})
    // A lost login is no limit: main is not marked exhausted, and the swap says why it happened.
    expect(state.accounts.main?.exhausted_until ?? null).toBeNull()
    expect(state.active_account).toBe('backup')
    const events = await readRecentEvents(p.config.stateDir, 100)
    expect(events.filter((e) => e.event === 'account_exhausted')).toEqual([])
    expect(events.filter((e) => e.event === 'account_login_required')).toEqual([expect.objectContaining({account: 'main', fix})])
    expect(events.filter((e) => e.event === 'swap')).toEqual([expect.objectContaining({from: 'main', reason: expect.stringMatching(/^login: main needs a login/), to: 'backup'})])
    await waitForSignal(p, 'ccl-auto-11', 'SessionStart', (s) => s.source === 'resume' && s.config_dir === join(p.dir, 'backup'))

    // More polls: no second swap, no second notice; the notice carries the exact fix.
    for (let i = 0; i < 2; i++) expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'swap')).toHaveLength(1)
    // The conversation resumed on backup redraws the old "Not logged in" line: backup is not marked by it.
    expect((await readStateSnapshot(p.config)).state.logins?.backup?.required ?? null).toBeNull()
    expect(posts(hook, 'account_login_required')).toHaveLength(1)
    expect(JSON.stringify(posts(hook, 'account_login_required')[0]?.json)).toContain(fix)
    const check = await p.cli(['status', '--check'])
    expect(check.code).toBe(69)
    expect(check.stderr).toContain(`account main needs a login since`)

    // The login works again; the operator's own session under main's home finishes a real turn.
    mainLoggedIn = true
    p.launchBy('ccl-1-ops', 'main', ['--dangerously-skip-permissions', '--settings', join(p.config.stateDir, 'hooks-settings.json'), '--', 'is main back?'])
    expect((await waitForSignal(p, 'ccl-1-ops', 'Stop')).config_dir).toBe(join(p.dir, 'main'))
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readStateSnapshot(p.config)).state.logins?.main?.required).toBeNull()
    expect((await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'account_login_cleared')).toEqual([expect.objectContaining({account: 'main', reason: 'session_succeeded', session: 'ccl-1-ops'})])
    expect(posts(hook, 'account_login_restored')).toHaveLength(1)
  })
})
