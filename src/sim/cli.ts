// The simulated claude's command: validates the command line as Claude Code does (a bad session id,
// an unknown conversation, an unknown flag: a one-line error and exit 1), sets up the conversation
// under CLAUDE_CONFIG_DIR, then runs it interactively in its pane or headless with `-p`.
import {randomUUID} from 'node:crypto'
import {access} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'

import {globalConfigPath, hasCompletedOnboarding, isFolderTrusted} from './accept.js'
import {runInteractive} from './app.js'
import {parseSimArgs, type SimArgs, simHelp} from './args.js'
import {readSimControl} from './control.js'
import {HookRunner} from './hooks.js'
import {loadSettings, SettingsError} from './settings.js'
import {StatusLineRunner} from './statusline.js'
import {isSessionId, latestSessionIn, projectDirFor, readTranscript, SIM_VERSION, type TranscriptSummary, transcriptPathFor, TranscriptWriter} from './transcript.js'
import {Conversation} from './turn.js'

/** The process's streams and environment. */
export interface SimIo {
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
  cwd: string
}

const MODELS: Record<string, {id: string; label: string}> = {
  haiku: {id: 'claude-haiku-4-5-20251001', label: 'Haiku 4.5'},
  opus: {id: 'claude-opus-4-5-20251101', label: 'Opus 4.5'},
  sonnet: {id: 'claude-sonnet-4-5-20250929', label: 'Sonnet 4.5'},
}

/** Which conversation this process runs, or the refusal to print. */
type Target = {ok: true; sessionId: string; source: 'startup' | 'resume'; summary: TranscriptSummary | null} | {ok: false; error: string}

/** Runs the simulated claude with `argv` (without node and the script); resolves with the exit code. */
export async function runClaudeSim(argv: string[], io: SimIo): Promise<number> {
  const parsed = parseSimArgs(argv)
  if (!parsed.ok) return refuse(io, parsed.error)
  const {args} = parsed
  if (args.help) {
    io.stdout.write(simHelp())
    return 0
  }

  if (args.version) {
    io.stdout.write(`${SIM_VERSION} (Claude Code)\n`)
    return 0
  }

  const fromEnv = Boolean(io.env.CLAUDE_CONFIG_DIR)
  const configDir = resolve(io.env.CLAUDE_CONFIG_DIR || join(homedir(), '.claude'))
  const {cwd} = io
  const target = await chooseConversation(args, configDir, cwd)
  if (!target.ok) return refuse(io, target.error)

  let settings
  try {
    settings = await loadSettings(configDir, cwd, args.settings)
  } catch (error) {
    if (error instanceof SettingsError) return refuse(io, error.message)
    throw error
  }

  const bypass = args.skipPermissions || args.permissionMode === 'bypassPermissions'
  const model = args.model ? (MODELS[args.model] ?? {id: args.model, label: args.model}) : (MODELS.opus as {id: string; label: string})
  const transcriptPath = transcriptPathFor(configDir, cwd, target.sessionId)
  const transcript = new TranscriptWriter(transcriptPath, {cwd, model: model.id, sessionId: target.sessionId}, target.summary?.lastUuid ?? null)
  const permissionMode = bypass ? 'bypassPermissions' : (args.permissionMode ?? 'default')
  const hooks = new HookRunner(settings.hooks, {session_id: target.sessionId, transcript_path: transcriptPath, cwd, permission_mode: permissionMode}, io.env)
  const control = await readSimControl(configDir)
  const style = (control.banner ?? '2.1') === '2.1' ? 'modern' : 'classic'
  const conversation = new Conversation(
    {
      configDir,
      cwd,
      gateway: io.env.ANTHROPIC_BASE_URL || undefined,
      hooks,
      now: () => new Date(),
      style,
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      transcript,
      turnMs: envMs(io.env.CLAUDE_SIM_TURN_MS, 1500),
    },
    target.summary?.pendingPrompt ?? null,
  )

  if (args.print) return runPrint(args, io, conversation, hooks, {model: model.id, source: target.source})

  const globalConfig = globalConfigPath(configDir, fromEnv)
  return runInteractive(
    {
      bypass,
      configDir,
      conversation,
      cwd,
      globalConfig,
      history: target.summary?.history ?? [],
      hooks,
      initialPrompt: args.prompt,
      model: model.id,
      modelLabel: model.label,
      showBypassWarning: bypass && !settings.skipBypassPrompt,
      showThemePicker: !(await hasCompletedOnboarding(globalConfig)),
      showTrustModal: !(await isFolderTrusted(globalConfig, cwd)),
      source: target.source,
      startMs: envMs(io.env.CLAUDE_SIM_START_MS, 200),
      statusLine: settings.statusLine
        ? new StatusLineRunner(settings.statusLine, {cwd, model: {display_name: model.label, id: model.id}, session_id: target.sessionId, transcript_path: transcriptPath, version: SIM_VERSION}, io.env)
        : null,
      style,
      version: SIM_VERSION,
    },
    {stdin: io.stdin, stdout: io.stdout},
  )
}

