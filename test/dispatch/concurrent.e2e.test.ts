// Reliability P2, end to end: ten `dispatch` processes at once, round after round, over 50 tasks
// and a pool of 5 sessions running the simulated claude. Each task is delivered exactly once, no
// session ever has two tasks at once, and every task ends in exactly one folder.
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {claimPath} from '../../src/lib/dispatch/claims.js'
import type {SignalRecord} from '../../src/lib/signals.js'

import {createWorld, type DispatchJson, type World} from './world.js'

const PROJECTS = ['alpha', 'beta']
const TASKS = 50
const SESSIONS = ['ccl-auto-11', 'ccl-auto-12', 'ccl-auto-13', 'ccl-auto-14', 'ccl-auto-15']
// On an idle machine a turn outlasts a round's ten dispatch runs, so a round mostly uses the
// sessions free when it started; on a loaded one turns end mid-round and a late run may rightly
// hand a session its next task. Either way no session may take a task before its last one stopped.
const TURN_MS = 2500

let world: World
const prompts = new Map<string, string>()

beforeAll(async () => {
  world = await createWorld({pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 5}', projects: PROJECTS, turnMs: TURN_MS})
  for (let i = 0; i < TASKS; i++) {
    const project = PROJECTS[i % PROJECTS.length] as string
    const id = `task-${String(i).padStart(2, '0')}`
    const body = `Task ${i} of ${project}: ${'do the thing '.repeat((i % 3) + 1)}`.trim()
    world.put(project, id, `---\npriority: ${i % 4}\n---\n${body}`, {ageSeconds: 60 + i})
    prompts.set(`${project}/${id}`, body)
  }
})

afterAll(async () => {
  await world?.close()
})

describe('dispatch: ten concurrent runs', () => {
  // About 12 rounds of ten CLI start-ups each: 3-4.5 min on a loaded 2-core machine.
  it('delivers each of 50 tasks exactly once over 5 sessions, never two at once on a session', {timeout: 600_000}, async () => {
    const delivered = new Map<string, {session: string; conversation_id: string; round: number}>()
    let busyExits = 0
    for (let round = 1; round <= 20; round++) {
      // When ten dispatch runs start at once: eight as timers fire them, two as an operator would (--wait)
      const runs = await Promise.all(Array.from({length: 10}, (_, i) => world.cli(['dispatch', '--json', ...(i >= 8 ? ['--wait'] : [])], {timeoutMs: 120_000})))
      const passes: DispatchJson[] = []
      for (const run of runs) {
        // Then each either ran (0) or found the lock busy (75, "try at the next tick")
        expect([0, 75], run.stderr).toContain(run.code)
        if (run.code === 75) busyExits += 1
        else passes.push(JSON.parse(run.stdout) as DispatchJson)
      }

      const thisRound = passes.flatMap((p) => p.dispatched)
      for (const d of thisRound) {
        const key = `${d.project}/${d.task}`
        expect(delivered.has(key), `${key} delivered twice`).toBe(false)
        delivered.set(key, {conversation_id: d.conversation_id, round, session: d.session})
      }

      if (thisRound.length === 0 && delivered.size === TASKS) break
      // And the sims finish their turns before the next round
      for (const d of thisRound) await world.waitForStop(d.session, d.conversation_id)
    }

    expect(delivered.size).toBe(TASKS)
    expect(busyExits).toBeGreaterThan(0)

    // Per session, each task was claimed (claimed_at, kept beside it in done/) only once the Stop
    // of the session's previous task had been recorded: never two at once, whatever the timing.
    const claims = [...prompts.keys()].map((key) => {
      const [project, id] = key.split('/') as [string, string]
      return JSON.parse(readFileSync(claimPath(world.projectPath(project), id, 'done'), 'utf8')) as {session: string; conversation_id: string; claimed_at: string}
    })
    for (const session of SESSIONS) {
      const mine = claims.filter((c) => c.session === session).sort((a, b) => a.claimed_at.localeCompare(b.claimed_at))
      for (const [i, next] of mine.entries()) {
        if (i === 0) continue
        const previous = mine[i - 1]!
        const stop = world.signals(session).find((s) => s.event === 'Stop' && s.conversation_id === previous.conversation_id)
        expect(stop?.ts, `${session}: ${next.conversation_id} claimed at ${next.claimed_at}, before ${previous.conversation_id} stopped`).toBeDefined()
        expect(stop!.ts <= next.claimed_at, `${session}: ${next.conversation_id} claimed at ${next.claimed_at}, before ${previous.conversation_id} stopped at ${stop!.ts}`).toBe(true)
      }
    }

    // Every task is in done/ and in no other folder
    for (const key of prompts.keys()) {
      const [project, id] = key.split('/') as [string, string]
      expect(world.whereIs(project, id), key).toEqual(['done'])
    }

    // Each prompt is in exactly one transcript user record, and there are no others
    const userPrompts = world.userPrompts()
    expect(userPrompts).toHaveLength(TASKS)
    for (const [key, body] of prompts) expect(userPrompts.filter((p) => p.content === body), key).toHaveLength(1)

    // Per session, conversations strictly alternate: SessionStart(A), Stop(A), SessionStart(B), ...
    for (const session of SESSIONS) {
      const events = world.signals(session).filter((s) => s.event === 'SessionStart' || s.event === 'Stop')
      let open: SignalRecord | undefined
      for (const event of events) {
        if (event.event === 'SessionStart') {
          expect(open, `${session} started ${event.conversation_id} while ${open?.conversation_id} ran`).toBeUndefined()
          open = event
        } else {
          expect(event.conversation_id).toBe(open?.conversation_id)
          open = undefined
        }
      }

      expect(open).toBeUndefined()
    }
  })
})
