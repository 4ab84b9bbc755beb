// The interactive simulated session in its pane: first-launch screens (theme picker, folder trust,
// bypass warning, in 2.1.328's order and wording), the welcome header, the prompt
// that takes typed lines (queued while a turn runs, as Claude Code queues them), Esc or Ctrl-C to
// interrupt a turn, Ctrl-C twice or `/exit` to leave.
import {setTimeout as sleep} from 'node:timers/promises'

import {recordBypassAccepted, recordFolderTrust, recordOnboarding} from './accept.js'
import type {HookRunner} from './hooks.js'
import type {StatusLineRunner} from './statusline.js'
import {type Key, startKeyInput} from './input.js'
import {Screen} from './screen.js'
import type {HistoryEntry} from './transcript.js'
import type {Conversation} from './turn.js'
import {
  BYPASS_MODAL,
  footerLine,
  historyLines,
  type ModalSpec,
  modalLines,
  noticeLines,
  promptEchoLines,
  promptRegion,
  RATE_LIMIT_MENU,
  THEME_VALUES,
  themePicker,
  trustModal,
  type UiStyle,
  welcomeLines,
} from './views.js'

/** Everything the interactive session is started with. */
export interface InteractiveOptions {
  style: UiStyle
  version: string
  modelLabel: string
  model: string
  cwd: string
  configDir: string
  globalConfig: string
  bypass: boolean
  showBypassWarning: boolean
  showTrustModal: boolean
  /** No `hasCompletedOnboarding` in the global state file: the theme picker comes first. */
  showThemePicker: boolean
  source: 'startup' | 'resume'
  history: HistoryEntry[]
  initialPrompt: string | undefined
  conversation: Conversation
  hooks: HookRunner
  startMs: number
  /** The settings' statusLine, or null when none is set. */
  statusLine: StatusLineRunner | null
}

const DOUBLE_PRESS_MS = 2000
const HANDLED_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM'] as const
const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {SIGHUP: 1, SIGINT: 2, SIGTERM: 15}

/** Runs the session until the user leaves; resolves with the exit code. */
export async function runInteractive(options: InteractiveOptions, io: {stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream}): Promise<number> {
  const session = new InteractiveSession(options, new Screen(io.stdout))
  return session.run(io.stdin)
}

interface OpenModal {
  spec: ModalSpec
  selected: number
  choose: (index: number) => void
}

