import {defineCommand, flag, WAIT_FLAG} from '../lib/command.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'Moves the whole pool to another account: --to NAME, else the next account in config order that is not exhausted. The target home\'s shared links are validated first; each working pool session and each relaunching dedicated session has its conversation id recorded (a valid UUID whose transcript the target can reach, else it stays at its shell); the sessions are killed, active_link is re-pointed atomically, and the sessions are recreated under the target\'s CLAUDE_CONFIG_DIR with `claude --resume`, staggered, with the continue message typed where work was under way. Every step is journaled: a run killed midway is rolled forward by the next swap or reconcile. All accounts exhausted: no swap, dispatch paused, exit 75.',
  examples: ['<%= config.bin %> swap', '<%= config.bin %> swap --to backup', '<%= config.bin %> swap --dry-run --json'],
  flags: {
    'dry-run': flag.boolean({description: 'print the plan (target, sessions, what resumes) and change nothing'}),
    reason: flag.string({description: 'why, for the journal, the events and the notification', helpValue: 'TEXT'}),
    to: flag.string({description: 'the account to move to', helpValue: 'NAME'}),
    ...WAIT_FLAG,
  },
  id: 'swap',
  async run(ctx) {
    const config = await ctx.config()
    const {swap} = await import('../lib/swap/swap.js')
    return swap(
      config,
      {dryRun: ctx.flags['dry-run'], reason: ctx.flags.reason, to: ctx.flags.to, wait: ctx.flags.wait},
      {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)},
    )
  },
  async render(result) {
    const {colour, table} = await import('../lib/render.js')
    if (result.skipped) return colour.warn(`no swap: ${result.skipped}`)
    const head = `${result.dry_run ? 'would swap' : 'swapped'} ${result.from ?? '?'} -> ${result.to ?? '?'}`
    const rows = result.sessions.map((s) => [s.name, s.kind, s.resumed ? colour.good(result.dry_run ? 'will resume' : 'resumed') : s.fresh ? colour.good(result.dry_run ? 'will start anew' : 'started anew') : colour.dim('at its shell'), s.conversation_id ?? '-', s.reason ?? (s.working ? 'was working' : '')])
    return rows.length > 0 ? `${head}\n${table(['session', 'kind', 'result', 'conversation', 'note'], rows)}` : `${head} (no live sessions)`
  },
  summary: 'Fail the pool over to another account, resuming every conversation.',
})
