import {defineCommand, flag} from '../lib/command.js'
import {tmuxFor} from '../lib/pool.js'

export default defineCommand({
  description:
    "The pool as Prometheus text (or OpenMetrics with --format openmetrics): per account active, exhausted and until when, login required, used % per window with its reset and forecast run-out (from the statusLine records); swaps and failed swaps by reason and the time from a limit to the resumed pool (from events.jsonl, read incrementally); sessions by state; tasks by project and state; dispatch paused; the last tick's duration. On stdout, or with --output FILE written atomically (mode 0644) for node_exporter's textfile collector; the tick rewrites metrics.file by itself when it is set. Read-only, apart from its own offset file state_dir/metrics-state.json.",
  examples: ['<%= config.bin %> metrics', '<%= config.bin %> metrics --output /var/lib/node_exporter/textfile_collector/claude_failover.prom', '<%= config.bin %> metrics --format openmetrics | promtool check metrics'],
  flags: {
    format: flag.string({description: 'exposition format (default: metrics.format, else prometheus)', helpValue: 'prometheus|openmetrics', options: ['prometheus', 'openmetrics']}),
    output: flag.string({description: 'write to this file atomically instead of stdout (e.g. a node_exporter textfile collector folder; the name must end in .prom there)', helpValue: 'FILE'}),
  },
  id: 'metrics',
  async run(ctx) {
    const config = await ctx.config()
    const {exportMetrics} = await import('../lib/metrics/metrics.js')
    const format = (ctx.flags.format ?? config.metrics.format) as 'prometheus' | 'openmetrics'
    return exportMetrics(config, {now: () => new Date(), tmux: tmuxFor(config)}, {format, ...(ctx.flags.output ? {output: ctx.flags.output} : {})})
  },
  render: (result) => (result.output ? `wrote ${result.families} metric families to ${result.output}` : result.text.replace(/\n$/, '')),
  summary: 'Export accounts, usage, swaps, sessions and tasks as Prometheus/OpenMetrics text.',
})
