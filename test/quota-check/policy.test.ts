// The limit policy (issue 16): per limit, swap now or let Claude Code's own wait run. Pure decisions.
import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import type {FailoverError} from '../../src/lib/errors.js'
import {decideQuota, type SessionVerdict} from '../../src/lib/quota/check.js'
import {decideLimit, type LimitPolicyInput, waitCovers} from '../../src/lib/quota/policy.js'
import {type State, STATE_VERSION} from '../../src/lib/state.js'

const NOW = new Date('2026-12-05T20:00:00Z')
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString()
const input = (patch: Partial<LimitPolicyInput>): LimitPolicyInput => ({mode: 'auto', noTarget: null, now: NOW, resetAt: at(10), scope: 'session', waitHorizonMs: 15 * 60_000, ...patch})

describe('decideLimit', () => {
  it('auto: waits when the reset is within the horizon, swaps beyond it, each with its reason', () => {
    expect(decideLimit(input({resetAt: at(10)}))).toEqual({choice: 'wait', reason: 'the session limit resets in 10m, within wait_horizon 15m: Claude Code waits and continues by itself'})
    expect(decideLimit(input({resetAt: at(15)})).choice).toBe('wait')
    expect(decideLimit(input({resetAt: at(16)}))).toEqual({choice: 'swap', reason: 'the session limit resets in 16m, beyond wait_horizon 15m'})
  })

  it('judges weekly and per-model limits by their reset too', () => {
    expect(decideLimit(input({resetAt: at(3 * 24 * 60), scope: 'weekly'}))).toEqual({choice: 'swap', reason: 'the weekly limit resets in 3d, beyond wait_horizon 15m'})
    expect(decideLimit(input({resetAt: at(5), scope: 'opus'}))).toMatchObject({choice: 'wait', reason: expect.stringMatching(/^the opus limit resets in 5m, within/)})
  })

  it('auto: a limit without a reset swaps (waiting blind could idle the pool for hours)', () => {
    expect(decideLimit(input({resetAt: null}))).toEqual({choice: 'swap', reason: 'the session limit shows no reset time: swapping rather than waiting blind'})
  })

  it('waits whatever the mode when no other account is usable, except that mode wait always waits', () => {
    const none = 'all accounts are exhausted until 2026-12-05T23:00:00.000Z'
    for (const mode of ['auto', 'swap'] as const) {
      expect(decideLimit(input({mode, noTarget: none, resetAt: at(300)}))).toEqual({choice: 'wait', reason: `no other account is usable (${none}): Claude Code waits for the session limit to reset (in 5h)`})
    }

    expect(decideLimit(input({mode: 'wait', resetAt: at(600)}))).toEqual({choice: 'wait', reason: 'policy mode wait: Claude Code waits for the session limit to reset (in 10h)'})
  })

  it('mode swap swaps even when the reset is a minute away', () => {
    expect(decideLimit(input({mode: 'swap', resetAt: at(1)}))).toEqual({choice: 'swap', reason: 'policy mode swap: the session limit resets in 1m'})
  })

  it('a wait covers the same limit seen again, not a later one', () => {
    expect(waitCovers(at(10), at(10))).toBe(true)
    // The banner's minute reads up to 59 s before the record's exact instant.
    expect(waitCovers(at(10), new Date(Date.parse(at(10)) + 59_000).toISOString())).toBe(true)
    expect(waitCovers(at(10), at(3 * 24 * 60))).toBe(false)
    expect(waitCovers(null, at(10))).toBe(true)
  })
})

const config = parseConfig('accounts: [{name: main, home: /a}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {confirm_polls: 2, policy: {wait_horizon: 15m}}\n', '/c.yaml')

function state(patch: Partial<State> = {}): State {
  return {accounts: {}, active_account: 'main', dispatch_paused_until: null, generation: 3, last_swap: null, notified: {}, sessions: {}, suspect: {}, swap_journal: null, updated_at: null, version: STATE_VERSION, ...patch}
}

function limit(session: string, reset_at: string | null, scope: SessionVerdict['scope'] = 'session'): SessionVerdict {
  return {pattern: 'transcript_usage_limit_reached', reset_at, scope, session, snippet: `${session} banner`, source: 'transcript', sources: ['transcript'], verdict: 'quota_exhausted'}
}

const waitingOn = (until: string) =>
  state({accounts: {main: {exhausted_until: until, last_hit: null, waiting: {pattern: 'transcript_usage_limit_reached', reason: 'r', scope: 'session', session: 'ccl-auto-11', since: NOW.toISOString(), until}}}})

