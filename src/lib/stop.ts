// When is a Stop hook record the end of a task? Claude Code up to 2.1.77 ended a turn cut short by
// the usage limit (or an API error) with a plain Stop whose message is the banner; later versions
// send StopFailure instead. A Stop whose message is a limit or an error is not a finished task.
import type {Claim} from './dispatch/claims.js'
import type {SignalRecord} from './signals.js'

import {classifyMessage} from './quota/classify.js'

const NOT_DONE = new Set(['quota_exhausted', 'rate_limited', 'server_error', 'auth_error'])

/** True when a Stop record ends a turn normally (not on a limit or an API error shown as its message). */
export function isCleanStop(signal: Pick<SignalRecord, 'event' | 'last_assistant_message' | 'ts'>): boolean {
  if (signal.event !== 'Stop') return false
  const message = signal.last_assistant_message?.trim()
  if (!message) return true
  return !NOT_DONE.has(classifyMessage(message, {now: new Date(signal.ts)}).verdict)
}

/** The Stop record that ends a claim's run, if it arrived: a clean Stop of its conversation since the claim. */
export function stopFor(claim: Pick<Claim, 'claimed_at' | 'conversation_id'>, signals: readonly SignalRecord[]): SignalRecord | undefined {
  return signals.find((s) => isCleanStop(s) && s.conversation_id === claim.conversation_id && s.ts >= claim.claimed_at)
}
