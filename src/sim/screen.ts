// The terminal side of the simulated screen, drawn the way Ink draws Claude Code: finished lines are
// written once and scroll away; a live region at the bottom (prompt, spinner, modal) is erased and
// redrawn in place. The terminal cursor is hidden and an inverse cell stands in for it.
import {visibleWidth} from './views.js'

/** Where the screen writes: a TTY (for its width) or any stream. */
export interface ScreenOutput {
  write(data: string): unknown
  columns?: number
}

/** Conversation lines above, one live region below. */
export class Screen {
  private region: string[] = []
  private regionRows = 0

  constructor(private readonly out: ScreenOutput) {}

  /** Columns of the terminal (80 when unknown). */
  get width(): number {
    return this.out.columns && this.out.columns > 0 ? this.out.columns : 80
  }

  /** Hides the terminal cursor (the region draws its own). */
  start(): void {
    this.out.write('\u001B[?25l')
  }

  /** Appends finished lines to the conversation, keeping the live region under them. */
  print(lines: string[]): void {
    if (lines.length === 0) return
    this.out.write(this.erase() + lines.map((line) => `${line}\n`).join('') + this.draw(this.region))
  }

  /** Replaces the live region. */
  setRegion(lines: string[]): void {
    this.region = lines
    this.out.write(this.erase() + this.draw(lines))
  }

  /** Removes the live region and shows the cursor again (at exit). */
  stop(): void {
    this.region = []
    this.out.write(this.erase() + '\u001B[?25h')
  }

  private erase(): string {
    if (this.regionRows === 0) return ''
    const up = this.regionRows - 1
    this.regionRows = 0
    return `\r${up > 0 ? `\u001B[${up}A` : ''}\u001B[J`
  }

  private draw(lines: string[]): string {
    const width = this.width
    this.regionRows = lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(visibleWidth(line) / width)), 0)
    return lines.join('\n')
  }
}
