// Durations as operators write them in YAML and on the command line: `90s`, `5m`, `2h`, `7d`,
// or compounds such as `1h30m` (the Go daemon's time.Duration strings, e.g. `5m0s`, still parse).

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g

/** Parses a duration string into milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim()
  if (!WHOLE.test(trimmed)) return undefined
  let total = 0
  for (const match of trimmed.matchAll(PART)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number)
  }

  // A duration so long it is not a safe integer (`99999…9d`) is not one: it would be stored as null.
  return Number.isSafeInteger(Math.round(total)) ? Math.round(total) : undefined
}

/** Formats milliseconds the way the config writes them: `2h`, `90s`, `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s'
  if (ms < 1000) return `${ms}ms`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, seconds] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= seconds) {
      parts.push(`${Math.floor(rest / seconds)}${unit}`)
      rest %= seconds
    }
  }

  return parts.join('')
}
