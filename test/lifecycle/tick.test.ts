// `tick`, what the timer fires: quota check, reconcile and dispatch in one process, against real
// tmux and the simulated claude.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {writeSimControl} from '../../src/sim/control.js'
import {runCli, sandbox, waitFor} from '../helpers/env.js'
import {makePool, type Pool, resumes, transcriptPrompts, waitStarted} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

interface TickDoc {
  quota_check?: {result?: {decision: {action: string}; swap: {from: string; to: string} | null}; error?: {exit: number; message: string}}
  reconcile?: {result?: {actions: {action: string; session?: string}[]}; error?: {exit: number}}
  dispatch?: {result?: {dispatched: {task: string; session: string; account: string}[]}; error?: {exit: number}}
}

async function tick(p: Pool): Promise<{code: number; doc: TickDoc; stderr: string}> {
  const result = await p.cli(['tick', '--json'])
  return {code: result.code, doc: JSON.parse(result.stdout) as TickDoc, stderr: result.stderr}
}

describe('tick', () => {
  it('brings an empty pool up and hands it a task in one run; the next run has nothing to say', async () => {
    pool = await makePool({turnMs: 60_000})
    const p = pool
    p.addTask('alpha', 'a task for the first tick')
    const first = await tick(p)
    expect(first.code, first.stderr).toBe(0)
    expect(first.doc.quota_check?.result?.decision.action).toBe('none')
    expect(first.doc.reconcile?.result?.actions).toContainEqual(expect.objectContaining({action: 'create-session', session: 'ccl-auto-11'}))
    expect(first.doc.dispatch?.result?.dispatched).toEqual([expect.objectContaining({session: 'ccl-auto-11', task: 'alpha'})])
    await waitStarted(p, ['ccl-auto-11'])

    // As the timer runs it (--quiet): nothing to say. Asked by hand, it answers.
    const quiet = await p.cli(['tick', '--quiet'])
    expect(quiet).toEqual({code: 0, stderr: '', stdout: ''})
    const asked = await p.cli(['tick'])
    expect(asked.code).toBe(0)
    expect(asked.stdout).not.toBe('')
  })

  it('swaps on a limit, then resumes and feeds the pool on the next account in the same run', async () => {
    pool = await makePool({turnMs: 400})
    const p = pool
    await writeSimControl(join(p.dir, 'main'), {exhausted: true, reset: '3pm (Europe/Paris)'})
    p.addTask('alpha', 'a task that hits the limit')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitStarted(p, ['ccl-auto-11'])
    await waitFor(async () => (await p.signals('ccl-auto-11')).some((s) => s.event === 'StopFailure'))
    const conversation = (await readStateSnapshot(p.config)).state.sessions['ccl-auto-11']?.conversation_id
    p.addTask('beta', 'a task that arrives during the limit')

    const result = await tick(p)
    expect(result.code, result.stderr).toBe(0)
    expect(result.doc.quota_check?.result?.swap).toMatchObject({from: 'main', to: 'backup'})
    expect(result.doc.dispatch?.result?.dispatched).toEqual([expect.objectContaining({account: 'backup', task: 'beta'})])
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('backup')
    await waitFor(async () => (await resumes(p, 'ccl-auto-11')).some((r) => r.conversation === conversation && r.home === join(p.dir, 'backup')), 30_000)
  })

  it('a tick SIGKILLed mid-delivery, then the next ticks: the task is done exactly once', {timeout: 90_000}, async () => {
    pool = await makePool({turnMs: 300})
    const p = pool
    p.addTask('alpha', 'deliver me once')
    const killed = await p.cli(['tick', '--json'], {CLAUDE_FAILOVER_CRASH_AT: 'dispatch:after-record'})
    expect(killed.code, killed.stderr).toBe(128)
    const done = join(p.project, '.agent-queue', 'done', 'alpha.md')
    // Ticks until the task is done, as the timer would: a deadline, not a count of ticks, since a
    // loaded machine may need more of them (each tick is a full CLI run).
    const deadline = Date.now() + 45_000
    while (!existsSync(done) && Date.now() < deadline) {
      const next = await p.cli(['tick', '--wait'])
      expect([0, 75], next.stderr).toContain(next.code)
      await new Promise((r) => setTimeout(r, 700))
    }

    expect(existsSync(done)).toBe(true)
    expect(existsSync(join(p.inbox, 'alpha.md'))).toBe(false)
    expect(transcriptPrompts(p).filter((t) => t.text.includes('deliver me once'))).toHaveLength(1)
  })

  it('without a tmux server: exit 69, one error, and the steps after the first are not run', async () => {
    const box = sandbox()
    try {
      const result = await runCli(['tick', '--json', '--config', box.configPath])
      expect(result.code).toBe(69)
      const doc = JSON.parse(result.stdout) as TickDoc
      expect(doc.quota_check?.error?.exit).toBe(69)
      expect(doc.reconcile).toBeUndefined()
      expect(doc.dispatch).toBeUndefined()
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).toMatch(/^claude-failover: error: quota check: .*tmux/)
    } finally {
      box.cleanup()
    }
  })

  it('a bad config is one error (78), before any step', async () => {
    const box = sandbox()
    try {
      writeFileSync(box.configPath, `${readFileSync(box.configPath, 'utf8')}\nbogus_key: 1\n`)
      const bad = await runCli(['tick', '--config', box.configPath])
      expect(bad.code).toBe(78)
      expect(bad.stderr).toMatch(/^claude-failover: error: invalid configuration \(1 problem\)\n.*bogus_key/)
      expect(bad.stderr.match(/invalid configuration/g)).toHaveLength(1)
    } finally {
      box.cleanup()
    }
  })
})
