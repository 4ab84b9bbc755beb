// The pure planners, from tables: how a launched claim is judged, what the stall watch counts as
// progress, and the thresholds of the janitor.
import {describe, expect, it} from 'vitest'

import type {Claim} from '../../src/lib/dispatch/claims.js'
import type {SignalRecord} from '../../src/lib/signals.js'

import {type JanitorSnapshot, planJanitor} from '../../src/lib/janitor/plan.js'
import {withRun} from '../../src/lib/reconcile/ledger.js'
import {type DispatchedView, judgeClaim, LAUNCH_GRACE_MS, paneHash, planReconcile, type ReconcileSnapshot, type SessionView} from '../../src/lib/reconcile/plan.js'

const NOW = Date.parse('2026-11-21T12:00:00.000Z')
const CONV = '4f35e220-c435-4cf7-b9b9-f40426042847'
const OTHER = '0a9a8045-53e9-44b1-83fb-aafc6e1f4f0b'
const ago = (ms: number) => new Date(NOW - ms).toISOString()

function claim(fields: Partial<Claim> = {}): Claim {
  return {account: 'main', attempt: 1, claimed_at: ago(10_000), conversation_id: CONV, cwd: '/w', launched_at: ago(9000), pid: 1, project: 'web', retries: 1, session: 'ccl-auto-11', task: 'a', timeout_ms: null, ...fields}
}

function signal(event: string, conversation: string, msAgo: number): SignalRecord {
  return {config_dir: null, conversation_id: conversation, cwd: null, event, session: 'ccl-auto-11', task: null, transcript_path: null, ts: ago(msAgo)}
}

const pane = (fields: Partial<SessionView> = {}): SessionView => ({atShell: false, currentPath: '/w', name: 'ccl-auto-11', paneDead: false, paneHash: 'h1', ...fields})
const ctx = {launchGraceMs: LAUNCH_GRACE_MS, newerClaimOnSession: false, now: NOW}

describe('judgeClaim', () => {
  it.each([
    ['a Stop for its conversation since the claim', pane(), [signal('Stop', CONV, 1000)], ctx, 'finished'],
    ['a Stop of an earlier run (before the claim)', pane(), [signal('Stop', CONV, 60_000)], ctx, 'running'],
    ['no session', undefined, [], ctx, 'gone'],
    ['a dead pane', pane({paneDead: true}), [], ctx, 'gone'],
    ['at its shell after SessionStart', pane({atShell: true}), [signal('SessionStart', CONV, 5000)], ctx, 'exited'],
    ['at its shell just after the launch line, no SessionStart yet', pane({atShell: true}), [], ctx, 'starting'],
    ['at its shell long after the launch, no SessionStart', pane({atShell: true}), [], {...ctx, now: NOW + LAUNCH_GRACE_MS}, 'exited'],
    ['at its shell just after a swap relaunched it (its SessionStart is from before the swap)', pane({atShell: true}), [signal('SessionStart', CONV, 5000)], {...ctx, relaunchedAt: NOW - 2000}, 'starting'],
    ['at its shell after a swap relaunched it and it started again', pane({atShell: true}), [signal('SessionStart', CONV, 1000)], {...ctx, relaunchedAt: NOW - 2000}, 'exited'],
    ['running, a newer claim on the session', pane(), [], {...ctx, newerClaimOnSession: true}, 'stale'],
    ['running another conversation started after the launch', pane(), [signal('SessionStart', CONV, 8000), signal('SessionStart', OTHER, 2000)], ctx, 'stale'],
    ['running, resumed under the same conversation (a swap)', pane(), [signal('SessionStart', OTHER, 60_000), signal('SessionStart', CONV, 2000)], ctx, 'running'],
  ] as const)('%s → %s', (_name, view, signals, context, verdict) => {
    expect(judgeClaim(claim(), view, signals as readonly SignalRecord[], context)).toBe(verdict)
  })
})

describe('paneHash', () => {
  it('ignores what moves on a pane that makes no progress: counters, spinner glyphs, trailing blanks', () => {
    expect(paneHash('✻ Thinking… (12s · ↓ 340 tokens · esc to interrupt)   \n')).toBe(paneHash('✶ Thinking… (94s · ↓ 1210 tokens · esc to interrupt)'))
    expect(paneHash('⏺ Bash(ls)\n✻ Thinking…')).not.toBe(paneHash('⏺ Bash(npm test)\n✻ Thinking…'))
  })
})

