// The statusLine command: what it records from Claude Code's statusLine JSON, what it refuses, and
// the user's own statusLine it runs and passes through (with its timeout). The input is the real
// 2.1.328's (captured against a fake API: test/fixtures/statusline/).
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import {addSample, MAX_SAMPLES, parseSessionUsage, REFRESH_MS, recordSample, sampleFromStatusLine, type UsageSample} from '../../src/lib/usage/records.js'
import {handleStatusLine} from '../../src/lib/usage/statusline.js'
import {ROOT, runCli, tempDir} from '../helpers/env.js'

const REAL = readFileSync(join(ROOT, 'test', 'fixtures', 'statusline', '2.1.328-after-response.json'), 'utf8')
const FIRST_RENDER = readFileSync(join(ROOT, 'test', 'fixtures', 'statusline', '2.1.328-first-render.json'), 'utf8')
const NOW = new Date('2026-12-05T22:30:00Z')

let cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

function box() {
  const t = tempDir()
  cleanups.push(t.cleanup)
  const home = join(t.dir, 'main')
  const stateDir = join(t.dir, 'state')
  mkdirSync(home)
  mkdirSync(stateDir)
  const env = {CLAUDE_CONFIG_DIR: home, CLAUDE_FAILOVER_SESSION: 'ccl-auto-11', CLAUDE_FAILOVER_STATE_DIR: stateDir, PATH: process.env.PATH}
  const usageFile = join(stateDir, 'usage', 'ccl-auto-11.json')
  const samples = () => (existsSync(usageFile) ? parseSessionUsage(readFileSync(usageFile, 'utf8'), 'ccl-auto-11').samples : [])
  return {dir: t.dir, env, home, samples, stateDir, usageFile}
}

describe('sampleFromStatusLine', () => {
  it("reads the real 2.1.328 input's rate_limits (percent and epoch-seconds reset)", () => {
    expect(sampleFromStatusLine(REAL, '/h', NOW)).toEqual({five_hour: {resets_at: 1796512993, used_percentage: 42}, home: '/h', seven_day: {resets_at: 1796768593, used_percentage: 10}, ts: NOW.toISOString()})
  })

  it.each([
    ['the first render (no rate_limits yet)', FIRST_RENDER],
    ['an API-key account (no rate_limits at all)', JSON.stringify({model: {id: 'x'}, session_id: 'x'})],
    ['rate_limits: null', JSON.stringify({rate_limits: null})],
    ['not JSON', 'garbage{'],
    ['a JSON array', '[1,2]'],
    ['empty input', ''],
    ['a percentage that is not a number', JSON.stringify({rate_limits: {five_hour: {resets_at: 1, used_percentage: '42'}}})],
    ['a negative percentage', JSON.stringify({rate_limits: {five_hour: {used_percentage: -1}}})],
    ['an absurd percentage', JSON.stringify({rate_limits: {seven_day: {used_percentage: 1e9}}})],
  ])('records nothing for %s', (_what, input) => {
    expect(sampleFromStatusLine(input, '/h', NOW)).toBeUndefined()
  })

  it('keeps a window past 100 % and a window without a reset', () => {
    expect(sampleFromStatusLine(JSON.stringify({rate_limits: {five_hour: {used_percentage: 105}, seven_day: {resets_at: 'soon', used_percentage: 3.456}}}), '/h', NOW)).toEqual({
      five_hour: {resets_at: null, used_percentage: 105},
      home: '/h',
      seven_day: {resets_at: null, used_percentage: 3.46},
      ts: NOW.toISOString(),
    })
  })
})

