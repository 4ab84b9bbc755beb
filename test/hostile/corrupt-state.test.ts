// Hostile state files through the real CLI (issue 9, reliability P12): state.json of every broken
// kind (0 bytes, truncated, a BOM, NUL bytes, the wrong schema version, a wrong type, a swap
// journal that does not parse or names a removed account) is met by a mutating command (reconcile,
// then dispatch): the file is moved aside byte for byte as state.json.corrupt-<time> (never silently
// reset) or, for a journal it cannot follow, refused with a documented code (never exit 1); the
// command completes; state.json is valid afterwards; and not one task file is lost or changed.
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'

import {parseStateText} from '../../src/lib/state.js'
import {lifecycleBox, type LifecycleBox} from '../lifecycle/helpers.js'

let box: LifecycleBox | undefined
let tried = 0
afterEach(async () => {
  await box?.close()
  box = undefined
})
afterAll(() => {
  console.log(`[hostile] corrupt state: ${tried} hostile state files tried through the CLI; every one quarantined or refused, no task lost`)
})

const VALID = {
  accounts: {},
  active_account: 'main',
  dispatch_paused_until: null,
  generation: 4,
  last_swap: null,
  notified: {},
  sessions: {},
  suspect: {},
  swap_journal: null,
  updated_at: '2026-01-01T00:00:00.000Z',
  version: 1,
}
const valid = `${JSON.stringify(VALID, null, 2)}\n`

const CASES: [string, Buffer][] = [
  ['0 bytes', Buffer.alloc(0)],
  ['truncated', Buffer.from(valid.slice(0, Math.floor(valid.length / 2)))],
  ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)])],
  ['NUL bytes (a torn block)', Buffer.concat([Buffer.from(valid.slice(0, 40)), Buffer.alloc(64), Buffer.from(valid.slice(40))])],
  ['only NUL bytes', Buffer.alloc(512)],
  ['the wrong schema version', Buffer.from(JSON.stringify({...VALID, version: 99}))],
  ['a wrong type (generation as text)', Buffer.from(JSON.stringify({...VALID, generation: 'four'}))],
  ['not an object', Buffer.from('[1, 2, 3]\n')],
  ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
]

function queueTree(b: LifecycleBox): Record<string, string> {
  const out: Record<string, string> = {}
  for (const state of ['inbox', 'done', 'failed', 'archive'] as const) {
    // Task files only: dispatch may add its own `.blocked` notes beside a held-back task.
    for (const name of readdirSync(b.path(state, '')).filter((n) => n.endsWith('.md'))) out[`${state}/${name}`] = createHash('sha256').update(readFileSync(b.path(state, name))).digest('hex')
  }

  return out
}

async function world(): Promise<LifecycleBox> {
  const b = await lifecycleBox('', {lockStale: '2s', pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
  await b.startServer()
  // Held back by a dependency that is not done, so dispatch leaves them in the inbox.
  for (const id of ['one', 'two', 'three']) b.put('inbox', id, `---\ndepends_on: [never]\n---\nTask ${id}\n`)
  b.put('done', 'finished', 'Finished task\n')
  mkdirSync(b.config.stateDir, {recursive: true, mode: 0o700})
  return b
}

describe('corrupt state.json through the CLI', () => {
  it.each(CASES)('%s: quarantined byte for byte, the command completes, nothing in the queue lost', async (_kind, bytes) => {
    box = await world()
    const b = box
    const stateFile = join(b.config.stateDir, 'state.json')
    writeFileSync(stateFile, bytes, {mode: 0o600})
    const queue = queueTree(b)
    tried += 1

    const run = await b.cli(['reconcile', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(JSON.parse(run.stdout).warnings.join('\n')).toMatch(/state\.json was corrupt [\s\S]*moved it aside/)
    const quarantined = readdirSync(b.config.stateDir).filter((n) => n.startsWith('state.json.corrupt-'))
    expect(quarantined).toHaveLength(1)
    expect(readFileSync(join(b.config.stateDir, quarantined[0] as string)).equals(bytes)).toBe(true)
    const events = readFileSync(join(b.config.stateDir, 'events.jsonl'), 'utf8')
    expect(events).toMatch(/"event":"state_corrupt"/)

    // The next commands run on a rebuilt, valid state, and the queue is untouched.
    const dispatched = await b.cli(['dispatch', '--json'])
    expect(dispatched.code, dispatched.stderr).toBe(0)
    if (existsSync(stateFile)) expect(parseStateText(readFileSync(stateFile, 'utf8')).kind).toBe('ok')
    expect(queueTree(b)).toEqual(queue)
    // Quarantined once: no second file, the state is not reset again.
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    expect(readdirSync(b.config.stateDir).filter((n) => n.startsWith('state.json.corrupt-'))).toHaveLength(1)
  })

  it.each([
    ['a journal of the wrong shape', {step: 42, sessions: 'none'}],
    ['a journal naming an unknown account', {from: 'main', id: 'x', reason: 'r', sessions: [], started_at: '2026-01-01T00:00:00.000Z', step: 'planned', to: 'nobody'}],
  ])('a swap_journal that does not parse (%s): no crash, no stack trace, the queue intact', async (_kind, journal) => {
    box = await world()
    const b = box
    const stateFile = join(b.config.stateDir, 'state.json')
    writeFileSync(stateFile, JSON.stringify({...VALID, swap_journal: journal}), {mode: 0o600})
    const queue = queueTree(b)
    tried += 1

    const run = await b.cli(['reconcile', '--json'])
    // Dropped with a warning (0), refused as invalid data (65) or as a config to fix (78): never an
    // internal error (exit 1), which a journal naming a removed account was before the fix.
    expect([0, 65, 78], run.stderr).toContain(run.code)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(run.stderr + run.stdout).toMatch(/journal/i)
    expect(parseStateText(readFileSync(stateFile, 'utf8')).kind).toBe('ok')
    expect(queueTree(b)).toEqual(queue)
    // A second run behaves the same (no wedge into an internal error) and keeps the queue.
    const again = await b.cli(['reconcile', '--json'])
    expect([0, 65, 78]).toContain(again.code)
    expect(queueTree(b)).toEqual(queue)
  })
})
