import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import {configCandidates} from '../../src/lib/config.js'
import {parseDuration} from '../../src/lib/duration.js'
import {FailoverError} from '../../src/lib/errors.js'
import {ROOT, runCli, tempDir, writeTree} from '../helpers/env.js'

const BASE = 'accounts: [{name: main, home: ~/.claude-main}]\nshared: {root: ~/.claude-shared}\n'
const HOME = '/home/op'

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, '/etc/cf/config.yaml', HOME)
  } catch (error) {
    expect(error).toBeInstanceOf(FailoverError)
    expect((error as FailoverError).exitCode).toBe(78)
    return (error as FailoverError).details
  }

  throw new Error('expected the config to be rejected')
}

describe('config', () => {
  it('loads the annotated example with every key resolved', () => {
    const file = join(ROOT, 'config.example.yaml')
    const config = parseConfig(readFileSync(file, 'utf8'), file, HOME)
    expect(config.stateDir).toBe('/home/op/.local/state/claude-failover')
    expect(config.accounts.map((a) => a.name)).toEqual(['main', 'backup'])
    expect(config.accounts[0]?.home).toBe('/home/op/.claude-main')
    expect(config.autonomous).toEqual({max: 10, min: 10, prefix: 'ccl-auto-', startIndex: 11})
    expect(config.quota.reactivateCooldownMs).toBe(5 * 60_000)
    expect(config.dispatcher.taskTimeoutMs).toBe(2 * 3_600_000)
    expect(config.janitor.archiveAfterMs).toBe(7 * 86_400_000)
    expect(config.dedicated[0]).toEqual({cwd: '/home/op/src/conformvault', relaunch: true, session: 'ccl-1-conformvault'})
    expect(config.notifications.telegram).toEqual({apiBase: 'https://api.telegram.org', botTokenEnv: 'TELEGRAM_BOT_TOKEN', chatId: '123456'})
    expect(config.activeLink).toBe('/home/op/.claude')
  })

  it('applies defaults through the transforms (durations become milliseconds)', () => {
    const config = parseConfig(BASE, '/etc/cf/config.yaml', HOME)
    expect(config.quota).toMatchObject({captureLines: 40, confirmPolls: 2, reactivateCooldownMs: 300_000, resetGraceMs: 300_000})
    expect(config.watcher.stallAfterMs).toBe(30 * 60_000)
    expect(config.shared.dirs).toEqual(['projects', 'file-history', 'session-env'])
    expect(config.claude).toEqual({args: [], binary: 'claude', continueMessage: 'Continue where you left off.'})
    expect(config.lock.staleMs).toBe(60_000)
  })

  it('resolves relative paths against the config file and ~ against home', () => {
    const config = parseConfig('state_dir: ./state\naccounts: [{name: a, home: ../homes/a}]\nshared: {root: ~/shared}\n', '/etc/cf/config.yaml', HOME)
    expect(config.stateDir).toBe('/etc/cf/state')
    expect(config.accounts[0]?.home).toBe('/etc/homes/a')
    expect(config.shared.root).toBe('/home/op/shared')
  })

  it('keeps the Go daemon key names and meaning (start_index, reactivate_cooldown)', () => {
    const config = parseConfig(`${BASE}autonomous: {prefix: "ccl-auto-", start_index: 11, min: 10, max: 10}\nquota: {reactivate_cooldown: 5m0s}\n`, '/c.yaml', HOME)
    expect(config.autonomous.startIndex).toBe(11)
    expect(config.quota.reactivateCooldownMs).toBe(300_000)
  })

  it.each([
    ['an unknown key, with a suggestion', `${BASE}tmux: {sockt: /x}\n`, /^\/etc\/cf\/config\.yaml: tmux\.sockt: unknown key \(did you mean "socket"\?\); valid keys here: socket, timeout$/],
    ['an unknown top-level key', `${BASE}acounts: []\n`, /acounts: unknown key \(did you mean "accounts"\?\)/],
    ['a duration without a unit', `${BASE}quota: {reset_grace: 5 minutes}\n`, /quota\.reset_grace: must be a duration .* \(got "5 minutes"\); e\.g\. reset_grace: 5m$/],
    ['a bare number as a duration', `${BASE}watcher: {stall_after: 30}\n`, /watcher\.stall_after: must be a duration .*\(got 30\); e\.g\. stall_after: 30m$/],
    ['a wrong type', `${BASE}quota: {confirm_polls: two}\n`, /quota\.confirm_polls: must be a whole number ≥ 1 \(got "two"\); e\.g\. confirm_polls: 2$/],
    ['a negative count', `${BASE}autonomous: {start_index: -1}\n`, /autonomous\.start_index: must be a whole number ≥ 0 \(got -1\); e\.g\. start_index: 11$/],
    ['no accounts', 'accounts: []\nshared: {root: /s}\n', /accounts: must list at least one account \(got \[\]\); e\.g\. accounts:/],
    ['a missing required key', 'accounts: [{name: main, home: /h}]\n', /shared: .*\(missing\); e\.g\. shared:/],
    ['a bad account name', 'accounts: [{name: "main:1", home: /h}]\nshared: {root: /s}\n', /accounts\[0\]\.name: must use only letters, digits, _ and - \(got "main:1"\); e\.g\. name: main$/],
    ['a pool prefix with tmux target syntax', `${BASE}autonomous: {prefix: "ccl.auto"}\n`, /autonomous\.prefix: must use only letters, digits, _ and - .*e\.g\. prefix: "ccl-auto-"$/],
    ['a bad time zone', `${BASE}quota: {timezone: Mars/Olympus}\n`, /quota\.timezone: must be an IANA zone such as Europe\/Paris \(got "Mars\/Olympus"\)/],
    ['a secret in place of an env var name', `${BASE}notifications: {telegram: {bot_token_env: "123:ABC-def", chat_id: 1}}\n`, /notifications\.telegram\.bot_token_env: must be the name of an environment variable/],
    ['a non-URL webhook', `${BASE}notifications: {webhook: {url: "hooks.example.org"}}\n`, /notifications\.webhook\.url: must be an http\(s\) URL \(got "hooks\.example\.org"\)/],
    ['min above max', `${BASE}autonomous: {min: 5, max: 2}\n`, /autonomous\.min: 5 is more than autonomous\.max 2; e\.g\. min: 2$/],
    ['a dedicated session inside the pool', `${BASE}autonomous: {prefix: "ccl-auto-", start_index: 11, max: 10}\ndedicated: [{session: ccl-auto-12, cwd: /w}]\n`, /dedicated\[0\]\.session: "ccl-auto-12" is inside the autonomous pool ccl-auto-11\.\.ccl-auto-20/],
    ['two accounts with one name', 'accounts: [{name: a, home: /a}, {name: a, home: /b}]\nshared: {root: /s}\n', /accounts: the name "a" is used twice/],
    ['YAML syntax', 'accounts: [{name: main\nshared: {root: /s}\n', /line \d+, column \d+: .*e\.g\. "state_dir:/],
    ['a duplicate key', `${BASE}state_dir: /a\nstate_dir: /b\n`, /line 4, column 1: Map keys must be unique/],
    ['a document that is not a mapping', '- a\n- b\n', /the file must be a YAML mapping of keys/],
  ])('rejects %s with one line naming the key, the value and an example', (_name, yaml, pattern) => {
    const lines = problems(yaml)
    expect(lines.some((line) => pattern.test(line)), lines.join('\n')).toBe(true)
  })

  it('reports one YAML mistake once: one line, its position said once, the line quoted', () => {
    const lines = problems('state_dir: ./state\naccounts:\n- name: main\n  home: ./main\n  - name: backup\nshared: {root: /s}\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/line 5, column 1: A block sequence may not be used as an implicit map key in "  - name: backup"; check its indentation against the lines above \(the file must be YAML, e\.g\. "state_dir: /)
    expect(lines[0]?.match(/line \d+/g)).toHaveLength(1)
  })

  it('reports every problem of a file, one line each', () => {
    const lines = problems(`${BASE}quota: {confirm_polls: 0, reset_grace: soon}\ntmux: {timeout: fast}\n`)
    expect(lines).toHaveLength(3)
  })

  it('looks for the config in the documented order', () => {
    expect(configCandidates('/x/c.yaml', {}, HOME)).toEqual(['/x/c.yaml'])
    expect(configCandidates(undefined, {CLAUDE_FAILOVER_CONFIG: '/env/c.yaml'}, HOME)).toEqual(['/env/c.yaml'])
    expect(configCandidates(undefined, {}, HOME)).toEqual(['/home/op/.config/claude-failover/config.yaml', '/etc/claude-failover/config.yaml'])
  })

  it('parses durations, including compounds, and refuses unitless ones', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('7d')).toBe(604_800_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('30')).toBeUndefined()
    expect(parseDuration('5 m')).toBeUndefined()
    expect(parseDuration('')).toBeUndefined()
    // Too long to be a safe integer: refused, not stored as Infinity (JSON null).
    expect(parseDuration(`${'9'.repeat(400)}d`)).toBeUndefined()
  })

  it('refuses a tmux timeout of nothing (a call that never times out) and an endless duration', () => {
    expect(problems(`${BASE}tmux: {timeout: 0s}\n`)).toEqual([expect.stringMatching(/^\/etc\/cf\/config\.yaml: tmux\.timeout: must be at least 100 ms/)])
    expect(problems(`${BASE}lock: {stale: ${'9'.repeat(400)}d}\n`)).toEqual([expect.stringMatching(/lock\.stale: must be a duration with a unit/)])
  })

  it('exits 78 from the CLI with one stderr line per problem, also under --json', async () => {
    const {cleanup, dir} = tempDir()
    try {
      writeTree(dir, {'c.yaml': `${BASE}quota: {confirm_polls: two}\ntmux: {sockt: /x}\n`})
      const human = await runCli(['status', '--config', join(dir, 'c.yaml')])
      expect(human.code).toBe(78)
      expect(human.stdout).toBe('')
      const lines = human.stderr.trim().split('\n')
      expect(lines[0]).toBe('claude-failover: error: invalid configuration (2 problems)')
      expect(lines.slice(1).every((line) => line.startsWith(`  ${join(dir, 'c.yaml')}: `))).toBe(true)

      const json = await runCli(['status', '--json', '--config', join(dir, 'c.yaml')])
      expect(json.code).toBe(78)
      const doc = JSON.parse(json.stdout) as {error: {code: string; exit: number; details: string[]}}
      expect(doc.error).toMatchObject({code: 'CONFIG', exit: 78})
      expect(doc.error.details).toHaveLength(2)

      const missing = await runCli(['status', '--config', join(dir, 'nope.yaml')])
      expect(missing.code).toBe(78)
      expect(missing.stderr).toContain('config file not found')
    } finally {
      cleanup()
    }
  })
})
