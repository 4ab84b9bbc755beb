// Facts about what a pane is running, from tmux's #{pane_current_command}.

const SHELLS = new Set(['ash', 'bash', 'dash', 'fish', 'ksh', 'mksh', 'sh', 'tcsh', 'zsh', '-bash', '-sh', '-zsh'])

/** True when the pane's foreground process is a shell (nothing launched, or it has exited). */
export function isShell(currentCommand: string): boolean {
  return SHELLS.has(currentCommand.trim())
}
