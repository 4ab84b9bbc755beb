// The scenarios recorded from the real Claude Code (test/real/record.real.test.ts) and replayed
// through the simulator (test/sim/fidelity.test.ts), and the one reduction both sides go through:
// a pane, the hook records as the tool stored them and the conversation's transcript become an
// Observation; what must agree between the real binary and the simulator is `essentials()` of it.
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import type {SignalRecord} from '../../src/lib/signals.js'

import {type Classification, classifyPane} from '../../src/lib/quota/classify.js'
import {combineSignals} from '../../src/lib/quota/signals.js'
import {ROOT} from './env.js'

/** Where the recorded fixtures of one Claude Code version live. */
export function fixtureDir(version: string): string {
  return join(ROOT, 'test', 'fixtures', 'real', version)
}

/** The version whose fixtures the fidelity test holds the simulator to (scripts/real-claude.mjs pins it). */
export const RECORDED_VERSION = '2.1.328'

export type ScenarioName =
  | 'text'
  | 'bash'
  | 'limit-five-hour'
  | 'limit-after-tool'
  | 'limit-weekly'
  | 'limit-no-reason'
  | 'error-500'
  | 'error-529'
  | 'error-401'
  | 'usage-warning'
  | 'modal-theme'
  | 'modal-trust'
  | 'modal-bypass'
  | 'resumed-after-limit'

/** One scenario: what happens, the screen it ends on, and the pane verdict a correct classifier gives. */
export interface Scenario {
  name: ScenarioName
  what: string
  /** The verdict the pane SHOULD get (a classifier that disagrees is wrong, not the fixture). */
  expected: Classification['verdict']
  /** A first-launch screen: the home lacks this answer, no hook fires, no transcript is written. */
  modal?: 'onboarding' | 'trust' | 'bypass'
  /** Seconds from the recording to the limit's (or warning's) reset. */
  resetsIn?: number
}

const HOUR = 3600

export const SCENARIOS: Scenario[] = [
  {expected: 'idle', name: 'text', what: 'a turn answered with text, ended by Stop'},
  {expected: 'idle', name: 'bash', what: 'a turn with a Bash tool call, then the answer, ended by Stop'},
  {expected: 'quota_exhausted', name: 'limit-five-hour', resetsIn: 3 * HOUR, what: 'a five_hour usage limit on the first request'},
  {expected: 'quota_exhausted', name: 'limit-after-tool', resetsIn: 2 * HOUR, what: 'a Bash tool call, then a five_hour usage limit on the next request'},
  {expected: 'quota_exhausted', name: 'limit-weekly', resetsIn: 72 * HOUR, what: 'a seven_day (weekly) usage limit on the first request'},
  {expected: 'quota_exhausted', name: 'limit-no-reason', resetsIn: 4 * HOUR, what: "a five_hour limit without the overage-disabled-reason header: just 'You've hit your limit'"},
  {expected: 'server_error', name: 'error-500', what: 'a 500 with CLAUDE_CODE_MAX_RETRIES=0: the final error'},
  {expected: 'server_error', name: 'error-529', what: 'a 529 (overloaded) with CLAUDE_CODE_MAX_RETRIES=0: the final error'},
  {expected: 'auth_error', name: 'error-401', what: 'a 401 under gateway auth: Not logged in'},
  {expected: 'idle', name: 'usage-warning', resetsIn: 2 * HOUR, what: 'a turn answered with an allowed_warning at 93% of the 5-hour limit'},
  {expected: 'awaiting_input', modal: 'onboarding', name: 'modal-theme', what: 'a home without hasCompletedOnboarding: the theme picker'},
  {expected: 'awaiting_input', modal: 'trust', name: 'modal-trust', what: 'a home that never trusted the folder: the folder-trust screen'},
  {expected: 'awaiting_input', modal: 'bypass', name: 'modal-bypass', what: 'a home without skipDangerousModePermissionPrompt: the bypass-permissions warning'},
  {
    // Read from the pane alone the redrawn banner is a limit; only the records (a SessionStart
    // `resume` newer than the limit record) tell it from a new one, and the combined verdict does.
    expected: 'quota_exhausted',
    name: 'resumed-after-limit',
    resetsIn: 3 * HOUR,
    what: 'a five_hour limit on main, then the conversation resumed on backup with no message typed: the banner redrawn',
  },
]

/** The prompt that starts a scenario; the fake API (and nothing else) reads the marker. */
export function scenarioPrompt(scenario: Scenario): string {
  const bash = scenario.name === 'bash' || scenario.name === 'limit-after-tool' ? ' BASH:echo step-one-done' : ''
  return `SCENARIO ${scenario.name}: do the work.${bash}`
}

