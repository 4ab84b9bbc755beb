// The one wrapper around tmux. Every call: an argument array (never a shell), a timeout, the
// configured socket, and an exact target. Every call that changes a session (create, kill, type)
// first asks the `owns` guard, so nothing outside the pool and the dedicated sessions is touched.
import {spawnSync} from 'node:child_process'

import {fail, FailoverError} from './errors.js'

export interface TmuxOptions {
  /** `tmux -S <socket>`; tmux's default server when absent. */
  socket?: string
  timeoutMs: number
  /** Names this process may create, kill or type into. Anything else is refused as a bug. */
  owns: (session: string) => boolean
  binary?: string
  /** Extra leading arguments, e.g. `-f /dev/null` in tests. */
  extraArgs?: string[]
}

export interface SessionInfo {
  name: string
  paneId: string
  panePid: number
  paneDead: boolean
  currentCommand: string
  currentPath: string
  inMode: boolean
  created: number
}

/** Whether a server answers, and its sessions (an empty list when none runs). */
export interface Survey {
  running: boolean
  sessions: SessionInfo[]
}

interface RunResult {
  ok: boolean
  stdout: string
  stderr: string
  noServer: boolean
}

const SEP = '\u001F'
const NO_SERVER = /no server running|error connecting to|server exited unexpectedly|no current client/i
/** Keys that may be sent by name; everything else goes through sendLiteral. */
export const NAMED_KEYS = new Set(['Enter', 'Escape', 'Up', 'Down', 'Left', 'Right', 'Tab', 'BTab', 'C-c', 'C-u', '1', '2', '3'])

/** Exact session target: `=name` (tmux otherwise prefix-matches, so `ccl-1` would hit `ccl-10`). */
export function sessionTarget(name: string): string {
  return `=${name}`
}

/** Exact pane target for pane-level commands: `=name:` (a bare `=name` is "can't find pane"). */
export function paneTarget(name: string): string {
  return `=${name}:`
}

/**
 * Prepares text for `send-keys -l --`: refuses line breaks (they would submit early) and control
 * characters, and escapes a trailing `;`, which tmux's argument parser strips as a command separator
 * even after `-l` and `--` (`\;` is read back as `;`).
 */
export function literalArgument(text: string): string {
  if (/[\r\n]/.test(text)) throw fail('invalidData', 'refusing to type text containing a line break into a pane (it would submit early)')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text)) throw fail('invalidData', 'refusing to type text containing control characters into a pane')
  return text.endsWith(';') ? `${text.slice(0, -1)}\\;` : text
}

/** One step of Tmux.batch. */
export type BatchStep = {session: string} & ({create: NewSessionOptions} | {literal: string} | {key: string})

export interface NewSessionOptions {
  cwd: string
  env?: Record<string, string>
  width?: number
  height?: number
  command?: string
}

function newSessionArgs(name: string, options: NewSessionOptions): string[] {
  const args = ['new-session', '-d', '-s', name, '-c', options.cwd, '-x', String(options.width ?? 200), '-y', String(options.height ?? 50), '-P', '-F', '#{pane_id}']
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('-e', `${key}=${value}`)
  if (options.command) args.push(options.command)
  return args
}

/** Commands joined into one tmux command list (`a ; b ; c`). */
function chain(commands: string[][]): string[] {
  return commands.flatMap((command, i) => (i === 0 ? command : [';', ...command]))
}

/** A tmux client bound to one server socket. */
export class Tmux {
  constructor(private readonly options: TmuxOptions) {}

  /** Every session on the server with its pane facts; an empty list when no server runs. */
  async listSessions(): Promise<SessionInfo[]> {
    return (await this.survey()).sessions
  }

  /** Whether a server answers, and its sessions, in one tmux call. */
  async survey(): Promise<Survey> {
    const format = ['#{session_name}', '#{pane_id}', '#{pane_pid}', '#{pane_dead}', '#{pane_current_command}', '#{pane_current_path}', '#{pane_in_mode}', '#{session_created}'].join(SEP)
    const result = await this.run(['list-panes', '-a', '-F', format])
    if (!result.ok) {
      if (result.noServer) return {running: false, sessions: []}
      throw this.failure('list sessions', result)
    }

    const seen = new Map<string, SessionInfo>()
    for (const line of result.stdout.split('\n')) {
      const [name, paneId, pid, dead, command, path, mode, created] = line.split(SEP)
      if (!name || seen.has(name)) continue
      seen.set(name, {
        created: Number(created),
        currentCommand: command ?? '',
        currentPath: path ?? '',
        inMode: mode === '1',
        name,
        paneDead: dead === '1',
        paneId: paneId ?? '',
        panePid: Number(pid),
      })
    }

    return {running: true, sessions: [...seen.values()]}
  }

