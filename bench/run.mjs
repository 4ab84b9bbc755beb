#!/usr/bin/env node
// `npm run bench`: every performance figure in one table, each with its ratio against a baseline
// measured in the same run on the same machine. Cases live in bench/cases/*.mjs; each exports
// `title` and `run()` returning rows {case, cpu?, wall, ratio, target?, vs}. `npm run bench -- NAME`
// runs only the cases whose file name contains NAME.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {root, runs} from './lib.mjs'

const only = process.argv[2]
const files = readdirSync(join(root, 'bench', 'cases')).filter((f) => f.endsWith('.mjs') && (!only || f.includes(only))).sort()
const rows = []
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

const fmt = (n) => (n === undefined ? '' : n.toFixed(1))
const header = ['case', 'CPU ms', 'wall ms', 'ratio', 'target', 'vs']
const body = rows.map((r) => [r.case, fmt(r.cpu), fmt(r.wall), r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`, r.target ?? '', r.vs ?? ''])
const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)))
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()
console.log(`claude-failover bench: ${runs} runs per cold-start case, node ${process.version}, ${new Date().toISOString()}`)
console.log(line(header))
console.log(line(widths.map((w) => '-'.repeat(w))))
for (const row of body) console.log(line(row))
