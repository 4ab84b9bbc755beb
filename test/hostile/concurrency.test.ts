// Concurrency loop (issue 9, reliability P5/P6/P9): several processes run the mutating commands
// (dispatch, reconcile, janitor, quota check, swap, validate-symlinks --fix; timer style without
// --wait and operator style with it) against one sandbox with a live tmux server and two idle pool
// sessions of the simulated claude (reconcile keeps them, swap flips the account), for a few hundred
// runs bounded by count and by time. Every run traces its lock with CLAUDE_FAILOVER_LOCK_LOG
// (acquire / commit / release lines on the shared monotonic clock, written inside the hold), and
// the test proves from the trace that:
//  - no two critical sections overlap;
//  - no update is lost: commits carry generations 1..N, each once, each inside its holder's
//    section; state.json ends at generation N; fence/<n> exists for every unpruned n ≤ N and names
//    the process that committed n;
//  - state.json parses and validates every time a concurrent reader looks at it;
//  - every run ends with a documented success or "try again" code (0 or 75), never a crash.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {FENCE_KEEP} from '../../src/lib/lock.js'
import {parseStateText} from '../../src/lib/state.js'
import {type CliResult} from '../helpers/env.js'
import {lifecycleBox, type LifecycleBox} from '../lifecycle/helpers.js'

const WORKERS = 4
const MAX_RUNS = 240
const MAX_MS = 100_000

const COMMANDS: string[][] = [
  ['dispatch'],
  ['reconcile'],
  ['janitor'],
  ['quota', 'check'],
  ['swap'],
  ['validate-symlinks', '--fix'],
  ['tick'],
]

let box: LifecycleBox | undefined
const figures = {runs: 0, busy: 0, commits: 0, sections: 0, reads: 0}
afterAll(async () => {
  await box?.close()
  console.log(
    `[hostile] concurrency: ${figures.runs} runs by ${WORKERS} processes, ${figures.sections} critical sections, ${figures.commits} commits, ${figures.busy} busy (75), ${figures.reads} concurrent reads of state.json; no overlap, no lost update`,
  )
})

describe('mutating commands in a concurrent loop', () => {
  it('no two critical sections overlap and no commit is lost', {timeout: MAX_MS + 60_000}, async () => {
    box = await lifecycleBox('swap: {stagger: 0s}', {lockStale: '10s', pool: '{prefix: "ccl-auto-", start_index: 11, min: 2, max: 2}'})
    const b = box
    await b.startServer()
    const trace = join(b.dir, 'lock.log')
    const stateFile = join(b.config.stateDir, 'state.json')
    const started = Date.now()
    let issued = 0
    const results: {args: string[]; result: CliResult}[] = []

    let stop = false
    const reader = (async () => {
      while (!stop) {
        if (existsSync(stateFile)) {
          // The file is replaced by rename: any read sees a whole old or whole new document.
          const text = readFileSync(stateFile, 'utf8')
          const parsed = parseStateText(text)
          if (parsed.kind !== 'ok') throw new Error(`state.json read mid-loop did not validate: ${parsed.kind === 'corrupt' ? parsed.reason : parsed.kind}`)
          figures.reads += 1
        }

        await new Promise((resolve) => setTimeout(resolve, 15))
      }
    })()

    const worker = async (w: number) => {
      for (let i = 0; ; i++) {
        if (issued >= MAX_RUNS || Date.now() - started > MAX_MS) return
        issued += 1
        const command = COMMANDS[(w + i) % COMMANDS.length] as string[]
        // Odd workers behave like timers (no --wait: busy is exit 75), even ones like an operator.
        const args = [...command, '--json', ...(w % 2 === 0 ? ['--wait'] : [])]
        const result = await b.cli(args, {CLAUDE_FAILOVER_LOCK_LOG: trace})
        results.push({args, result})
      }
    }

    try {
      await Promise.all(Array.from({length: WORKERS}, (_, w) => worker(w)))
    } finally {
      stop = true
      await reader
    }

    figures.runs = results.length
    const unexpected = results.filter((r) => r.result.code !== 0 && r.result.code !== 75)
    expect(unexpected.map((r) => `${r.args.join(' ')} → ${r.result.code}: ${r.result.stderr.slice(0, 300)}`)).toEqual([])
    figures.busy = results.filter((r) => r.result.code === 75).length
    // Busy is the only "try again" a run may report here, and only a run without --wait sees it.
    for (const r of results.filter((x) => x.result.code === 75)) {
      expect(r.args).not.toContain('--wait')
      expect(r.result.stderr).toMatch(/lock|busy|held/i)
    }

    // The trace: intervals per process, in order.
    const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean)
    const open = new Map<string, bigint>()
    const sections: {pid: string; from: bigint; to: bigint}[] = []
    const commits: {pid: string; generation: number; at: bigint}[] = []
    for (const line of lines) {
      const parts = line.split(' ')
      const [kind, pid] = parts as [string, string]
      const at = BigInt(parts.at(-1) as string)
      if (kind === 'acquire') {
        expect(open.has(pid), `pid ${pid} acquired twice without a release`).toBe(false)
        open.set(pid, at)
      } else if (kind === 'release') {
        const from = open.get(pid)
        expect(from, `pid ${pid} released a lock it never acquired`).toBeDefined()
        sections.push({from: from as bigint, pid, to: at})
        open.delete(pid)
      } else if (kind === 'commit') {
        expect(open.has(pid), `pid ${pid} committed outside its critical section`).toBe(true)
        commits.push({at, generation: Number(parts[2]), pid})
      } else {
        throw new Error(`unexpected trace line: ${line}`)
      }
    }

    expect([...open.keys()], 'sections never released (a killed holder?)').toEqual([])
    figures.sections = sections.length
    // Runs with nothing to do may skip the lock; most take it (enough evidence to mean something).
    expect(sections.length).toBeGreaterThanOrEqual(Math.floor(results.length / 3))
    sections.sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : 0))
    for (let i = 1; i < sections.length; i++) {
      const previous = sections[i - 1] as (typeof sections)[number]
      const current = sections[i] as (typeof sections)[number]
      expect(current.from > previous.to, `critical sections overlap: pid ${previous.pid} held until ${previous.to}, pid ${current.pid} acquired at ${current.from}`).toBe(true)
    }

    // No lost update: generations 1..N, each committed once, in time order.
    figures.commits = commits.length
    // reconcile creates the two idle pool sessions, each swap flips the account and commits.
    expect(commits.length).toBeGreaterThanOrEqual(20)
    commits.sort((x, y) => (x.at < y.at ? -1 : 1))
    expect(commits.map((c) => c.generation)).toEqual(Array.from({length: commits.length}, (_, i) => i + 1))
    const final = parseStateText(readFileSync(stateFile, 'utf8'))
    expect(final.kind).toBe('ok')
    if (final.kind === 'ok') expect(final.state.generation).toBe(commits.length)
    const fenceDir = join(b.config.stateDir, 'fence')
    const fences = new Set(readdirSync(fenceDir))
    for (const c of commits) {
      if (c.generation <= commits.length - FENCE_KEEP) continue
      expect(fences.has(String(c.generation)), `fence/${c.generation} missing`).toBe(true)
      expect(readFileSync(join(fenceDir, String(c.generation)), 'utf8').trim()).toBe(c.pid)
    }

    // Bounded: the loop stopped by count or by time, having done a few hundred runs or used the time.
    expect(results.length >= MAX_RUNS || Date.now() - started > MAX_MS).toBe(true)
    expect(existsSync(join(b.config.stateDir, 'lock'))).toBe(false)
  })
})
