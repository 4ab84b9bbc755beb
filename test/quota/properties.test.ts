// Properties of the pane classifier over generated screens:
//  1. a limit stays a limit in any frame Claude Code draws around it (tool calls, edits, tool
//     groups, subagents, earlier turns, turn-end lines, colours, 1.x and 2.x input boxes);
//  2. no screen that is not a limit becomes one by adding Claude Code's chrome (spinners,
//     turn-end lines, tool calls with their output, tool groups, headers, footers) between blocks.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {classifyPane} from '../../src/lib/quota/classify.js'

const at = {now: new Date('2026-12-05T18:40:00Z'), timeZone: 'UTC'}
const RULE = '─'.repeat(80)

const BANNERS: [string, string | null][] = [
  ["You've hit your 5-hour limit · resets 8:21pm (UTC)", '2026-12-05T20:21:00.000Z'],
  ["You've hit your weekly limit · resets Dec 8, 7:25pm (UTC)", '2026-12-08T19:25:00.000Z'],
  ["You've hit your Opus limit · resets 9pm (UTC)", '2026-12-05T21:00:00.000Z'],
  ["You've hit your limit · resets 10:08pm (UTC)", '2026-12-05T22:08:00.000Z'],
  ["You've hit your session limit · resets 8:21pm (UTC)", '2026-12-05T20:21:00.000Z'],
  ["You're out of usage credits · resets 8:21pm (UTC) · progress saved", '2026-12-05T20:21:00.000Z'],
  ['5-hour limit reached ∙ resets 9pm', '2026-12-05T21:00:00.000Z'],
  ['Claude usage limit reached. Your limit will reset at 9pm (UTC).', '2026-12-05T21:00:00.000Z'],
  ['Claude AI usage limit reached|1796502118', '2026-12-05T20:21:58.000Z'],
  ["You've hit your org's monthly spend limit · ask your admin for a higher limit", null],
]

const toolName = fc.constantFrom('Bash', 'Read', 'Update', 'Write', 'Edit', 'Grep', 'Glob', 'WebFetch', 'Task', 'general-purpose', 'Explore')
const args = fc.stringMatching(/^[a-z0-9 ./_-]{1,40}$/)
const outputLine = fc.constantFrom('PASS  test/a.test.ts', 'Tests  3 passed (3)', 'src/lib/app.ts', '(No content)', 'Updated src/app.ts with 2 additions and 1 removal', '14 +  const x = 1', 'Found 3 files')
const history = fc.array(
  fc.constantFrom('❯ earlier question\n\n⏺ An earlier answer.\n\n✻ Worked for 4s\n', '❯ run it\n\n⏺ Bash(ls)\n  ⎿  a.txt\n     b.txt\n\n⏺ Two files.\n'),
  {maxLength: 2},
)

// Where the banner goes: [the frame around it, whether Claude Code could have printed it there].
const frame = fc.oneof(
  fc.record({name: toolName, args}).map(({args: a, name}) => (m: string) => `⏺ ${name}(${a})\n  ⎿  ${m}`),
  fc.record({name: toolName, args, out: fc.array(outputLine, {maxLength: 3, minLength: 1})}).map(({args: a, name, out}) => (m: string) => `⏺ ${name}(${a})\n  ⎿  ${out.join('\n     ')}\n  ⎿  ${m}`),
  fc.constantFrom('Ran 1 shell command', 'Ran 3 shell commands', 'Read 2 files (ctrl+o to expand)', 'Searched for 1 pattern, read 2 files (ctrl+o to expand)').map((group) => (m: string) => `  ${group}\n  ⎿  ${m}`),
  fc.constant((m: string) => `  ⎿  ${m}`),
  fc.constant((m: string) => `⏺ ${m}`),
)
const colour = fc.constantFrom((m: string) => m, (m: string) => `\u001B[1;31m${m}\u001B[0m`, (m: string) => `\u001B[38;5;174m${m}\u001B[39m`)
const ending = fc.constantFrom('', '\n✻ Cooked for 0s\n', '\n✻ Sautéed for 1s · done 5:42 PM\n')
const input = fc.constantFrom(
  `\n${RULE}\n❯ \n${RULE}\n  ⏵⏵ bypass permissions on (shift+tab to cycle)\n`,
  `\n${RULE}\n❯ \n${RULE}\n  ⏵⏵ auto mode on (shift+tab to cycle) · ← for agents\n`,
  '\n╭──────────────────────────────────────╮\n│ >                                    │\n╰──────────────────────────────────────╯\n  ? for shortcuts\n',
  '',
)

