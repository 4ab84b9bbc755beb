// Crash-point coverage (issue 9, reliability P1/P8): every `crashpoint('<name>')` in src/ must be
// driven by some test (a test file that sets CLAUDE_FAILOVER_CRASH_AT and names the point), so a
// new crash point can never ship untested. The points no other suite drives are driven here:
// SIGKILL at the point, then the next run, then the invariants: every task in exactly one state,
// nothing delivered twice (each prompt in exactly one transcript user record), the pool on one
// account, every conversation resumed exactly once (none lost), and a further run is a no-op.
import {randomUUID} from 'node:crypto'
import {existsSync, linkSync, readdirSync, readFileSync, readlinkSync, symlinkSync} from 'node:fs'
import {join, relative} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'

import {type Claim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {QUEUE_STATES} from '../../src/lib/queue/layout.js'
import {ROOT, tmux} from '../helpers/env.js'
import {type Pool, transcriptPrompts, workingPool} from '../helpers/pool.js'
import {json, lifecycleBox, type LifecycleBox} from '../lifecycle/helpers.js'

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(path, keep))
    else if (keep(entry.name)) out.push(path)
  }

  return out
}

/** Every named crash point in src/, read from the sources at test time. */
function crashPointsInSource(): Map<string, string[]> {
  const points = new Map<string, string[]>()
  for (const file of filesUnder(join(ROOT, 'src'), (n) => n.endsWith('.ts'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/crashpoint\(\s*(['"`])([^'"`]+)\1\s*\)/g)) {
      const name = match[2] as string
      points.set(name, [...(points.get(name) ?? []), relative(ROOT, file)])
    }
  }

  return points
}

const covered = new Set<string>()
afterAll(() => {
  console.log(`[hostile] crash points: ${crashPointsInSource().size} named in src/, every one driven by a test; ${covered.size} driven in this file (SIGKILL then next run; nothing lost)`)
})

describe('crash-point coverage', () => {
  it('every crashpoint() named in src/ is driven by a test that sets CLAUDE_FAILOVER_CRASH_AT', () => {
    const points = crashPointsInSource()
    // The harness itself must find the points (guards against a regex that silently matches nothing).
    expect(points.size).toBeGreaterThanOrEqual(15)
    // Only test files that actually inject a crash count as exercising a point.
    const drivers = filesUnder(join(ROOT, 'test'), (n) => /\.(ts|mjs|js)$/.test(n))
      .map((file) => readFileSync(file, 'utf8'))
      .filter((text) => text.includes('CLAUDE_FAILOVER_CRASH_AT'))
    // A templated point (`janitor:after-rotate-${n}`) counts as driven when a test names an instance.
    const patternOf = (name: string) =>
      new RegExp(`['"]${name.split(/\$\{[^}]*\}/).map((part) => part.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[A-Za-z0-9_.-]+')}['"]`)
    const untested = [...points.keys()].filter((name) => !drivers.some((text) => patternOf(name).test(text)))
    expect(untested, `crash points with no test: ${untested.map((n) => `${n} (${points.get(n)?.join(', ')})`).join('; ')}`).toEqual([])
  })

  it('no crash point is triggered when CLAUDE_FAILOVER_CRASH_AT names an unknown point', async () => {
    // Guards the harness: a typo in a test would otherwise make a "crash" test pass without crashing.
    const box = await lifecycleBox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
    try {
      await box.startServer()
      const run = await box.cli(['reconcile', '--json'], {CLAUDE_FAILOVER_CRASH_AT: 'no-such:point'})
      expect(run.code, run.stderr).toBe(0)
    } finally {
      await box.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// reconcile:after-complete-move — a move cut between link and unlink (two names for one inode),
// finished by reconcile, which is itself killed right after the unlink of the dispatched/ name.

let box: LifecycleBox | undefined
let pool: Pool | undefined
afterEach(async () => {
  await box?.close()
  box = undefined
  await pool?.stop()
  pool = undefined
})

function statesOf(b: LifecycleBox, id: string): string[] {
  return QUEUE_STATES.filter((s) => existsSync(b.path(s, `${id}.md`)))
}

function sidecars(b: LifecycleBox): string[] {
  const out: string[] = []
  for (const state of QUEUE_STATES) {
    for (const name of existsSync(b.path(state, '')) ? readdirSync(b.path(state, '')) : []) {
      if (name.includes('.md.')) out.push(`${state}/${name}`)
    }
  }

  return out.sort()
}

describe('reconcile killed at reconcile:after-complete-move', () => {
  it.each(['inbox', 'done', 'failed'] as const)('a task twinned in dispatched/ and %s/: the next run finishes, the task is in one state, its sidecars follow', async (to) => {
    box = await lifecycleBox('', {lockStale: '2s', pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
    await box.startServer()
    const task = box.put('dispatched', 'job', 'Do the job\n')
    const claim: Claim = {
      account: 'main',
      attempt: 1,
      claimed_at: new Date(Date.now() - 120_000).toISOString(),
      conversation_id: randomUUID(),
      cwd: box.project,
      launched_at: new Date(Date.now() - 110_000).toISOString(),
      pid: 1,
      project: 'web',
      retries: 1,
      session: 'ccl-auto-11',
      task: 'job',
      timeout_ms: null,
    }
    await writeClaim(box.project, claim)
    // A move killed between its link and its unlink: the same inode in dispatched/ and `to`/.
    linkSync(task, box.path(to, 'job.md'))
    expect(statesOf(box, 'job').sort()).toEqual(['dispatched', to].sort())

    const crashed = await box.cli(['reconcile', '--json'], {CLAUDE_FAILOVER_CRASH_AT: 'reconcile:after-complete-move'})
    expect(crashed.code, crashed.stderr).toBe(128)
    expect(crashed.stdout).toBe('')
    covered.add('reconcile:after-complete-move')
    // Killed right after the unlink: the task already has one home, the claim is left behind.
    expect(statesOf(box, 'job')).toEqual([to])

    const next = json<{actions: {action: string}[]}>(await box.cli(['reconcile', '--json', '--wait']))
    expect(next.actions.length).toBeGreaterThan(0)
    expect(statesOf(box, 'job')).toEqual([to])
    expect(readFileSync(box.path(to, 'job.md'), 'utf8')).toBe('Do the job\n')
    // The orphaned claim is resolved: removed for a requeue, beside the task for done/failed.
    expect(sidecars(box)).toEqual(to === 'inbox' ? [] : [`${to}/job.md.claim`])
    // A third run has nothing left to do, and nothing was started for the task.
    expect(json<{actions: unknown[]}>(await box.cli(['reconcile', '--json'])).actions).toEqual([])
    expect(statesOf(box, 'job')).toEqual([to])
  })
})

// ---------------------------------------------------------------------------------------------
// reconcile:after-roll-forward — a swap killed mid-journal, rolled forward by reconcile, which is
// killed right after the roll-forward; the run after that must not resume anything a second time.

describe('reconcile killed at reconcile:after-roll-forward', () => {
  it('after a swap killed at swap:after-flip: the pool ends on one account, every conversation resumed exactly once, no task lost or doubled', {timeout: 90_000}, async () => {
    pool = await workingPool({extraYaml: 'active_link: ./active', turnMs: 30_000})
    const p = pool
    symlinkSync(join(p.dir, 'main'), join(p.dir, 'active'))
    const sessions = ['ccl-auto-11', 'ccl-auto-12']
    const before = await readStateSnapshot(p.config)
    const conversations = sessions.map((n) => before.state.sessions[n]?.conversation_id)
    expect(conversations.every(Boolean)).toBe(true)

    expect((await p.cli(['swap'], {CLAUDE_FAILOVER_CRASH_AT: 'swap:after-flip'})).code).toBe(128)
    expect((await readStateSnapshot(p.config)).state.swap_journal).not.toBeNull()

    const crashed = await p.cli(['reconcile', '--json', '--wait'], {CLAUDE_FAILOVER_CRASH_AT: 'reconcile:after-roll-forward'})
    expect(crashed.code, crashed.stderr).toBe(128)
    covered.add('reconcile:after-roll-forward')

    const next = await p.cli(['reconcile', '--json', '--wait'])
    expect(next.code, next.stderr).toBe(0)
    const again = await p.cli(['reconcile', '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as {actions: {action: string}[]}).actions.filter((a) => a.action === 'roll-forward-swap')).toEqual([])

    // The pool on one account.
    const {state} = await readStateSnapshot(p.config)
    expect(state.swap_journal).toBeNull()
    expect(state.active_account).toBe('backup')
    expect(readlinkSync(join(p.dir, 'active'))).toBe(join(p.dir, 'backup'))
    const live = (await tmux(p.socket, ['list-sessions', '-F', '#{session_name}'])).stdout.split('\n')
    for (const [i, name] of sessions.entries()) {
      expect(live).toContain(name)
      expect(state.sessions[name]).toMatchObject({account: 'backup', conversation_id: conversations[i]})
      // No conversation lost and none run twice: resumed exactly once, under the target account.
      const resumed = (await p.signals(name)).filter((s) => s.event === 'SessionStart' && s.source === 'resume')
      expect(resumed.map((s) => [s.conversation_id, s.config_dir])).toEqual([[conversations[i], join(p.dir, 'backup')]])
    }

    // Every task in exactly one state; each prompt in exactly one transcript user record.
    for (const [id, body] of [
      ['alpha', 'first long task'],
      ['beta', 'second long task'],
    ] as const) {
      const states = ['inbox', 'dispatched', 'done', 'failed', 'archive'].filter((s) => existsSync(join(p.project, '.agent-queue', s, `${id}.md`)))
      expect(states).toEqual(['dispatched'])
      expect(transcriptPrompts(p).filter((r) => r.text.includes(body))).toHaveLength(1)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// janitor:after-rotate-<n> — events.jsonl rotation (.1 → .2, then events.jsonl → .1) killed after
// each rename: no audit line is lost or duplicated except the oldest file the rotation drops by
// design (the previous .2), and the next run finishes the shift.

describe('janitor killed during the events.jsonl rotation', () => {
  it.each(['janitor:after-rotate-2', 'janitor:after-rotate-1'] as const)('%s: every seeded audit line survives exactly once', async (point) => {
    box = await lifecycleBox('janitor: {events_max_bytes: 4096}', {lockStale: '2s', pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 1}'})
    const events = join(box.config.stateDir, 'events.jsonl')
    const {mkdirSync, writeFileSync} = await import('node:fs')
    mkdirSync(box.config.stateDir, {recursive: true, mode: 0o700})
    const seed = (file: string, tag: string, count: number) => {
      const lines = Array.from({length: count}, (_, i) => JSON.stringify({event: 'seed', n: i, tag, ts: new Date().toISOString()}))
      writeFileSync(file, `${lines.join('\n')}\n`, {mode: 0o600})
      return lines
    }

    seed(`${events}.2`, 'oldest', 5)
    const kept = [...seed(`${events}.1`, 'older', 40), ...seed(events, 'current', 80)]
    const crashed = await box.cli(['janitor', '--json'], {CLAUDE_FAILOVER_CRASH_AT: point})
    expect(crashed.code, crashed.stderr).toBe(128)
    covered.add(point)

    const recovered = await box.cli(['janitor', '--json', '--wait'])
    expect(recovered.code, recovered.stderr).toBe(0)
    expect((await box.cli(['janitor', '--json'])).code).toBe(0)
    const after = ['', '.1', '.2'].flatMap((suffix) => (existsSync(`${events}${suffix}`) ? readFileSync(`${events}${suffix}`, 'utf8').split('\n').filter(Boolean) : []))
    for (const line of kept) expect(after.filter((l) => l === line), line).toHaveLength(1)
    // The shift completed: the seeded current lines no longer sit in the live file.
    expect(existsSync(events) ? readFileSync(events, 'utf8') : '').not.toContain('"tag":"current"')
    // Every file of the trail still parses line by line.
    for (const line of after) expect(() => JSON.parse(line)).not.toThrow()
  })
})

// ---------------------------------------------------------------------------------------------
// lock:after-fence — a commit killed after claiming fence/<n> but before state.json was written.
// Before the fix this wedged the tool: every later commit found fence/<n> taken and exited 75
// ("lost the state lock") forever. The next run must skip the dead claim and commit.

describe('a commit killed at lock:after-fence', () => {
  it('the next run commits past the orphaned fence marker; the state is whole and the pool on one account', async () => {
    box = await lifecycleBox('', {lockStale: '2s', pool: '{prefix: "ccl-auto-", start_index: 11, min: 2, max: 2}'})
    const b = box
    await b.startServer()
    expect((await b.cli(['reconcile', '--json'])).code).toBe(0)
    const read = () => JSON.parse(readFileSync(join(b.config.stateDir, 'state.json'), 'utf8')) as {generation: number; active_account: string}
    const before = read()
    await tmux(b.socket, ['kill-session', '-t', '=ccl-auto-12'])

    const crashed = await b.cli(['reconcile', '--json'], {CLAUDE_FAILOVER_CRASH_AT: 'lock:after-fence'})
    expect(crashed.code, crashed.stderr).toBe(128)
    covered.add('lock:after-fence')
    expect(existsSync(join(b.config.stateDir, 'fence', String(before.generation + 1)))).toBe(true)
    expect(read()).toEqual(before)

    // The killed run had already recreated the session; take it away again so the next run must commit.
    await tmux(b.socket, ['kill-session', '-t', '=ccl-auto-12'])
    const next = await b.cli(['reconcile', '--json', '--wait'])
    expect(next.code, next.stderr).toBe(0)
    const after = read()
    expect(after.generation).toBe(before.generation + 2)
    expect(after.active_account).toBe(before.active_account)
    expect(json<{actions: unknown[]}>(await b.cli(['reconcile', '--json'])).actions).toEqual([])
    const live = (await tmux(b.socket, ['list-sessions', '-F', '#{session_name}'])).stdout
    expect(live).toContain('ccl-auto-11')
    expect(live).toContain('ccl-auto-12')
  })
})
