// The per-account view of the records (latest reading, staleness, forecast) and the readings it
// feeds into quota check's proactive swap.
import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import {decideQuota} from '../../src/lib/quota/check.js'
import {type State, STATE_VERSION} from '../../src/lib/state.js'
import {readingsFromRecords} from '../../src/lib/usage/recorded.js'
import type {SessionUsage, UsageSample} from '../../src/lib/usage/records.js'
import {accountUsage, earliestRunOut, forecastWindow, type Point} from '../../src/lib/usage/view.js'

const NOW = new Date('2026-12-05T20:00:00Z')
const MIN = 60_000
const RESET = Date.parse('2026-12-05T22:00:00Z')
const at = (minutesAgo: number, used: number, resetsAt: number | null = RESET): Point => ({at: NOW.getTime() - minutesAgo * MIN, resetsAt, used})

describe('forecastWindow', () => {
  it('projects the recent burn rate to 100 %', () => {
    // 40 → 60 % in 40 minutes: 30 %/h; 40 % left → 80 minutes after the last reading.
    expect(forecastWindow([at(40, 40), at(20, 50), at(0, 60)], 'five_hour')).toEqual({rate_per_hour: 30, resets_first: false, runs_out_at: '2026-12-05T21:20:00.000Z'})
  })

  it('says the window resets first when it would run out after its reset', () => {
    expect(forecastWindow([at(60, 10), at(0, 20)], 'five_hour')).toEqual({rate_per_hour: 10, resets_first: true, runs_out_at: null})
  })

  it.each([
    ['no readings', []],
    ['one reading', [at(0, 50)]],
    ['readings under five minutes apart', [at(4, 40), at(0, 45)]],
    ['no increase', [at(30, 50), at(0, 50)]],
    ['only readings of an earlier window', [at(50, 20, RESET - 5 * 3_600_000), at(0, 30)]],
    ['only readings older than the lookback', [at(90, 20), at(0, 30)]],
  ])('has no forecast from %s', (_what, points) => {
    expect(forecastWindow(points, 'five_hour')).toEqual({rate_per_hour: null, resets_first: false, runs_out_at: null})
  })

  it('a window at or past 100 % has run out at its last reading', () => {
    expect(forecastWindow([at(3, 100)], 'five_hour').runs_out_at).toBe(new Date(NOW.getTime() - 3 * MIN).toISOString())
  })

  it('looks back a day for the weekly window', () => {
    const weekly = Date.parse('2026-12-09T00:00:00Z')
    // 30 → 60 % in 20 hours: 1.5 %/h; 40 % left → 26 h 40 min.
    expect(forecastWindow([at(20 * 60, 30, weekly), at(0, 60, weekly)], 'seven_day')).toEqual({rate_per_hour: 1.5, resets_first: false, runs_out_at: '2026-12-06T22:40:00.000Z'})
  })
})

function sample(minutesAgo: number, home: string, five?: number, seven?: number): UsageSample {
  return {
    home,
    ts: new Date(NOW.getTime() - minutesAgo * MIN).toISOString(),
    ...(five === undefined ? {} : {five_hour: {resets_at: RESET / 1000, used_percentage: five}}),
    ...(seven === undefined ? {} : {seven_day: {resets_at: Date.parse('2026-12-09T00:00:00Z') / 1000, used_percentage: seven}}),
  }
}

const ACCOUNTS = [
  {home: '/a', name: 'main'},
  {home: '/b', name: 'backup'},
]

describe('accountUsage', () => {
  it("merges every session's samples by account home, newest last", () => {
    const records: SessionUsage[] = [
      {samples: [sample(40, '/a', 40, 10), sample(0, '/a', 60, 12)], session: 'ccl-auto-11', version: 1},
      {samples: [sample(20, '/a', 50, 11), sample(30, '/b', 5)], session: 'ccl-auto-12', version: 1},
    ]
    const [main, backup] = accountUsage(records, ACCOUNTS, NOW, 15 * MIN)
    expect(main).toMatchObject({account: 'main', five_hour: {rate_per_hour: 30, resets_at: '2026-12-05T22:00:00.000Z', runs_out_at: '2026-12-05T21:20:00.000Z', stale: false, used_percentage: 60}, session: 'ccl-auto-11', seven_day: {used_percentage: 12}})
    expect(earliestRunOut(main!)).toBe('2026-12-05T21:20:00.000Z')
    expect(backup).toMatchObject({account: 'backup', five_hour: {stale: true, used_percentage: 5}, seven_day: null})
  })

  it('a reading whose reset has passed is stale, whatever its age', () => {
    const records: SessionUsage[] = [{samples: [{five_hour: {resets_at: NOW.getTime() / 1000 - 60, used_percentage: 99}, home: '/a', ts: NOW.toISOString()}], session: 's', version: 1}]
    expect(accountUsage(records, ACCOUNTS, NOW, 15 * MIN)[0]?.five_hour?.stale).toBe(true)
  })
})

