// Event-driven dispatch with the real Claude Code 2.1.328 (issue 18): the real Stop hook of a
// finished task starts `dispatch` by itself, which types the waiting task into the freed session.
// No tick, reconcile or dispatch is run after the first dispatch.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {waitFor} from '../helpers/env.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForSignal} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

describe('event-driven dispatch with the real Claude Code', {timeout: REAL_TEST_MS}, () => {
  it("a task's real Stop hook settles it and starts the waiting task in the freed session, with no tick", async () => {
    pool = await makeRealPool({extraYaml: 'dispatcher: {on_stop: true, on_add: false}', pool: '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 1}'})
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('first', 'Say hello.')
    p.addTask('second', 'Say goodbye.')
    const dispatched = await p.cli(['dispatch', '--json'])
    expect(dispatched.code, dispatched.stderr).toBe(0)
    expect(JSON.parse(dispatched.stdout)).toMatchObject({dispatched: [{task: 'first'}], waiting: [{task: 'second'}]})

    // From here nothing but the hooks runs a command.
    const stop = await waitForSignal(p, 'ccl-auto-11', 'Stop', (s) => s.task === 'proj/first', 90_000)
    await waitFor(async () => (await readRecentEvents(p.config.stateDir, 100)).some((e) => e.event === 'dispatch' && e.task === 'second'), 60_000)
    const typed = (await readRecentEvents(p.config.stateDir, 100)).find((e) => e.event === 'dispatch' && e.task === 'second')
    expect(typed).toMatchObject({session: 'ccl-auto-11'})
    expect(existsSync(join(p.project, '.agent-queue', 'done', 'first.md'))).toBe(true)
    // Seconds on a loaded 2-core machine; the tick would be up to 2 min away.
    expect(Date.parse(typed!.ts as string) - Date.parse(stop.ts)).toBeLessThan(30_000)
    // The second task really ran: its prompt reached the API from the same session.
    await waitFor(async () => p.api.mainRequests('main').some((r) => r.userTexts[0] === 'Say goodbye.'), 90_000)
  })
})