describe('a limit stays a limit in any frame Claude Code draws', () => {
  it('keeps the verdict and the reset', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BANNERS), history, frame, colour, ending, input, ([banner, reset], before, place, paint, end, box) => {
        const pane = `${before.join('\n')}\n❯ fix the failing tests\n\n${place(paint(banner))}\n${end}${box}`
        const result = classifyPane(pane, at)
        expect(result, pane).toMatchObject({reset_at: reset, verdict: 'quota_exhausted'})
      }),
      {numRuns: 300},
    )
  })
})

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'panes')
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, {verdict: string; now: string; tz: string}>
const calm = Object.entries(index).filter(([, label]) => label.verdict !== 'quota_exhausted')

const chrome = fc.constantFrom(
  '✻ Cooked for 3s',
  '✻ Sautéed for 1s · done 5:42 PM',
  '✢ Pondering… (12s · ↓ 1.2k tokens · esc to interrupt)',
  '⏺ Bash(npm test)\n  ⎿  PASS  test/a.test.ts\n     Tests  3 passed (3)',
  '⏺ Read(src/lib/app.ts)\n  ⎿  Read 120 lines',
  '⏺ Update(src/lib/app.ts)\n  ⎿  Updated src/lib/app.ts with 1 addition\n       14 +  const limit = 1',
  '  Ran 2 shell commands',
  '⏺ Read 2 files (ctrl+o to expand)',
  '⏺ general-purpose(Investigate)\n  ⎿  Done (4 tool uses · 12k tokens · 31s)',
  '  ⎿  Interrupted · What should Claude do instead?',
  '⏺ The tests pass now.',
)
const header = fc.constantFrom('', '╭───────────────────────────────────────────╮\n│ ✻ Welcome to Claude Code!                 │\n│   /help for help, /status for your setup  │\n╰───────────────────────────────────────────╯\n')
const footer = fc.constantFrom('', '  ⏵⏵ bypass permissions on (shift+tab to cycle)', '                                                   ◐ medium · /effort')

describe('adding Claude Code chrome never makes a limit', () => {
  it.each(calm)('%s', (file, label) => {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n')
    // Chrome goes between blocks: at a blank line with content below, so no line changes who
    // printed it and whatever held the bottom of the screen (a shell, a dialog) still does.
    const lastContent = lines.findLastIndex((line) => line.trim() !== '')
    const gaps = lines.flatMap((line, i) => (line.trim() === '' && i < lastContent ? [i] : []))
    const options = {now: new Date(label.now), timeZone: label.tz}
    const shell = ['shell_prompt', 'claude_not_started'].includes(classifyPane(lines.join('\n'), options).pattern)
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), chrome), {maxLength: 3}), header, footer, (inserts, top, bottom) => {
        const out = [...lines]
        for (const [pick, block] of [...inserts].sort((a, b) => b[0] - a[0])) {
          if (gaps.length === 0) break
          const gap = gaps[pick % gaps.length] as number
          out.splice(gap, 0, '', block)
        }

        const pane = `${top}${out.join('\n')}${bottom === '' || shell ? '' : `\n${bottom}`}`
        expect(classifyPane(pane, options).verdict, pane).not.toBe('quota_exhausted')
      }),
      {numRuns: 25},
    )
  })
})