/** `--resume`, `--continue`, `--session-id` or a fresh id, each refused the way Claude Code refuses it. */
async function chooseConversation(args: SimArgs, configDir: string, cwd: string): Promise<Target> {
  if (args.sessionId !== undefined && (args.resume !== undefined || args.continue)) {
    return {error: 'Error: --session-id cannot be used with --continue or --resume.', ok: false}
  }

  if (args.resume === true) return {error: 'Error: the --resume picker is not simulated; pass --resume <session-id>', ok: false}
  if (args.resume !== undefined) {
    // Resume is scoped to this config dir and this folder: a transcript anywhere else is not found.
    const path = transcriptPathFor(configDir, cwd, args.resume)
    if (!isSessionId(args.resume) || !(await exists(path))) return {error: `No conversation found with session ID: ${args.resume}`, ok: false}
    return {ok: true, sessionId: args.resume, source: 'resume', summary: await readTranscript(path)}
  }

  if (args.continue) {
    const id = await latestSessionIn(projectDirFor(configDir, cwd))
    if (!id) return {error: 'No conversation found to continue', ok: false}
    return {ok: true, sessionId: id, source: 'resume', summary: await readTranscript(transcriptPathFor(configDir, cwd, id))}
  }

  if (args.sessionId !== undefined) {
    if (!isSessionId(args.sessionId)) return {error: 'Error: Invalid session ID. Must be a valid UUID.', ok: false}
    if (await exists(transcriptPathFor(configDir, cwd, args.sessionId))) return {error: `Error: Session ID ${args.sessionId} is already in use.`, ok: false}
    return {ok: true, sessionId: args.sessionId, source: 'startup', summary: null}
  }

  return {ok: true, sessionId: randomUUID(), source: 'startup', summary: null}
}

/** `-p`: one turn, the reply (or the limit text, exit 1) on stdout. No modals, as in Claude Code. */
async function runPrint(args: SimArgs, io: SimIo, conversation: Conversation, hooks: HookRunner, start: {model: string; source: string}): Promise<number> {
  const prompt = args.prompt ?? (io.stdin.isTTY ? '' : await readAll(io.stdin))
  if (!prompt.trim()) return refuse(io, 'Error: Input must be provided either through stdin or as a prompt argument when using --print')
  await hooks.fire('SessionStart', start, start.source)
  const silent = {busy: () => {}, placeholder: () => {}, show: () => {}, status: () => {}}
  const outcome = await conversation.turn(prompt, silent, new AbortController().signal)
  if (outcome.kind === 'done') {
    io.stdout.write(`${outcome.reply}\n`)
    return 0
  }

  io.stdout.write(`${outcome.kind === 'interrupted' ? 'Interrupted' : outcome.kind === 'limit' ? outcome.notice.recordText : outcome.notice.text}\n`)
  return 1
}

function refuse(io: SimIo, message: string): number {
  io.stderr.write(`${message}\n`)
  return 1
}

function envMs(value: string | undefined, fallback: number): number {
  const ms = Number(value)
  return value !== undefined && value !== '' && Number.isFinite(ms) && ms >= 0 ? ms : fallback
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += String(chunk)
  return text
}
