// Crash windows (reliability P1): the CLI is SIGKILLed at each named crash point of reconcile and
// janitor (CLAUDE_FAILOVER_CRASH_AT), then run again (--wait takes over the dead holder's lock):
// the second run finishes the job, the task ends in exactly one state with its sidecars, a retry is
// counted once, and a third run has nothing to do.
import {randomUUID} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {afterEach, describe, expect, it} from 'vitest'

import {type Claim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {QUEUE_STATES} from '../../src/lib/queue/layout.js'
import {tmux} from '../helpers/env.js'
import {json, lifecycleBox, type LifecycleBox} from './helpers.js'

let box: LifecycleBox | undefined
afterEach(async () => {
  await box?.close()
  box = undefined
})

const POOL = '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 2}'

async function world(options: {retries: number; running?: boolean}): Promise<LifecycleBox> {
  const b = await lifecycleBox('', {lockStale: '2s', pool: POOL})
  await b.startServer()
  if (options.running) await tmux(b.socket, ['new-session', '-d', '-s', 'ccl-auto-11', 'sleep 600'])
  b.put('dispatched', 'job', 'Do the job\n')
  const hours = options.running ? 3 : 0
  const claim: Claim = {
    account: 'main',
    attempt: 1,
    claimed_at: new Date(Date.now() - hours * 3600_000 - 120_000).toISOString(),
    conversation_id: randomUUID(),
    cwd: b.project,
    launched_at: new Date(Date.now() - hours * 3600_000 - 110_000).toISOString(),
    pid: 1,
    project: 'web',
    retries: options.retries,
    session: 'ccl-auto-11',
    task: 'job',
    timeout_ms: null,
  }
  await writeClaim(b.project, claim)
  return b
}

function statesOf(b: LifecycleBox, id: string): string[] {
  return QUEUE_STATES.filter((s) => existsSync(b.path(s, `${id}.md`)))
}

async function crashThenRecover(b: LifecycleBox, command: string, point: string): Promise<{action: string}[]> {
  const crashed = await b.cli([command, '--json'], {CLAUDE_FAILOVER_CRASH_AT: point})
  // SIGKILLed at the crash point: no exit code, no output.
  expect(crashed.code, crashed.stderr).toBe(128)
  expect(crashed.stdout).toBe('')
  const recovered = json<{actions: {action: string}[]}>(await b.cli([command, '--json', '--wait']))
  expect(json<{actions: unknown[]}>(await b.cli([command, '--json'])).actions).toEqual([])
  return recovered.actions
}

describe('reconcile and janitor killed at their crash points', () => {
  it.each([
    ['reconcile:after-ledger', 1, 'inbox'],
    ['reconcile:after-requeue-move', 1, 'inbox'],
    ['reconcile:after-create', 1, 'inbox'],
    ['reconcile:after-reason', 0, 'failed'],
    ['reconcile:after-fail-move', 0, 'failed'],
  ] as const)('%s: the next run finishes it (retries %i → %s/)', async (point, retries, final) => {
    box = await world({retries})
    await crashThenRecover(box, 'reconcile', point)
    expect(statesOf(box, 'job')).toEqual([final])
    expect(existsSync(box.path('dispatched', 'job.md.claim'))).toBe(false)
    expect((await box.panes()).has('ccl-auto-11')).toBe(true)
    if (final === 'inbox') {
      const ledger = JSON.parse(readFileSync(box.path('inbox', 'job.md.attempts'), 'utf8')) as {runs: unknown[]}
      expect(ledger.runs).toHaveLength(1)
    } else {
      expect(readFileSync(box.path('failed', 'job.md.reason'), 'utf8')).toMatch(/^session ccl-auto-11 is gone; 1 failed run\(s\), retries: 0\n/)
      expect(readdirSync(box.path('failed', '')).sort()).toEqual(['job.md', 'job.md.attempts', 'job.md.claim', 'job.md.reason'])
      expect(existsSync(box.path('inbox', 'job.md.attempts'))).toBe(false)
    }
  })

  it('reconcile:after-kill of a timed-out task: the next run fails it for its timeout, not as a death', async () => {
    box = await world({retries: 3, running: true})
    const actions = await crashThenRecover(box, 'reconcile', 'reconcile:after-kill')
    expect(actions).toEqual(expect.arrayContaining([expect.objectContaining({action: 'fail-task', cause: 'timeout'})]))
    expect(statesOf(box, 'job')).toEqual(['failed'])
    expect(readFileSync(box.path('failed', 'job.md.reason'), 'utf8')).toMatch(/^timed out: no Stop within 2h /)
  })

  it('janitor:after-archive-task: the sidecars follow on the next run and the task stays resolved', async () => {
    box = await lifecycleBox('janitor: {archive_after: 1s}', {lockStale: '2s', pool: POOL})
    box.put('done', 'base', 'Base\n')
    writeFileSync(box.path('done', 'base.md.claim'), '{}')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const actions = await crashThenRecover(box, 'janitor', 'janitor:after-archive-task')
    expect(actions).toEqual([expect.objectContaining({action: 'move-sidecar'})])
    expect(statesOf(box, 'base')).toEqual(['archive'])
    expect(readdirSync(box.path('archive', '')).sort()).toEqual(['base.md', 'base.md.claim'])
  })
})
