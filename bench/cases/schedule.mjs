// The default timer schedule's CPU per hour with a 20-session working pool, computed from measured
// per-run figures: every timer in systemd/ is read (its period, and the command its service runs),
// that exact command is measured against the pool, and runs per hour × CPU per run are summed.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, interleaved, root, workingPool} from '../lib.mjs'

export const title = 'timer schedule, CPU per hour (20 sessions)'

const N = 20

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

export async function run() {
  const schedule = shippedSchedule()
  const pool = await workingPool(N, {prefix: 'cf-bench-schedule-'})
  try {
    const cases = [
      {args: ['-e', '0'], command: process.execPath, label: 'node -e 0'},
      ...schedule.map((s) => ({args: [cli, ...s.args, '--config', pool.config], command: process.execPath, label: s.unit})),
    ]
    const measured = interleaved(cases, {count: 10, env: pool.env})
    const baseline = measured['node -e 0']
    const rows = [{case: `node -e 0 (baseline; ${N} simulated claudes running)`, cpu: baseline.cpu, ratio: 1, vs: 'node -e 0', wall: baseline.wall}]
    let perHour = 0
    let runsPerHour = 0
    for (const s of schedule) {
      const m = measured[s.unit]
      perHour += (s.perHour * m.cpu) / 1000
      runsPerHour += s.perHour
      rows.push({case: `  ${s.args.join(' ')} (${s.perHour < 1 ? 'daily' : `${s.perHour}/h`})`, cpu: m.cpu, ratio: m.cpu / baseline.cpu, vs: 'node -e 0', wall: m.wall})
    }

    rows.push({case: `default schedule, ${N} working sessions: ${perHour.toFixed(1)} CPU-s per hour (${Math.round(runsPerHour)} runs)`, ratio: perHour / 30, target: '≤ 30 CPU-s', vs: '30 CPU-s'})
    return rows
  } finally {
    pool.cleanup()
  }
}
