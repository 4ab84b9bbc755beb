// `task add` and `task list`, through the built CLI against real folders: Maildir-style delivery
// that a dispatch pass reads at once and never half, every refusal a one-line error with an
// example and nothing written, and the listing by state with reasons and claims.
import {mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {claimPath, writeClaim} from '../../src/lib/dispatch/claims.js'
import {addTask, generateTaskId, taskFileText} from '../../src/lib/queue/add.js'
import {queueDir} from '../../src/lib/queue/layout.js'
import {isSettled, readReadyTask, scanInbox} from '../../src/lib/queue/scan.js'
import {parseTaskBytes} from '../../src/lib/queue/task-file.js'
import {runCli, type Sandbox, sandbox} from '../helpers/env.js'

let box: Sandbox
let web: string
beforeEach(() => {
  box = sandbox('projects: [{name: web, path: ./web}, {name: api, path: ./api}]')
  web = join(box.dir, 'web')
  mkdirSync(join(web, 'services', 'api'), {recursive: true})
})
afterEach(() => box.cleanup())

const cli = (args: string[], input?: string | Buffer) => runCli([...args, '--config', box.configPath], input === undefined ? {} : {input: input as string})
const inbox = () => queueDir(web, 'inbox')
const listing = (dir: string) => {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

describe('task add', () => {
  it('writes the prompt from stdin as a task that a pass reads at once, and prints its path', async () => {
    const result = await cli(['task', 'add', '--project', 'web'], 'Fix the failing test in src/app.ts\n')
    expect(result.code, result.stderr).toBe(0)
    const path = result.stdout.trim()
    expect(path).toMatch(new RegExp(`^${inbox()}/t-\\d{8}-\\d{6}-[0-9a-f]{4}\\.md$`))
    expect(readFileSync(path, 'utf8')).toBe('Fix the failing test in src/app.ts\n')
    // No temp file is left, and the delivery is visibly complete (ctime > mtime): no settle wait
    expect(listing(inbox())).toEqual([path.slice(inbox().length + 1)])
    expect(isSettled(statSync(path), Date.now())).toBe(true)
    const scan = await scanInbox({name: 'web', path: web}, new Set(['web', 'api']), new Map([['web', {path: web}], ['api', {path: join(box.dir, 'api')}]]))
    const bodies = await Promise.all(scan.ready.map(async (t) => ((await readReadyTask(t, {name: 'web', path: web})) as {task: {body: string}}).task.body))
    expect(bodies).toEqual(['Fix the failing test in src/app.ts\n'])
  })

  it('writes every option as frontmatter the reader accepts, the prompt from a file unchanged; --json gives project, task, path and the dispatch pass (off in this sandbox)', async () => {
    const file = join(box.dir, 'deploy.md')
    const prompt = '-----\nA Markdown rule first, then the prompt.\n  keep: "this"\n'
    writeFileSync(file, prompt)
    const args = ['task-add', '--project', 'web', '--id', 'deploy', '--priority', '10', '--depends-on', 'build-base', '--depends-on', 'api:migrate,lint', '--timeout', '90m', '--cwd', 'services/api', '--retries', '2', '--json', file]
    const result = await cli(args)
    expect(result.code, result.stderr).toBe(0)
    const path = join(inbox(), 'deploy.md')
    expect(JSON.parse(result.stdout)).toEqual({dispatch: 'off', path, project: 'web', task: 'deploy'})
    const bytes = readFileSync(path)
    const parsed = await parseTaskBytes(bytes, {ctimeMs: 0, ino: 0, mtimeMs: 0, path, size: bytes.length}, {name: 'web', path: web})
    expect(parsed).toMatchObject({
      ok: true,
      task: {body: prompt, cwd: join(web, 'services', 'api'), id: 'deploy', priority: 10, retries: 2, timeoutMs: 90 * 60_000},
    })
    expect(parsed.ok && parsed.task.dependsOn.map((d) => d.raw)).toEqual(['build-base', 'api:migrate', 'lint'])
  })

  // The README's task file, as a user would pipe it in.
  const README_TASK = [
    '---',
    'priority: 10                    # higher first; ties: oldest first',
    'depends_on: [never-done]        # task_id (same project) or project:task_id',
    'timeout: 90m                    # else dispatcher.task_timeout',
    'cwd: services/api               # relative to the project; must stay inside it',
    'retries: 1                      # times it is put back in the inbox if its session dies',
    '---',
    'Add a `--json` flag to the status command and test it.',
    '',
  ].join('\n')

  it.each([['stdin', true], ['a file argument', false]])('keeps the frontmatter of a task given on %s, byte for byte, and the gate honours it', async (_, viaStdin) => {
    const file = join(box.dir, 'prompt.md')
    writeFileSync(file, README_TASK)
    const result = await cli(['task', 'add', '--project', 'web', '--id', 'status-json', ...(viaStdin ? [] : [file])], viaStdin ? README_TASK : undefined)
    expect(result.code, result.stderr).toBe(0)
    const path = join(inbox(), 'status-json.md')
    expect(readFileSync(path, 'utf8')).toBe(README_TASK)
    const scan = await scanInbox({name: 'web', path: web}, new Set(['web', 'api']), new Map([['web', {path: web}], ['api', {path: join(box.dir, 'api')}]]))
    expect(scan.ready).toEqual([])
    expect(scan.blocked).toEqual([{id: 'status-json', reason: expect.stringMatching(/^waiting for never-done/), unresolved: ['never-done']}])
    const bytes = readFileSync(path)
    const parsed = await parseTaskBytes(bytes, {ctimeMs: 0, ino: 0, mtimeMs: 0, path, size: bytes.length}, {name: 'web', path: web})
    expect(parsed).toMatchObject({ok: true, task: {body: 'Add a `--json` flag to the status command and test it.\n', cwd: join(web, 'services', 'api'), priority: 10, retries: 1, timeoutMs: 90 * 60_000}})
  })

  it('adds the flags\' keys to the file\'s frontmatter, and takes a flag that agrees with it', async () => {
    const input = '---\npriority: 10   # high\ndepends_on: [api:migrate]\n---\nShip it.\n'
    const result = await cli(['task', 'add', '--project', 'web', '--id', 'merged', '--priority', '10', '--depends-on', 'api:migrate', '--timeout', '1h30m', '--retries', '2'], input)
    expect(result.code, result.stderr).toBe(0)
    const path = join(inbox(), 'merged.md')
    const bytes = readFileSync(path)
    const parsed = await parseTaskBytes(bytes, {ctimeMs: 0, ino: 0, mtimeMs: 0, path, size: bytes.length}, {name: 'web', path: web})
    expect(parsed).toMatchObject({ok: true, task: {body: 'Ship it.\n', priority: 10, retries: 2, timeoutMs: 90 * 60_000}})
    expect(parsed.ok && parsed.task.dependsOn.map((d) => d.raw)).toEqual(['api:migrate'])
  })

  const disagreements: [string, string[], RegExp][] = [
    ['--priority', ['--priority', '5'], /--priority "5" disagrees with the file's frontmatter "priority: 10"; set it in one place, e\.g\. drop --priority/],
    ['--depends-on', ['--depends-on', 'lint'], /--depends-on "lint" disagrees with the file's frontmatter "depends_on: \[never-done\]"/],
    ['--timeout', ['--timeout', '2h'], /--timeout "2h" disagrees with the file's frontmatter "timeout: 90m"/],
    ['--cwd', ['--cwd', '.'], /--cwd "\." disagrees with the file's frontmatter "cwd: services\/api"/],
    ['--retries', ['--retries', '0'], /--retries "0" disagrees with the file's frontmatter "retries: 1"/],
  ]

  it.each(disagreements)('refuses %s that disagrees with the frontmatter, naming both (exit 2), writing nothing', async (_, flags, message) => {
    const result = await cli(['task', 'add', '--project', 'web', ...flags], README_TASK)
    expect(result.code, result.stderr).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(message)
    expect(listing(inbox())).toEqual([])
  })

  it.each([
    ['an unknown key', '---\npriorty: 10\n---\nDo it.\n', /unknown frontmatter key "priorty" \(did you mean "priority"\?\)/],
    ['a code engine', '---js\nmodule.exports = {}\n---\nDo it.\n', /frontmatter language tag "js" is refused/],
    ['an unclosed block', '---\npriority: 10\nDo it.\n', /frontmatter is not closed/],
    ['a wrong type', '---\nretries: -1\n---\nDo it.\n', /retries: must be an integer ≥ 0/],
  ])('refuses a prompt whose frontmatter has %s by the reader\'s rule (exit 65), writing nothing', async (_, input, message) => {
    const result = await cli(['task', 'add', '--project', 'web'], input)
    expect(result.code, result.stderr).toBe(65)
    expect(result.stderr).toMatch(/the task would be refused: /)
    expect(result.stderr).toMatch(message)
    expect(listing(inbox())).toEqual([])
  })

  it('refuses a self-dependency and a dependency cycle through the inbox, naming the cycle (exit 65)', async () => {
    const self = await cli(['task', 'add', '--project', 'web', '--id', 'loop', '--depends-on', 'loop'], 'Never.')
    expect(self.code, self.stderr).toBe(65)
    expect(self.stderr).toMatch(/task "loop" could never run: it closes the dependency cycle loop -> loop; leave out the dependency on "loop", e\.g\. /)
    expect((await cli(['task', 'add', '--project', 'web', '--id', 'a', '--depends-on', 'b'], 'First.')).code).toBe(0)
    const cycle = await cli(['task', 'add', '--project', 'web', '--id', 'b'], '---\ndepends_on: [a]\n---\nSecond.\n')
    expect(cycle.code, cycle.stderr).toBe(65)
    expect(cycle.stderr).toMatch(/task "b" could never run: it closes the dependency cycle b -> a -> b;/)
    expect(listing(inbox())).toEqual(['a.md'])
  })

  it('a missing or directory prompt file exits 66 (no input), naming it', async () => {
    const missing = await cli(['task', 'add', '--project', 'web', join(box.dir, 'nope.md')])
    expect(missing.code).toBe(66)
    expect(missing.stderr).toMatch(/cannot read the prompt file ".*nope\.md" \(ENOENT\); e\.g\. /)
    const dir = await cli(['task', 'add', '--project', 'web', box.dir])
    expect(dir.code).toBe(66)
    expect(dir.stderr).toMatch(/cannot read the prompt file ".*" \(a directory\); e\.g\. /)
  })

  it('makes readable ids and tries a fresh one when a generated id is taken', async () => {
    expect(generateTaskId(new Date('2026-11-21T07:30:15.123Z'), '3f2a')).toBe('t-20261121-073015-3f2a')
    mkdirSync(queueDir(web, 'done'), {recursive: true})
    writeFileSync(join(queueDir(web, 'done'), 't-20261121-073015-aaaa.md'), 'old')
    const hexes = ['aaaa', 'bbbb']
    const added = await addTask(box.config, {project: 'web', prompt: Buffer.from('Do it.')}, {now: () => new Date('2026-11-21T07:30:15Z'), randomHex: () => hexes.shift() as string})
    expect(added).toEqual({path: join(inbox(), 't-20261121-073015-bbbb.md'), project: 'web', task: 't-20261121-073015-bbbb'})
  })

  const refusals: [string, string[], string | Buffer, number, RegExp][] = [
    ['an empty prompt', [], '', 65, /the prompt is empty/],
    ['a blank prompt', [], ' \n\t\n', 65, /the prompt is empty/],
    ['a non-UTF-8 prompt', [], Buffer.from('caf\u00e9', 'latin1'), 65, /not valid UTF-8/],
    ['a prompt with a NUL byte', [], Buffer.from('a\0b'), 65, /NUL byte/],
    ['a prompt over 1 MiB', [], 'x'.repeat(1024 * 1024 + 1), 65, /over the 1 MiB limit/],
    ['no --project', [], 'x', 2, /missing --project/],
    ['an unknown project', ['--project', 'nope'], 'x', 2, /unknown project "nope" \(known: api, web\)/],
    ['an id with a slash', ['--id', '../escape'], 'x', 2, /--id "\.\.\/escape" is not a valid task id/],
    ['a hidden id', ['--id', '.hidden'], 'x', 2, /not starting with "\."/],
    ['a traversal in --depends-on', ['--depends-on', '../../tmp:foo'], 'x', 2, /--depends-on: depends_on entry "\.\.\/\.\.\/tmp:foo"/],
    ['a dependency on an unknown project', ['--depends-on', 'ghost:base'], 'x', 2, /unknown project "ghost"/],
    ['a timeout without a unit', ['--timeout', '90'], 'x', 2, /--timeout "90" is not a duration/],
    ['a cwd outside the project', ['--cwd', '../api'], 'x', 2, /cwd: must stay inside the project/],
    ['a cwd through a link out of the project', ['--cwd', 'out/sub'], 'x', 2, /cwd: must stay inside the project .*resolves to/],
  ]

  it.each(refusals)('refuses %s with one line and an example, writing nothing', async (what, flags, input, code, message) => {
    symlinkSync(box.dir, join(web, 'out'))
    const project = flags.includes('--project') || what === 'no --project' ? [] : ['--project', 'web']
    const result = await cli(['task', 'add', ...project, ...flags], input)
    expect(result.code, result.stderr).toBe(code)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message)
    expect(lines[0]).toMatch(/e\.g\. /)
    expect(result.stdout).toBe('')
    expect(listing(inbox())).toEqual([])
  })

  it('refuses a configured project whose folder is missing (exit 78), creating nothing', async () => {
    const result = await cli(['task', 'add', '--project', 'api'], 'x')
    expect(result.code).toBe(78)
    expect(result.stderr).toMatch(/project "api" has no folder at .*\/api; create it or fix its path in .*config\.yaml, e\.g\. /)
    expect(listing(box.dir)).not.toContain('api')
  })

  it('refuses negative retries (the flag parser: exit 2) and takes a negative priority', async () => {
    const retries = await cli(['task', 'add', '--project', 'web', '--retries=-1'], 'x')
    expect(retries.code).toBe(2)
    expect(retries.stderr).toMatch(/Expected an integer ≥ 0 for --retries, got -1/)
    const low = await cli(['task', 'add', '--project', 'web', '--id', 'low', '--priority=-5'], 'Later.')
    expect(low.code, low.stderr).toBe(0)
    expect(readFileSync(join(inbox(), 'low.md'), 'utf8')).toBe('---\npriority: -5\n---\nLater.')
  })

  it.each(['inbox', 'dispatched', 'done', 'failed', 'archive'] as const)('refuses an id that exists in %s/ (exit 65: bad input), leaving it untouched', async (state) => {
    mkdirSync(queueDir(web, state), {recursive: true})
    writeFileSync(join(queueDir(web, state), 'taken.md'), 'the original')
    const result = await cli(['task', 'add', '--project', 'web', '--id', 'taken'], 'a newcomer')
    expect(result.code).toBe(65)
    expect(result.stderr).toMatch(new RegExp(`task "taken" already exists in web/${state}/; choose another id, e\\.g\\. --id taken-2`))
    expect(readFileSync(join(queueDir(web, state), 'taken.md'), 'utf8')).toBe('the original')
    expect(listing(inbox())).toEqual(state === 'inbox' ? ['taken.md'] : [])
  })

  it('of ten adds racing for one id, exactly one wins; the rest exit 65 and the winner is whole', async () => {
    const results = await Promise.all(Array.from({length: 10}, (_, i) => cli(['task', 'add', '--project', 'web', '--id', 'race'], `prompt number ${i}\n`)))
    expect(results.filter((r) => r.code === 0)).toHaveLength(1)
    expect(results.filter((r) => r.code === 65)).toHaveLength(9)
    const winner = results.findIndex((r) => r.code === 0)
    expect(readFileSync(join(inbox(), 'race.md'), 'utf8')).toBe(`prompt number ${winner}\n`)
    expect(listing(inbox())).toEqual(['race.md'])
  })
})

describe('task list', () => {
  async function fill(): Promise<void> {
    const dirs = Object.fromEntries((['inbox', 'dispatched', 'done', 'failed', 'archive'] as const).map((s) => [s, queueDir(web, s)]))
    for (const dir of Object.values(dirs)) mkdirSync(dir, {recursive: true})
    writeFileSync(join(dirs.inbox as string, 'waiting.md'), '---\npriority: 7\ndepends_on: [finished, api:migrate]\n---\nx')
    writeFileSync(join(dirs.inbox as string, 'stuck.md'), 'x')
    writeFileSync(join(dirs.inbox as string, 'stuck.md.blocked'), 'waiting for api:migrate (not in done/ or archive/ yet)\n')
    writeFileSync(join(dirs.inbox as string, 'bad.md'), 'x')
    writeFileSync(join(dirs.inbox as string, 'bad.md.invalid'), 'frontmatter is not valid YAML\ntask-file: size=1 mtime_ms=1 ctime_ms=1 ino=1\n')
    writeFileSync(join(dirs.inbox as string, '.t-1.md.tmp-1-x-1'), 'half')
    writeFileSync(join(dirs.dispatched as string, 'running.md'), 'x')
    await writeClaim(web, {
      account: 'main', attempt: 1, claimed_at: '2026-11-21T07:30:15.000Z', conversation_id: '4f35e220-c435-4cf7-b9b9-f40426042847', cwd: web,
      launched_at: '2026-11-21T07:30:16.000Z', pid: 1, project: 'web', retries: 0, session: 'ccl-auto-11', task: 'running', timeout_ms: null,
    })
    writeFileSync(join(dirs.done as string, 'finished.md'), 'x')
    writeFileSync(claimPath(web, 'finished', 'done'), JSON.stringify({
      account: 'backup', attempt: 1, claimed_at: '2026-11-20T10:00:00.000Z', conversation_id: '5f35e220-c435-4cf7-b9b9-f40426042847', cwd: web,
      launched_at: '2026-11-20T10:00:01.000Z', pid: 1, project: 'web', retries: 0, session: 'ccl-auto-12', task: 'finished', timeout_ms: null,
    }))
    writeFileSync(join(dirs.failed as string, 'broke.md'), 'x')
    writeFileSync(join(dirs.archive as string, 'ancient.md'), 'x')
  }

  it('lists every task by state, with reasons for blocked and invalid and the claim for dispatched; writes nothing', async () => {
    await fill()
    const before = JSON.stringify(['inbox', 'dispatched'].map((s) => listing(queueDir(web, s as 'inbox'))))
    const result = await cli(['task', 'list', '--project', 'web', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const {project, tasks} = JSON.parse(result.stdout)
    expect(project).toBe('web')
    expect(tasks.map((t: {task: string; state: string}) => `${t.state}:${t.task}`)).toEqual([
      'inbox:waiting', 'blocked:stuck', 'invalid:bad', 'dispatched:running', 'done:finished', 'failed:broke', 'archive:ancient',
    ])
    expect(tasks[0]).toMatchObject({depends_on: ['finished', 'api:migrate'], priority: 7, state: 'inbox', task: 'waiting'})
    expect(tasks[1]).toEqual({depends_on: [], path: join(inbox(), 'stuck.md'), priority: 0, reason: 'waiting for api:migrate (not in done/ or archive/ yet)', state: 'blocked', task: 'stuck'})
    expect(tasks[2]).toMatchObject({reason: 'frontmatter is not valid YAML', state: 'invalid'})
    expect(tasks[3]).toMatchObject({account: 'main', claimed_at: '2026-11-21T07:30:15.000Z', conversation_id: '4f35e220-c435-4cf7-b9b9-f40426042847', session: 'ccl-auto-11', state: 'dispatched'})
    expect(JSON.stringify(['inbox', 'dispatched'].map((s) => listing(queueDir(web, s as 'inbox'))))).toBe(before)

    const human = await cli(['task-list', '--project', 'web'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/waiting\s+inbox\s+7\s+finished, api:migrate\s/)
    expect(human.stdout).toMatch(/stuck\s+blocked\s+0\s+-\s+waiting for api:migrate/)
    expect(human.stdout).toMatch(/running\s+dispatched\s+0\s+-\s+ccl-auto-11 \(main\) since 2026-11-21T07:30:15\.000Z/)
    expect(human.stdout).toMatch(/finished\s+done\s+0\s+-\s+ran on ccl-auto-12 \(backup\) dispatched 2026-11-20T10:00:00\.000Z/)
  })

  it('filters by --state, and refuses an unknown project or state', async () => {
    await fill()
    const blocked = await cli(['task', 'list', '--project', 'web', '--state', 'blocked', '--json'])
    expect(JSON.parse(blocked.stdout).tasks.map((t: {task: string}) => t.task)).toEqual(['stuck'])
    const empty = await cli(['task', 'list', '--project', 'api'])
    expect(empty).toMatchObject({code: 0, stdout: 'no tasks in api\n'})
    const noneFailed = await cli(['task', 'list', '--project', 'api', '--state', 'failed'])
    expect(noneFailed).toMatchObject({code: 0, stdout: 'no failed tasks in api\n'})
    const unknown = await cli(['task', 'list', '--project', 'nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown project "nope" \(known: api, web\); e\.g\. /)
    const badState = await cli(['task', 'list', '--project', 'web', '--state', 'lost'])
    expect(badState.code).toBe(2)
  })
})
