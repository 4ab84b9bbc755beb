// Cold start of every timer-driven command on an empty pool, CPU per run against `node -e 0`, run
// as the timers run them: no --json, output to pipes (journald's sockets under systemd), a live tmux
// server holding one session that is not the pool's, an unchanged config. Measured in interleaved
// rounds (see lib.mjs) so a slow spell of the machine lands on the baseline too.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, cpuPerRun, interleaved, tmuxSandbox} from '../lib.mjs'

export const title = 'cold start'

const COMMANDS = [
  ['dispatch', ['dispatch']],
  ['quota check', ['quota', 'check']],
  ['reconcile', ['reconcile']],
  ['checkpoint', ['checkpoint']],
  ['janitor', ['janitor']],
  ['status --json', ['status', '--json']],
  ['tick (quota check + reconcile + dispatch)', ['tick']],
]

export async function run() {
  const {cleanup, dir: sandbox, tmux} = tmuxSandbox('cf-bench-')
  const rows = []
  try {
    for (const name of ['main', 'backup', 'shared', 'proj/.agent-queue/inbox']) mkdirSync(join(sandbox, name), {recursive: true})
    const config = join(sandbox, 'config.yaml')
    writeFileSync(config, 'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nautonomous: {min: 0}\nprojects: [{name: proj, path: ./proj}]\n')
    tmux('new-session', '-d', '-s', 'not-the-pool', 'sleep 3600')
    const env = {NO_COLOR: '1', XDG_CACHE_HOME: join(sandbox, 'cache')}
    const cases = [
      {args: ['-e', '0'], command: process.execPath, label: 'node -e 0'},
      ...COMMANDS.map(([label, args]) => ({args: [cli, ...args, '--config', config], command: process.execPath, label})),
    ]
    const measured = interleaved(cases, {env})
    const baseline = measured['node -e 0']
    rows.push({case: 'node -e 0 (baseline)', cpu: baseline.cpu, ratio: 1, vs: 'node -e 0', wall: baseline.wall})
    for (const [label] of COMMANDS) {
      const m = measured[label]
      rows.push({case: `${label} (empty pool)`, cpu: m.cpu, ratio: m.cpu / baseline.cpu, target: label.startsWith('tick') ? '' : '≤ 1.5×', vs: 'node -e 0', wall: m.wall})
    }

    // The first run after the config changed validates it (YAML and zod) and refills the cache.
    const cold = interleaved([{args: [cli, 'dispatch', '--config', config], command: process.execPath, label: 'miss'}], {count: 5, env: {...env, XDG_CACHE_HOME: '/proc/nonexistent'}})
    rows.push({case: 'dispatch, config changed since the last run', cpu: cold.miss.cpu, ratio: cold.miss.cpu / baseline.cpu, vs: 'node -e 0', wall: cold.miss.wall})

    const hook = cpuPerRun('/bin/sh', ['-c', `echo '{"hook_event_name":"Stop"}' | CLAUDE_FAILOVER_SESSION=x CLAUDE_FAILOVER_STATE_DIR=${sandbox}/state ${process.execPath} ${cli} hook`])
    const shBaseline = cpuPerRun('/bin/sh', ['-c', `echo x | ${process.execPath} -e 0`])
    rows.push({case: 'hook (one Stop record)', cpu: hook.cpu, ratio: hook.cpu / shBaseline.cpu, target: '≤ 1.5×', vs: 'sh + node -e 0', wall: hook.wall})
  } finally {
    cleanup()
  }

  return rows
}
