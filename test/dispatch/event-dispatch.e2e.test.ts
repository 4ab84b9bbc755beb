// Event-driven dispatch (issue 18): a pool session's Stop starts `dispatch` at once from the hook,
// and `task add` does too, detached and de-duplicated through `state_dir/dispatch.request`; the tick
// stays the safety net. First the hook's and task add's decisions with an injected starter, then the
// same through the simulated claude in real tmux (private socket), with no tick run at all.
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import type {Config} from '../../src/lib/config.js'

import {dispatchSoon} from '../../src/lib/dispatch/request.js'
import {type EventRun, markWaiting, requestFile, requestRun, takeRequest, WAITING_MARK} from '../../src/lib/event-run.js'
import {readRecentEvents} from '../../src/lib/events.js'
import {handleHook} from '../../src/lib/hook.js'
import {ensureHooksSettings, hooksSettingsPath} from '../../src/lib/launch.js'
import {runCli, sandbox, tempDir, waitFor} from '../helpers/env.js'
import {makePool, type Pool} from '../helpers/pool.js'

const NOW = new Date('2026-12-05T20:00:00Z')
const CONVERSATION = '0b6f3f0e-8a43-4d55-9b7e-3c0d2b1a9f10'
const LIMIT_TEXT = "You've hit your 5-hour limit · resets 8:21pm (UTC)"
const DISPATCH_REQUEST = requestFile('dispatch')

/** A hook's environment: as written by ensureHooksSettings (`on`), or by 0.5.0 (`on` undefined: the config path alone). */
function hookEnv(stateDir: string, session: string, options: {on?: string; task?: string | null} = {}): NodeJS.ProcessEnv {
  const task = options.task === undefined ? 'proj/a' : options.task
  return {
    CLAUDE_FAILOVER_CONFIG: '/etc/cf/config.yaml',
    CLAUDE_FAILOVER_SESSION: session,
    CLAUDE_FAILOVER_STATE_DIR: stateDir,
    ...(options.on === undefined ? {} : {CLAUDE_FAILOVER_ON: options.on}),
    ...(task ? {CLAUDE_FAILOVER_TASK: task} : {}),
  }
}

const stop = () => Readable.from([JSON.stringify({hook_event_name: 'Stop', last_assistant_message: 'Done: the tests pass.', session_id: CONVERSATION})])
const limitFailure = () => Readable.from([JSON.stringify({error: 'rate_limit', hook_event_name: 'StopFailure', last_assistant_message: LIMIT_TEXT, session_id: CONVERSATION})])