describe('attempts ledger', () => {
  it('records one run once, whatever the number of passes', () => {
    const run = {at: ago(0), conversation_id: CONV, counted: true, reason: 'gone', session: 'ccl-auto-11'}
    const once = withRun({runs: []}, run)
    expect(withRun(once, {...run, at: ago(-5)})).toBe(once)
    expect(withRun(once, {...run, conversation_id: OTHER}).runs).toHaveLength(2)
  })
})

function snapshot(fields: Partial<ReconcileSnapshot> & {task?: Partial<DispatchedView>} = {}): ReconcileSnapshot {
  const {task, ...rest} = fields
  return {
    activeAccount: 'main',
    dedicated: [],
    dispatched: [{claim: claim(), failures: 0, id: 'a', project: 'web', runRecorded: false, transcriptMtimeMs: null, twin: null, ...task}],
    lastSwapAt: null,
    launchGraceMs: LAUNCH_GRACE_MS,
    min: 1,
    now: NOW,
    paused: false,
    pool: ['ccl-auto-11', 'ccl-auto-12'],
    records: {'ccl-auto-11': {account: 'main', conversation_id: CONV, since: ago(9000), state: 'working', task: 'web/a'}},
    sessions: {'ccl-auto-11': pane()},
    sidecars: [],
    signals: {},
    stallAfterMs: 30 * 60_000,
    // Off unless a test is about it: these runs have no SessionStart record.
    startDeadlineMs: Number.POSITIVE_INFINITY,
    taskTimeoutMs: 2 * 3600_000,
    ...rest,
  }
}

describe('planReconcile', () => {
  it('reports once a launch whose Claude Code never started its session, and clears it when it starts', () => {
    // Given a claim launched 9 s ago (claim() default) and a 5 s start deadline
    const waiting = (extra: Partial<ReconcileSnapshot> = {}) => planReconcile(snapshot({startDeadlineMs: 5000, ...extra})).actions
    // When no SessionStart came: reported, with its launch time
    expect(waiting()).toEqual([expect.objectContaining({action: 'report-not-started', session: 'ccl-auto-11', task: 'a'})])
    // Not before the deadline, not twice, not when it started
    expect(waiting({startDeadlineMs: 60_000})).toEqual([])
    const reported = {'ccl-auto-11': {account: 'main', conversation_id: CONV, since: ago(0), state: 'awaiting_input' as const, task: 'web/a'}}
    expect(waiting({records: reported})).toEqual([])
    expect(waiting({signals: {'ccl-auto-11': [signal('SessionStart', CONV, 8000)]}})).toEqual([])
    // A SessionStart after the report puts the session back to working
    expect(waiting({records: reported, signals: {'ccl-auto-11': [signal('SessionStart', CONV, 1000)]}})).toEqual([expect.objectContaining({action: 'unstall'})])
    // After a swap relaunched it, the SessionStart must come after the relaunch
    expect(waiting({lastSwapAt: NOW - 6000, signals: {'ccl-auto-11': [signal('SessionStart', CONV, 8000)]}})).toEqual([expect.objectContaining({action: 'report-not-started'})])
  })

  it('watches a running task silently, marks it stalled once past stall_after, and clears it on progress', () => {
    const first = planReconcile(snapshot())
    expect(first.actions).toEqual([])
    expect(first.watches['ccl-auto-11']).toEqual({conversation_id: CONV, pane_hash: 'h1', progress_at: ago(0), stalled_at: null})

    const watched = (watch: NonNullable<ReconcileSnapshot['records'][string]['watch']>, extra: Partial<ReconcileSnapshot> = {}) =>
      planReconcile(snapshot({records: {'ccl-auto-11': {account: 'main', conversation_id: CONV, since: ago(0), state: 'working', task: 'web/a', watch}}, ...extra}))
    const quiet = {conversation_id: CONV, pane_hash: 'h1', progress_at: ago(31 * 60_000), stalled_at: null}
    expect(watched(quiet).actions).toEqual([expect.objectContaining({action: 'mark-stalled', since: quiet.progress_at})])
    expect(watched(quiet, {paused: true}).actions).toEqual([])
    expect(watched({...quiet, stalled_at: ago(60_000)}).actions).toEqual([])
    expect(watched({...quiet, stalled_at: ago(60_000)}, {sessions: {'ccl-auto-11': pane({paneHash: 'h2'})}}).actions).toEqual([expect.objectContaining({action: 'unstall'})])
    // Progress is written back at most every stall_after / 4, and a later run still sees it.
    const fresh = {conversation_id: CONV, pane_hash: 'h1', progress_at: ago(60_000), stalled_at: null}
    expect(watched(fresh, {sessions: {'ccl-auto-11': pane({paneHash: 'h2'})}}).watches).toEqual({})
    expect(watched({...fresh, progress_at: ago(8 * 60_000)}, {sessions: {'ccl-auto-11': pane({paneHash: 'h2'})}}).watches['ccl-auto-11']).toMatchObject({pane_hash: 'h2', progress_at: ago(0)})
    // A hook record or a transcript write since the last progress counts as progress.
    expect(watched(quiet, {signals: {'ccl-auto-11': [signal('StopFailure', CONV, 60_000)]}}).actions).toEqual([])
  })

  it('fails a task past its timeout (not while dispatch is paused) and frees its session', () => {
    const late = {claim: claim({launched_at: ago(3 * 3600_000), timeout_ms: null})}
    expect(planReconcile(snapshot({task: late})).actions.map((a) => a.action)).toEqual(['kill-session', 'fail-task', 'create-session'])
    expect(planReconcile(snapshot({paused: true, task: late})).actions).toEqual([])
    const own = {claim: claim({launched_at: ago(20 * 60_000), timeout_ms: 10 * 60_000})}
    expect(planReconcile(snapshot({task: own})).actions[1]).toMatchObject({action: 'fail-task', cause: 'timeout', reason: expect.stringMatching(/^timed out: no Stop within 10m /)})
  })

  it('requeues within retries, counting a run already in the ledger once, then fails', () => {
    const gone = {sessions: {}}
    expect(planReconcile(snapshot({...gone, task: {failures: 0}})).actions[0]).toMatchObject({action: 'requeue-task', attempt: 1})
    expect(planReconcile(snapshot({...gone, task: {failures: 1, runRecorded: true}})).actions[0]).toMatchObject({action: 'requeue-task', attempt: 1})
    expect(planReconcile(snapshot({...gone, task: {failures: 1, runRecorded: false}})).actions[0]).toMatchObject({action: 'fail-task', attempt: 2, cause: 'died'})
  })

  it('leaves unlaunched claims to dispatch and never creates sessions outside the pool range', () => {
    const plan = planReconcile(snapshot({min: 5, records: {'ccl-9': {account: null, conversation_id: null, since: ago(0), state: 'idle', task: null}}, sessions: {}, task: {claim: claim({launched_at: null})}}))
    expect(plan.actions).toEqual([
      {action: 'create-session', reason: 'below-min', session: 'ccl-auto-11'},
      {action: 'create-session', reason: 'below-min', session: 'ccl-auto-12'},
    ])
  })
})

