// The real-binary test bed: the pinned Claude Code (installed by test/global-setup.ts into a cache
// folder, never a dependency of the tool), a fake Anthropic API on loopback, two account homes
// prepared by `claude-failover homes --fix` and logged in to the fake API with a gateway token each,
// their shared links made by `validate-symlinks --fix`, and a private tmux server whose panes run
// Claude Code offline.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {readSignals, type SignalRecord} from '../../src/lib/signals.js'
import {runCli, type Sandbox, sandbox, TMUX_CONF, waitFor, waitForSandboxExit} from '../helpers/env.js'
import {dropTask} from '../helpers/pool.js'
import {type FakeApi, gatewayToken, type Script, startFakeApi} from './fake-api.js'

/**
 * A real-binary test's deadline: each starts Claude Code (a 370 MB native binary) several times, which
 * takes seconds each on a loaded 2-core machine; its own waits give up first with what they waited for.
 */
export const REAL_TEST_MS = 240_000

/** The real binary's path; a failed install fails every real-binary test with its reason. */
export function realClaudeBinary(): string {
  const binary = process.env.CF_REAL_CLAUDE
  if (!binary) throw new Error(process.env.CF_REAL_CLAUDE_ERROR ?? 'the real Claude Code was not installed by test/global-setup.ts')
  return binary
}

/** The version the binary reports, e.g. `2.1.328`. */
export function realClaudeVersion(): string {
  return execFileSync(realClaudeBinary(), ['--version'], {encoding: 'utf8'}).trim().split(' ')[0] as string
}

export interface RealPool extends Sandbox {
  api: FakeApi
  project: string
  inbox: string
  cli: (args: string[]) => ReturnType<typeof runCli>
  addTask: (id: string, body: string, frontmatter?: string) => void
  signals: (session: string) => Promise<SignalRecord[]>
  pane: (session: string) => Promise<string>
  tmux: (args: string[]) => string
  /** Kills a session and waits until its Claude Code has exited (it writes its files on the way out). */
  close: (session: string) => Promise<void>
  /**
   * Runs `claude <args>` by hand in a new session outside the pool (a dedicated session, a probe),
   * under the home `<sandbox>/<account>` (main, backup, or one a test made beside them).
   */
  launchBy: (session: string, account: string, args: string[], cwd?: string) => void
  stop: () => Promise<void>
}

export interface RealPoolOptions {
  script?: Script
  extraYaml?: string
  pool?: string
  /** Homes left as they are (no `homes --fix`): to see first-launch screens. */
  unprepared?: ('main' | 'backup')[]
  /** CLAUDE_CODE_MAX_RETRIES for the panes (0: a failed request ends the turn at once). */
  maxRetries?: number
}

/** Claude Code's environment in the panes: offline, no updater, root allowed to bypass permissions. */
function paneEnvironment(dir: string, maxRetries: number): Record<string, string> {
  return {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: String(maxRetries),
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_TELEMETRY: '1',
    // Claude Code writes caches under $HOME: keep them inside the sandbox.
    HOME: join(dir, 'user-home'),
    IS_SANDBOX: '1',
  }
}

