// The pure decision of `quota check`: what a poll's verdicts do to the state.
import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import {decideQuota, type SessionVerdict} from '../../src/lib/quota/check.js'
import type {UsageReading} from '../../src/lib/quota/usage.js'
import {type State, STATE_VERSION} from '../../src/lib/state.js'

const config = parseConfig('accounts: [{name: main, home: /a}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {confirm_polls: 2, reactivate_cooldown: 5m}\n', '/c.yaml')
const NOW = new Date('2026-11-21T10:00:00Z')

function state(patch: Partial<State> = {}): State {
  return {accounts: {}, active_account: 'main', dispatch_paused_until: null, generation: 3, last_swap: null, notified: {}, sessions: {}, suspect: {}, swap_journal: null, updated_at: null, version: STATE_VERSION, ...patch}
}

function verdict(session: string, v: SessionVerdict['verdict'], reset_at: string | null = null): SessionVerdict {
  return {pattern: v === 'quota_exhausted' ? 'hit_your_limit' : 'idle_input', reset_at, scope: null, session, snippet: `${session} snippet`, source: 'pane', sources: ['pane'], verdict: v}
}

describe('decideQuota', () => {
  it('swaps at once on a limit with a reset time, naming the session, pattern and snippet', () => {
    const d = decideQuota([verdict('ccl-auto-11', 'idle'), verdict('ccl-auto-12', 'quota_exhausted', '2026-11-21T15:00:00.000Z')], [], state(), config, NOW)
    expect(d.action).toBe('swap')
    expect(d.trigger).toEqual({pattern: 'hit_your_limit', reset_at: '2026-11-21T15:00:00.000Z', scope: null, session: 'ccl-auto-12', snippet: 'ccl-auto-12 snippet'})
    expect(d.policy).toEqual({choice: 'swap', reason: 'the limit resets in 5h, beyond wait_horizon 15m'})
    expect(d.message).toBe('[quota] swap: trigger_session=ccl-auto-12 pattern=hit_your_limit snippet="ccl-auto-12 snippet" reason="the limit resets in 5h, beyond wait_horizon 15m"')
  })

  it('needs confirm_polls consecutive polls for a limit without a reset time', () => {
    const first = decideQuota([verdict('ccl-auto-11', 'quota_exhausted')], [], state(), config, NOW)
    expect(first.action).toBe('confirming')
    expect(first.suspects).toEqual({'ccl-auto-11': 1})
    const second = decideQuota([verdict('ccl-auto-11', 'quota_exhausted')], [], state({suspect: {'ccl-auto-11': {count: 1, first_at: NOW.toISOString(), last_at: NOW.toISOString(), pattern: 'x'}}}), config, NOW)
    expect(second.action).toBe('swap')
  })

  it('a poll without the hit clears the count (an isolated blip never swaps)', () => {
    const d = decideQuota([verdict('ccl-auto-11', 'server_error')], [], state({suspect: {'ccl-auto-11': {count: 1, first_at: NOW.toISOString(), last_at: NOW.toISOString(), pattern: 'x'}}}), config, NOW)
    expect(d).toMatchObject({action: 'none', suspects: {}})
  })

  it('holds a second swap within reactivate_cooldown', () => {
    const recent = state({last_swap: {at: '2026-11-21T09:57:00.000Z', from: 'backup', to: 'main'}})
    const d = decideQuota([verdict('ccl-auto-11', 'quota_exhausted', '2026-11-21T15:00:00.000Z')], [], recent, config, NOW)
    expect(d.action).toBe('cooldown')
    expect(d.message).toMatch(/^\[quota\] swap cooldown active/)
    const later = decideQuota([verdict('ccl-auto-11', 'quota_exhausted', '2026-11-21T15:00:00.000Z')], [], recent, config, new Date('2026-11-21T10:02:01Z'))
    expect(later.action).toBe('swap')
  })

  it('reactivates accounts whose exhausted-until has passed', () => {
    const s = state({accounts: {backup: {exhausted_until: '2026-11-21T09:59:00.000Z', last_hit: null}, main: {exhausted_until: '2026-11-21T11:00:00.000Z', last_hit: null}}})
    expect(decideQuota([], [], s, config, NOW).reactivated).toEqual(['backup'])
  })

  it('never treats transient errors, auth errors or modals as a limit', () => {
    for (const v of ['rate_limited', 'server_error', 'auth_error', 'awaiting_input', 'working', 'unknown'] as const) {
      expect(decideQuota([verdict('ccl-auto-11', v)], [], state(), config, NOW).action).toBe('none')
    }
  })

  it('swaps before the wall when the usage endpoint reports the active account over the threshold', () => {
    const usage: UsageReading[] = [{account: 'main', cached: false, over_threshold: true, resets_at: '2026-11-21T12:00:00.000Z', utilization: 97, window: 'five_hour'}]
    const d = decideQuota([], usage, state(), config, NOW)
    expect(d).toMatchObject({action: 'swap', trigger: {pattern: 'usage_five_hour_97pct', reset_at: '2026-11-21T12:00:00.000Z'}})
    expect(decideQuota([], [{...usage[0]!, account: 'backup'}], state(), config, NOW).action).toBe('none')
  })
})
