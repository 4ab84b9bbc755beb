// The pane classifier: one tmux capture of a Claude Code session → one verdict of SPEC §4.
//
// Production swapped accounts on text that was not a limit (seeds 002/004): a bare "rate limit"
// inside a 500 body, banners left in the scrollback, text the model quoted. So a limit counts only
// when (1) it is one of Claude Code's banner families, read from the start of a message, (2) it
// sits where Claude Code prints its own messages (a `⎿` line that is not a tool's output, an
// unindented line, the live status line under the input box, or a `⏺` line holding nothing but
// the banner), never inside a reply, a tool's output, a diff or the input box, and (3) it is below
// the last submitted prompt with no turn activity after it. Pure: no clock, no I/O.
import {parseResetTime} from './reset-time.js'

export const VERDICTS = ['quota_exhausted', 'rate_limited', 'server_error', 'auth_error', 'working', 'idle', 'awaiting_input', 'unknown'] as const
export type Verdict = (typeof VERDICTS)[number]

/** The limit window a banner names: `session` is the 5-hour window. */
export type LimitScope = 'session' | 'weekly' | 'opus' | 'sonnet' | 'extra_usage' | 'other'

export interface Classification {
  verdict: Verdict
  /** ISO-8601 (UTC) reset instant when the text gives one. */
  reset_at: string | null
  scope: LimitScope | null
  /** Stable name of the rule that decided the verdict. */
  pattern: string
  /** At most 120 characters of the deciding text, on one line. */
  snippet: string
}

export interface ClassifyOptions {
  /** The capture moment: a time-only reset is the next occurrence after it. */
  now: Date
  /** Zone of the Claude process, used when the banner shows none. */
  timeZone?: string
}

const SNIPPET = 120

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

  if (modal) {
    const carried = state.decisive?.verdict === 'quota_exhausted' ? state.decisive : null
    return {...result('awaiting_input', modal.pattern, modal.snippet), reset_at: carried?.resetAt ?? null, scope: carried?.scope ?? null}
  }

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
  return result('unknown', 'no_claude_ui', lastText(lines))
}

/** Classifies one message on its own (a hook's `last_assistant_message`, a transcript error text). */
export function classifyMessage(text: string, options: ClassifyOptions): Classification {
  const joined = toScreenLines(text)
    .filter((line) => line.kind !== 'blank')
    .map((line) => line.text)
    .join('\n')
  if (joined === '') return result('unknown', 'empty', '')
  const match = classifyChrome(stripLead(joined), options, true)
  if (!match || match.kind === 'notice') return result('unknown', match?.pattern ?? 'no_match', snippetAround(joined, match?.index ?? 0))
  return eventResult(match)
}

// ---------------------------------------------------------------------------------------------
// Screen model

type LineKind = 'blank' | 'rule' | 'box_top' | 'box_bottom' | 'content'

interface ScreenLine {
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

function toScreenLines(text: string): ScreenLine[] {
  const clean = text
    .replaceAll(ANSI, '')
    .replaceAll('\r\n', '\n')
    .replaceAll('\r', '\n')
    .replaceAll('\t', '    ')
    .replaceAll(CONTROL, '')
    .replaceAll(/[\u00A0\u2007\u202F]/g, ' ')
  return clean.split('\n').map((raw) => screenLine(raw.trimEnd()))
}

function screenLine(raw: string): ScreenLine {
  const trimmed = raw.trim()
  if (trimmed === '') return {boxed: false, indent: 0, kind: 'blank', text: ''}
  if (/^╭.*╮$/.test(trimmed)) return {boxed: true, indent: 0, kind: 'box_top', text: trimmed}
  if (/^╰.*╯$/.test(trimmed)) return {boxed: true, indent: 0, kind: 'box_bottom', text: trimmed}
  const indent = raw.length - raw.trimStart().length
  if (indent <= 1 && /^[─━═]{3,}(?:.*[─━═]{3,})?$/.test(trimmed)) return {boxed: false, indent: 0, kind: 'rule', text: trimmed}
  const boxed = /^│(.*?)│?$/.exec(trimmed)
  if (boxed) {
    const inner = (boxed[1] ?? '').replace(/^ /, '').trimEnd()
    const innerTrimmed = inner.trim()
    if (innerTrimmed === '') return {boxed: true, indent: 0, kind: 'blank', text: ''}
    return {boxed: true, indent: inner.length - inner.trimStart().length, kind: 'content', text: innerTrimmed}
  }

  return {boxed: false, indent, kind: 'content', text: trimmed}
}

const PROMPT = /^(?:[>❯]\s+\S|!\s*\S)/
const MENU_ITEM = /^[>❯›]?\s*\d{1,2}[.)]\s+\S/
const CURSOR_ITEM = /^[>❯›]\s*\d{1,2}[.)]\s+\S/
const BULLET = /^[⏺●]/
const SPINNER = /^[✻✽✶✳✢✺✹✸✷·∗*]\s+\S/
const MARKER = /^(?:[⏺●⎿]|[✻✽✶✳✢✺✹✸✷·∗*]\s+\S)/

