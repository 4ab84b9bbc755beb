// Logins watched, end to end with the simulated claude on a real tmux server: a turn that ends
// "Not logged in · Please run /login" marks its account login_required; the pool leaves it once and
// never swaps back into it; status and status --check show it with the fix; one notification; a turn
// that ends normally on that account later clears the mark, with an event and a recovery notice.
import {utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot, withStateLock} from '../../src/lib/lock.js'
import {writeSimControl} from '../../src/sim/control.js'
import {tmux, waitFor} from '../helpers/env.js'
import {type Loopback, loopback, webhookPosts as posts} from '../helpers/loopback.js'
import {makePool, type Pool} from '../helpers/pool.js'

let pool: Pool | undefined
let hook: Loopback | undefined
afterEach(async () => {
  await pool?.stop()
  await hook?.close()
  pool = undefined
  hook = undefined
})

describe('an account whose login is gone', () => {
  it('is marked, left once, never a target, shown with its fix, notified once, and cleared by a later turn that works', async () => {
    hook = await loopback()
    pool = await makePool({extraYaml: [`notifications: {webhook: {url: "${hook.url}/hook"}}`, 'dedicated: [{session: ccl-2-keep, cwd: ./proj, relaunch: false}]'].join('\n')})
    const p = pool
    const mainHome = join(p.dir, 'main')
    const fix = `CLAUDE_CONFIG_DIR=${mainHome} claude, then /login`
    // Given main's login is gone: every request it sends comes back 401
    await writeSimControl(mainHome, {error: 401})
    p.addTask('alpha', 'a task that meets a dead login')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitFor(async () => (await p.signals('ccl-auto-11')).some((s) => s.event === 'StopFailure' && s.error === 'authentication_failed'), 20_000)

    // When quota check runs (the tick's first step)
    const first = await p.cli(['quota', 'check', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const result = JSON.parse(first.stdout)
    expect(result.logins).toMatchObject({mark: [{account: 'main', session: 'ccl-auto-11'}], required: ['main']})
    // Then main is marked with its evidence, and the pool left it once, for backup
    let {state} = await readStateSnapshot(p.config)
    expect(state.logins?.main?.required).toMatchObject({session: 'ccl-auto-11', snippet: expect.stringContaining('Not logged in')})
    expect(state.active_account).toBe('backup')
    const marks = (await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'account_login_required')
    expect(marks).toHaveLength(1)
    expect(marks[0]).toMatchObject({account: 'main', fix, session: 'ccl-auto-11'})
    expect((await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'swap')).toEqual([expect.objectContaining({from: 'main', to: 'backup'})])

    // status shows it per account, status --check fails on it with the exact fix
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout)
    expect(status.accounts.find((a: {name: string}) => a.name === 'main').login_required).toMatchObject({fix, session: 'ccl-auto-11'})
    expect((await p.cli(['status'])).stdout).toMatch(new RegExp(`main: needs a login since .*; never swapped to until then; fix: ${fix.replaceAll('/', '\\/')}`))
    const check = await p.cli(['status', '--check'])
    expect(check.code).toBe(69)
    expect(check.stderr).toContain(`account main needs a login since ${state.logins?.main?.required?.since}`)
    expect(check.stderr).toContain(`fix: ${fix}`)

    // Later polls neither swap again nor notify again
    for (let i = 0; i < 2; i++) expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'swap')).toHaveLength(1)
    // The conversation resumed on backup may still show the old "Not logged in" line: backup is not marked by it.
    expect((await readStateSnapshot(p.config)).state.logins?.backup?.required ?? null).toBeNull()
    expect(posts(hook, 'account_login_required')).toHaveLength(1)
    expect(JSON.stringify(posts(hook, 'account_login_required')[0]?.json)).toContain(fix)

    // A swap with no usable target says so and changes nothing: main is never chosen
    const dry = await p.cli(['swap', '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout).skipped).toBe(`no account to swap to: main needs a login (${fix}); the pool stays on backup`)
    const refused = await p.cli(['swap'])
    expect(refused.code).toBe(75)
    expect(refused.stderr).toContain(`no account to swap to: main needs a login (${fix})`)
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('backup')
    expect((await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'swap')).toHaveLength(1)

    // When main is logged in again and a session on it finishes a turn (the operator's own, with the pool's hooks)
    await writeSimControl(mainHome, {})
    await tmux(p.socket, ['new-session', '-d', '-s', 'ccl-2-keep', '-c', p.project])
    const line = `CLAUDE_CONFIG_DIR=${mainHome} CLAUDE_FAILOVER_SESSION=ccl-2-keep CLAUDE_FAILOVER_STATE_DIR=${p.config.stateDir} ${p.config.claude.binary} --dangerously-skip-permissions --settings ${join(p.config.stateDir, 'hooks-settings.json')} "hello from main"`
    await tmux(p.socket, ['send-keys', '-t', '=ccl-2-keep:', '-l', '--', line])
    await tmux(p.socket, ['send-keys', '-t', '=ccl-2-keep:', 'Enter'])
    await waitFor(async () => (await p.signals('ccl-2-keep')).some((s) => s.event === 'Stop'), 20_000)
    // SessionStart alone proves nothing (it comes before any request); the Stop does.
    expect((await p.cli(['quota', 'check'])).code).toBe(0)

    // Then the mark is cleared with an event naming the proof, and one recovery notice goes out
    ;({state} = await readStateSnapshot(p.config))
    expect(state.logins?.main).toMatchObject({cleared_at: expect.any(String), required: null})
    const cleared = (await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'account_login_cleared')
    expect(cleared).toEqual([expect.objectContaining({account: 'main', reason: 'session_succeeded', session: 'ccl-2-keep'})])
    expect(posts(hook, 'account_login_restored')).toHaveLength(1)
    expect((await p.cli(['status', '--check'])).stderr).not.toContain('needs a login')
    // main is a target again; the old "Not logged in" evidence does not mark it again
    expect(JSON.parse((await p.cli(['swap', '--dry-run', '--json'])).stdout).to).toBe('main')
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readStateSnapshot(p.config)).state.logins?.main?.required).toBeNull()
  })

  it('is cleared by the operator: a swap --to it, or a /login that rewrites its credentials; homes reports it meanwhile', async () => {
    pool = await makePool()
    const p = pool
    const markBoth = async () =>
      withStateLock(p.config, {command: 'test'}, async (tx) => {
        const mark = {evidence_at: '2026-11-21T09:00:00.000Z', pattern: 'hook_authentication_failed', session: 'ccl-auto-11', since: '2026-11-21T09:01:00.000Z', snippet: 'Not logged in · Please run /login', source: 'hook'}
        tx.state.logins = {backup: {cleared_at: null, required: mark}, main: {cleared_at: null, required: mark}}
        await tx.commit()
      })
    await markBoth()
    const homes = await p.cli(['homes'])
    expect(homes.stderr).toContain(`account backup needs a login since 2026-11-21T09:01:00.000Z`)
    expect(homes.stderr).toContain(`fix: CLAUDE_CONFIG_DIR=${join(p.dir, 'backup')} claude, then /login`)

    // The operator swaps into backup by name (they just logged it in): its mark goes, so no quota
    // check swaps straight back out of it.
    const swapped = await p.cli(['swap', '--to', 'backup'])
    expect(swapped.code, swapped.stderr).toBe(0)
    expect(swapped.stderr).toContain('backup was marked as needing a login; cleared by this swap')
    expect((await readStateSnapshot(p.config)).state.logins?.backup?.required).toBeNull()
    expect((await readRecentEvents(p.config.stateDir, 50)).filter((e) => e.event === 'account_login_cleared')).toEqual([expect.objectContaining({account: 'backup', reason: 'operator_swap'})])

    // main's credentials are rewritten (what /login does): the next quota check clears it.
    writeFileSync(join(p.dir, 'main', '.credentials.json'), '{}')
    const old = new Date('2026-11-21T08:00:00Z')
    utimesSync(join(p.dir, 'main', '.credentials.json'), old, old)
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readStateSnapshot(p.config)).state.logins?.main?.required).not.toBeNull()
    utimesSync(join(p.dir, 'main', '.credentials.json'), new Date(), new Date())
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    expect((await readStateSnapshot(p.config)).state.logins?.main).toMatchObject({cleared_at: expect.any(String), required: null})
    expect((await readRecentEvents(p.config.stateDir, 50)).filter((e) => e.event === 'account_login_cleared').map((e) => [e.account, e.reason])).toEqual([
      ['backup', 'operator_swap'],
      ['main', 'credentials_renewed'],
    ])
  })
})
