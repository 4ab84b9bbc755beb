// The metrics export: the exposition text checked by a strict parser of the format (HELP and TYPE
// before each family's samples, sample names of the family, escaped label values, `# EOF` last for
// OpenMetrics), and the values from a real state folder through the CLI, the tick included.
import {appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {advanceCounts, emptyCounts, swapReasonLabel} from '../../src/lib/metrics/event-counts.js'
import {escapeLabelValue, type ExpositionFormat, exposition, type MetricFamily} from '../../src/lib/metrics/exposition.js'
import {runCli, sandbox, type Sandbox} from '../helpers/env.js'

interface ParsedSample {
  name: string
  labels: Record<string, string>
  value: number
}

interface Parsed {
  families: Map<string, {help: string; type: string; samples: ParsedSample[]}>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_m, c: string) => {
    if (c === 'n') return '\n'
    if (c === '\\' || c === '"') return c
    throw new Error(`bad escape \\${c}`)
  })
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)/y
  let index = 0
  while (index < text.length) {
    re.lastIndex = index
    const m = re.exec(text)
    if (!m) throw new Error(`bad labels at ${JSON.stringify(text.slice(index))}`)
    if (m[1] as string in labels) throw new Error(`label ${m[1]} repeated`)
    labels[m[1] as string] = unescape(m[2] as string)
    index = re.lastIndex
  }

  return labels
}

