// Cold start of the timer-driven commands on an empty pool, CPU per run against `node -e 0`.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {cli, cpuPerRun} from '../lib.mjs'

export const title = 'cold start'

export async function run() {
  const sandbox = mkdtempSync(join(tmpdir(), 'cf-bench-'))
  const rows = []
  try {
    for (const name of ['main', 'backup', 'shared']) mkdirSync(join(sandbox, name))
    const config = join(sandbox, 'config.yaml')
    writeFileSync(config, 'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\n')
    const baseline = cpuPerRun(process.execPath, ['-e', '0'])
    rows.push({case: 'node -e 0 (baseline)', cpu: baseline.cpu, ratio: 1, vs: 'node -e 0', wall: baseline.wall})
    for (const [label, args, target] of [
      ['status --json (empty pool)', ['status', '--json', '--config', config], '≤ 2×'],
      ['status (table, empty pool)', ['status', '--config', config], '≤ 2×'],
      ['dispatch --json (empty pool)', ['dispatch', '--json', '--config', config], '≤ 1.5×'],
    ]) {
      const m = cpuPerRun(process.execPath, [cli, ...args], {env: {NO_COLOR: '1'}})
      rows.push({case: label, cpu: m.cpu, ratio: m.cpu / baseline.cpu, target, vs: 'node -e 0', wall: m.wall})
    }

    const hook = cpuPerRun('/bin/sh', ['-c', `echo '{"hook_event_name":"Stop"}' | CLAUDE_FAILOVER_SESSION=x CLAUDE_FAILOVER_STATE_DIR=${sandbox}/state ${process.execPath} ${cli} hook`])
    const shBaseline = cpuPerRun('/bin/sh', ['-c', `echo x | ${process.execPath} -e 0`])
    rows.push({case: 'hook (one Stop record)', cpu: hook.cpu, ratio: hook.cpu / shBaseline.cpu, target: '≤ 1.5×', vs: 'sh + node -e 0', wall: hook.wall})
  } finally {
    rmSync(sandbox, {force: true, recursive: true})
  }

  return rows
}
