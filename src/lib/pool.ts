// The sessions this tool owns: the autonomous pool `[start_index, start_index + max)` of names
// `prefix + index` (the Go daemon once iterated 0..max and never found `ccl-auto-11..20`), plus the
// configured dedicated sessions. Nothing else is ever created, killed or typed into.
import type {Config} from './config.js'

import {Tmux} from './tmux.js'

/** The pool's session names in index order. */
export function poolSessionNames(config: Config): string[] {
  const {max, prefix, startIndex} = config.autonomous
  return Array.from({length: max}, (_, i) => `${prefix}${startIndex + i}`)
}

/** The dedicated sessions' names. */
export function dedicatedSessionNames(config: Config): string[] {
  return config.dedicated.map((d) => d.session)
}

/** A predicate true exactly for the pool's and the dedicated sessions' names. */
export function ownedSessions(config: Config): (name: string) => boolean {
  const names = new Set([...poolSessionNames(config), ...dedicatedSessionNames(config)])
  return (name) => names.has(name)
}

/** The tmux client for this config: its socket, its timeout, and the ownership guard. */
export function tmuxFor(config: Config, extra: {extraArgs?: string[]} = {}): Tmux {
  return new Tmux({
    owns: ownedSessions(config),
    timeoutMs: config.tmux.timeoutMs,
    ...(config.tmux.socket ? {socket: config.tmux.socket} : {}),
    ...extra,
  })
}
