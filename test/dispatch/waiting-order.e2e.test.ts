// `dispatch --dry-run` shows the whole queue's order: the ready tasks that get a session, and those
// left for a later pass with their position.
import {utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {runCli, type Sandbox, sandbox, startTmuxServer, tmux, writeTree} from '../helpers/env.js'

let box: Sandbox | undefined
afterEach(async () => {
  if (box) await tmux(box.socket, ['kill-server'])
  box?.cleanup()
  box = undefined
})

describe('dispatch --dry-run', () => {
  it('lists ready tasks without a free session, with their position in the order', async () => {
    // Given a pool of one session and four ready tasks of different priorities
    box = sandbox('projects: [{name: web, path: ./web}]', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
    const inbox = join(box.dir, 'web', '.agent-queue', 'inbox')
    writeTree(inbox, {'low.md': 'Later.\n', 'mid.md': '---\npriority: 5\n---\nSoon.\n', 'top.md': '---\npriority: 9\n---\nFirst.\n'})
    writeFileSync(join(inbox, 'also-low.md'), 'Later still.\n')
    const base = Date.now() - 60_000
    for (const [i, id] of ['low', 'also-low', 'mid', 'top'].entries()) utimesSync(join(inbox, `${id}.md`), new Date(base + i * 1000), new Date(base + i * 1000))
    await startTmuxServer(box.socket)

    const json = await runCli(['dispatch', '--dry-run', '--json', '--config', box.configPath])
    expect(json.code, json.stderr).toBe(0)
    const doc = JSON.parse(json.stdout)
    expect(doc.dispatched.map((d: {task: string}) => d.task)).toEqual(['top'])
    expect(doc.waiting).toEqual([
      {position: 2, priority: 5, project: 'web', task: 'mid'},
      {position: 3, priority: 0, project: 'web', task: 'low'},
      {position: 4, priority: 0, project: 'web', task: 'also-low'},
    ])

    const human = await runCli(['dispatch', '--dry-run', '--config', box.configPath])
    expect(human.stdout).toMatch(/web\/top\s+would dispatch\s+ccl-auto-11/)
    expect(human.stdout).toMatch(/web\/mid\s+waiting #2\s+ready; no free session \(priority 5\)/)
    expect(human.stdout).toMatch(/web\/also-low\s+waiting #4\s+ready; no free session/)
  })
})
