// waitFor, which every end-to-end test leans on: what another process has not written yet is
// "not yet", anything else fails at once, and a timeout says what the check last ran into.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {tempDir, waitFor} from './env.js'

let cleanup: (() => void) | undefined
afterEach(() => {
  cleanup?.()
  cleanup = undefined
})

function scratch(): string {
  const t = tempDir()
  cleanup = t.cleanup
  return t.dir
}

describe('waitFor', () => {
  it('polls on through a file that does not exist yet, then a half-written JSON file, until the whole one', async () => {
    const file = join(scratch(), 'record.json')
    // The "other process" writes between polls: nothing at the first, half the record at the second.
    const writes = [undefined, '{"state": "wor', '{"state": "working"}']
    let calls = 0
    const seen = await waitFor(() => {
      const next = writes[calls++]
      if (next !== undefined) writeFileSync(file, next)
      return (JSON.parse(readFileSync(file, 'utf8')) as {state: string}).state
    }, 5000, 10)
    expect(seen).toBe('working')
    expect(calls).toBe(3)
  })

  it('on timeout names the last "not yet" error, so a file that never appears says which file', async () => {
    const file = join(scratch(), 'never.jsonl')
    const failure = waitFor(() => readFileSync(file, 'utf8').includes('Stop'), 200, 20)
    await expect(failure).rejects.toThrow(`condition not met within 200 ms; the check last threw: ENOENT: no such file or directory, open '${file}'`)
    await expect(failure).rejects.toMatchObject({cause: expect.objectContaining({code: 'ENOENT'})})
  })

  it('on timeout with a check that only ever answered no, says just that', async () => {
    await expect(waitFor(() => false, 100, 20)).rejects.toThrow(/^condition not met within 100 ms$/)
  })

  it('fails at once on any other error: a broken check is not waited out', async () => {
    let calls = 0
    const started = Date.now()
    const broken = waitFor(() => {
      calls += 1
      return (undefined as unknown as {state: string}).state
    }, 10_000)
    await expect(broken).rejects.toThrow(TypeError)
    expect(calls).toBe(1)
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
