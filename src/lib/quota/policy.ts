// The limit policy (issue 16): per limit, swap the pool to another account now, or let Claude
// Code's own wait run (`autoContinueAtUsageLimit`, on for pool sessions through the settings file:
// it continues by itself at the reset). Swapping costs a kill and a resume of every session, a cold
// prompt cache charged to the other account, and that account's quota; waiting costs idle minutes.
// Pure: the clock, the state and the config come in.
import type {Config} from '../config.js'

import {formatDuration} from '../duration.js'

export type LimitChoice = 'swap' | 'wait'

export interface LimitPolicyInput {
  mode: Config['quota']['policy']['mode']
  waitHorizonMs: number
  /** The limit's reset (ISO-8601), null when no record or banner gave one. */
  resetAt: string | null
  /** The window the limit names (`session`, `weekly`, `opus`, …), for the reason only. */
  scope: string | null
  /** Null when another account can take the pool; otherwise why none can. */
  noTarget: string | null
  now: Date
}

export interface LimitPolicyDecision {
  choice: LimitChoice
  /** One line for the event and the log. */
  reason: string
}

/** Swap now or let Claude Code wait, and why. */
export function decideLimit(input: LimitPolicyInput): LimitPolicyDecision {
  const window = input.scope ? `${input.scope} limit` : 'limit'
  const resetMs = input.resetAt ? Date.parse(input.resetAt) : Number.NaN
  const inText = Number.isNaN(resetMs) ? 'an unknown time' : resetMs <= input.now.getTime() ? 'now' : `in ${formatDuration(resetMs - input.now.getTime())}`
  if (input.mode === 'wait') return {choice: 'wait', reason: `policy mode wait: Claude Code waits for the ${window} to reset (${inText})`}
  if (input.noTarget) return {choice: 'wait', reason: `no other account is usable (${input.noTarget}): Claude Code waits for the ${window} to reset (${inText})`}
  if (input.mode === 'swap') return {choice: 'swap', reason: `policy mode swap: the ${window} resets ${inText}`}
  if (Number.isNaN(resetMs)) return {choice: 'swap', reason: `the ${window} shows no reset time: swapping rather than waiting blind`}
  const horizon = formatDuration(input.waitHorizonMs)
  if (resetMs - input.now.getTime() <= input.waitHorizonMs) return {choice: 'wait', reason: `the ${window} resets ${inText}, within wait_horizon ${horizon}: Claude Code waits and continues by itself`}
  return {choice: 'swap', reason: `the ${window} resets ${inText}, beyond wait_horizon ${horizon}`}
}

/** A wait already decided covers a limit seen again when that limit resets no later than the wait ends (a banner's minute may read up to 59 s early). */
export function waitCovers(waitUntil: string | null, resetAt: string | null): boolean {
  if (waitUntil === null || resetAt === null) return true
  return Date.parse(resetAt) <= Date.parse(waitUntil) + 60_000
}
