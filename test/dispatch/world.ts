// An end-to-end world for dispatch: a sandbox config whose `claude` is the simulated one, account
// homes with the first-launch modals accepted and the shared links in place, project queues as
// real folders, and (optionally) a real tmux server on the sandbox's private socket.
import {execFile} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {queueDir} from '../../src/lib/queue/layout.js'
import {type SignalRecord} from '../../src/lib/signals.js'
import {acceptFirstLaunchModals} from '../../src/sim/accept.js'
import {type CliResult, ROOT, runCli, type Sandbox, sandbox, TMUX_CONF, tmux, waitFor} from '../helpers/env.js'

export const SIM_BIN = join(ROOT, 'bin', 'claude-sim')
export const STATES = ['inbox', 'dispatched', 'done', 'failed', 'archive'] as const

export interface WorldOptions {
  projects?: string[]
  /** The autonomous pool, as YAML. */
  pool?: string
  /** CLAUDE_SIM_TURN_MS for every simulated claude started in the pool. */
  turnMs?: number
  /** Start the tmux server (default true). */
  server?: boolean
}

export interface World {
  box: Sandbox
  dir: string
  socket: string
  projectPath: (name: string) => string
  /** Writes `<project>/.agent-queue/<state>/<id>.md`, its mtime `ageSeconds` in the past (settled). */
  put: (project: string, id: string, content: string | Buffer, options?: {state?: (typeof STATES)[number]; ageSeconds?: number}) => string
  /** Runs the built CLI with this world's config. */
  cli: (args: string[], options?: {env?: NodeJS.ProcessEnv; timeoutMs?: number}) => Promise<CliResult>
  /** `dispatch --json` (plus `args`), parsed; fails the test on any exit but 0. */
  dispatch: (args?: string[]) => Promise<DispatchJson>
  /** The folders holding an entry `<id>.md` (any kind of file) in a project. */
  whereIs: (project: string, id: string) => string[]
  /** Every user prompt (string content) in every transcript of every account, with its file. */
  userPrompts: () => {file: string; content: string}[]
  signals: (session: string) => SignalRecord[]
  /** Waits for the Stop hook of a conversation. */
  waitForStop: (session: string, conversationId: string, timeoutMs?: number) => Promise<void>
  /** Names of the sessions on the server. */
  sessions: () => Promise<string[]>
  close: () => Promise<void>
}

export interface DispatchJson {
  dispatched: {project: string; task: string; session: string; conversation_id: string; account: string}[]
  blocked: {project: string; task: string; reason: string}[]
  invalid: {project: string; task: string; reason: string}[]
  finished: {project: string; task: string; session: string}[]
  recovered: {project: string; task: string; session: string; outcome: string}[]
  paused_until: string | null
  dry_run: boolean
  warnings: string[]
}

/** Starts the tmux server with a clean environment: the sims it runs must not see vitest's. */
function startServer(socket: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-S', socket, '-f', TMUX_CONF, 'new-session', '-d', '-s', 'keeper', '-x', '200', '-y', '50'], {env, timeout: 10_000}, (error, _stdout, stderr) => {
      if (error) reject(new Error(`tmux server did not start: ${stderr}`))
      else resolve()
    })
  })
}

/** Builds a world; call close() in afterEach/afterAll. */
export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const projects = options.projects ?? ['app', 'infra']
  const box = sandbox(
    [
      `claude: {binary: ${JSON.stringify(SIM_BIN)}, args: ["--dangerously-skip-permissions"]}`,
      `projects: [${projects.map((p) => `{name: ${p}, path: ./projects/${p}}`).join(', ')}]`,
    ].join('\n'),
    {pool: options.pool ?? '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 3}'},
  )
  const {dir, socket} = box
  const projectPath = (name: string) => join(dir, 'projects', name)
  for (const project of projects) for (const state of STATES) mkdirSync(queueDir(projectPath(project), state), {recursive: true})

  // The account homes share their transcript roots (what validate-symlinks checks), and trust the
  // whole sandbox, so the simulated claude opens straight at its prompt.
  for (const shared of box.config.shared.dirs) mkdirSync(join(box.config.shared.root, shared), {recursive: true})
  for (const account of box.config.accounts) {
    for (const shared of box.config.shared.dirs) symlinkSync(join(box.config.shared.root, shared), join(account.home, shared))
    await acceptFirstLaunchModals(account.home, [dir])
  }

  const {NODE_ENV: _n, VITEST: _v, VITEST_POOL_ID: _p, VITEST_WORKER_ID: _w, TMUX: _t, ...inherited} = process.env
  const env = {...inherited, CLAUDE_SIM_START_MS: '50', CLAUDE_SIM_TURN_MS: String(options.turnMs ?? 300)}
  if (options.server !== false) await startServer(socket, env)

  const cli = (args: string[], o: {env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}) => runCli([...args, '--config', box.configPath], {env: o.env, timeoutMs: o.timeoutMs ?? 30_000})
  const signals = (session: string): SignalRecord[] => {
    const file = join(box.config.stateDir, 'signals', `${session}.jsonl`)
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SignalRecord)
  }

  return {
    box,
    cli,
    async close() {
      await tmux(socket, ['kill-server'])
      box.cleanup()
    },
    dir,
    async dispatch(args: string[] = []) {
      const result = await cli(['dispatch', '--json', ...args])
      if (result.code !== 0) throw new Error(`dispatch exited ${result.code}: ${result.stderr}`)
      return JSON.parse(result.stdout) as DispatchJson
    },
    projectPath,
    put(project, id, content, o = {}) {
      const file = join(queueDir(projectPath(project), o.state ?? 'inbox'), `${id}.md`)
      writeFileSync(file, content)
      const when = new Date(Date.now() - (o.ageSeconds ?? 60) * 1000)
      utimesSync(file, when, when)
      return file
    },
    async sessions() {
      const listed = await tmux(socket, ['list-sessions', '-F', '#{session_name}'])
      return listed.code === 0 ? listed.stdout.split('\n').filter(Boolean).sort() : []
    },
    signals,
    socket,
    userPrompts() {
      const root = join(box.config.shared.root, 'projects')
      const out: {file: string; content: string}[] = []
      if (!existsSync(root)) return out
      for (const folder of readdirSync(root)) {
        for (const name of readdirSync(join(root, folder)).filter((n) => n.endsWith('.jsonl'))) {
          const file = join(root, folder, name)
          for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
            const record = JSON.parse(line) as {type?: string; message?: {role?: string; content?: unknown}}
            if (record.type === 'user' && typeof record.message?.content === 'string') out.push({content: record.message.content, file})
          }
        }
      }

      return out
    },
    async waitForStop(session, conversationId, timeoutMs = 60_000) {
      await waitFor(() => signals(session).some((s) => s.event === 'Stop' && s.conversation_id === conversationId), timeoutMs)
    },
    whereIs(project, id) {
      return STATES.filter((state) => {
        return lstatSync(join(queueDir(projectPath(project), state), `${id}.md`), {throwIfNoEntry: false}) !== undefined
      })
    },
  }
}