describe('the hook starts dispatch when a task ends', () => {
  let dir: ReturnType<typeof tempDir> | undefined
  afterEach(() => {
    dir?.cleanup()
    dir = undefined
  })

  /** A state folder whose last dispatch pass left a task waiting (unless `waiting: false`). */
  function stateDir(waiting = true): string {
    dir = tempDir()
    const state = join(dir.dir, 'state')
    mkdirSync(state, {mode: 0o700})
    markWaiting(state, waiting)
    return state
  }

  function recorder() {
    const started: string[] = []
    return {start: (run: EventRun, s: string, config: string) => started.push(`${run} ${s} ${config}`), started}
  }

  it('twenty task Stops in the same second start one pass; the request is 0600; a pass taking it lets the next Stop start another', async () => {
    const state = stateDir()
    const {start, started} = recorder()
    await Promise.all(Array.from({length: 20}, (_, i) => handleHook(stop(), hookEnv(state, `ccl-auto-${11 + i}`, {on: 'limit,stop'}), () => NOW, start)))
    expect(started).toEqual([`dispatch ${state} /etc/cf/config.yaml`])
    expect(statSync(join(state, DISPATCH_REQUEST)).mode & 0o777).toBe(0o600)
    // Every Stop is recorded all the same.
    expect(readdirSync(join(state, 'signals'))).toHaveLength(20)
    expect(statSync(join(state, WAITING_MARK)).mode & 0o777).toBe(0o600)

    takeRequest(state, 'dispatch')
    await handleHook(stop(), hookEnv(state, 'ccl-auto-40', {on: 'stop'}), () => NOW, start)
    expect(started).toHaveLength(2)
  })

  it('a dispatch request left by a pass that never started (older than 30 s) covers nothing: the next Stop starts one', async () => {
    const state = stateDir()
    const {start, started} = recorder()
    writeFileSync(join(state, DISPATCH_REQUEST), 'old\n', {mode: 0o600})
    await handleHook(stop(), hookEnv(state, 'ccl-auto-11', {on: 'stop'}), () => new Date(), start)
    expect(started).toEqual([])
    const old = new Date(Date.now() - 60_000)
    utimesSync(join(state, DISPATCH_REQUEST), old, old)
    await handleHook(stop(), hookEnv(state, 'ccl-auto-11', {on: 'stop'}), () => new Date(), start)
    expect(started).toEqual([`dispatch ${state} /etc/cf/config.yaml`])
    expect(readFileSync(join(state, DISPATCH_REQUEST), 'utf8')).not.toBe('old\n')
  })

  it('with no task waiting in an inbox after the last pass, a task Stop starts nothing (the tick moves it to done/)', async () => {
    const state = stateDir(false)
    const {start, started} = recorder()
    await handleHook(stop(), hookEnv(state, 'ccl-auto-11', {on: 'limit,stop'}), () => NOW, start)
    expect(started).toEqual([])
    expect(existsSync(join(state, DISPATCH_REQUEST))).toBe(false)
    markWaiting(state, true)
    await handleHook(stop(), hookEnv(state, 'ccl-auto-11', {on: 'limit,stop'}), () => NOW, start)
    expect(started).toEqual([`dispatch ${state} /etc/cf/config.yaml`])
  })

  it.each([
    ['on_stop off (CLAUDE_FAILOVER_ON=limit)', {on: 'limit'}],
    ['a settings file written by 0.5.0 (the config path alone means limit)', {}],
    ['a Stop without a task (a dedicated session, a blank relaunch)', {on: 'limit,stop', task: null}],
    ['an unknown trigger name', {on: 'stopp'}],
  ])('%s: a Stop starts nothing, and is recorded', async (_name, options) => {
    const state = stateDir()
    const {start, started} = recorder()
    await handleHook(stop(), hookEnv(state, 'ccl-auto-11', options), () => NOW, start)
    expect(started).toEqual([])
    expect(existsSync(join(state, DISPATCH_REQUEST))).toBe(false)
    expect(readFileSync(join(state, 'signals', 'ccl-auto-11.jsonl'), 'utf8')).toContain('"event":"Stop"')
  })

  it('a usage-limit StopFailure never starts dispatch: quota check when limit is on, nothing when only stop is', async () => {
    const state = stateDir()
    const {start, started} = recorder()
    await handleHook(limitFailure(), hookEnv(state, 'ccl-auto-11', {on: 'stop'}), () => NOW, start)
    expect(started).toEqual([])
    await handleHook(limitFailure(), hookEnv(state, 'ccl-auto-11', {on: 'limit,stop'}), () => NOW, start)
    expect(started).toEqual([`quota-check ${state} /etc/cf/config.yaml`])
    // 0.5.0's settings: the limit still starts its check.
    takeRequest(state, 'quota-check')
    await handleHook(limitFailure(), hookEnv(state, 'ccl-auto-12'), () => NOW, start)
    expect(started).toHaveLength(2)
    expect(existsSync(join(state, DISPATCH_REQUEST))).toBe(false)
  })

  it('the two requests are independent: a pending quota check does not hold back a dispatch', () => {
    const state = stateDir()
    expect(requestRun(state, 'quota-check', NOW)).toBe(true)
    expect(requestRun(state, 'dispatch', NOW)).toBe(true)
    expect(requestRun(state, 'dispatch', NOW)).toBe(false)
  })
})

