// Found in review: dispatch must finish an interrupted swap before handing out work, must not
// recycle panes whose Claude is mid-task when state.json was lost, and quota check must not charge
// the active account with the limits of a dedicated session that stays on another account.
import {readFileSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {statePath} from '../../src/lib/state.js'
import {ROOT, tmux, waitFor} from '../helpers/env.js'
import {makePool, type Pool, resumes, showPaneFixture, workingPool} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

describe('dispatch after a crash elsewhere', () => {
  it('rolls an interrupted swap forward before dispatching, so no task starts on the old account', async () => {
    pool = await workingPool()
    const p = pool
    expect((await p.cli(['swap'], {CLAUDE_FAILOVER_CRASH_AT: 'swap:after-kill'})).code).toBe(128)
    p.addTask('gamma', 'a task that arrives meanwhile')
    const result = await p.cli(['dispatch', '--wait', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout) as {dispatched: {task: string; account: string}[]}
    expect(doc.dispatched).toEqual([expect.objectContaining({account: 'backup', task: 'gamma'})])
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'backup', swap_journal: null})
    for (const name of ['ccl-auto-11', 'ccl-auto-12']) {
      await waitFor(async () => (await resumes(p, name)).length > 0)
      expect((await resumes(p, name)).map((r) => r.home)).toEqual([join(p.dir, 'backup')])
    }
  })

  it('never recycles a pane whose task is still dispatched when state.json was lost', async () => {
    pool = await workingPool()
    const p = pool
    unlinkSync(statePath(p.config.stateDir))
    p.addTask('gamma', 'a third task')
    const result = await p.cli(['dispatch', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).dispatched).toEqual([expect.objectContaining({session: 'ccl-auto-13', task: 'gamma'})])
    // The two running conversations were not killed: one SessionStart each, no second process.
    for (const name of ['ccl-auto-11', 'ccl-auto-12']) {
      expect((await p.signals(name)).filter((s) => s.event === 'SessionStart')).toHaveLength(1)
      expect(await p.pane(name)).toContain('long task')
    }
  })
})

describe('swap after a lost state.json, and closed dedicated sessions', () => {
  it('still resumes every working conversation, found from the launched claims', async () => {
    pool = await workingPool({extraYaml: 'dedicated: [{session: ccl-1-gone, cwd: ./proj, relaunch: true}]'})
    const p = pool
    const before = await readStateSnapshot(p.config)
    const ids = ['ccl-auto-11', 'ccl-auto-12'].map((n) => before.state.sessions[n]?.conversation_id)
    unlinkSync(statePath(p.config.stateDir))
    const result = await p.cli(['swap', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const sessions = JSON.parse(result.stdout).sessions as {name: string; resumed: boolean; conversation_id: string}[]
    expect(sessions.map((s) => [s.name, s.resumed, s.conversation_id])).toEqual([
      ['ccl-auto-11', true, ids[0]],
      ['ccl-auto-12', true, ids[1]],
    ])
    // The closed dedicated session was not brought back.
    expect((await tmux(p.socket, ['has-session', '-t', '=ccl-1-gone'])).code).not.toBe(0)
  })
})

describe('quota check and dedicated sessions that stay put', () => {
  it('ignores the limit shown by a relaunch: false dedicated session', async () => {
    pool = await makePool({extraYaml: 'dedicated: [{session: ccl-9-own, cwd: ./proj, relaunch: false}]'})
    const p = pool
    const file = join(ROOT, 'test', 'fixtures', 'panes', readFirstLimitFixture())
    await showPaneFixture(p, 'ccl-9-own', file)
    const result = await p.cli(['quota', 'check', '--json'])
    const doc = JSON.parse(result.stdout) as {sessions: {session: string}[]; decision: {action: string}}
    expect(doc.sessions.map((s) => s.session)).not.toContain('ccl-9-own')
    expect(doc.decision.action).toBe('none')
    expect((await readStateSnapshot(p.config)).state.accounts).toEqual({})
  })
})

function readFirstLimitFixture(): string {
  const index = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'panes', 'index.json'), 'utf8')) as Record<string, {verdict: string; reset_at: string | null}>
  const [name] = Object.entries(index).find(([, v]) => v.verdict === 'quota_exhausted' && v.reset_at !== null) ?? []
  if (!name) throw new Error('no limit fixture')
  return name
}
