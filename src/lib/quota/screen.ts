// The screen model: a pane capture → lines (ANSI, boxes and wrapping undone) → the input box, the
// last submitted prompt, and the blocks below it, each named by what printed it (a reply, a tool
// call, its output, Claude Code's own `⎿` message, a spinner). Pure.
import {MODAL_PHRASE} from './families/modals.js'


export type LineKind = 'blank' | 'rule' | 'box_top' | 'box_bottom' | 'content'

export interface ScreenLine {
  kind: LineKind
  /** Trimmed text (box borders removed). */
  text: string
  /** Leading spaces (inside the box for boxed lines). */
  indent: number
  boxed: boolean
}

// CSI (colours, cursor moves), OSC (titles, hyperlinks), and the two-byte escapes.
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)|\u001B[@-Z\\-_]|\u009B[0-?]*[ -/]*[@-~]/g
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g

export function toScreenLines(text: string): ScreenLine[] {
  const clean = text
    .replaceAll(ANSI, '')
    .replaceAll('\r\n', '\n')
    .replaceAll('\r', '\n')
    .replaceAll('\t', '    ')
    .replaceAll(CONTROL, '')
    .replaceAll(/[\u00A0\u2007\u202F]/g, ' ')
  return clean.split('\n').map((raw) => screenLine(raw.trimEnd()))
}

// A rule starts and ends with three rule characters (`──── claude-failover ────`). Tested by its
// ends, not by one regex over the line: `^[─]{3,}(?:.*[─]{3,})?$` backtracks cubically on a long run.
const RULE_CHARS = new Set(['─', '━', '═'])
function isRule(text: string): boolean {
  if (text.length < 3) return false
  for (const at of [0, 1, 2, text.length - 3, text.length - 2, text.length - 1]) if (!RULE_CHARS.has(text[at] as string)) return false
  return true
}

// No line Claude Code draws is longer than a few terminal widths even when `-J` joins a wrapped
// row; beyond this the rest of a line is ignored, so a hostile capture costs linear time.
const LINE_MAX = 4096

function screenLine(full: string): ScreenLine {
  const raw = full.length > LINE_MAX ? full.slice(0, LINE_MAX) : full
  const trimmed = raw.trim()
  if (trimmed === '') return {boxed: false, indent: 0, kind: 'blank', text: ''}
  if (/^╭.*╮$/.test(trimmed)) return {boxed: true, indent: 0, kind: 'box_top', text: trimmed}
  if (/^╰.*╯$/.test(trimmed)) return {boxed: true, indent: 0, kind: 'box_bottom', text: trimmed}
  const indent = raw.length - raw.trimStart().length
  if (indent <= 1 && isRule(trimmed)) return {boxed: false, indent: 0, kind: 'rule', text: trimmed}
  if (trimmed.startsWith('│')) {
    const inner = trimmed.slice(1, trimmed.endsWith('│') && trimmed.length > 1 ? -1 : undefined).replace(/^ /, '').trimEnd()
    const innerTrimmed = inner.trim()
    if (innerTrimmed === '') return {boxed: true, indent: 0, kind: 'blank', text: ''}
    return {boxed: true, indent: inner.length - inner.trimStart().length, kind: 'content', text: innerTrimmed}
  }

  return {boxed: false, indent, kind: 'content', text: trimmed}
}

const PROMPT = /^(?:[>❯]\s+\S|!\s*\S)/
export const MENU_ITEM = /^[>❯›]?\s*\d{1,2}[.)]\s+\S/
export const CURSOR_ITEM = /^[>❯›]\s*\d{1,2}[.)]\s+\S/
const BULLET = /^[⏺●]/
const SPINNER = /^[✻✽✶✳✢✺✹✸✷·∗*]\s+\S/
export const MARKER = /^(?:[⏺●⎿]|[✻✽✶✳✢✺✹✸✷·∗*]\s+\S)/

// After an error 2.1.328 draws its advice where the prompt goes: `❯ Resend your message to try again`.
const ERROR_ADVICE = /^[>❯]\s+(?:Resend your message to try again|Once fixed, resend your message|Run \/rewind to go back)$/

export function isPromptLine(line: ScreenLine): boolean {
  return line.kind === 'content' && !line.boxed && line.indent === 0 && PROMPT.test(line.text) && !MENU_ITEM.test(line.text) && !ERROR_ADVICE.test(line.text)
}

// `❯ ✔ Auto (match terminal)` is the theme picker's cursor on its current choice, not the composer.
function isInputFirstLine(line: ScreenLine | undefined): boolean {
  return line?.kind === 'content' && line.indent <= 1 && /^[>❯](?:\s|$)/.test(line.text) && !/^[>❯]\s+✔/.test(line.text) && !MENU_ITEM.test(line.text)
}

export interface Span {
  start: number
  end: number
}

