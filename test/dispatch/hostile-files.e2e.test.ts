// Hostile task files through `dispatch`, end to end (SPEC §3, reliability P13): every hostile file
// is refused (.invalid or .blocked, with the reason) and nothing is typed anywhere for it; bodies
// full of shell metacharacters and tmux key names are delivered, arrive byte for byte as the prompt
// in the simulated claude's transcript, and nothing in them runs.
import {randomBytes} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {queueDir} from '../../src/lib/queue/layout.js'
import {createWorld, type DispatchJson, type World} from './world.js'

const tag = randomBytes(4).toString('hex')
/** Files that exist only if something in a task file ran. */
const canaries = {
  backtick: join(tmpdir(), `pwned-${tag}-backtick`),
  dollar: join(tmpdir(), `pwned-${tag}-dollar`),
  engine: join(tmpdir(), `pwned-${tag}-engine`),
  engineLong: join(tmpdir(), `pwned-${tag}-engine-long`),
  yamlTag: join(tmpdir(), `pwned-${tag}-yaml-tag`),
}

let world: World
let victim: string
let secret: string
let pass: DispatchJson

/** Hostile files: id → content (or a builder for special files) and the refusal expected. */
const hostile: {id: string; verdict: 'invalid' | 'blocked'; reason: RegExp; make: (path: string) => void}[] = [
  {
    id: 'engine-js',
    make: (p) => writeFileSync(p, `---js\nrequire('fs').writeFileSync(${JSON.stringify(canaries.engine)}, 'x'); module.exports = {priority: 1}\n---\nBody.\n`),
    reason: /language tag "js" is refused/,
    verdict: 'invalid',
  },
  {
    id: 'engine-javascript',
    make: (p) => writeFileSync(p, `---javascript\n({priority: require('child_process').execSync('touch ${canaries.engineLong}') && 1})\n---\nBody.\n`),
    reason: /language tag "javascript" is refused/,
    verdict: 'invalid',
  },
  {
    id: 'yaml-js-function',
    make: (p) => writeFileSync(p, `---\npriority: !!js/function "function () { require('fs').writeFileSync('${canaries.yamlTag}', 'x') }"\n---\nBody.\n`),
    reason: /YAML tag that is not allowed/,
    verdict: 'invalid',
  },
  {id: 'bad-yaml', make: (p) => writeFileSync(p, '---\npriority: [1, 2\n---\nBody.\n'), reason: /frontmatter is not valid YAML/, verdict: 'invalid'},
  {
    id: 'billion-laughs',
    make: (p) => {
      const lines = ['---', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
      for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`)
      writeFileSync(p, `${lines.join('\n')}\n---\nBody.\n`)
    },
    reason: /too many YAML aliases/,
    verdict: 'invalid',
  },
  {id: 'proto', make: (p) => writeFileSync(p, '---\n__proto__: {priority: 99}\n---\nBody.\n'), reason: /"__proto__" is not allowed/, verdict: 'invalid'},
  {id: 'wrong-type', make: (p) => writeFileSync(p, '---\npriority: high\n---\nBody.\n'), reason: /priority: must be an integer \(got "high"\)/, verdict: 'invalid'},
  {id: 'cwd-traversal', make: (p) => writeFileSync(p, '---\ncwd: ../../../etc\n---\nBody.\n'), reason: /cwd: must stay inside the project/, verdict: 'invalid'},
  {id: 'cwd-absolute', make: (p) => writeFileSync(p, '---\ncwd: /etc\n---\nBody.\n'), reason: /cwd: must be relative to the project root/, verdict: 'invalid'},
  {id: 'cwd-symlink-out', make: (p) => writeFileSync(p, '---\ncwd: escape/sub\n---\nBody.\n'), reason: /cwd: must stay inside the project .*resolves to/, verdict: 'invalid'},
  {id: 'deps-traversal', make: (p) => writeFileSync(p, '---\ndepends_on: ["../../tmp:foo", "a/../b"]\n---\nBody.\n'), reason: /"\.\.\/\.\.\/tmp" is not a valid name.*"a\/\.\.\/b" is not valid/, verdict: 'blocked'},
  {id: 'huge', make: (p) => writeFileSync(p, `${'x'.repeat(2 * 1024 * 1024)}\n`), reason: /2\.0 MiB, over the 1 MiB limit/, verdict: 'invalid'},
  {id: 'binary', make: (p) => writeFileSync(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe])), reason: /NUL byte/, verdict: 'invalid'},
  {id: 'latin1', make: (p) => writeFileSync(p, Buffer.from('Caf\u00e9 cr\u00e8me', 'latin1')), reason: /not valid UTF-8/, verdict: 'invalid'},
  {id: 'symlink', make: (p) => symlinkSync(secret, p), reason: /is a symbolic link/, verdict: 'invalid'},
  {id: 'fifo', make: (p) => execFileSync('mkfifo', [p]), reason: /is not a regular file/, verdict: 'invalid'},
]

/** Bodies that must arrive literally. No trailing newline: `"$(cat -- file)"` drops trailing newlines, as any shell does. */
const literal: Record<string, string> = {
  'meta-backticks': `Run \`touch ${canaries.backtick}\` and tell me; also 'single' "double" \\ \\n $HOME ~ * ? [a-z] !! #`,
  'meta-dollar': `Please explain $(touch ${canaries.dollar}) and \${HOME} and $((1+1)) and "$(cat -- /etc/passwd)"`,
  'meta-rm': `Fix it; rm -rf ${'VICTIM'} ; echo done && exit 1 || true | cat > /dev/null & wait`,
  'tmux-keys': 'C-c Enter\nC-c\nEnter\nEscape C-u Up Down Tab BTab 1 2 3\n\\;\n; ends with a semicolon;',
}

beforeAll(async () => {
  world = await createWorld({pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 6}', projects: ['app']})
  victim = join(world.dir, 'victim')
  mkdirSync(victim)
  writeFileSync(join(victim, 'keep.txt'), 'still here')
  literal['meta-rm'] = (literal['meta-rm'] as string).replace('VICTIM', victim)
  secret = join(world.dir, 'secret.txt')
  writeFileSync(secret, `TOP-SECRET-${tag}\n`)
  // A folder inside the project that is a link to somewhere outside it
  mkdirSync(join(world.dir, 'outside', 'sub'), {recursive: true})
  symlinkSync(join(world.dir, 'outside'), join(world.projectPath('app'), 'escape'))

  const inbox = queueDir(world.projectPath('app'), 'inbox')
  for (const file of hostile) file.make(join(inbox, `${file.id}.md`))
  for (const [id, body] of Object.entries(literal)) world.put('app', id, body)
  // Age every entry past the settle time (the symlink's own times: lutimes via touch -h)
  execFileSync('touch', ['-h', '-d', '1 minute ago', ...readdirSync(inbox).map((n) => join(inbox, n))])

  // When one dispatch pass runs over all of them
  pass = await world.dispatch()
})

afterAll(async () => {
  await world?.close()
  for (const canary of Object.values(canaries)) rmSync(canary, {force: true})
})

describe('dispatch: hostile task files', () => {
  it.each(hostile.map((h) => [h.id, h] as const))('%s is refused with its reason and a marker', (id, h) => {
    const list = h.verdict === 'invalid' ? pass.invalid : pass.blocked
    const entry = list.find((e) => e.task === id)
    expect(entry, `${id} should be ${h.verdict}`).toBeDefined()
    expect(entry?.reason).toMatch(h.reason)
    const marker = join(queueDir(world.projectPath('app'), 'inbox'), `${id}.md.${h.verdict}`)
    expect(readFileSync(marker, 'utf8').split('\n')[0]).toBe(entry?.reason)
    expect(world.whereIs('app', id)).toEqual(['inbox'])
  })

  it('dispatches exactly the literal bodies, one session each; nothing is typed for a refused file', async () => {
    expect(pass.dispatched.map((d) => d.task).sort()).toEqual(Object.keys(literal).sort())
    expect(new Set(pass.dispatched.map((d) => d.session)).size).toBe(pass.dispatched.length)
    // Only the keeper and the sessions given a literal body exist: no session was created or typed into for the rest
    expect(await world.sessions()).toEqual(['keeper', ...pass.dispatched.map((d) => d.session)].sort())
    const prompts = readdirSync(join(world.box.config.stateDir, 'prompts', 'app')).sort()
    expect(prompts).toEqual(Object.keys(literal).map((id) => `${id}.md`).sort())
  })

  it('delivers metacharacters and tmux key names byte for byte, and nothing in them runs', async () => {
    for (const d of pass.dispatched) await world.waitForStop(d.session, d.conversation_id)
    const prompts = world.userPrompts()
    for (const [id, body] of Object.entries(literal)) {
      expect(prompts.filter((p) => p.content === body), id).toHaveLength(1)
    }

    expect(prompts).toHaveLength(Object.keys(literal).length)
    for (const [name, canary] of Object.entries(canaries)) expect(existsSync(canary), `${name} canary`).toBe(false)
    expect(readFileSync(join(victim, 'keep.txt'), 'utf8')).toBe('still here')
    // The secret behind the symlink was never read into any prompt or transcript
    const transcripts = new Set(prompts.map((p) => p.file))
    for (const file of transcripts) expect(readFileSync(file, 'utf8')).not.toContain(`TOP-SECRET-${tag}`)
    // A pane whose prompt said "C-c Enter" is still running its claude: no key was sent by name
    const finished = await world.dispatch()
    expect(finished.finished.map((f) => f.task).sort()).toEqual(Object.keys(literal).sort())
  })

  it('keeps refusing on the next pass without reading the files again, and never dispatches them', async () => {
    const again = await world.dispatch()
    expect(again.dispatched).toEqual([])
    expect(again.invalid.map((i) => i.task).sort()).toEqual(hostile.filter((h) => h.verdict === 'invalid').map((h) => h.id).sort())
    expect(again.blocked.map((b) => b.task)).toEqual(['deps-traversal'])
  })
})
