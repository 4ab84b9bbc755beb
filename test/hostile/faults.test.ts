// Hostile environments through the real CLI (issue 9, reliability P4/P6/P10/P15):
//  (a) a full disk under the state folder and under the queue (a tmpfs of a few pages, mounted by
//      the test; it runs as root in CI): every run ends 0 or 74, state.json is the old document
//      or a valid newer one, never torn, no temp file is left, the inbox is unchanged, and the next
//      run once there is room succeeds (a failed commit never wedges the fencing);
//  (b) no tmux server: dispatch, reconcile, quota check and swap exit 69 and nothing on disk changes
//      (not a byte, events.jsonl included); the janitor, which by design needs no server, exits 0
//      and changes nothing either;
//  (c) a hung tmux (a fake `tmux` on PATH that never answers) with tmux.timeout 1s: every command
//      ends within 10 s (69, or 0 for the janitor, which leaves claims alone) with the tree unchanged;
//  (d) the lock held by a CLI run that was SIGKILLed (taken over after lock.stale) and by one that
//      was SIGSTOPped past lock.stale (taken over; after SIGCONT it exits 75 and writes nothing).
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'

import {parseStateText} from '../../src/lib/state.js'
import {CLI, type CliResult, runCli, tmux, waitFor} from '../helpers/env.js'
import {lifecycleBox, type LifecycleBox} from '../lifecycle/helpers.js'

const figures = {faults: 0, diskFullRuns: 0, exit74: 0}
const mounts: string[] = []
const children: ChildProcess[] = []
let box: LifecycleBox | undefined

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
  }

  for (const mount of mounts.splice(0).reverse()) {
    try {
      execFileSync('umount', ['-l', mount])
    } catch {
      // Already gone.
    }
  }

  await box?.close()
  box = undefined
})

afterAll(() => {
  console.log(`[hostile] faults: ${figures.faults} injected (${figures.diskFullRuns} runs on a full disk, ${figures.exit74} of them exit 74); nothing lost`)
})

const POOL2 = '{prefix: "ccl-auto-", start_index: 11, min: 2, max: 2}'

/** Every file, link and folder under `root` with a content hash: a tree to compare byte for byte. */
function tree(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const rel = relative(root, path)
      if (skip(rel)) continue
      const info = lstatSync(path)
      if (info.isDirectory()) {
        out[`${rel}/`] = `dir ${info.mode.toString(8)}`
        walk(path)
      } else if (info.isSymbolicLink()) {
        out[rel] = `link ${readlinkSync(path)}`
      } else {
        out[rel] = `${info.size} ${info.mode.toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`
      }
    }
  }

  walk(root)
  return out
}

function tempFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => /\.tmp-/.test(n)) : []
}

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, {recursive: true})
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {stdio: 'pipe'})
  } catch (error) {
    throw new Error(`this suite mounts a small tmpfs to fill the disk and needs root (CI runs as root): ${(error as {stderr?: Buffer}).stderr?.toString() ?? error}`)
  }

  mounts.push(dir)
}

