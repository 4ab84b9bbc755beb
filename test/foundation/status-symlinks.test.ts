import {mkdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {appendEvent} from '../../src/lib/events.js'
import {withStateLock} from '../../src/lib/lock.js'
import {runCli, type Sandbox, sandbox, startTmuxServer, tmux, writeTree} from '../helpers/env.js'

let box: Sandbox | undefined
afterEach(async () => {
  if (box) await tmux(box.socket, ['kill-server'])
  box?.cleanup()
  box = undefined
})

describe('status', () => {
  it('reports accounts, pool and dedicated sessions, queues, last swap and events as SPEC §1 JSON', async () => {
    box = sandbox(`dedicated: [{session: ccl-1-vault, cwd: ./work}]\nprojects: [{name: web, path: ./web}]\nprojects_dir: ./src`)
    writeTree(box.dir, {
      'src/api/.agent-queue/done/a.md': 'x',
      'src/not-a-project/readme.md': 'x',
      'web/.agent-queue/dispatched/c.md': 'x',
      'web/.agent-queue/done/d.md': 'x',
      'web/.agent-queue/failed/e.md': 'x',
      'web/.agent-queue/inbox/.f.md.tmp-1': 'partial',
      'web/.agent-queue/inbox/blocked.md': 'x',
      'web/.agent-queue/inbox/blocked.md.blocked': 'depends on api:z',
      'web/.agent-queue/inbox/bad.md': 'x',
      'web/.agent-queue/inbox/bad.md.invalid': 'bad yaml',
      'web/.agent-queue/inbox/ready.md': 'x',
    })
    await startTmuxServer(box.socket, 'ccl-0')
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-11'])
    await withStateLock(box.config, {command: 'test'}, async (tx) => {
      tx.state.active_account = 'backup'
      tx.state.accounts.main = {exhausted_until: '2099-01-01T15:00:00.000Z', last_hit: null}
      tx.state.last_swap = {at: '2026-11-21T09:00:00.000Z', from: 'main', to: 'backup'}
      tx.state.sessions['ccl-auto-11'] = {account: 'backup', conversation_id: '4f35e220-c435-4cf7-b9b9-f40426042847', since: '2026-11-21T09:01:00.000Z', state: 'working', task: 'web/c'}
      tx.state.sessions['ccl-auto-12'] = {account: 'main', conversation_id: null, since: '2026-11-21T08:00:00.000Z', state: 'idle', task: null}
      await tx.commit()
    })
    await appendEvent(box.config.stateDir, 'swap', {from: 'main', to: 'backup'}, new Date('2026-11-21T09:00:00Z'))

    const result = await runCli(['status', '--json', '--config', box.configPath])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.active_account).toBe('backup')
    expect(report.accounts).toEqual([
      expect.objectContaining({active: false, exhausted_until: '2099-01-01T15:00:00.000Z', home: join(box.dir, 'main'), name: 'main'}),
      expect.objectContaining({active: true, exhausted_until: null, name: 'backup'}),
    ])
    expect(report.sessions.map((s: {name: string}) => s.name)).toEqual(['ccl-auto-11', 'ccl-auto-12', 'ccl-auto-13', 'ccl-1-vault'])
    expect(report.sessions[0]).toMatchObject({account: 'backup', alive: true, conversation_id: '4f35e220-c435-4cf7-b9b9-f40426042847', state: 'working', task: 'web/c'})
    expect(report.sessions[1]).toMatchObject({alive: false, state: 'dead'})
    expect(report.sessions[2]).toMatchObject({alive: false, state: 'absent'})
    expect(report.queues).toEqual([
      {archived: 0, blocked: 1, dispatched: 1, done: 1, failed: 1, inbox: 1, invalid: 1, project: 'web'},
      {archived: 0, blocked: 0, dispatched: 0, done: 1, failed: 0, inbox: 0, invalid: 0, project: 'api'},
    ])
    expect(report.last_swap).toEqual({at: '2026-11-21T09:00:00.000Z', from: 'main', to: 'backup'})
    expect(report.events).toEqual([{event: 'swap', from: 'main', to: 'backup', ts: '2026-11-21T09:00:00.000Z'}])
    // The operator's session outside the pool is not listed.
    expect(result.stdout).not.toContain('"ccl-0"')

    const human = await runCli(['status', '--config', box.configPath])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/main\s+exhausted|main\s+2099-01-01T15:00:00\.000Z/)
    expect(human.stdout).toMatch(/ccl-auto-11\s+pool\s+yes\s+working\s+web\/c\s+backup\s+4f35e220/)
    expect(human.stdout).toMatch(/web\s+1\s+1\s+1\s+1\s+1\s+1/)
    expect(human.stdout).toContain('main -> backup at 2026-11-21T09:00:00.000Z')
  })

  it('reports a corrupt state file without moving it', async () => {
    box = sandbox()
    mkdirSync(box.config.stateDir, {recursive: true})
    writeFileSync(join(box.config.stateDir, 'state.json'), '{"version": 1, "gen')
    const result = await runCli(['status', '--json', '--config', box.configPath])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).warnings[0]).toMatch(/state\.json is corrupt/)
  })
})

