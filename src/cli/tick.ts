import {type CommandContext, type CommandDef, defineCommand, flag, type FlagDef, leftOut, QUIET_FLAG, WAIT_FLAG} from '../lib/command.js'
import {describeFailure, type ErrorKind, ErrorKinds, FailoverError, type FailureReport} from '../lib/errors.js'
import {tmuxFor} from '../lib/pool.js'
import dispatch from './dispatch.js'
import quotaCheck from './quota/check.js'
import reconcile from './reconcile.js'

/**
 * The steps of a tick, in order: the account first (a limit swaps the pool before anything is
 * repaired or handed out), then the pool, then the queues.
 */
const STEPS = [
  ['quota_check', quotaCheck],
  ['reconcile', reconcile],
  ['dispatch', dispatch],
] as const satisfies readonly (readonly [string, CommandDef<Record<string, FlagDef>, unknown>])[]

type StepName = (typeof STEPS)[number][0]
type StepOutcome = {result: unknown} | {error: FailureReport}
/** Each step's result (the command's own `--json` document) or its error; a step not run is absent. */
export type TickResult = Partial<Record<StepName, StepOutcome>>

export default defineCommand({
  description:
    'What the timer runs: `quota check`, then `reconcile`, then `dispatch`, in one process (one start-up instead of three: a timer run\'s cost is mostly starting node). Each step is the command of the same name and takes the state lock on its own; a step that fails is reported and the next still runs, except that without a tmux server the tick stops at the first step. Exit code: the first failure\'s, except that 75 (lock busy, all accounts exhausted) gives way to any other.',
  examples: ['<%= config.bin %> tick', '<%= config.bin %> tick --dry-run --json | jq .dispatch'],
  async failure(result: TickResult) {
    const failures: FailoverError[] = []
    for (const [name, step] of STEPS) {
      const outcome = result[name]
      if (outcome === undefined) continue
      const problem = 'error' in outcome ? outcome.error : step.failure ? describeProblem(await step.failure(outcome.result as never)) : undefined
      if (problem) failures.push(new FailoverError(kindOf(problem), `${label(name)}: ${problem.message}`, {details: problem.details}))
    }

    const first = failures.find((f) => f.exitCode !== 75) ?? failures[0]
    if (!first) return undefined
    // The others are listed under it, so every step's failure reaches the journal.
    const others = failures.filter((f) => f !== first).flatMap((f) => [f.message, ...f.details])
    return new FailoverError(first.kind, first.message, {details: [...first.details, ...others]})
  },
  flags: {
    'dry-run': flag.boolean({description: 'every step with --dry-run: report what it would do, change nothing'}),
    ...QUIET_FLAG,
    ...WAIT_FLAG,
  },
  id: 'tick',
  quiet(result: TickResult) {
    return STEPS.every(([name, step]) => {
      const outcome = result[name]
      return outcome === undefined || ('result' in outcome && (step.quiet?.(outcome.result as never) ?? false))
    })
  },
  async render(result: TickResult, ctx) {
    const lines: string[] = []
    for (const [name, step] of STEPS) {
      const outcome = result[name]
      if (outcome === undefined || 'error' in outcome) continue
      if (leftOut(step, outcome.result, ctx.flags)) continue
      const text = step.render ? await step.render(outcome.result as never, stepContext(ctx, step) as never) : ''
      if (text !== '') lines.push(text)
    }

    return lines.join('\n')
  },
  async run(ctx) {
    // Every step needs the config: a bad one is one error (78), not three.
    const config = await ctx.config()
    const started = performance.now()
    const outcomes: TickResult = {}
    for (const [name, step] of STEPS) {
      try {
        outcomes[name] = {result: await step.run(stepContext(ctx, step) as never)}
      } catch (error) {
        const report = describeFailure(error)
        outcomes[name] = {error: report}
        // Every step needs the tmux server: without one (or without tmux), one line is enough.
        // Any other failure, a swap that could not create a session say, leaves the next steps to
        // run: reconcile is the one that rolls that swap forward.
        if (report.exit === 69 && !(await tmuxFor(config).serverRunning().catch(() => false))) break
      }
    }

    if (config.metrics.file && !ctx.flags['dry-run']) {
      // The export is for watching the pool: its failure is logged, never the tick's.
      const {exportMetrics} = await import('../lib/metrics/metrics.js')
      await exportMetrics(config, {now: () => new Date(), tmux: tmuxFor(config)}, {format: config.metrics.format, output: config.metrics.file, tickSeconds: (performance.now() - started) / 1000}).catch((error: Error) =>
        ctx.log.warn(`[metrics] cannot write ${config.metrics.file}: ${error.message}`),
      )
    }

    return outcomes
  },
  summary: 'Run quota check, reconcile and dispatch in one process (what the timer fires).',
})

/** A step's context: the tick's (one config load for all), with the step's own flags. */
function stepContext(ctx: CommandContext<{'dry-run': boolean; quiet: boolean; wait: boolean}>, step: CommandDef<Record<string, FlagDef>, unknown>): CommandContext<Record<string, unknown>> {
  const flags: Record<string, unknown> = {config: ctx.flags.config, json: ctx.flags.json}
  for (const [key, def] of Object.entries(step.flags)) flags[key] = def.kind === 'boolean' ? false : def.default
  flags['dry-run'] = ctx.flags['dry-run']
  flags.quiet = ctx.flags.quiet
  if ('wait' in step.flags) flags.wait = ctx.flags.wait
  return {...ctx, flags: flags as CommandContext<Record<string, unknown>>['flags']}
}

function describeProblem(error: FailoverError | undefined): FailureReport | undefined {
  return error ? describeFailure(error) : undefined
}

function kindOf(report: FailureReport): ErrorKind {
  return (Object.keys(ErrorKinds) as ErrorKind[]).find((kind) => ErrorKinds[kind].code === report.code) ?? 'bug'
}

function label(name: StepName): string {
  return name.replace('_', ' ')
}
