#!/usr/bin/env node
// `npm run bench`: every performance figure in one table, each with its ratio against a baseline
// measured in the same run on the same machine. Cases live in bench/cases/*.mjs; each exports
// `title` and `run()` returning rows {case, cpu?, cpuSpread?, wall, ratio, ratioSpread?, target?, meets?,
// untrusted?, vs} (see ratioRow in lib.mjs). `npm run bench -- NAME`
// runs only the case named NAME (bench/cases/NAME.mjs) or, when there is none, the cases whose file
// name contains NAME (`cold` → cold-start).
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {NOISE, root, runs} from './lib.mjs'

const only = process.argv[2]
const all = readdirSync(join(root, 'bench', 'cases')).filter((f) => f.endsWith('.mjs'))
const files = (all.includes(`${only}.mjs`) ? [`${only}.mjs`] : all.filter((f) => !only || f.includes(only))).sort()
const rows = []
const loadAtStart = loadavg()[0].toFixed(2)
// Validated configs are cached under $XDG_CACHE_HOME: the bench's throw-away ones go to a temp folder.
const cache = mkdtempSync(join(tmpdir(), 'cf-bench-cache-'))
process.env.XDG_CACHE_HOME = cache
try {
  for (const file of files) {
    const mod = await import(join(root, 'bench', 'cases', file))
    process.stderr.write(`bench: ${mod.title}…\n`)
    rows.push(...(await mod.run()))
  }
} finally {
  rmSync(cache, {force: true, recursive: true})
}

const fmt = (n) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(1))
const range = (pair, digits, unit = '') => (pair ? ` [${pair[0].toFixed(digits)}–${pair[1].toFixed(digits)}${unit}]` : '')
const header = ['case', 'CPU ms [IQR]', 'wall ms', 'ratio [IQR]', 'target', 'result', 'vs']
const body = rows.map((r) => [
  r.case,
  r.cpu === undefined ? '' : `${fmt(r.cpu)}${range(r.cpuSpread, 0)}`,
  fmt(r.wall),
  r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×${range(r.ratioSpread, 2)}`,
  r.target ?? '',
  r.meets === undefined ? (r.untrusted ? `not trustworthy: ${r.untrusted}` : '') : `${r.meets ? 'meets' : 'MISSES'}${r.untrusted ? ` (not trustworthy: ${r.untrusted})` : ''}`,
  r.vs ?? '',
])
const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)))
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()
const [l1, l5] = loadavg()
console.log(`claude-failover bench: node ${process.version}, ${availableParallelism()} CPUs, load ${l1.toFixed(2)} (5 min: ${l5.toFixed(2)}) at the end (${loadAtStart} at the start), ${new Date().toISOString()}`)
console.log(`CPU: user + system of the child, median over interleaved rounds (${runs} for cold starts, BENCH_RUNS); ratio: median of the per-round ratios to the baseline run in the same round.`)
console.log(`A figure is not trustworthy when the IQR of its ratio exceeds ${NOISE.maxRelativeIqr * 100}% of the median or other processes kept more than ${NOISE.maxOthers * 100}% of the CPUs busy meanwhile.`)
console.log(line(header))
console.log(line(widths.map((w) => '-'.repeat(w))))
for (const row of body) console.log(line(row))
