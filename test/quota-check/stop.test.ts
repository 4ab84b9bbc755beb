// A Stop hook record ends a task only when the turn ended normally: Claude Code ≤ 2.1.77 ended a
// turn cut by the usage limit with a plain Stop carrying the banner.
import {describe, expect, it} from 'vitest'

import {isCleanStop} from '../../src/lib/stop.js'

const ts = '2026-11-21T10:00:00.000Z'

describe('isCleanStop', () => {
  it.each([
    ['a normal reply', 'Stop', 'Done: the API handlers are in place.', true],
    ['no message', 'Stop', undefined, true],
    ['a limit banner (pre-2.1.78 Stop)', 'Stop', "You've hit your limit · resets 8pm (America/Los_Angeles)", false],
    ['a legacy epoch banner', 'Stop', 'Claude AI usage limit reached|1760004000', false],
    ['a server error', 'Stop', 'API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}', false],
    ['an auth error', 'Stop', 'Please run /login · API Error: 401 OAuth access token has expired. Re-authenticate to continue.', false],
    ['a StopFailure', 'StopFailure', 'Done', false],
    ['a reply that quotes a banner in prose', 'Stop', 'I added a test for the message "You\'ve hit your limit · resets 8pm" to the parser.', true],
  ])('%s → %s', (_name, event, message, clean) => {
    expect(isCleanStop({event, last_assistant_message: message, ts})).toBe(clean)
  })
})
