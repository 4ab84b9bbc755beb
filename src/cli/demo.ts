import {defineCommand, flag} from '../lib/command.js'
import {fail} from '../lib/errors.js'

export default defineCommand({
  description:
    'Runs the whole pipeline on this machine in a throw-away sandbox: two accounts with shared transcript folders, a project of seven dependent tasks, a private tmux server and the simulated claude, whose first account runs out part-way. It drives reconcile, quota check and dispatch as the timers would, narrates on stderr what is dispatched, detected, swapped and done, and ends with the status table. Everything is removed afterwards, also on Ctrl-C.',
  examples: ['<%= config.bin %> demo', '<%= config.bin %> demo --json', '<%= config.bin %> demo --keep'],
  flags: {
    keep: flag.boolean({description: 'keep the sandbox and its tmux server to look around afterwards'}),
    tick: flag.integer({default: 1000, description: 'milliseconds between two rounds of the timer commands', min: 100}),
    timeout: flag.integer({default: 120, description: 'give up after this many seconds', min: 5}),
    'turn-ms': flag.integer({default: 1500, description: 'how long each simulated turn works', min: 50}),
  },
  id: 'demo',
  async run(ctx) {
    const {runDemo} = await import('../lib/demo/demo.js')
    return runDemo({keep: ctx.flags.keep, tickMs: ctx.flags.tick, timeoutMs: ctx.flags.timeout * 1000, turnMs: ctx.flags['turn-ms']}, ctx.log)
  },
  failure: (result) => (result.tasks_done < result.tasks_total ? fail('bug', `the demo finished only ${result.tasks_done} of ${result.tasks_total} tasks in time`) : undefined),
  async render(result) {
    const {renderStatus} = await import('../lib/status-render.js')
    const status = result.status as Parameters<typeof renderStatus>[0] | null
    return `${status ? renderStatus(status, new Date()) : ''}\n\n${result.tasks_done}/${result.tasks_total} tasks done in ${result.seconds}s, ${result.swaps} swap(s)`
  },
  summary: 'Run the whole pipeline in a sandbox with a simulated claude.',
})
