// `quota check` over 20 and 100 live sessions (real tmux; each pane shows an idle Claude Code
// screen), against the bare cost of capturing the same panes with the tmux CLI.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, cpuPerRun, root, tmuxSandbox} from '../lib.mjs'

export const title = 'quota check at scale'

export async function run() {
  const rows = []
  for (const n of [20, 100]) {
    const {cleanup, dir, socket, tmux: t} = tmuxSandbox('cf-bench-quota-')
    try {
      for (const d of ['main', 'backup', 'shared']) mkdirSync(join(dir, d))
      const config = join(dir, 'config.yaml')
      writeFileSync(config, `state_dir: ./state\ntmux: {socket: ${socket}}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nautonomous: {prefix: "q-", start_index: 1, min: 1, max: ${n}}\n`)
      const fixture = join(root, 'test', 'fixtures', 'panes', 'i01-fresh-welcome-2x.txt')
      t('new-session', '-d', '-s', 'keeper')
      for (let i = 1; i <= n; i++) t('new-session', '-d', '-s', `q-${i}`, '-x', '200', '-y', '50', `cat '${fixture}'; sleep 3600`)
      await new Promise((r) => setTimeout(r, 500))
      const raw = cpuPerRun('/bin/sh', ['-c', Array.from({length: n}, (_, i) => `tmux -S ${socket} capture-pane -p -J -t '=q-${i + 1}:' -S -40 >/dev/null`).join('; ')], {count: 5})
      const check = cpuPerRun(process.execPath, [cli, 'quota', 'check', '--json', '--config', config], {count: 5})
      rows.push(
        {case: `raw capture-pane × ${n} (baseline)`, cpu: raw.cpu, ratio: 1, vs: 'itself', wall: raw.wall},
        {case: `quota check --json, ${n} live sessions`, cpu: check.cpu, ratio: check.wall / raw.wall, target: n === 100 ? '< 500 ms' : '', vs: 'raw capture (wall)', wall: check.wall},
      )
    } finally {
      cleanup()
    }
  }

  return rows
}
