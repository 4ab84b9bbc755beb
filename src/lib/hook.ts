// The Claude Code hook handler (SPEC §6), run by Claude Code on SessionStart, Stop and StopFailure
// through the settings file every launch passes. It must never stop or slow Claude Code: it prints
// nothing, always exits 0, and gives up after a short deadline, whatever it is given. It knows its
// session and state folder from the environment the launch line set, so it never reads a config.
// Two events also start a command at once, detached, instead of leaving it to the next tick: a
// StopFailure that is a usage limit (not a transient or API-key 429) starts `quota check`, so the
// pool fails over in seconds; a Stop of a session working on a task starts `dispatch`, so the
// finished task is settled and the next one typed in about a second. Which are on is in the hook
// command's environment (CLAUDE_FAILOVER_ON), written from the config by ensureHooksSettings.
import {type EventRun, type HookTrigger, type Starter, startDetached, tasksWaiting, triggerRun} from './event-run.js'
import {combineSignals, type TranscriptRecord} from './quota/signals.js'
import {appendSignal, type SignalRecord, signalFromHook} from './signals.js'
import {parseJsonLines, readTail} from './tail.js'

const DEADLINE_MS = 2000
const MAX_INPUT = 1024 * 1024

/** All of `stream` as text, cut at 1 MiB (a hook's or statusLine's input is a few kilobytes). */
export async function readInput(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buffer.length
    if (size > MAX_INPUT) break
    chunks.push(buffer)
  }

  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Reads the event from `stream` and records it; resolves (never rejects) within the deadline, and
 * then destroys `stream`: a writer that holds stdin open without ending it (seen: 8 s) must not keep
 * the process alive. The caller exits at once after (a write blocked in the kernel cannot be undone).
 */
export async function handleHook(stream: NodeJS.ReadableStream, env: NodeJS.ProcessEnv, now: () => Date = () => new Date(), start: Starter = startDetached): Promise<void> {
  const work = (async () => {
    const stateDir = env.CLAUDE_FAILOVER_STATE_DIR
    if (!stateDir || !stateDir.startsWith('/')) return
    const record = signalFromHook(await readInput(stream), env, now())
    if (!record) return
    await appendSignal(stateDir, record)
    const config = env.CLAUDE_FAILOVER_CONFIG
    if (!config?.startsWith('/')) return
    const on = hookTriggers(env)
    const run: EventRun | undefined = on.has('stop') && isTaskStop(record) && tasksWaiting(stateDir) ? 'dispatch' : on.has('limit') && (await isUsageLimit(record, now())) ? 'quota-check' : undefined
    if (run) triggerRun(run, stateDir, config, env, now(), start)
  })().catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DEADLINE_MS)
    timer.unref()
  })
  await Promise.race([work, deadline])
  if (timer) clearTimeout(timer)
  const destroyable = stream as Partial<Pick<NodeJS.ReadStream, 'destroy'>>
  if (typeof destroyable.destroy === 'function') destroyable.destroy()
}

/**
 * The triggers that are on, from CLAUDE_FAILOVER_ON (`limit,stop`). Without it, a config path alone
 * means `limit`: the settings file 0.5.0 wrote, which sessions launched before an upgrade still use.
 */
export function hookTriggers(env: NodeJS.ProcessEnv): Set<HookTrigger> {
  const on = env.CLAUDE_FAILOVER_ON
  if (on === undefined) return new Set(env.CLAUDE_FAILOVER_CONFIG ? ['limit'] : [])
  return new Set(on.split(',').filter((t): t is HookTrigger => t === 'limit' || t === 'stop'))
}

const LIMIT_ERRORS = new Set(['rate_limit'])

// A Stop of a session launched on a task (CLAUDE_FAILOVER_TASK: only dispatch and the swap's resume
// of a pool session set it) is, at the first clean one of its conversation, the task's end; it
// starts a pass when a task waits for the freed session (WAITING_MARK in event-run.ts). A Stop
// without a task is a dedicated session's turn (or a pool session's blank relaunch): the queues
// are no different after it, so it starts nothing, and an operator's turns cost no dispatch each.
// A Stop whose message is a limit or an error (Claude Code ≤ 2.1.77) starts a pass all the same:
// telling it apart needs the pane classifier, too heavy for a hook; the pass then settles nothing.
// StopFailure never does: a limit's quota check, or the tick, handles it.
function isTaskStop(record: SignalRecord): boolean {
  return record.event === 'Stop' && record.task !== null
}

// `error: rate_limit` names a usage limit, an API-key 429 and a transient 429 alike: the message
// and the transcript's record (`apiError: usage_limit_reached`, `apiErrorIsTransient`) tell them
// apart, read exactly as quota check reads them.
async function isUsageLimit(record: SignalRecord, now: Date): Promise<boolean> {
  if (record.event !== 'StopFailure' || !LIMIT_ERRORS.has(record.error ?? '')) return false
  let transcript: TranscriptRecord[] = []
  if (record.transcript_path?.startsWith('/')) {
    const tail = await readTail(record.transcript_path, 16 * 1024).catch(() => null)
    const isObject = (value: unknown): value is TranscriptRecord => typeof value === 'object' && value !== null
    if (tail) transcript = parseJsonLines(tail.text.split('\n').slice(-10).join('\n'), isObject)
  }

  return combineSignals({hook: record, transcript}, {now}).verdict === 'quota_exhausted'
}
