// Event-driven failover (issue 16): a usage-limit StopFailure starts `quota check` at once from the
// hook, detached and de-duplicated; the hook stays fast. Then the same through the simulated claude
// in real tmux (private socket): limit → swap → resumed without any tick, and the wait policy.
import {mkdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {requestFile, requestRun, takeRequest} from '../../src/lib/event-run.js'
import {handleHook} from '../../src/lib/hook.js'
import {hooksSettingsPath} from '../../src/lib/launch.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {writeSimControl} from '../../src/sim/control.js'
import {tempDir, waitFor} from '../helpers/env.js'
import {makePool, type Pool, waitStarted} from '../helpers/pool.js'

const NOW = new Date('2026-12-05T20:00:00Z')
const CHECK_REQUEST = requestFile('quota-check')
const LIMIT_TEXT = "You've hit your 5-hour limit · resets 8:21pm (UTC)"

function hookEnv(stateDir: string, session: string, config: string | null = '/etc/cf/config.yaml'): NodeJS.ProcessEnv {
  return {CLAUDE_FAILOVER_SESSION: session, CLAUDE_FAILOVER_STATE_DIR: stateDir, ...(config ? {CLAUDE_FAILOVER_CONFIG: config} : {})}
}

function stopFailure(message: string, extra: Record<string, unknown> = {}): Readable {
  return Readable.from([JSON.stringify({error: 'rate_limit', hook_event_name: 'StopFailure', last_assistant_message: message, session_id: '0b6f3f0e-8a43-4d55-9b7e-3c0d2b1a9f10', ...extra})])
}

describe('the hook starts quota check on a usage limit', () => {
  let dir: ReturnType<typeof tempDir> | undefined
  afterEach(() => {
    dir?.cleanup()
    dir = undefined
  })

  function stateDir(): string {
    dir = tempDir()
    const state = join(dir.dir, 'state')
    mkdirSync(state, {mode: 0o700})
    return state
  }

  it('twenty sessions hitting the limit in the same second start one check; the request is 0600 and a check taking it lets the next limit start another', async () => {
    const state = stateDir()
    const started: string[] = []
    const start = (run: string, s: string, config: string) => started.push(`${run} ${s} ${config}`)
    await Promise.all(Array.from({length: 20}, (_, i) => handleHook(stopFailure(LIMIT_TEXT), hookEnv(state, `ccl-auto-${11 + i}`), () => NOW, start)))
    expect(started).toEqual([`quota-check ${state} /etc/cf/config.yaml`])
    expect(statSync(join(state, CHECK_REQUEST)).mode & 0o777).toBe(0o600)

    takeRequest(state, 'quota-check')
    await handleHook(stopFailure(LIMIT_TEXT), hookEnv(state, 'ccl-auto-40'), () => NOW, start)
    expect(started).toHaveLength(2)
  })

  it('a request left by a check that never started (older than 30 s) covers nothing', () => {
    const state = stateDir()
    writeFileSync(join(state, CHECK_REQUEST), 'old\n', {mode: 0o600})
    expect(requestRun(state, 'quota-check', new Date())).toBe(false)
    const old = new Date(Date.now() - 60_000)
    utimesSync(join(state, CHECK_REQUEST), old, old)
    expect(requestRun(state, 'quota-check', new Date())).toBe(true)
  })

  it.each([
    ['a transient 429', 'API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited', {}],
    ['an API-key 429', "API Error: Request rejected (429) · This request would exceed your account's rate limit. Please try again later.", {}],
    ['a 500', 'API Error: 500 Internal server error.', {error: 'server_error'}],
    ['a plain Stop', LIMIT_TEXT.replace("You've hit", 'Notes on'), {error: undefined, hook_event_name: 'Stop'}],
  ])('%s starts nothing (StopFailure rate_limit alone is no usage limit)', async (_name, message, extra) => {
    const state = stateDir()
    const started: string[] = []
    await handleHook(stopFailure(message, extra), hookEnv(state, 'ccl-auto-11'), () => NOW, (_run, s) => started.push(s))
    expect(started).toEqual([])
    // The record is written all the same.
    expect(statSync(join(state, 'signals', 'ccl-auto-11.jsonl')).size).toBeGreaterThan(0)
  })

  it('the transcript record decides: usage_limit_reached starts the check, apiErrorIsTransient does not', async () => {
    const state = stateDir()
    const transcript = join(dir!.dir, 't.jsonl')
    const record = (fields: Record<string, unknown>) => `${JSON.stringify({error: 'rate_limit', isApiErrorMessage: true, message: {content: [{text: 'API Error: 429', type: 'text'}]}, timestamp: NOW.toISOString(), type: 'assistant', ...fields})}\n`
    const started: string[] = []
    writeFileSync(transcript, record({apiErrorIsTransient: true, apiErrorStatus: 429}))
    await handleHook(stopFailure('API Error: 429', {transcript_path: transcript}), hookEnv(state, 'ccl-auto-11'), () => NOW, (_run, s) => started.push(s))
    expect(started).toEqual([])
    writeFileSync(transcript, record({apiError: 'usage_limit_reached', apiErrorParams: {rate_limit_info: {rateLimitType: 'five_hour', resetsAt: 1_796_502_118}}, apiErrorStatus: 429}))
    await handleHook(stopFailure('API Error: 429', {transcript_path: transcript}), hookEnv(state, 'ccl-auto-11'), () => NOW, (_run, s) => started.push(s))
    expect(started).toEqual([state])
  })

  it('without the config path (check_on_limit: false) the hook only records', async () => {
    const state = stateDir()
    const started: string[] = []
    await handleHook(stopFailure(LIMIT_TEXT), hookEnv(state, 'ccl-auto-11', null), () => NOW, (_run, s) => started.push(s))
    expect(started).toEqual([])
  })
})

describe('event-driven failover through the simulated claude', () => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.stop()
    pool = undefined
  })

  it('three sessions at a far limit: swapped and resumed on backup with no tick, by one swap', async () => {
    pool = await makePool({extraYaml: 'quota: {policy: {check_on_limit: true}}', turnMs: 300})
    const p = pool
    // Written by reconcile: the hook command carries the config's path, the wait setting is on.
    expect((await p.cli(['reconcile'])).code).toBe(0)
    const settings = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(hooksSettingsPath(p.config), 'utf8')))
    expect(settings.autoContinueAtUsageLimit).toBe(true)
    expect(settings.hooks.StopFailure[0].hooks[0].command).toContain(`CLAUDE_FAILOVER_CONFIG='${p.configPath}'`)

    await writeSimControl(join(p.dir, 'main'), {exhausted: true, reset_at: new Date(Date.now() + 3 * 3_600_000).toISOString()})
    for (const id of ['a', 'b', 'c']) p.addTask(id, `task ${id} meets the limit`)
    expect((await p.cli(['dispatch'])).code).toBe(0)
    const sessions = ['ccl-auto-11', 'ccl-auto-12', 'ccl-auto-13']
    await waitStarted(p, sessions)
    // No quota check is run here: the hook's StopFailure starts it.
    await waitFor(async () => (await readStateSnapshot(p.config)).state.active_account === 'backup', 30_000)
    for (const s of sessions) await waitFor(async () => (await p.signals(s)).some((r) => r.event === 'SessionStart' && r.config_dir === join(p.dir, 'backup')), 30_000)
    // The swap's event is written once the resumed sessions were given their continue message.
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'swap'), 30_000)
    const events = await readRecentEvents(p.config.stateDir, 100)
    expect(events.filter((e) => e.event === 'swap')).toHaveLength(1)
    expect(events.find((e) => e.event === 'account_exhausted')).toMatchObject({account: 'main', decision: 'swap', reason: expect.stringMatching(/beyond wait_horizon 15m/)})
    const firstLimit = Math.min(...(await Promise.all(sessions.map(async (s) => (await p.signals(s)).find((r) => r.event === 'StopFailure')?.ts ?? '9'))).map((ts) => Date.parse(ts)))
    const firstResumed = Math.min(...(await Promise.all(sessions.map(async (s) => (await p.signals(s)).find((r) => r.event === 'SessionStart' && r.config_dir === join(p.dir, 'backup'))?.ts ?? '9'))).map((ts) => Date.parse(ts)))
    // The bench measures the figure on an idle machine; here only that no tick was waited for.
    expect(firstResumed - firstLimit).toBeLessThan(20_000)
  })

  it('a near reset: the policy lets the wait run — no swap, one limit_wait event, status says so, later checks add nothing', async () => {
    pool = await makePool({extraYaml: 'quota: {policy: {check_on_limit: true, wait_horizon: 30m}, timezone: UTC}', turnMs: 300})
    const p = pool
    expect((await p.cli(['reconcile'])).code).toBe(0)
    const reset = new Date(Date.now() + 10 * 60_000)
    await writeSimControl(join(p.dir, 'main'), {exhausted: true, reset_at: reset.toISOString()})
    for (const id of ['a', 'b']) p.addTask(id, `task ${id} meets a near limit`)
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitStarted(p, ['ccl-auto-11', 'ccl-auto-12'])
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'limit_wait'), 30_000)
    for (let i = 0; i < 2; i++) {
      const run = await p.cli(['quota', 'check', '--json'])
      expect(run.code, run.stderr).toBe(0)
      expect(JSON.parse(run.stdout).decision.action).toBe('waiting')
    }

    const events = await readRecentEvents(p.config.stateDir, 100)
    expect(events.filter((e) => e.event === 'limit_wait')).toHaveLength(1)
    expect(events.filter((e) => e.event === 'swap' || e.event === 'account_exhausted')).toEqual([])
    expect(events.find((e) => e.event === 'limit_wait')).toMatchObject({account: 'main', reason: expect.stringMatching(/within wait_horizon 30m/)})
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('main')
    expect(state.accounts.main?.waiting).toMatchObject({scope: 'session'})
    const hhmm = `${String(reset.getUTCHours()).padStart(2, '0')}:${String(reset.getUTCMinutes()).padStart(2, '0')}`
    const status = await p.cli(['status'])
    expect(status.stdout).toContain(`waiting until ${hhmm} (native wait)`)
    const json = JSON.parse((await p.cli(['status', '--json'])).stdout)
    expect(json.accounts.find((a: {name: string}) => a.name === 'main').limit).toBe(`waiting until ${hhmm} (native wait)`)
  })
})
