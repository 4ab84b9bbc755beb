// What the simulated screen shows, as pure functions of a width: Claude Code's visual vocabulary
// (`❯`/`>` prompts, `●` assistant lines (`⏺` before 2.1), `⎿` error lines, the `✻` spinner and
// turn-end line, the `⏵⏵ … (shift+tab to cycle)` footer) and its first-launch screens, drawn as the
// real 2.1.328 draws them (test/fixtures/real/2.1.328; the classic style keeps the 1.x/2.0 look).
import type {HistoryEntry} from './transcript.js'

/** `modern`: 2.1's `❯` prompt between rules; `classic`: the boxed `>` prompt of 1.x/2.0. */
export type UiStyle = 'modern' | 'classic'

/** A menu drawn in place of the prompt; `cancel` is the option Esc and Ctrl-C choose. */
export interface ModalSpec {
  body: string[]
  options: string[]
  /** The last line (`Enter to confirm · Esc to cancel`); the theme picker has none. */
  hint: string | null
  cancel: number
  /** Columns the text is indented by (2.1.328: 1 for folder trust, 2 for the bypass warning). */
  indent: number
  /** Options shown as `1. …` (the `/rate-limit-options` menu); 2.1.328's first-launch screens are not numbered. */
  numbered?: boolean
  /** A screen drawn its own way (the theme picker); else the rule, body, options and hint. */
  draw?: (selected: number, width: number) => string[]
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
    return [` ▐▛███▛█   Claude Code v${facts.version} (simulated)`, `▝▜██████▀  ${facts.model} · Claude Max`, ` ▝▝   ▝▝   ${facts.cwd}`]
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

/** An assistant message block: `● text` (2.1.328), `⏺ text` (classic). */
export function assistantLines(text: string, style: UiStyle = 'modern'): string[] {
  const [first = '', ...rest] = sanitizeForScreen(text).split('\n')
  return ['', `${style === 'modern' ? '●' : '⏺'} ${first}`, ...rest.map((line) => `  ${line}`)]
}

/** A finished tool call: 2.1.328 folds a Bash call into `Ran 1 shell command`; classic shows `⏺ Name(arg)` and its `⎿` result. */
export function toolLines(call: string, result: string, style: UiStyle = 'modern'): string[] {
  if (style === 'modern') return ['', `  ${call.startsWith('Bash(') ? 'Ran 1 shell command' : sanitizeForScreen(call)}`]
  return ['', `⏺ ${sanitizeForScreen(call)}`, `  ⎿  ${sanitizeForScreen(result)}`]
}

/** The line 2.1.328 prints when a turn ends normally (never after a limit banner): `✻ Worked for 14s · done 8:06 PM`. */
export function turnEndLine(seconds: number, at: Date, timeZone: string): string {
  const clock = new Intl.DateTimeFormat('en-US', {hour: 'numeric', hour12: true, minute: '2-digit', timeZone}).format(at).replace(/\u202F/g, ' ')
  return `✻ Worked for ${Math.max(1, Math.round(seconds))}s · done ${clock}`
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

/** A resumed conversation's past messages, drawn as they were (old limit banners included). */
export function historyLines(style: UiStyle, entries: HistoryEntry[]): string[] {
  return entries.flatMap((entry): string[] => {
    switch (entry.kind) {
      case 'user': {
        return promptEchoLines(style, entry.text)
      }

      case 'assistant': {
        return assistantLines(entry.text, style)
      }

      case 'tool': {
        return style === 'modern' ? toolLines(toolCallLabel(entry.name, entry.input), '', style) : ['', `⏺ ${sanitizeForScreen(toolCallLabel(entry.name, entry.input))}`]
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

/** The footer line under the prompt: 2.1.328's permission mode line, or the classic `? for shortcuts`. */
export function footerLine(bypass: boolean, notice: string | null, style: UiStyle = 'modern'): string {
  if (notice) return `  ${notice}`
  if (bypass) return '  ⏵⏵ bypass permissions on (shift+tab to cycle)'
  return style === 'modern' ? '  ⏵⏵ auto mode on (shift+tab to cycle)' : '  ? for shortcuts'
}

/** What the live region shows besides the typed text. */
export interface RegionState {
  buffer: string
  busy: boolean
  footer: string
  width: number
  /** Shown dimmed in an empty input after a failed turn (`Resend your message to try again`). */
  placeholder?: string | null
  /** A right-aligned row above the input (the usage warning), until the next turn. */
  status?: string | null
  /** What the statusLine command printed: drawn between the input box and the footer. */
  statusLine?: string[]
}

/** The live part under the conversation: spinner when busy, the input prompt with its cursor, the footer. */
export function promptRegion(style: UiStyle, state: RegionState): string[] {
  const status = state.status ? [' '.repeat(Math.max(0, state.width - visibleWidth(state.status))) + state.status] : []
  const head = state.busy ? ['', SPINNER_LINE, '', ...status] : ['', ...status]
  const marker = style === 'modern' ? '❯ ' : '> '
  const room = Math.max(4, state.width - (style === 'modern' ? 3 : 7))
  const chars = [...sanitizeForScreen(state.buffer)]
  const shown = chars.length > room ? `…${chars.slice(chars.length - room + 1).join('')}` : chars.join('')
  const hint = [...(state.placeholder ?? '')]
  const input = shown === '' && hint.length > 0 ? `\u001B[7m${hint[0]}\u001B[27m\u001B[2m${hint.slice(1).join('')}\u001B[22m` : `${shown}${INVERSE_SPACE}`
  const statusLine = (state.statusLine ?? []).map((line) => `  ${sanitizeForScreen(line)}`)
  if (style === 'modern') return [...head, rule(state.width), `${marker}${input}`, rule(state.width), ...statusLine, state.footer]
  const inner = Math.max(1, state.width - 4)
  const line = `${marker}${shown}`
  return [
    ...head,
    `╭${'─'.repeat(inner + 2)}╮`,
    `│ ${line}${INVERSE_SPACE}${' '.repeat(Math.max(0, inner - visibleWidth(line) - 1))} │`,
    `╰${'─'.repeat(inner + 2)}╯`,
    ...statusLine,
    state.footer,
  ]
}

/** A modal with the option at `selected` marked `❯`, under a rule, as 2.1.328 draws its menus. */
export function modalLines(spec: ModalSpec, selected: number, width: number): string[] {
  if (spec.draw) return spec.draw(selected, width)
  const pad = ' '.repeat(spec.indent)
  const options = spec.options.map((option, index) => `${pad}${index === selected ? '❯' : ' '} ${spec.numbered ? `${index + 1}. ` : ''}${option}`)
  const body = spec.body.flatMap((line) => (line === '' ? [''] : wrapText(line, width - spec.indent - 1))).map((line) => (line ? `${pad}${line}` : ''))
  return [rule(width), ...body, '', ...options, ...(spec.hint === null ? [] : ['', `${pad}${spec.hint}`])]
}

/** The folder-trust screen of a folder never trusted in this config dir; its default answer exits. */
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
    cancel: 0,
    hint: 'Enter to confirm · Esc to cancel',
    indent: 1,
    options: ['No, exit', 'Yes, I trust this folder'],
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
  cancel: 0,
  hint: 'Enter to confirm · Esc to cancel',
  indent: 2,
  options: ['No, exit', 'Yes, I accept'],
}

const THEMES = ['Auto (match terminal)', 'Dark mode', 'Light mode', 'Dark mode (colorblind-friendly)', 'Light mode (colorblind-friendly)', 'Dark mode (ANSI colors only)', 'Light mode (ANSI colors only)']
/** The `theme` value 2.1.328 stores for each row of the theme picker. */
export const THEME_VALUES = ['auto', 'dark', 'light', 'dark-daltonized', 'light-daltonized', 'dark-ansi', 'light-ansi']
const WELCOME_ART = [
  '     *                                       █████▓▓░',
  '                                 *         ███▓░     ░░',
  '            ░░░░░░                        ███▓░',
  '    ░░░   ░░░░░░░░░░                      ███▓░',
  '   ░░░░░░░░░░░░░░░░░░░    *                ██▓░░      ▓',
  '                                             ░▓▓███▓▓░',
  ' *                                 ░░░░',
  '                                 ░░░░░░░░',
  '                               ░░░░░░░░░░░░░░░░',
  '       █████████                                        *',
  '      ██▄█████▄██                        *',
  '       █████████      *',
  '.......█ █   █ █..........................................',
]

/**
 * The theme picker of a home that never completed onboarding (no `hasCompletedOnboarding`): the
 * first screen 2.1.328 shows there. No input box and no `Enter to confirm` line; SessionStart waits
 * until it is answered.
 */
export function themePicker(version: string): ModalSpec {
  const draw = (selected: number, width: number): string[] => {
    const dashes = ` ${'╌'.repeat(Math.max(1, width - 2))}`
    return [
      `Welcome to Claude Code v${version}`,
      '..........................................................',
      '',
      ...WELCOME_ART,
      '',
      " Let's get started.",
      '',
      ' Choose the text style that looks best with your terminal',
      ' To change this later, run /theme',
      '',
      ...THEMES.map((theme, index) => ` ${index === selected ? '❯' : ' '} ${index === 0 ? '✔' : ' '} ${theme}`),
      '',
      dashes,
      '  1  function greet() {',
      '  2 -  console.log("Hello, World!");',
      '  2 +  console.log("Hello, Claude!");',
      '  3  }',
      dashes,
      '  Syntax theme: Monokai Extended (ctrl+t to disable)',
    ]
  }

  return {body: [], cancel: -1, draw, hint: null, indent: 1, options: THEMES}
}

/** The `/rate-limit-options` menu of 2.1.6x+. */
export const RATE_LIMIT_MENU: ModalSpec = {
  body: ['What do you want to do?'],
  cancel: 0,
  indent: 1,
  numbered: true,
  hint: 'Enter to confirm · Esc to cancel',
  options: ['Stop and wait for limit to reset', 'Add funds to continue with extra usage', 'Upgrade your plan'],
}
