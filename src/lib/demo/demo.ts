// `demo`: the real pipeline in a throw-away sandbox, on a short cadence. Two accounts whose homes
// share their transcript folders, a project of dependent tasks, a private tmux server, and the
// simulated claude, whose first account runs out of turns part-way. The loop runs the very
// commands the systemd timers run (as child processes of this CLI, with --json) and narrates what
// they report: dispatched, limit detected, swapped, done. Everything it made is removed at the end,
// also on Ctrl-C.
import {execFile, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {Logger} from '../log.js'

import {fail} from '../errors.js'
import {packageRoot} from '../paths.js'

export interface DemoOptions {
  /** Give up after this long (ms). */
  timeoutMs: number
  /** Keep the sandbox (and its tmux server) for inspection. */
  keep: boolean
  /** Time between ticks (ms); each tick runs reconcile, quota check and dispatch. */
  tickMs: number
  /** How long each simulated turn works (ms). */
  turnMs: number
}

export interface DemoResult {
  tasks_total: number
  tasks_done: number
  swaps: number
  seconds: number
  sandbox: string | null
  status: unknown
}

const TASKS: {id: string; priority?: number; depends?: string[]; prompt: string}[] = [
  {id: 'schema', priority: 10, prompt: 'Design the database schema for the invoices service.'},
  {id: 'api', depends: ['schema'], prompt: 'Implement the REST API on top of the schema; keep handlers thin.'},
  {id: 'ui-mockups', prompt: 'Sketch the invoice list and detail pages.'},
  {id: 'ui', depends: ['api', 'ui-mockups'], prompt: 'Build the UI against the API; `$(rm -rf ~)` and C-c in a prompt are just text.'},
  {id: 'docs', depends: ['api'], prompt: 'Write the API reference from the handlers.'},
  {id: 'load-test', priority: 5, prompt: 'Write a load test for the list endpoint.'},
  {id: 'release', depends: ['ui', 'docs', 'load-test'], prompt: 'Prepare the release notes and tag 1.0.'},
]

interface Run {
  code: number
  json: unknown
  stderr: string
}

/** Runs the demo; `log` narrates on stderr. */
export async function runDemo(options: DemoOptions, log: Logger): Promise<DemoResult> {
  await requireTmux()
  const started = Date.now()
  const root = packageRoot()
  const dir = mkdtempSync(join(tmpdir(), 'claude-failover-demo-'))
  const socket = join(dir, 'tmux.sock')
  const config = join(dir, 'config.yaml')
  let cleaned = false
  const cleanup = async () => {
    if (cleaned || options.keep) return
    cleaned = true
    await tmuxCall(socket, ['kill-server']).catch(() => {})
    rmSync(dir, {force: true, recursive: true})
  }

  const onSignal = (signal: NodeJS.Signals) => {
    log.info(`demo: ${signal}: cleaning up`)
    void cleanup().finally(() => process.exit(130))
  }

  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    log.info(`demo: sandbox ${dir}`)
    await buildSandbox(dir, socket, config, root, options)
    // The sandbox's config is validated once and cached inside the sandbox, not in ~/.cache.
    const cli = (args: string[]) => runCli(root, [...args, '--config', config, '--json'], {XDG_CACHE_HOME: join(dir, 'cache')})
    const fixed = await cli(['validate-symlinks', '--fix'])
    if (fixed.code !== 0) throw fail('bug', `demo: the sandbox's shared links are broken: ${fixed.stderr.trim()}`)
    log.info(`demo: two accounts (main: 3 turns left, backup: plenty), ${TASKS.length} tasks with dependencies, pool of 3 sessions`)

    let swaps = 0
    let done = 0
    const deadline = started + options.timeoutMs
    while (Date.now() < deadline) {
      const reconcile = await cli(['reconcile'])
      for (const action of ((reconcile.json as {actions?: unknown[]} | null)?.actions ?? [])) log.info(`demo: reconcile: ${describeAction(action)}`)
      const quota = await cli(['quota', 'check'])
      const decision = (quota.json as {decision?: {action: string; message: string}; swap?: {from: string; to: string; skipped: string | null} | null} | null) ?? {}
      if (decision.decision && decision.decision.action !== 'none') log.info(`demo: quota: ${decision.decision.message.replace(/^\[quota\] /, '')}`)
      if (decision.swap && !decision.swap.skipped) {
        swaps += 1
        log.info(`demo: swapped ${decision.swap.from} -> ${decision.swap.to}; every conversation resumes there`)
      }

      const dispatch = await cli(['dispatch'])
      const d = (dispatch.json as {dispatched?: {project: string; task: string; session: string; account: string}[]; finished?: {task: string; session: string}[]} | null) ?? {}
      for (const f of d.finished ?? []) log.info(`demo: done: ${f.task} (${f.session})`)
      for (const x of d.dispatched ?? []) log.info(`demo: dispatched ${x.task} to ${x.session} on ${x.account}`)
      if (dispatch.code !== 0 && dispatch.code !== 75) log.warn(`demo: dispatch exited ${dispatch.code}: ${dispatch.stderr.trim().split('\n').at(-1)}`)
      done = countDone(dir)
      if (done >= TASKS.length) break
      await sleep(options.tickMs)
    }

    const status = await cli(['status'])
    const result: DemoResult = {sandbox: options.keep ? dir : null, seconds: Math.round((Date.now() - started) / 100) / 10, status: status.json, swaps, tasks_done: done, tasks_total: TASKS.length}
    if (done < TASKS.length) log.warn(`demo: stopped after ${result.seconds}s with ${done}/${TASKS.length} tasks done`)
    else log.info(`demo: all ${TASKS.length} tasks done in ${result.seconds}s after ${swaps} swap(s)`)
    if (options.keep) log.info(`demo: kept ${dir}; tmux -S ${socket} attach; remove it with: tmux -S ${socket} kill-server; rm -rf ${dir}`)
    return result
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    await cleanup()
  }
}