describe('the session record', () => {
  const at = (ms: number, used: number, home = '/h'): UsageSample => ({five_hour: {resets_at: 1796512993, used_percentage: used}, home, ts: new Date(NOW.getTime() + ms).toISOString()})

  it('adds a changed reading, skips an unchanged one until REFRESH_MS, and starts again under another home', () => {
    const one = addSample([], at(0, 10)) as UsageSample[]
    expect(one).toHaveLength(1)
    expect(addSample(one, at(1000, 10))).toBeNull()
    expect(addSample(one, at(1000, 11))).toHaveLength(2)
    expect(addSample(one, at(REFRESH_MS, 10))).toHaveLength(2)
    expect(addSample(one, at(1000, 10, '/other'))).toHaveLength(2)
  })

  it(`stays bounded: at most ${MAX_SAMPLES} samples, none older than 8 days`, () => {
    let samples: UsageSample[] = [at(-9 * 86_400_000, 1)]
    for (let i = 0; i < MAX_SAMPLES + 50; i++) samples = addSample(samples, at(i * 1000, i % 100)) ?? samples
    expect(samples).toHaveLength(MAX_SAMPLES)
    expect(samples.every((s) => Date.parse(s.ts) >= NOW.getTime())).toBe(true)
  })

  it('a torn or foreign file reads as no samples, and bad samples inside a good file are dropped', () => {
    expect(parseSessionUsage('{"samples":[{"ts"', 's').samples).toEqual([])
    expect(parseSessionUsage('{"x":1}', 's').samples).toEqual([])
    const mixed = JSON.stringify({samples: [at(0, 5), {home: '/h', ts: 'yesterday'}, {home: '/h', ts: NOW.toISOString()}, 7], session: 's', version: 1})
    expect(parseSessionUsage(mixed, 's').samples).toEqual([at(0, 5)])
  })

  it('is written 0600 in a 0700 folder, atomically (no temporary file left), and never for a bad session name', async () => {
    const b = box()
    expect(await recordSample(b.stateDir, 'ccl-auto-11', at(0, 5))).toBe(true)
    expect(statSync(b.usageFile).mode & 0o777).toBe(0o600)
    expect(statSync(join(b.stateDir, 'usage')).mode & 0o777).toBe(0o700)
    expect(readdirSync(join(b.stateDir, 'usage'))).toEqual(['ccl-auto-11.json'])
    expect(await recordSample(b.stateDir, '../escape', at(0, 5))).toBe(false)
    expect(existsSync(join(b.stateDir, 'escape.json'))).toBe(false)
  })
})

