// Command-line parsing for the simulated claude: the flags this tool passes, a few more an operator's
// `claude.args` may carry, and commander-style errors (`error: unknown option '--x'`, exit 1) for
// the rest.

/** The parsed command line. */
export interface SimArgs {
  prompt?: string
  settings?: string
  sessionId?: string
  /** `--resume <id>`; `true` for a bare `--resume` (the interactive picker). */
  resume?: string | true
  continue: boolean
  skipPermissions: boolean
  permissionMode?: string
  model?: string
  print: boolean
  help: boolean
  version: boolean
}

/** Parsed arguments, or the one-line error to print before exiting 1. */
export type ParsedArgs = {ok: true; args: SimArgs} | {ok: false; error: string}

type Arity = 'flag' | 'value' | 'optional'

interface OptionSpec {
  names: string[]
  arity: Arity
  /** `<value>` placeholder shown in errors and help. */
  placeholder?: string
  help: string
  apply: (args: SimArgs, value: string | undefined) => void
}

const PERMISSION_MODES = ['acceptEdits', 'bypassPermissions', 'default', 'dontAsk', 'plan']

const OPTIONS: OptionSpec[] = [
  {apply: (a) => (a.skipPermissions = true), arity: 'flag', help: 'Bypass all permission checks.', names: ['--dangerously-skip-permissions']},
  {apply: (a, v) => (a.settings = v), arity: 'value', help: 'A settings JSON file, or a JSON string (hooks are run from it).', names: ['--settings'], placeholder: '<file-or-json>'},
  {apply: (a, v) => (a.sessionId = v), arity: 'value', help: 'Use this session id (a UUID) for the new conversation.', names: ['--session-id'], placeholder: '<uuid>'},
  {apply: (a, v) => (a.resume = v ?? true), arity: 'optional', help: 'Resume a conversation by session id.', names: ['-r', '--resume'], placeholder: '[sessionId]'},
  {apply: (a) => (a.continue = true), arity: 'flag', help: 'Continue the most recent conversation in this folder.', names: ['-c', '--continue']},
  {apply: (a, v) => (a.model = v), arity: 'value', help: 'Model for the session (an alias or a full name).', names: ['--model'], placeholder: '<model>'},
  {apply: (a, v) => (a.permissionMode = v), arity: 'value', help: `Permission mode (${PERMISSION_MODES.join(', ')}).`, names: ['--permission-mode'], placeholder: '<mode>'},
  {apply: (a) => (a.print = true), arity: 'flag', help: 'Print the reply and exit (text output only).', names: ['-p', '--print']},
  {apply: () => {}, arity: 'flag', help: 'Accepted and ignored.', names: ['--verbose']},
  {apply: () => {}, arity: 'value', help: 'Accepted and ignored.', names: ['--append-system-prompt'], placeholder: '<prompt>'},
  {apply: (a) => (a.version = true), arity: 'flag', help: 'Print the version.', names: ['-v', '--version']},
  {apply: (a) => (a.help = true), arity: 'flag', help: 'Show this help.', names: ['-h', '--help']},
]

/** Parses argv (without node and the script); never throws. */
export function parseSimArgs(argv: string[]): ParsedArgs {
  const args: SimArgs = {continue: false, help: false, print: false, skipPermissions: false, version: false}
  const positional: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? ''
    if (token === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }

    if (!token.startsWith('-') || token === '-') {
      positional.push(token)
      continue
    }

    const eq = token.startsWith('--') ? token.indexOf('=') : -1
    const name = eq > 0 ? token.slice(0, eq) : token
    const spec = OPTIONS.find((option) => option.names.includes(name))
    if (!spec) return {error: `error: unknown option '${name}'`, ok: false}
    let value: string | undefined = eq > 0 ? token.slice(eq + 1) : undefined
    if (spec.arity === 'flag' && value !== undefined) return {error: `error: option '${spec.names.join(', ')}' does not take an argument`, ok: false}
    if (spec.arity !== 'flag' && value === undefined) {
      const next = argv[i + 1]
      if (next !== undefined && (spec.arity === 'value' || !next.startsWith('-'))) {
        value = next
        i++
      }
    }

    if (spec.arity === 'value' && value === undefined) return {error: `error: option '${spec.names.join(', ')} ${spec.placeholder}' argument missing`, ok: false}
    spec.apply(args, value)
  }

  if (args.permissionMode !== undefined && !PERMISSION_MODES.includes(args.permissionMode)) {
    return {error: `error: option '--permission-mode <mode>' argument '${args.permissionMode}' is invalid. Allowed choices are ${PERMISSION_MODES.join(', ')}.`, ok: false}
  }

  if (positional.length > 1) return {error: `error: too many arguments. Expected 1 argument but got ${positional.length}.`, ok: false}
  if (positional[0] !== undefined) args.prompt = positional[0]
  return {args, ok: true}
}

/** The `--help` text. */
export function simHelp(): string {
  const rows = OPTIONS.map((option) => `  ${`${option.names.join(', ')}${option.placeholder ? ` ${option.placeholder}` : ''}`.padEnd(40)}${option.help}`)
  return [
    'Usage: claude [options] [prompt]',
    '',
    'Simulated Claude Code (claude-failover test double): sessions, transcripts, hooks and usage limits,',
    `without a model. Control file: $CLAUDE_CONFIG_DIR/sim-control.json. Env: CLAUDE_SIM_TURN_MS, CLAUDE_SIM_START_MS.`,
    '',
    'Arguments:',
    '  prompt                                  The first prompt of the session',
    '',
    'Options:',
    ...rows,
    '',
  ].join('\n')
}
