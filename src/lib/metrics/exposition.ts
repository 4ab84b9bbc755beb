// The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text, written from metric
// families (pure). The two differ only where it matters here: an OpenMetrics counter family is named
// without `_total` (its samples carry it) and the text ends with `# EOF`.
export type MetricType = 'gauge' | 'counter' | 'summary'
export type ExpositionFormat = 'prometheus' | 'openmetrics'

export interface Sample {
  labels?: Record<string, string>
  value: number
  /** For a summary: `_sum` or `_count`. */
  suffix?: '_sum' | '_count'
}

export interface MetricFamily {
  /** The family's name; a counter's without `_total`. */
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** The content type a scraper expects for each format. */
export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
}

/** HELP text: backslash and newline escaped (OpenMetrics also escapes the double quote). */
function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')
  return format === 'openmetrics' ? escaped.replaceAll('"', '\\"') : escaped
}

/** A number as the format writes it: integers plainly, NaN and the infinities by name. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(15)))
}

function labelText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {})
  if (entries.length === 0) return ''
  for (const [name] of entries) if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(name)}`)
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`
}

/** The families as exposition text; a family with no samples is left out. */
export function exposition(families: MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = []
  const seen = new Set<string>()
  for (const family of families) {
    if (!METRIC_NAME.test(family.name) || family.name.endsWith('_total')) throw new Error(`invalid metric family name ${JSON.stringify(family.name)}`)
    if (seen.has(family.name)) throw new Error(`metric family ${family.name} written twice`)
    seen.add(family.name)
    if (family.samples.length === 0) continue
    // Prometheus 0.0.4 names a counter family after its samples (`_total`); OpenMetrics without it.
    const declared = family.type === 'counter' && format === 'prometheus' ? `${family.name}_total` : family.name
    lines.push(`# HELP ${declared} ${escapeHelp(family.help, format)}`, `# TYPE ${declared} ${family.type}`)
    for (const sample of family.samples) {
      const suffix = family.type === 'counter' ? '_total' : (sample.suffix ?? '')
      lines.push(`${family.name}${suffix}${labelText(sample.labels)} ${formatValue(sample.value)}`)
    }
  }

  if (format === 'openmetrics') lines.push('# EOF')
  return `${lines.join('\n')}\n`
}