/** Merges `extra` into a home's settings.json (what a login would leave: here, the fake API's address and token). */
function addToSettings(home: string, extra: Record<string, unknown>): void {
  const path = join(home, 'settings.json')
  let current: Record<string, unknown> = {}
  try {
    current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch {}

  writeFileSync(path, JSON.stringify({...current, ...extra}, null, 2))
}

/** Builds a pool that runs the real Claude Code against a fresh fake API. */
export async function makeRealPool(options: RealPoolOptions = {}): Promise<RealPool> {
  const binary = realClaudeBinary()
  const api = await startFakeApi(options.script)
  const box = sandbox(
    [`claude: {binary: ${binary}, args: ["--dangerously-skip-permissions"]}`, 'projects: [{name: proj, path: ./proj}]', 'swap: {stagger: 0s}', options.extraYaml ?? ''].join('\n'),
    {pool: options.pool ?? '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 3}'},
  )
  const project = join(box.dir, 'proj')
  const inbox = join(project, '.agent-queue', 'inbox')
  mkdirSync(inbox, {recursive: true})
  mkdirSync(join(box.dir, 'user-home'))
  for (const dir of ['projects', 'file-history', 'session-env']) mkdirSync(join(box.dir, 'shared', dir), {recursive: true})
  for (const account of ['main', 'backup']) {
    addToSettings(join(box.dir, account), {env: {ANTHROPIC_AUTH_TOKEN: gatewayToken(account), ANTHROPIC_BASE_URL: api.url}})
  }

  const cli = (args: string[]) => runCli([...args, '--config', box.configPath], {timeoutMs: 60_000})
  const linked = await cli(['validate-symlinks', '--fix'])
  if (linked.code !== 0) throw new Error(`validate-symlinks --fix failed: ${linked.stderr}`)
  for (const account of ['main', 'backup'] as const) {
    if (options.unprepared?.includes(account)) continue
    const prepared = await cli(['homes', '--fix', '--account', account])
    if (prepared.code !== 0) throw new Error(`homes --fix failed: ${prepared.stderr}`)
  }

  const env = {...process.env, ...paneEnvironment(box.dir, options.maxRetries ?? 0)}
  for (const name of Object.keys(env)) if (name.startsWith('ANTHROPIC_') || name === 'CLAUDECODE') delete env[name]
  const tmuxSync = (args: string[]): string => execFileSync('tmux', ['-S', box.socket, '-f', TMUX_CONF, ...args], {encoding: 'utf8', env, timeout: 10_000})
  // The server inherits this environment: every pane (pool or not) runs Claude Code offline.
  tmuxSync(['new-session', '-d', '-s', 'ccl-0', '-x', '200', '-y', '50'])

  return {
    ...box,
    addTask: (id, body, frontmatter) => dropTask(inbox, id, body, frontmatter),
    api,
    cli,
    async close(session) {
      const marker = `CLAUDE_FAILOVER_SESSION=${session}\u0000`
      tmuxSync(['kill-session', '-t', `=${session}`])
      await waitForSandboxExit(box.dir, marker)
    },
    inbox,
    launchBy(session, account, args, cwd = project) {
      tmuxSync(['new-session', '-d', '-s', session, '-x', '200', '-y', '50', '-c', cwd])
      const quoted = [binary, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
      tmuxSync(['send-keys', '-t', `=${session}:`, '-l', '--', `CLAUDE_CONFIG_DIR=${join(box.dir, account)} CLAUDE_FAILOVER_SESSION=${session} CLAUDE_FAILOVER_STATE_DIR=${box.config.stateDir} ${quoted}`])
      tmuxSync(['send-keys', '-t', `=${session}:`, 'Enter'])
    },
    async pane(session) {
      return tmuxSync(['capture-pane', '-p', '-J', '-t', `=${session}:`])
    },
    project,
    signals: (session) => readSignals(box.config.stateDir, session, 500),
    async stop() {
      try {
        tmuxSync(['kill-server'])
      } catch {}

      await waitForSandboxExit(box.dir)

      await api.close()
      box.cleanup()
    },
    tmux: tmuxSync,
  }
}

/** Waits until a session's pane shows `pattern` (the real binary draws asynchronously). */
export async function waitForPane(pool: RealPool, session: string, pattern: RegExp | string, timeoutMs = 60_000): Promise<string> {
  let last = ''
  try {
    return await waitFor(async () => {
      last = await pool.pane(session)
      return (typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last)) ? last : ''
    }, timeoutMs)
  } catch {
    throw new Error(`${session} never showed ${String(pattern)} within ${timeoutMs} ms; its pane:\n${last}`)
  }
}

/** Waits for a hook record of `event` on `session` (optionally matching `where`). */
export async function waitForSignal(pool: RealPool, session: string, event: string, where: (s: SignalRecord) => boolean = () => true, timeoutMs = 60_000): Promise<SignalRecord> {
  let seen: SignalRecord[] = []
  try {
    return (await waitFor(async () => {
      seen = await pool.signals(session)
      return seen.find((s) => s.event === event && where(s)) ?? null
    }, timeoutMs)) as SignalRecord
  } catch {
    throw new Error(`${session} recorded no ${event} within ${timeoutMs} ms; its records: ${JSON.stringify(seen.map((s) => [s.event, s.error ?? s.source]))}\npane:\n${await pool.pane(session).catch(() => '')}`)
  }
}

/** The session state.json gives a pool session. */
export async function sessionState(pool: RealPool, session: string): Promise<unknown> {
  return (await readStateSnapshot(pool.config)).state.sessions[session]
}

/** Every transcript record of a conversation (the shared projects root), parsed. */
export function transcriptRecords(pool: RealPool, conversation: string): Record<string, unknown>[] {
  const root = join(pool.dir, 'shared', 'projects')
  for (const dir of readdirSync(root)) {
    const file = join(root, dir, `${conversation}.jsonl`)
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    } catch {}
  }

  return []
}