function isPromptLine(line: ScreenLine): boolean {
  return line.kind === 'content' && !line.boxed && line.indent === 0 && PROMPT.test(line.text) && !MENU_ITEM.test(line.text)
}

function isInputFirstLine(line: ScreenLine | undefined): boolean {
  return line?.kind === 'content' && line.indent <= 1 && /^[>❯](?:\s|$)/.test(line.text) && !MENU_ITEM.test(line.text)
}

interface Span {
  start: number
  end: number
}

/** The composer at the bottom: a `╭ > ╰` box (1.x), `─` rules around `>`/`❯` (2.x), or a bare last prompt line. */
function findInputBox(lines: ScreenLine[]): Span | null {
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
    if (!line.boxed && line.indent <= 1 && isInputFirstLine(line)) return {end: i, start: i}
    // Transcript or a dialog below means the last `>` line above is a submitted prompt.
    if (line.indent <= 1 || MARKER.test(line.text) || MODAL_PHRASE.test(line.text) || CURSOR_ITEM.test(line.text)) return null
    below++
  }

  return null
}

function nextContent(lines: ScreenLine[], from: number): number {
  for (let i = from; i < lines.length; i++) {
    const kind = (lines[i] as ScreenLine).kind
    if (kind === 'content') return i
    if (kind !== 'blank') return -1
  }

  return -1
}

