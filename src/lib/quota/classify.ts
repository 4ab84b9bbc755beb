// The pane classifier: one tmux capture of a Claude Code session → one verdict of SPEC §4, as a
// pipeline of small stages:
//   screen.ts     the screen model: lines, the input box, the last submitted prompt, blocks;
//   families/     Claude Code's messages as template tables (limits, errors and notices, modals);
//   events.ts     placement: what each block says given who printed it, replayed in order;
//   modal.ts      what holds the screen instead of a turn: a dialog, a shell;
//   this file     one verdict from those.
// Production swapped accounts on text that was not a limit (seeds 002/004): a bare "rate limit"
// inside a 500 body, banners left in the scrollback, text the model quoted. So a limit counts only
// when (1) it is one of Claude Code's families, read from the start of a message, (2) it sits where
// Claude Code prints its own messages (events.ts), never inside a reply, a tool's output, a diff or
// the input box, and (3) it is below the last submitted prompt with no turn activity after it.
// Structured records (transcript, hooks) decide before the pane: see signals.ts. Pure: no clock, no I/O.
import {limitFamily} from './families/limits.js'
import {classifyMessageText} from './families/messages.js'
import {blockEvent, footerEvents, replay} from './events.js'
import {findLiveModal, launchFailure, type Modal, shellTail} from './modal.js'
import {findInputBox, lastSubmittedPrompt, type ScreenLine, segment, skipPromptContinuation, toScreenLines} from './screen.js'
import {type Classification, type ClassifyOptions, type Event, eventResult, result, snippetAround, stripLead} from './verdict.js'

export {type Classification, type ClassifyOptions, type LimitScope, snippetAround, type Verdict, VERDICTS} from './verdict.js'

const CLAUDE_UI = /⏵⏵|\? for shortcuts|shift\+tab to cycle|bypass permissions on|auto-accept edits|plan mode on|Welcome to Claude|Claude Code v\d|\/help for help|Try "/

/** Classifies one pane capture (ANSI, box drawing and wrapped lines allowed). */
export function classifyPane(text: string, options: ClassifyOptions): Classification {
  const lines = toScreenLines(text)
  if (lines.every((line) => line.kind === 'blank')) return result('unknown', 'empty', '')
  const shell = shellTail(lines, options)
  if (shell) return shell

  const input = findInputBox(lines)
  const end = input?.start ?? lines.length
  const prompt = lastSubmittedPrompt(lines, end)
  const start = prompt === -1 ? 0 : skipPromptContinuation(lines, prompt)
  const modal = input ? null : findLiveModal(lines, prompt + 1, options)
  const blocks = segment(lines, start, modal ? modal.start : end)
  const state = replay(blocks.map((block) => blockEvent(block, options)))
  const footer = input ? footerEvents(lines.slice(input.end + 1), options) : []

  if (modal) return modalResult(lines, modal, state.decisive, options)

  // The status line under the input box is live: a limit shown there is the current state.
  const footerLimit = footer.find((ev) => ev.verdict === 'quota_exhausted')
  if (footerLimit && state.decisive?.verdict !== 'quota_exhausted') return eventResult(footerLimit)
  if (state.decisive) return eventResult(state.decisive)
  const footerAuth = footer.find((ev) => ev.verdict === 'auth_error')
  if (footerAuth) return eventResult(footerAuth)
  if (state.working) return eventResult(state.working)
  const interrupt = footer.find((ev) => ev.kind === 'running')
  if (interrupt) return eventResult(interrupt)
  const notice = state.notice ?? footer.find((ev) => ev.kind === 'notice')
  if (notice) return {...eventResult(notice), verdict: 'idle'}
  if (state.turnEnd) return eventResult(state.turnEnd)
  if (input) return result('idle', 'idle_input', lastText(lines.slice(0, end)))
  if (state.activity || lines.some((line) => CLAUDE_UI.test(line.text))) return result('idle', 'idle_no_input_box', lastText(lines))
  return launchFailure(lines) ?? result('unknown', 'no_claude_ui', lastText(lines))
}

/** Classifies one message on its own (a hook's `last_assistant_message`, a transcript error text). */
export function classifyMessage(text: string, options: ClassifyOptions): Classification {
  const joined = toScreenLines(text)
    .filter((line) => line.kind !== 'blank')
    .map((line) => line.text)
    .join('\n')
  if (joined === '') return result('unknown', 'empty', '')
  const match = classifyMessageText(stripLead(joined), options, true)
  if (!match || match.kind === 'notice') return result('unknown', match?.pattern ?? 'no_match', snippetAround(joined, match?.index ?? 0))
  return eventResult(match)
}

// A dialog waits for a key: `awaiting_input`, with the reset of a limit behind it. The limit menu
// (`What do you want to do?` · `Stop and wait for limit to reset` · `Wait here, then continue
// automatically at …`) only opens on an exhausted account, so it is that limit, banner or not.
function modalResult(lines: ScreenLine[], modal: Modal, decisive: Event | null, options: ClassifyOptions): Classification {
  const carried = decisive?.verdict === 'quota_exhausted' ? decisive : null
  if (modal.pattern !== 'limit_menu') {
    return {...result('awaiting_input', modal.pattern, modal.snippet), reset_at: carried?.resetAt ?? null, scope: carried?.scope ?? null}
  }

  const menuReset = carried?.resetAt ? null : menuResetTime(lines.slice(modal.start), options)
  return {...result('quota_exhausted', 'limit_menu', carried ? snippetAround(carried.text, carried.index) : modal.snippet), reset_at: carried?.resetAt ?? menuReset, scope: carried?.scope ?? null}
}

// `Wait here, then continue automatically at 8:21pm`, `Wait for limit to reset  Resets 1pm (Zone)`.
function menuResetTime(lines: ScreenLine[], options: ClassifyOptions): string | null {
  for (const line of lines) {
    if (line.kind !== 'content') continue
    const at = /continue automatically (at .*)$|\bResets? (.*)$/i.exec(line.text.replace(/^[❯>›]\s*(?:\d{1,2}[.)]\s*)?/, ''))
    if (!at) continue
    const limit = limitFamily(`Usage limit reached · ${at[1] ? `continuing automatically ${at[1]}` : `resets ${at[2]}`}`, options, false)
    if (limit?.resetAt) return limit.resetAt
  }

  return null
}

function lastText(lines: ScreenLine[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind === 'content') return snippetAround(line.text, 0)
  }

  return ''
}

