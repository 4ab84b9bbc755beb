import {describe, expect, it} from 'vitest'

import {type Classification, classifyPane} from '../../src/lib/quota/classify.js'
import {combineSignals, type HookSignal, type TranscriptRecord} from '../../src/lib/quota/signals.js'
import type {SignalRecord} from '../../src/lib/signals.js'

const options = {now: new Date('2026-03-11T09:00:00Z'), timeZone: 'UTC'}
const banner = "You've hit your session limit · resets 10am (UTC)"

const stopFailure = (message: string | undefined, ts = '2026-03-10T13:32:00Z'): HookSignal => ({
  error: 'rate_limit',
  error_details: '429 Too Many Requests',
  event: 'StopFailure',
  ...(message === undefined ? {} : {last_assistant_message: message}),
  ts,
})

const apiError = (text: string, status = 429, error = 'rate_limit', timestamp = '2026-03-10T13:32:00Z'): TranscriptRecord => ({
  apiErrorStatus: status,
  error,
  isApiErrorMessage: true,
  message: {content: [{text, type: 'text'}], model: '<synthetic>'},
  timestamp,
  type: 'assistant',
})

const userTurn = (timestamp: string): TranscriptRecord => ({message: {content: 'Continue where you left off.'}, timestamp, type: 'user'})
const pane = (text: string): Classification => classifyPane(text, options)
const idlePane = pane(`❯ go\n⏺ Done.\n\n✻ Worked for 3s\n${'─'.repeat(40)}\n❯ \n${'─'.repeat(40)}\n`)

describe('combineSignals: a structured record never swaps on a transient throttle', () => {
  it.each([
    ['the throttle text', 'API Error: Rate limit reached', 'rate_limited'],
    ['the not-your-limit throttle', 'API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited', 'rate_limited'],
    ['no text at all', undefined, 'rate_limited'],
    ['an unrelated text', 'Something went wrong', 'rate_limited'],
    ['a 500 mentioning rate limits', 'API Error: 500 {"error":{"message":"rate_limit_check_failed"}}', 'server_error'],
  ])('StopFailure error=rate_limit with %s', (_name, message, verdict) => {
    const result = combineSignals({hook: stopFailure(message)}, options)
    expect(result.verdict).toBe(verdict)
    expect(result.sources).toEqual(['hook'])
  })

  it('a transcript 429 record whose text is a throttle is rate_limited', () => {
    const result = combineSignals({transcript: [apiError('API Error: Request rejected (429) · Rate limited. Please try again later.')]}, options)
    expect(result).toMatchObject({sources: ['transcript'], verdict: 'rate_limited'})
  })
})

describe('combineSignals: limits from the records', () => {
  it('reads the banner of a StopFailure, resolving a time-only reset against when the hook fired', () => {
    // Printed 13:32 on the 10th: "10am" is the 11th at 10:00, even though quota check runs at 09:00 on the 11th.
    const result = combineSignals({hook: stopFailure(banner)}, options)
    expect(result).toMatchObject({reset_at: '2026-03-11T10:00:00.000Z', scope: 'session', sources: ['hook'], verdict: 'quota_exhausted'})
  })

  it('reads the synthetic transcript record, the legacy epoch exactly', () => {
    const result = combineSignals({transcript: [userTurn('2025-08-19T11:00:00Z'), apiError('Claude AI usage limit reached|1755615600', 429, 'rate_limit', '2025-08-19T12:00:00Z')]}, options)
    expect(result).toMatchObject({reset_at: '2025-08-19T15:00:00.000Z', sources: ['transcript'], verdict: 'quota_exhausted'})
  })

  it('names both records when they agree', () => {
    const result = combineSignals({hook: stopFailure(banner), transcript: [apiError(banner)]}, options)
    expect(result.verdict).toBe('quota_exhausted')
    expect(result.sources.sort()).toEqual(['hook', 'transcript'])
  })

  it('reads a Stop that carried the banner (Claude Code before StopFailure), not a reply quoting it', () => {
    expect(combineSignals({hook: {event: 'Stop', last_assistant_message: "You've hit your limit · resets 8pm (America/Los_Angeles)", ts: '2026-03-10T13:32:00Z'}}, options).verdict).toBe('quota_exhausted')
    const quoting = combineSignals({hook: {event: 'Stop', last_assistant_message: "The log says You've hit your limit · resets 8pm, so I stopped.", ts: '2026-03-10T13:32:00Z'}}, options)
    expect(quoting).toMatchObject({pattern: 'no_signal', verdict: 'unknown'})
  })

  it('maps the error field when the text is silent', () => {
    expect(combineSignals({hook: {error: 'authentication_failed', event: 'StopFailure'}}, options)).toMatchObject({pattern: 'hook_authentication_failed', verdict: 'auth_error'})
    expect(combineSignals({transcript: [apiError('', 529, 'server_error')]}, options)).toMatchObject({pattern: 'transcript_server_error', verdict: 'server_error'})
    expect(combineSignals({transcript: [apiError('Please run /login · API Error: 401 OAuth access token has expired.', 401, 'authentication_failed')]}, options).verdict).toBe('auth_error')
  })
})

