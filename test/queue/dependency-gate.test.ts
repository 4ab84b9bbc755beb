// The seed's six dispatcher-gate tests (seed 000), against real queue folders.
import {existsSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {checkDependencies} from '../../src/lib/queue/dependencies.js'
import {scanInbox} from '../../src/lib/queue/scan.js'
import {tempDir} from '../helpers/env.js'
import {type Fixture, projectsFixture, taskText} from './helpers.js'

describe('dependency gate (seed 000)', () => {
  let cleanup: () => void
  let fx: Fixture
  const later = () => Date.now() + 10_000
  const scan = (project = 'app') => scanInbox(fx.project(project), fx.known, fx.projects, {now: later()})

  beforeEach(() => {
    const temp = tempDir('cf-gate-')
    cleanup = temp.cleanup
    fx = projectsFixture(temp.dir, ['app', 'infra'])
  })
  afterEach(() => cleanup())

  it('DependsOnUnresolved: .blocked marker, not ready', async () => {
    // Given a task waiting for infra:build-base, which is not done
    const task = fx.put('app', 'inbox', 'deploy', taskText('depends_on: [infra:build-base]'))
    // When the inbox is scanned
    const result = await scan()
    // Then the task is blocked with a marker naming what it waits for, and nothing is ready
    expect(result.ready).toEqual([])
    expect(result.blocked).toEqual([{id: 'deploy', reason: expect.stringContaining('waiting for infra:build-base'), unresolved: ['infra:build-base']}])
    expect(readFileSync(`${task}.blocked`, 'utf8')).toMatch(/^waiting for infra:build-base/)
  })

  it('DependsOnResolved: ready, no marker', async () => {
    const task = fx.put('app', 'inbox', 'deploy', taskText('depends_on: [infra:build-base, lint]'))
    fx.put('infra', 'done', 'build-base', 'done')
    fx.put('app', 'done', 'lint', 'done')
    const result = await scan()
    expect(result.ready.map((t) => t.id)).toEqual(['deploy'])
    expect(result.blocked).toEqual([])
    expect(existsSync(`${task}.blocked`)).toBe(false)
  })

  it('PartialResolution: stays blocked until every entry is done', async () => {
    const task = fx.put('app', 'inbox', 'deploy', taskText('depends_on: [infra:build-base, lint, infra:migrate]'))
    fx.put('infra', 'done', 'build-base', 'done')
    let result = await scan()
    expect(result.ready).toEqual([])
    expect(result.blocked[0]?.unresolved).toEqual(['lint', 'infra:migrate'])

    fx.put('app', 'done', 'lint', 'done')
    result = await scan()
    expect(result.ready).toEqual([])
    expect(result.blocked[0]?.unresolved).toEqual(['infra:migrate'])
    expect(existsSync(`${task}.blocked`)).toBe(true)

    // And once the last one is done, the task is ready and the marker is gone
    fx.put('infra', 'done', 'migrate', 'done')
    result = await scan()
    expect(result.ready.map((t) => t.id)).toEqual(['deploy'])
    expect(existsSync(`${task}.blocked`)).toBe(false)
  })

  it('RejectPathTraversal: blocked with the reason, never ready, nothing looked up', async () => {
    // Given a dependency that would resolve to /tmp/.agent-queue/done/foo.md if it were a path
    const task = fx.put('app', 'inbox', 'evil', taskText('depends_on: "../../tmp:foo"'))
    const result = await scan()
    expect(result.ready).toEqual([])
    expect(result.blocked).toEqual([{id: 'evil', reason: expect.stringMatching(/"\.\.\/\.\.\/tmp" is not a valid name/), unresolved: ['../../tmp:foo']}])
    expect(readFileSync(`${task}.blocked`, 'utf8')).toMatch(/is not a valid name/)

    // The gate refuses it even when the traversal target exists: no lookup happens at all
    const projects = new Map([...fx.projects, ['../../tmp', {path: '/'}]])
    await expect(checkDependencies({dependsOn: ['../../tmp:foo'], project: 'app'}, projects)).resolves.toMatchObject({ready: false})
  })

  it('BlockedMarker is idempotent: its mtime records the first detection', async () => {
    const task = fx.put('app', 'inbox', 'deploy', taskText('depends_on: infra:build-base'))
    await scan()
    const marker = `${task}.blocked`
    // Given the marker dates from an hour ago
    const firstDetection = new Date(Date.now() - 3_600_000)
    utimesSync(marker, firstDetection, firstDetection)
    const before = statSync(marker)
    // When later passes still find the task blocked (even for another reason)
    writeFileSync(task, taskText('depends_on: [infra:build-base, infra:other]'))
    utimesSync(task, firstDetection, firstDetection)
    await scan()
    await scan()
    // Then the marker is untouched: same inode, same mtime, same content
    const after = statSync(marker)
    expect(after.mtimeMs).toBe(before.mtimeMs)
    expect(after.ino).toBe(before.ino)
    expect(readFileSync(marker, 'utf8')).toMatch(/^waiting for infra:build-base \(/)
  })

  it('NoDependsOn: a plain task is ready and gets no marker (regression guard)', async () => {
    const plain = fx.put('app', 'inbox', 'plain', taskText(undefined))
    const empty = fx.put('app', 'inbox', 'empty-list', taskText('depends_on: []'))
    const result = await scan()
    expect(result.ready.map((t) => t.id).sort()).toEqual(['empty-list', 'plain'])
    expect(existsSync(`${plain}.blocked`)).toBe(false)
    expect(existsSync(`${empty}.blocked`)).toBe(false)
  })

  it('an archived done task still counts as resolved', async () => {
    fx.put('app', 'inbox', 'deploy', taskText('depends_on: [infra:old-build]'))
    fx.put('infra', 'archive', 'old-build', 'done long ago')
    const result = await scan()
    expect(result.ready.map((t) => t.id)).toEqual(['deploy'])
  })

  it('malformed entries block with a precise reason: unknown project, bad segment, extra colon, empty', async () => {
    const cases: [string, RegExp][] = [
      ['nowhere:x', /unknown project "nowhere" \(known: app, infra\)/],
      ['infra:a/b', /task id "a\/b" is not valid/],
      ['infra:..', /task id "\.\." is not valid/],
      ['a:b:c', /more than one ":"/],
      [':x', /project before ":" is empty/],
      ['infra:', /task id after ":" is empty/],
      ['', /is empty/],
    ]
    for (const [entry, reason] of cases) {
      const check = await checkDependencies({dependsOn: [entry], project: 'app'}, fx.projects)
      expect(check, entry).toEqual({ready: false, reason: expect.stringMatching(reason), unresolved: [entry]})
    }
  })

  it('a dependency that is only dispatched or failed is not resolved', async () => {
    fx.put('app', 'inbox', 'deploy', taskText('depends_on: [a, b]'))
    fx.put('app', 'dispatched', 'a', 'x')
    fx.put('app', 'failed', 'b', 'x')
    const result = await scan()
    expect(result.blocked[0]?.unresolved).toEqual(['a', 'b'])
    expect(existsSync(join(fx.inbox('app'), 'deploy.md.blocked'))).toBe(true)
  })

  it('a self-dependency is marked as a cycle, not as waiting', async () => {
    const task = fx.put('app', 'inbox', 'loop', taskText('depends_on: [loop]'))
    const result = await scan()
    expect(result.ready).toEqual([])
    expect(result.blocked).toEqual([{id: 'loop', reason: expect.stringMatching(/^dependency cycle: loop -> loop; none of these tasks can ever run: remove one depends_on entry/), unresolved: ['loop']}])
    expect(readFileSync(`${task}.blocked`, 'utf8')).toMatch(/^dependency cycle: loop -> loop;/)
  })

  it('a cycle formed by dropped files is marked on every task in it, across projects; a task that only waits on it is not', async () => {
    // Given a -> infra:b -> c -> a, and d waiting for a (outside the cycle)
    const a = fx.put('app', 'inbox', 'a', taskText('depends_on: [infra:b]'))
    const b = fx.put('infra', 'inbox', 'b', taskText('depends_on: [app:c]'))
    const c = fx.put('app', 'inbox', 'c', taskText('depends_on: [a]'))
    const d = fx.put('app', 'inbox', 'd', taskText('depends_on: [a]'))
    const app = await scan('app')
    const infra = await scan('infra')
    expect(Object.fromEntries(app.blocked.map((x) => [x.id, x.reason.split(';')[0]]))).toEqual({
      a: 'dependency cycle: a -> infra:b -> c -> a',
      c: 'dependency cycle: c -> a -> infra:b -> c',
      d: 'waiting for a (not in done/ or archive/ yet)',
    })
    expect(infra.blocked[0]?.reason).toMatch(/^dependency cycle: b -> app:c -> app:a -> b;/)
    for (const file of [a, b, c]) expect(readFileSync(`${file}.blocked`, 'utf8')).toMatch(/^dependency cycle: /)
    expect(readFileSync(`${d}.blocked`, 'utf8')).toMatch(/^waiting for a /)
  })

  it('a cycle closed by a later file rewrites the standing marker (mtime kept); breaking it says "waiting" again', async () => {
    const a = fx.put('app', 'inbox', 'a', taskText('depends_on: [b]'))
    await scan()
    const marker = `${a}.blocked`
    const firstDetection = new Date(Date.now() - 3_600_000)
    utimesSync(marker, firstDetection, firstDetection)
    expect(readFileSync(marker, 'utf8')).toMatch(/^waiting for b /)
    // When b arrives depending on a, the cycle is named in a's marker, whose first-detection time stays
    const b = fx.put('app', 'inbox', 'b', taskText('depends_on: [a]'))
    await scan()
    expect(readFileSync(marker, 'utf8')).toMatch(/^dependency cycle: a -> b -> a;/)
    expect(Math.abs(statSync(marker).mtimeMs - firstDetection.getTime())).toBeLessThan(1)
    // And when b is edited to drop it, a waits for b again and says so
    writeFileSync(b, taskText(undefined))
    utimesSync(b, firstDetection, firstDetection)
    const result = await scan()
    expect(result.ready.map((t) => t.id)).toEqual(['b'])
    expect(readFileSync(marker, 'utf8')).toMatch(/^waiting for b /)
  })
})
