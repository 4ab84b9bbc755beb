// A prompt is delivered exactly as written, whatever it starts with or contains: a Markdown list
// (`- Fix…`, which Claude Code would take for an option without `--`), quotes, `$(…)`, backticks
// and a trailing `;` (which the shell must never see as syntax).
import {afterEach, describe, expect, it} from 'vitest'

import {waitFor} from '../helpers/env.js'
import {makePool, type Pool, transcriptPrompts} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

describe('the prompt a session receives', () => {
  it('is the task body verbatim: a leading "-", quotes, $(…), backticks and a trailing ";"', async () => {
    pool = await makePool({turnMs: 200})
    const p = pool
    const bodies = {
      bullets: '- Fix the login bug\n- then add a test for it',
      shell: `Say "hi" and 'bye', never run $(touch /tmp/cf-pwned) or \`id\`; echo done;`,
    }
    p.addTask('bullets', bodies.bullets)
    p.addTask('shell', bodies.shell)
    const result = await p.cli(['dispatch', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).dispatched).toHaveLength(2)

    const prompts = await waitFor(() => {
      const texts = transcriptPrompts(p).map((t) => t.text)
      return texts.length >= 2 ? texts : null
    })
    expect([...(prompts ?? [])].sort()).toEqual(Object.values(bodies).sort())
  })
})
