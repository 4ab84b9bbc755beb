// The markers on their own: idempotent `.blocked`, fingerprinted `.invalid`, atomic, mode 0600.
import {chmodSync, existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {
  clearBlockedMarker,
  clearInvalidMarker,
  ensureBlockedMarker,
  fingerprintOf,
  formatInvalidMarker,
  isInvalidStale,
  parseInvalidMarker,
  readInvalidMarker,
  readMarkerReason,
  writeInvalidMarker,
} from '../../src/lib/queue/markers.js'
import {tempDir} from '../helpers/env.js'

describe('markers', () => {
  let cleanup: () => void
  let dir: string
  let task: string

  beforeEach(() => {
    const temp = tempDir('cf-markers-')
    cleanup = temp.cleanup
    dir = temp.dir
    task = join(dir, 'deploy.md')
    writeFileSync(task, 'Deploy.\n')
  })
  afterEach(() => cleanup())

  it('creates .blocked once, never rewrites it, and clears it', async () => {
    await expect(ensureBlockedMarker(task, 'waiting for a')).resolves.toBe(true)
    const marker = `${task}.blocked`
    const first = new Date(Date.now() - 86_400_000)
    utimesSync(marker, first, first)
    const before = statSync(marker)
    await expect(ensureBlockedMarker(task, 'waiting for b\nand more')).resolves.toBe(false)
    expect(readFileSync(marker, 'utf8')).toBe('waiting for a\n')
    expect(statSync(marker)).toMatchObject({ino: before.ino, mtimeMs: before.mtimeMs})
    expect(statSync(marker).mode & 0o777).toBe(0o600)
    await expect(readMarkerReason(marker)).resolves.toBe('waiting for a')
    // No temp file is left behind, whether the marker was created or already there
    expect(readdirSync(dir).sort()).toEqual(['deploy.md', 'deploy.md.blocked'])
    await expect(clearBlockedMarker(task)).resolves.toBe(true)
    await expect(clearBlockedMarker(task)).resolves.toBe(false)
  })

  it('creates .blocked exactly once when passes race', async () => {
    const created = await Promise.all(Array.from({length: 20}, (_, i) => ensureBlockedMarker(task, `reason ${i}`)))
    expect(created.filter(Boolean)).toHaveLength(1)
  })

  it('records the judged version in .invalid and notices any change', async () => {
    await writeInvalidMarker(task, 'priority: must be an integer (got "x"); e.g. priority: 10', fingerprintOf(statSync(task)))
    expect(statSync(`${task}.invalid`).mode & 0o777).toBe(0o600)
    await expect(readInvalidMarker(task)).resolves.toMatchObject({reason: 'priority: must be an integer (got "x"); e.g. priority: 10'})
    await expect(isInvalidStale(task)).resolves.toBe(false)
    // A touch alone (same content, new mtime) is enough to judge again
    utimesSync(task, new Date(), new Date(Date.now() - 5000))
    await expect(isInvalidStale(task)).resolves.toBe(true)
    await writeInvalidMarker(task, 'again', fingerprintOf(statSync(task)))
    await expect(isInvalidStale(task)).resolves.toBe(false)
    await expect(clearInvalidMarker(task)).resolves.toBe(true)
    await expect(isInvalidStale(task)).resolves.toBe(true)
  })

  it('formats and parses the .invalid text; a marker without a fingerprint is stale', async () => {
    const fingerprint = {ctimeMs: 1_712_345_678_901.123_5, ino: 42, mtimeMs: 1_712_345_678_900.5, size: 10}
    const text = formatInvalidMarker('bad\nthing', fingerprint)
    expect(text.split('\n')[0]).toBe('bad thing')
    expect(parseInvalidMarker(text)).toEqual({fingerprint, reason: 'bad thing'})
    expect(parseInvalidMarker('hand written\n')).toEqual({reason: 'hand written'})
    writeFileSync(`${task}.invalid`, 'hand written\n')
    await expect(isInvalidStale(task)).resolves.toBe(true)
  })

  it('reports a marker it cannot write as an error naming the marker', async () => {
    // Root ignores folder permissions, so the failure is made with a path under a plain file.
    const notAFolder = join(dir, 'plain-file')
    writeFileSync(notAFolder, 'x')
    await expect(ensureBlockedMarker(join(notAFolder, 'deploy.md'), 'x')).rejects.toThrow(/cannot write the marker .*deploy\.md\.blocked: (ENOTDIR|ENOENT)/)
  })
})
