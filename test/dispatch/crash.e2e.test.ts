// Reliability P1/P3, end to end: a dispatch run SIGKILLed right after the claim, after the claim
// record, and after the launch line was typed (CLAUDE_FAILOVER_CRASH_AT), then a normal run. The
// task is never lost and never doubled: it ends in done/ exactly once, and its prompt is in exactly
// one transcript user record.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {claimPath} from '../../src/lib/dispatch/claims.js'
import {createWorld, type DispatchJson, type World} from './world.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

const BODY = 'Refactor the parser; keep the tests green.'

/** Dispatch runs until the task is in done/, waiting for each launched conversation's Stop. */
async function settle(w: World): Promise<DispatchJson[]> {
  const passes: DispatchJson[] = []
  for (let i = 0; i < 6 && w.whereIs('app', 'job').join() !== 'done'; i++) {
    const pass = await w.dispatch(['--wait'])
    passes.push(pass)
    for (const d of pass.dispatched) await w.waitForStop(d.session, d.conversation_id)
    const claim = JSON.parse(existsSync(claimPath(w.projectPath('app'), 'job')) ? readFileSync(claimPath(w.projectPath('app'), 'job'), 'utf8') : 'null') as {session: string; conversation_id: string} | null
    if (claim) await w.waitForStop(claim.session, claim.conversation_id)
  }

  return passes
}

describe('dispatch: SIGKILL mid-delivery, then a normal run', () => {
  it.each([
    // point, what the next pass finds, the session it names (no record: unknown), a record was written
    ['dispatch:after-claim', 'requeued', '?', false],
    ['dispatch:after-record', 'requeued', 'ccl-auto-11', true],
    ['dispatch:after-launch', 'launched', 'ccl-auto-11', true],
  ] as const)('killed at %s: the next pass finds the claim %s; the task is done exactly once', async (point, outcome, session, recorded) => {
    world = await createWorld({pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 2}', projects: ['app']})
    world.put('app', 'job', BODY)

    // When a dispatch run is killed with SIGKILL at the crash point
    const killed = await world.cli(['dispatch', '--json'], {env: {CLAUDE_FAILOVER_CRASH_AT: point}})
    expect(killed.code, killed.stderr).toBe(128)
    expect(killed.stdout).toBe('')
    // Then the task is claimed (in dispatched/, and nowhere else) and the claim record exists or not
    expect(world.whereIs('app', 'job')).toEqual(['dispatched'])
    expect(existsSync(claimPath(world.projectPath('app'), 'job'))).toBe(recorded)

    // When normal runs follow (the first waits out the dead run's lock)
    const passes = await settle(world)
    // Then the first of them recovers the claim as expected
    expect(passes[0]?.recovered).toEqual([{outcome, project: 'app', session, task: 'job'}])
    // And the task ends in done/ exactly once, in no other folder
    expect(world.whereIs('app', 'job')).toEqual(['done'])
    const delivered = passes.flatMap((p) => p.dispatched).length
    expect(delivered).toBe(outcome === 'launched' ? 0 : 1)
    // And the prompt reached claude exactly once
    expect(world.userPrompts().filter((p) => p.content === BODY)).toHaveLength(1)
    expect(world.userPrompts()).toHaveLength(1)
    // A later pass changes nothing
    const after = await world.dispatch()
    expect(after).toMatchObject({dispatched: [], finished: [], recovered: []})
    expect(existsSync(join(world.box.config.stateDir, 'prompts', 'app', 'job.md'))).toBe(false)
  })
})