describe('handleStatusLine', () => {
  it("records the session's reading and prints nothing when the user has no statusLine", async () => {
    const b = box()
    expect(await handleStatusLine(Readable.from([REAL]), b.env, {now: () => NOW})).toBe('')
    expect(b.samples()).toEqual([{five_hour: {resets_at: 1796512993, used_percentage: 42}, home: b.home, seven_day: {resets_at: 1796768593, used_percentage: 10}, ts: NOW.toISOString()}])
  })

  it.each([
    ['malformed input', 'not json at all'],
    ['input without rate_limits', FIRST_RENDER],
  ])('on %s records nothing, creates nothing, and still answers', async (_what, input) => {
    const b = box()
    expect(await handleStatusLine(Readable.from([input]), b.env, {now: () => NOW})).toBe('')
    expect(existsSync(join(b.stateDir, 'usage'))).toBe(false)
  })

  it('without the launch environment (a statusLine run by hand) records nothing', async () => {
    const b = box()
    await handleStatusLine(Readable.from([REAL]), {...b.env, CLAUDE_FAILOVER_STATE_DIR: 'relative/state'}, {now: () => NOW})
    await handleStatusLine(Readable.from([REAL]), {...b.env, CLAUDE_FAILOVER_SESSION: undefined}, {now: () => NOW})
    expect(existsSync(join(b.stateDir, 'usage'))).toBe(false)
  })

  it("runs the user's own statusLine with the same input and passes its output through", async () => {
    const b = box()
    writeFileSync(join(b.home, 'settings.json'), JSON.stringify({statusLine: {command: `cat > ${join(b.dir, 'seen.json')}; printf 'my line · %s' "$CLAUDE_FAILOVER_SESSION"`, type: 'command'}}))
    expect(await handleStatusLine(Readable.from([REAL]), b.env, {now: () => NOW})).toBe('my line · ccl-auto-11')
    expect(readFileSync(join(b.dir, 'seen.json'), 'utf8')).toBe(REAL)
    expect(b.samples()).toHaveLength(1)
  })

  it("kills a user statusLine that outlives its timeout (and everything it started), and still records", async () => {
    const b = box()
    const marker = join(b.dir, 'late')
    writeFileSync(join(b.home, 'settings.json'), JSON.stringify({statusLine: {command: `echo early; (sleep 2; touch ${marker}) & sleep 5`, type: 'command'}}))
    const started = Date.now()
    expect(await handleStatusLine(Readable.from([REAL]), b.env, {now: () => NOW, userTimeoutMs: 300})).toBe('')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(b.samples()).toHaveLength(1)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(existsSync(marker)).toBe(false)
  })

  it('runs nothing but a statusLine of type command, and never itself again', async () => {
    const b = box()
    const marker = join(b.dir, 'ran')
    writeFileSync(join(b.home, 'settings.json'), JSON.stringify({statusLine: {command: `touch ${marker}`, type: 'static'}}))
    expect(await handleStatusLine(Readable.from([REAL]), b.env)).toBe('')
    writeFileSync(join(b.home, 'settings.json'), JSON.stringify({statusLine: {command: `touch ${marker}`, type: 'command'}}))
    expect(await handleStatusLine(Readable.from([REAL]), {...b.env, CLAUDE_FAILOVER_IN_STATUSLINE: '1'})).toBe('')
    expect(existsSync(marker)).toBe(false)
    writeFileSync(join(b.home, 'settings.json'), '{not json')
    expect(await handleStatusLine(Readable.from([REAL]), b.env)).toBe('')
  })

  it('answers by its deadline when stdin is never closed', async () => {
    const b = box()
    const endless = new Readable({read() {}})
    const started = Date.now()
    expect(await handleStatusLine(endless, b.env, {deadlineMs: 300})).toBe('')
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('as a command: exits 0, prints only the user line, on any input', async () => {
    const b = box()
    writeFileSync(join(b.home, 'settings.json'), JSON.stringify({statusLine: {command: 'echo from-user', type: 'command'}}))
    const good = await runCli(['statusline'], {env: {...process.env, ...b.env}, input: REAL})
    expect(good).toMatchObject({code: 0, stderr: '', stdout: 'from-user\n'})
    expect(b.samples()).toHaveLength(1)
    const bad = await runCli(['statusline'], {env: {...process.env, ...b.env}, input: '\u0000\u0001garbage'})
    expect(bad).toMatchObject({code: 0, stderr: '', stdout: 'from-user\n'})
  })
})

describe('the settings file every launch passes', () => {
  it('names the statusline command next to the hooks, and leaves it out with statusline.record: false', async () => {
    const {ensureHooksSettings} = await import('../../src/lib/launch.js')
    const {parseConfig} = await import('../../src/lib/config-schema.js')
    const t = tempDir()
    cleanups.push(t.cleanup)
    mkdirSync(join(t.dir, 'state'))
    const yaml = `state_dir: ${t.dir}/state\naccounts: [{name: main, home: /a}]\nshared: {root: /s}\n`
    const on = JSON.parse(readFileSync(await ensureHooksSettings(parseConfig(yaml, join(t.dir, 'c.yaml'))), 'utf8'))
    expect(on.statusLine).toEqual({command: `'${process.execPath}' '${join(ROOT, 'bin', 'run.js')}' statusline`, padding: 0, type: 'command'})
    expect(Object.keys(on.hooks)).toEqual(['SessionStart', 'Stop', 'StopFailure'])
    const path = await ensureHooksSettings(parseConfig(`${yaml}statusline: {record: false}\n`, join(t.dir, 'c.yaml')))
    expect(JSON.parse(readFileSync(path, 'utf8'))).not.toHaveProperty('statusLine')
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })
})
