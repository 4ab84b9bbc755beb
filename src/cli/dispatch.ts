import {defineCommand, flag, QUIET_FLAG, WAIT_FLAG} from '../lib/command.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'One pass: tasks whose Stop arrived move to done/; every inbox is judged (ready, blocked with a .blocked marker, invalid with an .invalid marker); ready tasks go, highest priority then oldest first, to free sessions of the pool, which grows up to autonomous.max. Each claim is durable before anything is typed, and the prompt is read by the shell from a file, never typed. A claim left by a killed run is verified and either recorded or put back. When every account is exhausted it dispatches nothing and says until when.',
  examples: ['<%= config.bin %> dispatch', '<%= config.bin %> dispatch --dry-run', '<%= config.bin %> dispatch --json | jq .dispatched'],
  flags: {
    'dry-run': flag.boolean({description: 'show what would be dispatched; claim and type nothing'}),
    ...QUIET_FLAG,
    ...WAIT_FLAG,
  },
  id: 'dispatch',
  async run(ctx) {
    const config = await ctx.config()
    const {dispatch} = await import('../lib/dispatch/dispatch.js')
    return dispatch(config, {dryRun: ctx.flags['dry-run'], wait: ctx.flags.wait}, {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)})
  },
  async render(result) {
    const {colour, table} = await import('../lib/render.js')
    const rows = [
      ...result.dispatched.map((d) => [`${d.project}/${d.task}`, result.dry_run ? 'would dispatch' : colour.good('dispatched'), `${d.session} (${d.account})`]),
      ...result.finished.map((f) => [`${f.project}/${f.task}`, colour.good('done'), f.session]),
      ...result.blocked.map((b) => [`${b.project}/${b.task}`, colour.warn('blocked'), b.reason]),
      ...result.invalid.map((i) => [`${i.project}/${i.task}`, colour.bad('invalid'), i.reason]),
      ...result.recovered.map((r) => [`${r.project}/${r.task}`, colour.warn(`recovered: ${r.outcome}`), r.session]),
      ...result.waiting.map((w) => [`${w.project}/${w.task}`, `waiting #${w.position}`, `ready; ${result.paused_until ? 'dispatch paused' : 'no free session'}${w.priority === 0 ? '' : ` (priority ${w.priority})`}`]),
    ]
    const lines = rows.length > 0 ? [table(['task', 'result', 'session / reason'], rows)] : [colour.dim('nothing to dispatch')]
    if (result.waiting_total > result.waiting.length) lines.push(colour.dim(`and ${result.waiting_total - result.waiting.length} more ready task(s) waiting`))
    if (result.paused_until) lines.push(colour.warn(`paused: every account is exhausted until ${result.paused_until}`))
    return lines.join('\n')
  },
  quiet: (result) => result.dispatched.length + result.finished.length + result.blocked.length + result.invalid.length + result.recovered.length === 0 && !result.paused_until,
  summary: 'Hand ready inbox tasks to free pool sessions.',
})
