// Event-driven failover (issue 16): 20 working sessions on `main` run out; the StopFailure hook of
// the first starts `quota check` at once. Baseline in the same run: the same pool with
// `check_on_limit: false`, where only the shipped timer's tick finds the limit. Both keep the timer
// running (it stays the safety net). Measured from the first StopFailure record to the first and to
// the last session resumed on `backup` (SessionStart there); the stagger alone (swap.stagger 2 s
// between 20 relaunches) bounds the last at 38 s after the first.
import {join} from 'node:path'

import {removePool, root, tickLoop, workingPool} from '../lib.mjs'
import {shippedTick} from './schedule.mjs'

export const title = 'event-driven failover (20 sessions, StopFailure hook vs the tick)'

const N = 20
const STAGGER_MS = 2000

async function measure(periodMs, tickArgs, extraConfig) {
  const {readSignals} = await import(join(root, 'dist', 'lib', 'signals.js'))
  const {writeSimControl} = await import(join(root, 'dist', 'sim', 'control.js'))
  const pool = await workingPool(N, {extraConfig, prefix: 'cf-bench-event-', turnMs: 40_000})
  const backup = join(pool.dir, 'backup')
  const sessions = Array.from({length: N}, (_, i) => `w-${i + 1}`)
  try {
    await writeSimControl(join(pool.dir, 'main'), {exhausted: true, reset_at: new Date(Date.now() + 3 * 3_600_000).toISOString()})
    const timer = tickLoop(pool, periodMs, tickArgs)
    let limitAt = Number.POSITIVE_INFINITY
    const resumedAt = new Map()
    const deadline = Date.now() + 240_000
    while (resumedAt.size < N) {
      if (Date.now() > deadline) throw new Error(`only ${resumedAt.size} of ${N} sessions resumed on backup within 4 minutes`)
      await new Promise((r) => setTimeout(r, 250))
      for (const session of sessions) {
        const records = await readSignals(join(pool.dir, 'state'), session, 500)
        for (const r of records) if (r.event === 'StopFailure') limitAt = Math.min(limitAt, Date.parse(r.ts))
        const resumed = records.find((r) => r.event === 'SessionStart' && r.source === 'resume' && r.config_dir === backup)
        if (resumed) resumedAt.set(session, Date.parse(resumed.ts))
      }
    }

    await timer.stop()
    const times = [...resumedAt.values()].sort((a, b) => a - b)
    const first = (times[0] ?? 0) - limitAt
    // The tick that can have swapped: the first to start after the limit was recorded.
    const waited = (timer.starts.find((t) => t >= limitAt) ?? limitAt) - limitAt
    return {all: (times.at(-1) ?? 0) - limitAt, first, waited}
  } finally {
    await removePool(pool)
  }
}

export async function run() {
  const {args, periodMs} = shippedTick()
  const baseline = await measure(periodMs, args, ['quota: {policy: {check_on_limit: false}}'])
  const event = await measure(periodMs, args, [])
  const stagger = (N - 1) * STAGGER_MS
  // The timer's phase against the limit is chance: the worst case waits a whole period.
  const worst = periodMs + baseline.first - baseline.waited
  return [
    {case: 'baseline (timer only): limit → first resumed', vs: 'tick period', wall: baseline.first, ratio: baseline.first / periodMs},
    {case: '  of which: waiting for the next tick (chance)', vs: 'tick period', wall: baseline.waited, ratio: baseline.waited / periodMs},
    {case: '  worst case: a whole period, then the same swap', vs: 'tick period', wall: worst, ratio: worst / periodMs},
    {case: `baseline (timer only): limit → all ${N} resumed`, vs: `stagger alone (${stagger / 1000} s)`, wall: baseline.all, ratio: baseline.all / stagger},
    {case: 'StopFailure hook: limit → first resumed', vs: 'baseline worst case', wall: event.first, ratio: event.first / worst, target: '≤ 3000 ms'},
    {case: `StopFailure hook: limit → all ${N} resumed`, vs: `stagger alone (${stagger / 1000} s)`, wall: event.all, ratio: event.all / stagger, target: '≈ stagger + first'},
  ]
}
