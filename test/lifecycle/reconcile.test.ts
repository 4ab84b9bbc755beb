// reconcile end to end: the built CLI, real tmux on a private socket, the simulated claude launched
// by dispatch and reporting through the real hook handler. Faults are injected only by killing a
// tmux session, by a short timeout, or by a missing symlink.
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readClaim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {isShell} from '../../src/lib/pane.js'
import {loopback, type Loopback} from '../helpers/loopback.js'
import {tmux, waitFor} from '../helpers/env.js'
import {json, lifecycleBox, type LifecycleBox, waitForSignal} from './helpers.js'

interface Action {
  action: string
  session?: string
  task?: string
  reason?: string
  cause?: string
  [key: string]: unknown
}

interface ReconcileJson {
  actions: Action[]
  refused: {problems: string[]} | null
  errors: unknown[]
}

interface DispatchJson {
  dispatched: {project: string; task: string; session: string; conversation_id: string}[]
  blocked: {task: string}[]
}

let box: LifecycleBox | undefined
let hooks: Loopback | undefined
afterEach(async () => {
  await box?.close()
  await hooks?.close()
  box = undefined
  hooks = undefined
})

const POOL = '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 2}'

async function reconcileJson(b: LifecycleBox, ...args: string[]): Promise<ReconcileJson> {
  return json<ReconcileJson>(await b.cli(['reconcile', '--json', ...args]))
}

async function dispatchOne(b: LifecycleBox): Promise<DispatchJson['dispatched'][number]> {
  const result = json<DispatchJson>(await b.cli(['dispatch', '--json']))
  expect(result.dispatched).toHaveLength(1)
  return result.dispatched[0] as DispatchJson['dispatched'][number]
}

