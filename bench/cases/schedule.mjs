// The default timer schedule's CPU per hour with a 20-session working pool, computed from measured
// per-run figures: every timer in systemd/ is read (its period, and the command its service runs),
// that exact command is measured against the pool, and runs per hour × CPU per run are summed.
// BENCH_TICK_EVERY=120s adds that tick period to the levers reported beside the shipped schedule.
// Beside it, the event-driven dispatch passes (issue 18: a task's Stop starts one while another task
// waits in an inbox): the CPU of one such pass on the same pool, measured, times the task ends an
// hour (BENCH_TASK_MINUTES, the mean task length; 10 and 30 by default).
import {appendFileSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, distrust, interleaved, ratioRow, root, spread, timedRun, workingPool} from '../lib.mjs'

export const title = 'timer schedule, CPU per hour (20 sessions)'

const N = 20
const IDLE_PASS = 'dispatch, nothing to do'

/** Seconds in a systemd time span such as `30s`, `5min`, `1h` (the forms our timers use). */
function seconds(span) {
  const units = {h: 3600, hour: 3600, m: 60, min: 60, ms: 0.001, s: 1, sec: 1}
  let total = 0
  for (const [, value, unit] of span.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)) {
    if (!(unit in units)) throw new Error(`unknown time unit in ${span}`)
    total += Number(value) * units[unit]
  }

  return total
}

/** Every timer of the shipped units: {unit, perHour, args} (args: what its service runs after run.js). */
export function shippedSchedule() {
  const dir = join(root, 'systemd')
  const schedule = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.timer')).sort()) {
    const timer = readFileSync(join(dir, file), 'utf8')
    const service = readFileSync(join(dir, file.replace(/\.timer$/, '.service')), 'utf8')
    const exec = /^ExecStart=.*\/bin\/run\.js (.+)$/m.exec(service)
    if (!exec) continue
    const every = /^OnUnitActiveSec=(.+)$/m.exec(timer)
    const calendar = /^OnCalendar=(.+)$/m.exec(timer)
    let perHour
    if (every) perHour = 3600 / seconds(every[1])
    else if (calendar && /^\*-\*-\* \d\d:\d\d(:\d\d)?$/.test(calendar[1].trim())) perHour = 1 / 24
    else throw new Error(`${file}: cannot tell how often it fires`)
    schedule.push({args: exec[1].trim().split(/\s+/), perHour, unit: file.replace(/\.timer$/, '')})
  }

  return schedule
}

/**
 * What a task's Stop costs: one `dispatch --wait` (what the hook starts) that settles one ended task
 * and types the next into the freed session, on the 20-session pool. Each round ends the task of
 * one session (its Stop record, as the hook writes it) and puts one task in the inbox.
 */
function triggeredPass(pool, rounds) {
  const state = join(pool.dir, 'state')
  const cpu = []
  for (let r = 0; r < rounds; r++) {
    const session = `w-${r + 1}`
    const record = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')).sessions[session]
    const file = join(pool.dir, 'proj/.agent-queue/inbox', `after-${r}.md`)
    writeFileSync(file, `the task after ${record.task}`)
    const old = new Date(Date.now() - 10_000)
    utimesSync(file, old, old)
    const stop = {config_dir: null, conversation_id: record.conversation_id, cwd: null, event: 'Stop', last_assistant_message: 'Done.', session, task: record.task, transcript_path: null, ts: new Date().toISOString()}
    appendFileSync(join(state, 'signals', `${session}.jsonl`), `${JSON.stringify(stop)}\n`)
    const result = timedRun(process.execPath, [cli, 'dispatch', '--wait', '--json', '--config', pool.config], {env: pool.env})
    const out = JSON.parse(result.stdout)
    if (result.status !== 0 || out.finished.length !== 1 || out.dispatched.length !== 1) throw new Error(`the triggered pass did not settle one task and type one: ${result.stdout} ${result.stderr}`)
    cpu.push(result.cpu)
  }

  return spread(cpu)
}

/**
 * Rows for the event-driven dispatch passes beside the timers' figure. A pass runs for a task end
 * only while another task waits (a backlog); it then types that task, which a timer's pass would
 * have done too: what the event adds is a pass's own start and look around (`idleMs`).
 */
function eventPasses(pool, timersPerHour, nodeMs, idleMs) {
  const pass = triggeredPass(pool, Number(process.env.BENCH_PASS_RUNS ?? 5))
  const minutes = process.env.BENCH_TASK_MINUTES ? process.env.BENCH_TASK_MINUTES.split(',').map(Number) : [10, 30]
  const rows = [
    {
      case: `event-driven dispatch: one pass per task end (settles it, types the next), ${N} sessions: ${pass.median.toFixed(0)} ms CPU a task`,
      cpu: pass.median,
      cpuSpread: [pass.p25, pass.p75],
      ratio: pass.median / nodeMs,
      vs: 'node -e 0',
    },
    {case: `  of which a pass with nothing to do (start-up, config, tmux survey, inboxes): ${idleMs.toFixed(0)} ms; settling and typing: ${(pass.median - idleMs).toFixed(0)} ms, spent by a timer's pass as well`, vs: ''},
  ]
  for (const m of minutes) {
    const ends = (N * 60) / m
    const passes = (ends * pass.median) / 1000
    const added = (ends * idleMs) / 1000
    rows.push({case: `  backlog, ${m}-min tasks (${ends} ends/h): ${passes.toFixed(1)} CPU-s/h of passes (${added.toFixed(1)} more than the timers typing the same tasks); with the shipped timers ${(timersPerHour + passes).toFixed(1)}; no backlog: no passes`, vs: ''})
  }

  return rows
}

