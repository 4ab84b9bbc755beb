// Event-driven dispatch (issue 18): 20 working sessions end their tasks at about the same time while
// 20 more tasks wait in the inbox; each task's Stop hook starts `dispatch` at once. Baseline in the
// same run: the same pool with `dispatcher.on_stop: false`, where only the shipped timer's tick hands
// out the next tasks. Both keep the timer running (it stays the safety net). Measured per session,
// from its task's Stop record to the `dispatch` event of its next task (written once the launch
// line was typed): the first, the median and the last of the 20.
import {join} from 'node:path'

import {removePool, root, spread, tickLoop, workingPool} from '../lib.mjs'
import {shippedTick} from './schedule.mjs'

export const title = 'event-driven dispatch (20 sessions, task end → next task typed: Stop hook vs the tick)'

const N = 20

async function measure(periodMs, tickArgs, extraConfig) {
  const {readSignals} = await import(join(root, 'dist', 'lib', 'signals.js'))
  const {readRecentEvents} = await import(join(root, 'dist', 'lib', 'events.js'))
  // 20 s turns: the pool is up (20 simulated claudes started and recorded) before they end.
  const pool = await workingPool(N, {extraConfig, prefix: 'cf-bench-dispatch-', turnMs: 20_000, waiting: N})
  const state = join(pool.dir, 'state')
  const sessions = Array.from({length: N}, (_, i) => `w-${i + 1}`)
  const timer = tickLoop(pool, periodMs, tickArgs)
  try {
    const stopAt = new Map()
    const typedAt = new Map()
    const deadline = Date.now() + periodMs + 180_000
    while (typedAt.size < N) {
      if (Date.now() > deadline) throw new Error(`only ${typedAt.size} of ${N} sessions were given their next task in time`)
      await new Promise((r) => setTimeout(r, 250))
      for (const session of sessions) {
        if (stopAt.has(session)) continue
        const stop = (await readSignals(state, session, 500)).find((r) => r.event === 'Stop' && r.task?.startsWith('proj/task-'))
        if (stop) stopAt.set(session, Date.parse(stop.ts))
      }

      for (const e of await readRecentEvents(state, 1000)) {
        if (e.event === 'dispatch' && String(e.task).startsWith('next-') && stopAt.has(e.session) && !typedAt.has(e.session)) typedAt.set(e.session, Date.parse(e.ts))
      }
    }

    const latencies = sessions.map((s) => typedAt.get(s) - stopAt.get(s))
    const firstStop = Math.min(...stopAt.values())
    // The tick that can have handed out the first task: the first to start after the first Stop.
    const waited = (timer.starts.find((t) => t >= firstStop) ?? firstStop) - firstStop
    return {latency: spread(latencies), max: Math.max(...latencies), min: Math.min(...latencies), waited}
  } finally {
    await timer.stop()
    await removePool(pool)
  }
}

export async function run() {
  const {args, periodMs} = shippedTick()
  const baseline = await measure(periodMs, args, ['dispatcher: {on_stop: false}'])
  const event = await measure(periodMs, args, [])
  // The timer's phase against the task's end is chance: the worst case waits a whole period.
  const worst = periodMs + baseline.min - baseline.waited
  const span = (m) => `first ${(m.min / 1000).toFixed(1)} s, median ${(m.latency.median / 1000).toFixed(1)} s, last ${(m.max / 1000).toFixed(1)} s`
  return [
    {case: `baseline (timer only, tick every ${periodMs / 1000}s): task end → next task typed, ${span(baseline)}`, vs: 'tick period', wall: baseline.latency.median, ratio: baseline.latency.median / periodMs},
    {case: '  of which: waiting for the next tick (chance)', vs: 'tick period', wall: baseline.waited, ratio: baseline.waited / periodMs},
    {case: '  worst case: a whole period, then the same pass', vs: 'tick period', wall: worst, ratio: worst / periodMs},
    // The 20 ends come within a second: one pass types the 20 next tasks one after another, so the
    // first is what a lone task end sees and the last what the twentieth of a burst sees.
    {case: `Stop hook: task end → next task typed, ${span(event)}`, vs: 'baseline worst case', wall: event.min, ratio: event.min / worst, target: 'first ≤ 3000 ms', meets: event.min <= 3000},
  ]
}
