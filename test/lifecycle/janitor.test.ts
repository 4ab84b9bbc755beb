// janitor: archive keeps dependents resolved, --dry-run changes nothing (the whole sandbox tree is
// diffed), the real run removes exactly its own garbage (reliability P14), and stale claims are
// requeued only after the pane was checked.
import {randomUUID} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {type Claim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {readRecentEvents} from '../../src/lib/events.js'
import {janitor} from '../../src/lib/janitor/janitor.js'
import {tmux, waitFor} from '../helpers/env.js'
import {json, lifecycleBox, type LifecycleBox, serviceDeps, treeOf} from './helpers.js'

let box: LifecycleBox | undefined
afterEach(async () => {
  await box?.close()
  box = undefined
})

const DAY = 24 * 3600 * 1000

function claim(b: LifecycleBox, task: string, fields: Partial<Claim>): Claim {
  return {
    account: 'main',
    attempt: 1,
    claimed_at: new Date(Date.now() - 600_000).toISOString(),
    conversation_id: randomUUID(),
    cwd: b.project,
    launched_at: new Date(Date.now() - 590_000).toISOString(),
    pid: 1,
    project: 'web',
    retries: 0,
    session: 'ccl-auto-11',
    task,
    timeout_ms: null,
    ...fields,
  }
}

function age(path: string, ms: number): void {
  const when = new Date(Date.now() - ms)
  utimesSync(path, when, when)
}

function write(path: string, content: string, ageMs = 0): void {
  mkdirSync(join(path, '..'), {recursive: true})
  writeFileSync(path, content)
  if (ageMs > 0) age(path, ageMs)
}

describe('janitor', () => {
  it('archives done tasks past archive_after with their sidecars, and their dependents stay resolved', async () => {
    box = await lifecycleBox()
    await box.startServer()
    box.put('done', 'base', 'Lay the base\n')
    writeFileSync(box.path('done', 'base.md.claim'), '{}')
    box.put('inbox', 'app', '---\ndepends_on: [base]\n---\nBuild on it\n')

    // Given a clock eight days on (archive_after is 7d; a done task's age is its ctime, set by the move)
    const later = new Date(Date.now() + 8 * DAY)
    const result = await janitor(box.config, {}, serviceDeps(box, () => later))
    expect(result.actions.filter((a) => a.action === 'archive-task')).toEqual([{action: 'archive-task', finished_at: expect.any(String), project: 'web', task: 'base'}])
    expect(readdirSync(join(box.project, '.agent-queue', 'done'))).toEqual([])
    expect(readdirSync(join(box.project, '.agent-queue', 'archive')).sort()).toEqual(['base.md', 'base.md.claim'])
    // And the run left its line in the audit trail
    expect((await readRecentEvents(box.config.stateDir, 5)).find((e) => e.event === 'janitor')).toMatchObject({actions: {'archive-task': 1}})

    // Then the dependent is still ready (the gate looks in archive/ too)
    const dispatch = json<{dispatched: {task: string}[]; blocked: unknown[]}>(await box.cli(['dispatch', '--dry-run', '--json']))
    expect(dispatch.dispatched.map((d) => d.task)).toEqual(['app'])
    expect(dispatch.blocked).toEqual([])
    // And a second pass has nothing to archive
    expect((await janitor(box.config, {}, serviceDeps(box, () => later))).actions.filter((a) => a.action === 'archive-task')).toEqual([])
  })

  it('--dry-run lists everything and changes nothing; the real run removes exactly its own garbage', async () => {
    box = await lifecycleBox('janitor: {archive_after: 1s, events_max_bytes: 4096}')
    const state = box.config.stateDir
    const hour = 3600 * 1000
    // Queue: tasks in every state, markers, an old and a young temp file, a foreign dot-file.
    box.put('inbox', 'waiting', 'Wait\n')
    box.put('inbox', 'blocked', '---\ndepends_on: [nothing]\n---\nx\n')
    writeFileSync(box.path('inbox', 'blocked.md.blocked'), 'depends on nothing\n')
    box.put('done', 'old', 'Old\n')
    box.put('failed', 'broke', 'Broke\n')
    writeFileSync(box.path('failed', 'broke.md.reason'), 'timed out\n')
    write(box.path('inbox', '.waiting.md.tmp-123-abc-1'), 'partial', 2 * hour)
    write(box.path('inbox', '.waiting.md.tmp-123-abd-2'), 'partial')
    write(box.path('inbox', '.editor-swap.tmp'), 'not ours', 2 * hour)
    // State folder: a valid state at generation 300, fences, checkpoints, prompts, signals, events.
    write(join(state, 'state.json'), `${JSON.stringify({generation: 300, version: 1})}\n`)
    for (const n of [1, 44, 45, 299, 300]) write(join(state, 'fence', String(n)), '1\n')
    write(join(state, '.state.json.tmp-9-abc-3'), '{', 2 * hour)
    write(join(state, 'checkpoints', 'ccl-auto-11-20200101T000000000Z.json'), '{}')
    write(join(state, 'checkpoints', 'ccl-auto-11-20200102T000000000Z.json'), '{}')
    write(join(state, 'checkpoints', 'gone-session-20200101T000000000Z.json'), '{}')
    write(join(state, 'checkpoints', 'notes.txt'), 'not ours')
    write(join(state, 'prompts', 'web', 'finished.md'), 'prompt', 2 * hour)
    const old = new Date(Date.now() - 5 * DAY).toISOString()
    const recent = new Date().toISOString()
    const record = (event: string, ts: string) => `${JSON.stringify({conversation_id: null, event, session: 'ccl-auto-11', ts})}\n`
    write(join(state, 'signals', 'ccl-auto-11.jsonl'), record('SessionStart', old) + record('Stop', old) + record('Stop', old) + record('Stop', recent))
    write(join(state, 'signals', 'sim-ghost.jsonl'), record('Stop', recent))
    write(join(state, 'events.jsonl'), `${JSON.stringify({event: 'x', pad: 'y'.repeat(5000), ts: recent})}\n`)
    await new Promise((resolve) => setTimeout(resolve, 1100))

    const before = treeOf(box.dir)
    const dry = json<{actions: {action: string; path?: string}[]; dry_run: boolean}>(await box.cli(['janitor', '--dry-run', '--json']))
    expect(treeOf(box.dir)).toEqual(before)
    expect(dry.dry_run).toBe(true)
    const planned = dry.actions.map((a) => `${a.action} ${(a.path ?? '').replace(`${box!.dir}/`, '')}`).sort()
    expect(planned).toEqual(
      [
        'archive-task ',
        'prune-checkpoint state/checkpoints/ccl-auto-11-20200101T000000000Z.json',
        'prune-checkpoint state/checkpoints/gone-session-20200101T000000000Z.json',
        'prune-fence state/fence/1',
        'prune-fence state/fence/44',
        'prune-prompt state/prompts/web/finished.md',
        'prune-temp state/.state.json.tmp-9-abc-3',
        'prune-temp web/.agent-queue/inbox/.waiting.md.tmp-123-abc-1',
        'remove-signals state/signals/sim-ghost.jsonl',
        'rotate-events state/events.jsonl',
        'trim-signals state/signals/ccl-auto-11.jsonl',
      ].sort(),
    )
    const human = await box.cli(['janitor', '--dry-run'])
    expect(human.stdout).toMatch(/would prune-temp\s+removed temp file/)
    expect(treeOf(box.dir)).toEqual(before)

    // The real run does exactly that, and nothing else.
    const real = json<{actions: {action: string}[]}>(await box.cli(['janitor', '--json']))
    expect(real.actions.map((a) => a.action).sort()).toEqual(dry.actions.map((a) => a.action).sort())
    const after = treeOf(box.dir)
    const removed = Object.keys(before).filter((p) => !(p in after)).sort()
    const added = Object.keys(after).filter((p) => !(p in before)).sort()
    const changed = Object.keys(before).filter((p) => p in after && before[p] !== after[p]).sort()
    expect(removed).toEqual(
      [
        'state/.state.json.tmp-9-abc-3',
        'state/checkpoints/ccl-auto-11-20200101T000000000Z.json',
        'state/checkpoints/gone-session-20200101T000000000Z.json',
        'state/fence/1',
        'state/fence/44',
        'state/prompts/web/finished.md',
        'state/signals/sim-ghost.jsonl',
        'web/.agent-queue/done/old.md',
        'web/.agent-queue/inbox/.waiting.md.tmp-123-abc-1',
      ].sort(),
    )
    expect(added).toEqual(['state/events.jsonl.1', 'web/.agent-queue/archive/old.md'])
    // events.jsonl is the new log (with the rotation event); the signals file was trimmed.
    expect(changed).toEqual(['state/events.jsonl', 'state/signals/ccl-auto-11.jsonl'])
    const kept = readFileSync(join(state, 'signals', 'ccl-auto-11.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {event: string; ts: string})
    // The last SessionStart is kept however old (it names the conversation); old Stops go.
    expect(kept).toEqual([expect.objectContaining({event: 'SessionStart', ts: old}), expect.objectContaining({event: 'Stop', ts: recent})])
    expect(readFileSync(join(state, 'events.jsonl'), 'utf8')).toContain('"event":"events_rotated"')
    // A second run finds nothing more.
    expect(json<{actions: unknown[]}>(await box.cli(['janitor', '--json'])).actions).toEqual([])
  })

  it('requeues a claim whose session now works on another task, but not when the pane still shows the task', async () => {
    box = await lifecycleBox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 3}'})
    await box.startServer()
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-11', 'sleep 600'])
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-12', 'echo working on web/kept; exec sleep 600'])
    for (const id of ['lost', 'newer', 'kept', 'newest']) box.put('dispatched', id, `${id}\n`)
    const minutes = (n: number) => new Date(Date.now() - n * 60_000).toISOString()
    // Given two launched claims on each session, the older one lost (the session runs the newer)
    const lost = claim(box, 'lost', {claimed_at: minutes(20), launched_at: minutes(20), retries: 0, session: 'ccl-auto-11'})
    await writeClaim(box.project, lost)
    await writeClaim(box.project, claim(box, 'newer', {claimed_at: minutes(5), launched_at: minutes(5), session: 'ccl-auto-11'}))
    await writeClaim(box.project, claim(box, 'kept', {claimed_at: minutes(20), launched_at: minutes(20), session: 'ccl-auto-12'}))
    await writeClaim(box.project, claim(box, 'newest', {claimed_at: minutes(5), launched_at: minutes(5), session: 'ccl-auto-12'}))
    // The janitor reads the pane of ccl-auto-12: its echo must be on the screen first.
    await waitFor(async () => (await tmux(box!.socket, ['capture-pane', '-p', '-t', '=ccl-auto-12:'])).stdout.includes('working on web/kept'))

    const result = json<{actions: {action: string; task?: string; counted?: boolean}[]}>(await box.cli(['janitor', '--json']))
    expect(result.actions).toEqual([expect.objectContaining({action: 'requeue-claim', counted: false, session: 'ccl-auto-11', task: 'lost'})])
    expect(existsSync(box.path('inbox', 'lost.md'))).toBe(true)
    expect(existsSync(box.path('dispatched', 'lost.md.claim'))).toBe(false)
    // The run was not the task's fault: recorded, but it does not use the task's (zero) retries.
    const ledger = JSON.parse(readFileSync(box.path('inbox', 'lost.md.attempts'), 'utf8')) as {runs: {counted: boolean; conversation_id: string}[]}
    expect(ledger.runs).toEqual([expect.objectContaining({conversation_id: lost.conversation_id, counted: false})])
    // The pane of ccl-auto-12 shows web/kept: verified before redelivering, so it stays dispatched.
    expect(existsSync(box.path('dispatched', 'kept.md'))).toBe(true)
    expect(json<{actions: unknown[]}>(await box.cli(['janitor', '--json'])).actions).toEqual([])
    // Nothing outside the pool was touched, and both sessions still run.
    expect([...(await box.panes()).keys()].sort()).toEqual(['ccl-auto-11', 'ccl-auto-12', 'keeper'])
  })
})
