// Shared measuring helpers for `npm run bench`.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const cli = join(root, 'bin', 'run.js')
export const runs = Number(process.env.BENCH_RUNS ?? 20)

/** CPU ms (user + system) of all reaped children of this process so far (/proc/self/stat, 10 ms ticks). */
export function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

const TIME_MARK = '@@cf-bench-time'

/**
 * Runs a command once and returns its own CPU ms (user + system, all its threads and children) and
 * wall ms, to the millisecond: bash's `time` reads the child's rusage, where /proc/self/stat only
 * counts whole 10 ms ticks (a tenth of a cold start). Falls back to the ticks when bash is missing.
 */
export function timedRun(command, args, {env = process.env, maxBuffer = 1024 * 1024 * 1024} = {}) {
  const options = {encoding: 'utf8', env, maxBuffer, stdio: ['ignore', 'pipe', 'pipe']}
  const before = childCpuMs()
  const started = process.hrtime.bigint()
  const result = spawnSync('bash', ['-c', `TIMEFORMAT='${TIME_MARK} %3R %3U %3S'; time "$@"`, 'bench', command, ...args], options)
  const wall = Number(process.hrtime.bigint() - started) / 1e6
  if (result.error?.code === 'ENOENT') {
    const plain = spawnSync(command, args, options)
    return {cpu: childCpuMs() - before, status: plain.status, stderr: plain.stderr, stdout: plain.stdout, wall}
  }

  const at = result.stderr.lastIndexOf(TIME_MARK)
  if (at === -1) throw new Error(`${command} ${args.join(' ')}: no timing (${result.error?.message ?? result.stderr.slice(-200)})`)
  const [real, user, sys] = result.stderr.slice(at + TIME_MARK.length).trim().split(/\s+/).map(Number)
  return {cpu: (user + sys) * 1000, status: result.status, stderr: result.stderr.slice(0, at), stdout: result.stdout, wall: real * 1000}
}

/** {median, p25, p75, min, max, n} of a list of numbers (quartiles by linear interpolation). */
export function spread(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q) => {
    const i = (sorted.length - 1) * q
    const lo = Math.floor(i)
    return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo)
  }

  return {max: sorted.at(-1), median: at(0.5), min: sorted[0], n: sorted.length, p25: at(0.25), p75: at(0.75)}
}

/** Busy jiffies of the whole machine and their total, from /proc/stat's first line. */
function machineTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const n = values.map(Number)
  const idle = n[3] + n[4]
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0)
  return {busy: total - idle, total}
}

/**
 * Watches how busy the machine is while something is measured: `stop()` returns the share of all
 * cores that processes other than this bench and its children kept busy (0…1), and the load average.
 * A loaded machine inflates the CPU time of every run (shared caches, SMT siblings), not only wall.
 */
export function loadWatch() {
  const start = machineTicks()
  const ownStart = childCpuMs() + process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000
  return {
    stop() {
      const end = machineTicks()
      const own = childCpuMs() + process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000 - ownStart
      const totalMs = ((end.total - start.total) * 1000) / 100
      const others = totalMs > 0 ? Math.max(0, ((end.busy - start.busy) * 1000) / 100 - own) / totalMs : 0
      return {load1: loadavg()[0], others}
    },
  }
}

/** Past these, a figure is reported but flagged as not trustworthy. */
export const NOISE = {maxOthers: 0.25, maxRelativeIqr: 0.1}

/**
 * Why a figure measured with `stats` (a spread of per-round values) under `load` (loadWatch) should
 * not be trusted, or '' when it can be.
 */
export function distrust(stats, load) {
  const reasons = []
  const iqr = stats.median > 0 ? (stats.p75 - stats.p25) / stats.median : 0
  if (iqr > NOISE.maxRelativeIqr) reasons.push(`IQR ${Math.round(iqr * 100)}% of median`)
  const busy = busyNote(load)
  if (busy) reasons.push(busy)
  return reasons.join('; ')
}

/** Why a figure measured under `load` (loadWatch) should not be trusted, or ''. */
export function busyNote(load) {
  return load && load.others > NOISE.maxOthers ? `others used ${Math.round(load.others * 100)}% of the CPUs` : ''
}

/** Average CPU and wall time per run of a command, over `count` runs after one warm-up. */
export function cpuPerRun(command, args, {env = {}, count = runs, allowExit = [0]} = {}) {
  const fullEnv = {...process.env, ...env}
  timedRun(command, args, {env: fullEnv})
  const cpu = []
  const wall = []
  for (let i = 0; i < count; i++) {
    const result = timedRun(command, args, {env: fullEnv})
    if (!allowExit.includes(result.status)) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
    cpu.push(result.cpu)
    wall.push(result.wall)
  }

  return {cpu: spread(cpu).median, cpuStats: spread(cpu), wall: spread(wall).median, wallStats: spread(wall)}
}