describe('the hook command says which triggers are on', () => {
  let box: ReturnType<typeof sandbox> | undefined
  afterEach(() => {
    box?.cleanup()
    box = undefined
  })

  async function hookCommandFor(yaml: string): Promise<string> {
    box?.cleanup()
    box = sandbox(yaml)
    mkdirSync(box.config.stateDir, {mode: 0o700})
    await ensureHooksSettings(box.config)
    const settings = JSON.parse(readFileSync(hooksSettingsPath(box.config), 'utf8'))
    expect(settings.hooks.Stop[0].hooks[0].command).toBe(settings.hooks.StopFailure[0].hooks[0].command)
    return settings.hooks.Stop[0].hooks[0].command as string
  }

  it.each([
    ['quota: {policy: {check_on_limit: true}}\ndispatcher: {on_stop: true}', 'limit,stop'],
    ['quota: {policy: {check_on_limit: false}}\ndispatcher: {on_stop: true}', 'stop'],
    ['quota: {policy: {check_on_limit: true}}\ndispatcher: {on_stop: false}', 'limit'],
  ])('%s → CLAUDE_FAILOVER_ON=%s beside the config path', async (yaml, on) => {
    const command = await hookCommandFor(yaml)
    expect(command).toMatch(new RegExp(`^CLAUDE_FAILOVER_CONFIG='${box!.configPath}' CLAUDE_FAILOVER_ON=${on} '`))
    expect(command).toMatch(/ hook$/)
  })

  it('both off: no config path, no triggers (the hook records only)', async () => {
    const command = await hookCommandFor('quota: {policy: {check_on_limit: false}}\ndispatcher: {on_stop: false}')
    expect(command).not.toContain('CLAUDE_FAILOVER_CONFIG')
    expect(command).not.toContain('CLAUDE_FAILOVER_ON')
  })

  it('dispatcher.on_stop must be a boolean: one line naming the key, the value and an example (exit 78)', async () => {
    box = sandbox()
    writeFileSync(box.configPath, readFileSync(box.configPath, 'utf8').replace('on_stop: false', 'on_stop: sometimes'))
    const run = await runCli(['status', '--config', box.configPath])
    expect(run.code).toBe(78)
    expect(run.stderr).toMatch(/dispatcher\.on_stop.*sometimes/)
    expect(run.stderr).toContain('on_stop: true')
  })
})

describe('task add asks for a dispatch pass', () => {
  let box: ReturnType<typeof sandbox> | undefined
  afterEach(() => {
    box?.cleanup()
    box = undefined
  })

  it('started, then pending while the request stands; off with --no-dispatch or on_add: false; the state folder is made 0700', async () => {
    box = sandbox('dispatcher: {on_add: true}')
    const started: string[] = []
    const deps = {env: {}, now: () => NOW, start: (run: EventRun, s: string, config: string) => started.push(`${run} ${s} ${config}`)}
    const config: Config = box.config
    expect(await dispatchSoon(config, {skip: true}, deps)).toBe('off')
    expect(existsSync(config.stateDir)).toBe(false)
    expect(await dispatchSoon(config, {skip: false}, deps)).toBe('started')
    expect(statSync(config.stateDir).mode & 0o777).toBe(0o700)
    expect(await dispatchSoon(config, {skip: false}, deps)).toBe('pending')
    expect(started).toEqual([`dispatch ${config.stateDir} ${box.configPath}`])
    expect(await dispatchSoon({...config, dispatcher: {...config.dispatcher, onAdd: false}}, {skip: false}, deps)).toBe('off')
  })
})

