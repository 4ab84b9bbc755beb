// `reconcile --json` over a pool of 20 sessions, idle and working (20 launched claims whose panes are
// read for the stall watch), CPU per run against `node -e 0` (the empty pool is in cold-start.mjs).
import {execFileSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, cpuPerRun, tmuxSandbox} from '../lib.mjs'

export const title = 'reconcile (20 sessions)'

const N = 20

export async function run() {
  const {cleanup, dir, socket, tmux: t} = tmuxSandbox('cf-bench-life-')
  const rows = []
  try {
    for (const d of ['main', 'backup', 'shared', 'proj/.agent-queue/dispatched']) mkdirSync(join(dir, d), {recursive: true})
    const base = ['state_dir: ./state', `tmux: {socket: ${socket}}`, 'accounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]', 'shared: {root: ./shared}']
    const write = (name, lines) => {
      writeFileSync(join(dir, name), [...base, ...lines].join('\n'))
      return join(dir, name)
    }

    const pool = write('pool.yaml', [`autonomous: {prefix: "w-", start_index: 1, min: ${N}, max: ${N}}`, 'projects: [{name: proj, path: ./proj}]'])
    t('new-session', '-d', '-s', 'keeper')

    const baseline = cpuPerRun(process.execPath, ['-e', '0'])
    rows.push({case: 'node -e 0 (baseline)', cpu: baseline.cpu, ratio: 1, vs: 'node -e 0', wall: baseline.wall})

    // 20 idle sessions (the first run creates them; the measured runs find nothing to do).
    execFileSync(process.execPath, [cli, 'reconcile', '--config', pool], {stdio: 'ignore'})
    const idle = cpuPerRun(process.execPath, [cli, 'reconcile', '--json', '--config', pool])
    rows.push({case: `reconcile --json (${N} idle sessions)`, cpu: idle.cpu, ratio: idle.cpu / baseline.cpu, vs: 'node -e 0', wall: idle.wall})

    // 20 working sessions: a launched claim each, the pane running a program, read every run.
    const now = Date.now()
    for (let i = 1; i <= N; i++) {
      t('kill-session', '-t', `=w-${i}`)
      t('new-session', '-d', '-s', `w-${i}`, 'sleep 3600')
      const id = `task-${i}`
      writeFileSync(join(dir, 'proj/.agent-queue/dispatched', `${id}.md`), `task ${i}\n`)
      const claim = {account: 'main', attempt: 1, claimed_at: new Date(now - 60_000).toISOString(), conversation_id: randomUUID(), cwd: dir, launched_at: new Date(now - 59_000).toISOString(), pid: 1, project: 'proj', retries: 0, session: `w-${i}`, task: id, timeout_ms: null}
      writeFileSync(join(dir, 'proj/.agent-queue/dispatched', `${id}.md.claim`), JSON.stringify(claim))
    }

    execFileSync(process.execPath, [cli, 'reconcile', '--config', pool], {stdio: 'ignore'})
    const working = cpuPerRun(process.execPath, [cli, 'reconcile', '--json', '--config', pool])
    rows.push({case: `reconcile --json (${N} working sessions)`, cpu: working.cpu, ratio: working.cpu / baseline.cpu, vs: 'node -e 0', wall: working.wall})
    // What the tmux calls alone cost: one survey and 20 pane reads.
    const raw = cpuPerRun('/bin/sh', ['-c', `tmux -S ${socket} list-panes -a -F '#{session_name}' >/dev/null; for i in $(seq 1 ${N}); do tmux -S ${socket} capture-pane -p -t "=w-$i:" >/dev/null; done`])
    rows.push({case: `  tmux list-panes + ${N} capture-pane (sh)`, cpu: raw.cpu, ratio: raw.cpu / baseline.cpu, vs: 'node -e 0', wall: raw.wall})
  } finally {
    cleanup()
  }

  return rows
}