describe('planJanitor', () => {
  const base: JanitorSnapshot = {archiveAfterMs: 7 * 86_400_000, checkpoints: [], claims: [], done: [], events: null, eventsMaxBytes: 1000, fences: [], generation: 10, now: NOW, prompts: [], retentionMs: 3 * 86_400_000, signals: [], strays: [], temps: []}
  it('keeps what is young, and the newest checkpoint of a configured session however old', () => {
    const actions = planJanitor({
      ...base,
      checkpoints: [
        {at: NOW - 10 * 86_400_000, configured: true, path: '/c/a-1', session: 'a'},
        {at: NOW - 9 * 86_400_000, configured: true, path: '/c/a-2', session: 'a'},
        {at: NOW - 9 * 86_400_000, configured: false, path: '/c/x-1', session: 'x'},
      ],
      done: [
        {archived: null, at: NOW - 6 * 86_400_000, path: '/d/young.md', project: 'web', sidecars: [], task: 'young'},
        {archived: null, at: NOW - 8 * 86_400_000, path: '/d/old.md', project: 'web', sidecars: [], task: 'old'},
        {archived: 'other', at: NOW - 8 * 86_400_000, path: '/d/clash.md', project: 'web', sidecars: [], task: 'clash'},
      ],
      temps: [
        {at: NOW - 30 * 60_000, path: '/t/young'},
        {at: NOW - 61 * 60_000, path: '/t/old'},
      ],
    })
    expect(actions.map((a) => `${a.action} ${'path' in a ? a.path : a.task}`)).toEqual(['archive-task old', 'prune-checkpoint /c/a-1', 'prune-checkpoint /c/x-1', 'prune-temp /t/old'])
  })

  it('leaves claims alone when tmux did not answer, and a stale claim whose pane shows the task', () => {
    const stale = {account: 'main', conversation_id: CONV, failures: 0, paneShows: true, project: 'web', retries: 0, runRecorded: false, session: 'ccl-auto-11', task: 'a', verdict: 'stale' as const}
    expect(planJanitor({...base, claims: null})).toEqual([])
    expect(planJanitor({...base, claims: [stale]})).toEqual([])
    expect(planJanitor({...base, claims: [{...stale, verdict: 'exited'}]})).toEqual([expect.objectContaining({action: 'fail-claim', attempt: 1})])
  })
})
