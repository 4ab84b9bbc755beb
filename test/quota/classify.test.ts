import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, describe, expect, it} from 'vitest'

import {classifyMessage, classifyPane, VERDICTS} from '../../src/lib/quota/classify.js'
import {combineSignals, type HookSignal, type TranscriptRecord} from '../../src/lib/quota/signals.js'

interface Label {
  verdict: string
  reset_at: string | null
  now: string
  tz: string
  scope?: string | null
  note: string
  /** Which family of screens the capture stands for, in the table below. */
  family?: string
  /** The rule that must decide. */
  pattern?: string
  /** The session's transcript (JSONL beside the capture): the records decide first. */
  transcript?: string
  /** The session's newest hook record (JSON beside the capture). */
  hook?: string
  /** The witness that must decide. */
  source?: string
}

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'panes')
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, Label>
const at = (iso: string, timeZone = 'UTC') => ({now: new Date(iso), timeZone})

// The families of the older captures follow from their names: q limits, n look-alikes, a dialogs, i idle, w working.
function familyOf(file: string, label: Label): string {
  if (label.family) return label.family
  if (file.startsWith('q')) return 'limit: banner (eras)'
  if (file.startsWith('a')) return label.verdict === 'quota_exhausted' ? 'limit: menu' : 'modal'
  if (file.startsWith('i')) return 'idle'
  if (file.startsWith('w')) return 'working'
  if (label.verdict === 'server_error') return 'not a limit: server error'
  if (label.verdict === 'rate_limited') return 'not a limit: transient 429'
  if (label.verdict === 'auth_error') return 'auth'
  return 'not a limit: warning, quoted, stale'
}

function classifyFixture(file: string, label: Label) {
  const options = {now: new Date(label.now), timeZone: label.tz}
  const pane = classifyPane(readFileSync(join(dir, file), 'utf8'), options)
  if (!label.transcript && !label.hook) return {...pane, source: 'pane'}
  const records = label.transcript
    ? readFileSync(join(dir, label.transcript), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as TranscriptRecord)
    : []
  const hook = label.hook ? (JSON.parse(readFileSync(join(dir, label.hook), 'utf8')) as HookSignal) : undefined
  return combineSignals({pane, transcript: records, ...(hook ? {hook} : {})}, options)
}

interface Row {
  panes: number
  limits: number
  caught: number
  falseSwaps: number
  resetExact: number
  resetSecond: number
  right: number
}

const table = new Map<string, Row>()
afterAll(() => {
  const rows = [...table.entries()].sort(([a], [b]) => a.localeCompare(b))
  const total = rows.reduce((sum, [, r]) => ({caught: sum.caught + r.caught, falseSwaps: sum.falseSwaps + r.falseSwaps, limits: sum.limits + r.limits, panes: sum.panes + r.panes, resetExact: sum.resetExact + r.resetExact, resetSecond: sum.resetSecond + r.resetSecond, right: sum.right + r.right}), {caught: 0, falseSwaps: 0, limits: 0, panes: 0, resetExact: 0, resetSecond: 0, right: 0})
  const cells = [...rows, ['all', total] as const].map(([family, r]) => [
    family,
    String(r.panes),
    r.limits === 0 ? '-' : `${r.caught}/${r.limits}`,
    String(r.falseSwaps),
    r.limits === 0 ? '-' : `${r.resetExact}/${r.limits}${r.resetSecond > 0 ? ` (${r.resetSecond} to the second)` : ''}`,
    `${r.right}/${r.panes}`,
  ])
  const header = ['family', 'panes', 'recall', 'false swaps', 'reset exact', 'verdict right']
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] as string).length)))
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ')
  console.log(['pane corpus (test/fixtures/panes):', line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n'))
})

