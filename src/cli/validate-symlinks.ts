import {defineCommand, flag, WAIT_FLAG} from '../lib/command.js'
import {fail} from '../lib/errors.js'

export default defineCommand({
  description:
    'In every account home, each shared dir (projects, file-history, session-env) must be a link to the same folder under shared.root, so a conversation started under one account resumes under another. Prints one line per problem (missing, real directory, dangling, diverging) and exits 78 on any. --fix creates only links whose path does not exist; it never replaces anything.',
  examples: ['<%= config.bin %> validate-symlinks', '<%= config.bin %> validate-symlinks --fix', '<%= config.bin %> validate-symlinks --account backup --json'],
  async run(ctx) {
    const {validateSymlinks} = await import('../lib/symlinks.js')
    const report = await validateSymlinks(await ctx.config(), {accounts: ctx.flags.account, dryRun: ctx.flags['dry-run'], fix: ctx.flags.fix, wait: ctx.flags.wait})
    for (const fixed of report.fixed) ctx.log.info(`created ${fixed.path} -> ${fixed.target}`)
    return report
  },
  async failure(report) {
    if (report.ok) return undefined
    const {describeProblem} = await import('../lib/symlinks.js')
    // A dry run of --fix lists what it would create on stdout; here only what it would leave.
    const planned = new Set((report.would_create ?? []).map((c) => c.path))
    const left = report.problems.filter((p) => !(p.problem === 'missing' && planned.has(p.path)))
    const fixNote = planned.size > 0 ? `; --fix would create ${planned.size} of them (listed above)${left.length > 0 ? `, the other ${left.length} need a human` : ''}` : '; conversations cannot safely resume across accounts until they are fixed'
    return fail('config', `${report.problems.length} shared-link problem(s)${fixNote}`, {details: left.map((p) => describeProblem(p))})
  },
  flags: {
    account: flag.strings({description: 'check only this account (repeatable)', helpValue: 'NAME'}),
    'dry-run': flag.boolean({description: 'with --fix: only report, create nothing'}),
    fix: flag.boolean({description: 'create the missing links (never replaces anything that exists)'}),
    ...WAIT_FLAG,
  },
  id: 'validate-symlinks',
  async render(report, ctx) {
    const config = await ctx.config()
    if (report.would_create && report.would_create.length > 0) return report.would_create.map((c) => `would create ${c.path} -> ${c.target}`).join('\n')
    return report.ok ? `ok: ${config.accounts.length} account home(s) share ${config.shared.dirs.join(', ')} through ${config.shared.root}` : ''
  },
  summary: 'Check that every account home shares the same transcript roots (the startup guard).',
})
