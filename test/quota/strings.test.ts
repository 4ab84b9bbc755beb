// Every template mined from the 2.1.328 binary (test/fixtures/claude-2.1.328-strings.txt) gets its
// verdict in every place Claude Code renders a message: under the `⎿` of a prompt, as the first
// `⎿` of a tool call, after a tool's output, under a tool group, under a subagent, as a `⏺` line,
// and followed by a turn-end line. Generalization by family and placement, not by example.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {classifyPane} from '../../src/lib/quota/classify.js'

const file = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'claude-2.1.328-strings.txt')
const sections: {verdict: string; pattern: string | null; lines: string[]}[] = []
for (const raw of readFileSync(file, 'utf8').split('\n')) {
  const line = raw.trimEnd()
  if (line === '' || line.startsWith('#')) continue
  const heading = /^\[(\w+)(?: (\w+))?\]$/.exec(line)
  if (heading) sections.push({lines: [], pattern: heading[2] ?? null, verdict: heading[1] as string})
  else sections.at(-1)?.lines.push(line)
}

const TIME = '8:21pm (UTC)'
const DATE = 'Dec 8, 7:25pm (UTC)'
const render = (template: string) => template.replaceAll('{time}', TIME).replaceAll('{date}', DATE)
const at = {now: new Date('2026-12-05T18:40:00Z'), timeZone: 'UTC'}
const RULE = '─'.repeat(80)
const INPUT = `\n${RULE}\n❯ \n${RULE}\n  ⏵⏵ bypass permissions on (shift+tab to cycle)\n`

/** The placements of one message (a family is a limit wherever Claude Code draws it). */
export const PLACEMENTS: [string, (message: string) => string][] = [
  ['under a prompt', (m) => `❯ fix the failing tests\n  ⎿  ${m}\n${INPUT}`],
  ['first ⎿ of a tool call', (m) => `❯ fix the failing tests\n\n⏺ Bash(npm test -- --run)\n  ⎿  ${m}\n${INPUT}`],
  ['first ⎿ of an edit', (m) => `❯ fix the failing tests\n\n⏺ Update(src/lib/app.ts)\n  ⎿  ${m}\n${INPUT}`],
  ['after a tool output', (m) => `❯ fix the failing tests\n\n⏺ Bash(npm test)\n  ⎿  PASS  test/a.test.ts\n     Tests  3 passed (3)\n  ⎿  ${m}\n${INPUT}`],
  ['under a tool group', (m) => `❯ fix the failing tests\n  Ran 1 shell command\n  ⎿  ${m}\n${INPUT}`],
  ['under a subagent', (m) => `❯ fix the failing tests\n\n⏺ general-purpose(Investigate the failing test)\n  ⎿  ${m}\n${INPUT}`],
  ['as a ⏺ line', (m) => `❯ fix the failing tests\n\n⏺ ${m}\n${INPUT}`],
  ['before a turn-end line', (m) => `❯ fix the failing tests\n\n⏺ Bash(ls)\n  ⎿  ${m}\n\n✻ Cooked for 0s\n${INPUT}`],
]

const expectedReset = (template: string): string | null | undefined =>
  template.includes('{date}') ? '2026-12-08T19:25:00.000Z' : template.includes('{time}') || template.includes('8:21pm') ? '2026-12-05T20:21:00.000Z' : undefined

describe('2.1.328 templates, in every placement', () => {
  for (const section of sections.filter((s) => s.pattern === null)) {
    describe(section.verdict, () => {
      it.each(section.lines)('%s', (template) => {
        const message = render(template)
        for (const [place, frame] of PLACEMENTS) {
          const result = classifyPane(frame(message), at)
          expect(result.verdict, `${place}: ${JSON.stringify(result)}`).toBe(section.verdict)
          const reset = expectedReset(template)
          if (section.verdict === 'quota_exhausted' && reset !== undefined) expect(result.reset_at, place).toBe(reset)
        }
      })
    })
  }
})

describe('2.1.328 dialogs', () => {
  for (const section of sections.filter((s) => s.pattern !== null)) {
    it.each(section.lines)(`${section.verdict} ${section.pattern}: %s`, (heading) => {
      const items = section.pattern === 'limit_menu' ? ['❯ 1. Stop and wait for limit to reset', '  2. Wait here, then continue automatically at 8:21pm'] : ['❯ Yes', '  No']
      // No "Enter to confirm" line: the theme picker has none, and the heading alone must do.
      const pane = `\n ${heading}\n\n ${items.join('\n ')}\n`
      expect(classifyPane(pane, at)).toMatchObject({pattern: section.pattern, verdict: section.verdict})
    })
  }
})

describe('the mined file', () => {
  it('covers every family the classifier answers', () => {
    const verdicts = new Set(sections.map((s) => s.verdict))
    for (const verdict of ['quota_exhausted', 'rate_limited', 'server_error', 'auth_error', 'idle', 'awaiting_input']) expect(verdicts).toContain(verdict)
    expect(sections.find((s) => s.verdict === 'quota_exhausted' && s.pattern === null)?.lines.length).toBeGreaterThanOrEqual(30)
  })
})
