import {Flags} from '@oclif/core'

import {BaseCommand, waitFlag} from '../lib/base-command.js'
import {fail} from '../lib/errors.js'
import {describeProblem, type LinkReport, validateSymlinks} from '../lib/symlinks.js'

export default class ValidateSymlinks extends BaseCommand<typeof ValidateSymlinks> {
  static override description =
    'Check that every account home links each shared dir (projects, file-history, session-env) to the shared root, so conversations can resume across accounts. One line per problem; exits 78 on any. --fix only creates links where nothing exists.'

  static override examples = ['<%= config.bin %> validate-symlinks', '<%= config.bin %> validate-symlinks --fix', '<%= config.bin %> validate-symlinks --account backup --json']
  static override flags = {
    account: Flags.string({description: 'check only this account (repeatable)', multiple: true}),
    'dry-run': Flags.boolean({description: 'with --fix: list the links it would create, create nothing'}),
    fix: Flags.boolean({description: 'create the missing links (never replaces anything that exists)'}),
    ...waitFlag,
  }

  async run(): Promise<LinkReport> {
    const config = this.failoverConfig()
    const fix = this.flags.fix && !this.flags['dry-run']
    const report = await validateSymlinks(config, {accounts: this.flags.account, fix, wait: this.flags.wait})
    for (const fixed of report.fixed) this.logger.info(`created ${fixed.path} -> ${fixed.target}`)
    if (!this.jsonEnabled() && report.ok) this.log(`ok: ${config.accounts.length} account home(s) share ${config.shared.dirs.join(', ')} through ${config.shared.root}`)
    if (report.ok) return report
    if (this.jsonEnabled()) {
      // The report is the document; the exit code still says "broken".
      process.exitCode = 78
      return report
    }

    throw fail('config', `${report.problems.length} shared-link problem(s); conversations cannot safely resume across accounts until they are fixed`, {
      details: report.problems.map((p) => describeProblem(p)),
    })
  }
}
