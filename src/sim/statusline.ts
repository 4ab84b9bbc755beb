// The statusLine as 2.1.328 runs it (seen against a fake API, test/fixtures/statusline/): the
// settings' `statusLine.command` through `sh -c` with the session's JSON on stdin, at start and
// again as the session changes; its stdout is drawn under the input box. The JSON carries
// `rate_limits` only after the first response, and only for a subscription account (here: when the
// account's control file says what its usage is).
import {spawn} from 'node:child_process'

import {defaultResetAt} from './banner.js'

/** How long a statusLine may run before it is killed (its output then not drawn). */
const TIMEOUT_MS = 5000
const MAX_OUTPUT = 16 * 1024

/** The usage percentages after a response, or null before the first one (or on an API-key account). */
export type RateLimits = {five_hour?: number; seven_day?: number} | null

/** The `rate_limits` object of the input: percent used and the reset in epoch seconds per window. */
export function rateLimitsField(usage: NonNullable<RateLimits>, now: Date, resetAt: string | undefined): Record<string, {used_percentage: number; resets_at: number}> {
  const fiveHourReset = resetAt ? new Date(resetAt) : defaultResetAt(now)
  const resets = {five_hour: fiveHourReset.getTime(), seven_day: Math.ceil((now.getTime() + 3 * 86_400_000) / 3_600_000) * 3_600_000}
  const field: Record<string, {used_percentage: number; resets_at: number}> = {}
  for (const window of ['five_hour', 'seven_day'] as const) {
    const used = usage[window]
    if (used !== undefined) field[window] = {resets_at: Math.floor(resets[window] / 1000), used_percentage: used}
  }

  return field
}

/** Runs one statusLine command and resolves with its stdout ('' when it fails or times out). */
export function runStatusLine(command: string, input: string, options: {cwd: string; env: NodeJS.ProcessEnv}): Promise<string> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>
    try {
      child = spawn('/bin/sh', ['-c', command], {cwd: options.cwd, detached: true, env: options.env, stdio: ['pipe', 'pipe', 'ignore']})
    } catch {
      resolve('')
      return
    }

    let output = ''
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, TIMEOUT_MS)
    child.stdout?.on('data', (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8')
    })
    child.on('error', () => {
      clearTimeout(timer)
      resolve('')
    })
    child.on('close', () => {
      clearTimeout(timer)
      resolve(killed ? '' : output)
    })
    child.stdin?.on('error', () => {})
    child.stdin?.end(input)
  })
}

/** One session's statusLine: the command and what every input carries. */
export class StatusLineRunner {
  constructor(
    private readonly command: string,
    private readonly common: {session_id: string; transcript_path: string; cwd: string; model: {id: string; display_name: string}; version: string},
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs the statusLine for the session as it is now; resolves with the lines to draw. */
  async render(rateLimits: RateLimits, now: Date, resetAt: string | undefined): Promise<string[]> {
    const input = {
      ...this.common,
      workspace: {added_dirs: [], current_dir: this.common.cwd, project_dir: this.common.cwd},
      ...(rateLimits ? {rate_limits: rateLimitsField(rateLimits, now, resetAt)} : {}),
    }
    const output = await runStatusLine(this.command, JSON.stringify(input), {cwd: this.common.cwd, env: {...this.env, CLAUDE_PROJECT_DIR: this.common.cwd}})
    return output.split('\n').filter((line, i, all) => !(i === all.length - 1 && line === ''))
  }
}
