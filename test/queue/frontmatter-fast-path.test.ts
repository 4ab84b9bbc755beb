// The frontmatter fast path must never disagree with the full YAML 1.2 core parser: on every input
// it accepts, both give the same value. Checked on a generated corpus of tricky tokens.
import {parseAllDocuments} from 'yaml'
import {describe, expect, it} from 'vitest'

import {validateFrontmatter} from '../../src/lib/queue/frontmatter.js'
import {quickFields, readFrontmatter, simpleFrontmatter} from '../../src/lib/queue/task-file.js'

const KEYS = ['priority', 'depends_on', 'timeout', 'cwd', 'retries', 'owner', '__proto__', 'Priority']
const TOKENS = [
  'a', 'build-base', 'a:b', 'infra:build.v2_x', 'a:', ':a', 'a::b', 'a:b:c', 'x-', '-x', '_x', 'a.b', 'a/b', 'services/api', './x', '../x', '.', '..', '...',
  '1', '-1', '+1', '0', '-0', '012', '0x1f', '0X1F', '0o7', '0o8', '1e3', '1E-3', '1.', '.5', '1.5', '1_000', '123456789012345', '9007199254740993',
  '.inf', '-.inf', '+.Inf', '.nan', '.NaN', 'inf', 'nan', 'null', 'Null', 'NULL', 'nULL', '~', 'true', 'True', 'TRUE', 'tRUE', 'false', 'yes', 'No', 'on', 'off', 'y', 'n',
  '90m', '1h30m', '5m0s', '0s', '2024-01-02', '12:30', '1:2', 'x#y', 'a b', '"q"', "'q'", '&x a', '*x', '!!str a', '!x a', 'a # c', '%x', '@x', '`x`', '|', '>', '-', '?', '#',
]
const FLOWS = ['[]', '[ ]', '[a]', '[a, b]', '[a,b]', '[ a , b ]', '[a:b, c]', '[a:, b]', '[a: b]', '[1, a]', '[null]', '[a,]', '[,a]', '[[a]]', '{a: 1}', '[a] # c', '[a]]', '[0x1]', '[.inf]', '[true]']

function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

function generate(rand: () => number): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T
  const lines: string[] = []
  const count = 1 + Math.floor(rand() * 4)
  for (let i = 0; i < count; i++) {
    const roll = rand()
    const key = rand() < 0.85 ? pick(KEYS.slice(0, 5)) : pick(KEYS)
    if (roll < 0.45) lines.push(`${key}: ${pick(TOKENS)}`)
    else if (roll < 0.65) lines.push(`${key}: ${pick(FLOWS)}`)
    else if (roll < 0.85) {
      lines.push(`${key}:`)
      const indent = ' '.repeat(Math.floor(rand() * 3))
      const items = Math.floor(rand() * 3)
      for (let j = 0; j < items; j++) lines.push(`${rand() < 0.9 ? indent : ' '}- ${pick(TOKENS)}`)
    } else if (roll < 0.9) lines.push(pick(['', '# comment', '  # indented comment', '   ']))
    else lines.push(pick([`${key} : 1`, `${key}:1`, `  ${key}: 1`, `${key}:  a`, `${key}: a  `, `${key}:\ta`, `${key}: a\r`]))
  }

  return `${lines.join('\n')}\n`
}

describe('simpleFrontmatter', () => {
  it('agrees with yaml v2 (YAML 1.2 core) on everything it accepts', () => {
    const rand = random(20_240_102)
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const source = generate(rand)
      const fast = simpleFrontmatter(source)
      if (fast === undefined) continue
      accepted++
      const docs = parseAllDocuments(source, {logLevel: 'silent', schema: 'core', strict: true, uniqueKeys: true, version: '1.2'})
      if (!Array.isArray(docs)) throw new Error(`not parsed: ${source}`)
      // No document at all (blank or comment lines only) is what parseFrontmatter reads as {}
      if (docs.length === 0) {
        expect(fast, source).toStrictEqual({})
        continue
      }

      expect(docs.length, source).toBe(1)
      const doc = docs[0] as (typeof docs)[number]
      expect([...doc.errors, ...doc.warnings], source).toEqual([])
      expect(doc.toJS(), source).toStrictEqual(fast)
    }

    // The corpus exercises the fast path, not only the fallback
    expect(accepted).toBeGreaterThan(2000)
  })

  it('hands anything unusual to the full parser', () => {
    for (const source of ['__proto__: 1\n', 'priority: 1\npriority: 2\n', 'depends_on:\n', 'cwd: "x"\n', 'priority: 1 # c\n', 'cwd: &a x\n', 'cwd: null\n', 'timeout: 1e3\n', 'cwd: .inf\n']) {
      expect(simpleFrontmatter(source), source).toBeUndefined()
    }

    expect(simpleFrontmatter('priority: 10\ndepends_on:\n  - a\n  - infra:b\ntimeout: 90m\r\ncwd: services/api\n# done\n')).toEqual({cwd: 'services/api', depends_on: ['a', 'infra:b'], priority: 10, timeout: '90m'})
  })
})

describe('quickFields and readFrontmatter', () => {
  it('checks plain values exactly as the zod schema does: never accepts what it refuses, never reads a value differently', () => {
    const rand = random(20_261_121)
    let quick = 0
    let refused = 0
    for (let i = 0; i < 20_000; i++) {
      const source = generate(rand)
      const data = simpleFrontmatter(source)
      if (data === undefined) continue
      const fields = quickFields(data)
      const full = validateFrontmatter(data)
      if (fields === undefined) {
        refused += full.ok ? 0 : 1
        continue
      }

      quick++
      expect(full, source).toStrictEqual({ok: true, value: fields})
    }

    // Both branches are exercised: plenty settled without zod, plenty sent to it and refused there.
    expect(quick).toBeGreaterThan(500)
    expect(refused).toBeGreaterThan(500)
  })

  it('words a refusal the way the full path does', async () => {
    expect(await readFrontmatter('priority: high\n')).toEqual({ok: false, reason: expect.stringMatching(/^priority: must be an integer \(got "high"\)/)})
    expect(await readFrontmatter('timeout: 0s\n')).toEqual({ok: false, reason: expect.stringMatching(/^timeout: must be a duration with a unit, longer than 0/)})
    expect(await readFrontmatter('cwd: ../up\n')).toEqual({ok: false, reason: expect.stringMatching(/^cwd: must stay inside the project/)})
    expect(await readFrontmatter('retries: -1\n')).toEqual({ok: false, reason: expect.stringMatching(/^retries: must be an integer ≥ 0/)})
    expect(await readFrontmatter('priority: 3\ndepends_on: [a, b:c]\n')).toEqual({ok: true, value: {dependsOn: ['a', 'b:c'], priority: 3, retries: 0}})
  })
})
