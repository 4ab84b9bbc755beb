// Stage three: what holds the screen instead of a turn. A dialog or menu waiting for a key (found
// from the bottom: transcript below a candidate means no dialog is open), or a shell prompt because
// Claude Code exited or never started. Pure.
import {LAUNCH_FAILURE, MODAL_HEADING, MODAL_PHRASE, modalPattern} from './families/modals.js'
import {classifyMessageText} from './families/messages.js'
import {CURSOR_ITEM, isPromptLine, MARKER, type ScreenLine} from './screen.js'
import {type Classification, type ClassifyOptions, eventResult, result, snippetAround, stripLead} from './verdict.js'

export interface Modal {
  start: number
  pattern: string
  snippet: string
}

/** The dialog open at the bottom of the screen, searched no higher than `from`. */
export function findLiveModal(lines: ScreenLine[], from: number, options: ClassifyOptions): Modal | null {
  let hint = -1
  for (let i = lines.length - 1; i >= from; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content') continue
    const live = (CURSOR_ITEM.test(line.text) && line.indent <= 4 && hasSiblingItem(lines, i)) || MODAL_PHRASE.test(line.text)
    // A limit line's own "esc to cancel" / "press enter" is not a dialog.
    if (live && !(line.indent <= 1 && classifyMessageText(stripLead(line.text), options, true))) {
      hint = i
      break
    }

    // Transcript below the candidate means no dialog is open.
    if (!line.boxed && (/^[⏺●⎿]/.test(line.text) || isPromptLine(line))) return null
  }

  if (hint === -1) return null
  let start = hint
  for (let i = hint; i >= Math.max(from, hint - 40); i--) {
    const line = lines[i] as ScreenLine
    if (line.kind === 'rule' || line.kind === 'box_top') {
      start = i
      break
    }

    if (line.kind !== 'content') continue
    // A banner just above a menu that popped up by itself belongs to the transcript, not the menu.
    if (!line.boxed && (MARKER.test(line.text) || (line.indent <= 1 && classifyMessageText(stripLead(line.text), options, false)?.kind === 'error'))) break
    start = i
  }

  const body = lines
    .slice(start)
    .filter((line) => line.kind === 'content')
    .map((line) => line.text)
    .join(' ')
  // The snippet starts at the dialog's own words, not at the logo drawn above the theme picker.
  const heading = Math.max(0, body.search(MODAL_HEADING))
  return {pattern: modalPattern(body), snippet: snippetAround(body.slice(heading), 0), start}
}

function hasSiblingItem(lines: ScreenLine[], at: number): boolean {
  for (let i = Math.max(0, at - 8); i < Math.min(lines.length, at + 9); i++) {
    if (i !== at && /^\d{1,2}[.)]\s+\S/.test((lines[i] as ScreenLine).text)) return true
  }

  return false
}

// A prompt is short; the length cap keeps the `\S*[~/]\S*` alternative from backtracking over a
// long line (one 100 KB line of `/` took 8.9 s).
const SHELL_PROMPT = /^(?:\([\w.-]+\)\s)?(?:[\w.-]+@[\w.-]+[:\s]\S*\s?[$#%]|[$#%]|bash-[\d.]+[$#]|\S*[~/]\S*\s?[$#%])$/
const SHELL_PROMPT_MAX = 200

/**
 * A shell prompt at the bottom: nothing on screen is a live session, unless the last command was a
 * headless `claude -p`, whose output is Claude Code's own. A launch that failed before the screen
 * came up (`No conversation found with session ID`, `error: unknown option`, `command not found`)
 * is `claude_not_started`, told apart from a session that ran and exited (`shell_prompt`).
 */
export function shellTail(lines: ScreenLine[], options: ClassifyOptions): Classification | null {
  let last = lines.length - 1
  while (last >= 0 && (lines[last] as ScreenLine).kind === 'blank') last--
  const bottom = lines[last] as ScreenLine
  if (bottom.boxed || bottom.indent > 0 || bottom.text.length > SHELL_PROMPT_MAX || !SHELL_PROMPT.test(bottom.text)) return null
  for (let i = last - 1; i >= 0; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content' || line.boxed || !line.text.startsWith(`${bottom.text} `)) continue
    const command = line.text.slice(bottom.text.length)
    if (/(?:^|[\s/])claude(?:\.exe)?\b/.test(command)) {
      const failure = launchFailure(lines.slice(i + 1, last))
      if (failure) return failure
    }

    if (!/(?:^|[\s/])claude\b.*(?:\s-p\b|\s--print\b)/.test(command)) break
    for (let j = last - 1; j > i; j--) {
      const output = lines[j] as ScreenLine
      if (output.kind !== 'content') continue
      const match = classifyMessageText(stripLead(output.text), options, false)
      if (match?.kind === 'error') return eventResult(match)
    }

    break
  }

  return result('unknown', 'shell_prompt', snippetAround(bottom.text, 0))
}

/** The error of a launch that never brought Claude Code's screen up, if one is on these lines. */
export function launchFailure(lines: ScreenLine[]): Classification | null {
  const line = lines.find((l) => l.kind === 'content' && !l.boxed && l.indent === 0 && LAUNCH_FAILURE.test(l.text))
  return line ? result('unknown', 'claude_not_started', snippetAround(line.text, 0)) : null
}
