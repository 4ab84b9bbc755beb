import * as fsp from 'node:fs/promises'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {FailoverError} from '../../src/lib/errors.js'
import {readRecentEvents} from '../../src/lib/events.js'
import {type FsLike, realFs, writeFileAtomic} from '../../src/lib/fs-atomic.js'
import {readStateSnapshot, withStateLock} from '../../src/lib/lock.js'
import {parseStateText, statePath} from '../../src/lib/state.js'
import {type Sandbox, sandbox, tempDir} from '../helpers/env.js'

let box: Sandbox | undefined
afterEach(() => {
  box?.cleanup()
  box = undefined
})

function failingFs(failOn: 'write' | 'sync' | 'rename', code = 'ENOSPC'): FsLike {
  const boom = () => Object.assign(new Error(`${code}: injected`), {code})
  return {
    ...realFs,
    async open(...args: Parameters<FsLike['open']>) {
      const handle = await realFs.open(...args)
      if (failOn === 'write') handle.writeFile = async () => Promise.reject(boom())
      if (failOn === 'sync' && args[1] === 'wx') handle.sync = async () => Promise.reject(boom())
      return handle
    },
    rename: failOn === 'rename' ? async () => Promise.reject(boom()) : realFs.rename,
  } as FsLike
}

describe('atomic write', () => {
  it.each(['write', 'sync', 'rename'] as const)('leaves the old file intact and no temp file when %s fails (disk full → exit 74)', async (failOn) => {
    const {cleanup, dir} = tempDir()
    try {
      const file = join(dir, 'state.json')
      writeFileSync(file, 'old complete document')
      const attempt = writeFileAtomic(file, 'new document', {fs: failingFs(failOn)})
      await expect(attempt).rejects.toMatchObject({exitCode: 74, kind: 'io'})
      expect(readFileSync(file, 'utf8')).toBe('old complete document')
      expect(readdirSync(dir)).toEqual(['state.json'])
    } finally {
      cleanup()
    }
  })

  it('maps a permission failure to exit 73', async () => {
    const {cleanup, dir} = tempDir()
    try {
      const attempt = writeFileAtomic(join(dir, 'x.json'), 'data', {fs: failingFs('write', 'EACCES')})
      await expect(attempt).rejects.toMatchObject({exitCode: 73})
    } finally {
      cleanup()
    }
  })

  it('fsyncs the file before the rename and the folder after it', async () => {
    const {cleanup, dir} = tempDir()
    try {
      const calls: string[] = []
      const tracing = {
        ...realFs,
        async open(path: string, flags: string, mode?: number) {
          const handle = await realFs.open(path, flags, mode)
          const sync = handle.sync.bind(handle)
          handle.sync = async () => {
            calls.push(flags === 'r' ? 'fsync-dir' : 'fsync-file')
            return sync()
          }

          return handle
        },
        async rename(from: string, to: string) {
          calls.push('rename')
          return fsp.rename(from, to)
        },
      } as unknown as FsLike
      await writeFileAtomic(join(dir, 'a.json'), '{}', {fs: tracing})
      expect(calls).toEqual(['fsync-file', 'rename', 'fsync-dir'])
      expect(statSync(join(dir, 'a.json')).mode & 0o777).toBe(0o600)
    } finally {
      cleanup()
    }
  })
})

