// The task-file parser, from tables of fixtures including hostile ones.
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {parseDependency, parseTaskBytes, readTaskFile, splitFrontmatter} from '../../src/lib/queue/task-file.js'
import {tempDir} from '../helpers/env.js'

const project = {name: 'app', path: '/srv/app'}
const meta = {ctimeMs: 2, ino: 3, mtimeMs: 1, path: '/srv/app/.agent-queue/inbox/t1.md', size: 0}
const parse = (text: string | Uint8Array) => parseTaskBytes(typeof text === 'string' ? Buffer.from(text) : text, meta, project)

describe('parseTaskBytes', () => {
  it('reads every key and keeps the body byte for byte', async () => {
    const body = 'Line one\n\n$(rm -rf ~) `id`; true && false | cat\nC-c Enter\n'
    const result = await parse(`---\npriority: 10\ndepends_on: [infra:build-base, lint]\ntimeout: 90m\ncwd: services/api\nretries: 2\n---\n${body}`)
    expect(result).toEqual({
      ok: true,
      task: {
        body,
        ctimeMs: 2,
        cwd: '/srv/app/services/api',
        dependsOn: [
          {ok: true, project: 'infra', raw: 'infra:build-base', taskId: 'build-base'},
          {ok: true, project: 'app', raw: 'lint', taskId: 'lint'},
        ],
        id: 't1',
        ino: 3,
        mtimeMs: 1,
        path: meta.path,
        priority: 10,
        project: 'app',
        retries: 2,
        size: 0,
        timeoutMs: 5_400_000,
      },
    })
  })

  it('refuses a cwd with a control character (it could never go into a launch line)', async () => {
    for (const cwd of ['"sub\\tdir"', '"sub\\ndir"']) {
      const result = await parse(`---\ncwd: ${cwd}\n---\nWork there\n`)
      expect(result).toEqual({ok: false, reason: expect.stringMatching(/^cwd: must not contain control characters/)})
    }
  })

  it('applies the defaults; no frontmatter means the whole file is the prompt', async () => {
    const text = '# Fix it\n\n---\nnot: frontmatter\n---\n'
    const result = await parse(text)
    expect(result).toMatchObject({ok: true, task: {body: text, cwd: '/srv/app', dependsOn: [], priority: 0, retries: 0}})
    expect(result.ok && 'timeoutMs' in result.task).toBe(false)
  })

  it('accepts CRLF, an empty frontmatter, a bare string depends_on and a Markdown rule at the top', async () => {
    expect(await parse('---\r\npriority: 3\r\n---\r\nBody\r\n')).toMatchObject({ok: true, task: {body: 'Body\r\n', priority: 3}})
    expect(await parse('---\n---\nBody')).toMatchObject({ok: true, task: {body: 'Body', priority: 0}})
    expect(await parse('---\n# only a comment\n---\nBody')).toMatchObject({ok: true, task: {body: 'Body'}})
    expect(await parse('---\ndepends_on: lint\n---\nBody')).toMatchObject({ok: true, task: {dependsOn: [{raw: 'lint'}]}})
    expect(await parse('-----\nBody')).toMatchObject({ok: true, task: {body: '-----\nBody'}})
  })

  it('keeps YAML 1.2 core semantics: no dates, no yes/no booleans', async () => {
    expect(await parse('---\npriority: 012\n---\nBody')).toMatchObject({ok: true, task: {priority: 12}})
    expect(await parse('---\ncwd: 2024-01-02\n---\nBody')).toMatchObject({ok: true, task: {cwd: '/srv/app/2024-01-02'}})
  })

  // Every hostile or broken file: refused with a precise, one-line reason that shows an example.
  const refused: [string, string | Uint8Array, RegExp][] = [
    ['---js code engine', '---js\n({priority: 1})\n---\nBody', /^frontmatter language tag "js" is refused .*e\.g\. /],
    ['---javascript', '---javascript\n({})\n---\nBody', /language tag "javascript" is refused/],
    ['---JavaScript', '---JavaScript\n({})\n---\nBody', /language tag "JavaScript" is refused/],
    ['--- js (space)', '--- js\n({})\n---\nBody', /language tag "js" is refused/],
    ['---coffee', '---coffee\npriority: 1\n---\nBody', /language tag "coffee" is refused/],
    ['---yaml (any tag)', '---yaml\npriority: 1\n---\nBody', /language tag "yaml" is refused/],
    ['!!js/function', '---\npriority: !!js/function "function () { return 1 }"\n---\nBody', /^frontmatter uses a YAML tag that is not allowed \(line 2, column \d+: Unresolved tag: tag:yaml.org,2002:js\/function\)/],
    ['custom tag', '---\npriority: !exec 1\n---\nBody', /YAML tag that is not allowed/],
    [
      'billion laughs',
      '---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n---\nBody',
      /too many YAML aliases \(more than 50/,
    ],
    ['bad YAML', '---\npriority: [1, 2\ncwd: x\n---\nBody', /^frontmatter is not valid YAML \(line 3, column 1: /],
    ['duplicate key', '---\npriority: 1\npriority: 2\n---\nBody', /not valid YAML \(line 3, column 1: Map keys must be unique/],
    ['two documents', '---\npriority: 1\n--- x\n---\nBody', /^frontmatter holds more than one YAML document/],
    ['a second document after --- x', '---\npriority: 1\n--- retries: 1\n---\nBody', /more than one YAML document/],
    ['unterminated frontmatter', '---\npriority: 1\nDo the thing.\n', /^frontmatter is not closed: add a line "---"/],
    ['only the opening line', '---', /frontmatter is not closed/],
    ['frontmatter is a list', '---\n- priority\n---\nBody', /^frontmatter must be a mapping of keys \(got a list\); e\.g\. priority: 10/],
    ['frontmatter is a scalar', '---\nhello\n---\nBody', /^frontmatter must be a mapping of keys \(got "hello"\)/],
    ['priority: high', '---\npriority: high\n---\nBody', /^priority: must be an integer \(got "high"\); e\.g\. priority: 10$/],
    ['priority: 1.5', '---\npriority: 1.5\n---\nBody', /^priority: must be an integer \(got 1.5\)/],
    ['retries: -1', '---\nretries: -1\n---\nBody', /^retries: must be an integer ≥ 0 \(got -1\); e\.g\. retries: 1$/],
    ['timeout: 90', '---\ntimeout: 90\n---\nBody', /^timeout: must be a duration with a unit \(got 90\); e\.g\. timeout: 90m$/],
    ['timeout: soon', '---\ntimeout: soon\n---\nBody', /^timeout: must be a duration with a unit, longer than 0 \(got "soon"\)/],
    ['timeout: 0s', '---\ntimeout: 0s\n---\nBody', /longer than 0/],
    ['depends_on: 3', '---\ndepends_on: 3\n---\nBody', /^depends_on: must be a task id or a list of them \(got 3\); e\.g\. depends_on: \[/],
    ['depends_on: [1]', '---\ndepends_on: [lint, {a: 1}]\n---\nBody', /^depends_on: must be a task id or a list of them/],
    ['unknown key', '---\nprio: 1\n---\nBody', /^unknown frontmatter key "prio" \(did you mean "priority"\?\); allowed keys: priority, depends_on, timeout, cwd, retries/],
    ['merge key', '---\nx: &x {priority: 1}\n<<: *x\n---\nBody', /unknown frontmatter key "x".*unknown frontmatter key "<<"/],
    ['__proto__', '---\n__proto__: {polluted: true}\n---\nBody', /^frontmatter key "__proto__" is not allowed/],
    ['constructor', '---\nconstructor: {prototype: {polluted: true}}\n---\nBody', /^frontmatter key "constructor" is not allowed/],
    ['cwd traversal', '---\ncwd: ../../etc\n---\nBody', /^cwd: must stay inside the project \(got "\.\.\/\.\.\/etc"\); e\.g\. cwd: services\/api$/],
    ['cwd sneaky traversal', '---\ncwd: services/../../x\n---\nBody', /^cwd: must stay inside the project/],
    ['cwd absolute', '---\ncwd: /etc\n---\nBody', /^cwd: must be relative to the project root, not absolute \(got "\/etc"\)/],
    ['cwd home', '---\ncwd: ~/secrets\n---\nBody', /^cwd: must be relative/],
    ['cwd empty', '---\ncwd: ""\n---\nBody', /^cwd: must be a folder path relative to the project root \(got ""\)/],
    ['NUL byte', 'Body\0more', /^contains a NUL byte/],
    ['not UTF-8', Uint8Array.from([0x48, 0x69, 0xff, 0xfe, 0x0a]), /^is not valid UTF-8 text/],
    ['empty file', '', /^the prompt is empty/],
    ['whitespace body', '---\npriority: 1\n---\n  \n\t\n', /^the prompt is empty/],
    ['no body after frontmatter', '---\npriority: 1\n---', /^the prompt is empty/],
  ]

  it.each(refused)('refuses %s', async (_name, text, reason) => {
    const result = await parse(text)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.reason).toMatch(reason)
    expect(result.reason).not.toContain('\n')
  })

  it('never runs a code engine and never pollutes prototypes', async () => {
    const sentinel = `__cf_pwned_${process.pid}`
    for (const tag of ['js', 'javascript', 'JavaScript', 'coffee']) {
      await parse(`---${tag}\nglobalThis.${sentinel} = true; ({priority: 1})\n---\nBody`)
    }

    await parse('---\n__proto__: {polluted: true}\n---\nBody')
    expect((globalThis as Record<string, unknown>)[sentinel]).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('splitFrontmatter', () => {
  it('closes only on a line that is exactly ---', () => {
    expect(splitFrontmatter('---\na: 1\n---x\n---\nBody')).toEqual({ok: true, value: {body: 'Body', bodyLine: 5, frontmatter: 'a: 1\n---x\n'}})
    expect(splitFrontmatter('---  \na: 1\n---\t\nBody')).toEqual({ok: true, value: {body: 'Body', bodyLine: 4, frontmatter: 'a: 1\n'}})
  })
})

describe('parseDependency', () => {
  const known = new Set(['app', 'infra'])
  it.each([
    ['build-base', {ok: true, project: 'app', taskId: 'build-base'}],
    ['infra:build.v2_x', {ok: true, project: 'infra', taskId: 'build.v2_x'}],
  ])('accepts %s', (entry, expected) => {
    expect(parseDependency(entry, 'app', known)).toEqual(expected)
  })

  it.each([
    ['../../tmp:foo', /project "\.\.\/\.\.\/tmp" is not a valid name/],
    ['../x', /task id "\.\.\/x" is not valid/],
    ['.', /task id "\." is not valid/],
    ['..:x', /project "\.\." is not a valid name/],
    ['infra:..', /task id "\.\." is not valid/],
    ['ghost:x', /unknown project "ghost"/],
    ['a:b:c', /more than one ":"/],
    [':x', /project before ":" is empty/],
    ['infra:', /task id after ":" is empty/],
    ['', /is empty/],
    ['infra:with space', /task id "with space" is not valid/],
  ])('refuses %j', (entry, reason) => {
    const result = parseDependency(entry, 'app', known)
    expect(result).toEqual({ok: false, reason: expect.stringMatching(reason)})
    expect(result.ok === false && result.reason).toMatch(/e\.g\. depends_on: \[/)
  })
})

describe('readTaskFile', () => {
  let cleanup: () => void
  let root: string
  let inbox: string
  const proj = () => ({name: 'app', path: join(root, 'app')})

  beforeEach(() => {
    const temp = tempDir('cf-taskfile-')
    cleanup = temp.cleanup
    root = temp.dir
    inbox = join(root, 'app', '.agent-queue', 'inbox')
    mkdirSync(inbox, {recursive: true})
  })
  afterEach(() => cleanup())

  it('reads a task and fills in mtime and size', async () => {
    const file = join(inbox, 'ok.md')
    writeFileSync(file, '---\npriority: 4\n---\nHello\n')
    const result = await readTaskFile(file, proj())
    expect(result).toMatchObject({ok: true, task: {body: 'Hello\n', id: 'ok', priority: 4, project: 'app', size: 26}})
  })

  it('refuses a symlink to a secret without reading the secret', async () => {
    writeFileSync(join(root, 'secret.txt'), 'TOKEN=hunter2\n')
    const file = join(inbox, 'link.md')
    symlinkSync(join(root, 'secret.txt'), file)
    const result = await readTaskFile(file, proj())
    expect(result).toEqual({ok: false, reason: expect.stringMatching(/^is a symbolic link/)})
    expect(JSON.stringify(result)).not.toContain('hunter2')
  })

  it('refuses a prompt over the 128 KiB one argument can carry, and takes one just under it', async () => {
    const big = join(inbox, 'long.md')
    writeFileSync(big, `---\npriority: 1\n---\n${'a'.repeat(128 * 1024)}\n`)
    await expect(readTaskFile(big, proj())).resolves.toEqual({ok: false, reason: expect.stringMatching(/^the prompt is 128 KiB, over the 128 KiB Claude Code can be launched with/)})
    writeFileSync(big, `${'a'.repeat(128 * 1024 - 1)}\n\n`)
    await expect(readTaskFile(big, proj())).resolves.toMatchObject({ok: true})
  })

  it('refuses a 2 MiB file without reading it, and a bad id', async () => {
    const big = join(inbox, 'big.md')
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 'a'))
    await expect(readTaskFile(big, proj())).resolves.toEqual({ok: false, reason: expect.stringMatching(/^is 2\.0 MiB, over the 1 MiB limit/)})
    const bad = join(inbox, 'bad id.md')
    writeFileSync(bad, 'Body')
    await expect(readTaskFile(bad, proj())).resolves.toEqual({ok: false, reason: expect.stringMatching(/^task id "bad id" may use only/)})
  })

  it('refuses a cwd that leaves the project through a symlink, even below a folder that does not exist yet', async () => {
    mkdirSync(join(root, 'outside'))
    mkdirSync(join(root, 'app', 'services'))
    symlinkSync(join(root, 'outside'), join(root, 'app', 'out'))
    for (const cwd of ['out', 'out/not-yet/deeper']) {
      const file = join(inbox, 'escape.md')
      writeFileSync(file, `---\ncwd: ${cwd}\n---\nBody`)
      await expect(readTaskFile(file, proj()), cwd).resolves.toEqual({ok: false, reason: expect.stringMatching(/^cwd: must stay inside the project \(got "out.*", which resolves to ".*outside/)})
    }

    symlinkSync('loop', join(root, 'app', 'loop'))
    const looped = join(inbox, 'loop.md')
    writeFileSync(looped, '---\ncwd: loop/x\n---\nBody')
    await expect(readTaskFile(looped, proj())).resolves.toEqual({ok: false, reason: expect.stringMatching(/^cwd: cannot be resolved inside the project \(ELOOP/)})

    const file = join(inbox, 'fine.md')
    writeFileSync(file, '---\ncwd: services/new\n---\nBody')
    await expect(readTaskFile(file, proj())).resolves.toMatchObject({ok: true, task: {cwd: join(root, 'app', 'services', 'new')}})
  })
})
