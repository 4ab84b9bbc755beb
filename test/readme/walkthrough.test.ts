// README's walkthrough, run verbatim as a new user would paste it: from the checkout, in bash, with
// the simulated claude. Its commands and their output are the documentation; this keeps them true.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {ROOT, runProcess, tempDir, tmux} from '../helpers/env.js'

let home: ReturnType<typeof tempDir> | undefined
let scratch: string | undefined
afterEach(async () => {
  if (scratch) await tmux(join(scratch, 'tmux.sock'), ['kill-server'])
  if (scratch) await runProcess('rm', ['-rf', scratch])
  home?.cleanup()
  home = undefined
  scratch = undefined
})

/** The shell block between the walkthrough markers of README.md. */
function walkthrough(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /<!-- walkthrough:start -->\n```sh\n([^]*?)```\n<!-- walkthrough:end -->/.exec(readme)?.[1]
  if (!block) throw new Error('README.md has no walkthrough block')
  return block
}

describe("README's walkthrough", () => {
  it('runs verbatim: config, links, homes, tasks, tick, a swap on a rehearsed limit, status', async () => {
    // A HOME of its own: the panes' shell reads no rc file of this machine, the config cache is fresh.
    home = tempDir('cf-walk-home-')
    const script = `set -euo pipefail\ncd ${JSON.stringify(ROOT)}\n${walkthrough()}\necho "scratch=$W"\n`
    const {NODE_ENV: _ignored, CLAUDE_FAILOVER_CONFIG: _config, ...env} = process.env
    const result = await runProcess('bash', ['-c', script], {env: {...env, HOME: home.dir, SHELL: '/bin/sh'}, timeoutMs: 240_000})
    scratch = /scratch=(\S+)/.exec(result.stdout)?.[1]
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
    const out = result.stdout
    // task add printed both paths; task list shows the dependency kept from the stdin frontmatter
    expect(out).toMatch(/\/web\/\.agent-queue\/inbox\/build-base\.md\n/)
    expect(out).toMatch(/status-json\s+inbox\s+0\s+build-base/)
    // status: backup active, main exhausted, the swap, both tasks done, nothing needs a human
    expect(out).toMatch(/main\s+\S*\s*\d{4}-\d\d-\d\dT\S+ \(in /)
    expect(out).toMatch(/backup\s+yes/)
    expect(out).toMatch(/Last swap main -> backup at /)
    expect(out).toMatch(/web\s+0\s+0\s+0\s+0\s+2\s+0/)
    expect(out).toContain('nothing needs a human')
    expect(readFileSync(join(scratch as string, 'web', '.agent-queue', 'done', 'status-json.md'), 'utf8')).toContain('depends_on: [build-base]')
  }, 300_000)
})
