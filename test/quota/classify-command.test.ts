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

  it('returns exactly verdict, reset_at, scope, pattern, snippet and the deciding source, without reading the config', async () => {
    const result = await definition.run(ctx([pane, '--now', '2026-03-10T13:32:00Z', '--tz', 'UTC', '--json']))
    expect(Object.keys(result)).toEqual(['verdict', 'reset_at', 'scope', 'pattern', 'snippet', 'source'])
    expect(result).toEqual({
      pattern: 'hit_your_limit',
      reset_at: '2026-03-10T15:00:00.000Z',
      scope: 'session',
      snippet: "You've hit your session limit · resets 3pm /upgrade to increase your usage limit.",
      source: 'pane',
      verdict: 'quota_exhausted',
    })
  })

  it('lets the transcript record decide, with the reset to the second, and says so', async () => {
    const transcript = join(tmp.dir, 'session.jsonl')
    const record = {
      apiError: 'usage_limit_reached',
      apiErrorParams: {rate_limit_info: {rateLimitType: 'seven_day', resetsAt: 1_773_327_958, status: 'rejected'}},
      apiErrorStatus: 429,
      error: 'rate_limit',
      isApiErrorMessage: true,
      message: {content: [{text: "You've hit your weekly limit · resets Mar 12, 3:05pm (UTC)", type: 'text'}], model: '<synthetic>'},
      timestamp: '2026-03-10T13:30:00.000Z',
      type: 'assistant',
    }
    writeFileSync(transcript, `${JSON.stringify({message: {content: 'go on'}, timestamp: '2026-03-10T13:29:00.000Z', type: 'user'})}\n${JSON.stringify(record)}\n`)
    const result = await definition.run(ctx([pane, '--now', '2026-03-10T13:32:00Z', '--tz', 'UTC', '--transcript', transcript, '--json']))
    expect(result).toMatchObject({pattern: 'transcript_usage_limit_reached', reset_at: '2026-03-12T15:05:58.000Z', scope: 'weekly', source: 'transcript', verdict: 'quota_exhausted'})
  })

  it('reads a StopFailure payload given with --hook, and refuses one that is not a hook record', async () => {
    const hook = join(tmp.dir, 'stop-failure.json')
    writeFileSync(hook, JSON.stringify({error: 'rate_limit', hook_event_name: 'StopFailure', last_assistant_message: 'API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited', session_id: 'x'}))
    const idle = join(tmp.dir, 'idle.txt')
    writeFileSync(idle, `❯ go\n⏺ Done.\n\n✻ Worked for 3s\n${'─'.repeat(40)}\n❯ \n${'─'.repeat(40)}\n`)
    expect(await definition.run(ctx([idle, '--now', '2026-03-10T13:32:00Z', '--hook', hook, '--json']))).toMatchObject({source: 'hook', verdict: 'rate_limited'})
    const bad = join(tmp.dir, 'bad.json')
    writeFileSync(bad, '[1, 2]')
    await expect(definition.run(ctx([idle, '--hook', bad, '--json']))).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/^--hook .*bad\.json: not one JSON hook record/)})
    await expect(definition.run(ctx([idle, '--transcript', join(tmp.dir, 'none.jsonl'), '--json']))).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/^cannot read --transcript .*none\.jsonl: no such file/)})
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
