// Property (reliability P1, P11): over random queue trees (tasks in every folder, claims launched or
// not, moves cut between link and unlink, orphan sidecars), live, dead and shell sessions, hook
// records and state caches, one reconcile leaves every task in exactly one state with no orphan
// sidecar and at least `min` pool sessions, touches no session outside the pool, and a second
// reconcile right after takes no action. The reconcile service runs for real on real folders; only
// tmux is an in-memory fake (so thousands of worlds run in seconds).
import {randomUUID} from 'node:crypto'
import {linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {SessionInfo, Tmux} from '../../src/lib/tmux.js'

import {parseConfig} from '../../src/lib/config-schema.js'
import {type Claim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {memoryLogger} from '../../src/lib/log.js'
import {ownedSessions} from '../../src/lib/pool.js'
import {queueDir, QUEUE_STATES} from '../../src/lib/queue/layout.js'
import {reconcile} from '../../src/lib/reconcile/reconcile.js'
import {SESSION_STATES, serializeState, type State} from '../../src/lib/state.js'

const NOW = Date.parse('2026-11-21T12:00:00.000Z')
const POOL = ['ccl-auto-11', 'ccl-auto-12', 'ccl-auto-13', 'ccl-auto-14']
const OUTSIDE = 'ccl-9'
const DEDICATED = 'ccl-1-ops'
const SESSIONS = [...POOL, OUTSIDE, DEDICATED]

type PaneKind = 'absent' | 'shell' | 'running' | 'dead'

/** tmux in memory: the same ownership guard and failure on a duplicate name as the real one. */
class FakeTmux {
  readonly panes = new Map<string, {command: string; dead: boolean}>()
  readonly created: string[] = []
  readonly killed: string[] = []
  constructor(private readonly owns: (name: string) => boolean) {}
  async survey(): Promise<{running: boolean; sessions: SessionInfo[]}> {
    const sessions = [...this.panes].map(([name, p]) => ({created: 0, currentCommand: p.command, currentPath: '/w', inMode: false, name, paneDead: p.dead, paneId: '%1', panePid: 1}))
    return {running: true, sessions}
  }

  async requireServer(): Promise<void> {}
  async newSession(name: string): Promise<string> {
    if (!this.owns(name)) throw new Error(`refusing to create ${name}`)
    if (this.panes.has(name)) throw new Error(`duplicate session: ${name}`)
    this.panes.set(name, {command: 'bash', dead: false})
    this.created.push(name)
    return '%9'
  }

  async killSession(name: string): Promise<boolean> {
    if (!this.owns(name)) throw new Error(`refusing to kill ${name}`)
    this.killed.push(name)
    return this.panes.delete(name)
  }

  async capturePanes(names: string[]): Promise<Map<string, string>> {
    return new Map(names.map((name) => [name, `screen of ${name}`]))
  }
}

const taskKind = fc.constantFrom('inbox', 'done', 'failed', 'archive', 'dispatched-bare', 'dispatched-unlaunched', 'dispatched', 'dispatched', 'dispatched', 'twin-inbox', 'twin-done', 'twin-failed')
const signalKind = fc.constantFrom('none', 'start', 'stop', 'other-start')
const task = fc.record({
  kind: taskKind,
  session: fc.constantFrom(...POOL, OUTSIDE),
  retries: fc.integer({max: 2, min: 0}),
  failures: fc.integer({max: 3, min: 0}),
  recorded: fc.boolean(),
  launchedAgoMs: fc.constantFrom(5_000, 120_000, 45 * 60_000, 3 * 3600_000),
  timeoutMs: fc.constantFrom(null, 3600_000),
  signal: signalKind,
})
const orphan = fc.record({
  kind: fc.constantFrom('claim', 'ledger', 'reason'),
  taskIn: fc.constantFrom('inbox', 'done', 'failed', 'archive', 'nowhere'),
})
const record = fc.record({
  state: fc.constantFrom(...SESSION_STATES),
  task: fc.option(fc.nat({max: 9}), {nil: null}),
  watched: fc.boolean(),
})
const world = fc.record({
  min: fc.integer({max: 4, min: 0}),
  paused: fc.boolean(),
  tasks: fc.array(task, {maxLength: 9}),
  orphans: fc.array(orphan, {maxLength: 3}),
  panes: fc.record(Object.fromEntries(SESSIONS.map((s) => [s, fc.constantFrom<PaneKind>('absent', 'shell', 'running', 'running', 'dead')])) as Record<string, fc.Arbitrary<PaneKind>>),
  records: fc.dictionary(fc.constantFrom(...SESSIONS), record, {maxKeys: 4}),
})

type World = typeof world extends fc.Arbitrary<infer W> ? W : never

function where(project: string, id: string): string[] {
  return QUEUE_STATES.filter((s) => readdirSync(queueDir(project, s)).includes(`${id}.md`))
}

async function build(dir: string, w: World) {
  const yaml = [
    'state_dir: ./state',
    'accounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]',
    'shared: {root: ./shared}',
    `autonomous: {prefix: "ccl-auto-", start_index: 11, min: ${w.min}, max: 4}`,
    `dedicated: [{session: ${DEDICATED}, cwd: .}]`,
    'projects: [{name: web, path: ./web}]',
    'watcher: {stall_after: 30m}',
    'dispatcher: {task_timeout: 2h}',
  ].join('\n')
  const config = parseConfig(yaml, join(dir, 'config.yaml'))
  const project = join(dir, 'web')
  for (const s of QUEUE_STATES) mkdirSync(queueDir(project, s), {recursive: true})
  const signals = new Map<string, string[]>()
  const ids: string[] = []
  for (const [i, t] of w.tasks.entries()) {
    const id = `t${i}`
    ids.push(id)
    const inState = (s: (typeof QUEUE_STATES)[number]) => join(queueDir(project, s), `${id}.md`)
    const folder = t.kind.startsWith('twin') || t.kind.startsWith('dispatched') ? 'dispatched' : (t.kind as 'inbox')
    writeFileSync(inState(folder), `task ${id}\n`)
    if (t.kind.startsWith('twin-')) linkSync(inState('dispatched'), inState(t.kind.slice(5) as 'inbox'))
    if (t.kind === 'dispatched-bare' || folder !== 'dispatched') continue
    const conversation = randomUUID()
    const launched = t.kind !== 'dispatched-unlaunched'
    const claim: Claim = {
      account: 'main',
      attempt: 1,
      claimed_at: new Date(NOW - t.launchedAgoMs - 1000).toISOString(),
      conversation_id: conversation,
      cwd: project,
      launched_at: launched ? new Date(NOW - t.launchedAgoMs).toISOString() : null,
      pid: 1,
      project: 'web',
      retries: t.retries,
      session: t.session,
      task: id,
      timeout_ms: t.timeoutMs,
    }
    await writeClaim(project, claim)
    const runs = Array.from({length: t.failures}, () => ({at: new Date(NOW).toISOString(), conversation_id: randomUUID(), counted: true, reason: 'earlier', session: t.session}))
    if (t.recorded) runs.push({at: new Date(NOW).toISOString(), conversation_id: conversation, counted: true, reason: 'this run', session: t.session})
    if (runs.length > 0) writeFileSync(join(queueDir(project, 'inbox'), `${id}.md.attempts`), JSON.stringify({runs}))
    const at = (ms: number) => new Date(NOW - ms).toISOString()
    const lines = signals.get(t.session) ?? []
    const rec = (event: string, conv: string, ts: string) => JSON.stringify({config_dir: null, conversation_id: conv, cwd: project, event, session: t.session, task: `web/${id}`, transcript_path: null, ts})
    if (t.signal !== 'none') lines.push(rec('SessionStart', conversation, at(t.launchedAgoMs - 500)))
    if (t.signal === 'stop') lines.push(rec('Stop', conversation, at(1000)))
    if (t.signal === 'other-start') lines.push(rec('SessionStart', randomUUID(), at(500)))
    signals.set(t.session, lines)
  }

  for (const [i, o] of w.orphans.entries()) {
    const id = `o${i}`
    ids.push(id)
    if (o.taskIn !== 'nowhere') writeFileSync(join(queueDir(project, o.taskIn), `${id}.md`), 'x\n')
    if (o.kind === 'claim') writeFileSync(join(queueDir(project, 'dispatched'), `${id}.md.claim`), '{}')
    if (o.kind === 'ledger' && o.taskIn !== 'inbox') writeFileSync(join(queueDir(project, 'inbox'), `${id}.md.attempts`), '{"runs": []}')
    if (o.kind === 'reason' && o.taskIn !== 'failed') writeFileSync(join(queueDir(project, 'failed'), `${id}.md.reason`), 'why\n')
  }

  mkdirSync(join(config.stateDir, 'signals'), {recursive: true})
  for (const [session, lines] of signals) writeFileSync(join(config.stateDir, 'signals', `${session}.jsonl`), lines.map((l) => `${l}\n`).join(''))

  const state: State = {
    accounts: {},
    active_account: 'main',
    dispatch_paused_until: w.paused ? new Date(NOW + 3600_000).toISOString() : null,
    generation: 0,
    last_swap: null,
    notified: {},
    sessions: {},
    suspect: {},
    swap_journal: null,
    updated_at: null,
    version: 1,
  }
  for (const [name, r] of Object.entries(w.records)) {
    const key = r.task === null ? null : `web/t${r.task}`
    state.sessions[name] = {account: 'main', conversation_id: null, since: new Date(NOW - 3600_000).toISOString(), state: r.state, task: key}
    if (r.watched && key) state.sessions[name].watch = {conversation_id: randomUUID(), pane_hash: 'x', progress_at: new Date(NOW - 3600_000).toISOString(), stalled_at: null}
  }

  writeFileSync(join(config.stateDir, 'state.json'), serializeState(state))
  const tmux = new FakeTmux(ownedSessions(config))
  for (const [name, kind] of Object.entries(w.panes)) {
    if (kind !== 'absent') tmux.panes.set(name, {command: kind === 'running' ? 'claude' : 'bash', dead: kind === 'dead'})
  }

  return {config, ids, project, tmux}
}

describe('reconcile property (fast-check)', () => {
  it('leaves every task in exactly one state, the pool at min, nothing outside it touched; a second run is a no-op', async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const dir = mkdtempSync(join(tmpdir(), 'cf-prop-'))
        try {
          const {config, ids, project, tmux} = await build(dir, w)
          const deps = {home: dir, log: memoryLogger(), now: () => new Date(NOW), tmux: tmux as unknown as Tmux}
          const first = await reconcile(config, {}, deps)
          expect(first.errors).toEqual([])

          for (const id of ids.filter((i) => i.startsWith('t'))) expect(where(project, id), id).toHaveLength(1)
          for (const id of ids.filter((i) => i.startsWith('o'))) expect(where(project, id).length, id).toBeLessThanOrEqual(1)
          // No sidecar is left beside nothing.
          const names = (s: (typeof QUEUE_STATES)[number]) => new Set(readdirSync(queueDir(project, s)))
          const dispatched = names('dispatched')
          for (const n of dispatched) if (n.endsWith('.md.claim')) expect(dispatched.has(n.slice(0, -6)), n).toBe(true)
          const failed = names('failed')
          for (const n of failed) if (n.endsWith('.md.reason')) expect(failed.has(n.slice(0, -7)), n).toBe(true)
          const inbox = names('inbox')
          for (const n of inbox) if (n.endsWith('.md.attempts')) expect(inbox.has(n.slice(0, -9)) || dispatched.has(n.slice(0, -9)), n).toBe(true)
          // Only pool sessions were created or killed; the pool is at least min.
          for (const name of [...tmux.created, ...tmux.killed]) expect(POOL, name).toContain(name)
          const up = POOL.filter((n) => tmux.panes.has(n) && !tmux.panes.get(n)?.dead)
          expect(up.length).toBeGreaterThanOrEqual(w.min)

          const second = await reconcile(config, {}, deps)
          expect(second.actions).toEqual([])
        } finally {
          rmSync(dir, {force: true, recursive: true})
        }
      }),
      {numRuns: Number(process.env.PROPERTY_RUNS ?? 150)},
    )
  }, 120_000)
})
