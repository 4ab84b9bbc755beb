// A swap of 20 working sessions end to end (the CLI: plan, kill, flip, resume 20 conversations,
// wait for each to come up and type the continue message), stagger excluded (swap.stagger: 0s),
// against the raw tmux work it cannot avoid (kill, create and type into 20 sessions).
import {spawnSync} from 'node:child_process'

import {cli, workingPool} from '../lib.mjs'

export const title = 'swap of 20 sessions'

const N = 20

export async function run() {
  const pool = await workingPool(N, {extraConfig: ['swap: {stagger: 0s}'], prefix: 'cf-bench-swap-'})
  const t = pool.tmux
  try {
    await new Promise((r) => setTimeout(r, 1500))
    let started = process.hrtime.bigint()
    const swapped = spawnSync(process.execPath, [cli, 'swap', '--json', '--config', pool.config], {encoding: 'utf8', env: {...pool.env, CLAUDE_FAILOVER_TRACE: '1'}})
    // Phase times from the swap's own trace lines: `+<ms> swap: <phase>`.
    const phase = (name) => Number(new RegExp(`trace \\+(\\d+)ms swap: ${name}\\n`).exec(swapped.stderr)?.[1] ?? Number.NaN)
    const swapMs = Number(process.hrtime.bigint() - started) / 1e6
    if (swapped.status !== 0) throw new Error(`swap failed: ${swapped.stderr}`)
    const resumed = JSON.parse(swapped.stdout).sessions.filter((s) => s.resumed).length

    // Baseline: the tmux calls a swap of N sessions cannot avoid.
    started = process.hrtime.bigint()
    for (let i = 0; i < N; i++) {
      t('kill-session', '-t', `=w-${i + 1}`)
      t('new-session', '-d', '-s', `w-${i + 1}`)
      t('send-keys', '-t', `=w-${i + 1}:`, '-l', '--', 'true')
      t('send-keys', '-t', `=w-${i + 1}:`, 'Enter')
    }

    const rawMs = Number(process.hrtime.bigint() - started) / 1e6
    const typed = phase('continue') - phase('plan')
    return [
      {case: `raw tmux kill+create+type × ${N} (baseline)`, ratio: 1, vs: 'itself', wall: rawMs},
      {case: `swap: plan → every resume line typed (${N})`, ratio: typed / rawMs, target: '< 3000 ms', vs: 'raw tmux', wall: typed},
      {case: `swap end to end, ${resumed}/${N} resumed and continued`, ratio: swapMs / rawMs, target: '< 3000 ms', vs: 'raw tmux', wall: swapMs},
      {case: `  of which: waiting for ${N} simulated claudes to start`, wall: phase('close') - phase('continue')},
    ]
  } finally {
    pool.cleanup()
  }
}