function lastSubmittedPrompt(lines: ScreenLine[], end: number): number {
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
function skipPromptContinuation(lines: ScreenLine[], prompt: number): number {
  let i = prompt + 1
  while (i < lines.length) {
    const line = lines[i] as ScreenLine
    if (line.kind === 'content' && (line.boxed || line.indent <= 1 || MARKER.test(line.text))) break
    if (line.kind !== 'content' && line.kind !== 'blank') break
    i++
  }

  return i
}

// ---------------------------------------------------------------------------------------------
// Blocks: what printed each line

type BlockKind = 'assistant' | 'tool_call' | 'tool_group' | 'tool_output' | 'result' | 'chrome' | 'spinner' | 'other'

interface Block {
  kind: BlockKind
  indent: number
  text: string
}

// A tool call whose result follows on `⎿`: `⏺ Bash(npm test)`, `⏺ Web Search("x")`, `⏺ srv - tool (MCP)(…)`, `⏺ Update Todos`.
const TOOL_CALL = /^(?:[A-Z][\w-]*(?: [A-Z][\w-]*)?\(|[\w-]+ - [\w-]+ \(MCP\)|Update Todos$|Agent ")/
// A collapsed group that prints no result of its own: `⏺ Read 2 files (ctrl+o to expand)`.
const TOOL_GROUP = /^(?:(?:Read|Wrote|Searched|Listed|Found|Ran|Fetched|Edited|Updated|Created|Searching|Reading) \d|\d+ (?:agents?|tools?|tasks?|files?) |.*\(ctrl\+\w to expand\)$)/

function segment(lines: ScreenLine[], start: number, end: number): Block[] {
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

// ---------------------------------------------------------------------------------------------
// Events: what each block says, replayed in screen order

type EventKind = 'error' | 'idle' | 'notice' | 'activity' | 'running' | 'turn_end' | 'none'

interface Event {
  kind: EventKind
  verdict: Verdict
  pattern: string
  scope: LimitScope | null
  resetAt: string | null
  /** Claude Code is still retrying: a spinner below does not end this error. */
  retry: boolean
  text: string
  index: number
}

const INTERRUPT_HINT = /\b(?:esc|ctrl\+c) to interrupt\b/i
const CLAUDE_UI = /⏵⏵|\? for shortcuts|shift\+tab to cycle|bypass permissions on|auto-accept edits|plan mode on|Welcome to Claude|Claude Code v\d|\/help for help|Try "/

function blockEvent(block: Block, options: ClassifyOptions): Event {
  switch (block.kind) {
    case 'assistant': {
      // 2.1 prints API errors and limit banners as a bullet line of their own; a reply that
      // merely starts with the same words goes on with prose and stays a reply.
      const chrome = classifyChrome(stripLead(block.text), options, true)
      return chrome?.kind === 'error' || chrome?.kind === 'idle' ? chrome : event('activity', 'working', 'assistant', block.text)
    }

    case 'tool_call':
    case 'tool_group': {
      return event('activity', 'working', 'tool_call', block.text)
    }

    case 'tool_output': {
      return /(?:Running|Waiting)…/.test(block.text) ? event('running', 'working', 'tool_running', block.text) : event('activity', 'working', 'tool_output', block.text)
    }

    case 'spinner': {
      if (/Retrying in|attempt \d+\/\d+/i.test(block.text)) return classifyApiError(block.text, true) as Event
      if (/…|\.\.\.|esc to interrupt|tokens/i.test(block.text) && !/^\S+ for \d/.test(block.text)) return event('running', 'working', 'spinner', block.text)
      if (/\bfor \d+(?:\.\d+)?\s*[hms]\b/i.test(block.text)) return event('turn_end', 'idle', 'turn_complete', block.text)
      return event('none', 'unknown', 'spinner_other', block.text)
    }

    case 'result':
    case 'chrome': {
      return classifyChrome(stripLead(block.text), options, false) ?? event('none', 'unknown', 'text', block.text)
    }

    default: {
      return event('none', 'unknown', 'text', block.text)
    }
  }
}

function footerEvents(lines: ScreenLine[], options: ClassifyOptions): Event[] {
  const events: Event[] = []
  for (const line of lines) {
    if (line.kind !== 'content') continue
    // A status row holds several items side by side, separated by runs of spaces.
    for (const part of line.text.split(/\s{2,}/)) {
      const ev = classifyChrome(stripLead(part), options, true)
      if (ev && ev.kind !== 'none') events.push(ev)
      else if (INTERRUPT_HINT.test(part)) events.push(event('running', 'working', 'esc_to_interrupt', part))
    }
  }

  return events
}

interface ReplayState {
  decisive: Event | null
  working: Event | null
  notice: Event | null
  turnEnd: Event | null
  activity: boolean
}

// The last decisive message wins unless the turn visibly went on after it: a reply or a tool call
// ends it; a spinner ends it too, except under a retry notice or a limit (a stuck spinner).
function replay(events: Event[]): ReplayState {
  const state: ReplayState = {activity: false, decisive: null, notice: null, turnEnd: null, working: null}
  for (const ev of events) {
    switch (ev.kind) {
      case 'error':
      case 'idle': {
        state.decisive = ev
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
        if (!state.decisive?.retry && state.decisive?.verdict !== 'quota_exhausted') state.decisive = null
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

function event(kind: EventKind, verdict: Verdict, pattern: string, text: string, index = 0): Event {
  return {index, kind, pattern, resetAt: null, retry: false, scope: null, text, verdict}
}

// ---------------------------------------------------------------------------------------------
// Message families

// Matching runs on a copy where look-alike characters are unified one for one, so indexes still
// point into the original text for the snippet.
function unify(text: string): string {
  return text.replaceAll(/[’‘ʼ`´]/g, "'").replaceAll(/[∙•⋅・]/g, '·').replaceAll('\n', ' ')
}

function stripLead(text: string): string {
  return text.replace(/^(?:[⎿⏺●✗✘×⚠❗›»◷]\s*)+/, '')
}

// Words that name a limit that is not an account's plan quota.
const NOT_QUOTA_LABEL =
  /\b(?:context|fast|speed|tokens?|output|input|rate|requests?|retry|retries|tools?|files?|size|length|turns?|memory|lines?|characters?|recursion|depth|concurrency|connections?|image|prompt|compaction|mcp)\b/i
const FALLBACK = /^\s*(?:[,;:·—–-]\s*)?(?:now using|switching to|falling back|using \w+ instead)/i
const HIT = /^(?:You've|You have|You) (?:hit|reached) (?:your|the) ((?:[\w.+-]+ ){0,3}?)limits?\b/i
const REACHED = /^((?:[\w.+-]+ ){0,3}?)limit reached\b/i
// What may follow `<label> limit reached` in a banner: the reset, a hint, the epoch, nothing.
const REACHED_TAIL =
  /^\s*(?:[·.,:;!|—–-]\s*)?(?:(?:your limit |it )?(?:will )?(?:resets?|be reset)\b|\/[a-z]|\d{9,}|(?:available|usable) again|try again|continu\w* (?:automatically|shortly|when)|regain access|again\b|$)/i
const OUT_OF = /^(?:You're|You are|You've run|You have run) out of (?:extra usage|usage credits?|credits)\b/i
const OTHER_LIMITS: [RegExp, string, LimitScope | null][] = [
  [/^Automatic continue stopped after repeated usage-limit hits/i, 'auto_continue_stopped', null],
  [/^Credit balance is too low/i, 'credit_balance_too_low', 'extra_usage'],
  [/^You have reached your (?:specified )?API usage limits?/i, 'api_usage_limits', 'other'],
]
const WINDOW_LABEL = /^(?:5-hour|five-hour|5h|session|hourly|daily|weekly|7-day|seven-day|monthly|opus|sonnet|opus weekly|sonnet weekly|weekly opus|weekly sonnet)\s*$/i
const RESET_KEYWORD = /\|\s*\d{9,}|\bresets?\b|continuing automatically at|regain access (?:on|at)|(?:available|try) again (?:at|in)/i

// What a banner may carry after its opening words when nothing else vouches for it (a `⏺` line,
// a hook's message): the reset time and Claude Code's own hints, and no prose.
const TIME_WORD =
  String.raw`(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?`
const TIME_TOKEN = String.raw`(?:${TIME_WORD}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?|\d+\s*(?:d|h|m|s|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)|at|on|in|tomorrow|today|noon|midnight|utc|gmt|,)`
const RESET_SEGMENT = new RegExp(
  String.raw`^(?:(?:your limit |it |you )?(?:will )?(?:resets?|regain access|be reset)|continuing automatically|continuing shortly|continuing when it resets|(?:available|try) again)(?:\s+${TIME_TOKEN}|,)*\s*(?:\([^)]*\))?\s*\.?$`,
  'i',
)
const HINT_SEGMENT =
  /^(?:\/[a-z][\w-]*\b.*|.*\bclaude\.ai\b.*|esc (?:or type )?to cancel.*|press enter.*|uses your [\w ]+ limit|visit .*|raise it.*|upgrade\b.*|turn on .*|\|\s*\d{9,13}|\([^)]*\)\.?|continuing automatically when your limit resets\.?|again…?|…)$/i

function bannerOnly(rest: string): boolean {
  const parts = rest
    .split(/\s+[·∙•]\s+|(?<=[.!])\s+|\n|\s+(?=\/[a-z])|\s+(?=\|)/i)
    .map((part) => unify(part).trim().replace(/^[·.,:;—–-]\s*/, ''))
    .filter((part) => part !== '')
  // A row break may fall inside a reset time (`resets Jul` / `31, 2am`): try joining a few parts.
  for (let i = 0; i < parts.length; ) {
    let joined = ''
    let next = -1
    for (let j = i; j < Math.min(parts.length, i + 3) && next === -1; j++) {
      joined = joined === '' ? (parts[j] as string) : `${joined} ${parts[j] as string}`
      if (RESET_SEGMENT.test(joined) || HINT_SEGMENT.test(joined)) next = j + 1
    }

    if (next === -1) return false
    i = next
  }

  return true
}

function quotaFamily(text: string, options: ClassifyOptions, strict: boolean): Event | null {
  const s = unify(text)
  let pattern: string | null = null
  let label = ''
  let scope: LimitScope | null = null
  let matched = 0
  const out = OUT_OF.exec(s)
  const hit = HIT.exec(s)
  const reached = REACHED.exec(s)
  const other = OTHER_LIMITS.find(([regex]) => regex.test(s))
  if (out) {
    pattern = 'out_of_extra_usage'
    scope = 'extra_usage'
    matched = out[0].length
  } else if (other) {
    pattern = other[1]
    scope = other[2]
    matched = (other[0].exec(s)?.[0] ?? '').length
  } else if (hit && !NOT_QUOTA_LABEL.test(hit[1] ?? '') && !FALLBACK.test(s.slice(hit[0].length))) {
    pattern = 'hit_your_limit'
    label = (hit[1] ?? '').trim()
    scope = labelScope(label)
    matched = hit[0].length
  } else if (reached && !NOT_QUOTA_LABEL.test(reached[1] ?? '')) {
    label = (reached[1] ?? '').trim()
    const tail = s.slice(reached[0].length)
    const epoch = /\|\s*\d{9,13}\b/.test(tail)
    const accepted = epoch || (REACHED_TAIL.test(tail) && !FALLBACK.test(tail) && (label !== '' || /resets?\b/i.test(tail)))
    const bareEnd = /^\s*$/.test(tail) && !WINDOW_LABEL.test(label) && !/usage/i.test(label)
    if (!accepted || bareEnd) return null
    pattern = /^Claude (?:AI )?usage$/i.test(label) ? (epoch ? 'legacy_usage_limit_epoch' : 'legacy_usage_limit') : /continu/i.test(tail) ? 'auto_continue_wait' : 'limit_reached'
    scope = labelScope(label)
    matched = reached[0].length
  }

  if (!pattern) return null
  const rest = text.slice(matched)
  if (strict && pattern !== 'api_usage_limits' && !bannerOnly(rest)) return null
  const keyword = RESET_KEYWORD.exec(rest)
  const reset = keyword ? parseResetTime(rest.slice(keyword.index), options) : null
  return {index: 0, kind: 'error', pattern, resetAt: reset ? reset.toISOString() : null, retry: false, scope, text, verdict: 'quota_exhausted'}
}

function labelScope(label: string): LimitScope | null {
  const l = label.toLowerCase()
  if (/credit|extra|overage|spend/.test(l)) return 'extra_usage'
  if (/opus/.test(l)) return 'opus'
  if (/sonnet/.test(l)) return 'sonnet'
  if (/5-hour|five-hour|\b5h\b|session|hourly/.test(l)) return 'session'
  if (/weekly|7-day|seven-day|week/.test(l)) return 'weekly'
  if (l === '' || /^(?:claude(?: ai)?(?: usage)?|usage|plan|claude plan|your)$/.test(l)) return null
  return 'other'
}

const API_PREFIX = /^(?:API Error|Error)\b\s*:?\s*/i

const CHROME_RULES: [RegExp, EventKind, Verdict, string][] = [
  [/^Interrupted\b/i, 'idle', 'idle', 'interrupted'],
  [/^(?:Context limit reached|Prompt is too long|Conversation is too long)/i, 'idle', 'idle', 'context_limit'],
  [/^(?:Your )?(?:usage )?limit (?:has )?reset\b|^Usage limit reset\b/i, 'idle', 'idle', 'limit_has_reset'],
  [/not your usage limit/i, 'error', 'rate_limited', 'server_throttle'],
  [
    /(?:please )?run \/login\b|^(?:invalid|missing) api key|^oauth (?:access )?token (?:has expired|has been revoked|revoked|is invalid|does not meet)|^not logged in|^login expired|^failed to authenticate|^invalid bearer token|^authentication (?:failed|error)/i,
    'error',
    'auth_error',
    'auth_login_required',
  ],
  [
    /^(?:server error mid-response|connection (?:lost|closed|error|reset)|response stalled|request timed out|no response from api|typeerror \(fetch failed\)|unable to connect to api|[\w ]{1,40} is experiencing high load|repeated 529)/i,
    'error',
    'server_error',
    'server_error',
  ],
  [/^approaching\b.*\blimit\b/i, 'notice', 'idle', 'approaching_limit'],
  [/^(?:You've|You have) used \d+%|^(?:You're|You are) (?:close to|near|nearing)|^near(?:ing)? (?:your )?[\w-]+ (?:usage )?limit|limit almost reached/i, 'notice', 'idle', 'usage_warning'],
  [/limit reached,? now using|now using (?:claude )?(?:sonnet|haiku|opus)/i, 'notice', 'idle', 'model_fallback'],
  [/^fast (?:mode|limit)\b/i, 'notice', 'idle', 'fast_mode_notice'],
  [/^(?:You're|You are) now using usage credits|^usage credits\b/i, 'notice', 'idle', 'usage_credits_notice'],
]

/**
 * Classifies one Claude Code message (stripped of its `⎿`/`⏺`); null when it is none of ours.
 * `strict`: nothing but the position vouches for the text, so a limit must be the whole message
 * and any other rule must match from its first word.
 */
function classifyChrome(text: string, options: ClassifyOptions, strict: boolean): Event | null {
  const quota = quotaFamily(text, options, strict)
  if (quota) return quota
  const prefix = API_PREFIX.exec(text)
  if (prefix) {
    // `API Error: Claude AI usage limit reached|<epoch>` was shown that way in some versions.
    const wrapped = quotaFamily(text.slice(prefix[0].length), options, strict)
    if (wrapped) return {...wrapped, text}
    return classifyApiError(text, false, options)
  }

  const s = unify(text)
  for (const [regex, kind, verdict, pattern] of CHROME_RULES) {
    const match = regex.exec(s)
    if (match && (!strict || match.index === 0 || kind === 'notice')) return event(kind, verdict, pattern, text, match.index)
  }

  return null
}

function classifyApiError(text: string, spinner: boolean, options?: ClassifyOptions): Event | null {
  const s = unify(text)
  const retry = spinner || /Retrying in|\battempt \d+\/\d+/i.test(s)
  // `API Error: 500 …`, `API Error (529 …)`, `API Error (claude-opus-4-8): 400 …`, `… rejected (429)`.
  const status = Number(/^(?:API )?Error\b(?:\s*\((?!\d{3}\b)[^)]*\))?\s*:?\s*\(?\s*(\d{3})\b/i.exec(s)?.[1] ?? /\((\d{3})\)/.exec(s)?.[1] ?? 0)
  const pick = (verdict: Verdict, pattern: string): Event => ({...event('error', verdict, retry ? `retrying_${pattern}` : pattern, text), retry})
  if (options && /you have reached your (?:specified )?api usage limits?/i.test(s)) {
    const limit = quotaFamily(s.slice(s.search(/you have reached/i)), options, false)
    if (limit) return {...limit, text}
  }

  // The status decides first: a 500 whose body mentions rate limits is still a server error.
  if (status >= 500 && status <= 599) return pick('server_error', 'api_error_5xx')
  if (status === 401 || status === 403) return pick('auth_error', `api_error_${status}`)
  if (status === 429) return pick('rate_limited', 'api_error_429')
  if (/not your usage limit/i.test(s)) return pick('rate_limited', 'server_throttle')
  if (/\brate[ _-]?limit(?:ed|_error)?\b|\b429\b|too many requests/i.test(s)) return pick('rate_limited', 'api_rate_limit')
  if (/overload|high load|\b5\d\d\b|internal server error|bad gateway|service unavailable|upstream/i.test(s)) return pick('server_error', 'overloaded')
  if (/timed? ?out\b|timeout/i.test(s)) return pick('server_error', 'timeout')
  if (/connect|ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR|socket|fetch failed|network|no response|mid-response|stalled|aborted/i.test(s)) return pick('server_error', 'connection_error')
  if (/\/login|oauth|api key|authenticat|unauthori[sz]ed|forbidden|permission_error/i.test(s)) return pick('auth_error', 'auth_login_required')
  if (/extra usage is required|usage credits required|\/extra-usage/i.test(s)) return {...event('error', 'unknown', 'extra_usage_required', text), retry}
  if (retry) return pick('server_error', 'api_error')
  return /^API Error/i.test(s) ? event('error', 'unknown', 'api_error_other', text) : null
}

// ---------------------------------------------------------------------------------------------
// Modals (a menu or dialog waiting for a key) and an exited claude

const MODAL_PHRASE =
  /Do you want to (?:proceed|make this edit|create|allow|run|fetch|overwrite|delete)|Enter to confirm|Esc to (?:cancel|exit)|Press Enter to (?:continue|retry)|Quick safety check|Do you trust the files in this folder|Bypass Permissions mode|What do you want to do\?|Select login method|^Wait for limit to reset/i

interface Modal {
  start: number
  pattern: string
  snippet: string
}

function findLiveModal(lines: ScreenLine[], from: number, options: ClassifyOptions): Modal | null {
  let hint = -1
  for (let i = lines.length - 1; i >= from; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content') continue
    const live = (CURSOR_ITEM.test(line.text) && line.indent <= 4 && hasSiblingItem(lines, i)) || MODAL_PHRASE.test(line.text)
    // A limit line's own "esc to cancel" / "press enter" is not a dialog.
    if (live && !(line.indent <= 1 && classifyChrome(stripLead(line.text), options, true))) {
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
    if (!line.boxed && (MARKER.test(line.text) || (line.indent <= 1 && classifyChrome(stripLead(line.text), options, false)?.kind === 'error'))) break
    start = i
  }

  const body = lines
    .slice(start)
    .filter((line) => line.kind === 'content')
    .map((line) => line.text)
    .join(' ')
  return {pattern: modalPattern(body), snippet: snippetAround(body, 0), start}
}

function hasSiblingItem(lines: ScreenLine[], at: number): boolean {
  for (let i = Math.max(0, at - 8); i < Math.min(lines.length, at + 9); i++) {
    if (i !== at && /^\d{1,2}[.)]\s+\S/.test((lines[i] as ScreenLine).text)) return true
  }

  return false
}

function modalPattern(body: string): string {
  if (/Bypass Permissions mode|Yes, I accept/i.test(body)) return 'bypass_permissions_warning'
  if (/trust (?:this|the files in this) folder|Quick safety check/i.test(body)) return 'folder_trust'
  if (/limit to reset|Add funds|extra usage|more usage|lower priority|Upgrade your plan|spend limit/i.test(body)) return 'limit_menu'
  if (/Do you want to|don't ask again|tell Claude what to do differently|Permission rule/i.test(body)) return 'permission_prompt'
  if (/Press Enter to/i.test(body)) return 'press_enter'
  return 'menu'
}

const SHELL_PROMPT = /^(?:\([\w.-]+\)\s)?(?:[\w.-]+@[\w.-]+[:\s]\S*\s?[$#%]|[$#%]|bash-[\d.]+[$#]|\S*[~/]\S*\s?[$#%])$/

// claude exited and left a shell: nothing on screen is a live session, unless the last command was
// a headless `claude -p`, whose output is Claude Code's own.
function shellTail(lines: ScreenLine[], options: ClassifyOptions): Classification | null {
  let last = lines.length - 1
  while (last >= 0 && (lines[last] as ScreenLine).kind === 'blank') last--
  const bottom = lines[last] as ScreenLine
  if (bottom.boxed || bottom.indent > 0 || !SHELL_PROMPT.test(bottom.text)) return null
  for (let i = last - 1; i >= 0; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind !== 'content' || line.boxed || !line.text.startsWith(`${bottom.text} `)) continue
    if (!/(?:^|[\s/])claude\b.*(?:\s-p\b|\s--print\b)/.test(line.text.slice(bottom.text.length))) break
    for (let j = last - 1; j > i; j--) {
      const output = lines[j] as ScreenLine
      if (output.kind !== 'content') continue
      const match = classifyChrome(stripLead(output.text), options, false)
      if (match?.kind === 'error') return eventResult(match)
    }

    break
  }

  return result('unknown', 'shell_prompt', snippetAround(bottom.text, 0))
}

// ---------------------------------------------------------------------------------------------
// Output

function result(verdict: Verdict, pattern: string, snippet: string): Classification {
  return {pattern, reset_at: null, scope: null, snippet, verdict}
}

function eventResult(ev: Event): Classification {
  return {pattern: ev.pattern, reset_at: ev.resetAt, scope: ev.scope, snippet: snippetAround(ev.text, ev.index), verdict: ev.verdict}
}

function lastText(lines: ScreenLine[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as ScreenLine
    if (line.kind === 'content') return snippetAround(line.text, 0)
  }

  return ''
}

/** At most 120 characters of `text` on one line, starting a little before `index`. */
export function snippetAround(text: string, index: number): string {
  const flat = text.replaceAll(/\s+/g, ' ').trim()
  if (flat.length <= SNIPPET) return flat
  const at = text.slice(0, index).replaceAll(/\s+/g, ' ').trimStart().length
  const start = Math.max(0, Math.min(at - 20, flat.length - SNIPPET))
  return flat.slice(start, start + SNIPPET).trim()
}
