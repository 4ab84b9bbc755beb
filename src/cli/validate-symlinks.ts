import {defineCommand, flag, WAIT_FLAG} from '../lib/command.js'
import {fail} from '../lib/errors.js'

export default defineCommand({
  description:
    'In every account home, each shared dir (projects, file-history, session-env) must be a link to the same folder under shared.root, so a conversation started under one account resumes under another. Prints one line per problem (missing, real directory, dangling, diverging) and exits 78 on any. --fix creates only links whose path does not exist; it never replaces anything.',
  examples: ['<%= config.bin %> validate-symlinks', '<%= config.bin %> validate-symlinks --fix', '<%= config.bin %> validate-symlinks --account backup --json'],
  async run(ctx) {
    const {validateSymlinks} = await import('../lib/symlinks.js')
    const report = await validateSymlinks(await ctx.config(), {accounts: ctx.flags.account, fix: ctx.flags.fix && !ctx.flags['dry-run'], wait: ctx.flags.wait})
    for (const fixed of report.fixed) ctx.log.info(`created ${fixed.path} -> ${fixed.target}`)
    return report
  },
  async failure(report) {
    if (report.ok) return undefined
    const {describeProblem} = await import('../lib/symlinks.js')
    return fail('config', `${report.problems.length} shared-link problem(s); conversations cannot safely resume across accounts until they are fixed`, {
      details: report.problems.map((p) => describeProblem(p)),
    })
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
    return report.ok ? `ok: ${config.accounts.length} account home(s) share ${config.shared.dirs.join(', ')} through ${config.shared.root}` : ''
  },
  summary: 'Check that every account home shares the same transcript roots (the startup guard).',
})
