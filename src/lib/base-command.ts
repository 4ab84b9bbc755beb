// The base every command extends: `--config`, `--json`, config loading, and the exit-code mapping.
// oclif 4 ignores an error's exit code under --json (oclif/core#1423) and prints stack traces for
// unexpected errors; here every failure becomes one stderr line (plus one line per detail), the
// documented exit code, and under --json a single `{"error": …}` document on stdout.
import {Command, Flags, type Interfaces} from '@oclif/core'

import {type Config, loadConfig} from './config.js'
import {describeFailure} from './errors.js'
import {type Logger, stderrLogger} from './log.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** The flag every mutating command has: wait for the lock instead of exiting 75 at once. */
export const waitFlag = {
  wait: Flags.boolean({description: 'wait for the state lock instead of exiting 75 at once when another command holds it'}),
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      description: 'config file (default: $CLAUDE_FAILOVER_CONFIG, ~/.config/claude-failover/config.yaml, /etc/claude-failover/config.yaml)',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true

  protected args!: BaseArgs<T>
  protected flags!: BaseFlags<T>
  protected readonly logger: Logger = stderrLogger()

  override async catch(error: Error & {exitCode?: number}): Promise<void> {
    const report = describeFailure(error)
    process.exitCode = report.exit
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({error: {code: report.code, details: report.details, exit: report.exit, message: report.message}}, null, 2)}\n`)
    }

    process.stderr.write(`claude-failover: error: ${report.message}\n`)
    for (const line of report.details) process.stderr.write(`  ${line}\n`)
    if (report.exit === 1 && error instanceof Error && error.stack && process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
  }

  override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
  }

  /** Loads and validates the config named by --config (or the default places). */
  protected failoverConfig(): Config {
    return loadConfig(this.flags.config)
  }
}