/** The transcript fields the tool reads from a conversation's last message record. */
export interface TranscriptEssentials {
  type: string
  isApiErrorMessage: boolean
  error: string | null
  apiError: string | null
  apiErrorStatus: number | null
  apiErrorType: string | null
  apiErrorIsTransient: boolean | null
  /** `apiErrorParams.rate_limit_info`, `resetsAt` given relative to the scenario's reset. */
  rateLimitInfo: Record<string, unknown> | null
  model: 'synthetic' | 'model'
  stopReason: string | null
  /** The text of an error record (its reset clock masked); null for a model's answer. */
  text: string | null
}

/** A hook record as the tool stored it, reduced to what it reads. */
export interface HookEssentials {
  event: string
  source: string | null
  error: string | null
  /** 2.1.328 never sends `error_details`: the key must be absent. */
  hasErrorDetails: boolean
  /** StopFailure's banner or error text (reset clock masked); Stop's answer is only "some text". */
  message: string | null
}

/** Everything recorded for one scenario. */
export interface Observation {
  /** `tmux capture-pane -p -J`, the sandbox folder written as `<sandbox>`, conversation ids as `<conversation>`. */
  pane: string
  /** The capture moment and the zone of the Claude Code process: classify the pane with these. */
  capturedAt: string
  timeZone: string
  /** Epoch seconds of the scripted reset (limit or warning), or null. */
  resetsAt: number | null
  /** The classifier's reading of the pane when it was recorded (kept for the record; it may be wrong). */
  paneVerdict: Pick<Classification, 'verdict' | 'scope' | 'pattern'>
  /**
   * The verdict of the pane, the newest hook record and the transcript together (combineSignals, as
   * `quota check` reads a session before its own rule for a freshly resumed conversation).
   */
  combinedVerdict: Classification['verdict']
  /** The hook records, volatile fields masked. */
  hooks: Record<string, unknown>[]
  /** The conversation's last message record, reduced; null when there is none (a modal). */
  transcript: TranscriptEssentials | null
}

/** A fixture file: the observation, the scenario, the version that produced it. */
export interface Fixture extends Observation {
  scenario: ScenarioName
  what: string
  claudeCode: string
  expectedVerdict: Classification['verdict']
  normalized: string
}

export const NORMALIZED =
  'pane and hooks: the sandbox folder is <sandbox>, the conversation id is <conversation>, the binary on a launch line is <claude>, hook timestamps are <ts>; reset clocks, turn durations and the Claude Code version line are kept as captured (capturedAt and timeZone replay the classifier). transcript.rateLimitInfo.resetsAt is <resetsAt> when it equals the scripted reset. transcript.text and hook messages keep the clock; essentials() masks it.'

/**
 * `resets 8:21pm (UTC)`, `resets Dec 8, 7:25pm (UTC)` → `resets <clock> (UTC)`, and the fake API's
 * port in `inference gateway (127.0.0.1:42817)`: both differ every run.
 */
export function maskClock(text: string): string {
  return text.replace(/resets [^(·\n]*?\(([^)]+)\)/g, 'resets <clock> ($1)').replace(/\(127\.0\.0\.1:\d+\)/g, '(127.0.0.1:<port>)')
}

/** Replaces every occurrence of the sandbox folder, the conversation id and the binary's path (on a modal's launch line). */
function maskPaths(text: string, sandbox: string, conversation: string, binary: string | null): string {
  let out = text.replaceAll(sandbox, '<sandbox>').replaceAll(conversation, '<conversation>')
  if (binary) out = out.replaceAll(binary, '<claude>')
  return out
}

function maskHook(record: SignalRecord, sandbox: string, conversation: string): Record<string, unknown> {
  const masked = JSON.parse(maskPaths(JSON.stringify(record), sandbox, conversation, null)) as Record<string, unknown>
  return {...masked, ts: '<ts>'}
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null)

function reduceTranscript(records: Record<string, unknown>[], resetsAt: number | null): TranscriptEssentials | null {
  const last = records.filter((r) => r.type === 'assistant').at(-1)
  if (!last) return null
  const message = (last.message ?? {}) as {model?: string; stop_reason?: string | null; content?: {type?: string; text?: string}[]}
  const params = last.apiErrorParams as {rate_limit_info?: Record<string, unknown>} | undefined
  const info = params?.rate_limit_info ? {...params.rate_limit_info} : null
  if (info && resetsAt !== null && info.resetsAt === resetsAt) info.resetsAt = '<resetsAt>'
  const isError = last.isApiErrorMessage === true
  return {
    apiError: str(last.apiError),
    apiErrorIsTransient: typeof last.apiErrorIsTransient === 'boolean' ? last.apiErrorIsTransient : null,
    apiErrorStatus: typeof last.apiErrorStatus === 'number' ? last.apiErrorStatus : null,
    apiErrorType: str(last.apiErrorType),
    error: str(last.error),
    isApiErrorMessage: isError,
    model: message.model === '<synthetic>' ? 'synthetic' : 'model',
    rateLimitInfo: info,
    stopReason: message.stop_reason ?? null,
    text: isError ? (message.content ?? []).map((part) => part.text ?? '').join('\n') : null,
    type: String(last.type),
  }
}

