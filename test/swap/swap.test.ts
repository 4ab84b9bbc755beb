// The swap end to end: real tmux, the simulated claude, real processes.
import {readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {tmux, waitFor} from '../helpers/env.js'
import {deadEndpoint} from '../helpers/loopback.js'
import {exhaustEveryAccount, type Pool, resumes, workingPool as sharedWorkingPool} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

/** Two pool sessions mid-task on `main`, `active_link` on main, text in the operator's session. */
async function workingPool(extraYaml = '', options: {lockStale?: string} = {}): Promise<Pool> {
  const p = await sharedWorkingPool({extraYaml: `active_link: ./active\n${extraYaml}`, ...options})
  symlinkSync(join(p.dir, 'main'), join(p.dir, 'active'))
  await tmux(p.socket, ['send-keys', '-t', '=ccl-0:', '-l', '--', 'operator text stays'])
  return p
}

describe('swap', () => {
  it('moves a working pool to the next account and every conversation continues there with its own id', async () => {
    pool = await workingPool()
    const p = pool
    const before = await readStateSnapshot(p.config)
    const ids = ['ccl-auto-11', 'ccl-auto-12'].map((n) => before.state.sessions[n]?.conversation_id)
    const operatorPane = (await tmux(p.socket, ['display-message', '-p', '-t', '=ccl-0:', '#{pane_id} #{pane_pid}'])).stdout

    const result = await p.cli(['swap', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout)
    expect(doc).toMatchObject({from: 'main', to: 'backup'})
    expect(doc.sessions).toEqual([
      expect.objectContaining({conversation_id: ids[0], name: 'ccl-auto-11', resumed: true}),
      expect.objectContaining({conversation_id: ids[1], name: 'ccl-auto-12', resumed: true}),
    ])

    for (const [i, name] of ['ccl-auto-11', 'ccl-auto-12'].entries()) {
      await waitFor(async () => (await resumes(p, name)).length > 0)
      expect(await resumes(p, name)).toEqual([{conversation: ids[i], home: join(p.dir, 'backup')}])
      await waitFor(async () => (await p.pane(name)).includes('Continue where you left off.'))
    }

    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'backup', last_swap: {from: 'main', to: 'backup'}, swap_journal: null})
    expect(state.sessions['ccl-auto-11']).toMatchObject({account: 'backup', conversation_id: ids[0], state: 'working'})
    expect(readlinkSync(join(p.dir, 'active'))).toBe(join(p.dir, 'backup'))
    // The operator's session outside the pool is untouched.
    expect((await tmux(p.socket, ['display-message', '-p', '-t', '=ccl-0:', '#{pane_id} #{pane_pid}'])).stdout).toBe(operatorPane)
    expect(await p.pane('ccl-0')).toContain('operator text stays')
    expect((await readRecentEvents(p.config.stateDir, 20)).map((e) => e.event)).toContain('swap')
  })

  it('dedicated sessions follow the account with their conversation; relaunch: false ones are left alone', async () => {
    pool = await workingPool('dedicated:\n  - {session: ccl-1-vault, cwd: ./proj, relaunch: true}\n  - {session: ccl-2-keep, cwd: ./proj, relaunch: false}')
    const p = pool
    for (const name of ['ccl-1-vault', 'ccl-2-keep']) {
      await tmux(p.socket, ['new-session', '-d', '-s', name, '-c', p.project])
      // The operator started Claude Code there with the pool's hooks, as the README shows.
      const line = `CLAUDE_CONFIG_DIR=${join(p.dir, 'main')} CLAUDE_FAILOVER_SESSION=${name} CLAUDE_FAILOVER_STATE_DIR=${p.config.stateDir} ${p.config.claude.binary} --dangerously-skip-permissions --settings ${join(p.config.stateDir, 'hooks-settings.json')} "hello from ${name}"`
      await tmux(p.socket, ['send-keys', '-t', `=${name}:`, '-l', '--', line])
      await tmux(p.socket, ['send-keys', '-t', `=${name}:`, 'Enter'])
    }

    await waitFor(async () => (await p.signals('ccl-1-vault')).some((s) => s.event === 'SessionStart') && (await p.signals('ccl-2-keep')).some((s) => s.event === 'SessionStart'))
    const vaultId = (await p.signals('ccl-1-vault')).find((s) => s.event === 'SessionStart')?.conversation_id
    const keepPane = (await tmux(p.socket, ['display-message', '-p', '-t', '=ccl-2-keep:', '#{pane_pid}'])).stdout

    const result = await p.cli(['swap', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).sessions).toContainEqual(expect.objectContaining({conversation_id: vaultId, kind: 'dedicated', name: 'ccl-1-vault', resumed: true}))
    await waitFor(async () => (await resumes(p, 'ccl-1-vault')).length > 0)
    expect(await resumes(p, 'ccl-1-vault')).toEqual([{conversation: vaultId, home: join(p.dir, 'backup')}])
    expect((await tmux(p.socket, ['display-message', '-p', '-t', '=ccl-2-keep:', '#{pane_pid}'])).stdout).toBe(keepPane)
    expect(await resumes(p, 'ccl-2-keep')).toEqual([])
  })

  it('a dedicated session with Claude Code running but no turn yet comes back on the new account with a new conversation, saying why', async () => {
    pool = await workingPool('dedicated:\n  - {session: ccl-1-vault, cwd: ./proj, relaunch: true}')
    const p = pool
    await tmux(p.socket, ['new-session', '-d', '-s', 'ccl-1-vault', '-c', p.project])
    // The operator started Claude Code with the pool's hooks and has not typed anything yet.
    const line = `CLAUDE_CONFIG_DIR=${join(p.dir, 'main')} CLAUDE_FAILOVER_SESSION=ccl-1-vault CLAUDE_FAILOVER_STATE_DIR=${p.config.stateDir} ${p.config.claude.binary} --dangerously-skip-permissions --settings ${join(p.config.stateDir, 'hooks-settings.json')}`
    await tmux(p.socket, ['send-keys', '-t', '=ccl-1-vault:', '-l', '--', line])
    await tmux(p.socket, ['send-keys', '-t', '=ccl-1-vault:', 'Enter'])
    await waitFor(async () => (await p.signals('ccl-1-vault')).some((s) => s.event === 'SessionStart'))
    const first = (await p.signals('ccl-1-vault')).find((s) => s.event === 'SessionStart')?.conversation_id

    const result = await p.cli(['swap', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const vault = JSON.parse(result.stdout).sessions.find((s: {name: string}) => s.name === 'ccl-1-vault')
    expect(vault).toMatchObject({fresh: true, kind: 'dedicated', reason: `conversation ${first} had no turn yet (nothing to resume): started a new conversation`, resumed: false})
    expect(vault.reason).not.toMatch(/not reachable/)
    expect(vault.conversation_id).not.toBe(first)
    // Claude Code runs again in the session, on the backup account, in the new conversation
    const started = await waitFor(async () => (await p.signals('ccl-1-vault')).find((s) => s.event === 'SessionStart' && s.config_dir === join(p.dir, 'backup')), 15_000)
    expect(started).toMatchObject({conversation_id: vault.conversation_id, source: 'startup'})
  })

  it('refuses to swap into a home whose shared link is broken, and kills nothing', async () => {
    pool = await workingPool()
    const p = pool
    rmSync(join(p.dir, 'backup', 'projects'))
    const result = await p.cli(['swap'])
    expect(result.code).toBe(78)
    expect(result.stderr).toMatch(/refusing to swap into backup: its shared links are broken .*missing link/)
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('main')
    expect(await resumes(p, 'ccl-auto-11')).toEqual([])
    expect((await p.signals('ccl-auto-11')).filter((s) => s.event === 'SessionStart')).toHaveLength(1)
    expect((await readRecentEvents(p.config.stateDir, 10)).map((e) => e.event)).toContain('swap_failed')
  })

  it('with every account exhausted: no swap, dispatch paused until the earliest reset, exit 75', async () => {
    pool = await workingPool()
    const p = pool
    await exhaustEveryAccount(p.config)
    const result = await p.cli(['swap'])
    expect(result.code).toBe(75)
    expect(result.stderr).toContain('all accounts are exhausted until 2099-01-01T10:00:00.000Z')
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'main', dispatch_paused_until: '2099-01-01T10:00:00.000Z'})
    p.addTask('gamma', 'waits')
    const dispatched = await p.cli(['dispatch', '--json'])
    expect(JSON.parse(dispatched.stdout)).toMatchObject({dispatched: [], paused_until: '2099-01-01T10:00:00.000Z'})
  })

  it('--dry-run prints the plan and changes nothing', async () => {
    pool = await workingPool()
    const p = pool
    const result = await p.cli(['swap', '--dry-run', '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({dry_run: true, from: 'main', to: 'backup'})
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('main')
    expect(await resumes(p, 'ccl-auto-11')).toEqual([])
  })

  it('a dead notification endpoint does not fail the swap, and the token appears nowhere', async () => {
    const dead = await deadEndpoint()
    pool = await workingPool(`notifications:\n  timeout: 1s\n  telegram: {bot_token_env: CF_SWAP_TOKEN, chat_id: "1", api_base: "${dead}"}\n  webhook: {url: "${dead}/hook"}`)
    const p = pool
    const token = '777:SWAP-secret-token'
    const result = await p.cli(['swap', '--json'], {CF_SWAP_TOKEN: token})
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({from: 'main', to: 'backup'})
    expect(result.stderr).toMatch(/warning: .*telegram/)
    const events = await readRecentEvents(p.config.stateDir, 50)
    expect(events.filter((e) => e.event === 'notify_failed').map((e) => e.channel).sort()).toEqual(['telegram', 'webhook'])
    expect(result.stdout + result.stderr).not.toContain(token)
    for (const file of readdirSync(p.config.stateDir, {recursive: true}) as string[]) {
      const full = join(p.config.stateDir, file)
      if (statSync(full).isFile()) expect(readFileSync(full, 'utf8')).not.toContain(token)
    }
  })

  it('two swaps started at once run one after the other', async () => {
    // --wait keeps trying for about 1.5 × lock.stale: the tests' 3 s gave the second swap ~7 s,
    // less than the first one takes on a loaded machine. 60 s is the default.
    pool = await workingPool('', {lockStale: '60s'})
    const p = pool
    const [a, b] = await Promise.all([p.cli(['swap', '--wait', '--json']), p.cli(['swap', '--wait', '--json'])])
    expect([a.code, b.code], `${a.stderr}\n${b.stderr}`).toEqual([0, 0])
    const swaps = (await readRecentEvents(p.config.stateDir, 50)).filter((e) => e.event === 'swap')
    expect(swaps.map((e) => `${e.from}->${e.to}`)).toEqual(['main->backup', 'backup->main'])
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'main', swap_journal: null})
    // Each conversation was resumed once per swap: never in two processes at a time. (The second
    // resume's hook record may land after the swap has returned.)
    await waitFor(async () => (await resumes(p, 'ccl-auto-11')).length >= 2)
    expect((await resumes(p, 'ccl-auto-11')).map((r) => r.home)).toEqual([join(p.dir, 'backup'), join(p.dir, 'main')])
  })
})
