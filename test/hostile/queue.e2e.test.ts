// Hostile queue folders and records (issue 17), end to end: whoever can write a project's
// `.agent-queue/` (a script, another user under a loose umask, a pool session with permissions
// bypassed) puts FIFOs, devices and links where records belong, forges claims and hook records,
// links queue folders elsewhere, writes frontmatter built to be slow, floods an inbox. Each case
// runs the built CLI against real files, a real tmux server on a private socket and the simulated
// claude, and expects: a run that ends in bounded time (killed with SIGKILL otherwise, and failed),
// a problem named in one line, and nothing outside the project touched.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {claimPath} from '../../src/lib/dispatch/claims.js'
import {queueDir} from '../../src/lib/queue/layout.js'
import {CLI, type CliResult, runProcess} from '../helpers/env.js'
import {createWorld, type DispatchJson, STATES, type World} from '../dispatch/world.js'
import {treeOf} from '../lifecycle/helpers.js'

const POOL = '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 3}'
const UUID = '0f0e0d0c-0b0a-4908-8706-050403020100'

/**
 * Closes a world. The simulated claudes' hooks can still append to the state folder for a moment
 * after the tmux server is gone, racing the removal (ENOTEMPTY): try the removal again once.
 */
async function closeWorld(world: World | undefined): Promise<void> {
  if (!world) return
  try {
    await world.close()
  } catch {
    await new Promise((r) => setTimeout(r, 500))
    world.box.cleanup()
  }
}

/** Runs the CLI in `world`, failing the test unless it returned by itself within `limitMs`. */
async function bounded(world: World, args: string[], limitMs: number, options: {env?: NodeJS.ProcessEnv} = {}): Promise<CliResult & {ms: number}> {
  const started = Date.now()
  const result = await world.cli(args, {env: options.env, timeoutMs: limitMs})
  const ms = Date.now() - started
  // runProcess SIGKILLs at the limit and reports 128.
  expect(result.code, `${args.join(' ')} was killed after ${ms} ms: ${result.stderr.slice(0, 400)}`).not.toBe(128)
  expect(ms).toBeLessThan(limitMs)
  return {...result, ms}
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path])
}

