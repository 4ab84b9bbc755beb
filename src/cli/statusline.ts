import {defineCommand} from '../lib/command.js'

export default defineCommand({
  description:
    "Claude Code runs this as its statusLine through the --settings file every launch passes, on every render, with the session's JSON on stdin. It records the JSON's rate_limits (5-hour and weekly used percentage and reset, sent to claude.ai subscription accounts) in state_dir/usage/<session>.json, which quota check (the proactive swap at quota.usage.threshold), status and metrics read. The --settings statusLine replaces the one in the account home's settings.json, so that one, if any, is run here with the same input and its output printed (killed after 2 s). Always exits 0 within 2.5 s, even on garbage input.",
  examples: ['echo \'{"rate_limits":{"five_hour":{"used_percentage":42,"resets_at":1796512993}}}\' | CLAUDE_CONFIG_DIR=~/.claude-main CLAUDE_FAILOVER_SESSION=ccl-auto-11 CLAUDE_FAILOVER_STATE_DIR=~/.local/state/claude-failover <%= config.bin %> statusline'],
  flags: {},
  id: 'statusline',
  async run() {
    const {handleStatusLine} = await import('../lib/usage/statusline.js')
    const output = await handleStatusLine(process.stdin, process.env)
    // What it prints is the status line, nothing else (not even under --json); then nothing may keep it alive.
    process.stdout.write(output, () => process.exit(0))
  },
  summary: 'The Claude Code statusLine command (not for humans).',
})
