// The Claude Code hook handler (SPEC §6), run by Claude Code on SessionStart, Stop and StopFailure
// through the settings file every launch passes. It must never stop or slow Claude Code: it prints
// nothing, always exits 0, and gives up after a short deadline, whatever it is given. It knows its
// session and state folder from the environment the launch line set, so it never reads a config.
import {appendSignal, signalFromHook} from './signals.js'

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
export async function handleHook(stream: NodeJS.ReadableStream, env: NodeJS.ProcessEnv, now: () => Date = () => new Date()): Promise<void> {
  const work = (async () => {
    const stateDir = env.CLAUDE_FAILOVER_STATE_DIR
    if (!stateDir || !stateDir.startsWith('/')) return
    const record = signalFromHook(await readInput(stream), env, now())
    if (record) await appendSignal(stateDir, record)
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
