import {defineCommand, flag} from '../lib/command.js'
import {fail} from '../lib/errors.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    'One picture of accounts (active, exhausted until, needs a login), pool and dedicated sessions (alive, state, task, conversation; a session waiting at a prompt or without a login is shown as such, with the way out), queues per project, the last swap and the recent events. Read-only: never takes the lock, so it answers during a swap. --check is for monitoring: it prints one line per thing that needs a human (every account exhausted, a stuck or stalled session, a lost login, an account that needs a login, failed or invalid tasks, a dependency cycle, a missing project folder, a broken shared link, no tmux server) and exits 69 (78 for a broken link), 0 when there is none.',
  examples: ['<%= config.bin %> status', '<%= config.bin %> status --check || notify-send "claude-failover needs you"', '<%= config.bin %> status --json | jq .active_account', '<%= config.bin %> status --events 30'],
  flags: {
    check: flag.boolean({description: 'for monitoring: exit 69 (78 for a broken shared link) with one line per reason when something needs a human'}),
    events: flag.integer({default: 10, description: 'how many recent events to show', min: 0}),
  },
  id: 'status',
  async run(ctx) {
    const config = await ctx.config()
    const {attentionNeeded, gatherStatus} = await import('../lib/status.js')
    const report = await gatherStatus(config, {now: () => new Date(), tmux: tmuxFor(config)}, {events: ctx.flags.events})
    if (ctx.flags.check) {
      const {brokenLinks, problems} = await attentionNeeded(config, report)
      return {...report, broken_links: brokenLinks, problems}
    }

    return report
  },
  failure: (report) =>
    report.problems && report.problems.length > 0
      ? fail((report as {broken_links?: boolean}).broken_links ? 'config' : 'unavailable', `${report.problems.length} thing(s) need attention`, {details: report.problems})
      : undefined,
  async render(report) {
    const {renderStatus} = await import('../lib/status-render.js')
    return renderStatus(report, new Date())
  },
  summary: 'Show accounts, pool sessions, queues, the last swap and recent events.',
})
