// The worst single task file (issue 17): one `dispatch` pass (the CLI, as a timer fires it) over an
// inbox holding only that file, against the same pass over an empty inbox. Two files: 50,000
// frontmatter keys in under 1 MiB (refused before parsing; it cost 14-60 s on every pass before),
// and the costliest file within the frontmatter limits (250 lines of `: : :`, ~80 ms to parse).
// First pass: judged and its marker written (the marker is removed before each run); steady state:
// the verdict stands by the file's fingerprint and the file is not read again.
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {childCpuMs, cli, cpuPerRun, tmuxSandbox} from '../lib.mjs'

export const title = 'worst single task file'

const FIRST_RUNS = 5

const FILES = {
  '50,000 frontmatter keys (refused unparsed)': `---\n${Array.from({length: 50_000}, (_, i) => `k${i}: 1`).join('\n')}\n---\nBody.\n`,
  'the costliest frontmatter within the limits': `---\n${Array.from({length: 250}, () => ': : :').join('\n')}\n---\nBody.\n`,
}

export async function run() {
  // tmuxSandbox only for its throw-away folder: no tmux server is started (nothing is ready).
  const {cleanup, dir} = tmuxSandbox('cf-bench-hostile-')
  const rows = []
  try {
    for (const name of ['main', 'backup', 'shared']) mkdirSync(join(dir, name))
    const inbox = join(dir, 'proj', '.agent-queue', 'inbox')
    mkdirSync(inbox, {recursive: true})
    const config = join(dir, 'config.yaml')
    writeFileSync(config, 'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nautonomous: {min: 0}\nprojects: [{name: proj, path: ./proj}]\n')
    const args = [cli, 'dispatch', '--config', config]
    const env = {NO_COLOR: '1', XDG_CACHE_HOME: join(dir, 'cache')}
    const empty = cpuPerRun(process.execPath, args, {env})
    rows.push({case: 'dispatch, empty inbox (baseline)', cpu: empty.cpu, ratio: 1, vs: 'same pass, empty inbox', wall: empty.wall})
    for (const [label, text] of Object.entries(FILES)) {
      const task = join(inbox, 'worst.md')
      writeFileSync(task, text)
      const past = new Date(Date.now() - 60_000)
      utimesSync(task, past, past)
      const first = {cpu: 0, wall: 0}
      for (let i = 0; i < FIRST_RUNS; i++) {
        rmSync(`${task}.invalid`, {force: true})
        const before = childCpuMs()
        const started = process.hrtime.bigint()
        const result = spawnSync(process.execPath, args, {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
        if (result.status !== 0) throw new Error(`dispatch exited ${result.status}: ${result.stderr}`)
        first.cpu += (childCpuMs() - before) / FIRST_RUNS
        first.wall += Number(process.hrtime.bigint() - started) / 1e6 / FIRST_RUNS
      }

      const steady = cpuPerRun(process.execPath, args, {env})
      rows.push({case: `dispatch, ${label}, first pass`, cpu: first.cpu, ratio: first.wall / empty.wall, target: '≤ 2×', vs: 'same pass, empty inbox', wall: first.wall})
      rows.push({case: `dispatch, ${label}, steady state`, cpu: steady.cpu, ratio: steady.wall / empty.wall, target: '≤ 1.2×', vs: 'same pass, empty inbox', wall: steady.wall})
      rmSync(task, {force: true})
      rmSync(`${task}.invalid`, {force: true})
    }
  } finally {
    cleanup()
  }

  return rows
}