describe('status --events', () => {
  it('shows the last N events, and none for 0', async () => {
    box = sandbox()
    for (const n of [1, 2, 3]) await appendEvent(box.config.stateDir, 'test_event', {n}, new Date())
    const two = JSON.parse((await runCli(['status', '--json', '--events', '2', '--config', box.configPath])).stdout)
    expect(two.events.map((e: {n: number}) => e.n)).toEqual([2, 3])
    const none = await runCli(['status', '--json', '--events', '0', '--config', box.configPath])
    expect(JSON.parse(none.stdout).events).toEqual([])
  })
})

describe('status --check', () => {
  it('exits 0 when nothing needs a human, 69 with one line per reason when something does, 78 for a broken link', async () => {
    box = sandbox()
    await startTmuxServer(box.socket, 'ccl-0')
    expect((await runCli(['validate-symlinks', '--fix', '--config', box.configPath])).code).toBe(0)
    // Homes that never finished Claude Code's first launch need a human too.
    const unready = await runCli(['status', '--check', '--config', box.configPath])
    expect(unready.code).toBe(69)
    expect(unready.stderr).toContain('main: a launch would stop at the theme picker')
    expect((await runCli(['homes', '--fix', '--config', box.configPath])).code).toBe(0)
    const healthy = await runCli(['status', '--check', '--config', box.configPath])
    expect(healthy.code, healthy.stderr).toBe(0)

    await withStateLock(box.config, {command: 'test'}, async (tx) => {
      tx.state.accounts.main = {exhausted_until: '2099-01-01T12:00:00.000Z', last_hit: null}
      tx.state.accounts.backup = {exhausted_until: '2099-01-01T10:00:00.000Z', last_hit: null}
      tx.state.sessions['ccl-auto-11'] = {account: 'main', conversation_id: null, since: '2026-11-21T09:00:00.000Z', state: 'awaiting_input', task: null}
      await tx.commit()
    })
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-11'])
    const sick = await runCli(['status', '--check', '--config', box.configPath])
    expect(sick.code).toBe(69)
    expect(sick.stderr).toContain('every account is exhausted; the earliest is back at 2099-01-01T10:00:00.000Z')
    expect(sick.stderr).toContain('ccl-auto-11 is waiting at a prompt or modal')

    rmSync(join(box.dir, 'backup', 'projects'))
    const broken = await runCli(['status', '--check', '--json', '--config', box.configPath])
    expect(broken.code).toBe(78)
    expect(JSON.parse(broken.stdout).problems).toContainEqual(expect.stringMatching(/^backup: projects: missing link/))
  })
})

