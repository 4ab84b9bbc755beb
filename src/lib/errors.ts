// One error module: every failure this tool reports is a FailoverError of a known kind, and each
// kind maps to one documented exit code (sysexits.h numbers, so shell scripts and systemd's
// SuccessExitStatus can tell "try again at the next tick" from "a human must fix the config").

/** Exit codes of every command (SPEC §1), listed in `--help` and the README. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  dataError: 65,
  noInput: 66,
  unavailable: 69,
  cantCreate: 73,
  ioError: 74,
  tempFail: 75,
  config: 78,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** The kinds of failure, each with its exit code and a short name used in `--json` errors. */
export const ErrorKinds = {
  bug: {exit: ExitCode.internal, code: 'INTERNAL'},
  usage: {exit: ExitCode.usage, code: 'USAGE'},
  invalidData: {exit: ExitCode.dataError, code: 'INVALID_DATA'},
  noInput: {exit: ExitCode.noInput, code: 'NO_INPUT'},
  unavailable: {exit: ExitCode.unavailable, code: 'UNAVAILABLE'},
  cantCreate: {exit: ExitCode.cantCreate, code: 'CANT_CREATE'},
  io: {exit: ExitCode.ioError, code: 'IO_ERROR'},
  busy: {exit: ExitCode.tempFail, code: 'LOCK_BUSY'},
  lockLost: {exit: ExitCode.tempFail, code: 'LOCK_LOST'},
  allExhausted: {exit: ExitCode.tempFail, code: 'ALL_EXHAUSTED'},
  config: {exit: ExitCode.config, code: 'CONFIG'},
} as const

export type ErrorKind = keyof typeof ErrorKinds

/** An expected failure with a documented exit code and a message meant for the operator. */
export class FailoverError extends Error {
  readonly kind: ErrorKind
  readonly exitCode: number
  readonly code: string
  /** Extra lines (one problem each), printed under the message. */
  readonly details: string[]
  /** oclif's error handler reads `oclif.exit` in human mode. */
  readonly oclif: {exit: number}

  constructor(kind: ErrorKind, message: string, options: {cause?: unknown; details?: string[]} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'FailoverError'
    this.kind = kind
    this.exitCode = ErrorKinds[kind].exit
    this.code = ErrorKinds[kind].code
    this.details = options.details ?? []
    this.oclif = {exit: this.exitCode}
  }
}

/** Shorthand constructor: `fail('config', 'bad key')`. */
export function fail(kind: ErrorKind, message: string, options?: {cause?: unknown; details?: string[]}): FailoverError {
  return new FailoverError(kind, message, options)
}

/** Maps a Node filesystem error to the right kind: ENOSPC/EIO → io (74), EACCES/EROFS → cantCreate (73). */
export function fsErrorKind(error: unknown): ErrorKind {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOSPC':
    case 'EIO':
    case 'EDQUOT':
    case 'EFBIG': {
      return 'io'
    }

    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
    case 'EEXIST': {
      return 'cantCreate'
    }

    default: {
      return 'io'
    }
  }
}

/** Wraps a filesystem error into a FailoverError naming what was being done. */
export function fsFailure(action: string, path: string, error: unknown): FailoverError {
  if (error instanceof FailoverError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'error'
  const reason = (error as Error | undefined)?.message ?? String(error)
  return new FailoverError(fsErrorKind(error), `cannot ${action} ${path}: ${code === 'error' ? reason : code}`, {cause: error})
}

export interface FailureReport {
  code: string
  exit: number
  message: string
  details: string[]
}

/** Normalizes anything thrown into what a command prints and the code it exits with. */
export function describeFailure(error: unknown): FailureReport {
  if (error instanceof FailoverError) {
    return {code: error.code, exit: error.exitCode, message: error.message, details: error.details}
  }

  const oclifExit = (error as {oclif?: {exit?: unknown}} | undefined)?.oclif?.exit
  const message = error instanceof Error ? error.message : String(error)
  if (typeof oclifExit === 'number') {
    // oclif's own parse errors (unknown flag, missing argument) carry exit 2.
    // oclif's parse errors span lines ("Parsing --events\n\tExpected an integer …\nSee more help with --help").
    const oneLine = message.replace(/See more help with --help/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(': ')
    return {code: oclifExit === 2 ? 'USAGE' : 'EXIT', exit: oclifExit, message: oneLine, details: []}
  }

  return {code: 'INTERNAL', exit: ExitCode.internal, message: `internal error (a bug): ${firstLine(message)}`, details: []}
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text
}

/** The exit-code table, as shown at the end of every command's `--help` and in the README. */
export const EXIT_CODE_HELP = [
  '0 success or nothing to do',
  '1 internal error (a bug: please report it)',
  '2 usage error (bad flag or argument)',
  '65 invalid input data (task file, state file, pane capture, a task id already taken)',
  '66 an input file does not exist or cannot be read (the prompt file of task add)',
  '69 a needed service is unavailable (no tmux server, no tmux or claude binary)',
  '73 cannot create a file (permissions, read-only filesystem)',
  '74 I/O error (disk full)',
  '75 temporary: lock busy or all accounts exhausted; try again at the next tick',
  '78 configuration error (bad config file, broken shared links in an account home)',
].join('\n')
