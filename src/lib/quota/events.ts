// Placement: what each block of the screen says, given who printed it, and the replay that turns
// the events below the last prompt into the state of the turn. A limit counts wherever Claude Code
// itself renders it: its own `⎿` message under a prompt, a tool group or a subagent; the first `⎿`
// of a tool call when that message is nothing but the banner (Claude Code draws the banner there
// when the request after the tool hit the limit; a tool's real output goes on with other lines or
// is followed by the model's next step); a `⏺` line that is only the banner; the spinner row or
// the status line of the native wait. Pure.
import {limitRetryLine} from './families/limits.js'
import {classifyApiError, classifyMessageText} from './families/messages.js'
import {type Block, type ScreenLine} from './screen.js'
import {type ClassifyOptions, type Event, event, stripLead} from './verdict.js'

export const INTERRUPT_HINT = /\b(?:esc|ctrl\+c) to interrupt\b/i

/** What one block says. */
export function blockEvent(block: Block, options: ClassifyOptions): Event {
  switch (block.kind) {
    case 'assistant': {
      // 2.1 prints API errors and limit banners as a bullet line of their own; a reply that
      // merely starts with the same words goes on with prose and stays a reply.
      const chrome = classifyMessageText(stripLead(block.text), options, true)
      return chrome?.kind === 'error' || chrome?.kind === 'idle' ? chrome : event('activity', 'working', 'assistant', block.text)
    }

    case 'tool_call':
    case 'tool_group': {
      return event('activity', 'working', 'tool_call', block.text)
    }

    case 'tool_output': {
      const own = toolLineMessage(block.text, options)
      if (own) return own
      return /(?:Running|Waiting)…/.test(block.text) ? event('running', 'working', 'tool_running', block.text) : event('activity', 'working', 'tool_output', block.text)
    }

    case 'spinner': {
      // The limit's own retry line first: the generic retry test below matches it too (`attempt 6/10`)
      // and returned a server error before any limit rule was asked.
      const limitRetry = limitRetryLine(block.text, options)
      if (limitRetry) return limitRetry
      if (/Retrying in|attempt \d+\/\d+/i.test(block.text)) return classifyApiError(block.text, true) as Event
      // The native wait (≥ 2.1.234) on the spinner row: `Usage limit reached · continuing automatically at 8:21pm`.
      const limit = classifyMessageText(block.text, options, true)
      if (limit?.verdict === 'quota_exhausted') return limit
      if (/…|\.\.\.|esc to interrupt|tokens/i.test(block.text) && !/^\S+ for \d/.test(block.text)) return event('running', 'working', 'spinner', block.text)
      if (/\bfor \d+(?:\.\d+)?\s*[hms]\b/i.test(block.text)) return event('turn_end', 'idle', 'turn_complete', block.text)
      return event('none', 'unknown', 'spinner_other', block.text)
    }

    case 'result':
    case 'chrome': {
      return classifyMessageText(stripLead(block.text), options, false) ?? event('none', 'unknown', 'text', block.text)
    }

    default: {
      return event('none', 'unknown', 'text', block.text)
    }
  }
}

// Claude Code's own message as the first `⎿` under a tool call: the whole message must be one of
// its errors from the first word (no marker of a nested transcript, no bare `Error:` a tool prints).
function toolLineMessage(text: string, options: ClassifyOptions): Event | null {
  if (/^[⏺●⎿✻✽✶✳✢❯>]/.test(text) || (/^Error\b/i.test(text) && !/^Error: You're out of/i.test(text))) return null
  const message = classifyMessageText(text, options, true)
  return message?.kind === 'error' && message.index === 0 ? {...message, fromTool: true} : null
}

/** The status line under the input box: several items side by side, separated by runs of spaces. */
export function footerEvents(lines: ScreenLine[], options: ClassifyOptions): Event[] {
  const events: Event[] = []
  for (const line of lines) {
    if (line.kind !== 'content') continue
    for (const part of line.text.split(/\s{2,}/)) {
      const ev = classifyMessageText(stripLead(part), options, true)
      if (ev && ev.kind !== 'none') events.push(ev)
      else if (INTERRUPT_HINT.test(part)) events.push(event('running', 'working', 'esc_to_interrupt', part))
    }
  }

  return events
}

export interface ReplayState {
  decisive: Event | null
  working: Event | null
  notice: Event | null
  turnEnd: Event | null
  activity: boolean
}

// The last decisive message wins unless the turn visibly went on after it: a reply or a tool call
// ends it; a spinner ends it too, except under a retry notice or a limit (a stuck spinner).
export function replay(events: Event[]): ReplayState {
  const state: ReplayState = {activity: false, decisive: null, notice: null, turnEnd: null, working: null}
  for (const ev of events) {
    switch (ev.kind) {
      case 'error':
      case 'idle': {
        // The native wait below a banner is the same limit: keep the banner's window and reset.
        const same = ev.pattern === 'auto_continue_wait' && state.decisive?.verdict === 'quota_exhausted' ? state.decisive : null
        state.decisive = same ? {...ev, resetAt: ev.resetAt ?? same.resetAt, scope: ev.scope ?? same.scope} : ev
        state.working = null
        state.notice = null
        state.turnEnd = null
        break
      }

      case 'activity': {
        state.activity = true
        state.decisive = null
        state.working = null
        state.turnEnd = null
        break
      }

      case 'running': {
        state.activity = true
        // A stuck spinner under Claude Code's own banner stays a limit; under a banner a tool
        // printed (the first `⎿` of a tool call), a running turn means the tool printed it.
        if (!state.decisive?.retry && (state.decisive?.verdict !== 'quota_exhausted' || state.decisive.fromTool)) state.decisive = null
        state.working = ev
        break
      }

      case 'turn_end': {
        state.working = null
        state.turnEnd = ev
        break
      }

      case 'notice': {
        state.notice = ev
        break
      }

      default: {
        break
      }
    }
  }

  return state
}
