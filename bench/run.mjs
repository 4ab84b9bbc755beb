#!/usr/bin/env node
// `npm run bench`: performance figures as one table, each with its ratio against a baseline
// measured in the same run on the same machine (so the ratios mean something on any box).
//
// Cold start is measured as CPU time (user + system) of whole child processes, read from the
// kernel's accounting of reaped children (/proc/self/stat cutime + cstime), averaged over runs.
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'run.js')
const runs = Number(process.env.BENCH_RUNS ?? 20)
const ticksPerSecond = 100

function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  // Fields after "(comm) ": state is index 0, so cutime (field 16) is index 13, cstime index 14.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticksPerSecond
}

function cpuPerRun(command, args, env = {}) {
  spawnSync(command, args, {env: {...process.env, ...env}, stdio: 'ignore'}) // warm the page cache
  const before = childCpuMs()
  const startedAt = process.hrtime.bigint()
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(command, args, {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }

  const wall = Number(process.hrtime.bigint() - startedAt) / 1e6 / runs
  return {cpu: (childCpuMs() - before) / runs, wall}
}

const sandbox = mkdtempSync(join(tmpdir(), 'cf-bench-'))
const rows = []
try {
  for (const name of ['main', 'backup', 'shared']) mkdirSync(join(sandbox, name))
  const config = join(sandbox, 'config.yaml')
  writeFileSync(
    config,
    `state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\n`,
  )

  const baseline = cpuPerRun(process.execPath, ['-e', '0'])
  rows.push({baseline: 'node -e 0', case: 'node -e 0 (baseline)', cpu: baseline.cpu, ratio: 1, target: '', wall: baseline.wall})
  for (const [label, args, target] of [
    ['status --json (empty pool, cold start)', ['status', '--json', '--config', config], 2],
    ['status (table, cold start)', ['status', '--config', config], 2],
  ]) {
    const m = cpuPerRun(process.execPath, [cli, ...args], {NO_COLOR: '1'})
    rows.push({baseline: 'node -e 0', case: label, cpu: m.cpu, ratio: m.cpu / baseline.cpu, target: `≤ ${target}×`, wall: m.wall})
  }
} finally {
  rmSync(sandbox, {force: true, recursive: true})
}

const header = ['case', 'CPU ms/run', 'wall ms/run', 'ratio', 'target', 'vs']
const body = rows.map((r) => [r.case, r.cpu.toFixed(1), r.wall.toFixed(1), `${r.ratio.toFixed(2)}×`, r.target, r.baseline])
const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)))
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')
console.log(`claude-failover bench: ${runs} runs per case, node ${process.version}, ${new Date().toISOString()}`)
console.log(line(header))
console.log(line(widths.map((w) => '-'.repeat(w))))
for (const row of body) console.log(line(row))
