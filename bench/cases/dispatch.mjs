// One `dispatch --json` pass (the CLI, as a timer fires it) over 100 projects × 100 tasks, then
// over 100 × 1000, to show the judging grows linearly. Per project: 60% ready, 25% blocked (20% on
// a missing task, 5% on a malformed entry), 15% invalid (bad YAML, a code engine, a wrong type),
// plus done tasks that half the dependencies resolve to. Every account is marked exhausted in
// state.json, so the pass judges every inbox and writes the markers but dispatches nothing: no
// tmux server is needed, and what is measured is the judging alone. The first pass over a tree
// reads every file, writes the markers and the verdict cache; the steady-state passes after it find
// them in place and read no task file again (each is lstat'ed: its fingerprint).
import {spawnSync} from 'node:child_process'
import {closeSync, linkSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {busyNote, cli, loadWatch, root, spread, timedRun} from '../lib.mjs'

export const title = 'dispatch pass (judging only)'

const PROJECTS = 100
const STEADY_RUNS = Number(process.env.BENCH_DISPATCH_RUNS ?? 5)

/** The text of a task file in slot `slot` (of 20) and variant `v` (of 10), and the verdict a pass should reach. */
function template(slot, v) {
  if (slot < 12) return {kind: 'ready', text: `---\npriority: ${(slot + v) % 5}\n${slot % 3 === 0 ? `depends_on: [p${(slot * 7 + v) % PROJECTS}:done-${v}]\n` : ''}---\nTask ${slot}.${v}: do the thing.\n`}
  if (slot < 16) return {kind: 'blocked', text: `---\ndepends_on: [lint-${slot}-${v}, p${(slot + 7) % PROJECTS}:done-${v}]\n---\nWait for lint.\n`}
  if (slot < 17) return {kind: 'blocked', text: `---\ndepends_on: ["../../tmp:foo-${v}"]\n---\nTraversal.\n`}
  if (slot < 18) return {kind: 'invalid', text: `---\npriority: [${v}\n---\nBad YAML.\n`}
  if (slot < 19) return {kind: 'invalid', text: `---js\nmodule.exports = {priority: ${v}}\n---\nCode engine.\n`}
  return {kind: 'invalid', text: `---\npriority: high-${v}\n---\nWrong type.\n`}
}

/**
 * Task files are hard links to 200 templates: creating 100,000 inodes takes a minute on some disks
 * (this VM: ~0.5 ms a file) and is not what is measured. A pass opens and reads every path all the
 * same; only the markers it writes are new files.
 */
function buildTree(dir, tasksPerProject) {
  const expected = {blocked: 0, invalid: 0, ready: 0}
  const templates = join(dir, 'templates')
  mkdirSync(templates)
  const kinds = new Map()
  for (let slot = 0; slot < 20; slot++) {
    for (let v = 0; v < 10; v++) {
      const {kind, text} = template(slot, v)
      writeFileSync(join(templates, `${slot}-${v}.md`), text)
      kinds.set(`${slot}-${v}`, kind)
    }
  }

  for (let p = 0; p < PROJECTS; p++) {
    const path = join(dir, 'projects', `p${p}`)
    for (const state of ['inbox', 'dispatched', 'done', 'failed', 'archive']) mkdirSync(join(path, '.agent-queue', state), {recursive: true})
    for (let d = 0; d < 10; d++) linkSync(join(templates, `0-${d}.md`), join(path, '.agent-queue', 'done', `done-${d}.md`))
    for (let i = 0; i < tasksPerProject; i++) {
      const key = `${i % 20}-${Math.floor(i / 20) % 10}`
      expected[kinds.get(key)] += 1
      linkSync(join(templates, `${key}.md`), join(path, '.agent-queue', 'inbox', `t-${String(i).padStart(4, '0')}.md`))
    }
  }

  return expected
}

export async function world(tasksPerProject) {
  const dir = mkdtempSync(join(tmpdir(), 'cf-bench-dispatch-'))
  for (const name of ['main', 'backup', 'shared']) mkdirSync(join(dir, name))
  const config = join(dir, 'config.yaml')
  writeFileSync(
    config,
    'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nprojects_dir: ./projects\nautonomous: {prefix: "ccl-auto-", start_index: 11, min: 0, max: 5}\n',
  )
  const expected = buildTree(dir, tasksPerProject)
  // Every account exhausted: the pass judges everything and stops before any tmux work.
  const {loadConfig} = await import(join(root, 'dist', 'lib', 'config.js'))
  const {withStateLock} = await import(join(root, 'dist', 'lib', 'lock.js'))
  await withStateLock(await loadConfig(config), {command: 'bench'}, async (tx) => {
    for (const account of ['main', 'backup']) tx.state.accounts[account] = {exhausted_until: '2099-01-01T00:00:00.000Z', last_hit: null}
    await tx.commit()
  })
  // Past the settle time (2 s) of the last file written, and the verdict cache's age rule (3 s:
  // verdict-cache.ts), so that the first pass reads every file and caches every verdict, as a
  // first pass over files that have waited a while does.
  await sleep(3100)
  return {cleanup: () => rmSync(dir, {force: true, recursive: true}), config, dir, expected}
}

/** One CLI pass: wall and CPU ms, and the verdict counts it printed. */
export function pass(config) {
  const result = timedRun(process.execPath, [cli, 'dispatch', '--json', '--config', config], {env: {...process.env, NO_COLOR: '1'}})
  if (result.status !== 0) throw new Error(`dispatch exited ${result.status}: ${result.stderr}`)
  const json = JSON.parse(result.stdout)
  return {blocked: json.blocked.length, cpu: result.cpu, dispatched: json.dispatched.length, invalid: json.invalid.length, wall: result.wall}
}

async function measure(tasksPerProject) {
  const w = await world(tasksPerProject)
  try {
    const first = pass(w.config)
    const markers = readdirSync(join(w.dir, 'projects')).flatMap((p) => readdirSync(join(w.dir, 'projects', p, '.agent-queue', 'inbox'))).filter((n) => /\.md\.(blocked|invalid)$/.test(n)).length
    if (markers !== w.expected.blocked + w.expected.invalid) throw new Error(`the first pass wrote ${markers} markers, expected ${w.expected.blocked + w.expected.invalid}`)
    const steady = []
    for (let i = 0; i < STEADY_RUNS; i++) steady.push(pass(w.config))
    for (const p of [first, ...steady]) {
      if (p.dispatched !== 0 || p.blocked !== w.expected.blocked || p.invalid !== w.expected.invalid) {
        throw new Error(`pass over ${tasksPerProject}/project judged ${p.blocked} blocked, ${p.invalid} invalid (expected ${w.expected.blocked}, ${w.expected.invalid}), dispatched ${p.dispatched}`)
      }
    }

    // The median pass by CPU (wall time on a shared machine measures the others), with the spread.
    const cpus = spread(steady.map((p) => p.cpu))
    const median = steady.reduce((a, b) => (Math.abs(b.cpu - cpus.median) < Math.abs(a.cpu - cpus.median) ? b : a))
    return {first, steady: {...median, spread: [cpus.min, cpus.max]}, total: PROJECTS * tasksPerProject}
  } finally {
    w.cleanup()
  }
}

/** What creating `count` small files costs on this disk, for scale: creating its markers is most of what a first pass costs over a steady one. */
function createFiles(count) {
  const dir = mkdtempSync(join(tmpdir(), 'cf-bench-create-'))
  try {
    const started = process.hrtime.bigint()
    for (let i = 0; i < count; i++) {
      const fd = openSync(join(dir, `m${i}`), 'wx', 0o600)
      writeSync(fd, 'waiting for lint-1 (not in done/ or archive/ yet)\n')
      closeSync(fd)
    }

    return Number(process.hrtime.bigint() - started) / 1e6
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

export async function run() {
  // Measured first: a disk mounted with `discard` slows down for a while after a big delete.
  const markers = (PROJECTS * 100 * 8) / 20
  const watch = loadWatch()
  const createMs = createFiles(markers)
  const empty = await measure(0)
  const small = await measure(100)
  const large = await measure(1000)
  const load = watch.stop()
  const row = (label, m, limit) => ({
    case: `${label}${m.spread ? ` (median of ${STEADY_RUNS}; CPU ${m.spread[0].toFixed(0)}–${m.spread[1].toFixed(0)} ms)` : ''}`,
    cpu: m.cpu,
    meets: limit === undefined ? undefined : m.cpu < limit,
    ratio: m.cpu / empty.steady.cpu,
    target: limit === undefined ? '' : `< ${limit} CPU ms`,
    untrusted: [m.spread && (m.spread[1] - m.spread[0]) / m.cpu > 0.2 ? 'steady passes spread over 20% of the median' : '', busyNote(load)].filter(Boolean).join('; '),
    vs: 'same pass, 0 tasks (CPU)',
    wall: m.wall,
  })
  // Linear growth: 10× the tasks costs 10× the CPU above the fixed cost of a run (start-up, config, tmux probe).
  const work = (m) => m.cpu - empty.steady.cpu
  return [
    row('dispatch, 100 projects × 0 tasks', empty.steady),
    {case: `baseline: create ${markers} small files (the markers a first pass over 100 × 100 writes)`, vs: 'this disk', wall: createMs},
    row(`dispatch, 100 × 100 (${small.total} tasks), first pass`, small.first),
    row(`dispatch, 100 × 100 (${small.total} tasks), steady state`, small.steady, 800),
    row(`dispatch, 100 × 1000 (${large.total} tasks), first pass`, large.first),
    row(`dispatch, 100 × 1000 (${large.total} tasks), steady state`, large.steady),
    {case: 'growth at 10× tasks, first pass (work above a 0-task run)', ratio: work(large.first) / work(small.first), target: '≤ 10× (linear)', vs: '100 × 100, first', wall: undefined},
    {case: 'growth at 10× tasks, steady state (work above a 0-task run)', ratio: work(large.steady) / work(small.steady), target: '≤ 10× (linear)', vs: '100 × 100, steady', wall: undefined},
    {case: 'growth at 10× tasks, steady state (whole run)', ratio: large.steady.cpu / small.steady.cpu, target: '≤ 10×', vs: '100 × 100, steady', wall: undefined},
    {case: `per task, steady state: ${((work(small.steady) * 1000) / small.total).toFixed(1)} µs at 10k, ${((work(large.steady) * 1000) / large.total).toFixed(1)} µs at 100k`, wall: undefined},
  ]
}
