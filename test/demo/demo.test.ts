// The demo as a new user runs it: the whole pipeline, every task done after a swap, nothing left behind.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {CLI, runCli} from '../helpers/env.js'

describe('demo', () => {
  it('finishes every task after at least one swap, in about a minute at most, and cleans up', async () => {
    const result = await runCli(['demo', '--json'], {timeoutMs: 150_000})
    expect(result.code, result.stderr).toBe(0)
    const doc = JSON.parse(result.stdout) as {tasks_total: number; tasks_done: number; swaps: number; seconds: number}
    expect(doc.tasks_total).toBeGreaterThanOrEqual(6)
    expect(doc.tasks_done).toBe(doc.tasks_total)
    expect(doc.swaps).toBeGreaterThanOrEqual(1)
    expect(doc.seconds).toBeLessThan(90)
    expect(result.stderr).toMatch(/demo: dispatched \S+ to demo-\d on main/)
    expect(result.stderr).toMatch(/demo: quota: swap: trigger_session=demo-\d/)
    expect(result.stderr).not.toContain('[quota]')
    expect(result.stderr).toMatch(/demo: swapped main -> backup/)
    expect(result.stderr).toMatch(/on backup/)
    const sandbox = /demo: sandbox (\S+)/.exec(result.stderr)?.[1]
    expect(sandbox).toBeDefined()
    expect(existsSync(sandbox as string)).toBe(false)
  }, 160_000)

  it('cleans up its sandbox and tmux server when interrupted with Ctrl-C', async () => {
    const child = spawn(process.execPath, [CLI, 'demo'], {env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    const dispatched = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        if (stderr.includes('demo: dispatched')) resolve()
      }),
    )
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    await dispatched
    const sandbox = /demo: sandbox (\S+)/.exec(stderr)?.[1] as string
    expect(existsSync(sandbox)).toBe(true)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(existsSync(sandbox)).toBe(false)
  })
})
