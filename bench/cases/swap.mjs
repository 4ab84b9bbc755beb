// A swap of 20 working sessions end to end (the CLI: plan, kill, flip, resume 20 conversations,
// wait for each to come up and type the continue message), stagger excluded (swap.stagger: 0s),
// against the raw tmux work it cannot avoid (kill, create and type into 20 sessions). The target
// (< 3 s) is for plan → every resume line typed with no stagger: the stagger spaces relaunches on
// purpose (2 s by default: 38 s for 20) and is a policy, not a cost.
import {spawnSync} from 'node:child_process'

import {busyNote, cli, loadWatch, workingPool} from '../lib.mjs'

export const title = 'swap of 20 sessions'

const N = 20

export async function run() {
  const pool = await workingPool(N, {extraConfig: ['swap: {stagger: 0s}'], prefix: 'cf-bench-swap-'})
  const t = pool.tmux
  try {
    await new Promise((r) => setTimeout(r, 1500))
    const watch = loadWatch()
    let started = process.hrtime.bigint()
    const swapped = spawnSync(process.execPath, [cli, 'swap', '--json', '--config', pool.config], {encoding: 'utf8', env: {...pool.env, CLAUDE_FAILOVER_TRACE: '1'}})
    // Phase times from the swap's own trace lines: `+<ms> swap: <phase>`.
    const phase = (name) => Number(new RegExp(`trace \\+(\\d+)ms swap: ${name}\\n`).exec(swapped.stderr)?.[1] ?? Number.NaN)
    const swapMs = Number(process.hrtime.bigint() - started) / 1e6
    if (swapped.status !== 0) throw new Error(`swap failed: ${swapped.stderr}`)
    const resumed = JSON.parse(swapped.stdout).sessions.filter((s) => s.resumed).length

    // Baselines: the tmux work a swap of N sessions cannot avoid (kill, create and type into N
    // sessions), one tmux process per step as the swap made them up to 0.4.0, and batched the way it
    // makes them now (one process for the kills, one creating and typing, one submitting).
    started = process.hrtime.bigint()
    for (let i = 0; i < N; i++) {
      t('kill-session', '-t', `=w-${i + 1}`)
      t('new-session', '-d', '-s', `w-${i + 1}`)
      t('send-keys', '-t', `=w-${i + 1}:`, '-l', '--', 'true')
      t('send-keys', '-t', `=w-${i + 1}:`, 'Enter')
    }

    const rawMs = Number(process.hrtime.bigint() - started) / 1e6
    const names = Array.from({length: N}, (_, i) => `w-${i + 1}`)
    const chain = (step) => names.flatMap((name, i) => [...(i > 0 ? [';'] : []), ...step(name)])
    started = process.hrtime.bigint()
    t(...chain((name) => ['kill-session', '-t', `=${name}`]))
    t(...chain((name) => ['new-session', '-d', '-s', name, ';', 'send-keys', '-t', `=${name}:`, '-l', '--', 'true']))
    t(...chain((name) => ['send-keys', '-t', `=${name}:`, 'Enter']))
    const batchedMs = Number(process.hrtime.bigint() - started) / 1e6
    const typed = phase('continue') - phase('plan')
    // One run each, wall time: only the machine's load can say whether to trust them.
    const untrusted = busyNote(watch.stop())
    return [
      {case: `raw tmux kill+create+type × ${N}, one process per step (${4 * N} processes; baseline)`, ratio: 1, untrusted, vs: 'itself', wall: rawMs},
      {case: `raw tmux kill+create+type × ${N}, batched (3 processes)`, ratio: batchedMs / rawMs, vs: 'raw tmux', wall: batchedMs},
      {case: `swap: plan → every resume line typed (${N}), stagger 0s`, meets: typed < 3000, ratio: typed / rawMs, target: '< 3000 ms', untrusted, vs: 'raw tmux', wall: typed},
      {case: `  of which: planning ${phase('planned') - phase('plan')} ms, killing ${phase('flip') - phase('kill')} ms, flipping ${phase('relaunch') - phase('flip')} ms, creating and typing ${phase('continue') - phase('relaunch')} ms`, wall: undefined},
      {case: `swap end to end, ${resumed}/${N} resumed and continued, stagger 0s`, ratio: swapMs / rawMs, vs: 'raw tmux', wall: swapMs},
      {case: `  of which: waiting for ${N} simulated claudes to start, then typing the continue message`, wall: phase('close') - phase('continue')},
      {case: `  with the default swap.stagger (2s) the relaunches are spaced by design: add ${(N - 1) * 2} s`, wall: undefined},
    ]
  } finally {
    pool.cleanup()
  }
}