/** Wall time of one async function, best of `count`. */
export async function bestOf(count, fn) {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint()
    await fn(i)
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6)
  }

  return best
}

/**
 * CPU per run of several commands measured in interleaved rounds (one run of each per round, in an
 * order that rotates every round), so a slow spell of a shared machine lands on all of them alike.
 * `cases`: [{label, command, args, env?}]. Returns {label: {cpu, wall, cpuStats, wallStats,
 * samples}} (cpu and wall: medians over `count` rounds after one warm-up round), and under the key
 * `load` what loadWatch saw. ratio(measured, label, base) gives the per-round ratios' spread.
 */
export function interleaved(cases, {count = runs, env = {}} = {}) {
  const samples = cases.map(() => ({cpu: [], wall: []}))
  const watch = loadWatch()
  for (let round = -1; round < count; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + Math.max(round, 0)) % cases.length
      const c = cases[i]
      const result = timedRun(c.command, c.args, {env: {...process.env, ...env, ...c.env}})
      if (result.status !== 0) throw new Error(`${c.command} ${c.args.join(' ')} exited ${result.status}: ${result.stderr}`)
      if (round < 0) continue
      samples[i].cpu.push(result.cpu)
      samples[i].wall.push(result.wall)
    }
  }

  const load = watch.stop()
  const out = Object.fromEntries(cases.map((c, i) => [c.label, {cpu: spread(samples[i].cpu).median, cpuStats: spread(samples[i].cpu), samples: samples[i], wall: spread(samples[i].wall).median, wallStats: spread(samples[i].wall)}]))
  Object.defineProperty(out, 'load', {enumerable: false, value: load})
  return out
}

/** The spread of the per-round CPU ratios of `label` to `base` from one interleaved() result. */
export function ratio(measured, label, base) {
  const a = measured[label].samples.cpu
  const b = measured[base].samples.cpu
  return spread(a.map((x, i) => x / b[i]))
}

/**
 * A bench row comparing `label` to `base` by CPU: median CPU and wall, the median of the per-round
 * ratios with their IQR, whether `limit` (a ratio; optional) is met, and why not to trust it.
 */
export function ratioRow(measured, label, base, {name = label, limit, vs = base} = {}) {
  const m = measured[label]
  const r = ratio(measured, label, base)
  return {
    case: name,
    cpu: m.cpu,
    cpuSpread: [m.cpuStats.p25, m.cpuStats.p75],
    meets: limit === undefined ? undefined : r.median <= limit,
    ratio: r.median,
    ratioSpread: [r.p25, r.p75],
    target: limit === undefined ? '' : `≤ ${limit}×`,
    untrusted: distrust(r, measured.load),
    vs,
    wall: m.wall,
  }
}

/** The processes (not this one) working in `dir` or naming it in their environment or command line. */
function processesIn(dir) {
  const found = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      const where = readlinkSync(`/proc/${pid}/cwd`)
      if (where.startsWith(dir) || readFileSync(`/proc/${pid}/environ`, 'latin1').includes(dir) || readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(dir)) found.push(pid)
    } catch {}
  }

  return found
}

/**
 * A throw-away folder with a private tmux socket (the tests' tmux config: panes run a plain bash).
 * Returns {dir, socket, tmux(...args) → stdout, cleanup()}; cleanup kills the server, then removes
 * the folder.
 */
export function tmuxSandbox(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const socket = join(dir, 'tmux.sock')
  const tmux = (...args) => execFileSync('tmux', ['-S', socket, '-f', join(root, 'test', 'fixtures', 'tmux.conf'), ...args], {stdio: 'pipe'}).toString()
  const cleanup = () => {
    try {
      tmux('kill-server')
    } catch {}

    // A hung-up simulated claude still runs its last hooks for a moment, writing into the folder,
    // and a hook may have started a detached dispatch there: stop them all before removing it.
    for (const pid of processesIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }

    rmSync(dir, {force: true, maxRetries: 20, recursive: true, retryDelay: 250})
  }

  return {cleanup, dir, socket, tmux}
}

/**
 * A sandbox with two accounts, one project and a private tmux server, and `n` pool sessions
 * (`w-1`…) each running a simulated claude mid-task (a turn of `turnMs`, 10 minutes by default):
 * the working pool the timers watch at night. `waiting`: that many more tasks (`next-1`…) left in the
 * inbox for the sessions to take once free. Returns {dir, config, env, socket, node(args),
 * tmux(...args), cleanup}.
 */
