// Human output: short tables (cli-table3) with colour (chalk, which honours NO_COLOR, FORCE_COLOR
// and non-TTY output). Imported only by commands rendering for a human, never under --json.
import chalk from 'chalk'
import Table from 'cli-table3'

/** A borderless table: a bold header row, then the rows. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    chars: {bottom: '', 'bottom-left': '', 'bottom-mid': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', middle: '  ', right: '', 'right-mid': '', top: '', 'top-left': '', 'top-mid': '', 'top-right': ''},
    head: head.map((h) => chalk.bold(h)),
    style: {border: [], compact: true, head: [], 'padding-left': 0, 'padding-right': 0},
  })
  for (const row of rows) t.push(row.map(String))
  // cli-table3 pads every cell to its column's width, the last one too: one long reason would pad
  // every row of the table to its length.
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}

export const colour = {
  bad: (text: string) => chalk.red(text),
  dim: (text: string) => chalk.dim(text),
  good: (text: string) => chalk.green(text),
  heading: (text: string) => chalk.bold.underline(text),
  warn: (text: string) => chalk.yellow(text),
}

/** A compact relative time: `in 2h13m`, `5m ago`. */
export function relative(iso: string | null, now: Date): string {
  if (!iso) return '-'
  const delta = Date.parse(iso) - now.getTime()
  const abs = Math.abs(delta)
  const minutes = Math.round(abs / 60_000)
  const text = minutes < 1 ? `${Math.round(abs / 1000)}s` : minutes < 120 ? `${minutes}m` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
  return delta >= 0 ? `in ${text}` : `${text} ago`
}
