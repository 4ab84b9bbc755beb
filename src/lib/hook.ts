// The Claude Code hook handler (SPEC §6), run by Claude Code on SessionStart, Stop and StopFailure
// through the settings file every launch passes. It must never stop or slow Claude Code: it prints
// nothing, always exits 0, and gives up after a short deadline, whatever it is given. It knows its
// session and state folder from the environment the launch line set, so it never reads a config.
// A StopFailure that is a usage limit (not a transient or API-key 429) also starts `quota check`
// at once, detached, so the pool fails over in seconds instead of at the next tick.
import {spawn} from 'node:child_process'
import {closeSync, openSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {packageRoot} from './paths.js'
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
export async function handleHook(stream: NodeJS.ReadableStream, env: NodeJS.ProcessEnv, now: () => Date = () => new Date(), startCheck: CheckStarter = startDetachedCheck): Promise<void> {
  const work = (async () => {
    const stateDir = env.CLAUDE_FAILOVER_STATE_DIR
    if (!stateDir || !stateDir.startsWith('/')) return
    const record = signalFromHook(await readInput(stream), env, now())
    if (!record) return
    await appendSignal(stateDir, record)
    const config = env.CLAUDE_FAILOVER_CONFIG
    if (config?.startsWith('/') && (await isUsageLimit(record, now())) && requestCheck(stateDir, now())) startCheck(stateDir, config, env)
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

/** Starts `quota check` for an event; must return at once (the hook never waits for the check). */
export type CheckStarter = (stateDir: string, configFile: string, env: NodeJS.ProcessEnv) => void

/** The request file of an event-driven check: present from the hook that asks until a check starts observing. */
export const CHECK_REQUEST = 'quota-check.request'
/** A request older than this was left by a check that never started (killed, crashed): it covers nothing. */
const REQUEST_STALE_MS = 30_000
const LIMIT_ERRORS = new Set(['rate_limit'])

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

/**
 * True when this hook must start a check: it created the request file. Twenty sessions hitting the
 * limit in the same second make one check, not twenty: the others find the request pending. The
 * check removes the request before it observes, so a limit recorded after that starts another
 * check (which waits for the lock) instead of being missed until the tick.
 */
export function requestCheck(stateDir: string, now: Date): boolean {
  const path = join(stateDir, CHECK_REQUEST)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, `${now.toISOString()}\n`)
      } finally {
        closeSync(fd)
      }

      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false
      const age = now.getTime() - statSync(path, {throwIfNoEntry: false})!.mtimeMs
      if (!(age > REQUEST_STALE_MS)) return false
      try {
        unlinkSync(path)
      } catch {}
    }
  }

  return false
}

/** Consumes the request (quota check, before it observes). */
export function takeCheckRequest(stateDir: string): void {
  try {
    unlinkSync(join(stateDir, CHECK_REQUEST))
  } catch {}
}

// setsid (detached): neither Claude Code ending the hook nor the swap killing this very pane reaches
// the check. Its output goes to a file of the last event-driven check, overwritten each time.
function startDetachedCheck(stateDir: string, configFile: string, env: NodeJS.ProcessEnv): void {
  const out = openSync(join(stateDir, 'quota-check.last.log'), 'w', 0o600)
  try {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'run.js'), 'quota', 'check', '--wait', '--config', configFile], {
      detached: true,
      env,
      stdio: ['ignore', out, out],
    })
    child.on('error', () => {})
    child.unref()
  } finally {
    closeSync(out)
  }
}
