// The drop-in scripts (bin/launch-agent.sh, bin/graceful-switch.sh) end to end: real tmux on a
// private socket, the simulated claude, the built CLI found next to the scripts.
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {ROOT, runCli, runProcess, tempDir, tmux, waitFor} from '../helpers/env.js'
import {exhaustEveryAccount, makePool, type Pool, resumes, transcriptPrompts, waitStarted, workingPool} from '../helpers/pool.js'

const LAUNCH = join(ROOT, 'bin', 'launch-agent.sh')
const SWITCH = join(ROOT, 'bin', 'graceful-switch.sh')

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a script as a user would (its own shebang), with stdin from `input` (a pipe: never a TTY). */
function run(script: string, args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number} = {}): Promise<Run> {
  return runProcess(script, args, {timeoutMs: 45_000, ...options})
}

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')) : []
}

describe('bin/launch-agent.sh', () => {
  it('puts the task in the inbox and it is dispatched at once: the session runs the prompt, never typed', async () => {
    pool = await makePool({turnMs: 20_000})
    const p = pool
    // Given a prompt full of what a shell or tmux would act on, read from stdin
    const prompt = 'Fix the login bug; $(touch pwned) `id` "quoted" C-c Enter'
    // When launch-agent.sh runs with --config
    const result = await run(LAUNCH, ['--config', p.configPath, '--id', 'login-bug', 'proj', '-'], {input: prompt})

    // Then it says where the task went, and the session's conversation got the prompt verbatim
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('proj/login-bug -> ccl-auto-11 (main)\n')
    expect(result.stderr).toContain('queued proj/login-bug')
    expect(files(p.inbox)).toEqual([])
    expect(files(join(p.project, '.agent-queue', 'dispatched'))).toEqual(['login-bug.md'])
    await waitStarted(p, ['ccl-auto-11'])
    await waitFor(() => transcriptPrompts(p).some((t) => t.text === prompt), 30_000)
    const {state} = await readStateSnapshot(p.config)
    expect(state.sessions['ccl-auto-11']).toMatchObject({state: 'working', task: 'proj/login-bug'})
    expect(transcriptPrompts(p).map((t) => t.conversation)).toEqual([state.sessions['ccl-auto-11']?.conversation_id])
    // Nothing in the prompt ran as a command.
    expect(existsSync(join(p.project, 'pwned'))).toBe(false)
    expect(existsSync(join(p.dir, 'pwned'))).toBe(false)
  })

  it('takes the prompt from a file, the config from CLAUDE_FAILOVER_CONFIG, and a second task goes to a second session', async () => {
    pool = await makePool({turnMs: 20_000})
    const p = pool
    const env = {CLAUDE_FAILOVER_CONFIG: p.configPath}
    writeFileSync(join(p.dir, 'first.md'), 'first task from a file')
    writeFileSync(join(p.dir, 'second.md'), 'second task from a file')

    const first = await run(LAUNCH, ['proj', join(p.dir, 'first.md')], {env})
    const second = await run(LAUNCH, ['--priority', 'high', 'proj', join(p.dir, 'second.md')], {env})

    expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0])
    expect(first.stdout).toMatch(/^proj\/t-[\w.-]+ -> ccl-auto-11 \(main\)\n$/)
    expect(second.stdout).toMatch(/^proj\/t-[\w.-]+ -> ccl-auto-12 \(main\)\n$/)
    // --priority high is priority 100 in the task file.
    const secondId = /^proj\/(\S+) /.exec(second.stdout)?.[1] ?? ''
    expect(readFileSync(join(p.project, '.agent-queue', 'dispatched', `${secondId}.md`), 'utf8')).toMatch(/priority: 100/)
    await waitFor(() => {
      const texts = transcriptPrompts(p).map((t) => t.text)
      return texts.includes('first task from a file') && texts.includes('second task from a file')
    }, 30_000)
  })

  it('a task that cannot start yet stays queued: it says why, exits 0, and dispatch sends it later', async () => {
    pool = await makePool({turnMs: 300})
    const p = pool
    const result = await run(LAUNCH, ['--config', p.configPath, '--id', 'deploy', '--depends-on', 'build', 'proj', '-'], {input: 'deploy it'})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/proj\/deploy waits in the inbox: .*build.*; the dispatch timer starts it later/)
    expect(files(p.inbox)).toEqual(['deploy.md'])
    expect(transcriptPrompts(p)).toEqual([])

    // Once its dependency is done, the next dispatch pass (the timer's) sends it.
    mkdirSync(join(p.project, '.agent-queue', 'done'), {recursive: true})
    writeFileSync(join(p.project, '.agent-queue', 'done', 'build.md'), 'built')
    const later = await p.cli(['dispatch', '--json'])
    expect(JSON.parse(later.stdout).dispatched).toEqual([expect.objectContaining({project: 'proj', session: 'ccl-auto-11', task: 'deploy'})])
    await waitFor(() => transcriptPrompts(p).some((t) => t.text === 'deploy it'), 30_000)
  })

  it('exits with the CLI\'s code and the CLI\'s message when task add refuses', async () => {
    pool = await makePool()
    const p = pool
    const direct = await runCli(['task', 'add', '--project', 'nope', '--config', p.configPath], {input: 'x'})
    const result = await run(LAUNCH, ['--config', p.configPath, 'nope', '-'], {input: 'x'})
    expect(direct.code).not.toBe(0)
    expect(result.code).toBe(direct.code)
    expect(result.stderr).toContain(direct.stderr.trim().split('\n')[0])
    expect(result.stdout).toBe('')
  })

  it('exits with dispatch\'s code when no tmux server runs, the task left in the inbox', async () => {
    pool = await makePool()
    const p = pool
    await tmux(p.socket, ['kill-server'])
    const result = await run(LAUNCH, ['--config', p.configPath, '--id', 'later', 'proj', '-'], {input: 'later'})
    expect(result.code).toBe(69)
    expect(result.stderr).toMatch(/no tmux server is running/)
    expect(result.stderr).toContain('proj/later is in the inbox, but the dispatch pass failed (exit 69)')
    expect(files(p.inbox)).toEqual(['later.md'])
  })

  it('--help and usage errors', async () => {
    const help = await run(LAUNCH, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: launch-agent\.sh \[OPTIONS\] PROJECT \[FILE\|-\]/)
    expect((await run(LAUNCH, [])).code).toBe(2)
    expect((await run(LAUNCH, ['--frobnicate', 'proj'])).code).toBe(2)
    expect((await run(LAUNCH, ['proj', 'a.md', 'b.md'])).code).toBe(2)
  })

  it('uses $CLAUDE_FAILOVER_BIN when set, passing --config through to every call', async () => {
    const {cleanup, dir} = tempDir()
    try {
      // A stand-in CLI that logs its arguments and answers like the real one.
      const log = join(dir, 'calls.log')
      const fake = join(dir, 'fake-cli')
      writeFileSync(
        fake,
        `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\ncase $1 in\ntask) cat >/dev/null; echo '{"project":"web","task":"t1","path":"/x/t1.md"}' ;;\ndispatch) echo '{"dispatched":[{"project":"web","task":"t1","session":"s-1","account":"a"}],"blocked":[],"invalid":[],"paused_until":null}' ;;\nesac\n`,
        {mode: 0o755},
      )
      const result = await run(LAUNCH, ['--config', '/etc/cf.yaml', '--timeout', '90m', 'web'], {env: {CLAUDE_FAILOVER_BIN: fake}, input: 'hi'})
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe('web/t1 -> s-1 (a)\n')
      expect(readFileSync(log, 'utf8')).toBe('task add --json --project web --timeout=90m --config /etc/cf.yaml -- -\ndispatch --wait --json --config /etc/cf.yaml\n')
    } finally {
      cleanup()
    }
  })
})