/** A strict parser of what exposition() may write: throws on anything out of the format. */
function parseExposition(text: string, format: ExpositionFormat): Parsed {
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline')
  const lines = text.slice(0, -1).split('\n')
  if (format === 'openmetrics') {
    if (lines.at(-1) !== '# EOF') throw new Error('OpenMetrics text must end with # EOF')
    lines.pop()
  } else if (lines.includes('# EOF')) {
    throw new Error('# EOF in Prometheus text')
  }

  const families: Parsed['families'] = new Map()
  const seenSamples = new Set<string>()
  let current: string | undefined
  for (const line of lines) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!NAME.test(name)) throw new Error(`bad family name ${name}`)
      const family = families.get(name) ?? {help: '', samples: [], type: ''}
      if (family.samples.length > 0) throw new Error(`${kind} of ${name} after its samples`)
      if (kind === 'HELP') family.help = unescape(rest)
      else if (!['counter', 'gauge', 'summary', 'histogram', 'untyped', 'unknown'].includes(rest)) throw new Error(`bad type ${rest}`)
      else family.type = rest
      families.set(name, family)
      current = name
      continue
    }

    if (line.startsWith('#')) throw new Error(`unexpected comment ${line}`)
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`)
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string]
    if (!/^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/.test(valueText)) throw new Error(`bad value ${valueText}`)
    if (!current) throw new Error(`sample ${name} before any HELP/TYPE`)
    const family = families.get(current) as Parsed['families'] extends Map<string, infer F> ? F : never
    if (!family.type || family.help === '') throw new Error(`${current} lacks HELP or TYPE`)
    const allowed =
      family.type === 'counter' ? (format === 'openmetrics' ? [`${current}_total`] : [current]) : family.type === 'summary' ? [`${current}_sum`, `${current}_count`, current] : [current]
    if (!allowed.includes(name)) throw new Error(`sample ${name} does not belong to family ${current} (${family.type})`)
    const labels = labelText === undefined ? {} : parseLabels(labelText)
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seenSamples.has(key)) throw new Error(`sample ${key} repeated`)
    seenSamples.add(key)
    const value = valueText === 'NaN' ? Number.NaN : valueText.endsWith('Inf') ? (valueText.startsWith('-') ? -Infinity : Infinity) : Number(valueText)
    family.samples.push({labels, name, value})
  }

  return {families}
}

/** The value of one sample, found by its name and labels. */
function valueOf(parsed: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of parsed.families.values()) {
    const hit = family.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))
    if (hit) return hit.value
  }

  return undefined
}

describe('exposition', () => {
  const families: MetricFamily[] = [
    {help: 'A gauge with "quotes", a \\ and\na newline.', name: 'cf_gauge', samples: [{labels: {who: 'a "b" \\ c\nd'}, value: 1.5}, {labels: {who: 'x'}, value: Number.NaN}], type: 'gauge'},
    {help: 'A counter.', name: 'cf_things', samples: [{labels: {reason: 'limit'}, value: 3}], type: 'counter'},
    {help: 'A summary.', name: 'cf_latency_seconds', samples: [{suffix: '_sum', value: 12.25}, {suffix: '_count', value: 2}], type: 'summary'},
    {help: 'Empty.', name: 'cf_empty', samples: [], type: 'gauge'},
  ]

  it.each(['prometheus', 'openmetrics'] as const)('%s text parses back to the same families and values', (format) => {
    const text = exposition(families, format)
    const parsed = parseExposition(text, format)
    const counter = format === 'openmetrics' ? 'cf_things' : 'cf_things_total'
    expect([...parsed.families.keys()]).toEqual(['cf_gauge', counter, 'cf_latency_seconds'])
    expect(parsed.families.get('cf_gauge')?.help).toBe('A gauge with "quotes", a \\ and\na newline.')
    expect(valueOf(parsed, 'cf_gauge', {who: 'a "b" \\ c\nd'})).toBe(1.5)
    expect(valueOf(parsed, 'cf_gauge', {who: 'x'})).toBeNaN()
    expect(valueOf(parsed, 'cf_things_total', {reason: 'limit'})).toBe(3)
    expect(valueOf(parsed, 'cf_latency_seconds_sum')).toBe(12.25)
    expect(valueOf(parsed, 'cf_latency_seconds_count')).toBe(2)
  })

  it('escapes exactly backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
  })

  it('refuses a bad family name, a counter named with _total, a family twice, or a bad label name', () => {
    expect(() => exposition([{help: 'h', name: '1bad', samples: [{value: 1}], type: 'gauge'}], 'prometheus')).toThrow(/invalid metric family name/)
    expect(() => exposition([{help: 'h', name: 'x_total', samples: [{value: 1}], type: 'counter'}], 'prometheus')).toThrow(/invalid metric family name/)
    expect(() => exposition([{help: 'h', name: 'x', samples: [], type: 'gauge'}, {help: 'h', name: 'x', samples: [], type: 'gauge'}], 'prometheus')).toThrow(/twice/)
    expect(() => exposition([{help: 'h', name: 'x', samples: [{labels: {'bad-name': 'v'}, value: 1}], type: 'gauge'}], 'prometheus')).toThrow(/invalid label name/)
  })

  it('the test parser itself rejects what the format forbids', () => {
    expect(() => parseExposition('# HELP a x\n# TYPE a gauge\na 1\n', 'openmetrics')).toThrow(/# EOF/)
    expect(() => parseExposition('a 1\n', 'prometheus')).toThrow(/before any HELP/)
    expect(() => parseExposition('# HELP a x\n# TYPE a gauge\na{l="un"escaped"} 1\n', 'prometheus')).toThrow(/bad labels/)
    expect(() => parseExposition('# HELP a x\n# TYPE a gauge\nb 1\n', 'prometheus')).toThrow(/does not belong/)
  })
})

describe('swapReasonLabel', () => {
  it.each([
    ['quota: ccl-auto-12 hit_your_limit', 'limit'],
    ['quota: (statusline) usage_five_hour_96pct', 'proactive'],
    ['quota: (usage endpoint) usage_seven_day_97pct', 'proactive'],
    ['operator: swap --to backup', 'operator'],
    ['Hook: something', 'hook'],
    ['', 'other'],
    [42, 'unknown'],
  ])('%j → %s', (reason, label) => {
    expect(swapReasonLabel(reason)).toBe(label)
  })
})

let box: Sandbox | undefined
afterEach(() => {
  box?.cleanup()
  box = undefined
})

const iso = (ms: number) => new Date(ms).toISOString()

/** A state folder as the pool leaves it: a limit on main swapped to backup, a manual swap, a failed one. */
function pool(extraYaml = ''): {box: Sandbox; events: string; now: number} {
  const b = sandbox(['projects: [{name: proj, path: ./proj}]', extraYaml].join('\n'))
  box = b
  const now = Date.now()
  const state = join(b.dir, 'state')
  mkdirSync(join(state, 'signals'), {recursive: true})
  mkdirSync(join(state, 'usage'), {recursive: true})
  for (const [folder, task] of [['inbox', 'a'], ['inbox', 'a2'], ['done', 'b'], ['failed', 'c'], ['dispatched', 'd']]) {
    mkdirSync(join(b.dir, 'proj', '.agent-queue', folder as string), {recursive: true})
    writeFileSync(join(b.dir, 'proj', '.agent-queue', folder as string, `${task}.md`), 'do it\n')
  }

  writeFileSync(
    join(state, 'state.json'),
    JSON.stringify({
      accounts: {backup: {exhausted_until: null, last_hit: null}, main: {exhausted_until: '2099-01-01T00:00:00.000Z', last_hit: null}},
      // main's login was seen gone (logins.ts: the mark lives in state.logins); backup's was cleared.
      logins: {
        backup: {cleared_at: iso(now - 30_000), required: null},
        main: {cleared_at: null, required: {evidence_at: iso(now - 90_000), pattern: 'hook_authentication_failed', session: 'ccl-auto-11', since: iso(now - 60_000), snippet: 'Not logged in · Please run /login', source: 'hook'}},
      },
      active_account: 'backup',
      dispatch_paused_until: null,
      generation: 4,
      last_swap: {at: iso(now - 60_000), from: 'main', to: 'backup'},
      notified: {},
      sessions: {'ccl-auto-11': {account: 'backup', conversation_id: null, since: iso(now - 60_000), state: 'working', task: 'proj/d'}},
      suspect: {},
      swap_journal: null,
      updated_at: null,
      version: 1,
    }),
    {mode: 0o600},
  )
  // The limit hit at -100 s (the hook), marked at -92 s, the pool resumed at -70 s: 30 s.
  writeFileSync(join(state, 'signals', 'ccl-auto-11.jsonl'), `${JSON.stringify({error: 'rate_limit', event: 'StopFailure', session: 'ccl-auto-11', ts: iso(now - 100_000)})}\n`)
  const events = join(state, 'events.jsonl')
  writeFileSync(
    events,
    [
      {account: 'main', event: 'account_exhausted', pattern: 'hit_your_limit', session: 'ccl-auto-11', ts: iso(now - 92_000)},
      {event: 'swap', from: 'main', reason: 'quota: ccl-auto-11 hit_your_limit', resumed: 1, sessions: 1, to: 'backup', ts: iso(now - 70_000)},
      {event: 'swap', from: 'backup', reason: 'operator: swap --to main', to: 'main', ts: iso(now - 65_000)},
      {event: 'swap_failed', from: 'main', reason: 'quota: (statusline) usage_five_hour_96pct', to: 'backup', ts: iso(now - 62_000)},
    ]
      .map((e) => JSON.stringify(e))
      .join('\n') + '\n',
  )
  const sample = {five_hour: {resets_at: Math.floor((now + 7_200_000) / 1000), used_percentage: 42}, home: join(b.dir, 'backup'), ts: iso(now - 60_000)}
  writeFileSync(join(state, 'usage', 'ccl-auto-11.json'), JSON.stringify({samples: [sample], session: 'ccl-auto-11', version: 1}))
  return {box: b, events, now}
}

describe('metrics (the command)', () => {
  it('exports accounts, usage, swaps by reason, limit-to-resume, sessions and tasks as valid OpenMetrics', async () => {
    const {box: b} = pool()
    const result = await runCli(['metrics', '--format', 'openmetrics', '--config', b.configPath])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const parsed = parseExposition(result.stdout, 'openmetrics')
    const v = (name: string, labels: Record<string, string> = {}) => valueOf(parsed, `claude_failover_${name}`, labels)
    expect(v('account_active', {account: 'backup'})).toBe(1)
    expect(v('account_exhausted', {account: 'main'})).toBe(1)
    expect(v('account_exhausted_until_timestamp_seconds', {account: 'main'})).toBe(4_070_908_800)
    expect(v('account_login_required', {account: 'main'})).toBe(1)
    expect(v('account_login_required', {account: 'backup'})).toBe(0)
    expect(v('account_usage_percent', {account: 'backup', window: 'five_hour'})).toBe(42)
    expect(v('account_usage_percent', {account: 'main', window: 'five_hour'})).toBeUndefined()
    expect(v('swaps_total', {reason: 'limit'})).toBe(1)
    expect(v('swaps_total', {reason: 'operator'})).toBe(1)
    expect(v('swap_failures_total', {reason: 'proactive'})).toBe(1)
    expect(v('limit_to_resume_seconds_count')).toBe(1)
    expect(v('limit_to_resume_seconds_sum')).toBe(30)
    // No tmux server: the recorded working session is dead, the others absent.
    expect(v('sessions', {kind: 'pool', state: 'dead'})).toBe(1)
    expect(v('sessions', {kind: 'pool', state: 'absent'})).toBe(2)
    expect(v('tmux_up')).toBe(0)
    expect(v('tasks', {project: 'proj', state: 'done'})).toBe(1)
    expect(v('tasks', {project: 'proj', state: 'failed'})).toBe(1)
    expect(v('tasks', {project: 'proj', state: 'dispatched'})).toBe(1)
    expect(statSync(join(b.dir, 'state', 'metrics-state.json')).mode & 0o777).toBe(0o600)
  })

  it('counters never go down: the log is read on from where it stopped, across a rotation', async () => {
    const {box: b, events, now} = pool()
    await runCli(['metrics', '--config', b.configPath])
    // Appended after the first export, then rotated away by the janitor, then a new log.
    appendFileSync(events, `${JSON.stringify({event: 'swap', from: 'main', reason: 'operator: swap', to: 'backup', ts: iso(now)})}\n`)
    renameSync(events, `${events}.1`)
    writeFileSync(events, `${JSON.stringify({event: 'swap', from: 'backup', reason: 'operator: swap', to: 'main', ts: iso(now)})}\n`)
    const second = parseExposition((await runCli(['metrics', '--config', b.configPath])).stdout, 'prometheus')
    expect(valueOf(second, 'claude_failover_swaps_total', {reason: 'operator'})).toBe(3)
    expect(valueOf(second, 'claude_failover_swaps_total', {reason: 'limit'})).toBe(1)
    const third = parseExposition((await runCli(['metrics', '--config', b.configPath])).stdout, 'prometheus')
    expect(valueOf(third, 'claude_failover_swaps_total', {reason: 'operator'})).toBe(3)
  })

  it('a half-written last line is left for the next read', async () => {
    const {box: b, events} = pool()
    const before = await advanceCounts(join(b.dir, 'state'), emptyCounts())
    appendFileSync(events, '{"event":"swap","reason":"operator: swap","ts":"2026-')
    const after = await advanceCounts(join(b.dir, 'state'), before)
    expect(after.offset).toBe(before.offset)
    expect(after.swaps).toEqual(before.swaps)
  })

  it('--output writes the file atomically, readable by node_exporter (0644), and prints where', async () => {
    const {box: b} = pool()
    const dir = join(b.dir, 'textfile')
    mkdirSync(dir)
    const result = await runCli(['metrics', '--output', join(dir, 'claude_failover.prom'), '--config', b.configPath])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^wrote \d+ metric families to .*claude_failover\.prom\n$/)
    expect(readdirSync(dir)).toEqual(['claude_failover.prom'])
    expect(statSync(join(dir, 'claude_failover.prom')).mode & 0o777).toBe(0o644)
    parseExposition(readFileSync(join(dir, 'claude_failover.prom'), 'utf8'), 'prometheus')
  })

  it('--output into a folder that does not exist fails with 73 and says which file', async () => {
    const {box: b} = pool()
    const result = await runCli(['metrics', '--output', join(b.dir, 'nowhere', 'x.prom'), '--config', b.configPath])
    expect(result.code).toBe(73)
    expect(result.stderr).toContain(join(b.dir, 'nowhere'))
    // Nothing was read on: the next export still counts the whole log.
    expect(existsSync(join(b.dir, 'state', 'metrics-state.json'))).toBe(false)
  })

  it('a bad --format is a usage error naming the choices', async () => {
    const {box: b} = pool()
    const result = await runCli(['metrics', '--format', 'json', '--config', b.configPath])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('prometheus, openmetrics')
  })

  it('the tick writes metrics.file with its own duration, even when the tmux server is down', async () => {
    const {box: b} = pool('metrics: {file: ./textfile/cf.prom, format: openmetrics}')
    mkdirSync(join(b.dir, 'textfile'))
    await runCli(['tick', '--config', b.configPath])
    const file = join(b.dir, 'textfile', 'cf.prom')
    expect(existsSync(file)).toBe(true)
    const parsed = parseExposition(readFileSync(file, 'utf8'), 'openmetrics')
    const duration = valueOf(parsed, 'claude_failover_tick_duration_seconds') as number
    expect(duration).toBeGreaterThan(0)
    expect(duration).toBeLessThan(60)
    expect(valueOf(parsed, 'claude_failover_last_tick_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120)
    // An export on demand afterwards still shows the last tick.
    const later = parseExposition((await runCli(['metrics', '--config', b.configPath])).stdout, 'openmetrics')
    expect(valueOf(later, 'claude_failover_tick_duration_seconds')).toBe(duration)
  })
})