describe('pane fixture corpus', () => {
  it('holds at least 60 labelled captures, hard negatives about as many as hard positives', () => {
    const labels = Object.values(index)
    expect(labels.length).toBeGreaterThanOrEqual(60)
    const positives = labels.filter((label) => label.verdict === 'quota_exhausted').length
    const limitLookalikes = Object.keys(index).filter((name) => name.startsWith('n')).length
    expect(limitLookalikes).toBeGreaterThanOrEqual(positives)
    for (const label of labels) expect(VERDICTS).toContain(label.verdict)
  })

  it.each(Object.entries(index))('%s', (file, label) => {
    const result = classifyFixture(file, label)
    const row = table.get(familyOf(file, label)) ?? {caught: 0, falseSwaps: 0, limits: 0, panes: 0, resetExact: 0, resetSecond: 0, right: 0}
    table.set(familyOf(file, label), row)
    row.panes++
    if (label.verdict === 'quota_exhausted') {
      row.limits++
      if (result.verdict === 'quota_exhausted') row.caught++
      if (result.reset_at === label.reset_at) row.resetExact++
      if (result.reset_at !== null && result.reset_at === label.reset_at && !result.reset_at.endsWith(':00.000Z')) row.resetSecond++
    } else if (result.verdict === 'quota_exhausted') {
      row.falseSwaps++
    }

    if (result.verdict === label.verdict && (label.pattern === undefined || result.pattern === label.pattern)) row.right++
    expect({reset_at: result.reset_at, verdict: result.verdict}, `${label.note}\n${JSON.stringify(result)}`).toEqual({reset_at: label.reset_at, verdict: label.verdict})
    if (label.scope !== undefined) expect(result.scope).toBe(label.scope)
    if (label.pattern !== undefined) expect(result.pattern).toBe(label.pattern)
    expect(result.source).toBe(label.source ?? (label.transcript === undefined ? 'pane' : 'transcript'))
    expect(result.snippet.length).toBeLessThanOrEqual(120)
    expect(result.snippet).not.toMatch(/[\n\r\u001B]/)
    expect(result.pattern).toMatch(/^[a-z0-9_]+$/)
  })
})

describe('limit banner families', () => {
  const now = '2026-03-10T13:32:00Z'
  it.each([
    ["You've hit your limit · resets 10am (Europe/Paris)", null, '2026-03-11T09:00:00.000Z'],
    ["You've hit your session limit • resets 3:40pm (Europe/Paris)", 'session', '2026-03-10T14:40:00.000Z'],
    ["You’ve hit your weekly limit ∙ resets Mar 14, 9am (Europe/Paris)", 'weekly', '2026-03-14T08:00:00.000Z'],
    ["You have hit your Opus limit · resets 8pm (Europe/Paris)", 'opus', '2026-03-10T19:00:00.000Z'],
    ["You've hit your usage credit limit · resets 12am (UTC)", 'extra_usage', '2026-03-11T00:00:00.000Z'],
    ['Sonnet weekly limit reached · resets Mar 12 at 7pm (Europe/Paris)', 'sonnet', '2026-03-12T18:00:00.000Z'],
    ['5-hour limit reached · resets 2am (Europe/Paris)', 'session', '2026-03-11T01:00:00.000Z'],
    ['Daily limit reached · resets 9pm (Europe/Paris)', 'other', '2026-03-10T20:00:00.000Z'],
    ['Claude usage limit reached. Your limit will reset at 6pm (Europe/Paris).', null, '2026-03-10T17:00:00.000Z'],
    ['Claude AI usage limit reached|1773160000', null, '2026-03-10T16:26:40.000Z'],
    ["You're out of extra usage · resets 5pm (Europe/Paris)", 'extra_usage', '2026-03-10T16:00:00.000Z'],
    ['Session limit reached', 'session', null],
  ])('%s', (banner, scope, reset) => {
    for (const pane of [`❯ go on\n${banner}\n`, `> go on\n  ⎿  ${banner}\n     /upgrade to increase your usage limit.\n`]) {
      const result = classifyPane(pane, at(now, 'Europe/Paris'))
      expect(result).toMatchObject({reset_at: reset, scope, verdict: 'quota_exhausted'})
    }
  })

  it.each([
    ['API Error: Rate limit reached', 'rate_limited'],
    ['API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited', 'rate_limited'],
    ['API Error: 500 {"type":"error","error":{"type":"api_error","message":"usage limit reached: rate_limit exceeded"}}', 'server_error'],
    ['API Error: 503 {"message":"You\'ve hit your limit · resets 3pm"}', 'server_error'],
    ["You've used 92% of your session limit · resets 1am (America/New_York) · /upgrade to keep using Claude Code", 'idle'],
    ["You're close to your weekly limit", 'idle'],
    ['Approaching usage limit · resets at 2am', 'idle'],
    ['Approaching weekly Usage Limit', 'idle'],
    ['Context limit reached · /compact or /clear to continue', 'idle'],
    ['Claude Opus 4 limit reached, now using Sonnet 4', 'idle'],
    ['Fast limit reached and temporarily disabled · resets in 4m', 'idle'],
    ['Fast mode disabled · usage credit limit reached', 'idle'],
    ['Output token limit reached', 'idle'],
    ['Request rate limit reached · resets in 30s', 'idle'],
    ['OAuth token has expired · Please run /login', 'auth_error'],
    ['Invalid API key · Fix external API key', 'auth_error'],
    ['API Error: Request timed out.', 'server_error'],
    ['API Error: No response from API', 'server_error'],
    ['Connection closed mid-response', 'server_error'],
    ["You've hit your daily budget of 3 tasks", 'idle'],
    ['Continuing automatically shortly · Esc to cancel', 'idle'],
    ['Usage limit reset · Continuing automatically', 'idle'],
  ])('not a quota: %s', (line, verdict) => {
    const result = classifyPane(`❯ go on\n  ⎿  ${line}\n\n${'─'.repeat(40)}\n❯ \n${'─'.repeat(40)}\n`, at(now))
    expect(result.verdict).toBe(verdict)
  })

  it('never counts a banner quoted inside a sentence, in quotes, or inside a reply', () => {
    const panes = [
      `❯ go on\n  ⎿  The server said: You've hit your limit · resets 3pm\n`,
      `❯ go on\n"You've hit your limit · resets 3pm"\n`,
      `❯ go on\n⏺ You've hit your limit · resets 3pm — that is what the log shows.\n`,
      `❯ go on\n⏺ Here is the banner:\n\n  You've hit your limit · resets 3pm\n`,
    ]
    for (const pane of panes) expect(classifyPane(pane, at(now)).verdict).not.toBe('quota_exhausted')
  })
})

