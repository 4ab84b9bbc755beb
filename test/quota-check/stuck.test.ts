// A session waiting for input it will never get looks busy to every other command: quota check
// sees the pane's awaiting_input verdict, and status, status --check, events.jsonl and one
// notification say so, with the session and the way out named.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {runCli, waitFor} from '../helpers/env.js'
import {type Loopback, loopback} from '../helpers/loopback.js'
import {makePool, type Pool} from '../helpers/pool.js'

let pool: Pool | undefined
let hook: Loopback | undefined
afterEach(async () => {
  await pool?.stop()
  await hook?.close()
  pool = undefined
  hook = undefined
})

describe('a session stuck at a first-launch modal', () => {
  it('is shown as awaiting_input, fails status --check naming it and the way out, lands an event and is notified once', async () => {
    hook = await loopback()
    pool = await makePool({extraYaml: `notifications: {webhook: {url: "${hook.url}/hook"}}`})
    const p = pool
    // Given the main account's home has never trusted the project folder
    const globalConfig = join(p.dir, 'main', '.claude.json')
    const settings = JSON.parse(readFileSync(globalConfig, 'utf8')) as Record<string, unknown>
    writeFileSync(globalConfig, JSON.stringify({...settings, projects: {}}))
    // When a task is dispatched to a pool session, whose Claude Code stops at the folder-trust prompt
    p.addTask('alpha', 'a task that never starts')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitFor(async () => /trust this folder/i.test(await p.pane('ccl-auto-11')), 15_000)
    const before = JSON.parse((await p.cli(['status', '--json'])).stdout)
    expect(before.sessions.find((s: {name: string}) => s.name === 'ccl-auto-11')).toMatchObject({state: 'working', stuck: null})
    // The session's newest SessionStart is from another account's home (a relaunch stuck at a modal
    // never sends its own): it is still looked at, not left out of the check.
    const event = JSON.stringify({hook_event_name: 'SessionStart', session_id: '7d35e220-c435-4cf7-b9b9-f40426042847', source: 'startup', transcript_path: '/nowhere.jsonl'})
    const env = {CLAUDE_CONFIG_DIR: join(p.dir, 'backup'), CLAUDE_FAILOVER_SESSION: 'ccl-auto-11', CLAUDE_FAILOVER_STATE_DIR: p.config.stateDir}
    expect((await runCli(['hook'], {env, input: event})).code).toBe(0)
    const dry = JSON.parse((await p.cli(['quota', 'check', '--dry-run', '--json'])).stdout)
    expect(dry.sessions.find((s: {session: string}) => s.session === 'ccl-auto-11')).toMatchObject({verdict: 'awaiting_input'})
    expect(dry.stuck['ccl-auto-11']).toMatchObject({verdict: 'awaiting_input'})

    // Then quota check (the tick's first step) records it, once however many ticks see it
    for (let i = 0; i < 3; i++) expect((await p.cli(['quota', 'check'])).code).toBe(0)
    const {state} = await readStateSnapshot(p.config)
    expect(state.stuck?.['ccl-auto-11']).toMatchObject({account: 'main', verdict: 'awaiting_input'})

    const status = JSON.parse((await p.cli(['status', '--json'])).stdout)
    expect(status.sessions.find((s: {name: string}) => s.name === 'ccl-auto-11')).toMatchObject({
      state: 'awaiting_input',
      stuck: {verdict: 'awaiting_input', way_out: expect.stringContaining(`tmux -S ${p.socket} attach -t ccl-auto-11`)},
    })
    const human = await p.cli(['status'])
    expect(human.stdout).toMatch(/ccl-auto-11: waiting for input since .*; answer it in the session \(tmux -S \S+ attach -t ccl-auto-11\)/)

    const check = await p.cli(['status', '--check'])
    expect(check.code).toBe(69)
    expect(check.stderr).toMatch(/ccl-auto-11 is waiting for input nothing will give it since \S+: ".*"; answer it in the session \(tmux -S \S+ attach -t ccl-auto-11\); for Claude Code's first-launch modals, pre-accept them/)

    const events = (await readRecentEvents(p.config.stateDir, 50)).filter((e) => e.event === 'session_awaiting_input')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({account: 'main', session: 'ccl-auto-11'})
    const stuckPosts = hook.requests.filter((r) => JSON.stringify(r.json).includes('session_stuck'))
    expect(stuckPosts).toHaveLength(1)
    expect(JSON.stringify(stuckPosts[0]?.json)).toContain('ccl-auto-11')
  })
})
