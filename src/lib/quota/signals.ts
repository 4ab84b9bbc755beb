// The pane is not the only witness: the StopFailure hook and the transcript's synthetic error
// record carry the same banner with a timestamp. But both say `rate_limit` for a quota banner and
// for a transient 429 alike (reference §4.2, §6), so their text is classified like a pane line and
// the error field only decides when the text says nothing. Pure: the clock comes in through options.
import {type Classification, type ClassifyOptions, classifyMessage, type Verdict} from './classify.js'

/** The fields read from a session's newest hook record (a `SignalRecord` of lib/signals.ts fits). */
export interface HookSignal {
  /** `StopFailure`, `Stop`, `SessionStart`, `UserPromptSubmit`, … */
  event: string
  /** StopFailure's `error`: `rate_limit`, `authentication_failed`, `billing_error`, `server_error`, … */
  error?: string | null
  error_details?: string | null
  /** The rendered error text, e.g. `You've hit your session limit · resets 3pm (UTC)`. */
  last_assistant_message?: string | null
  /** When the hook fired (ISO-8601): a time-only reset resolves against it. */
  ts?: string | null
}

/** One transcript JSONL record, reduced to the fields read here. */
export interface TranscriptRecord {
  type?: string
  timestamp?: string
  isApiErrorMessage?: boolean
  apiErrorStatus?: number
  error?: string
  message?: {model?: string; content?: string | {type?: string; text?: string}[]}
}

export interface SignalInput {
  pane?: Classification
  /** The session's newest hook record. */
  hook?: HookSignal
  /** The transcript's last records, oldest first. */
  transcript?: TranscriptRecord[]
}

export type SignalSource = 'pane' | 'hook' | 'transcript'

export type CombinedClassification = Classification & {sources: SignalSource[]}

interface Signal {
  source: SignalSource
  /** Epoch ms of the record, when it has one. */
  at: number | null
  /** null: the record says the session went on normally (a later prompt, a clean Stop). */
  classification: Classification | null
}

// What the pane alone settles; idle and unknown panes leave the question to the records.
const PANE_DECIDES = new Set<Verdict>(['quota_exhausted', 'rate_limited', 'server_error', 'auth_error', 'working', 'awaiting_input'])

/** Combines the pane verdict with the hook record and the transcript's last records. */
export function combineSignals(input: SignalInput, options: ClassifyOptions): CombinedClassification {
  const records = [hookSignal(input.hook, options), transcriptSignal(input.transcript ?? [], options)].filter((signal): signal is Signal => signal !== null)
  const structured = strongest(records)
  const pane = input.pane
  if (pane && (PANE_DECIDES.has(pane.verdict) || !structured)) {
    const agreeing = structured?.classification.verdict === pane.verdict ? structured : null
    const limit = structured?.classification.verdict === 'quota_exhausted' ? structured.classification : null
    const fill = pane.verdict === 'quota_exhausted' || pane.verdict === 'awaiting_input' ? limit : null
    return {
      ...pane,
      reset_at: pane.reset_at ?? fill?.reset_at ?? null,
      scope: pane.scope ?? fill?.scope ?? null,
      sources: ['pane', ...(agreeing ? agreeing.sources : [])],
    }
  }

  if (structured) return {...structured.classification, sources: structured.sources}
  return {pattern: 'no_signal', reset_at: null, scope: null, snippet: '', sources: [], verdict: 'unknown'}
}

// An error record counts unless a record that says "went on normally" is newer than it; of the
// rest, a limit wins (it is the one that must not be missed), then the newest.
function strongest(signals: Signal[]): {classification: Classification; sources: SignalSource[]} | null {
  const calm = signals.filter((signal) => signal.classification === null).map((signal) => signal.at ?? Number.NEGATIVE_INFINITY)
  const latestCalm = Math.max(Number.NEGATIVE_INFINITY, ...calm)
  const errors = signals.flatMap((signal) =>
    signal.classification !== null && (signal.at === null || signal.at >= latestCalm) ? [{...signal, classification: signal.classification}] : [],
  )
  const limits = errors.filter((signal) => signal.classification.verdict === 'quota_exhausted')
  const pool = limits.length > 0 ? limits : errors
  const best = [...pool].sort((a, b) => Number(b.classification.reset_at !== null) - Number(a.classification.reset_at !== null) || (b.at ?? 0) - (a.at ?? 0))[0]
  if (!best) return null
  const {verdict} = best.classification
  return {classification: best.classification, sources: errors.filter((signal) => signal.classification.verdict === verdict).map((signal) => signal.source)}
}

function hookSignal(hook: HookSignal | undefined, options: ClassifyOptions): Signal | null {
  if (!hook) return null
  const at = instant(hook.ts)
  const text = hook.last_assistant_message?.trim() ?? ''
  const byText = text === '' ? null : classifyMessage(text, at === null ? options : {...options, now: new Date(at)})
  // Claude Code ≤ 2.1.77 ended a limited turn with Stop, carrying the banner as its message.
  if (hook.event === 'Stop') return {at, classification: byText?.verdict === 'quota_exhausted' ? byText : null, source: 'hook'}
  if (hook.event !== 'StopFailure') return {at, classification: null, source: 'hook'}
  if (byText && byText.verdict !== 'unknown') return {at, classification: byText, source: 'hook'}
  const snippet = text === '' ? `StopFailure error=${hook.error ?? 'unknown'}${hook.error_details ? ` ${hook.error_details}` : ''}` : byText?.snippet ?? ''
  return {at, classification: byErrorField(hook.error, null, 'hook', snippet.slice(0, 120)), source: 'hook'}
}

function transcriptSignal(records: TranscriptRecord[], options: ClassifyOptions): Signal | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i] as TranscriptRecord
    if (!record.isApiErrorMessage && record.type !== 'user' && record.type !== 'assistant') continue
    const at = instant(record.timestamp)
    if (!record.isApiErrorMessage) return {at, classification: null, source: 'transcript'}
    const text = contentText(record.message)
    const byText = text === '' ? null : classifyMessage(text, at === null ? options : {...options, now: new Date(at)})
    if (byText && byText.verdict !== 'unknown') return {at, classification: byText, source: 'transcript'}
    const snippet = byText?.snippet || `isApiErrorMessage status=${record.apiErrorStatus ?? '?'} error=${record.error ?? '?'}`
    return {at, classification: byErrorField(record.error, record.apiErrorStatus ?? null, 'transcript', snippet.slice(0, 120)), source: 'transcript'}
  }

  return null
}

// Only when the text is silent: never a limit, since `rate_limit` also names a transient 429.
function byErrorField(error: string | null | undefined, status: number | null, source: SignalSource, snippet: string): Classification {
  const verdict: Verdict =
    error === 'rate_limit' || status === 429
      ? 'rate_limited'
      : error === 'authentication_failed' || status === 401 || status === 403
        ? 'auth_error'
        : error === 'server_error' || (status !== null && status >= 500 && status <= 599)
          ? 'server_error'
          : 'unknown'
  const name = (error ?? (status === null ? 'api_error' : `status_${status}`)).toLowerCase().replaceAll(/[^a-z0-9]+/g, '_')
  return {pattern: `${source}_${name}`, reset_at: null, scope: null, snippet, verdict}
}

function contentText(message: TranscriptRecord['message']): string {
  const content = message?.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) => (typeof part?.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n')
}

function instant(iso: string | null | undefined): number | null {
  if (!iso) return null
  const value = Date.parse(iso)
  return Number.isNaN(value) ? null : value
}