  /** True when a session of exactly this name exists (false when no server runs). */
  async hasSession(name: string): Promise<boolean> {
    const result = await this.run(['has-session', '-t', sessionTarget(name)])
    if (result.ok) return true
    if (result.noServer || /can't find session|no such session/i.test(result.stderr)) return false
    throw this.failure(`check session ${name}`, result)
  }

  /** True when a tmux server answers on the socket. */
  async serverRunning(): Promise<boolean> {
    const result = await this.run(['list-sessions', '-F', '#{session_name}'])
    if (result.ok) return true
    if (result.noServer) return false
    throw this.failure('reach the tmux server', result)
  }

  /** Throws exit 69 with a clear line when no server runs (a oneshot must never start one). */
  async requireServer(): Promise<void> {
    if (!(await this.serverRunning())) {
      const where = this.options.socket ? `on ${this.options.socket}` : 'on the default socket'
      throw fail('unavailable', `no tmux server is running ${where}; start it first (systemctl --user start claude-failover-tmux.service, or tmux -S <socket> new-session -d)`)
    }
  }

  /**
   * Creates a detached session running the user's shell in `cwd` with `env` set.
   * Refuses names outside the pool. Needs a running server unless `startServer` is set.
   */
  async newSession(
    name: string,
    options: {cwd: string; env?: Record<string, string>; width?: number; height?: number; startServer?: boolean; command?: string; serverChecked?: boolean},
  ): Promise<string> {
    this.guard(name)
    // new-session would start a server when none runs; a oneshot's server would die with its unit.
    if (!options.startServer && !options.serverChecked) await this.requireServer()
    const result = await this.run(newSessionArgs(name, options))
    if (!result.ok) throw this.failure(`create session ${name}`, result)
    return result.stdout.trim()
  }

  /** Kills a session; true when it existed. */
  async killSession(name: string): Promise<boolean> {
    this.guard(name)
    const result = await this.run(['kill-session', '-t', sessionTarget(name)])
    if (result.ok) return true
    if (result.noServer || /can't find session|no such session/i.test(result.stderr)) return false
    throw this.failure(`kill session ${name}`, result)
  }

  /** Types `text` literally (no key names, no submission) into the session's pane. */
  async sendLiteral(name: string, text: string, options: {fresh?: boolean} = {}): Promise<void> {
    this.guard(name)
    const argument = literalArgument(text)
    // A session created a moment ago cannot be in copy mode: skip asking.
    if (!options.fresh) await this.leaveCopyMode(name)
    const result = await this.run(['send-keys', '-t', paneTarget(name), '-l', '--', argument])
    if (!result.ok) throw this.failure(`type into ${name}`, result)
  }

  /** Sends one named key (Enter, Escape, Down…) from a fixed list. */
  async sendKey(name: string, key: string): Promise<void> {
    this.guard(name)
    if (!NAMED_KEYS.has(key)) throw fail('bug', `refusing to send unknown key name ${JSON.stringify(key)}`)
    const result = await this.run(['send-keys', '-t', paneTarget(name), key])
    if (!result.ok) throw this.failure(`send ${key} to ${name}`, result)
  }

  /** Types a line and submits it with Enter. */
  async sendLine(name: string, text: string, options: {fresh?: boolean} = {}): Promise<void> {
    await this.sendLiteral(name, text, options)
    await this.sendKey(name, 'Enter')
  }

  /** The pane's last `lines` lines with wrapped lines joined (`capture-pane -p -J`). */
  async capturePane(name: string, lines: number): Promise<string> {
    const result = await this.run(['capture-pane', '-p', '-J', '-t', paneTarget(name), '-S', String(-Math.abs(lines))])
    if (!result.ok) throw this.failure(`read the pane of ${name}`, result)
    return result.stdout
  }

  /**
   * Captures many panes with one tmux process (commands chained with `;`, each capture preceded by
   * a random marker line), which costs one spawn instead of one per pane. A pane that vanished
   * ends tmux's command list early; the panes after it are then captured one by one.
   */
  async capturePanes(names: string[], lines: number): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    if (names.length === 0) return out
    const marker = `@@cf-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}@@`
    const args: string[] = []
    for (const [i, name] of names.entries()) {
      if (i > 0) args.push(';')
      args.push('display-message', '-p', `${marker} ${i}`, ';', 'capture-pane', '-p', '-J', '-t', paneTarget(name), '-S', String(-Math.abs(lines)))
    }

    const result = await this.run(args)
    const parts = result.stdout.split(`${marker} `)
    for (const part of parts.slice(1)) {
      const newline = part.indexOf('\n')
      const index = Number(newline === -1 ? part : part.slice(0, newline))
      const name = names[index]
      if (name !== undefined) out.set(name, newline === -1 ? '' : part.slice(newline + 1).replace(/\n$/, ''))
    }

    for (const name of names) {
      if (!out.has(name)) out.set(name, await this.capturePane(name, lines).catch(() => ''))
    }

    return out
  }

  /**
   * Kills sessions with two tmux processes whatever their number: one listing which exist, one
   * killing those (`kill-session` chained with `;`). Returns the names that existed. tmux stops a
   * command list at its first failure, so if one vanished in between the rest are killed one by one.
   */
  async killSessions(names: string[]): Promise<string[]> {
    for (const name of names) this.guard(name)
    const live = new Set((await this.survey()).sessions.map((s) => s.name))
    const present = names.filter((name) => live.has(name))
    if (present.length === 0) return []
    const result = await this.run(chain(present.map((name) => ['kill-session', '-t', sessionTarget(name)])))
    if (!result.ok) for (const name of present) await this.killSession(name)
    return present
  }

  /**
   * Runs several session changes with one tmux process, in order, stopping at the first that fails
   * (tmux's rule for a `;`-chained list): each a {session, step}, where a step creates the session
   * (as newSession, on a server known to run), types a literal line (as sendLiteral into a session
   * this list created or one known not to be in copy mode), or sends a named key. One process instead
   * of one per step: a swap of 20 sessions made 80 tmux round trips, each a fork, an exec and a
   * connect costing 10–80 ms on a loaded 2-core machine. Returns null when every step ran, else
   * tmux's complaint.
   */
  async batch(steps: BatchStep[]): Promise<string | null> {
    if (steps.length === 0) return null
    const commands = steps.map((step) => {
      this.guard(step.session)
      if ('create' in step) return newSessionArgs(step.session, step.create)
      if ('literal' in step) return ['send-keys', '-t', paneTarget(step.session), '-l', '--', literalArgument(step.literal)]
      if (!NAMED_KEYS.has(step.key)) throw fail('bug', `refusing to send unknown key name ${JSON.stringify(step.key)}`)
      return ['send-keys', '-t', paneTarget(step.session), step.key]
    })
    const result = await this.run(chain(commands))
    return result.ok ? null : this.failure(`run ${commands.length} tmux commands`, result).message
  }

  /** Stops the whole server (tests and the demo only: it owns its private socket). */
  async killServer(): Promise<void> {
    await this.run(['kill-server'])
  }

  private async leaveCopyMode(name: string): Promise<void> {
    const result = await this.run(['display-message', '-p', '-t', paneTarget(name), '#{pane_in_mode}'])
    if (result.ok && result.stdout.trim() === '1') await this.run(['send-keys', '-t', paneTarget(name), '-X', 'cancel'])
  }

  private guard(name: string): void {
    if (!this.options.owns(name)) {
      throw fail('bug', `refusing to touch tmux session ${JSON.stringify(name)}: it is neither in the pool nor a dedicated session`)
    }
  }

  private failure(action: string, result: RunResult): FailoverError {
    if (result.noServer) return fail('unavailable', `cannot ${action}: no tmux server is running${this.options.socket ? ` on ${this.options.socket}` : ''}`)
    return fail('unavailable', `cannot ${action}: tmux said: ${result.stderr.trim().split('\n')[0] || 'nothing'}`)
  }

  private async run(args: string[]): Promise<RunResult> {
    const prefix = [...(this.options.extraArgs ?? []), ...(this.options.socket ? ['-S', this.options.socket] : [])]
    const result = await runBounded(this.options.binary ?? 'tmux', [...prefix, ...args], this.options.timeoutMs)
    if (result.error === 'ENOENT') throw fail('unavailable', 'tmux is not installed (Debian/Ubuntu: sudo apt-get install tmux)')
    if (result.error === 'timeout') throw fail('unavailable', `tmux did not answer within ${this.options.timeoutMs} ms (tmux ${args[0]}); is the server hung?`)
    const ok = result.code === 0
    return {noServer: !ok && NO_SERVER.test(result.stderr), ok, stderr: result.stderr, stdout: result.stdout.replace(/\n$/, '')}
  }

}

/**
 * Runs a program with an argument array (never a shell), no stdin, and a hard deadline: past
 * `timeoutMs` it is killed with SIGKILL, so a hung tmux cannot hang a timer run. Synchronous on
 * purpose: a tmux client answers in milliseconds, the commands run their tmux calls one after the
 * other anyway, and spawnSync needs none of the stream and socket machinery an asynchronous child's
 * pipes load, which was a tenth of a timer run's start-up CPU. (Not execa either, for the same
 * reason: see VERSION.md 0.2.0.) Each call blocks the process at most `timeoutMs` (tmux.timeout,
 * never 0: see config-schema.ts), far below the lock's stale time; a run of several blocked calls
 * delays the lock's refresh longer, and the lock's fencing makes even that harmless.
 */
export async function runBounded(file: string, args: string[], timeoutMs: number): Promise<{code: number | null; stdout: string; stderr: string; error?: 'ENOENT' | 'timeout' | string}> {
  const result = spawnSync(file, args, {encoding: 'utf8', killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs})
  const output = {code: result.status, stderr: result.stderr ?? '', stdout: result.stdout ?? ''}
  const error = result.error as NodeJS.ErrnoException | undefined
  if (error?.code === 'ETIMEDOUT') return {...output, error: 'timeout'}
  if (error) return {...output, code: null, error: error.code ?? error.message}
  return output
}
