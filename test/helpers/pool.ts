// A working pool for end-to-end tests: the simulated claude, two pre-accepted account homes with
// their shared links, a project, a tmux server on a private socket with an operator session.
import {mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {readStateSnapshot, withStateLock} from '../../src/lib/lock.js'
import {readSignals, type SignalRecord} from '../../src/lib/signals.js'
import {acceptFirstLaunchModals} from '../../src/sim/accept.js'
import {ROOT, runCli, type Sandbox, sandbox, startTmuxServer, tmux, waitFor, waitForSandboxExit} from './env.js'

export const SIM = join(ROOT, 'bin', 'claude-sim')

export interface Pool extends Sandbox {
  project: string
  inbox: string
  cli: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli>
  addTask: (id: string, body: string, frontmatter?: string) => void
  signals: (session: string) => Promise<SignalRecord[]>
  pane: (session: string) => Promise<string>
  stop: () => Promise<void>
}

/** Builds a pool sandbox; `turnMs` is how long each simulated turn works. */
export async function makePool(options: {turnMs?: number; extraYaml?: string; pool?: string; lockStale?: string} = {}): Promise<Pool> {
  const box = sandbox(
    [
      `claude: {binary: ${SIM}, args: ["--dangerously-skip-permissions"]}`,
      'projects: [{name: proj, path: ./proj}]',
      'swap: {stagger: 0s}',
      options.extraYaml ?? '',
    ].join('\n'),
    {pool: options.pool ?? '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 3}', ...(options.lockStale ? {lockStale: options.lockStale} : {})},
  )
  const project = join(box.dir, 'proj')
  const inbox = join(project, '.agent-queue', 'inbox')
  mkdirSync(inbox, {recursive: true})
  for (const dir of ['projects', 'file-history', 'session-env']) mkdirSync(join(box.dir, 'shared', dir), {recursive: true})
  for (const home of ['main', 'backup']) await acceptFirstLaunchModals(join(box.dir, home), [box.dir])
  const fixed = await runCli(['validate-symlinks', '--fix', '--config', box.configPath])
  if (fixed.code !== 0) throw new Error(`validate-symlinks --fix failed: ${fixed.stderr}`)
  await startTmuxServer(box.socket, 'ccl-0')
  await tmux(box.socket, ['set-environment', '-g', 'CLAUDE_SIM_TURN_MS', String(options.turnMs ?? 300)])
  await tmux(box.socket, ['set-environment', '-g', 'CLAUDE_SIM_START_MS', '50'])
  return {
    ...box,
    addTask: (id, body, frontmatter) => dropTask(inbox, id, body, frontmatter),
    cli: (args, env) => runCli([...args, '--config', box.configPath], {env}),
    inbox,
    pane: async (session) => (await tmux(box.socket, ['capture-pane', '-p', '-J', '-t', `=${session}:`])).stdout,
    project,
    signals: (session) => readSignals(box.config.stateDir, session, 500),
    async stop() {
      await tmux(box.socket, ['kill-server'])
      // A hung-up simulated Claude still runs its SessionEnd hooks, which write into the sandbox for
      // seconds on a loaded machine: removing it meanwhile fails (ENOTEMPTY). Wait for them to end.
      await waitForSandboxExit(box.dir, '', 30_000)
      box.cleanup()
    },
  }
}

/** Drops a task file into an inbox, old enough to pass the settle rule (delivered, not being written). */
export function dropTask(inbox: string, id: string, body: string, frontmatter?: string): void {
  const path = join(inbox, `${id}.md`)
  writeFileSync(path, frontmatter ? `---\n${frontmatter}\n---\n${body}` : body)
  const old = new Date(Date.now() - 10_000)
  utimesSync(path, old, old)
}

/**
 * Shows a pane fixture in a new session (`cat`, then sleep) and waits until its last line is on the
 * screen: a pane read before tmux has drawn all of the file would miss what the test is about.
 */
export async function showPaneFixture(pool: Pool, session: string, file: string): Promise<void> {
  const last = readFileSync(file, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean).at(-1) ?? ''
  await tmux(pool.socket, ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', `cat '${file}'; sleep 600`])
  await waitFor(async () => (await pool.pane(session)).includes(last))
}

/** Every user prompt recorded in any transcript under the shared projects root. */
export function transcriptPrompts(pool: Pool): {conversation: string; text: string}[] {
  const out: {conversation: string; text: string}[] = []
  const root = join(pool.dir, 'shared', 'projects')
  for (const dir of readdirSync(root)) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith('.jsonl'))) {
      for (const line of readFileSync(join(root, dir, file), 'utf8').split('\n')) {
        if (!line) continue
        const record = JSON.parse(line) as {type?: string; message?: {content?: unknown}}
        if (record.type !== 'user') continue
        const content = record.message?.content
        const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((c: {text?: string}) => c.text ?? '').join('') : ''
        if (text) out.push({conversation: file.slice(0, -6), text})
      }
    }
  }

  return out
}

/** Waits until the given sessions are recorded as working on tasks whose SessionStart arrived. */
export async function waitStarted(pool: Pool, sessions: string[]): Promise<void> {
  await waitFor(async () => {
    const {state} = await readStateSnapshot(pool.config)
    for (const name of sessions) {
      const conversation = state.sessions[name]?.conversation_id
      if (!conversation) return false
      const signals = await pool.signals(name)
      if (!signals.some((s) => s.event === 'SessionStart' && s.conversation_id === conversation)) return false
    }

    return true
  }, 30_000)
}

/** A pool whose sessions ccl-auto-11 and ccl-auto-12 are mid-task on `main` (long simulated turns). */
export async function workingPool(options: {extraYaml?: string; turnMs?: number; lockStale?: string} = {}): Promise<Pool> {
  const {turnMs, ...rest} = options
  const p = await makePool({turnMs: turnMs ?? 20_000, ...rest})
  p.addTask('alpha', 'first long task')
  p.addTask('beta', 'second long task')
  const dispatched = await p.cli(['dispatch', '--json'])
  if (dispatched.code !== 0 || JSON.parse(dispatched.stdout).dispatched.length !== 2) throw new Error(`dispatch did not start two tasks: ${dispatched.stderr}`)
  await waitStarted(p, ['ccl-auto-11', 'ccl-auto-12'])
  return p
}

/** The conversations a session resumed (SessionStart with source resume), with the home they ran under. */
export async function resumes(p: Pool, session: string): Promise<{conversation: string | null; home: string | null}[]> {
  return (await p.signals(session)).filter((s) => s.event === 'SessionStart' && s.source === 'resume').map((s) => ({conversation: s.conversation_id, home: s.config_dir}))
}

/** Marks both sandbox accounts exhausted far in the future (backup back first, at 10:00). */
export async function exhaustEveryAccount(config: Parameters<typeof withStateLock>[0]): Promise<void> {
  await withStateLock(config, {command: 'test'}, async (tx) => {
    tx.state.accounts.main = {exhausted_until: '2099-01-01T12:00:00.000Z', last_hit: null}
    tx.state.accounts.backup = {exhausted_until: '2099-01-01T10:00:00.000Z', last_hit: null}
    await tx.commit()
  })
}
