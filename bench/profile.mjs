#!/usr/bin/env node
// Where a command's cold-start time goes, by source file: runs `bin/run.js ARGS…` N times under
// `--cpu-prof`, then adds every sample's self time to the file it belongs to (bundle samples are
// mapped back to src/ or node_modules/ through dist/cli.cjs.map).
//
//   BUILD_SOURCEMAP=1 npm run build
//   node bench/profile.mjs [--runs 10] -- status --json --config config.yaml
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {cli, root} from './lib.mjs'

const split = process.argv.indexOf('--')
const options = process.argv.slice(2, split === -1 ? undefined : split)
const args = split === -1 ? [] : process.argv.slice(split + 1)
const runs = Number(options[options.indexOf('--runs') + 1] ?? 10) || 10
const mapFile = join(root, 'dist', 'cli.cjs.map')
if (args.length === 0) throw new Error('usage: node bench/profile.mjs [--runs 10] -- COMMAND ARGS… (for example: -- status --json --config config.yaml)')
if (!existsSync(mapFile)) throw new Error('dist/cli.cjs.map is missing: build with BUILD_SOURCEMAP=1 npm run build')

const B64 = Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]))

/** Decodes a source map's `mappings` into, per generated line, sorted [column, sourceIndex] pairs. */
function decodeMappings(map) {
  const lines = []
  let source = 0
  for (const line of map.mappings.split(';')) {
    const segments = []
    let column = 0
    for (const segment of line.split(',')) {
      if (!segment) continue
      const values = []
      let value = 0
      let shift = 0
      for (const char of segment) {
        const digit = B64[char]
        value += (digit & 31) << shift
        if (digit & 32) {
          shift += 5
        } else {
          values.push(value & 1 ? -(value >> 1) : value >> 1)
          value = 0
          shift = 0
        }
      }

      column += values[0]
      if (values.length > 1) {
        source += values[1]
        segments.push([column, source])
      }
    }

    lines.push(segments)
  }

  return lines
}

const map = JSON.parse(readFileSync(mapFile, 'utf8'))
const mappings = decodeMappings(map)
function sourceOf(line, column) {
  const segments = mappings[line] ?? []
  let found
  for (const [start, source] of segments) {
    if (start > column) break
    found = source
  }

  return found === undefined ? 'dist/cli.cjs (glue)' : map.sources[found].replace(/^(\.\.\/)+/, '')
}

const dir = mkdtempSync(join(tmpdir(), 'cf-profile-'))
try {
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, cli, ...args], {stdio: 'ignore'})
    if (result.error) throw result.error
  }

  const byFile = new Map()
  let total = 0
  for (const file of readdirSync(dir)) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
    for (const [i, id] of profile.samples.entries()) {
      const frame = nodes.get(id)
      const key = frame.url.endsWith('dist/cli.cjs')
        ? sourceOf(frame.lineNumber, frame.columnNumber)
        : frame.url
          ? frame.url.replace(/^file:\/\//, '').replace(root + '/', '').replace(/^(node:internal\/[^/]*).*/, '$1')
          : frame.functionName
      const ms = profile.timeDeltas[i] / 1000
      byFile.set(key, (byFile.get(key) ?? 0) + ms)
      total += ms
    }
  }

  console.log(`${args.join(' ')}: ${(total / runs).toFixed(1)} ms sampled per run (${runs} runs)`)
  for (const [key, ms] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${(ms / runs).toFixed(2).padStart(7)} ms  ${key}`)
  }
} finally {
  rmSync(dir, {force: true, recursive: true})
}
