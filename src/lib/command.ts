// A command, defined once without oclif: its flags, its arguments, one service call, and how its
// result reads for a human. Two front ends run the same definition:
//  - oclif (src/commands/*, through oclif-command.ts) for --help, topics and the manifest;
//  - the fast path (bin/run.js → dist/cli.cjs) for direct runs, which the systemd timers fire
//    (`tick` every 2 min): it parses argv with node:util and never loads oclif (most of a run's start-up cost).
// Both print through executeCommand and reportFailure below, so their output is the same.
import type {Config} from './config.js'

import {loadConfig} from './config.js'
import {describeFailure, ExitCode, type FailoverError, type FailureReport} from './errors.js'
import {type Logger, stderrLogger} from './log.js'

export interface FlagDef<V = unknown> {
  kind: 'boolean' | 'integer' | 'string'
  description: string
  char?: string
  multiple?: boolean
  default?: boolean | number | string
  min?: number
  max?: number
  options?: readonly string[]
  helpValue?: string
  /** Shown as required in --help (the command itself says what is missing, with an example). */
  required?: boolean
  /** Phantom: the parsed value's type. */
  readonly __value?: V
}

export interface ArgDef {
  name: string
  description: string
  required?: boolean
}

/** Typed flag constructors: `flag.boolean({description})` and so on. */
export const flag = {
  boolean: (o: {description: string; char?: string}): FlagDef<boolean> => ({kind: 'boolean', ...o}),
  integer: (o: {description: string; default: number; min?: number; max?: number; helpValue?: string}): FlagDef<number> => ({kind: 'integer', ...o}),
  /** An integer with no default: undefined when the flag is not given (so "not given" differs from "given as 0"). */
  optionalInteger: (o: {description: string; min?: number; max?: number; helpValue?: string}): FlagDef<number | undefined> => ({kind: 'integer', ...o}),
  string: (o: {description: string; char?: string; options?: readonly string[]; helpValue?: string; required?: boolean}): FlagDef<string | undefined> => ({kind: 'string', ...o}),
  strings: (o: {description: string; char?: string; helpValue?: string}): FlagDef<string[]> => ({kind: 'string', multiple: true, ...o}),
}

export type FlagValues<T extends Record<string, FlagDef>> = {[K in keyof T]: T[K] extends FlagDef<infer V> ? V : never}

/** Flags every command has. */
export const GLOBAL_FLAGS = {
  config: flag.string({
    description: 'config file (default: $CLAUDE_FAILOVER_CONFIG, ~/.config/claude-failover/config.yaml, /etc/claude-failover/config.yaml)',
    helpValue: 'PATH',
  }),
  json: flag.boolean({description: 'print one JSON document on stdout (errors too)'}),
}

/**
 * The one output rule: every command answers, on a terminal or not, except that a command the
 * timers run, given `--quiet`, leaves out a result that only says nothing happened (the systemd
 * units pass it, so a journal holds what changed). A dry run always answers.
 */
export const QUIET_FLAG = {
  quiet: flag.boolean({description: 'print nothing when there was nothing to do (what the systemd timers pass); ignored with --dry-run'}),
}

/** The flag of every command that takes the state lock. */
export const WAIT_FLAG = {
  wait: flag.boolean({description: 'wait for the state lock instead of exiting 75 at once when another command holds it'}),
}

export interface CommandContext<F> {
  flags: F & {json: boolean; config: string | undefined}
  args: Record<string, string | undefined>
  json: boolean
  log: Logger
  /** Loads and validates the config named by --config (or the default places). */
  config(): Promise<Config>
  /** Reads all of standard input. */
  stdin(): Promise<string>
}

export interface CommandDef<T extends Record<string, FlagDef> = Record<string, FlagDef>, R = unknown> {
  /** oclif id, topics separated by `:` (`quota:check`). */
  id: string
  summary: string
  description?: string
  examples: string[]
  flags: T
  args?: ArgDef[]
  /** Hidden aliases, e.g. `quota-check` for systemd template instances. */
  aliases?: string[]
  run(ctx: CommandContext<FlagValues<T>>): Promise<R>
  /** Human output for stdout; omitted when the command prints nothing on success. */
  render?(result: R, ctx: CommandContext<FlagValues<T>>): Promise<string> | string
  /**
   * True for a result that says only that nothing happened ("nothing to dispatch"): left out under
   * `--quiet` (QUIET_FLAG), so a timer's journal holds what changed, not 600 idle lines an hour.
   */
  quiet?(result: R): boolean
  /**
   * For a result that is printed but is not a success (problems found, a channel failed): the
   * error to report on stderr after the output, whose kind sets the exit code.
   */
  failure?(result: R): FailoverError | undefined | Promise<FailoverError | undefined>
}

/** Declares a command (the identity function, for type inference). */
export function defineCommand<T extends Record<string, FlagDef>, R>(def: CommandDef<T, R>): CommandDef<T, R> {
  return def
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Runs a definition with parsed flags and prints its result (JSON or human) on stdout. */
export async function executeCommand<T extends Record<string, FlagDef>, R>(
  def: CommandDef<T, R>,
  parsed: {flags: Record<string, unknown>; args: Record<string, string | undefined>},
): Promise<R> {
  const json = parsed.flags.json === true
  let config: Promise<Config> | undefined
  const ctx: CommandContext<FlagValues<T>> = {
    args: parsed.args,
    config: () => (config ??= loadConfig(parsed.flags.config as string | undefined)),
    flags: parsed.flags as CommandContext<FlagValues<T>>['flags'],
    json,
    log: stderrLogger(),
    stdin: readStdin,
  }
  const result = await def.run(ctx)
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } else if (def.render && !leftOut(def, result, parsed.flags)) {
    const text = await def.render(result, ctx)
    if (text !== '') process.stdout.write(`${text}\n`)
  }

  const problem = await def.failure?.(result)
  if (problem) {
    process.exitCode = problem.exitCode
    writeFailureLines(describeFailure(problem))
  }

  return result
}

/** True when `--quiet` was given (and not `--dry-run`) and the result only says nothing happened: it is not printed. */
export function leftOut<R>(def: Pick<CommandDef<Record<string, FlagDef>, R>, 'quiet'>, result: R, flags: Record<string, unknown>): boolean {
  return flags.quiet === true && flags['dry-run'] !== true && (def.quiet?.(result) ?? false)
}

function writeFailureLines(report: FailureReport): void {
  process.stderr.write(`claude-failover: error: ${report.message}\n`)
  for (const line of report.details) process.stderr.write(`  ${line}\n`)
}

/** Prints a failure: one stderr line (plus detail lines), `{"error": …}` on stdout under --json. */
export function reportFailure(error: unknown, json: boolean): void {
  const report = describeFailure(error)
  process.exitCode = report.exit
  if (json) {
    process.stdout.write(`${JSON.stringify({error: {code: report.code, details: report.details, exit: report.exit, message: report.message}}, null, 2)}\n`)
  }

  writeFailureLines(report)
  if (report.exit === ExitCode.internal && error instanceof Error && error.stack && process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
}