describe('event-driven dispatch through the simulated claude (no tick)', () => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.stop()
    pool = undefined
  })

  const ONE_SESSION = '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 1}'
  const done = (p: Pool) => (existsSync(join(p.project, '.agent-queue', 'done')) ? readdirSync(join(p.project, '.agent-queue', 'done')).filter((f) => f.endsWith('.md')).sort() : [])

  it('a task ends while another waits: its Stop settles it and types the next into the freed session; the last end is left to the tick', async () => {
    pool = await makePool({extraYaml: 'dispatcher: {on_stop: true, on_add: false}', pool: ONE_SESSION, turnMs: 500})
    const p = pool
    p.addTask('first', 'the first task')
    p.addTask('second', 'waits for the only session')
    const run = await p.cli(['dispatch', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({dispatched: [{session: 'ccl-auto-11', task: 'first'}], waiting: [{task: 'second'}]})
    expect(existsSync(join(p.config.stateDir, WAITING_MARK))).toBe(true)
    // Nothing runs dispatch, reconcile or a tick from here until `second` has ended: the Stop does.
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'dispatch' && e.task === 'second'), 30_000)
    const events = await readRecentEvents(p.config.stateDir, 100)
    const stopOfFirst = (await p.signals('ccl-auto-11')).find((s) => s.event === 'Stop' && s.task === 'proj/first')
    const secondTyped = events.find((e) => e.event === 'dispatch' && e.task === 'second')
    expect(stopOfFirst).toBeDefined()
    expect(secondTyped).toMatchObject({session: 'ccl-auto-11'})
    // The bench measures the figure on an idle machine; here only that no tick period was waited for.
    expect(Date.parse(secondTyped!.ts as string) - Date.parse(stopOfFirst!.ts)).toBeLessThan(20_000)
    expect(done(p)).toEqual(['first.md'])
    expect(readFileSync(join(p.config.stateDir, 'dispatch.last.log'), 'utf8')).toMatch(/done: proj\/first/)
    expect(existsSync(join(p.config.stateDir, WAITING_MARK))).toBe(false)

    // `second` ends with nothing waiting: no pass for it (it would only move the task to done/).
    await waitFor(async () => (await p.signals('ccl-auto-11')).some((s) => s.event === 'Stop' && s.task === 'proj/second'), 30_000)
    await new Promise((r) => setTimeout(r, 1500))
    expect(existsSync(join(p.config.stateDir, DISPATCH_REQUEST))).toBe(false)
    expect(done(p)).toEqual(['first.md'])
    const tick = await p.cli(['dispatch', '--json'])
    expect(JSON.parse(tick.stdout).finished).toEqual([{project: 'proj', session: 'ccl-auto-11', task: 'second'}])
  })

  it('task add: the task is typed into an idle session with no tick; --no-dispatch leaves it in the inbox', async () => {
    pool = await makePool({extraYaml: 'dispatcher: {on_stop: false, on_add: true}', pool: ONE_SESSION, turnMs: 60_000})
    const p = pool
    expect((await p.cli(['reconcile'])).code).toBe(0)
    // The sandbox's path in the environment: the detached pass is one of the sandbox's processes.
    const env = {XDG_CACHE_HOME: join(p.dir, 'cache')}
    const held = await runCli(['task', 'add', '--project', 'proj', '--id', 'held', '--no-dispatch', '--json', '--config', p.configPath], {env, input: 'wait for the tick'})
    expect(held.code, held.stderr).toBe(0)
    expect(JSON.parse(held.stdout)).toMatchObject({dispatch: 'off', task: 'held'})
    expect(existsSync(join(p.config.stateDir, DISPATCH_REQUEST))).toBe(false)

    const added = await runCli(['task', 'add', '--project', 'proj', '--id', 'now', '--priority', '5', '--json', '--config', p.configPath], {env, input: 'start at once'})
    expect(added.code, added.stderr).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({dispatch: 'started', task: 'now'})
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'dispatch' && e.task === 'now'), 30_000)
    const typed = (await readRecentEvents(p.config.stateDir, 100)).filter((e) => e.event === 'dispatch')
    // Both were ready for that pass; the priority took the one session. `held` waits in the inbox.
    expect(typed.map((e) => e.task)).toEqual(['now'])
    expect(existsSync(join(p.inbox, 'held.md'))).toBe(true)
  })
})
