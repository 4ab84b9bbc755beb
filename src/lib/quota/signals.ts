// Structured signals decide first (SPEC §4). The transcript record of a limit-ended turn carries
// `apiError: "usage_limit_reached"` and `apiErrorParams.rate_limit_info` with the exact `resetsAt`
// and `rateLimitType`; a transient 429 carries `apiErrorIsTransient: true`. StopFailure carries
// `error` (`rate_limit`, `server_error`, `authentication_failed`) and no `error_details` in 2.1.328,
// and `rate_limit` names a usage limit, an API-key 429 and a transient 429 alike: its text is
// classified like a pane line, the error field deciding only when the text says nothing. The pane
// decides only what no record tells: a dialog, a turn still running, a session that never started.
// Pure: the clock comes in through options.
import {type Classification, type ClassifyOptions, classifyMessage, type LimitScope, snippetAround, type Verdict} from './classify.js'

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
  /** `usage_limit_reached` on a limit (2.1.328), absent on other errors. */
  apiError?: string
  apiErrorParams?: {rate_limit_info?: {resetsAt?: number; rateLimitType?: string; status?: string}}
  /** true on a 429 Claude Code retries by itself; false on an API-key account's 429. */
  apiErrorIsTransient?: boolean
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

export type CombinedClassification = Classification & {
  /** The witness that decided the verdict. */
  source: SignalSource | null
  /** Every witness that says the same. */
  sources: SignalSource[]
}

interface Signal {
  source: SignalSource
  /** Epoch ms of the record, when it has one. */
  at: number | null
  /** null: the record says the session went on normally (a later prompt, a clean Stop). */
  classification: Classification | null
}

// What only the pane can tell: a dialog waiting for a key, a turn still running, a launch that failed.
const PANE_ONLY = new Set<Verdict>(['working', 'awaiting_input'])

/** Combines the pane verdict with the hook record and the transcript's last records: the records decide first. */
export function combineSignals(input: SignalInput, options: ClassifyOptions): CombinedClassification {
  const records = [hookSignal(input.hook, options), transcriptSignal(input.transcript ?? [], options)].filter((signal): signal is Signal => signal !== null)
  const structured = strongest(records)
  const pane = input.pane
  if (pane && (!structured || PANE_ONLY.has(pane.verdict) || pane.pattern === 'claude_not_started')) {
    const agreeing = structured?.classification.verdict === pane.verdict ? structured : null
    const limit = structured?.classification.verdict === 'quota_exhausted' ? structured.classification : null
    const fill = pane.verdict === 'quota_exhausted' || pane.verdict === 'awaiting_input' ? limit : null
    return {
      ...pane,
      reset_at: pane.reset_at ?? fill?.reset_at ?? null,
      scope: pane.scope ?? fill?.scope ?? null,
      source: 'pane',
      sources: ['pane', ...(agreeing ? agreeing.sources : [])],
    }
  }

  if (structured) {
    const paneAgrees = pane?.verdict === structured.classification.verdict
    const fromPane = paneAgrees ? pane : null
    return {
      ...structured.classification,
      // A record without the reset (an older version's text) borrows the pane's.
      reset_at: structured.classification.reset_at ?? fromPane?.reset_at ?? null,
      scope: structured.classification.scope ?? fromPane?.scope ?? null,
      source: structured.sources[0] ?? null,
      sources: [...(paneAgrees ? (['pane'] as SignalSource[]) : []), ...structured.sources],
    }
  }

  return {pattern: 'no_signal', reset_at: null, scope: null, snippet: '', source: null, sources: [], verdict: 'unknown'}
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
  // The record with the structured fields knows the reset to the second; the hook's text, to the minute.
  const exact = (signal: Signal) => Number(signal.classification?.pattern === 'transcript_usage_limit_reached')
  const known = (signal: Signal) => Number(signal.classification?.reset_at !== null)
  const best = [...pool].sort((a, b) => exact(b) - exact(a) || known(b) - known(a) || (b.at ?? 0) - (a.at ?? 0))[0]
  if (!best) return null
  const {verdict} = best.classification
  // The deciding record first: `source` names it.
  const others = errors.filter((signal) => signal !== best && signal.classification.verdict === verdict).map((signal) => signal.source)
  return {classification: best.classification, sources: [best.source, ...others]}
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
    const structured = recordFields(record, text, at === null ? options : {...options, now: new Date(at)})
    if (structured) return {at, classification: structured, source: 'transcript'}
    const byText = text === '' ? null : classifyMessage(text, at === null ? options : {...options, now: new Date(at)})
    if (byText && byText.verdict !== 'unknown') return {at, classification: byText, source: 'transcript'}
    const snippet = byText?.snippet || `isApiErrorMessage status=${record.apiErrorStatus ?? '?'} error=${record.error ?? '?'}`
    return {at, classification: byErrorField(record.error, record.apiErrorStatus ?? null, 'transcript', snippet.slice(0, 120)), source: 'transcript'}
  }

  return null
}

const RATE_LIMIT_SCOPE: Record<string, LimitScope> = {
  five_hour: 'session',
  overage: 'extra_usage',
  seven_day: 'weekly',
  seven_day_opus: 'opus',
  seven_day_overage_included: 'other',
  seven_day_sonnet: 'sonnet',
}

// The fields 2.1.328 writes: the verdict, the reset to the second and the window, no text parsing.
function recordFields(record: TranscriptRecord, text: string, options: ClassifyOptions): Classification | null {
  const snippet = snippetAround(text === '' ? `isApiErrorMessage status=${record.apiErrorStatus ?? '?'} error=${record.error ?? '?'}` : text, 0)
  if (record.apiError === 'usage_limit_reached') {
    const info = record.apiErrorParams?.rate_limit_info
    const resetsAt = typeof info?.resetsAt === 'number' && Number.isFinite(info.resetsAt) && info.resetsAt > 0 ? new Date(info.resetsAt * 1000).toISOString() : null
    const byText = text === '' ? null : classifyMessage(text, options)
    const scope = (info?.rateLimitType ? RATE_LIMIT_SCOPE[info.rateLimitType] : undefined) ?? (byText?.verdict === 'quota_exhausted' ? byText.scope : null) ?? null
    return {pattern: 'transcript_usage_limit_reached', reset_at: resetsAt ?? (byText?.verdict === 'quota_exhausted' ? byText.reset_at : null), scope, snippet, verdict: 'quota_exhausted'}
  }

  // A transient 429 is retried by Claude Code and never a limit, whatever its text says.
  if (record.apiErrorIsTransient === true) {
    const status = record.apiErrorStatus ?? 0
    return {pattern: 'transcript_transient', reset_at: null, scope: null, snippet, verdict: status >= 500 && status <= 599 ? 'server_error' : 'rate_limited'}
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