/** A claim record as dispatch writes it, with `fields` changed. */
function claimText(world: World, project: string, task: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    account: 'main',
    attempt: 1,
    claimed_at: new Date(Date.now() - 60_000).toISOString(),
    conversation_id: UUID,
    cwd: world.projectPath(project),
    launched_at: new Date(Date.now() - 59_000).toISOString(),
    pid: 1,
    project,
    retries: 0,
    session: 'ccl-auto-13',
    task,
    timeout_ms: null,
    ...fields,
  })}\n`
}

describe('FIFOs, devices and links where a record belongs', () => {
  let world: World
  beforeAll(async () => {
    world = await createWorld({pool: POOL, projects: ['app']})
  }, 60_000)
  afterAll(async () => closeWorld(world))

  it('a FIFO, a /dev/zero link or a device as a claim: tick and dispatch end in bounded time, name the file, and requeue the task', {timeout: 90_000}, async () => {
    const dispatched = queueDir(world.projectPath('app'), 'dispatched')
    // Given tasks in dispatched/ whose claim records are a FIFO, a link to /dev/zero and a device
    world.put('app', 'zz', 'Task behind a FIFO claim.', {state: 'dispatched'})
    mkfifo(claimPath(world.projectPath('app'), 'zz'))
    world.put('app', 'dz', 'Task behind a /dev/zero claim.', {state: 'dispatched'})
    symlinkSync('/dev/zero', claimPath(world.projectPath('app'), 'dz'))
    world.put('app', 'dev', 'Task behind a device claim.', {state: 'dispatched'})
    // A character device needs root (CAP_MKNOD); otherwise a second FIFO stands in for it.
    if (process.getuid?.() === 0) execFileSync('mknod', [claimPath(world.projectPath('app'), 'dev'), 'c', '1', '5'])
    else mkfifo(claimPath(world.projectPath('app'), 'dev'))

    // When the timer's tick runs, then dispatch
    const tick = await bounded(world, ['tick', '--json'], 25_000)
    expect(tick.code, tick.stderr).toBe(0)
    const steps = JSON.parse(tick.stdout) as {dispatch: {result?: DispatchJson}}
    expect(steps.dispatch.result, tick.stdout).toBeDefined()
    const warnings = steps.dispatch.result?.warnings.join('\n') ?? ''
    // Then each refused record is named in a warning, with what it is
    expect(warnings).toMatch(/claim \S+zz\.md\.claim refused: is a FIFO \(named pipe\), not a regular file/)
    expect(warnings).toMatch(/claim \S+dz\.md\.claim refused: is a symbolic link/)
    expect(warnings).toMatch(/claim \S+dev\.md\.claim refused: is a (character device|FIFO)/)
    // And each task, claimed by nothing usable, went back to the inbox and was handed out again
    for (const id of ['zz', 'dz', 'dev']) {
      expect(world.whereIs('app', id)).toEqual(['dispatched'])
      expect(lstatSync(claimPath(world.projectPath('app'), id)).isFile()).toBe(true)
    }

    const again = await bounded(world, ['dispatch', '--json'], 20_000)
    expect(again.code, again.stderr).toBe(0)
    // Nothing lost or doubled: each task is running under its regular claim, or already done
    // (a simulated turn is short, and this pass settles the finished ones).
    for (const id of ['zz', 'dz', 'dev']) {
      const where = world.whereIs('app', id)
      expect([['dispatched'], ['done']]).toContainEqual(where)
      if (where[0] === 'dispatched') expect(lstatSync(claimPath(world.projectPath('app'), id)).isFile()).toBe(true)
    }

    expect(readdirSync(dispatched).filter((n) => n.endsWith('.claim'))).toHaveLength(['zz', 'dz', 'dev'].filter((id) => world.whereIs('app', id)[0] === 'dispatched').length)
  })

  it('a FIFO as a hook record file: reconcile and dispatch end in bounded time; the hook neither blocks nor writes into it', {timeout: 60_000}, async () => {
    // Given a launched task whose session's hook record file is a FIFO
    const signals = join(world.box.config.stateDir, 'signals')
    mkdirSync(signals, {recursive: true})
    world.put('app', 'sig', 'Task whose records are a FIFO.', {state: 'dispatched'})
    writeFileSync(claimPath(world.projectPath('app'), 'sig'), claimText(world, 'app', 'sig', {session: 'ccl-auto-13'}))
    rmSync(join(signals, 'ccl-auto-13.jsonl'), {force: true})
    mkfifo(join(signals, 'ccl-auto-13.jsonl'))

    // When reconcile and dispatch run
    for (const command of ['reconcile', 'dispatch']) {
      const run = await bounded(world, [command, '--json'], 20_000)
      expect(run.code, run.stderr).toBe(0)
    }

    // And Claude Code fires the hook for that session
    const started = Date.now()
    const hook = await runProcess(process.execPath, [CLI, 'hook'], {
      env: {CLAUDE_FAILOVER_SESSION: 'ccl-auto-13', CLAUDE_FAILOVER_STATE_DIR: world.box.config.stateDir},
      input: JSON.stringify({hook_event_name: 'Stop', session_id: UUID}),
      timeoutMs: 10_000,
    })
    // Then it exits 0 at once (a FIFO without a reader is not waited for), and the FIFO is still one
    expect(hook).toEqual({code: 0, stderr: '', stdout: ''})
    expect(Date.now() - started).toBeLessThan(5000)
    expect(lstatSync(join(signals, 'ccl-auto-13.jsonl')).isFIFO()).toBe(true)
  })

  it('a FIFO as a task, a marker or an attempts ledger in the inbox: the task is refused or judged afresh, never waited on', {timeout: 60_000}, async () => {
    const inbox = queueDir(world.projectPath('app'), 'inbox')
    mkfifo(join(inbox, 'pipe.md'))
    world.put('app', 'marked', 'A task whose .invalid marker is a FIFO.')
    mkfifo(join(inbox, 'marked.md.invalid'))
    world.put('app', 'ledgered', 'A task whose attempts ledger is a FIFO.', {state: 'dispatched'})
    writeFileSync(claimPath(world.projectPath('app'), 'ledgered'), claimText(world, 'app', 'ledgered', {conversation_id: '1f0e0d0c-0b0a-4908-8706-050403020100', session: 'ccl-auto-12'}))
    mkfifo(join(inbox, 'ledgered.md.attempts'))
    execFileSync('touch', ['-d', '1 minute ago', join(inbox, 'pipe.md')])

    const reconcile = await bounded(world, ['reconcile', '--json'], 20_000)
    expect(reconcile.code, reconcile.stderr).toBe(0)
    const pass = await bounded(world, ['dispatch', '--json'], 20_000)
    expect(pass.code, pass.stderr).toBe(0)
    const json = JSON.parse(pass.stdout) as DispatchJson
    expect(json.invalid.find((i) => i.task === 'pipe')?.reason).toMatch(/is not a regular file/)
    // The FIFO marker was no verdict: the task was judged again (valid), and the FIFO is gone
    expect(json.invalid.map((i) => i.task)).not.toContain('marked')
    expect(lstatSync(join(inbox, 'marked.md.invalid'), {throwIfNoEntry: false})).toBeUndefined()
  })
})

describe('forged claims and hook records', () => {
  let world: World
  beforeAll(async () => {
    world = await createWorld({pool: POOL, projects: ['app']})
  }, 60_000)
  afterAll(async () => closeWorld(world))

  it('a claim whose session climbs out of signals/ is refused; the forged Stop record outside never finishes the task', {timeout: 60_000}, async () => {
    // Given a Stop record for the claim's conversation in a file outside the state folder
    const victim = join(world.dir, 'victim')
    mkdirSync(victim)
    writeFileSync(join(victim, 'ff.jsonl'), `${JSON.stringify({conversation_id: UUID, event: 'Stop', session: 'x', ts: new Date().toISOString()})}\n`)
    const before = treeOf(victim)
    // And a claim naming it as its session, `signals/../../victim/ff`
    world.put('app', 'forged', 'A task with a forged claim.', {state: 'dispatched'})
    writeFileSync(claimPath(world.projectPath('app'), 'forged'), claimText(world, 'app', 'forged', {session: '../../victim/ff'}))
    // And claims naming another task, and a cwd outside the project
    world.put('app', 'other', 'A task whose claim names another.', {state: 'dispatched'})
    writeFileSync(claimPath(world.projectPath('app'), 'other'), claimText(world, 'app', 'not-this-one', {session: 'ccl-auto-12'}))
    world.put('app', 'outcwd', 'A task whose claim has a cwd outside.', {state: 'dispatched'})
    writeFileSync(claimPath(world.projectPath('app'), 'outcwd'), claimText(world, 'app', 'outcwd', {cwd: victim, session: 'ccl-auto-11'}))

    // When reconcile (which finishes tasks on their Stop) and dispatch run
    const reconcile = await bounded(world, ['reconcile', '--json'], 20_000)
    expect(reconcile.code, reconcile.stderr).toBe(0)
    expect((JSON.parse(reconcile.stdout) as {warnings: string[]}).warnings.join('\n')).toMatch(/forged\.md\.claim refused: session: must be a session name .*"\.\.\/\.\.\/victim\/ff"/)
    const pass = await bounded(world, ['dispatch', '--json'], 20_000)
    expect(pass.code, pass.stderr).toBe(0)

    // Then no task was finished on the forged record
    for (const id of ['forged', 'other', 'outcwd']) expect(world.whereIs('app', id)).not.toContain('done')
    const warnings = (JSON.parse(pass.stdout) as DispatchJson).warnings.join('\n')
    expect(warnings).toMatch(/other\.md\.claim refused: names app\/not-this-one, not the task beside it/)
    expect(warnings).toMatch(/outcwd\.md\.claim refused: cwd .* is outside the project/)
    // And nothing outside the project changed
    expect(treeOf(victim)).toEqual(before)
  })
})

describe('symlinked, misplaced and world-writable queue folders', () => {
  let world: World
  let outside: string
  let before: Record<string, string>
  let pass: DispatchJson
  const cases = {
    'q-archive': 'archive',
    'q-dispatched': 'dispatched',
    'q-done': 'done',
    'q-failed': 'failed',
    'q-inbox': 'inbox',
    'q-root': '.',
  } as const

  beforeAll(async () => {
    world = await createWorld({pool: POOL, projects: ['ok', 'q-fifo', 'q-open', ...Object.keys(cases)]})
    outside = join(world.dir, 'outside')
    for (const [project, folder] of Object.entries(cases)) {
      const target = join(outside, project)
      mkdirSync(join(target, 'inbox'), {recursive: true})
      // A private file outside the project, where a linked folder would lead the tool
      writeFileSync(join(target, 'inbox', 'stolen.md'), `SECRET of ${project}\n`, {mode: 0o600})
      execFileSync('touch', ['-d', '1 minute ago', join(target, 'inbox', 'stolen.md')])
      world.put(project, 'task', `Task of ${project}.`)
      const queue = join(world.projectPath(project), '.agent-queue')
      const path = folder === '.' ? queue : join(queue, folder)
      rmSync(path, {force: true, recursive: true})
      symlinkSync(folder === 'inbox' ? join(target, 'inbox') : target, path)
    }

    // A FIFO where done/ belongs, and an inbox every local user can write
    rmSync(queueDir(world.projectPath('q-fifo'), 'done'), {recursive: true})
    mkfifo(queueDir(world.projectPath('q-fifo'), 'done'))
    world.put('q-fifo', 'task', 'Task of q-fifo.')
    world.put('q-open', 'task', 'Task of q-open.')
    chmodSync(queueDir(world.projectPath('q-open'), 'inbox'), 0o777)
    world.put('ok', 'task', 'Task of ok.')
    before = treeOf(outside)

    const run = await bounded(world, ['dispatch', '--json'], 25_000)
    expect(run.code, run.stderr).toBe(0)
    pass = JSON.parse(run.stdout) as DispatchJson
  }, 90_000)
  afterAll(async () => closeWorld(world))

  it('refuses each project with one line naming the folder, and serves the others', () => {
    for (const [project, folder] of Object.entries(cases)) {
      const shown = folder === '.' ? '.agent-queue' : `.agent-queue/${folder}`
      const lines = pass.warnings.filter((w) => w.startsWith(`project ${project} skipped:`))
      expect(lines, project).toHaveLength(1)
      expect(lines[0]).toContain(`${shown} is a symbolic link`)
    }

    expect(pass.warnings.filter((w) => w.startsWith('project q-fifo skipped:'))[0]).toContain('.agent-queue/done is a FIFO (named pipe), not a folder')
    expect(pass.warnings.filter((w) => w.startsWith('project q-open skipped:'))[0]).toContain('.agent-queue/inbox is writable by every local user (mode 0777)')
    expect(pass.dispatched.map((d) => `${d.project}/${d.task}`)).toEqual(['ok/task'])
  })

  it('touches nothing outside the project and never reads a file from there into a prompt', () => {
    expect(treeOf(outside)).toEqual(before)
    const prompts = join(world.box.config.stateDir, 'prompts')
    expect(readdirSync(prompts)).toEqual(['ok'])
    for (const project of Object.keys(cases)) expect(world.whereIs(project, 'task').filter((s) => s !== 'inbox')).toEqual([])
  })

  it('task add and task list name the refused folder (exit 65)', async () => {
    const add = await bounded(world, ['task', 'add', '--project', 'q-inbox', '--id', 'x'], 15_000)
    expect(add.code).toBe(65)
    expect(add.stderr).toMatch(/project q-inbox cannot be used: \.agent-queue\/inbox is a symbolic link/)
    const list = await bounded(world, ['task', 'list', '--project', 'q-done'], 15_000)
    expect(list.code).toBe(65)
    expect(list.stderr).toMatch(/project q-done cannot be used: \.agent-queue\/done is a symbolic link/)
    expect(treeOf(outside)).toEqual(before)
  })
})

describe('frontmatter built to be slow, and an inbox of 10,000 files', () => {
  let world: World
  afterEach(async () => closeWorld(world))

  it('50,000 keys, a huge value, deep nesting: refused before parsing, in bounded time, with a small marker read back next pass', {timeout: 90_000}, async () => {
    world = await createWorld({pool: POOL, projects: ['app']})
    const keys = Array.from({length: 50_000}, (_, i) => `k${i}: 1`).join('\n')
    expect(keys.length).toBeLessThan(1024 * 1024)
    world.put('app', 'keys', `---\n${keys}\n---\nBody.\n`)
    world.put('app', 'value', `---\npriority: 1\ncwd: "${'a'.repeat(900_000)}"\n---\nBody.\n`)
    world.put('app', 'nested', `---\npriority: ${'['.repeat(4000)}${']'.repeat(4000)}\n---\nBody.\n`)
    world.put('app', 'lines', `---\n${Array.from({length: 600}, () => '# a comment').join('\n')}\npriority: 1\n---\nBody.\n`)
    world.put('app', 'flow', `---\ndepends_on: [${Array.from({length: 1000}, (_, i) => `t${i}`).join(',')}]\n---\nBody.\n`)

    const first = await bounded(world, ['dispatch', '--json'], 20_000)
    expect(first.code, first.stderr).toBe(0)
    const json = JSON.parse(first.stdout) as DispatchJson
    const reason = (id: string) => json.invalid.find((i) => i.task === id)?.reason ?? ''
    expect(reason('keys')).toMatch(/^frontmatter is \d+ bytes, over the 8192-byte limit/)
    expect(reason('value')).toMatch(/over the 8192-byte limit/)
    expect(reason('nested')).toMatch(/^frontmatter has 4000 "\[" and "\{", over the limit of 32/)
    expect(reason('lines')).toMatch(/^frontmatter has \d+ entries \(lines and comma-separated items\), over the limit of 256/)
    expect(reason('flow')).toMatch(/over the limit of 256/)
    // The output stays small whatever the files hold
    expect(first.stdout.length).toBeLessThan(20_000)

    // Each marker is small and holds the fingerprint, so the next pass does not read the file again
    const inbox = queueDir(world.projectPath('app'), 'inbox')
    const markers = ['keys', 'value', 'nested', 'lines', 'flow'].map((id) => join(inbox, `${id}.md.invalid`))
    const stats = markers.map((m) => statSync(m))
    for (const [i, marker] of markers.entries()) {
      expect(stats[i]?.size).toBeLessThan(4096)
      expect(readFileSync(marker, 'utf8')).toMatch(/\ntask-file: size=\d+ /)
    }

    const second = await bounded(world, ['dispatch', '--json'], 20_000)
    expect((JSON.parse(second.stdout) as DispatchJson).invalid.map((i) => i.task).sort()).toEqual(['flow', 'keys', 'lines', 'nested', 'value'])
    // The verdicts stood: not one marker was rewritten
    expect(markers.map((m) => statSync(m).mtimeMs)).toEqual(stats.map((s) => s.mtimeMs))
  })

  it('10,000 files in an inbox: a bounded pass hands out what the pool can take; SIGTERM mid-pass ends it promptly and loses nothing', {timeout: 240_000}, async () => {
    world = await createWorld({pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 2}', projects: ['app']})
    const inbox = queueDir(world.projectPath('app'), 'inbox')
    const when = new Date(Date.now() - 60_000)
    for (let i = 0; i < 10_000; i++) writeFileSync(join(inbox, `t${String(i).padStart(5, '0')}.md`), `---\npriority: ${i % 7}\n---\nTask number ${i}.\n`)
    execFileSync('touch', ['-d', when.toISOString(), '--', ...readdirSync(inbox).slice(0, 5000).map((n) => join(inbox, n))])
    execFileSync('touch', ['-d', when.toISOString(), '--', ...readdirSync(inbox).slice(5000).map((n) => join(inbox, n))])

    // When the timer's dispatch is stopped (SIGTERM, as systemd stops a unit) part-way through a pass
    const child = spawn(process.execPath, [CLI, 'dispatch', '--json', '--config', world.box.configPath], {stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))))
    await new Promise((r) => setTimeout(r, 700))
    child.kill('SIGTERM')
    const killedAt = Date.now()
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(killer)
    // Then it ended promptly, by itself (a whole pass over these files takes ~2 s here; the scan
    // turns the event loop every 256 files, so the handler that releases the lock runs mid-scan)
    expect(Date.now() - killedAt).toBeLessThan(5000)

    // And the next pass (no stale lock left behind) is bounded and hands out two tasks
    const pass = await bounded(world, ['dispatch', '--json', '--wait'], 120_000)
    expect(pass.code, pass.stderr).toBe(0)
    expect(pass.stdout.length).toBeLessThan(20_000)
    // (the waiting list names the first 100 of the thousands left in the inbox, and counts them all)
    const left = readdirSync(inbox).filter((n) => n.endsWith('.md')).length
    expect(left).toBeGreaterThan(9000)
    expect(JSON.parse(pass.stdout)).toMatchObject({waiting_total: left})
    expect((JSON.parse(pass.stdout) as {waiting: unknown[]}).waiting).toHaveLength(100)
    // And every task is in exactly one folder: none lost, none twice
    const names = STATES.flatMap((state) => readdirSync(queueDir(world.projectPath('app'), state)).filter((n) => /^t\d{5}\.md$/.test(n)))
    expect(names).toHaveLength(10_000)
    expect(new Set(names).size).toBe(10_000)
    expect(readdirSync(queueDir(world.projectPath('app'), 'dispatched')).filter((n) => n.endsWith('.md'))).toHaveLength(2)
  })
})

describe('umask 000', () => {
  let world: World
  afterAll(async () => closeWorld(world))

  it('the queue folders the tool creates are 0700 and its records 0600, whatever the umask', {timeout: 90_000}, async () => {
    world = await createWorld({pool: POOL, projects: ['fresh']})
    rmSync(join(world.projectPath('fresh'), '.agent-queue'), {recursive: true})
    const underUmask000 = (args: string[], input?: string) =>
      runProcess('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, CLI, ...args, '--config', world.box.configPath], {input, timeoutMs: 30_000})

    const added = await underUmask000(['task', 'add', '--project', 'fresh', '--id', 'job'], 'Say hello.')
    expect(added.code, added.stderr).toBe(0)
    const first = await underUmask000(['dispatch', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const delivered = (JSON.parse(first.stdout) as DispatchJson).dispatched[0]
    expect(delivered?.task).toBe('job')
    await world.waitForStop(delivered?.session as string, delivered?.conversation_id as string)
    const second = await underUmask000(['dispatch', '--json'])
    expect(second.code, second.stderr).toBe(0)
    expect(world.whereIs('fresh', 'job')).toEqual(['done'])

    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)
    const queue = join(world.projectPath('fresh'), '.agent-queue')
    for (const folder of ['.', 'inbox', 'dispatched', 'done']) expect(mode(join(queue, folder)), folder).toBe('700')
    expect(mode(claimPath(world.projectPath('fresh'), 'job', 'done'))).toBe('600')
  })
})

describe('hook: its deadline holds whatever stdin does', () => {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL')
  })

  it.each([[['hook']], [['hook', '--json']]])('%j with stdin held open and never ended exits 0 by the deadline, printing nothing', {timeout: 30_000}, async (args) => {
    const started = Date.now()
    // stdin is a pipe this test keeps open and never writes to, as a stuck writer would
    const child = spawn(process.execPath, [CLI, ...args], {env: {...process.env, CLAUDE_FAILOVER_SESSION: 'ccl-auto-11', CLAUDE_FAILOVER_STATE_DIR: '/nonexistent-state'}, stdio: ['pipe', 'pipe', 'pipe']})
    children.push(child)
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      child.on('exit', (exit, signal) => {
        clearTimeout(killer)
        resolve(exit ?? (signal ? 128 : null))
      })
    })
    expect(code).toBe(0)
    expect(stdout).toBe('')
    // 2 s deadline plus a node start-up on a loaded machine; before the fix: until stdin closed
    expect(Date.now() - started).toBeLessThan(8000)
    expect(existsSync('/nonexistent-state')).toBe(false)
  })
})