export async function workingPool(n, {prefix = 'cf-bench-pool-', extraConfig = [], turnMs = 600_000, waiting = 0} = {}) {
  const {acceptFirstLaunchModals} = await import(join(root, 'dist', 'sim', 'accept.js'))
  const {cleanup, dir, socket, tmux} = tmuxSandbox(prefix)
  const env = {...process.env, XDG_CACHE_HOME: join(dir, 'cache')}
  const config = join(dir, 'config.yaml')
  const node = (args) => spawnSync(process.execPath, [cli, ...args, '--config', config], {encoding: 'utf8', env})

  try {
    for (const d of ['main', 'backup', 'shared/projects', 'shared/file-history', 'shared/session-env', 'proj/.agent-queue/inbox']) mkdirSync(join(dir, d), {recursive: true})
    writeFileSync(
      config,
      [
        'state_dir: ./state',
        `tmux: {socket: ${socket}}`,
        `claude: {binary: ${join(root, 'bin', 'claude-sim')}, args: ["--dangerously-skip-permissions"]}`,
        'accounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]',
        'shared: {root: ./shared}',
        `autonomous: {prefix: "w-", start_index: 1, min: 1, max: ${n}}`,
        'projects: [{name: proj, path: ./proj}]',
        ...extraConfig,
      ].join('\n'),
    )
    for (const home of ['main', 'backup']) await acceptFirstLaunchModals(join(dir, home), [dir])
    node(['validate-symlinks', '--fix'])
    tmux('new-session', '-d', '-s', 'keeper')
    tmux('set-environment', '-g', 'CLAUDE_SIM_TURN_MS', String(turnMs))
    tmux('set-environment', '-g', 'CLAUDE_SIM_START_MS', '50')
    tmux('set-environment', '-g', 'XDG_CACHE_HOME', env.XDG_CACHE_HOME)
    const old = new Date(Date.now() - 10_000)
    for (let i = 0; i < n; i++) {
      const file = join(dir, 'proj/.agent-queue/inbox', `task-${i}.md`)
      writeFileSync(file, `long task ${i}`)
      utimesSync(file, old, old)
    }

    // Younger than the first n: dispatched after them, in order.
    const later = new Date(Date.now() - 5000)
    for (let i = 1; i <= waiting; i++) {
      const file = join(dir, 'proj/.agent-queue/inbox', `next-${i}.md`)
      writeFileSync(file, `next task ${i}`)
      utimesSync(file, later, later)
    }

    const dispatched = node(['dispatch', '--json'])
    if (JSON.parse(dispatched.stdout).dispatched.length !== n) throw new Error(`dispatch gave ${dispatched.stdout}`)
    const deadline = Date.now() + 60_000
    for (;;) {
      const status = JSON.parse(node(['status', '--json']).stdout)
      if (status.sessions.filter((s) => s.state === 'working').length === n) break
      if (Date.now() > deadline) throw new Error('pool did not start')
      await new Promise((r) => setTimeout(r, 200))
    }
  } catch (error) {
    cleanup()
    throw error
  }

  return {cleanup, config, dir, env, node, socket, tmux}
}

/**
 * Runs the timer's command (`tickArgs`, e.g. ['tick']) every `periodMs` against `pool` as systemd
 * would, until `stop()`; `starts` holds when each run began. `stop()` resolves once the last has ended.
 */
export function tickLoop(pool, periodMs, tickArgs) {
  let ticking = true
  const starts = []
  const done = (async () => {
    while (ticking) {
      const startedAt = Date.now()
      starts.push(startedAt)
      await new Promise((resolve) => spawn(process.execPath, [cli, ...tickArgs, '--quiet', '--config', pool.config], {env: pool.env, stdio: 'ignore'}).on('close', resolve))
      while (ticking && Date.now() < startedAt + periodMs) await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    starts,
    stop() {
      ticking = false
      return done
    },
  }
}

/** Removes a workingPool once the runs its hooks started (detached from tmux, so they outlive it) have exited. */
export async function removePool(pool) {
  try {
    pool.tmux('kill-server')
  } catch {}

  await detachedExited(pool.config)
  pool.cleanup()
}

/** Waits (up to 30 s) until no process names `config` on its command line: a run a late hook started is detached from tmux. */
export async function detachedExited(config) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const running = readdirSync('/proc').some((pid) => {
      try {
        return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(config)
      } catch {
        return false
      }
    })
    if (!running) return
    await new Promise((r) => setTimeout(r, 200))
  }
}