/** Reduces what one scenario left behind to an Observation. */
export function observe(input: {
  pane: string
  signals: SignalRecord[]
  transcript: Record<string, unknown>[]
  sandbox: string
  conversation: string
  /** The program's path, when a capture may show the line that launched it. */
  binary?: string
  capturedAt: Date
  timeZone: string
  resetsAt: number | null
}): Observation {
  const options = {now: input.capturedAt, timeZone: input.timeZone}
  const pane = classifyPane(input.pane, options)
  const combined = combineSignals({hook: input.signals.at(-1), pane, transcript: input.transcript}, options)
  return {
    capturedAt: input.capturedAt.toISOString(),
    combinedVerdict: combined.verdict,
    hooks: input.signals.map((record) => maskHook(record, input.sandbox, input.conversation)),
    pane: maskPaths(input.pane, input.sandbox, input.conversation, input.binary ?? null),
    paneVerdict: {pattern: pane.pattern, scope: pane.scope, verdict: pane.verdict},
    resetsAt: input.resetsAt,
    timeZone: input.timeZone,
    transcript: reduceTranscript(input.transcript, input.resetsAt),
  }
}

/**
 * Today's classifier over what was recorded, with the capture's moment and zone: the pane's verdict,
 * and the verdict of the pane, the newest hook record and the transcript's last record together.
 * (The verdicts stored in a fixture are those of the classifier it was recorded with.)
 */
export function replayVerdict(observation: Observation): {verdict: Classification['verdict']; scope: Classification['scope']; combined: Classification['verdict']} {
  const options = {now: new Date(observation.capturedAt), timeZone: observation.timeZone}
  const pane = classifyPane(observation.pane, options)
  const t = observation.transcript
  const last = t && {
    apiError: t.apiError ?? undefined,
    apiErrorParams: t.rateLimitInfo ? {rate_limit_info: {...t.rateLimitInfo, resetsAt: (t.rateLimitInfo.resetsAt === '<resetsAt>' ? observation.resetsAt : t.rateLimitInfo.resetsAt) as number | undefined}} : undefined,
    apiErrorStatus: t.apiErrorStatus ?? undefined,
    error: t.error ?? undefined,
    isApiErrorMessage: t.isApiErrorMessage,
    message: {content: t.text === null ? [] : [{text: t.text, type: 'text'}], model: t.model === 'synthetic' ? '<synthetic>' : 'model'},
    type: t.type,
  }
  const hook = observation.hooks.at(-1)
  const combined = combineSignals({...(hook ? {hook: {...hook, event: String(hook.event), ts: null}} : {}), pane, transcript: last ? [last] : []}, options)
  return {combined: combined.verdict, scope: pane.scope, verdict: pane.verdict}
}

/** What must be the same between the real binary and the simulator (and between two real runs). */
export function essentials(observation: Observation): {hooks: HookEssentials[]; transcript: TranscriptEssentials | null} {
  const hooks = observation.hooks.map((record) => ({
    error: str(record.error),
    event: String(record.event),
    hasErrorDetails: 'error_details' in record,
    message: record.event === 'StopFailure' ? maskClock(str(record.last_assistant_message) ?? '') : record.event === 'Stop' ? (typeof record.last_assistant_message === 'string' ? 'some text' : null) : null,
    source: str(record.source),
  }))
  const transcript = observation.transcript ? {...observation.transcript, text: observation.transcript.text === null ? null : maskClock(observation.transcript.text)} : null
  return {hooks, transcript}
}

export function readFixture(version: string, name: ScenarioName): Fixture {
  return JSON.parse(readFileSync(join(fixtureDir(version), `${name}.json`), 'utf8')) as Fixture
}

export function writeFixture(fixture: Fixture): void {
  const path = join(fixtureDir(fixture.claudeCode), `${fixture.scenario}.json`)
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, `${JSON.stringify(fixture, null, 2)}\n`)
}

/** The versions that have recorded fixtures. */
export function recordedVersions(): string[] {
  try {
    return readdirSync(join(ROOT, 'test', 'fixtures', 'real'))
  } catch {
    return []
  }
}