describe('status --check: what needs a human in the queues and accounts', () => {
  it('names failed and invalid tasks, a dependency cycle, a missing project folder and a lost login, each until it is dealt with', async () => {
    box = sandbox('projects: [{name: web, path: ./web}, {name: api, path: ./api}]')
    await startTmuxServer(box.socket, 'ccl-0')
    expect((await runCli(['validate-symlinks', '--fix', '--config', box.configPath])).code).toBe(0)
    expect((await runCli(['homes', '--fix', '--config', box.configPath])).code).toBe(0)
    const q = join(box.dir, 'web', '.agent-queue')
    writeTree(q, {
      'failed/broke.md': 'x',
      'inbox/a.md': '---\ndepends_on: [b]\n---\nA.\n',
      'inbox/b.md': '---\ndepends_on: [a]\n---\nB.\n',
      'inbox/bad.md': '---\npriorty: 1\n---\nBad.\n',
    })
    const old = new Date(Date.now() - 60_000)
    for (const f of ['a', 'b', 'bad']) utimesSync(join(q, 'inbox', `${f}.md`), old, old)
    // A dispatch pass judges the inbox and writes the markers
    expect((await runCli(['dispatch', '--config', box.configPath])).code).toBe(0)
    await withStateLock(box.config, {command: 'test'}, async (tx) => {
      tx.state.stuck = {'ccl-auto-12': {account: 'backup', pattern: 'auth_login_required', since: '2026-11-21T09:00:00.000Z', snippet: 'Not logged in · Please run /login', verdict: 'auth_error'}}
      await tx.commit()
    })
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-12'])

    const sick = await runCli(['status', '--check', '--json', '--config', box.configPath])
    expect(sick.code).toBe(69)
    const problems = JSON.parse(sick.stdout).problems as string[]
    expect(problems).toEqual(expect.arrayContaining([
      `ccl-auto-12 has lost its login (account backup) since 2026-11-21T09:00:00.000Z: "Not logged in · Please run /login"; log account backup in again: CLAUDE_CONFIG_DIR=${join(box.dir, 'backup')} claude, then /login`,
      `project api has no folder at ${join(box.dir, 'api')}: create it, or fix its path in ${box.configPath}`,
      'web: 1 failed task(s) (broke): see why with claude-failover task list --project web --state failed, then move each back to inbox/ to retry it or delete it',
      expect.stringMatching(/^web: 1 invalid task\(s\) \(bad\), e\.g\. bad: unknown frontmatter key "priorty"/),
      expect.stringMatching(/^web: dependency cycle: a -> b -> a; .* \(2 tasks of web are in a cycle\)$/),
    ]))
    expect(problems).toHaveLength(5)

    // Each is dealt with: the failed task removed, the bad file and the cycle fixed, the folder made, the login back
    rmSync(join(q, 'failed', 'broke.md'))
    rmSync(join(q, 'inbox', 'bad.md'))
    writeFileSync(join(q, 'inbox', 'b.md'), '---\ndepends_on: [c]\n---\nB.\n')
    utimesSync(join(q, 'inbox', 'b.md'), old, old)
    await withStateLock(box.config, {command: 'test'}, async (tx) => {
      tx.state.stuck = {}
      await tx.commit()
    })
    mkdirSync(join(box.dir, 'api'))
    expect((await runCli(['dispatch', '--config', box.configPath])).code).toBe(0)
    const left = await runCli(['status', '--check', '--json', '--config', box.configPath])
    expect(JSON.parse(left.stdout).problems).toEqual([])
    expect(left.code).toBe(0)
  })
})