describe('combineSignals: staleness and the pane', () => {
  it('drops an error record when the conversation went on after it', () => {
    const result = combineSignals({pane: idlePane, transcript: [apiError(banner), userTurn('2026-03-10T16:00:00Z')]}, options)
    expect(result).toMatchObject({sources: ['pane'], verdict: 'idle'})
    const hookThenNewer = combineSignals({hook: stopFailure(banner, '2026-03-10T13:32:00Z'), pane: idlePane, transcript: [userTurn('2026-03-10T16:00:00Z')]}, options)
    expect(hookThenNewer.verdict).toBe('idle')
  })

  it('ignores hook records that are not a failure', () => {
    expect(combineSignals({hook: {event: 'SessionStart', ts: '2026-03-10T13:32:00Z'}, pane: idlePane}, options)).toMatchObject({sources: ['pane'], verdict: 'idle'})
  })

  it('lets a live pane decide: a running turn is working whatever an old record says', () => {
    const working = pane('❯ go on\n⏺ On it.\n\n✻ Thinking… (esc to interrupt)\n')
    expect(combineSignals({hook: stopFailure(banner), pane: working}, options)).toMatchObject({sources: ['pane'], verdict: 'working'})
  })

  it('fills the reset of a pane limit that shows none from the records', () => {
    const limited = pane('❯ go on\n  ⎿  5-hour limit reached\n')
    expect(limited).toMatchObject({reset_at: null, verdict: 'quota_exhausted'})
    const result = combineSignals({pane: limited, transcript: [apiError(banner)]}, options)
    expect(result).toMatchObject({reset_at: '2026-03-11T10:00:00.000Z', sources: ['pane', 'transcript'], verdict: 'quota_exhausted'})
  })

  it('uses the records when the pane shows nothing decisive', () => {
    expect(combineSignals({hook: stopFailure(banner), pane: idlePane}, options)).toMatchObject({sources: ['hook'], verdict: 'quota_exhausted'})
  })

  it('reads the limit menu as the limit, with the reset of the record behind it', () => {
    const menu = pane('❯ /rate-limit-options\n\n  What do you want to do?\n\n  ❯ 1. Stop and wait for limit to reset\n    2. Upgrade your plan\n\n  Enter to confirm · Esc to cancel\n')
    expect(menu).toMatchObject({pattern: 'limit_menu', reset_at: null, verdict: 'quota_exhausted'})
    expect(combineSignals({hook: stopFailure(banner), pane: menu}, options)).toMatchObject({reset_at: '2026-03-11T10:00:00.000Z', verdict: 'quota_exhausted'})
  })

  it('keeps any other dialog awaiting input, with the reset of the limit behind it', () => {
    const dialog = pane('❯ go on\n\n  Do you want to proceed?\n  ❯ 1. Yes\n    2. No\n\n  Esc to cancel\n')
    expect(combineSignals({hook: stopFailure(banner), pane: dialog}, options)).toMatchObject({reset_at: '2026-03-11T10:00:00.000Z', verdict: 'awaiting_input'})
  })

  it('says unknown with no signal at all', () => {
    expect(combineSignals({}, options)).toEqual({pattern: 'no_signal', reset_at: null, scope: null, snippet: '', source: null, sources: [], verdict: 'unknown'})
  })

  it('accepts the record the hook command writes', () => {
    const record: SignalRecord = {
      config_dir: '/home/ops/.claude-main',
      conversation_id: '4f35e220-c435-4cf7-b9b9-f40426042847',
      cwd: '/home/ops/src/app',
      error: 'rate_limit',
      event: 'StopFailure',
      last_assistant_message: banner,
      session: 'ccl-auto-11',
      task: null,
      transcript_path: null,
      ts: '2026-03-10T13:32:00Z',
    }
    expect(combineSignals({hook: record}, options).verdict).toBe('quota_exhausted')
  })
})