async function buildSandbox(dir: string, socket: string, config: string, root: string, options: DemoOptions): Promise<void> {
  const {acceptFirstLaunchModals} = await import('../../sim/accept.js')
  const {writeSimControl} = await import('../../sim/control.js')
  for (const d of ['main', 'backup', 'shared/projects', 'shared/file-history', 'shared/session-env', 'invoices/.agent-queue/inbox']) mkdirSync(join(dir, d), {mode: 0o700, recursive: true})
  writeFileSync(
    config,
    [
      '# The demo sandbox: what a real config looks like, on a small scale.',
      'state_dir: ./state',
      `tmux: {socket: ${socket}}`,
      `claude: {binary: ${join(root, 'bin', 'claude-sim')}, args: ["--dangerously-skip-permissions"]}`,
      'accounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]',
      'shared: {root: ./shared}',
      'active_link: ./claude-active',
      'autonomous: {prefix: "demo-", start_index: 1, min: 3, max: 3}',
      'projects: [{name: invoices, path: ./invoices}]',
      // The demo narrates each round's quota check and dispatch, so the runs a limit's StopFailure
      // and a task's Stop start are off (its own loop runs every second).
      'quota: {confirm_polls: 2, reactivate_cooldown: 10s, policy: {check_on_limit: false}}',
      'dispatcher: {on_stop: false}',
      'swap: {stagger: 200ms}',
      'lock: {stale: 10s}',
      '',
    ].join('\n'),
  )
  for (const home of ['main', 'backup']) await acceptFirstLaunchModals(join(dir, home), [dir])
  await writeSimControl(join(dir, 'main'), {turns_left: 3})
  const old = new Date(Date.now() - 10_000)
  for (const task of TASKS) {
    const front = [task.priority ? `priority: ${task.priority}` : '', task.depends ? `depends_on: [${task.depends.join(', ')}]` : ''].filter(Boolean)
    const path = join(dir, 'invoices/.agent-queue/inbox', `${task.id}.md`)
    writeFileSync(path, `${front.length > 0 ? `---\n${front.join('\n')}\n---\n` : ''}${task.prompt}\n`)
    utimesSync(path, old, old)
  }

  // The sandbox's panes run a plain bash: the machine's rc files (slow prompts, pyenv rehash and its
  // lock file) are not part of the demo.
  const conf = join(dir, 'tmux.conf')
  writeFileSync(conf, 'set-option -g default-command "exec bash --noprofile --norc"\n')
  await tmuxCall(socket, ['-f', conf, 'new-session', '-d', '-s', 'demo-operator', '-x', '200', '-y', '50'])
  await tmuxCall(socket, ['set-environment', '-g', 'CLAUDE_SIM_TURN_MS', String(options.turnMs)])
  await tmuxCall(socket, ['set-environment', '-g', 'CLAUDE_SIM_START_MS', '50'])
}

function countDone(dir: string): number {
  try {
    return readdirSync(join(dir, 'invoices/.agent-queue/done')).filter((n) => n.endsWith('.md')).length
  } catch {
    return 0
  }
}

function describeAction(action: unknown): string {
  if (typeof action === 'string') return action
  const a = action as {action?: string; task?: string; session?: string; reason?: string}
  if (a.action === 'finish-task') return `done: ${a.task} (${a.session})`
  return [a.action, a.task, a.session, a.reason].filter(Boolean).join(' ')
}

function runCli(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (code) => {
      let json: unknown = null
      try {
        json = JSON.parse(stdout)
      } catch {
        // A command that failed before printing its document.
      }

      resolve({code: code ?? 1, json, stderr})
    })
  })
}

function tmuxCall(socket: string, args: string[]): Promise<void> {
  const [first, ...rest] = args
  const full = first === '-f' ? ['-S', socket, ...args] : ['-S', socket, first as string, ...rest]
  return new Promise((resolve, reject) => {
    execFile('tmux', full, {timeout: 5000}, (error) => (error ? reject(error) : resolve()))
  })
}

async function requireTmux(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('tmux', ['-V'], {timeout: 5000}, (error) => {
      if (error) reject(fail('unavailable', 'the demo needs tmux, which is not installed here: sudo apt-get install tmux (Debian/Ubuntu), brew install tmux (macOS)'))
      else resolve()
    })
  })
}