/** The shipped tick: {args, periodMs}. */
export function shippedTick() {
  const tick = shippedSchedule().find((s) => s.args[0] === 'tick')
  if (!tick) throw new Error('no tick timer in systemd/')
  return {args: tick.args, periodMs: 3_600_000 / tick.perHour}
}

/** CPU-s per hour of a schedule, from per-run CPU ms per unit (one round's or the medians). */
function hourly(schedule, cpuOf) {
  return schedule.reduce((sum, s) => sum + (s.perHour * cpuOf(s.unit)) / 1000, 0)
}

export async function run() {
  const shipped = shippedSchedule()
  // BENCH_TICK_EVERY=120s: the tick's period to report beside the shipped one (systemd/ is not changed).
  const asked = process.env.BENCH_TICK_EVERY ? seconds(process.env.BENCH_TICK_EVERY) : undefined
  if (asked !== undefined && !(asked > 0)) throw new Error(`BENCH_TICK_EVERY=${process.env.BENCH_TICK_EVERY}: expected a time span such as 120s or 5min`)
  const tick = shipped.find((s) => s.unit.endsWith('-tick'))
  const withTick = (every) => shipped.map((s) => (s === tick ? {...s, perHour: 3600 / every} : s))
  const pool = await workingPool(N, {prefix: 'cf-bench-schedule-'})
  try {
    const cases = [
      {args: ['-e', '0'], command: process.execPath, label: 'node -e 0'},
      ...shipped.map((s) => ({args: [cli, ...s.args, '--config', pool.config], command: process.execPath, label: s.unit})),
      // Not a timer: what any pass costs before it has a task to settle or type (see eventPasses).
      {args: [cli, 'dispatch', '--quiet', '--config', pool.config], command: process.execPath, label: IDLE_PASS},
    ]
    const count = Number(process.env.BENCH_SCHEDULE_RUNS ?? 10)
    const measured = interleaved(cases, {count, env: pool.env})
    const baseline = measured['node -e 0']
    const rows = [{case: `node -e 0 (baseline; ${N} simulated claudes running)`, cpu: baseline.cpu, cpuSpread: [baseline.cpuStats.p25, baseline.cpuStats.p75], ratio: 1, vs: 'node -e 0', wall: baseline.wall}]
    for (const s of shipped) rows.push(ratioRow(measured, s.unit, 'node -e 0', {name: `  ${s.args.join(' ')} (${s.perHour < 1 ? 'daily' : `${s.perHour}/h`})`, vs: 'node -e 0'}))

    // The hourly figure per round (each round ran every timer once), so its spread is the rounds'.
    const perRound = (schedule) => spread(baseline.samples.cpu.map((_, r) => hourly(schedule, (unit) => measured[unit].samples.cpu[r])))
    const row = (label, schedule, limit) => {
      const h = perRound(schedule)
      const runsPerHour = Math.round(schedule.reduce((a, s) => a + s.perHour, 0))
      return {
        case: `${label}: ${h.median.toFixed(1)} CPU-s/h [${h.p25.toFixed(1)}–${h.p75.toFixed(1)}], ${runsPerHour} runs`,
        meets: limit === undefined ? undefined : h.median <= limit,
        ratio: h.median / 15,
        ratioSpread: [h.p25 / 15, h.p75 / 15],
        target: limit === undefined ? '' : `≤ ${limit} CPU-s`,
        untrusted: distrust(h, measured.load),
        vs: '15 CPU-s/h',
      }
    }

    rows.push(row(`default schedule, ${N} working sessions, tick every ${3600 / tick.perHour}s (shipped)`, shipped, 15))
    // Levers, from the same measurements: other tick periods (30 s was the period before issue 18;
    // limits and task ends are events, the tick is a safety net), and a start-up as cheap as node's
    // own (the floor of any node process).
    const periods = [...new Set([30, 60, 120, 300, ...(asked ? [asked] : [])])].filter((p) => p !== 3600 / tick.perHour).sort((a, b) => a - b)
    for (const every of periods) rows.push(row(`  lever: tick every ${every}s${every === asked ? ' (BENCH_TICK_EVERY)' : ''}`, withTick(every), undefined))
    const floor = hourly(shipped, () => baseline.cpu)
    rows.push({case: `  of the shipped figure, node's own start-up (runs/h × node -e 0): ${floor.toFixed(1)} CPU-s/h; the rest is this tool's code and tmux`, vs: ''})
    rows.push(...eventPasses(pool, perRound(shipped).median, baseline.cpu, measured[IDLE_PASS].cpu))
    return rows
  } finally {
    pool.cleanup()
  }
}
