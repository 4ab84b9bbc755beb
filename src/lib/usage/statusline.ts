// The statusLine command (issue 16 item 3): Claude Code runs it through the settings file every
// launch passes, on every render, with the session's JSON on stdin; what it prints is the status
// line Claude Code shows. It records the `rate_limits` in that JSON (the account's usage, for free),
// and, because the `--settings` statusLine replaces the user's own (seen with the real 2.1.328),
// runs the one in the account home's settings.json, if any, and passes its output through. It must
// never stop or slow Claude Code: it always exits 0, and gives up at a deadline whatever it is given.
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {readInput} from '../hook.js'
import {recordSample, sampleFromStatusLine} from './records.js'

const MAX_OUTPUT = 64 * 1024
/** How long the user's own statusLine may take before it is killed (its output so far is dropped). */
export const USER_TIMEOUT_MS = 2000
/** How long the whole command may take, the user's statusLine included. */
export const DEADLINE_MS = 2500
/** Set for the user's statusLine: one that runs this command again does nothing the second time. */
const NESTED = 'CLAUDE_FAILOVER_IN_STATUSLINE'

export interface StatusLineOptions {
  now?: () => Date
  userTimeoutMs?: number
  deadlineMs?: number
}

/** The user's own statusLine command from the account home's settings.json, or undefined. */
export async function userStatusLine(home: string | undefined): Promise<string | undefined> {
  if (!home || !home.startsWith('/')) return undefined
  try {
    const settings = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as {statusLine?: {type?: unknown; command?: unknown}}
    const line = settings?.statusLine
    if (line?.type === 'command' && typeof line.command === 'string' && line.command.trim() !== '') return line.command
  } catch {}

  return undefined
}

/**
 * Runs `command` as Claude Code runs a statusLine (`sh -c`, the session's JSON on stdin) and resolves
 * with its stdout, or '' when it fails or outlives `timeoutMs` (its whole process group is killed).
 */
export function runUserStatusLine(command: string, input: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>
    try {
      child = spawn('/bin/sh', ['-c', command], {detached: true, env: {...env, [NESTED]: '1'}, stdio: ['pipe', 'pipe', 'ignore']})
    } catch {
      resolve('')
      return
    }

    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (text: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(text)
    }

    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {}

      finish('')
    }, timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      if (size >= MAX_OUTPUT) return
      chunks.push(chunk.subarray(0, MAX_OUTPUT - size))
      size += chunk.length
    })
    child.on('error', () => finish(''))
    child.on('close', () => finish(Buffer.concat(chunks).toString('utf8')))
    // A command that exits without reading its stdin makes this write fail with EPIPE: that is fine.
    child.stdin?.on('error', () => {})
    child.stdin?.end(input)
  })
}

/**
 * Reads the session's JSON from `stream`, records its rate limits under CLAUDE_FAILOVER_STATE_DIR
 * (for the session CLAUDE_FAILOVER_SESSION, the account CLAUDE_CONFIG_DIR), runs the user's own
 * statusLine alongside, and resolves (never rejects) with what to print, within the deadline.
 */
export async function handleStatusLine(stream: NodeJS.ReadableStream, env: NodeJS.ProcessEnv, options: StatusLineOptions = {}): Promise<string> {
  if (env[NESTED]) return ''
  const now = options.now ?? (() => new Date())
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(''), options.deadlineMs ?? DEADLINE_MS)
    timer.unref()
  })
  const work = (async () => {
    const input = await readInput(stream)
    const home = env.CLAUDE_CONFIG_DIR
    const record = (async () => {
      const stateDir = env.CLAUDE_FAILOVER_STATE_DIR
      const session = env.CLAUDE_FAILOVER_SESSION
      if (!stateDir?.startsWith('/') || !session || !home?.startsWith('/')) return
      const sample = sampleFromStatusLine(input, home, now())
      if (sample) await recordSample(stateDir, session, sample)
    })().catch(() => {})
    const command = await userStatusLine(home)
    const [, output] = await Promise.all([record, command ? runUserStatusLine(command, input, env, options.userTimeoutMs ?? USER_TIMEOUT_MS) : Promise.resolve('')])
    return output
  })().catch(() => '')
  const output = await Promise.race([work, deadline])
  if (timer) clearTimeout(timer)
  const destroyable = stream as Partial<Pick<NodeJS.ReadStream, 'destroy'>>
  if (typeof destroyable.destroy === 'function') destroyable.destroy()
  return output
}
