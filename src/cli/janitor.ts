import {defineCommand, flag, QUIET_FLAG, WAIT_FLAG} from '../lib/command.js'
import {fail} from '../lib/errors.js'
import type {JanitorResult} from '../lib/janitor/janitor.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'Under the state lock: a launched claim whose session no longer works on it (Claude exited to the shell, or the session runs another conversation and its screen shows no sign of the task) goes back to the inbox (or failed/ past its retries); done/ tasks finished more than janitor.archive_after ago move to archive/ (dependencies on them stay resolved); checkpoints older than janitor.checkpoint_retention are pruned (the newest of each session is kept); its own temp files older than 1 h, fence markers older than 256 generations, prompt files of tasks no longer dispatched, signals of sessions outside the pool and records past the retention go; events.jsonl past janitor.events_max_bytes is rotated (two old files kept). Nothing else is touched.',
  examples: ['<%= config.bin %> janitor', '<%= config.bin %> janitor --dry-run', '<%= config.bin %> janitor --json | jq .actions'],
  failure: (result: JanitorResult) =>
    result.errors.length > 0 ? fail('io', `${result.errors.length} janitor action(s) failed; the others were applied`, {details: result.errors.slice(0, 20).map((e) => `${e.action}${e.path ? ` ${e.path}` : ''}: ${e.message}`)}) : undefined,
  flags: {
    'dry-run': flag.boolean({description: 'list what it would do; change nothing'}),
    ...QUIET_FLAG,
    ...WAIT_FLAG,
  },
  id: 'janitor',
  async run(ctx) {
    const config = await ctx.config()
    const {janitor} = await import('../lib/janitor/janitor.js')
    return janitor(config, {dryRun: ctx.flags['dry-run'], wait: ctx.flags.wait}, {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)})
  },
  async render(result) {
    const {colour, table} = await import('../lib/render.js')
    if (result.actions.length === 0) return colour.dim('nothing to clean up')
    const {describeJanitorAction} = await import('../lib/janitor/janitor.js')
    return table(['action', 'detail'], result.actions.map((a) => [result.dry_run ? `would ${a.action}` : a.action, describeJanitorAction(a)]))
  },
  quiet: (result) => result.actions.length === 0,
  summary: 'Requeue stale claims, archive old done tasks, prune checkpoints, temp files, signals and logs.',
})