function events(b: LifecycleBox): {event: string; [key: string]: unknown}[] {
  return readFileSync(join(b.config.stateDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as {event: string})
}

describe('reconcile with real tmux and the simulated claude', () => {
  it('requeues the task of a session killed mid-task once, recreates the session, then fails it when its retries are used up', async () => {
    box = await lifecycleBox('', {pool: POOL})
    await box.startServer({CLAUDE_SIM_TURN_MS: '60000'})
    box.put('inbox', 'build', '---\nretries: 1\n---\nBuild the thing\n')

    // Given a task whose Claude is mid-turn
    const first = await dispatchOne(box)
    await waitForSignal(box, first.session, 'SessionStart', first.conversation_id)
    expect(await reconcileJson(box)).toMatchObject({actions: []})

    // When its session is killed
    await tmux(box.socket, ['kill-session', '-t', `=${first.session}`])
    const repaired = await reconcileJson(box)

    // Then the task is back in the inbox (run 1 of 1 + retries) and the session is back
    expect(repaired.actions.map((a) => a.action)).toEqual(['requeue-task', 'create-session'])
    expect(repaired.actions[0]).toMatchObject({attempt: 1, cause: 'died', retries: 1, session: first.session, task: 'build'})
    expect(existsSync(box.path('inbox', 'build.md'))).toBe(true)
    expect(existsSync(box.path('dispatched', 'build.md'))).toBe(false)
    expect(existsSync(box.path('dispatched', 'build.md.claim'))).toBe(false)
    const ledger = JSON.parse(readFileSync(box.path('inbox', 'build.md.attempts'), 'utf8')) as {runs: {conversation_id: string}[]}
    expect(ledger.runs.map((r) => r.conversation_id)).toEqual([first.conversation_id])
    const panes = await box.panes()
    expect(isShell(panes.get(first.session) ?? '')).toBe(true)
    expect(events(box).map((e) => e.event)).toEqual(expect.arrayContaining(['session_died', 'task_requeued', 'session_created']))

    // And a second run right after does nothing
    expect((await reconcileJson(box)).actions).toEqual([])

    // When the second run dies too, its retries are used up: failed/ with the reason
    const second = await dispatchOne(box)
    expect(second.task).toBe('build')
    expect(second.conversation_id).not.toBe(first.conversation_id)
    await waitForSignal(box, second.session, 'SessionStart', second.conversation_id)
    await tmux(box.socket, ['kill-session', '-t', `=${second.session}`])
    const failed = await reconcileJson(box)
    expect(failed.actions.map((a) => a.action)).toEqual(['fail-task', 'create-session'])
    expect(failed.actions[0]).toMatchObject({attempt: 2, cause: 'died', task: 'build'})
    expect(existsSync(box.path('failed', 'build.md'))).toBe(true)
    expect(existsSync(box.path('inbox', 'build.md'))).toBe(false)
    expect(readFileSync(box.path('failed', 'build.md.reason'), 'utf8')).toMatch(/^session ccl-auto-1\d is gone; 2 failed run\(s\), retries: 1\ncause: died\n/)
    expect(existsSync(box.path('failed', 'build.md.attempts'))).toBe(true)
    expect(existsSync(box.path('failed', 'build.md.claim'))).toBe(true)
    expect(existsSync(box.path('inbox', 'build.md.attempts'))).toBe(false)
    expect((await reconcileJson(box)).actions).toEqual([])
  })

  it('requeues the task when Claude exits back to the shell mid-task (the session itself still alive)', async () => {
    box = await lifecycleBox('', {pool: POOL})
    await box.startServer({CLAUDE_SIM_TURN_MS: '60000'})
    box.put('inbox', 'crashy', '---\nretries: 2\n---\nCrash halfway\n')
    const run = await dispatchOne(box)
    await waitForSignal(box, run.session, 'SessionStart', run.conversation_id)

    // Given the simulated Claude (the pane shell's child, started by this test) dies
    const panePid = (await tmux(box.socket, ['display-message', '-p', '-t', `=${run.session}:`, '#{pane_pid}'])).stdout.trim()
    const children = execFileSync('pgrep', ['-P', panePid], {encoding: 'utf8'}).split('\n').filter(Boolean).map(Number)
    expect(children.length).toBeGreaterThan(0)
    for (const pid of children) process.kill(pid, 'SIGKILL')
    await waitFor(async () => isShell((await box!.panes()).get(run.session) ?? ''))

    // Then the pane at its shell with no Stop is a dead run: requeued, the session made afresh
    const result = await reconcileJson(box)
    expect(result.actions.map((a) => a.action)).toEqual(['kill-session', 'requeue-task', 'create-session'])
    expect(result.actions[1]).toMatchObject({attempt: 1, cause: 'died', reason: expect.stringMatching(/^Claude Code exited in ccl-auto-1\d/), task: 'crashy'})
    expect(existsSync(box.path('inbox', 'crashy.md'))).toBe(true)
    expect((await reconcileJson(box)).actions).toEqual([])
  })

  it("moves a task whose Stop arrived to done/, and its dependents become ready", async () => {
    box = await lifecycleBox('', {pool: POOL})
    await box.startServer({CLAUDE_SIM_TURN_MS: '300'})
    box.put('inbox', 'base', 'Lay the base\n')
    box.put('inbox', 'app', '---\ndepends_on: [base]\n---\nBuild on the base\n')

    const run = await dispatchOne(box)
    expect(run.task).toBe('base')
    await waitForSignal(box, run.session, 'Stop', run.conversation_id)

    const result = await reconcileJson(box)
    expect(result.actions).toEqual([{action: 'finish-task', project: 'web', session: run.session, task: 'base'}])
    expect(existsSync(box.path('done', 'base.md'))).toBe(true)
    expect(existsSync(box.path('done', 'base.md.claim'))).toBe(true)
    expect((await reconcileJson(box)).actions).toEqual([])

    const next = json<DispatchJson>(await box.cli(['dispatch', '--dry-run', '--json']))
    expect(next.dispatched.map((d) => d.task)).toEqual(['app'])
    expect(next.blocked).toEqual([])
  })

  it('fails a task past its timeout: the session is killed and made afresh, the reason kept with the task', async () => {
    box = await lifecycleBox('', {pool: POOL})
    await box.startServer({CLAUDE_SIM_TURN_MS: '60000'})
    box.put('inbox', 'slow', '---\ntimeout: 10m\n---\nTake forever\n')
    const run = await dispatchOne(box)
    await waitForSignal(box, run.session, 'SessionStart', run.conversation_id)
    expect((await reconcileJson(box)).actions).toEqual([])
    // Eleven minutes pass: the launch is moved back rather than waited for (a 2 s timeout, waited
    // out, was sometimes over before the pass above on a loaded machine).
    const claim = await readClaim(box.project, 'slow')
    const launchedAt = new Date(Date.parse(claim?.launched_at ?? '') - 11 * 60_000).toISOString()
    await writeClaim(box.project, {...claim!, claimed_at: launchedAt, launched_at: launchedAt})

    const result = await reconcileJson(box)
    expect(result.actions.map((a) => a.action)).toEqual(['kill-session', 'fail-task', 'create-session'])
    expect(result.actions[1]).toMatchObject({cause: 'timeout', session: run.session, task: 'slow'})
    expect(existsSync(box.path('failed', 'slow.md'))).toBe(true)
    expect(existsSync(box.path('dispatched', 'slow.md'))).toBe(false)
    const reason = readFileSync(box.path('failed', 'slow.md.reason'), 'utf8')
    expect(reason.split('\n')[0]).toBe(`timed out: no Stop within 10m of its launch at ${launchedAt}`)
    expect(reason).toContain(`conversation_id: ${run.conversation_id}`)
    // The session is free: a fresh shell, no Claude left running the failed task.
    expect(isShell((await box.panes()).get(run.session) ?? '')).toBe(true)
    const state = JSON.parse(readFileSync(join(box.config.stateDir, 'state.json'), 'utf8')) as {sessions: Record<string, {state: string; task: string | null}>}
    expect(state.sessions[run.session]).toMatchObject({state: 'idle', task: null})
    expect((await reconcileJson(box)).actions).toEqual([])
  })

  it('marks a task with no progress for stall_after as stalled and notifies once', async () => {
    hooks = await loopback()
    box = await lifecycleBox(`watcher: {stall_after: 1s}\nnotifications: {webhook: {url: "${hooks.url}/hook"}}`, {pool: POOL})
    await box.startServer({CLAUDE_SIM_TURN_MS: '60000'})
    box.put('inbox', 'think', 'Think hard\n')
    const run = await dispatchOne(box)
    await waitForSignal(box, run.session, 'SessionStart', run.conversation_id)
    // The spinner is up: the pane no longer changes (only its glyphs and counters would).
    await waitFor(async () => (await tmux(box!.socket, ['capture-pane', '-p', '-t', `=${run.session}:`])).stdout.includes('esc to interrupt'))
    expect((await reconcileJson(box)).actions).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 1300))

    const stalled = await reconcileJson(box)
    expect(stalled.actions).toEqual([expect.objectContaining({action: 'mark-stalled', session: run.session, task: 'think'})])
    expect((await reconcileJson(box)).actions).toEqual([])
    const kinds = hooks.requests.map((r) => (r.json as {event: string}).event)
    expect(kinds.filter((k) => k === 'task_stalled')).toHaveLength(1)
    const state = JSON.parse(readFileSync(join(box.config.stateDir, 'state.json'), 'utf8')) as {sessions: Record<string, {state: string}>}
    expect(state.sessions[run.session]?.state).toBe('stalled')
  })

  it('brings the pool up to min, reports a dead dedicated session without creating it, and a second run does nothing', async () => {
    hooks = await loopback()
    box = await lifecycleBox(`dedicated: [{session: ccl-1-ops, cwd: .}]\nnotifications: {webhook: {url: "${hooks.url}/hook"}}`, {pool: '{prefix: "ccl-auto-", start_index: 11, min: 2, max: 4}'})
    await box.startServer()
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-0'])

    const first = await reconcileJson(box)
    expect(first.actions).toEqual([
      {action: 'create-session', reason: 'below-min', session: 'ccl-auto-11'},
      {action: 'create-session', reason: 'below-min', session: 'ccl-auto-12'},
      {action: 'dedicated-dead', session: 'ccl-1-ops'},
    ])
    expect([...(await box.panes()).keys()].sort()).toEqual(['ccl-0', 'ccl-auto-11', 'ccl-auto-12', 'keeper'])
    expect((await reconcileJson(box)).actions).toEqual([])
    expect(hooks.requests.map((r) => (r.json as {event: string}).event)).toEqual(['session_died'])

    // An idle pool session that dies is recreated; the operator's session outside the pool is never touched.
    await tmux(box.socket, ['kill-session', '-t', '=ccl-auto-12'])
    expect((await reconcileJson(box)).actions).toEqual([{action: 'create-session', reason: 'dead', session: 'ccl-auto-12'}])
    // The dedicated session comes back: reported once.
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-1-ops'])
    expect((await reconcileJson(box)).actions).toEqual([{action: 'dedicated-back', session: 'ccl-1-ops'}])
    expect((await reconcileJson(box)).actions).toEqual([])
    expect(hooks.requests.map((r) => (r.json as {event: string}).event)).toEqual(['session_died', 'session_recovered'])
  })

  it('exits 69 and changes nothing when no tmux server runs (it never starts one)', async () => {
    box = await lifecycleBox('', {pool: POOL})
    const result = await box.cli(['reconcile', '--json'])
    expect(result.code).toBe(69)
    expect(JSON.parse(result.stdout).error.code).toBe('UNAVAILABLE')
    expect(existsSync(box.socket)).toBe(false)
  })

  it('--boot refuses with exit 78 and a notification when a shared link is missing, then starts the pool once fixed', async () => {
    hooks = await loopback()
    box = await lifecycleBox(`notifications: {webhook: {url: "${hooks.url}/hook"}}`, {pool: POOL})
    await box.startServer()
    rmSync(join(box.config.accounts[1]!.home, 'projects'))

    const refused = await box.cli(['reconcile', '--boot', '--json'])
    expect(refused.code).toBe(78)
    const body = JSON.parse(refused.stdout) as ReconcileJson
    expect(body.actions).toEqual([])
    expect(body.refused?.problems).toEqual([expect.stringMatching(/^backup: projects: missing link /)])
    expect(refused.stderr).toMatch(/reconcile --boot refused to start the pool/)
    expect([...(await box.panes()).keys()]).toEqual(['keeper'])
    // Refused again on the next tick: the same condition is not notified twice.
    expect((await box.cli(['reconcile', '--boot', '--json'])).code).toBe(78)
    expect(hooks.requests.map((r) => (r.json as {event: string}).event)).toEqual(['symlinks_invalid'])

    expect((await box.cli(['validate-symlinks', '--fix'])).code).toBe(0)
    const booted = await reconcileJson(box, '--boot')
    expect(booted.actions).toEqual([{action: 'create-session', reason: 'below-min', session: 'ccl-auto-11'}])
    expect(hooks.requests.map((r) => (r.json as {event: string}).event)).toEqual(['symlinks_invalid', 'symlinks_repaired'])
  })

  it('--dry-run lists the actions and changes nothing', async () => {
    box = await lifecycleBox('', {pool: POOL})
    await box.startServer()
    const dry = await reconcileJson(box, '--dry-run')
    expect(dry.actions).toEqual([{action: 'create-session', reason: 'below-min', session: 'ccl-auto-11'}])
    expect([...(await box.panes()).keys()]).toEqual(['keeper'])
    expect(existsSync(join(box.config.stateDir, 'state.json'))).toBe(false)
    const human = await box.cli(['reconcile', '--dry-run'])
    expect(human.stdout).toMatch(/would create-session\s+ccl-auto-11: created/)
  })
})