// The records 2.1.328 writes (reference/real-claude-code.md, "The transcript record of a limit-ended turn").
const limitRecord = (patch: Partial<TranscriptRecord> = {}): TranscriptRecord => ({
  apiError: 'usage_limit_reached',
  apiErrorParams: {rate_limit_info: {rateLimitType: 'five_hour', resetsAt: 1_796_502_118, status: 'rejected'}},
  apiErrorStatus: 429,
  error: 'rate_limit',
  isApiErrorMessage: true,
  message: {content: [{text: "You've hit your 5-hour limit · resets 8:21pm (UTC)", type: 'text'}], model: '<synthetic>'},
  timestamp: '2026-12-05T18:40:00.000Z',
  type: 'assistant',
  ...patch,
})

describe('combineSignals: structured fields decide first', () => {
  const at = {now: new Date('2026-12-05T18:45:00Z'), timeZone: 'UTC'}

  it('takes the verdict, the reset to the second and the window from apiErrorParams', () => {
    const result = combineSignals({transcript: [limitRecord()]}, at)
    expect(result).toMatchObject({pattern: 'transcript_usage_limit_reached', reset_at: '2026-12-05T20:21:58.000Z', scope: 'session', source: 'transcript', verdict: 'quota_exhausted'})
  })

  it('maps every rateLimitType to a scope', () => {
    const scopes = Object.entries({five_hour: 'session', overage: 'extra_usage', seven_day: 'weekly', seven_day_opus: 'opus', seven_day_overage_included: 'other', seven_day_sonnet: 'sonnet'})
    for (const [rateLimitType, scope] of scopes) {
      const record = limitRecord({apiErrorParams: {rate_limit_info: {rateLimitType, resetsAt: 1_796_502_118}}})
      expect(combineSignals({transcript: [record]}, at).scope).toBe(scope)
    }
  })

  it('beats the minute the pane shows, and names the record as the source', () => {
    const limited = classifyPane("❯ go on\n  ⎿  You've hit your 5-hour limit · resets 8:21pm (UTC)\n", at)
    expect(limited.reset_at).toBe('2026-12-05T20:21:00.000Z')
    const result = combineSignals({pane: limited, transcript: [limitRecord()]}, at)
    expect(result).toMatchObject({reset_at: '2026-12-05T20:21:58.000Z', source: 'transcript', sources: ['pane', 'transcript'], verdict: 'quota_exhausted'})
  })

  it('falls back to the text for the reset when resetsAt is missing or not a number', () => {
    const record = limitRecord({apiErrorParams: {rate_limit_info: {rateLimitType: 'seven_day'}}})
    expect(combineSignals({transcript: [record]}, at)).toMatchObject({reset_at: '2026-12-05T20:21:00.000Z', scope: 'weekly', verdict: 'quota_exhausted'})
  })

  it('never reads a transient 429 as a limit, whatever its text says', () => {
    const transient = limitRecord({apiError: undefined, apiErrorIsTransient: true, apiErrorParams: undefined})
    const result = combineSignals({transcript: [transient]}, at)
    expect(result).toMatchObject({pattern: 'transcript_transient', source: 'transcript', verdict: 'rate_limited'})
    // Even a pane that shows a limit gives way to the record of the same moment.
    const limited = classifyPane("❯ go on\n  ⎿  You've hit your 5-hour limit · resets 8:21pm (UTC)\n", at)
    expect(combineSignals({pane: limited, transcript: [transient]}, at).verdict).toBe('rate_limited')
  })

  it("reads an API-key account's 429 (apiErrorIsTransient false, no apiError) as rate_limited", () => {
    const record = apiError("API Error: Request rejected (429) · This request would exceed your account's rate limit. Please try again later.", 429, 'rate_limit', '2026-12-05T18:40:00Z')
    expect(combineSignals({transcript: [{...record, apiErrorIsTransient: false}]}, at).verdict).toBe('rate_limited')
  })

  it('reads StopFailure as 2.1.328 sends it (no error_details): the text decides between a limit and a throttle', () => {
    const hook = (message: string): HookSignal => ({error: 'rate_limit', event: 'StopFailure', last_assistant_message: message, ts: '2026-12-05T18:40:00Z'})
    expect(combineSignals({hook: hook("You've hit your 5-hour limit · resets 8:21pm (UTC)")}, at)).toMatchObject({reset_at: '2026-12-05T20:21:00.000Z', source: 'hook', verdict: 'quota_exhausted'})
    expect(combineSignals({hook: hook('API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited')}, at)).toMatchObject({source: 'hook', verdict: 'rate_limited'})
    expect(combineSignals({hook: {error: 'server_error', event: 'StopFailure', ts: '2026-12-05T18:40:00Z'}}, at).verdict).toBe('server_error')
  })

  it('lets the pane decide what no record tells: a dialog, a running turn, a launch that failed', () => {
    const theme = classifyPane(" Let's get started.\n\n Choose the text style that looks best with your terminal\n\n ❯ ✔ Auto (match terminal)\n     Dark mode\n     Light mode\n", at)
    expect(combineSignals({pane: theme, transcript: [limitRecord()]}, at)).toMatchObject({reset_at: '2026-12-05T20:21:58.000Z', source: 'pane', verdict: 'awaiting_input'})
    const shell = classifyPane('ops@pool:~/app$ claude --resume 4f35e220-c435-4cf7-b9b9-f40426042847\nNo conversation found with session ID: 4f35e220-c435-4cf7-b9b9-f40426042847\nops@pool:~/app$\n', at)
    expect(combineSignals({hook: {error: 'rate_limit', event: 'StopFailure', ts: '2026-12-05T18:40:00Z'}, pane: shell}, at)).toMatchObject({pattern: 'claude_not_started', source: 'pane', verdict: 'unknown'})
  })
})

describe('combineSignals: the exact record wins over the hook of the same limit', () => {
  it('takes the reset to the second from the transcript even when the StopFailure is newer', () => {
    const at = {now: new Date('2026-12-05T18:45:00Z'), timeZone: 'UTC'}
    const hook: HookSignal = {error: 'rate_limit', event: 'StopFailure', last_assistant_message: "You've hit your 5-hour limit · resets 8:21pm (UTC)", ts: '2026-12-05T18:40:05Z'}
    const record: TranscriptRecord = {
      apiError: 'usage_limit_reached',
      apiErrorParams: {rate_limit_info: {rateLimitType: 'five_hour', resetsAt: 1_796_502_118}},
      apiErrorStatus: 429,
      error: 'rate_limit',
      isApiErrorMessage: true,
      message: {content: [{text: "You've hit your 5-hour limit · resets 8:21pm (UTC)", type: 'text'}]},
      timestamp: '2026-12-05T18:40:03Z',
      type: 'assistant',
    }
    expect(combineSignals({hook, transcript: [record]}, at)).toMatchObject({reset_at: '2026-12-05T20:21:58.000Z', source: 'transcript', verdict: 'quota_exhausted'})
  })
})