describe('state store', () => {
  it('writes state.json 0600 inside a 0700 state_dir and bumps the generation on commit', async () => {
    box = sandbox()
    const config = box.config
    await withStateLock(config, {command: 'test'}, async (tx) => {
      expect(tx.state.generation).toBe(0)
      expect(tx.state.active_account).toBe('main')
      tx.state.active_account = 'backup'
      await tx.commit()
    })
    expect(statSync(config.stateDir).mode & 0o777).toBe(0o700)
    expect(statSync(statePath(config.stateDir)).mode & 0o777).toBe(0o600)
    const {state} = await readStateSnapshot(config)
    expect(state).toMatchObject({active_account: 'backup', generation: 1})
  })

  it.each([
    ['an empty file', ''],
    ['a truncated document', '{"version": 1, "generation": 3, "active_acc'],
    ['a byte-order mark', '\uFEFF{"version": 1, "generation": 0}'],
    ['NUL bytes', '\u0000\u0000\u0000\u0000'],
    ['a wrong schema version', '{"version": 99, "generation": 0}'],
    ['a wrong field type', '{"version": 1, "generation": "seven"}'],
    ['a JSON array', '[1, 2, 3]'],
  ])('moves a state file with %s aside, says so loudly, and rebuilds', async (_name, content) => {
    box = sandbox()
    const {stateDir} = box.config
    await fsp.mkdir(stateDir, {recursive: true})
    writeFileSync(statePath(stateDir), content)

    // A read-only command reports it but moves nothing.
    const snapshot = await readStateSnapshot(box.config)
    expect(snapshot.warnings[0]).toMatch(/is corrupt/)
    expect(readFileSync(statePath(stateDir), 'utf8')).toBe(content)

    const warnings = await withStateLock(box.config, {command: 'test'}, async (tx) => {
      await tx.commit()
      return tx.warnings
    })
    expect(warnings[0]).toMatch(/state\.json was corrupt .* moved it aside to .*state\.json\.corrupt-/)
    const aside = readdirSync(stateDir).filter((n) => n.startsWith('state.json.corrupt-'))
    expect(aside).toHaveLength(1)
    expect(readFileSync(join(stateDir, aside[0] as string), 'utf8')).toBe(content)
    expect(parseStateText(readFileSync(statePath(stateDir), 'utf8')).kind).toBe('ok')
    const events = await readRecentEvents(stateDir, 5)
    expect(events.map((e) => e.event)).toContain('state_corrupt')
  })

  it('continues the generation after a lost state file instead of reusing fence numbers', async () => {
    box = sandbox()
    const config = box.config
    for (let i = 0; i < 3; i++) await withStateLock(config, {command: 'test'}, async (tx) => tx.commit())
    await fsp.unlink(statePath(config.stateDir))
    await withStateLock(config, {command: 'test'}, async (tx) => {
      expect(tx.state.generation).toBe(3)
      await tx.commit()
    })
    expect((await readStateSnapshot(config)).state.generation).toBe(4)
  })

  it('refuses to commit when another process committed since this one read the state', async () => {
    box = sandbox()
    const config = box.config
    await withStateLock(config, {command: 'test'}, async (tx) => {
      // Simulate a takeover: someone else wrote generation 1 behind this holder's back.
      const other = {...tx.state, generation: 1, active_account: 'backup'}
      writeFileSync(statePath(config.stateDir), JSON.stringify(other))
      tx.state.active_account = 'main'
      await expect(tx.commit()).rejects.toMatchObject({code: 'LOCK_LOST', exitCode: 75})
    })
    expect((await readStateSnapshot(config)).state.active_account).toBe('backup')
  })

  it('skips a fence left by a commit that never wrote its state (empty, or older than stale), but not a fresh one', async () => {
    box = sandbox('', {lockStale: '3s'})
    const config = box.config
    await withStateLock(config, {command: 'test'}, async (tx) => tx.commit())
    const fence = join(config.stateDir, 'fence', '2')
    // Killed between creating its fence and writing its pid: an empty fence, a minute old.
    writeFileSync(fence, '')
    const old = new Date(Date.now() - 60_000)
    await fsp.utimes(fence, old, old)
    await withStateLock(config, {command: 'test'}, async (tx) => tx.commit())
    expect((await readStateSnapshot(config)).state.generation).toBe(3)

    // A fence claimed a moment ago by a live process means another holder: this run writes nothing.
    writeFileSync(join(config.stateDir, 'fence', '4'), `${process.ppid}\n`)
    const attempt = withStateLock(config, {command: 'test'}, async (tx) => tx.commit())
    await expect(attempt).rejects.toMatchObject({code: 'LOCK_LOST'})
    expect((await readStateSnapshot(config)).state.generation).toBe(3)
  })

  it('appends events as one JSON line each and reads back the latest', async () => {
    box = sandbox()
    const {appendEvent} = await import('../../src/lib/events.js')
    const now = new Date('2026-11-21T10:00:00Z')
    for (let i = 0; i < 15; i++) await appendEvent(box.config.stateDir, 'dispatch', {task: `t${i}`, long: 'x'.repeat(5000)}, now)
    const events = await readRecentEvents(box.config.stateDir, 10)
    expect(events).toHaveLength(10)
    expect(events.at(-1)).toMatchObject({event: 'dispatch', task: 't14', ts: '2026-11-21T10:00:00.000Z'})
    expect(String(events[0]?.long).length).toBeLessThan(500)
    const file = readFileSync(join(box.config.stateDir, 'events.jsonl'), 'utf8')
    expect(file.trim().split('\n')).toHaveLength(15)
    expect(statSync(join(box.config.stateDir, 'events.jsonl')).mode & 0o777).toBe(0o600)
  })

  it('a FailoverError from a critical section releases the lock', async () => {
    box = sandbox()
    const config = box.config
    const attempt = withStateLock(config, {command: 'test'}, async () => {
      throw new FailoverError('invalidData', 'bad task')
    })
    await expect(attempt).rejects.toMatchObject({exitCode: 65})
    expect(existsSync(join(config.stateDir, 'lock'))).toBe(false)
  })
})
