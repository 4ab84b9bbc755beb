// The shape checks used for state.json, claims and ledgers instead of zod: defaults, dropped keys,
// where a value is wrong, and no prototype games.
import {describe, expect, it} from 'vitest'

import {array, boolean, integer, isoTime, nullable, object, oneOf, optional, parseShape, record, string, withDefault} from '../../src/lib/shape.js'
import {parseStateText} from '../../src/lib/state.js'

const session = object({
  state: oneOf(['idle', 'working'] as const),
  task: withDefault(nullable(string), () => null),
  since: isoTime,
  watch: optional(object({hash: string})),
})
const doc = object({generation: integer(0), sessions: withDefault(record(session), () => ({})), flags: withDefault(array(boolean), () => [])})

describe('shape checks', () => {
  it('fills defaults, keeps optional keys absent, and drops keys it does not name', () => {
    const parsed = parseShape(doc, {extra: 1, generation: 3, sessions: {a: {since: '2026-01-01T00:00:00Z', state: 'idle', stray: true}}})
    expect(parsed).toStrictEqual({ok: true, value: {flags: [], generation: 3, sessions: {a: {since: '2026-01-01T00:00:00Z', state: 'idle', task: null}}}})
  })

  it('names where a value is wrong', () => {
    const cases: [unknown, string, RegExp][] = [
      [{generation: -1}, 'generation', /integer ≥ 0/],
      [{generation: 1.5}, 'generation', /integer/],
      [{generation: 1, sessions: {a: {since: 'yesterday', state: 'idle'}}}, 'sessions.a.since', /ISO-8601/],
      [{generation: 1, sessions: {a: {since: '2026-01-01T00:00:00Z', state: 'asleep'}}}, 'sessions.a.state', /idle, working/],
      [{generation: 1, sessions: []}, 'sessions', /object/],
      [{generation: 1, flags: [true, 'no']}, 'flags.1', /true or false/],
      [[], '', /object/],
    ]
    for (const [value, path, message] of cases) {
      const parsed = parseShape(doc, value)
      expect(parsed.ok, JSON.stringify(value)).toBe(false)
      if (parsed.ok) continue
      expect(parsed.path).toBe(path)
      expect(parsed.message).toMatch(message)
    }
  })

  it('keeps a key named __proto__ as a plain key of a record', () => {
    const parsed = parseShape(doc, JSON.parse('{"generation": 0, "sessions": {"__proto__": {"since": "2026-01-01T00:00:00Z", "state": "idle"}}}'))
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(Object.keys(parsed.value.sessions)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(parsed.value.sessions)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).state).toBeUndefined()
  })

  it('reads a state file: defaults for missing sections, the path of a bad value in the corrupt reason', () => {
    const ok = parseStateText('{"version": 1, "generation": 4}')
    expect(ok).toStrictEqual({
      kind: 'ok',
      state: {accounts: {}, active_account: null, dispatch_paused_until: null, generation: 4, last_swap: null, notified: {}, sessions: {}, suspect: {}, swap_journal: null, updated_at: null, version: 1},
    })
    expect(parseStateText('{"version": 1, "generation": 4, "accounts": {"main": {"exhausted_until": "soon"}}}')).toStrictEqual({
      kind: 'corrupt',
      reason: 'does not match the schema at accounts.main.exhausted_until: must be an ISO-8601 time',
    })
    expect(parseStateText('{"version": 2, "generation": 4}')).toMatchObject({kind: 'corrupt', reason: expect.stringMatching(/^does not match the schema at version: expected 1/)})
  })
})