/** Fills the filesystem of `dir` to the last byte, then frees `pages` 4 KiB pages. */
function fillLeaving(dir: string, pages: number): void {
  const filler = join(dir, 'zz-filler')
  rmSync(filler, {force: true})
  const chunk = Buffer.alloc(4096, 120)
  let written = 0
  try {
    for (;;) {
      writeFileSync(filler, chunk, {flag: 'a'})
      written += chunk.length
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }

  truncateSync(filler, Math.max(0, Math.floor(written / 4096) * 4096 - pages * 4096))
}

describe('disk full', () => {
  it('state writes: every run ends 0 or 74, state.json is never torn, no temp file is left, and the next run with room succeeds', {timeout: 120_000}, async () => {
    box = await lifecycleBox('swap: {stagger: 0s}', {lockStale: '3s', pool: POOL2})
    const b = box
    const stateDir = b.config.stateDir
    mountTmpfs(stateDir, '256k')
    await b.startServer()
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    expect(existsSync(join(stateDir, 'state.json'))).toBe(true)

    // Each swap flips the account and commits several times (journal, steps, close); with 0..5
    // pages left the failure lands on a different write each time (lock owner, fence, state temp
    // file, events). `filler` stays in the folder: the janitor's patterns do not match it.
    let sawImmediate74 = false
    for (let pages = 0; pages <= 5; pages++) {
      fillLeaving(stateDir, pages)
      const before = readFileSync(join(stateDir, 'state.json'))
      const run = await b.cli(['swap', '--wait', '--json'])
      figures.diskFullRuns += 1
      figures.faults += 1
      expect([0, 74], `pages ${pages}: exit ${run.code}: ${run.stderr}`).toContain(run.code)
      const after = readFileSync(join(stateDir, 'state.json'))
      expect(parseStateText(after.toString()).kind, `pages ${pages}: state.json must parse`).toBe('ok')
      expect(tempFiles(stateDir), `pages ${pages}: temp files left`).toEqual([])
      if (run.code === 74) {
        figures.exit74 += 1
        expect(run.stderr).toMatch(/ENOSPC|no space|disk/i)
        expect(run.stderr).not.toMatch(/\n\s+at /)
        if (pages === 0) {
          // Nothing could be written at all: the old document, byte for byte.
          expect(after.equals(before)).toBe(true)
          sawImmediate74 = true
        }
      }

      // Room again: the next run succeeds (rolls an interrupted swap forward if there is one).
      rmSync(join(stateDir, 'zz-filler'))
      const next = await b.cli(['swap', '--wait', '--json'])
      expect(next.code, `pages ${pages}: the run after the disk-full one: ${next.stderr}`).toBe(0)
      const state = parseStateText(readFileSync(join(stateDir, 'state.json'), 'utf8'))
      expect(state.kind === 'ok' && state.state.swap_journal).toBe(null)
    }

    expect(sawImmediate74).toBe(true)
    // And reconcile afterwards has the pool whole on one account.
    expect((await b.cli(['reconcile', '--json', '--wait'])).code).toBe(0)
    const live = (await tmux(b.socket, ['list-sessions', '-F', '#{session_name}'])).stdout
    expect(live).toContain('ccl-auto-11')
    expect(live).toContain('ccl-auto-12')
  })

  it('queue writes: task add on a full queue exits 74 and leaves the inbox unchanged', async () => {
    box = await lifecycleBox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
    const b = box
    const queue = join(b.project, '.agent-queue')
    mountTmpfs(queue, '64k')
    for (const state of ['inbox', 'dispatched', 'done', 'failed', 'archive']) mkdirSync(join(queue, state), {recursive: true})
    b.put('inbox', 'existing', 'Already queued\n')
    fillLeaving(queue, 0)
    const before = tree(join(queue, 'inbox'))
    const added = await runCli(['task', 'add', '--project', 'web', '--id', 'newcomer', '--json', '--config', b.configPath], {input: 'A new task that does not fit\n'})
    figures.faults += 1
    expect(added.code, added.stderr).toBe(74)
    expect(added.stderr).toMatch(/ENOSPC|no space/i)
    expect(tree(join(queue, 'inbox'))).toEqual(before)
    expect(tempFiles(join(queue, 'inbox'))).toEqual([])
  })
})

async function timedCli(b: LifecycleBox, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & {ms: number}> {
  const started = Date.now()
  const result = await b.cli(args, env)
  return {...result, ms: Date.now() - started}
}

describe('tmux missing or hung', () => {
  const COMMANDS = [['dispatch'], ['reconcile'], ['quota', 'check'], ['swap'], ['janitor']]

  it('no tmux server: the commands that need it exit 69, and no command changes anything', async () => {
    box = await lifecycleBox('', {lockStale: '3s', pool: POOL2})
    const b = box
    // Work for each: a ready task (dispatch), a pool below min (reconcile), an account to leave
    // (swap), and a launched claim whose session must be checked (janitor).
    b.put('inbox', 'ready', 'Ready to go\n')
    b.put('dispatched', 'running', 'Running\n')
    writeFileSync(b.path('dispatched', 'running.md.claim'), JSON.stringify({account: 'main', attempt: 1, claimed_at: new Date(Date.now() - 3600_000).toISOString(), conversation_id: '00000000-0000-4000-8000-000000000001', cwd: b.project, launched_at: new Date(Date.now() - 3600_000).toISOString(), pid: 1, project: 'web', retries: 0, session: 'ccl-auto-11', task: 'running', timeout_ms: null}))
    mkdirSync(b.config.stateDir, {recursive: true, mode: 0o700})
    const before = tree(b.dir)
    for (const command of COMMANDS) {
      const run = await b.cli([...command, '--json'])
      figures.faults += 1
      if (command[0] === 'janitor') {
        // By design the janitor's filesystem housekeeping does not need tmux: it leaves every claim
        // alone this pass, says so, and succeeds (src/lib/janitor/janitor.ts).
        expect(run.code, run.stderr).toBe(0)
        expect(JSON.parse(run.stdout).warnings.join('\n')).toMatch(/no tmux server is running; claims are left alone/)
      } else {
        expect(run.code, `${command.join(' ')}: ${run.stderr}`).toBe(69)
        expect(run.stderr).toMatch(/no tmux server/)
      }

      // Nothing changed: not a byte, not a folder (events.jsonl included: a refusal logs nothing).
      expect(tree(b.dir), command.join(' ')).toEqual(before)
    }
  })

  it('a hung tmux: every command ends within 10 s, 69 where it needs tmux, and nothing changes', {timeout: 120_000}, async () => {
    box = await lifecycleBox('', {lockStale: '3s', pool: POOL2})
    const b = box
    await b.startServer()
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    b.put('inbox', 'ready', 'Ready to go\n')
    // tmux.timeout 1s, and a `tmux` first on PATH that never answers.
    writeFileSync(b.configPath, readFileSync(b.configPath, 'utf8').replace(/timeout: 5s/, 'timeout: 1s'))
    const fakeBin = join(b.dir, 'hung-bin')
    mkdirSync(fakeBin)
    writeFileSync(join(fakeBin, 'tmux'), '#!/bin/sh\nexec sleep 30\n')
    chmodSync(join(fakeBin, 'tmux'), 0o755)
    const env = {PATH: `${fakeBin}:${process.env.PATH ?? ''}`}
    const skip = (rel: string) => rel === 'tmux.sock'
    const before = tree(b.dir, skip)
    for (const command of COMMANDS) {
      const run = await timedCli(b, [...command, '--json'], env)
      figures.faults += 1
      if (command[0] === 'janitor') {
        // The janitor survives a hung tmux the same way: claims left alone, the rest done, exit 0.
        expect(run.code, run.stderr).toBe(0)
        expect(JSON.parse(run.stdout).warnings.join('\n')).toMatch(/tmux did not answer .*within 1000 ms.*claims are left alone/)
      } else {
        expect(run.code, `${command.join(' ')}: ${run.stderr}`).toBe(69)
        expect(run.stderr).toMatch(/did not answer within 1000 ms/)
      }

      expect(run.ms).toBeLessThan(10_000)
      expect(tree(b.dir, skip), command.join(' ')).toEqual(before)
    }

    // The fake tmux children were killed at the timeout: none is left behind.
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.trim() === 'sleep 30')
    expect(left).toEqual([])
  })
})

describe('the lock held by a killed or paused CLI run', () => {
  it('SIGKILLed holder: a timer run is busy (75), a --wait run takes over after lock.stale', async () => {
    // The killed run last refreshed its lock up to stale/4 before dying: the busy run below has the
    // rest of `stale` to start and find it fresh (2 s left it ~1 s; a CLI start under load took 5 s).
    box = await lifecycleBox('', {lockStale: '10s', pool: POOL2})
    const b = box
    await b.startServer()
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    await tmux(b.socket, ['kill-session', '-t', '=ccl-auto-12'])
    // Killed inside its critical section, right after recreating the missing session.
    const killed = await b.cli(['reconcile', '--json'], {CLAUDE_FAILOVER_CRASH_AT: 'reconcile:after-create'})
    figures.faults += 1
    expect(killed.code).toBe(128)
    expect(existsSync(join(b.config.stateDir, 'lock'))).toBe(true)

    const busy = await b.cli(['dispatch', '--json'])
    expect(busy.code, busy.stderr).toBe(75)
    expect(busy.stderr).toMatch(/held by `reconcile`/)
    const started = Date.now()
    const takeover = await b.cli(['dispatch', '--json', '--wait'])
    expect(takeover.code, takeover.stderr).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000 + 13_000)
    const next = await b.cli(['reconcile', '--json', '--wait'])
    expect(next.code, next.stderr).toBe(0)
    expect(existsSync(join(b.config.stateDir, 'lock'))).toBe(false)
  })

  it('SIGSTOPped holder: taken over after lock.stale; after SIGCONT it exits 75 and writes nothing', async () => {
    box = await lifecycleBox('', {lockStale: '2s', pool: POOL2})
    const b = box
    await b.startServer()
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    await tmux(b.socket, ['kill-session', '-t', '=ccl-auto-12'])
    // For the first run only, a tmux that announces `new-session` (its decision, taken after its
    // survey, inside its critical section) and lingers a second, so it can be paused right there.
    const slowBin = join(b.dir, 'slow-bin')
    mkdirSync(slowBin)
    const marker = join(b.dir, 'creating')
    const realTmux = execFileSync('sh', ['-c', 'command -v tmux']).toString().trim()
    writeFileSync(join(slowBin, 'tmux'), `#!/bin/sh\ncase "$*" in *new-session*) : > ${marker}; sleep 1;; esac\nexec ${realTmux} "$@"\n`)
    chmodSync(join(slowBin, 'tmux'), 0o755)
    // The paused run's tmux call must not be judged hung when it wakes up: on a loaded machine it
    // stays stopped longer than the sandbox's 5 s tmux timeout, whose timer then fires first (69).
    writeFileSync(b.configPath, readFileSync(b.configPath, 'utf8').replace(/timeout: 5s/, 'timeout: 120s'))
    const trace = join(b.dir, 'lock.log')
    const {NODE_ENV: _ignored, ...inherited} = process.env
    const paused = spawn(process.execPath, [CLI, 'reconcile', '--json', '--config', b.configPath], {
      env: {...inherited, CLAUDE_FAILOVER_LOCK_LOG: trace, NO_COLOR: '1', PATH: `${slowBin}:${process.env.PATH ?? ''}`},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(paused)
    let stderr = ''
    paused.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => paused.on('close', (code) => resolve(code)))
    await waitFor(() => existsSync(marker), 30_000, 5)
    paused.kill('SIGSTOP')
    figures.faults += 1
    expect(readFileSync(trace, 'utf8')).toMatch(new RegExp(`^acquire ${paused.pid} `, 'm'))
    // Its tmux child still creates the session while it sleeps; take it away again so that the run
    // taking over has work to do and must commit.
    await waitFor(async () => (await tmux(b.socket, ['list-sessions', '-F', '#{session_name}'])).stdout.includes('ccl-auto-12'))
    await tmux(b.socket, ['kill-session', '-t', '=ccl-auto-12'])
    const stateBefore = readFileSync(join(b.config.stateDir, 'state.json'), 'utf8')

    // Past lock.stale another run takes the lock over and commits.
    const other = await b.cli(['reconcile', '--json', '--wait'], {CLAUDE_FAILOVER_LOCK_LOG: trace})
    expect(other.code, other.stderr).toBe(0)
    const stateAfterOther = readFileSync(join(b.config.stateDir, 'state.json'), 'utf8')
    expect(stateAfterOther).not.toBe(stateBefore)

    paused.kill('SIGCONT')
    const code = await exited
    expect(code, stderr).toBe(75)
    expect(stderr).toMatch(/lost the state lock/)
    expect(stderr).not.toMatch(/\n\s+at /)
    // It wrote nothing: the state is the other run's, byte for byte, and it never committed.
    expect(readFileSync(join(b.config.stateDir, 'state.json'), 'utf8')).toBe(stateAfterOther)
    expect(readFileSync(trace, 'utf8')).not.toMatch(new RegExp(`^commit ${paused.pid} `, 'm'))
    // And the next run finds a consistent pool.
    expect((await b.cli(['reconcile', '--json', '--wait'])).code).toBe(0)
  })
})
