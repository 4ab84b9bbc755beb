import {defineCommand, flag, QUIET_FLAG} from '../lib/command.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'For every working pool session (the task of its claim) and every dedicated session running something: account, task, working directory (#{pane_current_path}), conversation id (claim, else hook record, else the newest transcript of that folder when no other session shares it), transcript path, the last tool call read from the transcript\'s last 64 KiB, and the time. Each is written atomically to state_dir/checkpoints/<session>-<UTC stamp>.json (0600); the swap uses the latest when it does not know a conversation id. Takes no lock.',
  examples: ['<%= config.bin %> checkpoint', '<%= config.bin %> checkpoint --json | jq ".checkpoints[].last_tool_call"'],
  flags: {
    'dry-run': flag.boolean({description: 'show the checkpoints; write nothing'}),
    ...QUIET_FLAG,
  },
  id: 'checkpoint',
  async run(ctx) {
    const config = await ctx.config()
    const {checkpointSessions} = await import('../lib/checkpoint/checkpoint.js')
    return checkpointSessions(config, {dryRun: ctx.flags['dry-run']}, {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)})
  },
  async render(result) {
    const {colour, table} = await import('../lib/render.js')
    if (result.checkpoints.length === 0) return colour.dim('no working session to checkpoint')
    const rows = result.checkpoints.map((c) => [c.session, c.account ?? '-', c.task ?? '-', c.conversation_id ?? colour.warn('unknown'), c.last_tool_call ? `${c.last_tool_call.name} ${c.last_tool_call.summary}`.slice(0, 60) : '-'])
    return table(['session', 'account', 'task', 'conversation', 'last tool call'], rows)
  },
  quiet: (result) => result.checkpoints.length === 0,
  summary: 'Snapshot each working session (conversation, transcript, last tool call) so it can resume elsewhere.',
})
