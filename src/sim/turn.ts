// One simulated turn, as this tool sees a real one: the prompt is recorded, the account's control
// file decides whether the "API" answers, the work takes a while (a tool call, then the reply), the
// transcript grows, and Stop fires — or the limit banner (or an API error), the synthetic record
// and StopFailure end it, as the real 2.1.328 does (test/fixtures/real). Nothing from the prompt is
// ever executed: it is only shown and recorded.
import {setTimeout as sleep} from 'node:timers/promises'

import {defaultResetAt, failureNotice, type FailureNotice, formatResetClock, limitNotice, type LimitNotice} from './banner.js'
import {type ApiFailure, claimTurn, exhaustedMidTurn, type SimControl} from './control.js'
import type {HookRunner} from './hooks.js'
import type {TranscriptWriter} from './transcript.js'
import {assistantLines, INTERRUPTED_LINE, noticeLines, toolCallLabel, toolLines, turnEndLine, type UiStyle} from './views.js'

/** How a turn shows progress; the headless `-p` mode passes one that shows nothing. */
export interface TurnUi {
  show(lines: string[]): void
  busy(on: boolean): void
  /** The empty input's placeholder after a failed turn; null clears it. */
  placeholder(text: string | null): void
  /** The right-aligned row above the input (the usage warning); null clears it. */
  status(text: string | null): void
}

/** How a turn ended. */
export type TurnOutcome =
  | {kind: 'done'; reply: string}
  | {kind: 'limit'; notice: LimitNotice; control: SimControl}
  | {kind: 'failed'; notice: FailureNotice}
  | {kind: 'interrupted'}

/** What a conversation needs from its process. */
export interface ConversationDeps {
  configDir: string
  cwd: string
  transcript: TranscriptWriter
  hooks: HookRunner
  turnMs: number
  timeZone: string
  now: () => Date
  style: UiStyle
  /** ANTHROPIC_BASE_URL, which server errors name. */
  gateway: string | undefined
}

const TOOL = {input: {command: 'ls', description: 'List the files in the working directory'}, name: 'Bash', result: '(simulated: nothing was run)'}

/** The first words of a prompt's first line, for the short reply. */
export function firstWords(text: string, words = 8, chars = 60): string {
  const line = text.trim().split('\n')[0] ?? ''
  const parts = line.split(/\s+/).filter(Boolean)
  let head = parts.slice(0, words).join(' ')
  if (head.length > chars) head = head.slice(0, chars)
  return head.length < line.trim().length ? `${head}…` : head
}

/** A conversation: its transcript, its hooks, and the prompt of a turn left unfinished. */
export class Conversation {
  /** The account's usage as the last response reported it (null before the first, or without a `usage` in the control file). */
  public rateLimits: {usage: NonNullable<SimControl['usage']>; resetAt: string | undefined} | null = null

  constructor(
    private readonly deps: ConversationDeps,
    /** Set when a limit or an interrupt ended a turn; the next completed turn finishes that work. */
    public pendingPrompt: string | null,
  ) {}

