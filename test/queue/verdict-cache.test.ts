// The verdict cache (issue 18): a pass does not read again a task file it judged when the file has
// not changed, and never lets the cache speak for a file that did change, was swapped for a link,
// grew past the limit, or was deleted. A bad cache file is an empty cache.
import {execFileSync} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {applyMarkerUpdates, readReadyTask, scanInbox} from '../../src/lib/queue/scan.js'
import {MIN_AGE_MS, VerdictCache, type VerdictCacheOptions, verdictCachePath} from '../../src/lib/queue/verdict-cache.js'
import {tempDir} from '../helpers/env.js'
import {type Fixture, projectsFixture, taskText} from './helpers.js'

describe('verdict cache', () => {
  let cleanup: () => void
  let root: string
  let stateDir: string
  let fx: Fixture
  const later = () => Date.now() + 10_000
  const cachePath = () => verdictCachePath(stateDir, 'app') as string
  /** The files' ctimes are fresh in a test: 0 lets them be cached at once (the age rule has its own tests). */
  const open = (options: VerdictCacheOptions = {minAgeMs: 0}) => VerdictCache.load(cachePath(), fx.project('app').path, options)
  const scan = async (verdicts = open(), extra: {deferMarkers?: boolean} = {}) => ({result: await scanInbox(fx.project('app'), fx.known, fx.projects, {now: later(), verdicts, ...extra}), verdicts})
  const stored = () => Object.keys((JSON.parse(readFileSync(cachePath(), 'utf8')) as {entries: Record<string, unknown>}).entries).sort()
  const summary = (result: Awaited<ReturnType<typeof scanInbox>>) => ({
    blocked: result.blocked.map((b) => [b.id, b.reason]),
    invalid: result.invalid.map((i) => [i.id, i.reason]),
    ready: result.ready.map((t) => [t.id, t.priority, t.dependsOn.map((d) => d.raw), t.cwd]),
  })

  beforeEach(() => {
    const temp = tempDir('cf-verdicts-')
    cleanup = temp.cleanup
    root = temp.dir
    stateDir = join(root, 'state')
    mkdirSync(stateDir, {mode: 0o700})
    fx = projectsFixture(root, ['app', 'infra'])
    mkdirSync(join(fx.project('app').path, 'services'))
  })
  afterEach(() => cleanup())

  it('judges unchanged files from the cache on the next pass, to the same verdicts, without reading them', async () => {
    fx.put('app', 'inbox', 'ready', taskText('priority: 3\ncwd: services\ntimeout: 90m\nretries: 2'))
    fx.put('app', 'inbox', 'blocked', taskText('depends_on: [infra:base, lint]'))
    fx.put('app', 'inbox', 'quoted', taskText('depends_on: ["infra:base"]'))
    fx.put('app', 'inbox', 'invalid', taskText('priority: high'))
    fx.put('app', 'inbox', 'coded', '---js\n({priority: 9})\n---\nBody\n')
    const first = await scan()
    expect(first.verdicts.hits).toBe(0)
    expect(stored()).toEqual(['blocked.md', 'coded.md', 'invalid.md', 'quoted.md', 'ready.md'])
    const second = await scan()
    expect(second.verdicts.hits).toBe(5)
    expect(summary(second.result)).toEqual(summary(first.result))
    expect(second.result.ready[0]).toMatchObject({retries: 2, timeoutMs: 90 * 60_000})
    // A dependency finished since: the cached fields are judged against the queue as it is now.
    fx.put('app', 'done', 'lint', 'Done.\n')
    fx.put('infra', 'done', 'base', 'Done.\n')
    const third = await scan()
    expect(third.verdicts.hits).toBe(5)
    expect(third.result.ready.map((t) => t.id)).toEqual(['ready', 'blocked', 'quoted'])
    expect(existsSync(join(fx.inbox('app'), 'blocked.md.blocked'))).toBe(false)
  })

  it('judges a changed file again: new content, a same-size rewrite with the old mtime, a new inode', async () => {
    const path = fx.put('app', 'inbox', 'task', taskText('priority: 1'))
    await scan()
    // Times set to the millisecond, so that they can be put back exactly.
    const when = new Date(Date.now() - 30_000)
    writeFileSync(path, taskText('priority: x'))
    utimesSync(path, when, when)
    expect((await scan()).result.invalid.map((i) => i.id)).toEqual(['task'])
    // Same size, same mtime: only the ctime tells, and it is part of the fingerprint.
    const before = statSync(path)
    writeFileSync(path, taskText('priority: 2'))
    utimesSync(path, when, when)
    expect([statSync(path).size, statSync(path).mtimeMs]).toEqual([before.size, before.mtimeMs])
    const same = await scan()
    expect(same.verdicts.hits).toBe(0)
    expect(same.result.ready.map((t) => [t.id, t.priority])).toEqual([['task', 2]])
    // Replaced by another file (a new inode) of the same size and times.
    const other = join(root, 'other.md')
    writeFileSync(other, taskText('priority: 7'))
    utimesSync(other, before.atime, before.mtime)
    renameSync(other, path)
    expect((await scan()).result.ready.map((t) => t.priority)).toEqual([7])
  })

  it('keeps no verdict on a file younger than the age rule: a rewrite in the same clock tick is read again', async () => {
    const path = fx.put('app', 'inbox', 'young', taskText('priority: 1'))
    const first = await scan(open({}))
    expect(first.result.ready.map((t) => t.priority)).toEqual([1])
    // Its ctime is a moment ago: nothing kept, so the next pass reads it whatever its fingerprint says.
    expect(Date.now() - statSync(path).ctimeMs).toBeLessThan(MIN_AGE_MS)
    expect(existsSync(cachePath()) ? stored() : []).toEqual([])
    const before = statSync(path)
    writeFileSync(path, taskText('priority: 5'))
    utimesSync(path, before.atime, before.mtime)
    expect([statSync(path).size, statSync(path).mtimeMs]).toEqual([before.size, before.mtimeMs])
    const second = await scan(open({}))
    expect(second.verdicts.hits).toBe(0)
    expect(second.result.ready.map((t) => t.priority)).toEqual([5])
  })

  it('refuses a symlink, a FIFO or an oversized file swapped in for a cached task', async () => {
    writeFileSync(join(root, 'secret.txt'), 'TOKEN=hunter2\n')
    for (const id of ['link', 'fifo', 'huge']) fx.put('app', 'inbox', id, taskText('priority: 1'))
    expect((await scan()).result.ready).toHaveLength(3)
    const inbox = fx.inbox('app')
    unlinkSync(join(inbox, 'link.md'))
    symlinkSync(join(root, 'secret.txt'), join(inbox, 'link.md'))
    unlinkSync(join(inbox, 'fifo.md'))
    execFileSync('mkfifo', [join(inbox, 'fifo.md')])
    writeFileSync(join(inbox, 'huge.md'), Buffer.alloc(2 * 1024 * 1024, 'a'))
    const {result, verdicts} = await scan()
    expect(verdicts.hits).toBe(0)
    expect(result.ready).toEqual([])
    const reasons = Object.fromEntries(result.invalid.map((i) => [i.id, i.reason]))
    expect(reasons.link).toMatch(/^is a symbolic link/)
    expect(reasons.fifo).toMatch(/^is not a regular file/)
    expect(reasons.huge).toMatch(/^is 2\.0 MiB, over the 1 MiB limit/)
    expect(JSON.stringify(result)).not.toContain('hunter2')
  })

  it('ignores a corrupt, foreign or linked cache file and writes a good one in its place, 0600 in a 0700 folder', async () => {
    fx.put('app', 'inbox', 'task', taskText('priority: 4'))
    fx.put('app', 'inbox', 'bad', taskText('priority: high'))
    mkdirSync(join(stateDir, 'queue-cache'), {mode: 0o700})
    const expected = {invalid: [['bad', expect.stringMatching(/^priority: must be an integer/)]], ready: [['task', 4]]}
    const check = async () => {
      const {result, verdicts} = await scan()
      expect(verdicts.hits).toBe(0)
      expect({invalid: result.invalid.map((i) => [i.id, i.reason]), ready: result.ready.map((t) => [t.id, t.priority])}).toEqual(expected)
      expect(stored()).toEqual(['bad.md', 'task.md'])
    }

    for (const junk of ['{"entries": {"task.md": [', 'null', '[]', '{"format": 1, "project": "/elsewhere", "entries": {}}', '{"format": 999, "entries": {}}']) {
      writeFileSync(cachePath(), junk)
      await check()
    }

    // Entries that are well-formed JSON but wrong in any field are misses, not verdicts.
    const file = JSON.parse(readFileSync(cachePath(), 'utf8')) as {entries: Record<string, unknown[]>}
    // Each keeps its own fingerprint, so only the odd field makes the miss.
    file.entries['task.md'] = [(file.entries['task.md'] as unknown[])[0], 'p', [4, 'infra:base', 0, null, null], 0]
    file.entries['bad.md'] = [(file.entries['bad.md'] as unknown[])[0], 'p', [4, [], 0, null, '../../etc'], 0]
    writeFileSync(cachePath(), JSON.stringify(file))
    await check()

    // A symlink in its place, to a cache that would match, is not followed (nor written through).
    const target = join(root, 'elsewhere.json')
    const valid = readFileSync(cachePath(), 'utf8')
    writeFileSync(target, valid)
    unlinkSync(cachePath())
    symlinkSync(target, cachePath())
    await check()
    expect(lstatSync(cachePath()).isFile()).toBe(true)
    expect(readFileSync(target, 'utf8')).toBe(valid)
    expect(statSync(cachePath()).mode & 0o777).toBe(0o600)
    expect(statSync(join(stateDir, 'queue-cache')).mode & 0o777).toBe(0o700)
  })

  it('forgets a deleted task, and a new file under its name is judged from its own bytes', async () => {
    fx.put('app', 'inbox', 'keep', taskText('priority: 1'))
    const gone = fx.put('app', 'inbox', 'gone', taskText('priority: 2'))
    await scan()
    expect(stored()).toEqual(['gone.md', 'keep.md'])
    unlinkSync(gone)
    expect((await scan()).result.ready.map((t) => t.id)).toEqual(['keep'])
    expect(stored()).toEqual(['keep.md'])
    fx.put('app', 'inbox', 'gone', taskText('priority: nope'))
    expect((await scan()).result.invalid.map((i) => i.id)).toEqual(['gone'])
  })

  it('holds at most its bound of entries; the files beyond it are read on every pass and judged all the same', async () => {
    for (let i = 0; i < 5; i++) fx.put('app', 'inbox', `t${i}`, taskText(`priority: ${i}`))
    const bounded = () => open({maxEntries: 2, minAgeMs: 0})
    await scan(bounded())
    expect(stored()).toHaveLength(2)
    const {result, verdicts} = await scan(bounded())
    expect(verdicts.hits).toBe(2)
    expect(result.ready.map((t) => t.priority)).toEqual([4, 3, 2, 1, 0])
    expect(stored()).toHaveLength(2)
  })

  it('saves nothing when the pass drops its marker changes (a dry run), and keeps the .blocked marker kind in line with cycles', async () => {
    fx.put('app', 'inbox', 'a', taskText('depends_on: b'))
    const dry = await scan(open(), {deferMarkers: true})
    expect(dry.result.markerUpdates.length).toBeGreaterThan(0)
    expect(existsSync(cachePath())).toBe(false)
    expect(await applyMarkerUpdates(dry.result.markerUpdates)).toEqual([])
    expect(stored()).toEqual(['a.md'])
    const marker = join(fx.inbox('app'), 'a.md.blocked')
    expect(readFileSync(marker, 'utf8')).toMatch(/^waiting for b/)
    // b now waits on a: a cycle, told by the marker although the cache remembered a plain wait.
    const b = fx.put('app', 'inbox', 'b', taskText('depends_on: a'))
    await scan()
    await scan()
    expect(readFileSync(marker, 'utf8')).toMatch(/^dependency cycle: a -> b -> a/)
    unlinkSync(b)
    const after = await scan()
    expect(after.verdicts.hits).toBe(1)
    expect(readFileSync(marker, 'utf8')).toMatch(/^waiting for b/)
  })

  it('delivers only the version that was judged: a ready task read again must still match its fingerprint', async () => {
    const path = fx.put('app', 'inbox', 'task', taskText('priority: 1', 'The prompt, exactly.\n'))
    await scan()
    const {result} = await scan()
    const [task] = result.ready
    if (!task) throw new Error('no ready task')
    await expect(readReadyTask(task, fx.project('app'))).resolves.toMatchObject({ok: true, task: {body: 'The prompt, exactly.\n', id: 'task'}})
    writeFileSync(path, taskText('priority: 1', 'Another prompt, swapped in.\n'))
    await expect(readReadyTask(task, fx.project('app'))).resolves.toEqual({ok: false, reason: 'changed since it was judged; judged again on the next pass'})
  })
})
