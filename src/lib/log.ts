// Logs and progress go to stderr as single lines that read well in journald; stdout carries only
// results (a table, or the one JSON document of --json).

export interface Logger {
  info(message: string): void
  warn(message: string): void
}

/**
 * A logger writing `claude-failover: <message>` lines to a stream (stderr by default). stderr is
 * looked up at the first line only: a quiet run never creates the stream (under systemd a socket to
 * journald, whose set-up is a measurable part of a timer run's start-up).
 */
export function stderrLogger(stream?: NodeJS.WritableStream): Logger {
  const write = (prefix: string, message: string) => {
    const out = stream ?? process.stderr
    out.write(`claude-failover: ${prefix}${message.replaceAll(/[\r\n]+/g, ' ')}\n`)
  }

  return {
    info: (message) => write('', message),
    warn: (message) => write('warning: ', message),
  }
}

/** A logger that keeps its lines, for tests and for `--json` summaries. */
export function memoryLogger(): Logger & {lines: string[]} {
  const lines: string[] = []
  return {
    lines,
    info: (message) => lines.push(message),
    warn: (message) => lines.push(`warning: ${message}`),
  }
}

const traceStart = Date.now()
/** With CLAUDE_FAILOVER_TRACE=1, prints `+<ms> <label>` on stderr: where a run spends its time. */
export function trace(label: string): void {
  if (process.env.CLAUDE_FAILOVER_TRACE) process.stderr.write(`claude-failover: trace +${Date.now() - traceStart}ms ${label}\n`)
}
