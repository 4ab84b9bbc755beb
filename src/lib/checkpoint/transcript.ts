// Reading Claude Code transcripts (reference claude-code.md §3.2, §4) without reading them whole:
// a transcript grows to many megabytes, and checkpoint runs every few minutes for every session, so
// only the last TAIL_BYTES are ever read, and the last tool call is looked for there.
import {join, resolve} from 'node:path'

import {readdirOrEmpty, stat} from '../fs.js'
import {readTail as readFileTail} from '../tail.js'

/** How much of a transcript's end is read. */
export const TAIL_BYTES = 64 * 1024
const SUMMARY_MAX = 160
const UUID_STEM = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$/i

/** Claude Code's project folder name for a cwd: every `/`, `.`, `\` and `:` becomes `-`. */
export function encodeProjectDir(cwd: string): string {
  return resolve(cwd).replace(/[/.\\:]/g, '-')
}

/** `<account home>/projects/<encoded cwd>/<conversation id>.jsonl`. */
export function deriveTranscriptPath(accountHome: string, cwd: string, conversationId: string): string {
  return join(accountHome, 'projects', encodeProjectDir(cwd), `${conversationId}.jsonl`)
}

/** The tail of a transcript (see lib/tail.ts); re-exported for the checkpoint's callers. */
export async function readTail(path: string, bytes: number = TAIL_BYTES): Promise<{text: string; size: number; mtimeMs: number} | undefined> {
  return readFileTail(path, bytes)
}

export interface ToolCall {
  name: string
  /** A short, one-line summary of the input (the command, the file, the pattern…). */
  summary: string
  id: string | null
  at: string | null
}

const SUMMARY_KEYS = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'prompt', 'notebook_path']

/** One line describing a tool input, cut to a short length. */
export function summarizeToolInput(input: unknown): string {
  let text = ''
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const record = input as Record<string, unknown>
    const key = SUMMARY_KEYS.find((k) => typeof record[k] === 'string' && record[k] !== '')
    text = key ? `${key}: ${record[key] as string}` : JSON.stringify(record)
  } else if (input !== undefined) {
    text = JSON.stringify(input) ?? ''
  }

  text = text.replaceAll(/\s+/g, ' ').trim()
  return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text
}

/** The last `tool_use` content item of an assistant record in transcript text (newest last). Pure. */
export function lastToolCall(text: string): ToolCall | null {
  const lines = text.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string
    if (!line.includes('"tool_use"')) continue
    let record: unknown
    try {
      record = JSON.parse(line)
    } catch {
      continue
    }

    const r = record as {type?: unknown; timestamp?: unknown; message?: {content?: unknown}}
    if (!r || r.type !== 'assistant' || !Array.isArray(r.message?.content)) continue
    const items = r.message.content as Array<Record<string, unknown>>
    for (let j = items.length - 1; j >= 0; j--) {
      const item = items[j]
      if (!item || item.type !== 'tool_use' || typeof item.name !== 'string') continue
      return {
        at: typeof r.timestamp === 'string' ? r.timestamp : null,
        id: typeof item.id === 'string' ? item.id : null,
        name: item.name.slice(0, 100),
        summary: summarizeToolInput(item.input),
      }
    }
  }

  return null
}

/**
 * The newest `<uuid>.jsonl` in `<home>/projects/<encoded cwd>/` (a conversation id for a session the
 * hooks never told us about); undefined when there is none.
 */
export async function newestTranscript(accountHome: string, cwd: string): Promise<{conversationId: string; path: string; mtimeMs: number} | undefined> {
  const dir = join(accountHome, 'projects', encodeProjectDir(cwd))
  const names = await readdirOrEmpty(dir)
  let best: {conversationId: string; path: string; mtimeMs: number} | undefined
  for (const name of names) {
    if (!UUID_STEM.test(name)) continue
    const path = join(dir, name)
    try {
      const info = await stat(path)
      if (info.isFile() && (!best || info.mtimeMs > best.mtimeMs)) best = {conversationId: name.slice(0, -'.jsonl'.length), mtimeMs: info.mtimeMs, path}
    } catch {
      // Removed meanwhile (cleanupPeriodDays): skip it.
    }
  }

  return best
}
