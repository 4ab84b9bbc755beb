// scanInbox against real folders: hostile files end `.invalid` with a reason, nothing runs, the
// rest of the inbox is still judged, and the markers follow the files.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isInvalidStale} from '../../src/lib/queue/markers.js'
import {isSettled, readReadyTask, scanInbox} from '../../src/lib/queue/scan.js'
import {tempDir} from '../helpers/env.js'
import {type Fixture, age, projectsFixture, taskText} from './helpers.js'

describe('scanInbox', () => {
  let cleanup: () => void
  let root: string
  let fx: Fixture
  const later = () => Date.now() + 10_000
  const scan = (options: {now?: number} = {}) => scanInbox(fx.project('app'), fx.known, fx.projects, {now: options.now ?? later()})

  beforeEach(() => {
    const temp = tempDir('cf-scan-')
    cleanup = temp.cleanup
    root = temp.dir
    fx = projectsFixture(root, ['app', 'infra'])
  })
  afterEach(() => cleanup())

  it('refuses every hostile file with a precise reason and still returns the good ones', async () => {
    const sentinel = join(root, 'pwned')
    const payload = `require('fs').writeFileSync(${JSON.stringify(sentinel)}, 'x'); globalThis.__cfPwned = true; ({priority: 99})`
    writeFileSync(join(root, 'secret.txt'), 'TOKEN=hunter2\n')
    const files: Record<string, [string | Buffer, RegExp]> = {
      'code-js': [`---js\n${payload}\n---\nBody`, /^frontmatter language tag "js" is refused/],
      'code-javascript': [`---javascript\n${payload}\n---\nBody`, /language tag "javascript" is refused/],
      'code-JavaScript': [`---JavaScript\n${payload}\n---\nBody`, /language tag "JavaScript" is refused/],
      'code-space-js': [`--- js\n${payload}\n---\nBody`, /language tag "js" is refused/],
      'js-function': ['---\npriority: !!js/function "function () { return 1 }"\n---\nBody', /YAML tag that is not allowed/],
      'billion-laughs': [
        '---\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n---\nBody',
        /too many YAML aliases/,
      ],
      'bad-yaml': ['---\npriority: [1\n---\nBody', /not valid YAML/],
      unterminated: ['---\npriority: 1\nDo the thing\n', /frontmatter is not closed/],
      'wrong-type': ['---\npriority: high\n---\nBody', /^priority: must be an integer \(got "high"\); e\.g\. priority: 10$/],
      'unknown-key': ['---\nowner: me\n---\nBody', /unknown frontmatter key "owner"/],
      proto: ['---\n__proto__: {polluted: true}\n---\nBody', /key "__proto__" is not allowed/],
      'cwd-traversal': ['---\ncwd: ../../../etc\n---\nBody', /^cwd: must stay inside the project/],
      huge: [Buffer.alloc(2 * 1024 * 1024, 'a'), /^is 2\.0 MiB, over the 1 MiB limit/],
      binary: [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0x0a]), /^is not valid UTF-8/],
      'nul-byte': ['Body\0with NUL', /^contains a NUL byte/],
      'empty-body': ['---\npriority: 1\n---\n\n', /^the prompt is empty/],
    }
    for (const [id, [content]] of Object.entries(files)) fx.put('app', 'inbox', id, content)
    symlinkSync(join(root, 'secret.txt'), join(fx.inbox('app'), 'symlink.md'))
    writeFileSync(join(fx.inbox('app'), 'bad id!.md'), 'Body')
    age(join(fx.inbox('app'), 'bad id!.md'), 60)
    mkdirSync(join(fx.inbox('app'), 'folder.md'))
    execFileSync('mkfifo', [join(fx.inbox('app'), 'fifo.md')])
    fx.put('app', 'inbox', 'good', taskText('priority: 1'))
    fx.put('app', 'inbox', 'dep-traversal', taskText('depends_on: ["../../tmp:foo", "infra:x/../../y"]'))

    const result = await scan()

    // Nothing ran: no file written, no global set, no prototype polluted
    expect(existsSync(sentinel)).toBe(false)
    expect((globalThis as Record<string, unknown>).__cfPwned).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // The good task is still ready; the traversal in depends_on is blocked, not invalid
    expect(result.ready.map((t) => t.id)).toEqual(['good'])
    expect(result.blocked).toEqual([{id: 'dep-traversal', reason: expect.stringMatching(/"\.\.\/\.\.\/tmp" is not a valid name.*task id "x\/\.\.\/\.\.\/y" is not valid/), unresolved: ['../../tmp:foo', 'infra:x/../../y']}])
    const reasons = Object.fromEntries(result.invalid.map((i) => [i.id, i.reason]))
    for (const [id, [, reason]] of Object.entries(files)) {
      expect(reasons[id], id).toMatch(reason)
      expect(readFileSync(join(fx.inbox('app'), `${id}.md.invalid`), 'utf8').split('\n')[0], id).toBe(reasons[id])
    }

    expect(reasons.symlink).toMatch(/^is a symbolic link/)
    expect(reasons['bad id!']).toMatch(/^task id "bad id!" may use only letters/)
    expect(reasons.folder).toMatch(/^is not a regular file/)
    expect(reasons.fifo).toMatch(/^is not a regular file/)
    expect(JSON.stringify(result)).not.toContain('hunter2')
    expect(result.invalid).toHaveLength(Object.keys(files).length + 4)
    expect(statSync(join(fx.inbox('app'), 'symlink.md.invalid')).mode & 0o777).toBe(0o600)
  })

  it('returns bodies with shell metacharacters and tmux key names byte for byte', async () => {
    const body = 'Run $(rm -rf ~) and `reboot`; echo hi && exit || true > /dev/null\nC-c Enter\nC-d\n\'"\\ \t$HOME %s {}\n'
    fx.put('app', 'inbox', 'meta', taskText('priority: 2', body))
    fx.put('app', 'inbox', 'plain', body)
    const result = await scan()
    expect(result.invalid).toEqual([])
    // The prompt is delivered from a fresh read of the judged version (readReadyTask, as dispatch does).
    const bodies = await Promise.all(result.ready.map(async (t) => [t.id, ((await readReadyTask(t, fx.project('app'))) as {task: {body: string}}).task.body]))
    expect(bodies).toEqual([
      ['meta', body],
      ['plain', body],
    ])
  })

  it('orders ready tasks by priority, then oldest file, then id', async () => {
    fx.put('app', 'inbox', 'low', taskText('priority: -1'), 500)
    fx.put('app', 'inbox', 'b-new', taskText(undefined), 100)
    fx.put('app', 'inbox', 'a-old', taskText(undefined), 300)
    fx.put('app', 'inbox', 'c-old', taskText(undefined), 300)
    fx.put('app', 'inbox', 'urgent', taskText('priority: 10'), 10)
    const result = await scan()
    expect(result.ready.map((t) => t.id)).toEqual(['urgent', 'a-old', 'c-old', 'b-new', 'low'])
  })

  it('keeps an .invalid verdict without rereading, and editing the file clears it on the next pass', async () => {
    const task = fx.put('app', 'inbox', 'fixme', taskText('priority: high'))
    const marker = `${task}.invalid`
    await scan()
    const first = statSync(marker)
    expect(await isInvalidStale(task)).toBe(false)

    // Unchanged file: the marker is left alone
    const again = await scan()
    expect(again.invalid).toEqual([{id: 'fixme', reason: expect.stringMatching(/^priority: must be an integer/)}])
    expect(statSync(marker).ino).toBe(first.ino)

    // When the author fixes the file
    writeFileSync(task, taskText('priority: 5'))
    expect(await isInvalidStale(task)).toBe(true)
    // Then the next pass drops the verdict (even while the edit is settling) ...
    const settling = await scan({now: Date.now()})
    expect(settling.invalid).toEqual([])
    expect(settling.settling.map((s) => s.id)).toEqual(['fixme'])
    expect(existsSync(marker)).toBe(false)
    // ... and the task is ready once settled
    const result = await scan()
    expect(result.ready.map((t) => [t.id, t.priority])).toEqual([['fixme', 5]])
  })

  it('an edit that keeps the size is noticed too, and an edit that breaks a ready task marks it', async () => {
    const task = fx.put('app', 'inbox', 'same-size', taskText('priority: xx'))
    await scan()
    writeFileSync(task, taskText('priority: 10'))
    age(task, 30)
    expect((await scan()).ready.map((t) => t.id)).toEqual(['same-size'])
    writeFileSync(task, taskText('priority: 1x'))
    age(task, 20)
    expect((await scan()).invalid.map((i) => i.id)).toEqual(['same-size'])
  })

  it('never returns a half-written file as ready', async () => {
    // Given a file being written right now (`cat > inbox/x.md`), cut mid-frontmatter
    const task = join(fx.inbox('app'), 'half.md')
    writeFileSync(task, '---\npriority: 3\ndepen')
    // When a pass runs while it is still fresh
    let result = await scan({now: Date.now()})
    // Then it is neither ready nor judged invalid, and gets no marker
    expect(result.ready).toEqual([])
    expect(result.invalid).toEqual([])
    expect(result.settling.map((s) => s.id)).toEqual(['half'])
    expect(readdirSync(fx.inbox('app'))).toEqual(['half.md'])

    // When the writer finishes and the file has been quiet for the settle time, it is ready
    writeFileSync(task, '---\npriority: 3\ndepends_on: []\n---\nDo it.\n')
    result = await scan({now: Date.now()})
    expect(result.ready).toEqual([])
    result = await scan({now: Date.now() + 2500})
    expect(result.ready.map((t) => t.id)).toEqual(['half'])
  })

  it('reads a Maildir-style delivery (written elsewhere, renamed in) at once', async () => {
    const temp = join(fx.inbox('app'), '.delivery.tmp')
    writeFileSync(temp, taskText(undefined))
    await new Promise((resolve) => setTimeout(resolve, 30))
    renameSync(temp, join(fx.inbox('app'), 'delivered.md'))
    const stat = statSync(join(fx.inbox('app'), 'delivered.md'))
    // ctime moves past mtime only if the clock ticked between write and rename; the sleep makes sure
    expect(stat.ctimeMs).toBeGreaterThan(stat.mtimeMs)
    expect(isSettled(stat, Date.now(), 2000)).toBe(true)
    expect((await scan({now: Date.now()})).ready.map((t) => t.id)).toEqual(['delivered'])
  })

  it('skips dot-files and temp files and removes orphan markers', async () => {
    const inbox = fx.inbox('app')
    writeFileSync(join(inbox, '.task.md.tmp-123-abc-1'), '---js\nboom\n---\n')
    writeFileSync(join(inbox, '.hidden.md'), 'x')
    writeFileSync(join(inbox, 'notes.txt'), 'x')
    writeFileSync(join(inbox, 'gone.md.blocked'), 'waiting')
    writeFileSync(join(inbox, 'gone.md.invalid'), 'bad')
    const result = await scan()
    expect(result).toMatchObject({blocked: [], invalid: [], ready: [], settling: []})
    expect(readdirSync(inbox).sort()).toEqual(['.hidden.md', '.task.md.tmp-123-abc-1', 'notes.txt'])
  })

  it('moves a task between blocked and invalid without leaving both markers', async () => {
    const task = fx.put('app', 'inbox', 'flip', taskText('depends_on: infra:base'))
    await scan()
    expect(existsSync(`${task}.blocked`)).toBe(true)
    writeFileSync(task, taskText('depends_on: infra:base\npriority: nope'))
    age(task, 30)
    await scan()
    expect(existsSync(`${task}.blocked`)).toBe(false)
    expect(existsSync(`${task}.invalid`)).toBe(true)
    writeFileSync(task, taskText('depends_on: infra:base'))
    age(task, 10)
    const result = await scan()
    expect(result.blocked.map((b) => b.id)).toEqual(['flip'])
    expect(existsSync(`${task}.invalid`)).toBe(false)
  })

  it('treats a missing inbox as empty and a dependency on a project without a folder as unknown', async () => {
    await expect(scanInbox({name: 'nowhere', path: join(root, 'nowhere')}, fx.known, fx.projects)).resolves.toMatchObject({ready: [], invalid: []})
    fx.put('app', 'inbox', 'needs-ghost', taskText('depends_on: ghost:x'))
    const result = await scanInbox(fx.project('app'), new Set([...fx.known, 'ghost']), fx.projects, {now: later()})
    expect(result.blocked[0]?.reason).toMatch(/unknown project "ghost"/)
  })
})
