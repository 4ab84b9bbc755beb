// Test scaffolding against real things: temp folders, real tmux on a private socket, the built CLI.
import {execFile, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Config} from '../../src/lib/config.js'

import {parseConfig} from '../../src/lib/config-schema.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = join(ROOT, 'bin', 'run.js')
/** The config every test tmux server starts with: panes run bash without the machine's rc files. */
export const TMUX_CONF = join(ROOT, 'test', 'fixtures', 'tmux.conf')

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'cf-test-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  // A simulated Claude, a hook or a statusline process of a just-killed tmux server may still be
  // writing into the folder while it is removed (ENOTEMPTY, seen once in CI under load): whatever
  // still runs in the folder is a straggler, so it is killed first (again, for a child it forked
  // meanwhile), and the removal is retried for the last writes in flight.
  const cleanup = () => {
    for (let pass = 0; pass < 3; pass++) {
      const left = sandboxProcesses(dir)
      if (left.length === 0) break
      left.forEach((pid) => kill(pid))
    }

    rmSync(dir, {force: true, maxRetries: 10, recursive: true, retryDelay: 100})
  }

  return {cleanup, dir}
}

/** Writes a tree of files: keys are relative paths, values their content. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path)
    mkdirSync(dirname(full), {recursive: true})
    writeFileSync(full, content)
  }
}

export interface Sandbox {
  dir: string
  configPath: string
  config: Config
  socket: string
  cleanup: () => void
}

/**
 * A sandbox: two account homes, a shared root, a state dir, a tmux socket path, and a config file
 * using them. `yaml` is appended to the base config (later keys must not repeat base keys).
 */
export function sandbox(extraYaml = '', options: {pool?: string; lockStale?: string} = {}): Sandbox {
  const {cleanup, dir} = tempDir()
  mkdirSync(join(dir, 'main'))
  mkdirSync(join(dir, 'backup'))
  mkdirSync(join(dir, 'shared'))
  const socket = join(dir, 'tmux.sock')
  const yaml = [
    'state_dir: ./state',
    `tmux: {socket: ${socket}, timeout: 5s}`,
    'accounts:',
    '  - {name: main, home: ./main}',
    '  - {name: backup, home: ./backup}',
    'shared: {root: ./shared}',
    `autonomous: ${options.pool ?? '{prefix: "ccl-auto-", start_index: 11, min: 2, max: 3}'}`,
    `lock: {stale: ${options.lockStale ?? '3s'}}`,
    // Tests drive quota check themselves unless they ask for the check a limit's StopFailure starts.
    ...(/^quota:/m.test(extraYaml) ? [] : ['quota: {policy: {check_on_limit: false}}']),
    // …and dispatch, unless they ask for the pass a task's Stop or `task add` starts.
    ...(/^dispatcher:/m.test(extraYaml) ? [] : ['dispatcher: {on_stop: false, on_add: false}']),
    extraYaml,
  ].join('\n')
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, yaml)
  return {cleanup, config: parseConfig(yaml, configPath), configPath, dir, socket}
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a program as a user would, stdin from `input` (a pipe, never a TTY), killed after a timeout. */
export function runProcess(file: string, args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // vitest sets NODE_ENV=test, which puts oclif in development mode; a real run has none.
    const {NODE_ENV: _ignored, ...inherited} = process.env
    const child = spawn(file, args, {env: {...inherited, NO_COLOR: '1', ...options.env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code: code ?? (signal ? 128 : -1), stderr, stdout})
    })
    child.stdin.end(options.input ?? '')
  })
}

/** Runs the built CLI (`bin/run.js`) and resolves with its exit code and output. */
export function runCli(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], options)
}

/** Runs tmux on a private socket with the tests' config (it applies when the call starts the server). */
export function tmux(socket: string, args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile('tmux', ['-S', socket, '-f', TMUX_CONF, ...args], {timeout: 10_000}, (error, stdout, stderr) => {
      resolve({code: error ? ((error as {code?: number}).code ?? 1) : 0, stderr, stdout})
    })
  })
}

/** Starts a tmux server on `socket` by creating a session outside any pool. */
export async function startTmuxServer(socket: string, keeper = 'keeper'): Promise<void> {
  const result = await tmux(socket, ['new-session', '-d', '-s', keeper, '-x', '200', '-y', '50'])
  if (result.code !== 0) throw new Error(`tmux server did not start: ${result.stderr}`)
}

/**
 * An error that means "not there yet" while another process is still writing: a file or folder not
 * created yet (ENOENT), or a JSON file read half-written (SyntaxError from JSON.parse).
 */
function isNotYet(error: unknown): boolean {
  return error instanceof SyntaxError || (error as NodeJS.ErrnoException | null)?.code === 'ENOENT'
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes. A check that throws a
 * "not yet" error (see isNotYet) is polled again: what it reads is written by another process that
 * may not have got there yet. Any other error fails at once; on timeout the error names the last
 * "not yet" error seen, so a file that never appears says which file.
 */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
      lastError = undefined
    } catch (error) {
      if (!isNotYet(error)) throw error
      lastError = error
    }

    if (Date.now() > deadline) {
      const last = lastError === undefined ? '' : `; the check last threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      throw new Error(`condition not met within ${timeoutMs} ms${last}`, lastError === undefined ? undefined : {cause: lastError})
    }

    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Every process working in the sandbox: its cwd or its environment (CLAUDE_CONFIG_DIR, HOME) is there. */
export function sandboxProcesses(dir: string, marker = ''): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`)
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1')
      if ((cwd.startsWith(dir) || environ.includes(dir)) && environ.includes(marker)) out.push(pid)
    } catch {}
  }

  return out
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
}

/**
 * Waits until the processes working in `dir` (and carrying `marker` in their environment) have
 * exited — hung-up Claude Codes, simulated or real, and their hooks still write into the sandbox for
 * a while — and SIGKILLs those left after `timeoutMs`.
 */
export async function waitForSandboxExit(dir: string, marker = '', timeoutMs = 10_000): Promise<void> {
  const left = sandboxProcesses(dir, marker)
  await waitFor(() => left.every((pid) => !alive(pid)), timeoutMs).catch(() => left.forEach((pid) => kill(pid)))
}
