// Two or more real processes contending for the state lock (reliability P5, P6, P7, P9).
import {type ChildProcess, spawn} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {ROOT, runCli, type Sandbox, sandbox} from '../helpers/env.js'

const WORKER = join(ROOT, 'test', 'fixtures', 'lock-worker.mjs')

interface Worker {
  child: ChildProcess
  locked: Promise<void>
  done: Promise<{code: number | null; stdout: string; stderr: string}>
}

function worker(configPath: string, ...args: string[]): Worker {
  const child = spawn(process.execPath, [WORKER, configPath, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  let onLocked: () => void = () => {}
  const locked = new Promise<void>((resolve) => (onLocked = resolve))
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes('locked')) onLocked()
  })
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => child.on('close', (code) => resolve({code, stderr, stdout})))
  return {child, done, locked}
}

let box: Sandbox | undefined
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  box?.cleanup()
  box = undefined
})

describe('state lock across processes', () => {
  it('a timer run exits 75 at once while another command holds the lock; --wait waits for it', async () => {
    // Held for 10 s: a CLI run that starts slowly on a loaded machine (5 s was seen) still meets it
    // held, and answering before the holder lets go is what "at once" means. --wait keeps trying
    // for about 1.5 × lock.stale: 10 s leaves it room to outwait the holder.
    box = sandbox('', {lockStale: '10s'})
    const holder = worker(box.configPath, 'hold', '10000')
    children.push(holder.child)
    await holder.locked

    const started = Date.now()
    const busy = await runCli(['validate-symlinks', '--fix', '--config', box.configPath])
    expect(busy.code).toBe(75)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(busy.stderr).toMatch(/the state lock in .* is held by `worker-hold` \(pid \d+, since .*\); try again at the next tick, or pass --wait/)

    const waited = await runCli(['validate-symlinks', '--fix', '--wait', '--config', box.configPath])
    expect(waited.code).toBe(0)
    expect((await holder.done).code).toBe(0)
  })

  it('status answers while the lock is held (it never locks)', async () => {
    box = sandbox()
    const holder = worker(box.configPath, 'hold', '60000')
    children.push(holder.child)
    await holder.locked
    const status = await runCli(['status', '--json', '--config', box.configPath])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toHaveProperty('active_account', 'main')
    expect(holder.child.exitCode).toBeNull()
  })

  it('takes over a lock left by a SIGKILLed holder once it is stale', async () => {
    // The killed holder last refreshed its lock up to stale/4 before dying: the early run below has
    // the rest of `stale` to start and find it still fresh (2 s left it ~1 s; a process start on a
    // loaded machine was seen to take 5 s).
    box = sandbox('', {lockStale: '10s'})
    const holder = worker(box.configPath, 'hold', '60000')
    await holder.locked
    holder.child.kill('SIGKILL')
    await holder.done

    const early = worker(box.configPath, 'increment')
    expect((await early.done).code).toBe(75)

    const started = Date.now()
    const late = worker(box.configPath, 'increment', '--wait')
    const result = await late.done
    expect(result.code, result.stderr).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000 + 6000)
    expect((await readStateSnapshot(box.config)).state.notified.counter?.message).toBe('1')
  })

  it('a holder paused past stale (SIGSTOP) cannot commit after SIGCONT', async () => {
    box = sandbox('', {lockStale: '2s'})
    // It commits 3 s after taking the lock: the SIGSTOP below must land before that, however slowly
    // this process sees its "locked".
    const paused = worker(box.configPath, 'commit-after', '3000', 'backup')
    children.push(paused.child)
    await paused.locked
    paused.child.kill('SIGSTOP')

    // Another command takes the stale lock over and commits.
    const other = worker(box.configPath, 'commit-after', '0', 'main', '--wait')
    const otherResult = await other.done
    expect(otherResult.code, otherResult.stderr).toBe(0)

    paused.child.kill('SIGCONT')
    const result = await paused.done
    expect(result.code).toBe(75)
    expect(result.stdout).not.toContain('committed')
    expect(result.stderr).toMatch(/LOCK_LOST lost the state lock/)
    const {state} = await readStateSnapshot(box.config)
    expect(state.active_account).toBe('main')
    expect(state.generation).toBe(1)
  })

  it('a compromised lock (its folder removed mid-section) becomes exit 75, not a crash', async () => {
    box = sandbox('', {lockStale: '3s'})
    const holder = worker(box.configPath, 'commit-after', '5000', 'backup')
    children.push(holder.child)
    await holder.locked
    rmSync(join(box.config.stateDir, 'lock'), {force: true, recursive: true})
    const result = await holder.done
    expect(result.code).toBe(75)
    expect(result.stderr).toMatch(/LOCK_LOST lost the state lock/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect((await readStateSnapshot(box.config)).state.generation).toBe(0)
  })

  it('no update is lost when many processes read-modify-write at once', async () => {
    box = sandbox()
    const runs = Array.from({length: 12}, () => worker(box!.configPath, 'increment', '--wait'))
    const results = await Promise.all(runs.map((w) => w.done))
    expect(results.map((r) => r.code)).toEqual(Array.from({length: 12}, () => 0))
    const {state} = await readStateSnapshot(box.config)
    expect(state.notified.counter?.message).toBe('12')
    expect(state.generation).toBe(12)
  })
})