/** The composer at the bottom: a `╭ > ╰` box (1.x), `─` rules around `>`/`❯` (2.x), or a bare last prompt line. */
export function findInputBox(lines: ScreenLine[]): Span | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'box_top' && line.kind !== 'rule') continue
    const first = nextContent(lines, i + 1)
    if (first === -1 || !isInputFirstLine(lines[first])) continue
    const closing = line.kind === 'box_top' ? 'box_bottom' : 'rule'
    let end = first
    while (end + 1 < lines.length && (lines[end + 1] as ScreenLine).kind !== closing) end++
    return {end: end + 1 < lines.length ? end + 1 : first, start: i}
  }

  let below = 0
  for (let i = lines.length - 1; i >= 0 && below <= 4; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content') continue
    if (!line.boxed && line.indent <= 1 && isInputFirstLine(line)) return underDialogHeading(lines, i) ? null : {end: i, start: i}
    // Transcript or a dialog below means the last `>` line above is a submitted prompt.
    if (line.indent <= 1 || MARKER.test(line.text) || MODAL_PHRASE.test(line.text) || CURSOR_ITEM.test(line.text)) return null
    below++
  }

  return null
}

export function nextContent(lines: ScreenLine[], from: number): number {
  for (let i = from; i < lines.length; i++) {
    const kind = (lines[i] as ScreenLine).kind
    if (kind === 'content') return i
    if (kind !== 'blank') return -1
  }

  return -1
}

export function lastSubmittedPrompt(lines: ScreenLine[], end: number): number {
  for (let i = end - 1; i >= 0; i--) if (isPromptLine(lines[i] as ScreenLine) && !underDialogHeading(lines, i)) return i
  return -1
}

// `❯ Adjust monthly spend limit` under `What do you want to do?` is a menu's cursor, not a prompt.
function underDialogHeading(lines: ScreenLine[], at: number): boolean {
  let seen = 0
  for (let i = at - 1; i >= 0 && seen < 4; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content') continue
    if (MODAL_PHRASE.test(line.text)) return true
    if (MARKER.test(line.text) || isPromptLine(line)) return false
    seen++
  }

  return false
}

// A multi-line prompt continues on indented lines until Claude Code answers (a marker or an unindented line).
export function skipPromptContinuation(lines: ScreenLine[], prompt: number): number {
  let i = prompt + 1
  while (i < lines.length) {
    const line = lines[i] as ScreenLine
    if (line.kind === 'content' && (line.boxed || line.indent <= 1 || MARKER.test(line.text))) break
    if (line.kind !== 'content' && line.kind !== 'blank') break
    i++
  }

  return i
}


export type BlockKind = 'assistant' | 'tool_call' | 'tool_group' | 'tool_output' | 'result' | 'chrome' | 'spinner' | 'other'

export interface Block {
  kind: BlockKind
  indent: number
  text: string
}

// A tool call whose result follows on `⎿`: `⏺ Bash(npm test)`, `⏺ Web Search("x")`, `⏺ srv - tool (MCP)(…)`, `⏺ Update Todos`.
const TOOL_CALL = /^(?:[A-Z][\w-]*(?: [A-Z][\w-]*)?\(|[a-z][\w-]*-[\w-]+\(|[\w-]+ - [\w-]+ \(MCP\)|Update Todos$|Agent ")/
// A collapsed group that prints no result of its own: `⏺ Read 2 files (ctrl+o to expand)`.
const TOOL_GROUP = /^(?:(?:Read|Wrote|Searched|Listed|Found|Ran|Fetched|Edited|Updated|Created|Searching|Reading) \d|\d+ (?:agents?|tools?|tasks?|files?) |.*\(ctrl\+\w to expand\)$)/

export function segment(lines: ScreenLine[], start: number, end: number): Block[] {
  const blocks: Block[] = []
  let current: Block | null = null
  let adjacent = false
  const open = (kind: BlockKind, indent: number, text: string): Block => {
    const block: Block = {indent, kind, text}
    blocks.push(block)
    return block
  }

  for (let i = start; i < end; i++) {
    const line = lines[i] as ScreenLine
    const follows = adjacent
    adjacent = false
    if (line.kind === 'blank') continue
    if (line.kind !== 'content' || line.boxed) {
      current = null
      continue
    }

    adjacent = true
    const {indent, text} = line
    if (text.startsWith('⎿') && indent <= 8) {
      if ((current?.kind === 'tool_output' || current?.kind === 'result') && indent > current.indent) current.text += `\n${text}`
      else current = open(current?.kind === 'tool_call' ? 'tool_output' : 'result', indent, text.slice(1).trim())
    } else if (indent <= 1 && BULLET.test(text)) {
      const body = text.slice(1).trim()
      current = open(TOOL_CALL.test(body) ? 'tool_call' : TOOL_GROUP.test(body) ? 'tool_group' : 'assistant', indent, body)
    } else if (indent <= 1 && SPINNER.test(text)) {
      current = open('spinner', indent, text.slice(1).trim())
    } else if (indent <= 1 && follows && (current?.kind === 'chrome' || current?.kind === 'result') && /^[a-z(]/.test(text)) {
      // Claude Code wrapped its own message onto an unindented row: `… resets Oct 2 at 7am` / `(America/Phoenix)`.
      current.text += `\n${text}`
    } else if (indent <= 1) {
      current = open('chrome', indent, text)
    } else if (current) {
      current.text += `\n${text}`
    } else {
      current = open('other', indent, text)
    }
  }

  return blocks
}

