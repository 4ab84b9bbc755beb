// A lifecycle sandbox: two accounts sharing their transcript folders, one project queue, real tmux
// on a private socket whose server environment sets the simulated claude's turn time, and the
// built CLI. Everything is real except what a test names as a fault.
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {lstatSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'

import {memoryLogger} from '../../src/lib/log.js'
import {tmuxFor} from '../../src/lib/pool.js'
import {queueDir} from '../../src/lib/queue/layout.js'
import {type SignalRecord} from '../../src/lib/signals.js'
import {validateSymlinks} from '../../src/lib/symlinks.js'
import {acceptFirstLaunchModals} from '../../src/sim/accept.js'
import {type CliResult, ROOT, runCli, type Sandbox, sandbox, TMUX_CONF, tmux, waitFor} from '../helpers/env.js'

export const SIM = join(ROOT, 'bin', 'claude-sim')

export interface LifecycleBox extends Sandbox {
  project: string
  cli: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliResult>
  /** Writes a task file into `<state>/`, aged a minute so the inbox scan takes it at once. */
  put: (state: 'inbox' | 'dispatched' | 'done' | 'failed' | 'archive', id: string, content: string) => string
  path: (state: 'inbox' | 'dispatched' | 'done' | 'failed' | 'archive', name: string) => string
  signals: (session: string) => SignalRecord[]
  panes: () => Promise<Map<string, string>>
  startServer: (env?: Record<string, string>) => Promise<void>
  close: () => Promise<void>
}

/** A sandbox with the simulated claude, shared links made, first-launch modals pre-accepted. */
export async function lifecycleBox(extraYaml = '', options: {pool?: string; links?: boolean; lockStale?: string} = {}): Promise<LifecycleBox> {
  const box = sandbox([`claude: {binary: ${SIM}, args: ["--dangerously-skip-permissions"]}`, 'projects: [{name: web, path: ./web}]', extraYaml].join('\n'), {
    ...(options.pool ? {pool: options.pool} : {}),
    ...(options.lockStale ? {lockStale: options.lockStale} : {}),
  })
  const project = join(box.dir, 'web')
  for (const state of ['inbox', 'dispatched', 'done', 'failed', 'archive'] as const) mkdirSync(queueDir(project, state), {recursive: true})
  if (options.links !== false) await validateSymlinks(box.config, {fix: true})
  for (const account of box.config.accounts) await acceptFirstLaunchModals(account.home, [project, box.dir])
  let started = false
  const result: LifecycleBox = {
    ...box,
    cli: (args, env) => runCli([...args, '--config', box.configPath], {env, timeoutMs: 30_000}),
    async close() {
      if (started) await tmux(box.socket, ['kill-server'])
      box.cleanup()
    },
    async panes() {
      const listed = await tmux(box.socket, ['list-panes', '-a', '-F', '#{session_name}\t#{pane_current_command}'])
      return new Map(listed.stdout.split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]))
    },
    path: (state, name) => join(queueDir(project, state), name),
    project,
    put(state, id, content) {
      const file = join(queueDir(project, state), `${id}.md`)
      writeFileSync(file, content)
      const past = new Date(Date.now() - 60_000)
      utimesSync(file, past, past)
      return file
    },
    signals(session) {
      try {
        return readFileSync(join(box.config.stateDir, 'signals', `${session}.jsonl`), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as SignalRecord)
      } catch {
        return []
      }
    },
    async startServer(env = {}) {
      // The server's environment is what every session's shell inherits (the sim's turn time).
      const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`
      await new Promise<void>((resolve, reject) => {
        execFile('tmux', ['-S', box.socket, '-f', TMUX_CONF, 'new-session', '-d', '-s', 'keeper', '-x', '200', '-y', '50'], {env: {...process.env, CLAUDE_SIM_START_MS: '50', PATH: path, ...env}, timeout: 10_000}, (error) =>
          error ? reject(error) : resolve(),
        )
      })
      started = true
    },
  }
  return result
}

/** Waits for a hook record of `event` from `session` (optionally for one conversation). */
export async function waitForSignal(box: LifecycleBox, session: string, event: string, conversation?: string, timeoutMs = 30_000): Promise<SignalRecord> {
  return (await waitFor(() => box.signals(session).find((s) => s.event === event && (!conversation || s.conversation_id === conversation)), timeoutMs)) as SignalRecord
}

/** Every file under `root` with its size, mtime and content hash: a tree to diff. */
export function treeOf(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const info = lstatSync(path)
      if (info.isDirectory()) walk(path)
      else if (info.isSymbolicLink()) out[relative(root, path)] = 'link'
      else out[relative(root, path)] = `${info.size} ${info.mtimeMs} ${info.ino} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12)}`
    }
  }

  walk(root)
  return out
}

/** Service deps for tests: the sandbox's tmux, a logger that keeps its lines, a clock. */
export function serviceDeps(box: Sandbox, now: () => Date = () => new Date()) {
  return {log: memoryLogger(), now, tmux: tmuxFor(box.config)}
}

/** JSON of a CLI run that must have exited 0. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}
