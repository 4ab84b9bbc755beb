// Transcripts as Claude Code writes them: one JSONL file per conversation under
// `<config dir>/projects/<encoded cwd>/<session id>.jsonl`, one record per line, each message record
// chained to the previous one by `parentUuid` (reference §3.2, §4).
import {randomBytes, randomUUID} from 'node:crypto'
import {appendFile, mkdir, readdir, readFile, stat} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

/** The Claude Code version the simulator claims in records and `--version`: the one it is held to. */
export const SIM_VERSION = '2.1.328'

const UUID_PATTERN = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i

/** True for what Claude Code accepts as a session id (the `uuid` package's validate()). */
export function isSessionId(value: string): boolean {
  return UUID_PATTERN.test(value)
}

/** Claude Code's project folder name for a cwd: every `/`, `.`, `\` and `:` becomes `-`. */
export function encodeProjectDir(cwd: string): string {
  return resolve(cwd).replace(/[/.\\:]/g, '-')
}

/** `<config dir>/projects/<encoded cwd>`. */
export function projectDirFor(configDir: string, cwd: string): string {
  return join(configDir, 'projects', encodeProjectDir(cwd))
}

/** `<config dir>/projects/<encoded cwd>/<session id>.jsonl`. */
export function transcriptPathFor(configDir: string, cwd: string, sessionId: string): string {
  return join(projectDirFor(configDir, cwd), `${sessionId}.jsonl`)
}

/** The text of the synthetic record of an API failure, and the 2.1 tags it carries. */
export interface ApiErrorRecord {
  text: string
  /** `error` field (`rate_limit`, `server_error`, `authentication_failed`); absent in records of older versions. */
  error?: string
  /** `apiErrorStatus` field (429, 500, 529, 401); absent in records of older versions. */
  status?: number
  /** `apiErrorType`: the API's error type (`rate_limit_error`, `api_error`, `overloaded_error`, `authentication_error`). */
  type?: string
  /** `apiError` (`usage_limit_reached` for a usage limit). */
  apiError?: string
  /** `apiErrorParams` (`{rate_limit_info: {…}}` for a usage limit). */
  params?: Record<string, unknown>
}

const EMPTY_USAGE = {input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: {web_search_requests: 0}, service_tier: null}

function token(prefix: string): string {
  return prefix + randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')
}

/** Appends a conversation's records to its transcript, chained by `parentUuid`. */
export class TranscriptWriter {
  private parentUuid: string | null

  constructor(
    readonly path: string,
    private readonly envelope: {cwd: string; sessionId: string; model: string},
    parentUuid: string | null,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.parentUuid = parentUuid
  }

  /** A prompt the user submitted, preceded by the file-history snapshot Claude Code writes first. */
  async userPrompt(text: string): Promise<void> {
    const uuid = randomUUID()
    const timestamp = this.now().toISOString()
    await this.write({type: 'file-history-snapshot', messageId: uuid, snapshot: {messageId: uuid, trackedFileBackups: {}, timestamp}, isSnapshotUpdate: false})
    await this.message('user', {role: 'user', content: text}, {}, uuid)
  }

  /** An assistant tool call and its result; returns nothing (the tool is never run). */
  async toolCall(name: string, input: Record<string, unknown>, result: string): Promise<void> {
    const id = token('toolu_01')
    await this.message('assistant', this.assistantMessage([{type: 'tool_use', id, name, input}], 'tool_use'), {requestId: token('req_011C')})
    await this.message('user', {role: 'user', content: [{tool_use_id: id, type: 'tool_result', content: result, is_error: false}]}, {
      toolUseResult: {stdout: result, stderr: '', interrupted: false, isImage: false},
    })
  }

  /** The assistant's final text of a completed turn. */
  async assistantText(text: string): Promise<void> {
    await this.message('assistant', this.assistantMessage([{type: 'text', text}], 'end_turn'), {requestId: token('req_011C')})
  }

  /** The synthetic assistant record Claude Code persists when an API call fails (reference §4.2). */
  async apiError(record: ApiErrorRecord): Promise<void> {
    const message = {
      id: randomUUID(),
      container: null,
      model: '<synthetic>',
      role: 'assistant',
      stop_reason: 'stop_sequence',
      stop_sequence: '',
      type: 'message',
      usage: EMPTY_USAGE,
      content: [{type: 'text', text: record.text}],
    }
    const extra: Record<string, unknown> = {isApiErrorMessage: true}
    if (record.error !== undefined) extra.error = record.error
    if (record.status !== undefined) extra.apiErrorStatus = record.status
    if (record.type !== undefined) extra.apiErrorType = record.type
    if (record.apiError !== undefined) extra.apiError = record.apiError
    if (record.params !== undefined) extra.apiErrorParams = record.params
    await this.message('assistant', message, extra)
  }

