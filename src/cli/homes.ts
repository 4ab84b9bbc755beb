import {defineCommand, flag} from '../lib/command.js'
import {fail} from '../lib/errors.js'

export default defineCommand({
  description:
    "A home that never finished Claude Code's first launch stops at a screen nobody answers in an unattended pool: the theme picker, the folder-trust question, the bypass-permissions warning, the API-key approval. Prints one line per account home that would stop, naming the screen and the file, and exits 78 on any. --fix writes only the missing answers (onboarding done, trust for every configured project, projects_dir and dedicated cwd, the bypass warning accepted when claude.args bypass permissions, the key in settings.json approved), merged into .claude.json and settings.json atomically with their modes kept; a file that does not parse is reported and never rewritten.",
  examples: ['$ <%= config.bin %> homes', '$ <%= config.bin %> homes --fix', '$ <%= config.bin %> homes --fix --dry-run --account backup'],
  async run(ctx) {
    const {prepareHomes} = await import('../lib/homes.js')
    const report = await prepareHomes(await ctx.config(), {accounts: ctx.flags.account, dryRun: ctx.flags['dry-run'], fix: ctx.flags.fix})
    const verb = ctx.flags['dry-run'] ? 'would write' : 'wrote'
    for (const fixed of report.fixed) ctx.log.info(`${fixed.account}: ${verb} ${fixed.keys.join(', ')} in ${fixed.file}`)
    for (const warning of report.warnings) ctx.log.warn(warning)
    return report
  },
  async failure(report) {
    if (report.ok) return undefined
    const {describeHomeProblem} = await import('../lib/homes.js')
    return fail('config', `${report.problems.length} problem(s) in the account homes: a launch there would wait for an answer nobody gives`, {
      details: report.problems.map((p) => describeHomeProblem(p)),
    })
  },
  flags: {
    account: flag.strings({description: 'check only this account (repeatable)', helpValue: 'NAME'}),
    'dry-run': flag.boolean({description: 'with --fix: say what would be written, write nothing'}),
    fix: flag.boolean({description: 'write the missing answers (only those keys; everything else is kept)'}),
  },
  id: 'homes',
  async render(report, ctx) {
    const config = await ctx.config()
    if (!report.ok) return ''
    return report.fixed.length > 0 && ctx.flags['dry-run'] ? `${report.fixed.length} file(s) would change` : `ok: ${config.accounts.length} account home(s) start without a first-launch screen`
  },
  summary: 'Check (and with --fix prepare) every account home so Claude Code starts there without a first-launch screen.',
})