describe('the proactive swap from the records', () => {
  const config = parseConfig('accounts: [{name: main, home: /a}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {usage: {threshold: 90}}\n', '/c.yaml')
  const state: State = {accounts: {}, active_account: 'main', dispatch_paused_until: null, generation: 1, last_swap: null, notified: {}, sessions: {}, suspect: {}, swap_journal: null, updated_at: null, version: STATE_VERSION}

  it('the active account at the threshold swaps, naming the session and the window, with the reset as the exhausted-until', () => {
    const records: SessionUsage[] = [{samples: [sample(1, '/a', 91, 40)], session: 'ccl-auto-12', version: 1}]
    const readings = readingsFromRecords(accountUsage(records, ACCOUNTS, NOW, 15 * MIN), config)
    expect(readings).toEqual([{account: 'main', cached: false, over_threshold: true, resets_at: '2026-12-05T22:00:00.000Z', session: 'ccl-auto-12', source: 'statusline', utilization: 91, window: 'five_hour'}])
    const decision = decideQuota([], readings, state, config, NOW)
    expect(decision.action).toBe('swap')
    expect(decision.trigger).toEqual({pattern: 'usage_five_hour_91pct', reset_at: '2026-12-05T22:00:00.000Z', session: '(statusline)', snippet: 'ccl-auto-12 reported five_hour usage 91% ≥ 90%'})
  })

  it('the weekly window counts too', () => {
    const records: SessionUsage[] = [{samples: [sample(1, '/a', 20, 95)], session: 's', version: 1}]
    expect(decideQuota([], readingsFromRecords(accountUsage(records, ACCOUNTS, NOW, 15 * MIN), config), state, config, NOW).trigger?.pattern).toBe('usage_seven_day_95pct')
  })

  it.each([
    ['below the threshold', [sample(1, '/a', 89)], config],
    ['a stale reading', [sample(16, '/a', 99)], config],
    ['another account over it', [sample(1, '/b', 99)], config],
    ['statusline.swap off', [sample(1, '/a', 99)], parseConfig('accounts: [{name: main, home: /a}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {usage: {threshold: 90}}\nstatusline: {swap: false}\n', '/c.yaml')],
  ])('does not swap on %s', (_what, samples, cfg) => {
    const readings = readingsFromRecords(accountUsage([{samples, session: 's', version: 1}], ACCOUNTS, NOW, 15 * MIN), cfg)
    expect(decideQuota([], readings, state, cfg, NOW).action).toBe('none')
  })
})

describe('status shows the usage per account', () => {
  it('used % and reset per window, the run-out at the current rate, and "—" without enough data', async () => {
    const {renderStatus} = await import('../../src/lib/status-render.js')
    const records: SessionUsage[] = [
      {samples: [sample(40, '/a', 40, 10), sample(0, '/a', 60, 12)], session: 'ccl-auto-11', version: 1},
      {samples: [sample(1, '/b', 5)], session: 'ccl-auto-12', version: 1},
    ]
    const usage = accountUsage(records, ACCOUNTS, NOW, 15 * MIN)
    const report = {accounts: [], active_account: 'main', dispatch_paused_until: null, events: [], last_swap: null, queues: [], sessions: [], tmux: {running: true, socket: null}, usage, warnings: []}
    const text = renderStatus(report, NOW).replaceAll(/\u001B\[[0-9;]*m/g, '')
    expect(text).toContain('Usage (from the statusLine)')
    const main = text.split('\n').find((l) => l.startsWith('main '))
    expect(main).toMatch(/60% · resets in 2h00m .*12% · resets in .*2026-12-05T21:20:00.000Z \(in 80m\)/)
    const backup = text.split('\n').find((l) => l.startsWith('backup '))
    expect(backup).toMatch(/5% · resets in 2h00m .*—/)
    const empty = renderStatus({...report, usage: accountUsage([], ACCOUNTS, NOW, 15 * MIN)}, NOW)
    expect(empty).toContain('usage: nothing recorded yet')
  })
})