  /** The marker a user interrupt (Esc, Ctrl-C) leaves in the conversation. */
  async interrupted(): Promise<void> {
    await this.message('user', {role: 'user', content: [{type: 'text', text: '[Request interrupted by user]'}]}, {})
  }

  private assistantMessage(content: unknown[], stopReason: string): Record<string, unknown> {
    return {
      id: token('msg_01'),
      type: 'message',
      role: 'assistant',
      model: this.envelope.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: {input_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 12, service_tier: 'standard'},
    }
  }

  private async message(type: 'user' | 'assistant', message: Record<string, unknown>, extra: Record<string, unknown>, uuid: string = randomUUID()): Promise<void> {
    const record = {
      parentUuid: this.parentUuid,
      isSidechain: false,
      userType: 'external',
      cwd: this.envelope.cwd,
      sessionId: this.envelope.sessionId,
      version: SIM_VERSION,
      gitBranch: '',
      type,
      message,
      ...extra,
      uuid,
      timestamp: this.now().toISOString(),
    }
    await this.write(record)
    this.parentUuid = uuid
  }

  private async write(record: Record<string, unknown>): Promise<void> {
    await mkdir(dirname(this.path), {recursive: true})
    // One appendFile per record: O_APPEND keeps each line whole even if another process appends.
    await appendFile(this.path, JSON.stringify(record) + '\n', {mode: 0o600})
  }
}

/** What the screen shows of a past conversation on `--resume`. */
export type HistoryEntry =
  | {kind: 'user'; text: string}
  | {kind: 'assistant'; text: string}
  | {kind: 'tool'; name: string; input: Record<string, unknown>}
  | {kind: 'error'; text: string}
  | {kind: 'interrupted'}

/** A transcript read back: the chain's last uuid, what to show, and the unfinished prompt if any. */
export interface TranscriptSummary {
  lastUuid: string | null
  history: HistoryEntry[]
  /** The prompt of a turn that never completed (a limit or an interrupt ended it), else null. */
  pendingPrompt: string | null
}

/** Reads a transcript; lines that are not JSON objects are skipped as Claude Code does. */
export async function readTranscript(path: string): Promise<TranscriptSummary> {
  const summary: TranscriptSummary = {history: [], lastUuid: null, pendingPrompt: null}
  const text = await readFile(path, 'utf8')
  for (const line of text.split('\n')) {
    let record: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(line)
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) continue
      record = parsed as Record<string, unknown>
    } catch {
      continue
    }

    if (typeof record.uuid === 'string' && (record.type === 'user' || record.type === 'assistant')) summary.lastUuid = record.uuid
    const message = record.message as {content?: unknown; stop_reason?: unknown} | undefined
    if (!message) continue
    if (record.type === 'user') readUserRecord(message.content, summary)
    if (record.type === 'assistant') readAssistantRecord(record, message, summary)
  }

  return summary
}

function readUserRecord(content: unknown, summary: TranscriptSummary): void {
  if (typeof content === 'string') {
    summary.history.push({kind: 'user', text: content})
    summary.pendingPrompt ??= content
    return
  }

  if (Array.isArray(content) && content.some((part) => (part as {text?: unknown})?.text === '[Request interrupted by user]')) {
    summary.history.push({kind: 'interrupted'})
  }
}

function readAssistantRecord(record: Record<string, unknown>, message: {content?: unknown; stop_reason?: unknown}, summary: TranscriptSummary): void {
  const parts = Array.isArray(message.content) ? (message.content as Array<Record<string, unknown>>) : []
  for (const part of parts) {
    if (part.type === 'text' && typeof part.text === 'string') {
      summary.history.push(record.isApiErrorMessage === true ? {kind: 'error', text: part.text} : {kind: 'assistant', text: part.text})
    } else if (part.type === 'tool_use' && typeof part.name === 'string') {
      summary.history.push({input: (part.input as Record<string, unknown>) ?? {}, kind: 'tool', name: part.name})
    }
  }

  if (record.isApiErrorMessage !== true && message.stop_reason === 'end_turn') summary.pendingPrompt = null
}

/** The most recently written conversation of a project folder (`--continue`), or null. */
export async function latestSessionIn(projectDir: string): Promise<string | null> {
  let names: string[]
  try {
    names = await readdir(projectDir)
  } catch {
    return null
  }

  let best: {id: string; mtime: number} | null = null
  for (const name of names) {
    const id = name.endsWith('.jsonl') ? name.slice(0, -'.jsonl'.length) : ''
    if (!isSessionId(id)) continue
    const info = await stat(join(projectDir, name)).catch(() => null)
    if (info?.isFile() && (!best || info.mtimeMs > best.mtime)) best = {id, mtime: info.mtimeMs}
  }

  return best?.id ?? null
}
