import {defineCommand, flag, QUIET_FLAG, WAIT_FLAG} from '../lib/command.js'
import type {ReconcileResult} from '../lib/reconcile/reconcile.js'

import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'One level-triggered pass under the state lock: an unfinished swap is rolled forward; tasks whose Stop arrived move to done/; a working session that died (gone, or Claude exited back to the shell) has its task put back in the inbox within its `retries` (else failed/ with the reason) and is recreated; a task past its timeout is failed and its session freed; a task with no progress for watcher.stall_after is reported stalled, once; the pool is brought up to autonomous.min (never outside its range); a dead dedicated session is reported, never recreated. A second run right after does nothing. Needs a running tmux server (exit 69); never starts one. --boot first validates the shared symlinks and refuses (exit 78, notified) when they are broken.',
  examples: ['<%= config.bin %> reconcile', '<%= config.bin %> reconcile --boot', '<%= config.bin %> reconcile --dry-run --json | jq .actions'],
  async failure(result: ReconcileResult) {
    const {reconcileFailure} = await import('../lib/reconcile/reconcile.js')
    return reconcileFailure(result)
  },
  flags: {
    boot: flag.boolean({description: 'start of day: validate the shared symlinks first and refuse to go on when they are broken'}),
    'dry-run': flag.boolean({description: 'print the actions it would take; change nothing'}),
    ...QUIET_FLAG,
    ...WAIT_FLAG,
  },
  id: 'reconcile',
  async run(ctx) {
    const config = await ctx.config()
    const {reconcile} = await import('../lib/reconcile/reconcile.js')
    return reconcile(config, {boot: ctx.flags.boot, dryRun: ctx.flags['dry-run'], wait: ctx.flags.wait}, {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)})
  },
  async render(result) {
    const {colour, table} = await import('../lib/render.js')
    if (result.refused) return colour.bad(`refused: ${result.refused.what === 'shared-links' ? 'the shared symlinks are broken' : "the active account's home is not ready"} (see below)`)
    if (result.actions.length === 0) return colour.dim('nothing to do: the pool and the queues are in line')
    const {describeAction} = await import('../lib/reconcile/reconcile.js')
    const rows = result.actions.map((a) => [result.dry_run ? `would ${a.action}` : a.action, describeAction(a)])
    return table(['action', 'detail'], rows)
  },
  quiet: (result) => !result.refused && result.actions.length === 0,
  summary: 'Keep the pool alive: repair dead sessions, settle finished, failed and stalled tasks.',
})