describe('bin/graceful-switch.sh', () => {
  it('--yes shows the pool and the plan, swaps to the other account, and every conversation resumes there', async () => {
    pool = await workingPool()
    const p = pool
    const before = await readStateSnapshot(p.config)
    const ids = ['ccl-auto-11', 'ccl-auto-12'].map((n) => before.state.sessions[n]?.conversation_id)

    const result = await run(SWITCH, ['--yes', '--config', p.configPath])

    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('== status')
    expect(result.stdout).toContain('== quota check --dry-run')
    expect(result.stdout).toContain(`switch main -> backup: 2 session(s)\n  ccl-auto-11 (pool): resumes ${ids[0]}\n  ccl-auto-12 (pool): resumes ${ids[1]}\n`)
    expect(result.stdout).toContain('swapped main -> backup')
    expect(result.stdout).toContain('== status after the switch')
    const {state} = await readStateSnapshot(p.config)
    expect(state).toMatchObject({active_account: 'backup', last_swap: {from: 'main', to: 'backup'}, swap_journal: null})
    for (const [i, name] of ['ccl-auto-11', 'ccl-auto-12'].entries()) {
      await waitFor(async () => (await resumes(p, name)).length > 0)
      expect(await resumes(p, name)).toEqual([{conversation: ids[i], home: join(p.dir, 'backup')}])
      expect(state.sessions[name]).toMatchObject({account: 'backup', conversation_id: ids[i], state: 'working'})
    }
  }, 90_000)

  it('ACCOUNT picks the target; the reason reaches the events; the CLI\'s code is the script\'s', async () => {
    pool = await workingPool()
    const p = pool
    const env = {CLAUDE_FAILOVER_CONFIG: p.configPath}
    // The active account as target: the CLI refuses (usage), and so does the script, with its code.
    const same = await run(SWITCH, ['--yes', 'main'], {env})
    expect(same.code).toBe(2)
    expect(same.stderr).toContain('main is already the active account')
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('main')

    const result = await run(SWITCH, ['-y', '--reason', 'main is needed for a demo', 'backup'], {env})
    expect(result.code, result.stderr).toBe(0)
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('backup')
    const events = readFileSync(join(p.config.stateDir, 'events.jsonl'), 'utf8')
    expect(events).toContain('main is needed for a demo')
  }, 90_000)

  it('exits 75 and changes nothing when every account is exhausted', async () => {
    pool = await workingPool()
    const p = pool
    await exhaustEveryAccount(p.config)
    const before = readFileSync(join(p.config.stateDir, 'state.json'), 'utf8')

    const result = await run(SWITCH, ['--yes', '--config', p.configPath])

    expect(result.code).toBe(75)
    expect(result.stderr).toContain('nothing to switch to: all accounts are exhausted until 2099-01-01T10:00:00.000Z')
    expect(result.stdout).not.toContain('== swap\n')
    expect(readFileSync(join(p.config.stateDir, 'state.json'), 'utf8')).toBe(before)
    expect(await resumes(p, 'ccl-auto-11')).toEqual([])
  }, 90_000)

  it('refuses to run without a terminal unless --yes, before touching anything', async () => {
    pool = await workingPool()
    const p = pool
    const result = await run(SWITCH, ['--config', p.configPath], {input: 'y\n'})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('stdin is not a terminal')
    expect(result.stdout).toBe('')
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('main')
  }, 90_000)

  it('asks on a terminal: "n" leaves the pool where it is (exit 0: declining is no failure), "y" switches', async () => {
    pool = await workingPool()
    const p = pool
    // script(1) gives the script a pseudo-terminal as stdin; the answer is typed into it.
    const viaTty = (answer: string) =>
      run('script', ['-qec', `${SWITCH} --config ${p.configPath}`, '/dev/null'], {input: `${answer}\n`})
    const no = await viaTty('n')
    expect(no.code, no.stdout).toBe(0)
    expect(no.stdout).toMatch(/Switch the pool main -> backup\? \[y\/N\]/)
    expect(no.stdout).toContain('not switched (declined); nothing changed')
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('main')

    const yes = await viaTty('y')
    expect(yes.code, yes.stdout).toBe(0)
    expect((await readStateSnapshot(p.config)).state.active_account).toBe('backup')
  }, 90_000)

  it('--help', async () => {
    const help = await run(SWITCH, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: graceful-switch\.sh \[OPTIONS\] \[ACCOUNT\]/)
    expect((await run(SWITCH, ['--yes', 'a', 'b'])).code).toBe(2)
  })
})