class InteractiveSession {
  private buffer = ''
  private busy = false
  private modal: OpenModal | null = null
  private notice: string | null = null
  private placeholder: string | null = null
  private status: string | null = null
  private statusLineText: string[] = []
  /** Renders of the statusLine run one after another (each replaces the text the last one drew). */
  private statusLineRun: Promise<void> = Promise.resolve()
  private armed: {key: string; until: number} | null = null
  private readonly queue: string[] = []
  private wake: (() => void) | null = null
  private inputEnded = false
  private exitReason: string | null = null
  private turnAbort: AbortController | null = null
  private noticeTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly options: InteractiveOptions,
    private readonly screen: Screen,
  ) {}

  async run(stdin: NodeJS.ReadStream): Promise<number> {
    const {options, screen} = this
    // Keys typed while Claude Code starts stay in the TTY's buffer (raw already: no echo) and reach
    // whatever is shown first — a modal, if there is one.
    if (stdin.isTTY) stdin.setRawMode(true)
    await sleep(options.startMs)
    screen.start()
    const stopKeys = startKeyInput(stdin, (key) => this.onKey(key), () => this.onInputEnd())
    // tmux kill-session hangs the pane up (SIGHUP); leave the terminal usable whatever ends us.
    const onSignal = (signal: NodeJS.Signals): void => {
      stopKeys()
      screen.stop()
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15))
    }

    for (const signal of HANDLED_SIGNALS) process.once(signal, onSignal)
    try {
      // Nothing below runs while a first-launch screen is up: no header, no SessionStart.
      if (options.showThemePicker) {
        const theme = await this.ask(themePicker(options.version))
        if (theme < 0) return 1
        await recordOnboarding(options.globalConfig, THEME_VALUES[theme] ?? 'auto').catch(() => {})
      }

      if (options.showTrustModal) {
        if ((await this.ask(trustModal(options.cwd))) !== 1) return 1
        await recordFolderTrust(options.globalConfig, options.cwd).catch(() => {})
      }

      if (options.showBypassWarning) {
        if ((await this.ask(BYPASS_MODAL)) !== 1) return 1
        await recordBypassAccepted(options.configDir).catch(() => {})
      }

      screen.print(welcomeLines(options.style, {cwd: options.cwd, model: options.modelLabel, version: options.version, width: screen.width}))
      if (options.history.length > 0) screen.print(historyLines(options.style, options.history))
      this.render()
      await options.hooks.fire('SessionStart', {model: options.model, source: options.source}, options.source)
      this.refreshStatusLine()
      if (options.initialPrompt !== undefined) this.queue.unshift(options.initialPrompt)
      await this.loop()
      return 0
    } finally {
      for (const signal of HANDLED_SIGNALS) process.off(signal, onSignal)
      clearTimeout(this.noticeTimer)
      stopKeys()
      screen.stop()
      if (this.exitReason) await options.hooks.fire('SessionEnd', {reason: this.exitReason})
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      const line = await this.nextLine()
      if (line === null) return
      const command = line.trim()
      if (command === '/exit' || command === '/quit') {
        this.exitReason = 'prompt_input_exit'
        return
      }

      if (command === '/rate-limit-options') {
        this.screen.print(promptEchoLines(this.options.style, line))
        await this.ask(RATE_LIMIT_MENU)
        continue
      }

      await this.runTurn(line)
    }
  }

  private async runTurn(line: string): Promise<void> {
    this.screen.print(promptEchoLines(this.options.style, line))
    this.turnAbort = new AbortController()
    const ui = {
      busy: (on: boolean) => {
        this.busy = on
        this.render()
      },
      placeholder: (text: string | null) => {
        this.placeholder = text
      },
      show: (lines: string[]) => this.screen.print(lines),
      status: (text: string | null) => {
        this.status = text
      },
    }
    try {
      const outcome = await this.options.conversation.turn(line, ui, this.turnAbort.signal)
      if (outcome.kind === 'limit' && outcome.control.menu === true && !this.exitReason) await this.ask(RATE_LIMIT_MENU)
    } catch (error) {
      this.screen.print(noticeLines([`Error: ${(error as Error).message}`]))
    } finally {
      this.turnAbort = null
      this.refreshStatusLine()
    }
  }

  /** Runs the statusLine again (in the background, as Claude Code does) and draws what it prints. */
  private refreshStatusLine(): void {
    const runner = this.options.statusLine
    if (!runner) return
    const limits = this.options.conversation.rateLimits
    this.statusLineRun = this.statusLineRun.then(async () => {
      this.statusLineText = await runner.render(limits?.usage ?? null, new Date(), limits?.resetAt)
      this.render()
    })
  }

  /** The next submitted line; null once the user asked to leave or input ended with nothing queued. */
  private async nextLine(): Promise<string | null> {
    for (;;) {
      if (this.exitReason) return null
      const line = this.queue.shift()
      if (line !== undefined) return line
      if (this.inputEnded) return null
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  private ask(spec: ModalSpec): Promise<number> {
    return new Promise((resolve) => {
      this.modal = {
        choose: (index) => {
          this.modal = null
          this.render()
          resolve(index)
        },
        selected: 0,
        spec,
      }
      this.render()
    })
  }

  private render(): void {
    const width = this.screen.width
    if (this.modal) {
      this.screen.setRegion(modalLines(this.modal.spec, this.modal.selected, width))
      return
    }

    const footer = footerLine(this.options.bypass, this.notice, this.options.style)
    this.screen.setRegion(promptRegion(this.options.style, {buffer: this.buffer, busy: this.busy, footer, placeholder: this.placeholder, status: this.status, statusLine: this.statusLineText.map((l) => l.slice(0, Math.max(0, width - 2))), width}))
  }

  private onKey(key: Key): void {
    if (this.modal) this.onModalKey(this.modal, key)
    else this.onPromptKey(key)
  }

  private onModalKey(modal: OpenModal, key: Key): void {
    const count = modal.spec.options.length
    if (key.name === 'up') modal.selected = (modal.selected + count - 1) % count
    else if (key.name === 'down' || key.name === 'tab') modal.selected = (modal.selected + 1) % count
    else if (key.name === 'return' || key.name === 'enter') return modal.choose(modal.selected)
    else if (key.name === 'escape' || (key.ctrl && (key.name === 'c' || key.name === 'd'))) return modal.choose(modal.spec.cancel)
    else if (/^[1-9]$/.test(key.text) && Number(key.text) <= count) return modal.choose(Number(key.text) - 1)
    this.render()
  }

  private onPromptKey(key: Key): void {
    if (key.ctrl && (key.name === 'c' || key.name === 'd')) return this.onInterruptKey(key.name)
    if (key.name === 'escape') {
      this.turnAbort?.abort()
      return
    }

    if (key.name === 'return' || key.name === 'enter') {
      const line = this.buffer
      this.buffer = ''
      if (line.trim() !== '') this.submit(line)
    } else if (key.name === 'backspace') {
      this.buffer = [...this.buffer].slice(0, -1).join('')
    } else if (key.ctrl && key.name === 'u') {
      this.buffer = ''
    } else if (!key.ctrl && !key.meta && key.text && !/[\u0000-\u001F\u007F]/.test(key.text)) {
      this.buffer += key.text
    } else {
      return
    }

    this.render()
  }

  /** Ctrl-C interrupts a turn, else clears the input, else asks for a second press to exit. Ctrl-D only does the last. */
  private onInterruptKey(name: string): void {
    if (name === 'c' && this.turnAbort) return this.turnAbort.abort()
    if (name === 'c' && this.buffer) {
      this.buffer = ''
      return this.render()
    }

    if (name === 'd' && this.buffer) return
    const now = Date.now()
    if (this.armed && this.armed.key === name && now < this.armed.until) return this.requestExit('prompt_input_exit')
    this.armed = {key: name, until: now + DOUBLE_PRESS_MS}
    this.notice = `Press Ctrl-${name.toUpperCase()} again to exit`
    clearTimeout(this.noticeTimer)
    this.noticeTimer = setTimeout(() => {
      this.notice = null
      this.armed = null
      this.render()
    }, DOUBLE_PRESS_MS)
    this.render()
  }

  private submit(line: string): void {
    this.queue.push(line)
    this.wake?.()
  }

  private requestExit(reason: string): void {
    this.exitReason = reason
    this.turnAbort?.abort()
    this.modal?.choose(this.modal.spec.cancel)
    this.wake?.()
  }

  private onInputEnd(): void {
    this.inputEnded = true
    if (this.modal) this.modal.choose(this.modal.spec.cancel)
    this.wake?.()
  }
}
