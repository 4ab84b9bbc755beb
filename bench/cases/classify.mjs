// The pane classifier on hostile captures: one 100 KB line of a character that made a regex
// backtrack (one line of `/` took 8.9 s in 0.3.1: the shell-prompt test), 100 KB of short lines,
// and 100 KB of ordinary Claude Code screens (the fixture corpus, repeated). Each is timed at
// 100 KB against the same input at 50 KB, in the same run: linear time doubles (2×), quadratic
// quadruples (4×).
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {bestOf, root} from '../lib.mjs'

export const title = 'pane classifier on hostile captures'

const SIZE = 100_000

export async function run() {
  const {classifyPane} = await import(join(root, 'dist', 'lib', 'quota', 'classify.js'))
  const options = {now: new Date('2026-12-05T18:40:00Z'), timeZone: 'UTC'}
  const dir = join(root, 'test', 'fixtures', 'panes')
  const corpus = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n')
  const ordinary = corpus.repeat(Math.ceil(SIZE / corpus.length)).slice(0, SIZE)
  const fill = (unit, size) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
  const cases = [
    ['ordinary panes', (size) => fill(corpus, size)],
    ['one line of `/` (the shell-prompt test)', (size) => fill('/', size)],
    ['one line of `─` (the rule test)', (size) => `${fill('─', size)}x`],
    ['one line of `~`', (size) => fill('~', size)],
    ['one line of `a@`', (size) => fill('a@', size)],
    ['a banner whose reset is digits', (size) => `❯ go\n  ⎿  You've hit your limit · resets ${fill('1 ', size)}`],
    ['one line of `│` and spaces', (size) => `│${fill(' ', size)}│`],
    ['two-character lines', (size) => fill('x\n', size)],
  ]
  const time = (text) => bestOf(9, () => classifyPane(text, options))
  const rows = []
  for (const [name, make] of cases) {
    const half = await time(make(SIZE / 2))
    const wall = await time(make(SIZE))
    rows.push({case: `classify 100 KB: ${name}`, ratio: wall / half, target: '< 3× (linear 2×)', vs: 'same input at 50 KB', wall})
  }

  return rows
}