describe('screen structure', () => {
  const now = at('2026-03-10T13:32:00Z', 'Europe/Paris')

  it('reads a banner wrapped by Claude Code over two rows', () => {
    const pane = "> go on\n  ⎿  You've hit your weekly limit · resets Mar 14,\n     9am (Europe/Paris)\n"
    expect(classifyPane(pane, now)).toMatchObject({reset_at: '2026-03-14T08:00:00.000Z', verdict: 'quota_exhausted'})
  })

  it('strips colour, cursor and hyperlink escapes', () => {
    const pane = "\u001B[2J\u001B[H❯ go on\n\u001B]8;;https://x\u0007link\u001B]8;;\u0007\n  \u001B[90m⎿\u001B[39m  \u001B[1;31mYou've hit your limit\u001B[0m · resets \u001B[1m3pm\u001B[0m\n"
    expect(classifyPane(pane, now)).toMatchObject({reset_at: '2026-03-10T14:00:00.000Z', verdict: 'quota_exhausted'})
  })

  it('ignores a banner whose turn went on afterwards, even without a visible prompt', () => {
    const pane = "  ⎿  You've hit your limit · resets 3pm\n\n⏺ Continuing.\n\n✻ Worked for 3s\n"
    expect(classifyPane(pane, now).verdict).toBe('idle')
  })

  it('keeps a retry notice above a spinner (Claude Code is still retrying)', () => {
    const pane = '❯ go on\n  ⎿  API Error (Connection error.) · Retrying in 4 seconds… (attempt 4/10)\n\n✻ Thinking… (esc to interrupt)\n'
    expect(classifyPane(pane, now)).toMatchObject({pattern: 'retrying_connection_error', verdict: 'server_error'})
  })

  it('takes linear time on hostile lines (0.3.1: 100 KB of `/` took 8.9 s, 4 KB of `─` 26 s)', () => {
    for (const text of ['/'.repeat(100_000), `${'─'.repeat(100_000)}x`, '~'.repeat(100_000), `│${' '.repeat(100_000)}│`]) {
      const started = performance.now()
      expect(classifyPane(text, now).verdict).toBe('unknown')
      expect(performance.now() - started).toBeLessThan(1000)
    }
  })

  it('names the rule and gives a one-line snippet of at most 120 characters around the match', () => {
    const long = `${'x'.repeat(200)}`
    const pane = `❯ go on\n  ⎿  API Error: 500 {"type":"error","error":{"type":"api_error","message":"rate_limit ${long}"}}\n`
    const result = classifyPane(pane, now)
    expect(result.pattern).toBe('api_error_5xx')
    expect(result.snippet.startsWith('API Error: 500')).toBe(true)
    expect(result.snippet.length).toBe(120)
  })
})

describe('classifyMessage', () => {
  it('classifies a hook or transcript text on its own', () => {
    const now = at('2026-03-10T13:32:00Z')
    expect(classifyMessage("You've hit your session limit · resets 1pm (UTC)", now)).toMatchObject({reset_at: '2026-03-11T13:00:00.000Z', scope: 'session', verdict: 'quota_exhausted'})
    expect(classifyMessage('API Error: Rate limit reached', now).verdict).toBe('rate_limited')
    expect(classifyMessage("I think you've hit your limit · resets 3pm", now).verdict).toBe('unknown')
    expect(classifyMessage('', now)).toMatchObject({pattern: 'empty', verdict: 'unknown'})
  })
})
