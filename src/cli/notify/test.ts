import {defineCommand} from '../../lib/command.js'
import {fail} from '../../lib/errors.js'

export default defineCommand({
  aliases: ['notify-test'],
  description:
    'Sends one test message through every configured notification channel (Telegram, email, webhook) and prints one line per channel: the first thing to run after configuring one. Exits 69 when any channel failed, 78 when none is configured.',
  examples: ['<%= config.bin %> notify test', "<%= config.bin %> notify test --json | jq '.channels[] | select(.ok | not)'"],
  flags: {},
  id: 'notify:test',
  async run(ctx) {
    const {testNotifications} = await import('../../lib/notify/test.js')
    return testNotifications(await ctx.config(), {log: ctx.log})
  },
  failure(report) {
    const failed = report.channels.filter((c) => !c.ok)
    return failed.length === 0 ? undefined : fail('unavailable', `${failed.length} of ${report.channels.length} notification channel(s) failed: ${failed.map((c) => c.channel).join(', ')}`)
  },
  async render(report) {
    const {colour, table} = await import('../../lib/render.js')
    return table(
      ['channel', 'result', 'status', 'error'],
      report.channels.map((c) => [c.channel, c.ok ? colour.good('sent') : colour.bad('failed'), c.status ?? '-', c.error ?? '']),
    )
  },
  summary: 'Send a test message through every configured notification channel.',
})
