// Hooks as Claude Code runs them (reference §6): settings hold `{"hooks": {"<Event>": [{"matcher":
// "...", "hooks": [{"type": "command", "command": "...", "timeout": <s>}]}]}}`; each matching command
// runs through `sh -c` with the event JSON on stdin. Output and exit codes are ignored here, and a
// command that hangs is killed at its timeout: a hook can never stop the session.
import {spawn} from 'node:child_process'

export type HookEvent = 'SessionStart' | 'UserPromptSubmit' | 'Stop' | 'StopFailure' | 'SessionEnd'

/** One command hook with its timeout. */
export interface HookCommand {
  command: string
  timeoutMs: number
}

interface MatcherGroup {
  matcher: string
  hooks: HookCommand[]
}

/** Hooks by event name, in settings order. */
export type HookTable = Map<string, MatcherGroup[]>

/** Claude Code's default hook timeout: 60 s. */
export const DEFAULT_HOOK_TIMEOUT_MS = 60_000

/** Reads the `hooks` section of one settings object; malformed entries are skipped, never fatal. */
export function parseHooks(settings: unknown, into: HookTable = new Map()): HookTable {
  const hooks = (settings as {hooks?: unknown} | null)?.hooks
  if (!hooks || typeof hooks !== 'object' || Array.isArray(hooks)) return into
  for (const [event, groups] of Object.entries(hooks as Record<string, unknown>)) {
    if (!Array.isArray(groups)) continue
    for (const group of groups as Array<Record<string, unknown> | null>) {
      if (!group || !Array.isArray(group.hooks)) continue
      const commands: HookCommand[] = []
      for (const hook of group.hooks as Array<Record<string, unknown> | null>) {
        if (hook?.type !== 'command' || typeof hook.command !== 'string' || !hook.command.trim()) continue
        const seconds = typeof hook.timeout === 'number' && hook.timeout > 0 ? hook.timeout : undefined
        commands.push({command: hook.command, timeoutMs: seconds === undefined ? DEFAULT_HOOK_TIMEOUT_MS : seconds * 1000})
      }

      const list = into.get(event) ?? []
      list.push({hooks: commands, matcher: typeof group.matcher === 'string' ? group.matcher : ''})
      into.set(event, list)
    }
  }

  return into
}

/**
 * Claude Code's matcher rule: empty or `*` matches everything; letters, digits, `_` and `|` are an
 * exact name or a `|` list; anything else is a regular expression.
 */
export function matcherMatches(matcher: string, value: string | undefined): boolean {
  if (matcher === '' || matcher === '*') return true
  if (value === undefined) return false
  if (/^[\w|]+$/.test(matcher)) return matcher.split('|').includes(value)
  try {
    return new RegExp(matcher).test(value)
  } catch {
    return false
  }
}

/** The commands to run for an event, identical commands once (as Claude Code de-duplicates them). */
export function commandsFor(table: HookTable, event: HookEvent, matchValue?: string): HookCommand[] {
  const seen = new Map<string, HookCommand>()
  for (const group of table.get(event) ?? []) {
    if (!matcherMatches(group.matcher, matchValue)) continue
    for (const hook of group.hooks) if (!seen.has(hook.command)) seen.set(hook.command, hook)
  }

  return [...seen.values()]
}

/**
 * Runs one hook command with `input` on stdin and resolves when it ends or is killed at its timeout.
 * It gets its own session (no controlling terminal, so it cannot read the keys meant for the prompt)
 * and its output goes nowhere (it must not draw over the screen).
 */
export function runHookCommand(hook: HookCommand, input: string, options: {cwd: string; env: NodeJS.ProcessEnv}): Promise<void> {
  return new Promise((resolve) => {
    let child
    try {
      child = spawn('/bin/sh', ['-c', hook.command], {cwd: options.cwd, detached: true, env: options.env, stdio: ['pipe', 'ignore', 'ignore']})
    } catch {
      resolve()
      return
    }

    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, hook.timeoutMs)
    child.on('error', () => {
      clearTimeout(timer)
      resolve()
    })
    child.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
    // A hook that exits without reading its stdin makes this write fail with EPIPE: that is fine.
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

/** Fires hook events for one session with the common fields every event carries. */
export class HookRunner {
  constructor(
    private readonly table: HookTable,
    private readonly common: {session_id: string; transcript_path: string; cwd: string; permission_mode: string},
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs every matching command of `event` in parallel and waits for all of them (never throws). */
  async fire(event: HookEvent, fields: Record<string, unknown>, matchValue?: string): Promise<void> {
    const hooks = commandsFor(this.table, event, matchValue)
    if (hooks.length === 0) return
    const input = JSON.stringify({...this.common, hook_event_name: event, ...fields})
    const env = {...this.env, CLAUDE_PROJECT_DIR: this.common.cwd}
    await Promise.all(hooks.map((hook) => runHookCommand(hook, input, {cwd: this.common.cwd, env})))
  }
}
