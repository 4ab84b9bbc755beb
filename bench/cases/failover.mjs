// Failover latency with the default cadence: 20 working sessions on `main`, the account runs out
// (every simulated claude shows the limit banner at its next step), and the shipped timer's `tick`
// fires on its period as systemd would; measured from the first banner on screen (its StopFailure
// hook record) to every session resumed on `backup` (its SessionStart record there). Default config
// throughout, including swap.stagger (2 s between relaunches, so the new account is not hit at once).
import {spawn} from 'node:child_process'
import {join} from 'node:path'

import {cli, root, workingPool} from '../lib.mjs'
import {shippedSchedule} from './schedule.mjs'

export const title = 'failover latency (20 sessions, default cadence)'

const N = 20

export async function run() {
  const {readSignals} = await import(join(root, 'dist', 'lib', 'signals.js'))
  const {writeSimControl} = await import(join(root, 'dist', 'sim', 'control.js'))
  const tick = shippedSchedule().find((s) => s.args[0] === 'tick')
  if (!tick) throw new Error('no tick timer in systemd/')
  const periodMs = 3_600_000 / tick.perHour
  // Turns of 40 s: each session reaches the step where it sees the limit within 20 s of its start.
  const pool = await workingPool(N, {prefix: 'cf-bench-failover-', turnMs: 40_000})
  const backup = join(pool.dir, 'backup')
  const sessions = Array.from({length: N}, (_, i) => `w-${i + 1}`)
  const runTick = () =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...tick.args, '--json', '--config', pool.config], {env: pool.env, stdio: ['ignore', 'pipe', 'ignore']})
      let out = ''
      child.stdout.on('data', (chunk) => (out += chunk))
      child.on('close', () => resolve(out))
    })
  try {
    await writeSimControl(join(pool.dir, 'main'), {exhausted: true, reset: '3pm (Europe/Paris)'})
    let swapTickAt
    let ticking = true
    // The timer: a tick now, then every period after the previous start (OnUnitActiveSec).
    const timer = (async () => {
      while (ticking) {
        const startedAt = Date.now()
        const doc = JSON.parse((await runTick()) || '{}')
        if (doc.quota_check?.result?.swap && swapTickAt === undefined) swapTickAt = startedAt
        while (ticking && Date.now() < startedAt + periodMs) await new Promise((r) => setTimeout(r, 100))
      }
    })()
    let bannerAt
    let doneAt
    const deadline = Date.now() + 240_000
    while (doneAt === undefined) {
      if (Date.now() > deadline) throw new Error('the pool was not resumed on backup within 4 minutes')
      await new Promise((r) => setTimeout(r, 250))
      let resumed = 0
      for (const session of sessions) {
        const records = await readSignals(join(pool.dir, 'state'), session, 500)
        for (const r of records) if (r.event === 'StopFailure') bannerAt = Math.min(bannerAt ?? Number.POSITIVE_INFINITY, Date.parse(r.ts))
        if (records.some((r) => r.event === 'SessionStart' && r.source === 'resume' && r.config_dir === backup)) resumed++
      }

      if (resumed === N) doneAt = Date.now()
    }

    ticking = false
    await timer
    const total = doneAt - bannerAt
    const waited = swapTickAt - bannerAt
    const swap = doneAt - swapTickAt
    const vs = `tick period (${periodMs / 1000} s)`
    return [
      {case: `failover: first limit banner → all ${N} resumed on backup`, ratio: total / periodMs, vs, wall: total},
      {case: '  of which: waiting for the next tick', ratio: waited / periodMs, vs, wall: waited},
      {case: `  of which: the tick that swaps (kill, flip, ${N} resumes 2 s apart)`, ratio: swap / periodMs, vs, wall: swap},
      {case: '  worst case: a whole period, then the same swap', ratio: (periodMs + swap) / periodMs, vs, wall: periodMs + swap},
    ]
  } finally {
    pool.cleanup()
  }
}
