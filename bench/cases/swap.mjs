// A swap of 20 working sessions end to end (the CLI: plan, kill, flip, resume 20 conversations,
// wait for each to come up and type the continue message), stagger excluded (swap.stagger: 0s),
// against the raw tmux work it cannot avoid (kill, create and type into 20 sessions).
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {cli, root} from '../lib.mjs'

export const title = 'swap of 20 sessions'

const N = 20

export async function run() {
  const {acceptFirstLaunchModals} = await import(join(root, 'dist', 'sim', 'accept.js'))
  const dir = mkdtempSync(join(tmpdir(), 'cf-bench-swap-'))
  const socket = join(dir, 'tmux.sock')
  const t = (...args) => execFileSync('tmux', ['-S', socket, '-f', join(root, 'test', 'fixtures', 'tmux.conf'), ...args], {stdio: 'pipe'}).toString()
  try {
    for (const d of ['main', 'backup', 'shared/projects', 'shared/file-history', 'shared/session-env', 'proj/.agent-queue/inbox']) mkdirSync(join(dir, d), {recursive: true})
    const config = join(dir, 'config.yaml')
    writeFileSync(
      config,
      [
        'state_dir: ./state',
        `tmux: {socket: ${socket}}`,
        `claude: {binary: ${join(root, 'bin', 'claude-sim')}, args: ["--dangerously-skip-permissions"]}`,
        'accounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]',
        'shared: {root: ./shared}',
        `autonomous: {prefix: "w-", start_index: 1, min: 1, max: ${N}}`,
        'projects: [{name: proj, path: ./proj}]',
        'swap: {stagger: 0s}',
      ].join('\n'),
    )
    for (const home of ['main', 'backup']) await acceptFirstLaunchModals(join(dir, home), [dir])
    const node = (args) => spawnSync(process.execPath, [cli, ...args, '--config', config], {encoding: 'utf8'})
    node(['validate-symlinks', '--fix'])
    t('new-session', '-d', '-s', 'keeper')
    t('set-environment', '-g', 'CLAUDE_SIM_TURN_MS', '600000')
    t('set-environment', '-g', 'CLAUDE_SIM_START_MS', '50')
    const old = new Date(Date.now() - 10_000)
    for (let i = 0; i < N; i++) {
      const file = join(dir, 'proj/.agent-queue/inbox', `task-${i}.md`)
      writeFileSync(file, `long task ${i}`)
      utimesSync(file, old, old)
    }

    const dispatched = node(['dispatch', '--json'])
    if (JSON.parse(dispatched.stdout).dispatched.length !== N) throw new Error(`dispatch gave ${dispatched.stdout}`)
    const deadline = Date.now() + 60_000
    for (;;) {
      const status = JSON.parse(node(['status', '--json']).stdout)
      if (status.sessions.filter((s) => s.state === 'working').length === N) break
      if (Date.now() > deadline) throw new Error('pool did not start')
      await new Promise((r) => setTimeout(r, 200))
    }

    await new Promise((r) => setTimeout(r, 1500))
    let started = process.hrtime.bigint()
    const swapped = spawnSync(process.execPath, [cli, 'swap', '--json', '--config', config], {encoding: 'utf8', env: {...process.env, CLAUDE_FAILOVER_TRACE: '1'}})
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
      {case: '  of which: waiting for 20 simulated claudes to start', wall: phase('close') - phase('continue')},
    ]
  } finally {
    try {
      t('kill-server')
    } catch {}

    rmSync(dir, {force: true, recursive: true})
  }
}