describe('validate-symlinks', () => {
  function link(target: string, path: string) {
    symlinkSync(target, path)
  }

  it('prints one line per problem, exits 78, and --fix creates only what does not exist', async () => {
    // The sandbox's folders, with a config of its own listing four accounts.
    box = sandbox()
    const {dir} = box
    const cfg = join(dir, 'four.yaml')
    mkdirSync(join(dir, 'third'))
    mkdirSync(join(dir, 'elsewhere', 'projects'), {recursive: true})
    writeFileSync(cfg, `state_dir: ./state\naccounts:\n  - {name: main, home: ./main}\n  - {name: backup, home: ./backup}\n  - {name: third, home: ./third}\n  - {name: gone, home: ./gone}\nshared: {root: ./shared}\n`)
    mkdirSync(join(dir, 'shared', 'projects'), {recursive: true})
    mkdirSync(join(dir, 'shared', 'file-history'), {recursive: true})
    mkdirSync(join(dir, 'shared', 'session-env'), {recursive: true})
    for (const d of ['projects', 'file-history', 'session-env']) link(join(dir, 'shared', d), join(dir, 'main', d))
    link(join(dir, 'elsewhere', 'projects'), join(dir, 'backup', 'projects'))
    link(join(dir, 'nowhere'), join(dir, 'backup', 'file-history'))
    mkdirSync(join(dir, 'backup', 'session-env'))
    link('../shared/projects', join(dir, 'third', 'projects'))

    const result = await runCli(['validate-symlinks', '--config', cfg])
    expect(result.code).toBe(78)
    const lines = result.stderr.trim().split('\n').slice(1).map((l) => l.trim())
    expect(lines).toEqual([
      `backup: projects: ${join(dir, 'backup', 'projects')} -> ${join(dir, 'elsewhere', 'projects')} diverges from ${join(dir, 'shared', 'projects')}`,
      `backup: file-history: dangling link ${join(dir, 'backup', 'file-history')} -> ${join(dir, 'nowhere')} (nothing there; expected ${join(dir, 'shared', 'file-history')})`,
      expect.stringMatching(/^backup: session-env: .*backup\/session-env is a real directory, not a link to/),
      expect.stringMatching(/^third: file-history: missing link .*third\/file-history/),
      expect.stringMatching(/^third: session-env: missing link .*third\/session-env/),
      `gone: home ${join(dir, 'gone')} does not exist`,
    ])

    const json = await runCli(['validate-symlinks', '--json', '--config', cfg])
    expect(json.code).toBe(78)
    expect(JSON.parse(json.stdout).problems.map((p: {problem: string}) => p.problem)).toEqual(['diverges', 'dangling', 'not-a-link', 'missing', 'missing', 'home-missing'])

    // A dry run of --fix says what it would create, and lists only the problems it would leave
    const dry = await runCli(['validate-symlinks', '--fix', '--dry-run', '--config', cfg])
    expect(dry.code).toBe(78)
    expect(dry.stdout.trim().split('\n')).toEqual([
      `would create ${join(dir, 'third', 'file-history')} -> ${join(dir, 'shared', 'file-history')}`,
      `would create ${join(dir, 'third', 'session-env')} -> ${join(dir, 'shared', 'session-env')}`,
    ])
    expect(dry.stderr).toMatch(/^claude-failover: error: 6 shared-link problem\(s\); --fix would create 2 of them \(listed above\), the other 4 need a human\n/)
    expect(dry.stderr).not.toContain('missing link')
    expect(dry.stderr.match(/^ {2}\S/gm)).toHaveLength(4)
    expect(() => readlinkSync(join(dir, 'third', 'session-env'))).toThrow()

    const fixed = await runCli(['validate-symlinks', '--fix', '--config', cfg])
    expect(fixed.code).toBe(78)
    expect(fixed.stderr).toContain(`created ${join(dir, 'third', 'file-history')} -> ${join(dir, 'shared', 'file-history')}`)
    expect(readlinkSync(join(dir, 'third', 'session-env'))).toBe(join(dir, 'shared', 'session-env'))
    // Divergent and dangling links are left for a human.
    expect(readlinkSync(join(dir, 'backup', 'projects'))).toBe(join(dir, 'elsewhere', 'projects'))
    expect(readlinkSync(join(dir, 'backup', 'file-history'))).toBe(join(dir, 'nowhere'))
    expect(fixed.stderr.match(/^ {2}\S/gm)).toHaveLength(4)

    const ok = await runCli(['validate-symlinks', '--account', 'main', '--account', 'third', '--config', cfg])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^ok: /)
  })
})
