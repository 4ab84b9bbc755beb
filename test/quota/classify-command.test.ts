// `quota classify`: the service (flags validated, capture read from a file or stdin) and the
// command definition both front ends run. Real files in a temp folder; stdin is a plain function.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import definition from '../../src/cli/quota/classify.js'
import {parseCommandArgv} from '../../src/lib/fast-cli.js'
import {FailoverError} from '../../src/lib/errors.js'
import {classifyCapture, type ClassifyCaptureDeps, parseNow} from '../../src/lib/quota/classify-input.js'
import {tempDir} from '../helpers/env.js'

const tmp = tempDir('cf-classify-')
afterAll(() => tmp.cleanup())
const pane = join(tmp.dir, 'pane.txt')
writeFileSync(pane, "❯ continue\n  ⎿  You've hit your session limit · resets 3pm\n     /upgrade to increase your usage limit.\n")

const deps = (stdin = '', tty = false): ClassifyCaptureDeps => ({
  now: () => new Date('2026-03-10T13:32:00Z'),
  readFile: async (path) => (await import('node:fs/promises')).readFile(path, 'utf8'),
  readStdin: async () => stdin,
  stdinIsTTY: tty,
})

describe('classifyCapture', () => {
  it('reads a file, at --now, in --tz', async () => {
    const {classification} = await classifyCapture({file: pane, now: '2026-03-10T16:00:00+01:00', tz: 'Europe/Paris'}, deps())
    expect(classification).toMatchObject({reset_at: '2026-03-11T14:00:00.000Z', scope: 'session', verdict: 'quota_exhausted'})
  })

  it('reads stdin when FILE is absent or -, and defaults --now to the clock', async () => {
    const text = "❯ go\n  ⎿  You've hit your limit · resets 3pm (UTC)\n"
    for (const file of [undefined, '-']) {
      const {classification, now} = await classifyCapture({file}, deps(text))
      expect(now.toISOString()).toBe('2026-03-10T13:32:00.000Z')
      expect(classification).toMatchObject({reset_at: '2026-03-10T15:00:00.000Z', verdict: 'quota_exhausted'})
    }
  })

  it.each([
    [{now: 'yesterday'}, /^--now: .*'yesterday'.*example: --now 2026-03-08T14:30:00Z/],
    [{now: '2026-03-08T14:30'}, /^--now: .*\(example: --now /],
    [{now: '2026-13-45T99:00:00Z'}, /^--now: /],
    [{tz: 'Mars/Olympus'}, /^--tz: unknown time zone 'Mars\/Olympus' \(example: --tz Europe\/Paris\)$/],
    [{file: join(tmp.dir, 'missing.txt')}, /^cannot read capture .*missing\.txt: no such file/],
    [{file: tmp.dir}, /is a directory/],
    [{}, /^no capture: give a FILE or pipe one on stdin/],
  ])('%j is a usage error (exit 2) with a valid example', async (options, message) => {
    const attempt = classifyCapture(options, deps('', true))
    await expect(attempt).rejects.toBeInstanceOf(FailoverError)
    await expect(attempt).rejects.toMatchObject({exitCode: 2, kind: 'usage', message: expect.stringMatching(message)})
  })

  it('parses instants with Z or an offset only', () => {
    expect(parseNow('2026-03-08T14:30:00Z').toISOString()).toBe('2026-03-08T14:30:00.000Z')
    expect(parseNow('2026-03-08 15:30:00+01:00').toISOString()).toBe('2026-03-08T14:30:00.000Z')
    expect(() => parseNow('2026-03-08')).toThrow(FailoverError)
  })
})

describe('the quota classify definition', () => {
  const ctx = (args: string[], stdin = '') => {
    const parsed = parseCommandArgv(definition, args)
    return {
      args: parsed.args,
      config: () => {
        throw new Error('quota classify must not load the config')
      },
      flags: parsed.flags as Parameters<typeof definition.run>[0]['flags'],
      json: parsed.flags.json === true,
      log: {info: () => {}, warn: () => {}},
      stdin: async () => stdin,
    }
  }

  it('is quota:classify with the hidden alias quota-classify', () => {
    expect(definition.id).toBe('quota:classify')
    expect(definition.aliases).toContain('quota-classify')
  })

  it('returns exactly verdict, reset_at, scope, pattern, snippet, without reading the config', async () => {
    const result = await definition.run(ctx([pane, '--now', '2026-03-10T13:32:00Z', '--tz', 'UTC', '--json']))
    expect(Object.keys(result)).toEqual(['verdict', 'reset_at', 'scope', 'pattern', 'snippet'])
    expect(result).toEqual({
      pattern: 'hit_your_limit',
      reset_at: '2026-03-10T15:00:00.000Z',
      scope: 'session',
      snippet: "You've hit your session limit · resets 3pm /upgrade to increase your usage limit.",
      verdict: 'quota_exhausted',
    })
  })

  it('renders a short human summary', async () => {
    const c = ctx([pane, '--now', '2026-03-10T13:32:00Z', '--tz', 'UTC'])
    const text = await definition.render?.(await definition.run(c), c)
    expect(text).toContain('quota_exhausted')
    expect(text).toContain('(hit_your_limit)')
    expect(text).toContain('resets 2026-03-10T15:00:00.000Z (in 88m)')
    expect(text).toContain("You've hit your session limit")
  })
})
