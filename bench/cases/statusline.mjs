// The statusLine command (issue 16): Claude Code runs it on every render of every session, so its
// cost is per render. Measured as Claude Code runs it (`sh -c`, the session's JSON on stdin) against
// the same pipe into `node -e 0`: a render whose reading is unchanged (the common case: nothing is
// written), and one that also runs the home's own statusLine (`echo`). Then `metrics`, the export
// the tick writes when metrics.file is set, against `node -e 0`.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, cpuPerRun, interleaved, root, tmuxSandbox} from '../lib.mjs'

export const title = 'statusline and metrics'

export async function run() {
  const {cleanup, dir: sandbox} = tmuxSandbox('cf-bench-statusline-')
  const rows = []
  try {
    for (const name of ['main', 'backup', 'shared', 'state', 'proj/.agent-queue/inbox']) mkdirSync(join(sandbox, name), {recursive: true})
    const input = join(sandbox, 'input.json')
    writeFileSync(input, readFileSync(join(root, 'test', 'fixtures', 'statusline', '2.1.328-after-response.json')))
    const env = `CLAUDE_FAILOVER_SESSION=ccl-auto-11 CLAUDE_FAILOVER_STATE_DIR=${sandbox}/state`
    const shBaseline = cpuPerRun('/bin/sh', ['-c', `${process.execPath} -e 0 < ${input}`])
    const plain = cpuPerRun('/bin/sh', ['-c', `CLAUDE_CONFIG_DIR=${sandbox}/main ${env} ${process.execPath} ${cli} statusline < ${input}`])
    rows.push({case: 'statusline (one render, reading unchanged)', cpu: plain.cpu, ratio: plain.cpu / shBaseline.cpu, target: '≤ 1.5×', vs: 'sh + node -e 0', wall: plain.wall})
    writeFileSync(join(sandbox, 'backup', 'settings.json'), JSON.stringify({statusLine: {command: 'echo my line', type: 'command'}}))
    const passthrough = cpuPerRun('/bin/sh', ['-c', `CLAUDE_CONFIG_DIR=${sandbox}/backup ${env} ${process.execPath} ${cli} statusline < ${input}`])
    rows.push({case: "statusline + the home's own statusLine (echo)", cpu: passthrough.cpu, ratio: passthrough.cpu / shBaseline.cpu, vs: 'sh + node -e 0', wall: passthrough.wall})

    const config = join(sandbox, 'config.yaml')
    writeFileSync(config, 'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nautonomous: {min: 0}\nprojects: [{name: proj, path: ./proj}]\n')
    const measured = interleaved(
      [
        {args: ['-e', '0'], command: process.execPath, label: 'node -e 0'},
        {args: [cli, 'metrics', '--config', config], command: process.execPath, label: 'metrics'},
      ],
      {env: {NO_COLOR: '1', XDG_CACHE_HOME: join(sandbox, 'cache')}},
    )
    rows.push({case: 'metrics (empty pool, to stdout)', cpu: measured.metrics.cpu, ratio: measured.metrics.cpu / measured['node -e 0'].cpu, vs: 'node -e 0', wall: measured.metrics.wall})
  } finally {
    cleanup()
  }

  return rows
}
