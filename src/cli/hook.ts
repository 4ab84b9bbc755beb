import {defineCommand} from '../lib/command.js'

export default defineCommand({
  description:
    'Claude Code runs this on SessionStart, Stop and StopFailure through the --settings file every launch passes. It reads the event JSON on stdin and appends one record (conversation id, transcript path, event, error) to state_dir/signals/<session>.jsonl, using CLAUDE_FAILOVER_SESSION and CLAUDE_FAILOVER_STATE_DIR from the launch line. When the settings file names them (CLAUDE_FAILOVER_ON=limit,stop), a usage-limit StopFailure starts quota check and the Stop of a task, while another task waits, starts dispatch, both detached and de-duplicated. It prints nothing and always exits 0 within milliseconds, even on garbage input: a hook must never stop Claude Code.',
  examples: ['echo \'{"hook_event_name":"Stop","session_id":"…"}\' | CLAUDE_FAILOVER_SESSION=ccl-auto-11 CLAUDE_FAILOVER_STATE_DIR=~/.local/state/claude-failover <%= config.bin %> hook'],
  flags: {},
  id: 'hook',
  async run() {
    const {handleHook} = await import('../lib/hook.js')
    await handleHook(process.stdin, process.env)
    // Nothing may keep a hook alive past its deadline, and it prints nothing (not even under --json).
    process.exit(0)
  },
  summary: 'The Claude Code hook handler (not for humans).',
})
