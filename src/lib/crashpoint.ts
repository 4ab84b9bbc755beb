// Named crash points for the crash-safety suite: CLAUDE_FAILOVER_CRASH_AT=<name> makes the process
// SIGKILL itself there, the way a power cut or the OOM killer would, with no cleanup at all.

/** Kills this process with SIGKILL when CLAUDE_FAILOVER_CRASH_AT names this point. */
export function crashpoint(name: string): void {
  if (process.env.CLAUDE_FAILOVER_CRASH_AT === name) process.kill(process.pid, 'SIGKILL')
}
