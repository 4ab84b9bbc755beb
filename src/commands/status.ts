import {Flags} from '@oclif/core'

import {BaseCommand} from '../lib/base-command.js'
import {tmuxFor} from '../lib/pool.js'
import {gatherStatus, type StatusReport} from '../lib/status.js'

export default class Status extends BaseCommand<typeof Status> {
  static override description = 'Show accounts, pool sessions, queues, the last swap and recent events. Read-only: never takes the lock.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json | jq .active_account', '<%= config.bin %> status --events 30']
  static override flags = {
    events: Flags.integer({default: 10, description: 'how many recent events to show', min: 0}),
  }

  async run(): Promise<StatusReport> {
    const config = this.failoverConfig()
    const report = await gatherStatus(config, {now: () => new Date(), tmux: tmuxFor(config)}, {events: this.flags.events})
    if (!this.jsonEnabled()) {
      const {renderStatus} = await import('../lib/status-render.js')
      this.log(renderStatus(report, new Date()))
    }

    return report
  }
}
