import {defineCommand, flag, QUIET_FLAG, WAIT_FLAG} from '../../lib/command.js'
import {tmuxFor} from '../../lib/pool.js'

export default defineCommand({
  aliases: ['quota-check'],
  description:
    'Reads every live session of the active account (pool and dedicated): the pane, the hook records and the transcript\'s last records. A limit with a reset time swaps at once; one without must be seen on quota.confirm_polls consecutive polls. No second swap within quota.reactivate_cooldown. The exhausted account is marked until its reset plus quota.reset_grace, and used again afterwards. With quota.usage enabled, a server-side utilization over the threshold swaps before the wall.',
  examples: ['<%= config.bin %> quota check', '<%= config.bin %> quota check --dry-run --json | jq .decision'],
  flags: {
    'dry-run': flag.boolean({description: 'show every session\'s verdict and the decision; record nothing, swap nothing'}),
    ...QUIET_FLAG,
    ...WAIT_FLAG,
  },
  id: 'quota:check',
  async run(ctx) {
    const config = await ctx.config()
    const {checkQuota} = await import('../../lib/quota/check.js')
    return checkQuota(config, {dryRun: ctx.flags['dry-run'], wait: ctx.flags.wait}, {log: ctx.log, now: () => new Date(), tmux: tmuxFor(config)})
  },
  async render(result) {
    const {colour, table} = await import('../../lib/render.js')
    const rows = result.sessions.map((s) => [s.session, s.verdict === 'quota_exhausted' ? colour.bad(s.verdict) : s.stale ? `${s.verdict} (old banner)` : s.verdict, s.reset_at ?? '-', s.pattern, s.snippet.slice(0, 60)])
    const lines = [rows.length > 0 ? table(['session', 'verdict', 'reset', 'pattern', 'snippet'], rows) : colour.dim(`no live session on ${result.active_account ?? 'the active account'}`)]
    for (const u of result.usage) lines.push(`usage ${u.account}: ${u.error ?? `${u.utilization}% (${u.window ?? '-'})${u.cached ? ' cached' : ''}`}`)
    lines.push(result.decision.action === 'swap' ? colour.warn(result.decision.message) : result.decision.message)
    if (result.swap && !result.swap.skipped) lines.push(colour.good(`swapped ${result.swap.from} -> ${result.swap.to}`))
    return lines.join('\n')
  },
  quiet: (result) => result.decision.action === 'none' && !result.swap && result.usage.every((u) => !u.error) && result.sessions.every((s) => s.verdict !== 'quota_exhausted'),
  summary: 'Detect an exhausted account and fail the pool over.',
})
