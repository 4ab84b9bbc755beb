// What the simulated screen shows, as pure functions of a width: Claude Code's visual vocabulary
// (`❯`/`>` prompts, `⏺` assistant lines, `⎿` tool and error lines, the `✻` spinner, the
// `⏵⏵ bypass permissions on` footer) and its modals, worded as reference §1 and §3.3 quote them.
import type {HistoryEntry} from './transcript.js'

/** `modern`: 2.1's `❯` prompt between rules; `classic`: the boxed `>` prompt of 1.x/2.0. */
export type UiStyle = 'modern' | 'classic'

/** A menu drawn in place of the prompt; `cancel` is the option Esc and Ctrl-C choose. */
export interface ModalSpec {
  body: string[]
  options: string[]
  hint: string
  cancel: number
  boxed: boolean
}

export const SPINNER_LINE = '✻ Thinking… (esc to interrupt)'
export const INTERRUPTED_LINE = '  ⎿  Interrupted · What should Claude do instead?'
const INVERSE_SPACE = '\u001B[7m \u001B[27m'

/** Columns a line takes on screen: escape sequences take none, every other code point one. */
export function visibleWidth(text: string): number {
  // eslint-disable-next-line no-control-regex
  return [...text.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')].length
}

/** Control characters would move the cursor or restyle the terminal: shown as `?`, tabs as spaces. */
export function sanitizeForScreen(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\t/g, '    ').replace(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/g, '?')
}

/** Word-wraps one paragraph to `width` columns, cutting words longer than a line; indentation is kept. */
export function wrapText(text: string, width: number): string[] {
  const indent = /^ */.exec(text)?.[0] ?? ''
  if (indent) return wrapText(text.slice(indent.length), width - indent.length).map((line) => indent + line)
  const max = Math.max(1, width)
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/ +/)) {
    let rest = [...word]
    while (rest.length > max) {
      if (line) lines.push(line)
      lines.push(rest.slice(0, max).join(''))
      rest = rest.slice(max)
      line = ''
    }

    const piece = rest.join('')
    if (!line) line = piece
    else if (visibleWidth(line) + 1 + piece.length <= max) line += ` ${piece}`
    else {
      lines.push(line)
      line = piece
    }
  }

  lines.push(line)
  return lines
}

/** A horizontal rule across the screen. */
export function rule(width: number): string {
  return '─'.repeat(Math.max(1, width))
}

/** Lines inside a rounded box `width` columns wide, long lines wrapped. */
export function boxed(lines: string[], width: number): string[] {
  const inner = Math.max(1, width - 4)
  const body = lines.flatMap((line) => (line === '' ? [''] : wrapText(line, inner)))
  return [`╭${'─'.repeat(inner + 2)}╮`, ...body.map((line) => `│ ${line}${' '.repeat(Math.max(0, inner - visibleWidth(line)))} │`), `╰${'─'.repeat(inner + 2)}╯`]
}

/** The header printed once at start. */
export function welcomeLines(style: UiStyle, facts: {version: string; model: string; cwd: string; width: number}): string[] {
  if (style === 'modern') {
    return [` ▐▛███▜▌   Claude Code v${facts.version} (simulated)`, `▝▜█████▛▘  ${facts.model} · Claude Max`, `  ▘▘ ▝▝    ${facts.cwd}`]
  }

  const content = ['✻ Welcome to Claude Code! (simulated)', '', '  /help for help, /status for your current setup', '', `  cwd: ${facts.cwd}`]
  const width = Math.min(facts.width, Math.max(...content.map((line) => visibleWidth(line))) + 4)
  return boxed(content, width)
}

/** A submitted prompt as the conversation shows it; continuation lines are indented. */
export function promptEchoLines(style: UiStyle, text: string): string[] {
  const marker = style === 'modern' ? '❯' : '>'
  const [first = '', ...rest] = sanitizeForScreen(text).split('\n')
  return ['', `${marker} ${first}`, ...rest.map((line) => `  ${line}`)]
}

/** An assistant message block (`⏺ text`). */
export function assistantLines(text: string): string[] {
  const [first = '', ...rest] = sanitizeForScreen(text).split('\n')
  return ['', `⏺ ${first}`, ...rest.map((line) => `  ${line}`)]
}

/** A tool call block: `⏺ Name(arg)` then its `⎿` result line. */
export function toolLines(call: string, result: string): string[] {
  return ['', `⏺ ${sanitizeForScreen(call)}`, `  ⎿  ${sanitizeForScreen(result)}`]
}

/** A message under the `⎿` of the current turn (errors, limit banners), continuation lines aligned. */
export function noticeLines(lines: string[]): string[] {
  return lines.map((line, index) => `${index === 0 ? '  ⎿  ' : '     '}${sanitizeForScreen(line)}`)
}

