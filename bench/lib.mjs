// Shared measuring helpers for `npm run bench`.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const cli = join(root, 'bin', 'run.js')
export const runs = Number(process.env.BENCH_RUNS ?? 20)

/** CPU ms (user + system) of all reaped children of this process so far (/proc/self/stat). */
export function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

/** Average CPU and wall time per run of a command, over `count` runs after one warm-up. */
export function cpuPerRun(command, args, {env = {}, count = runs, allowExit = [0]} = {}) {
  const options = {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']}
  spawnSync(command, args, options)
  const before = childCpuMs()
  const started = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const result = spawnSync(command, args, options)
    if (!allowExit.includes(result.status)) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }

  return {cpu: (childCpuMs() - before) / count, wall: Number(process.hrtime.bigint() - started) / 1e6 / count}
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
 * CPU per run of several commands measured in interleaved rounds (one run of each per round), so a
 * slow spell of a shared machine lands on all of them alike. `cases`: [{label, command, args}].
 * Returns {label: {cpu, wall}} averaged over `count` rounds after one warm-up round.
 */
export function interleaved(cases, {count = runs, env = {}} = {}) {
  const options = {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']}
  const totals = cases.map(() => ({cpu: 0, wall: 0}))
  for (let round = -1; round < count; round++) {
    for (const [i, c] of cases.entries()) {
      const before = childCpuMs()
      const started = process.hrtime.bigint()
      const result = spawnSync(c.command, c.args, options)
      if (result.status !== 0) throw new Error(`${c.command} ${c.args.join(' ')} exited ${result.status}: ${result.stderr}`)
      if (round < 0) continue
      totals[i].cpu += childCpuMs() - before
      totals[i].wall += Number(process.hrtime.bigint() - started) / 1e6
    }
  }

  return Object.fromEntries(cases.map((c, i) => [c.label, {cpu: totals[i].cpu / count, wall: totals[i].wall / count}]))
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

    rmSync(dir, {force: true, recursive: true})
  }

  return {cleanup, dir, socket, tmux}
}

/**
 * A sandbox with two accounts, one project and a private tmux server, and `n` pool sessions
 * (`w-1`…) each running a simulated claude mid-task (a turn of `turnMs`, 10 minutes by default):
 * the working pool the timers watch at night. Returns {dir, config, env, socket, node(args),
 * tmux(...args), cleanup}.
 */
export async function workingPool(n, {prefix = 'cf-bench-pool-', extraConfig = [], turnMs = 600_000} = {}) {
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
