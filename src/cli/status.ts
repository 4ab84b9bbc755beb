import {defineCommand, flag} from '../lib/command.js'
import {tmuxFor} from '../lib/pool.js'
import {gatherStatus} from '../lib/status.js'

export default defineCommand({
  examples: ['<%= config.bin %> status', '<%= config.bin %> status --json | jq .active_account', '<%= config.bin %> status --events 30'],
  flags: {
    events: flag.integer({default: 10, description: 'how many recent events to show', min: 0}),
  },
  id: 'status',
  async run(ctx) {
    const config = ctx.config()
    return gatherStatus(config, {now: () => new Date(), tmux: tmuxFor(config)}, {events: ctx.flags.events})
  },
  async render(report) {
    const {renderStatus} = await import('../lib/status-render.js')
    return renderStatus(report, new Date())
  },
  summary: 'Show accounts, pool sessions, queues, the last swap and recent events. Read-only: never takes the lock.',
})