/** How a tool call's input is summarised on screen: `Bash(ls)`, `Read(README.md)`. */
export function toolCallLabel(name: string, input: Record<string, unknown>): string {
  const arg = input.command ?? input.file_path ?? input.pattern ?? ''
  return `${name}(${typeof arg === 'string' ? arg : JSON.stringify(arg)})`
}

/** A resumed conversation's past messages, drawn as they were. */
export function historyLines(style: UiStyle, entries: HistoryEntry[]): string[] {
  return entries.flatMap((entry): string[] => {
    switch (entry.kind) {
      case 'user': {
        return promptEchoLines(style, entry.text)
      }

      case 'assistant': {
        return assistantLines(entry.text)
      }

      case 'tool': {
        return ['', `⏺ ${sanitizeForScreen(toolCallLabel(entry.name, entry.input))}`]
      }

      case 'error': {
        return noticeLines([entry.text])
      }

      case 'interrupted': {
        return [INTERRUPTED_LINE]
      }
    }
  })
}

/** The footer line under the prompt. */
export function footerLine(bypass: boolean, notice: string | null): string {
  if (notice) return `  ${notice}`
  return bypass ? '  ⏵⏵ bypass permissions on (shift+tab to cycle)' : '  ? for shortcuts'
}

/** The live part under the conversation: spinner when busy, the input prompt with its cursor, the footer. */
export function promptRegion(style: UiStyle, state: {buffer: string; busy: boolean; footer: string; width: number}): string[] {
  const head = state.busy ? ['', SPINNER_LINE, ''] : ['']
  const marker = style === 'modern' ? '❯ ' : '> '
  const room = Math.max(4, state.width - (style === 'modern' ? 3 : 7))
  const chars = [...sanitizeForScreen(state.buffer)]
  const shown = chars.length > room ? `…${chars.slice(chars.length - room + 1).join('')}` : chars.join('')
  if (style === 'modern') return [...head, rule(state.width), `${marker}${shown}${INVERSE_SPACE}`, rule(state.width), state.footer]
  const inner = Math.max(1, state.width - 4)
  const line = `${marker}${shown}`
  return [
    ...head,
    `╭${'─'.repeat(inner + 2)}╮`,
    `│ ${line}${INVERSE_SPACE}${' '.repeat(Math.max(0, inner - visibleWidth(line) - 1))} │`,
    `╰${'─'.repeat(inner + 2)}╯`,
    state.footer,
  ]
}

/** A modal with the option at `selected` marked `❯`. */
export function modalLines(spec: ModalSpec, selected: number, width: number): string[] {
  const options = spec.options.map((option, index) => `${index === selected ? '❯' : ' '} ${index + 1}. ${option}`)
  if (spec.boxed) return [...boxed([...spec.body, '', ...options, ''], Math.min(width, 100)), `   ${spec.hint}`]
  const body = spec.body.flatMap((line) => (line === '' ? [''] : wrapText(line, width - 2))).map((line) => (line ? ` ${line}` : ''))
  return [rule(width), ...body, '', ...options.map((line) => ` ${line}`), '', ` ${spec.hint}`]
}

/** The folder-trust modal of a folder never trusted in this config dir. */
export function trustModal(cwd: string): ModalSpec {
  return {
    body: [
      'Accessing workspace:',
      '',
      cwd,
      '',
      "Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open source project, or work from your team). If not, take a moment to review what's in this folder first.",
      '',
      "Claude Code'll be able to read, edit, and execute files here.",
      '',
      'Security guide',
    ],
    boxed: false,
    cancel: 1,
    hint: 'Enter to confirm · Esc to cancel',
    options: ['Yes, I trust this folder', 'No, exit'],
  }
}

/** The bypass-permissions warning; its default answer exits. */
export const BYPASS_MODAL: ModalSpec = {
  body: [
    'WARNING: Claude Code running in Bypass Permissions mode',
    '',
    'In Bypass Permissions mode, Claude Code will not ask for your approval before running potentially dangerous commands.',
    'This mode should only be used in a sandboxed container/VM that has restricted internet access and can easily be restored if damaged.',
    '',
    'By proceeding, you accept all responsibility for actions taken while running in Bypass Permissions mode.',
    '',
    'https://code.claude.com/docs/en/security',
  ],
  boxed: true,
  cancel: 0,
  hint: 'Enter to confirm · Esc to exit',
  options: ['No, exit', 'Yes, I accept'],
}

/** The `/rate-limit-options` menu of 2.1.6x+. */
export const RATE_LIMIT_MENU: ModalSpec = {
  body: ['What do you want to do?'],
  boxed: false,
  cancel: 0,
  hint: 'Enter to confirm · Esc to cancel',
  options: ['Stop and wait for limit to reset', 'Add funds to continue with extra usage', 'Upgrade your plan'],
}
