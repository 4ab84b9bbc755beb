// One simulated turn, as this tool sees a real one: the prompt is recorded, the account's control
// file decides whether the "API" answers, the work takes a while (a tool call, then the reply), the
// transcript grows, and Stop fires — or the limit banner, the synthetic record and StopFailure end
// it. Nothing from the prompt is ever executed: it is only shown and recorded.
import {setTimeout as sleep} from 'node:timers/promises'

import {limitNotice, type LimitNotice} from './banner.js'
import {claimTurn, exhaustedMidTurn, type SimControl} from './control.js'
import type {HookRunner} from './hooks.js'
import type {TranscriptWriter} from './transcript.js'
import {assistantLines, INTERRUPTED_LINE, noticeLines, toolCallLabel, toolLines} from './views.js'

/** How a turn shows progress; the headless `-p` mode passes one that shows nothing. */
export interface TurnUi {
  show(lines: string[]): void
  busy(on: boolean): void
}

/** How a turn ended. */
export type TurnOutcome =
  | {kind: 'done'; reply: string}
  | {kind: 'limit'; notice: LimitNotice; control: SimControl}
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
    ui.busy(true)
    try {
      const gate = await claimTurn(deps.configDir)
      if (!gate.allowed) {
        await sleep(Math.min(deps.turnMs / 4, 400), undefined, {signal})
        return await this.limit(gate.control, ui, started)
      }

      await sleep(deps.turnMs / 2, undefined, {signal})
      ui.show(toolLines(toolCallLabel(TOOL.name, TOOL.input), TOOL.result))
      await deps.transcript.toolCall(TOOL.name, TOOL.input, TOOL.result)
      const cut = await exhaustedMidTurn(deps.configDir)
      if (cut) return await this.limit(cut, ui, started)

      await sleep(deps.turnMs / 2, undefined, {signal})
      const reply = `Done: ${firstWords(this.pendingPrompt ?? prompt)}`
      await deps.transcript.assistantText(reply)
      ui.show(assistantLines(reply))
      ui.busy(false)
      this.pendingPrompt = null
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

  private async limit(control: SimControl, ui: TurnUi, started: number): Promise<TurnOutcome> {
    const {deps} = this
    const notice = limitNotice(control, deps.now(), deps.timeZone)
    await deps.transcript.apiError({
      text: notice.recordText,
      ...(notice.tagged ? {error: 'rate_limit', status: 429} : {}),
    })
    const lines = noticeLines(notice.followUp ? [notice.banner, notice.followUp] : [notice.banner])
    if (notice.hookEvent === 'StopFailure') lines.push('', `✻ Cooked for ${Math.round((deps.now().getTime() - started) / 1000)}s`)
    ui.show(lines)
    ui.busy(false)
    if (notice.hookEvent === 'StopFailure') {
      await deps.hooks.fire('StopFailure', {error: 'rate_limit', error_details: '429 Too Many Requests', last_assistant_message: notice.banner}, 'rate_limit')
    } else {
      // Before StopFailure existed (2.1.78), a turn cut by the limit ended with a plain Stop.
      await deps.hooks.fire('Stop', {stop_hook_active: false})
    }

    return {control, kind: 'limit', notice}
  }
}