  /** Runs one turn; an aborted `signal` (Esc, Ctrl-C) interrupts it. */
  async turn(prompt: string, ui: TurnUi, signal: AbortSignal): Promise<TurnOutcome> {
    const {deps} = this
    const started = deps.now().getTime()
    await deps.transcript.userPrompt(prompt)
    this.pendingPrompt ??= prompt
    await deps.hooks.fire('UserPromptSubmit', {prompt})
    ui.placeholder(null)
    ui.status(null)
    ui.busy(true)
    try {
      const gate = await claimTurn(deps.configDir)
      if (gate.control.error !== undefined) {
        await sleep(Math.min(deps.turnMs / 4, 400), undefined, {signal})
        return await this.fail(gate.control.error, ui)
      }

      if (!gate.allowed) {
        await sleep(Math.min(deps.turnMs / 4, 400), undefined, {signal})
        return await this.limit(gate.control, ui)
      }

      await sleep(deps.turnMs / 2, undefined, {signal})
      ui.show(toolLines(toolCallLabel(TOOL.name, TOOL.input), TOOL.result, deps.style))
      await deps.transcript.toolCall(TOOL.name, TOOL.input, TOOL.result)
      const cut = await exhaustedMidTurn(deps.configDir)
      if (cut) return await this.limit(cut, ui)

      await sleep(deps.turnMs / 2, undefined, {signal})
      const reply = `Done: ${firstWords(this.pendingPrompt ?? prompt)}`
      await deps.transcript.assistantText(reply)
      const end = deps.now()
      ui.show([...assistantLines(reply, deps.style), ...(deps.style === 'modern' ? ['', turnEndLine((end.getTime() - started) / 1000, end, deps.timeZone)] : [])])
      if (gate.control.warning !== undefined) ui.status(this.warning(gate.control, end))
      ui.busy(false)
      this.pendingPrompt = null
      if (gate.control.usage) this.rateLimits = {resetAt: gate.control.reset_at, usage: gate.control.usage}
      await deps.hooks.fire('Stop', {last_assistant_message: reply, stop_hook_active: false})
      return {kind: 'done', reply}
    } catch (error) {
      if (!signal.aborted) throw error
      // A user interrupt: the marker goes into the transcript, and no Stop hook runs (reference §6).
      ui.show([INTERRUPTED_LINE])
      await deps.transcript.interrupted()
      return {kind: 'interrupted'}
    } finally {
      ui.busy(false)
    }
  }

  /** `You've used 93% of your 5-hour limit · resets 10:06pm (UTC)`: 2.1.328's usage warning. */
  private warning(control: SimControl, now: Date): string {
    const resetAt = control.reset_at ? new Date(control.reset_at) : defaultResetAt(now)
    const reset = control.reset === undefined ? formatResetClock(resetAt, this.deps.timeZone, now) : control.reset
    return `You've used ${control.warning}% of your 5-hour limit${reset ? ` · resets ${reset}` : ''}`
  }

  // 2.1.328 draws the banner under the prompt or tool line and nothing after it: no `✻ … for Ns`
  // line, and StopFailure carries no `error_details` (test/fixtures/real/2.1.328).
  private async limit(control: SimControl, ui: TurnUi): Promise<TurnOutcome> {
    const {deps} = this
    const notice = limitNotice(control, deps.now(), deps.timeZone)
    await deps.transcript.apiError({
      text: notice.recordText,
      ...(notice.tagged ? {apiError: 'usage_limit_reached', error: 'rate_limit', params: {rate_limit_info: notice.rateLimitInfo}, status: 429, type: 'rate_limit_error'} : {}),
    })
    ui.show(noticeLines(notice.followUp ? [notice.banner, notice.followUp] : [notice.banner]))
    ui.busy(false)
    if (notice.hookEvent === 'StopFailure') {
      await deps.hooks.fire('StopFailure', {error: 'rate_limit', last_assistant_message: notice.banner}, 'rate_limit')
    } else {
      // Before StopFailure existed (2.1.78), a turn cut by the limit ended with a plain Stop.
      await deps.hooks.fire('Stop', {stop_hook_active: false})
    }

    return {control, kind: 'limit', notice}
  }

  /** A request that failed for good (CLAUDE_CODE_MAX_RETRIES=0): the error, its record, StopFailure. */
  private async fail(failure: ApiFailure, ui: TurnUi): Promise<TurnOutcome> {
    const {deps} = this
    const notice = failureNotice(failure, deps.gateway)
    await deps.transcript.apiError({error: notice.error, status: notice.status, text: notice.text, type: notice.type})
    ui.show(notice.shape === 'bullet' ? assistantLines(notice.text, deps.style) : noticeLines([notice.text]))
    ui.placeholder(notice.placeholder)
    ui.busy(false)
    await deps.hooks.fire('StopFailure', {error: notice.error, last_assistant_message: notice.text}, notice.error)
    return {kind: 'failed', notice}
  }
}