describe('decideQuota with the policy', () => {
  it('a near reset: wait (not swap), naming the policy reason', () => {
    const d = decideQuota([limit('ccl-auto-11', at(7))], [], state(), config, NOW)
    expect(d).toMatchObject({action: 'wait', policy: {choice: 'wait'}, trigger: {reset_at: at(7), scope: 'session', session: 'ccl-auto-11'}})
    expect(d.message).toMatch(/^\[quota\] wait: main ccl-auto-11 transcript_usage_limit_reached: the session limit resets in 7m, within wait_horizon 15m/)
  })

  it('a session already waiting natively is neither decided again nor swapped: every session of the pool at the same limit', () => {
    const d = decideQuota([limit('ccl-auto-11', at(7)), limit('ccl-auto-12', at(7)), limit('ccl-auto-13', new Date(Date.parse(at(7)) + 30_000).toISOString())], [], waitingOn(at(7)), config, NOW)
    expect(d.action).toBe('waiting')
    expect(d.message).toMatch(/main is waiting until .* \(native wait\)/)
  })

  it('a later limit while waiting (the weekly wall) is decided anew: swap', () => {
    const d = decideQuota([limit('ccl-auto-11', at(7)), limit('ccl-auto-12', at(3 * 24 * 60), 'weekly')], [], waitingOn(at(7)), config, NOW)
    expect(d).toMatchObject({action: 'swap', policy: {choice: 'swap', reason: 'the weekly limit resets in 3d, beyond wait_horizon 15m'}, trigger: {scope: 'weekly', session: 'ccl-auto-12'}})
  })

  it('waits when the other account is out too, and swaps once it is back (far reset)', () => {
    const bothOut = state({accounts: {backup: {exhausted_until: at(120), last_hit: null}}})
    expect(decideQuota([limit('ccl-auto-11', at(300))], [], bothOut, config, NOW)).toMatchObject({action: 'wait', policy: {reason: expect.stringMatching(/^no other account is usable \(all accounts are exhausted until/)}})
    const later = new Date(Date.parse(at(121)))
    const s = waitingOn(at(300))
    s.accounts.backup = {exhausted_until: at(120), last_hit: null}
    expect(decideQuota([limit('ccl-auto-11', at(300))], [], s, config, later)).toMatchObject({action: 'swap', reactivated: ['backup']})
  })

  it('when the reset has passed the wait ends (the account is reactivated) and the old banner decides nothing, from the reset on', () => {
    expect(decideQuota([limit('ccl-auto-11', at(7))], [], waitingOn(at(7)), config, new Date(Date.parse(at(7)) + 1000))).toMatchObject({action: 'none', reactivated: ['main']})
    const after = new Date(Date.parse(at(9)))
    const d = decideQuota([limit('ccl-auto-11', at(7))], [], waitingOn(at(7)), config, after)
    expect(d).toMatchObject({action: 'none', reactivated: ['main'], trigger: null})
  })

  it('a swap before the wall (a usage reading past the threshold) is no limit to wait out: it swaps even with the reset near', () => {
    const usage = [{account: 'main', cached: false, over_threshold: true, resets_at: at(5), utilization: 97, window: 'five_hour'}] as Parameters<typeof decideQuota>[1]
    expect(decideQuota([], usage, state(), config, NOW)).toMatchObject({action: 'swap', policy: null})
  })

  it('mode swap keeps the old behaviour: a near reset swaps at once', () => {
    const swapMode = parseConfig('accounts: [{name: main, home: /a}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {policy: {mode: swap}}\n', '/c.yaml')
    expect(decideQuota([limit('ccl-auto-11', at(7))], [], state(), swapMode, NOW).action).toBe('swap')
  })

  it('the policy config: defaults and a one-line error naming a valid example', () => {
    expect(config.quota.policy).toEqual({checkOnLimit: true, mode: 'auto', waitHorizonMs: 15 * 60_000})
    let details: string[] = []
    try {
      parseConfig('accounts: [{name: main, home: /a}]\nshared: {root: /s}\nquota: {policy: {mode: sometimes}}\n', '/c.yaml')
    } catch (error) {
      details = (error as FailoverError).details
      expect((error as FailoverError).exitCode).toBe(78)
    }

    expect(details).toEqual([expect.stringMatching(/quota\.policy\.mode: must be auto, swap or wait.*e\.g\. mode: auto$/)])
  })
})
