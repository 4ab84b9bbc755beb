// The one command line typed into a pool session to start Claude Code on a task (SPEC §3), built
// only from validated tokens, each single-quoted for a POSIX shell. The prompt itself is never
// typed: the shell reads it from a file (`"$(cat -- '<file>')"`), so nothing in a task body can
// become a keystroke, a shell word or a tmux key name.
import {join} from 'node:path'

import type {Config} from './config.js'
import type {HookTrigger} from './event-run.js'

import {fail} from './errors.js'
import {writeFileAtomic} from './fs-atomic.js'
import {readFile} from './fs.js'
import {packageRoot} from './paths.js'
import {isConversationId} from './signals.js'

const SAFE_NAME = /^[A-Za-z0-9._-]+$/
export const HOOKS_FILE = 'hooks-settings.json'

/** Single-quotes a token for sh; refuses what could break the line (newlines, control characters). */
export function shellQuote(token: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001F\u007F]/.test(token)) throw fail('invalidData', `refusing to put a control character into a launch line: ${JSON.stringify(token.slice(0, 60))}`)
  return `'${token.replaceAll("'", "'\\''")}'`
}

function name(token: string, what: string): string {
  if (!SAFE_NAME.test(token) || token === '.' || token === '..') throw fail('invalidData', `invalid ${what} ${JSON.stringify(token)} for a launch line`)
  return token
}

function absolute(path: string, what: string): string {
  if (!path.startsWith('/')) throw fail('invalidData', `${what} must be an absolute path, got ${JSON.stringify(path)}`)
  return shellQuote(path)
}

export interface LaunchSpec {
  session: string
  account: {name: string; home: string}
  cwd: string
  /** `project/task_id` for CLAUDE_FAILOVER_TASK; null for a resumed dedicated session. */
  task: {project: string; id: string} | null
  conversationId: string
  /** new: `--session-id <uuid> -- "$(cat -- prompt)"`; blank: `--session-id <uuid>` (no prompt); resume: `--resume <uuid>`. */
  mode: {kind: 'new'; promptFile: string} | {kind: 'blank'} | {kind: 'resume'}
}

/** The launch line for `spec` (no trailing newline; the caller sends Enter separately). */
export function buildLaunchLine(config: Config, spec: LaunchSpec): string {
  if (!isConversationId(spec.conversationId)) throw fail('invalidData', `invalid conversation id ${JSON.stringify(spec.conversationId)}`)
  const env = [
    `CLAUDE_CONFIG_DIR=${absolute(spec.account.home, 'the account home')}`,
    `CLAUDE_FAILOVER_SESSION=${shellQuote(name(spec.session, 'session name'))}`,
    `CLAUDE_FAILOVER_STATE_DIR=${absolute(config.stateDir, 'state_dir')}`,
    ...(spec.task ? [`CLAUDE_FAILOVER_TASK=${shellQuote(`${name(spec.task.project, 'project name')}/${name(spec.task.id, 'task id')}`)}`] : []),
  ]
  const claude = [config.claude.binary, ...config.claude.args].map((token) => shellQuote(token))
  const settings = ['--settings', absolute(hooksSettingsPath(config), 'the hooks settings file')]
  const conversation =
    spec.mode.kind === 'new'
      ? // `--` ends Claude Code's options: a prompt that begins with `-` (a Markdown list) is the
        // prompt, not `error: unknown option '- Fix …'` (seen with the real 2.1.328).
        ['--session-id', shellQuote(spec.conversationId), '--', `"$(cat -- ${absolute(spec.mode.promptFile, 'the prompt file')})"`]
      : spec.mode.kind === 'blank'
        ? ['--session-id', shellQuote(spec.conversationId)]
        : ['--resume', shellQuote(spec.conversationId)]
  return [`cd -- ${absolute(spec.cwd, 'the working directory')} &&`, ...env, ...claude, ...settings, ...conversation].join(' ')
}

/** Where the hooks settings file lives. */
export function hooksSettingsPath(config: Config): string {
  return join(config.stateDir, HOOKS_FILE)
}

/**
 * The command Claude Code runs for each hook: this very CLI, by absolute paths. With triggers on,
 * the config's path (so what an event starts reads the same config) and which events start
 * something (CLAUDE_FAILOVER_ON: `limit` quota check, `stop` dispatch): the hook never reads the config.
 */
export function hookCommand(configFile?: string, on: readonly HookTrigger[] = []): string {
  const runJs = join(packageRoot(), 'bin', 'run.js')
  const env = configFile && on.length > 0 ? `CLAUDE_FAILOVER_CONFIG=${absolute(configFile, 'the config file')} CLAUDE_FAILOVER_ON=${on.join(',')} ` : ''
  return `${env}${shellQuote(process.execPath)} ${shellQuote(runJs)} hook`
}

/** The statusLine command: this CLI's `statusline`, which records `rate_limits` and runs the user's own. */
export function statusLineCommand(): string {
  const runJs = join(packageRoot(), 'bin', 'run.js')
  return `${shellQuote(process.execPath)} ${shellQuote(runJs)} statusline`
}

/**
 * The settings file passed with --settings: SessionStart, Stop and StopFailure → `hook`; the
 * statusLine → `statusline` (it replaces the account home's statusLine, which `statusline` runs);
 * and `autoContinueAtUsageLimit: true` so Claude Code's own wait runs at a limit whatever the home's
 * settings say (2.1.328 reads this file as `flagSettings`, which wins over the user's settings): the
 * limit policy lets it run or swaps the session away (the swap kills it, so it never continues there).
 */
export function hooksSettings(command: string = hookCommand(), statusLine: string | null = statusLineCommand()): string {
  const entry = [{hooks: [{command, timeout: 10, type: 'command'}]}]
  const settings = {autoContinueAtUsageLimit: true, hooks: {SessionStart: entry, Stop: entry, StopFailure: entry}, ...(statusLine ? {statusLine: {command: statusLine, padding: 0, type: 'command'}} : {})}
  return `${JSON.stringify(settings, null, 2)}\n`
}

/** Writes the hooks settings file when it is missing or different (atomically, 0600). */
export async function ensureHooksSettings(config: Config): Promise<string> {
  const path = hooksSettingsPath(config)
  // With neither trigger on, no config path: the hook records and starts nothing.
  const on: HookTrigger[] = [...(config.quota.policy.checkOnLimit ? (['limit'] as const) : []), ...(config.dispatcher.onStop ? (['stop'] as const) : [])]
  const wanted = hooksSettings(hookCommand(config.file, on), config.statusline.record ? statusLineCommand() : null)
  const current = await readFile(path, 'utf8').catch(() => '')
  if (current !== wanted) await writeFileAtomic(path, wanted, {mode: 0o600})
  return path
}
