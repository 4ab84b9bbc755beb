import {defineCommand, flag} from '../../lib/command.js'

export default defineCommand({
  aliases: ['quota-classify'],
  args: [{description: 'pane capture (tmux capture-pane -p -J); stdin when absent or -', name: 'file'}],
  description:
    'Classifies one pane capture the way quota check reads a session: quota_exhausted (with reset_at), rate_limited, server_error, auth_error, working, idle, awaiting_input or unknown, with the rule that decided, a 120-character snippet and the witness that decided (source: transcript, hook or pane; records decide first when --transcript/--hook are given). The operator\'s "why did (or didn\'t) this pane swap?". Needs no config file: --config is accepted like on every command (scripts pass it to all) but not read; --tz gives the zone.',
  examples: [
    'tmux capture-pane -p -J -t ccl-auto-11 | <%= config.bin %> quota classify --json',
    '<%= config.bin %> quota classify pane.txt --now 2026-03-08T14:30:00Z --tz Europe/Paris',
    '<%= config.bin %> quota classify pane.txt --transcript ~/.claude/projects/-home-ops-app/<session>.jsonl --json',
  ],
  flags: {
    now: flag.string({description: 'the capture moment, ISO-8601 with a zone (default: now); a time-only reset is the next one after it', helpValue: 'ISO-8601'}),
    tz: flag.string({description: 'time zone of the claude process, for banners that show none (default: this process zone)', helpValue: 'Area/City'}),
    transcript: flag.string({description: "the session's transcript (JSONL): its limit record decides first, with the exact reset", helpValue: 'FILE'}),
    hook: flag.string({description: 'the newest hook record of the session (JSON, e.g. the StopFailure payload)', helpValue: 'FILE'}),
  },
  id: 'quota:classify',
  async run(ctx) {
    const {classifyCapture, defaultClassifyDeps} = await import('../../lib/quota/classify-input.js')
    const {classification: c} = await classifyCapture({file: ctx.args.file, hook: ctx.flags.hook, now: ctx.flags.now, transcript: ctx.flags.transcript, tz: ctx.flags.tz}, defaultClassifyDeps(ctx.stdin))
    return {verdict: c.verdict, reset_at: c.reset_at, scope: c.scope, pattern: c.pattern, snippet: c.snippet, source: c.source ?? 'pane'}
  },
  async render(c, ctx) {
    const {colour, relative} = await import('../../lib/render.js')
    const {parseNow} = await import('../../lib/quota/classify-input.js')
    const paint = c.verdict === 'quota_exhausted' || c.verdict === 'auth_error' ? colour.bad : c.verdict === 'working' || c.verdict === 'idle' ? colour.good : colour.warn
    const reset = c.reset_at ? ` · resets ${c.reset_at} (${relative(c.reset_at, ctx.flags.now ? parseNow(ctx.flags.now) : new Date())})` : ''
    const scope = `${c.scope ? ` · scope ${c.scope}` : ''} · from the ${c.source}`
    return `${paint(c.verdict)} ${colour.dim(`(${c.pattern})`)}${scope}${reset}${c.snippet ? `\n  ${c.snippet}` : ''}`
  },
  summary: 'Classify one pane capture and say why (the detector of quota check).',
})
