// SIGKILL at every step of the swap journal, then the roll-forward that the next swap or reconcile
// runs: afterwards the whole pool is on one account, no session is left dead, every conversation
// was resumed exactly once, and no task was lost.
import {existsSync, readlinkSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot, withStateLock} from '../../src/lib/lock.js'
import {memoryLogger} from '../../src/lib/log.js'
import {tmuxFor} from '../../src/lib/pool.js'
import {rollForwardSwap} from '../../src/lib/swap/journal.js'
import {tmux} from '../helpers/env.js'
import {type Pool, workingPool as sharedWorkingPool} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const SESSIONS = ['ccl-auto-11', 'ccl-auto-12']

async function workingPool(): Promise<Pool> {
  const p = await sharedWorkingPool({extraYaml: 'active_link: ./active', turnMs: 30_000})
  symlinkSync(join(p.dir, 'main'), join(p.dir, 'active'))
  return p
}

async function assertConsistent(p: Pool, ids: (string | null | undefined)[]): Promise<void> {
  const {state} = await readStateSnapshot(p.config)
  expect(state.active_account).toBe('backup')
  expect(state.swap_journal).toBeNull()
  expect(readlinkSync(join(p.dir, 'active'))).toBe(join(p.dir, 'backup'))
  const live = (await tmux(p.socket, ['list-sessions', '-F', '#{session_name}'])).stdout.split('\n')
  for (const [i, name] of SESSIONS.entries()) {
    expect(live).toContain(name)
    const resumes = (await p.signals(name)).filter((s) => s.event === 'SessionStart' && s.source === 'resume')
    // Exactly once, under the target account: never two processes on one conversation.
    expect(resumes.map((s) => [s.conversation_id, s.config_dir])).toEqual([[ids[i], join(p.dir, 'backup')]])
    expect(state.sessions[name]).toMatchObject({account: 'backup', conversation_id: ids[i]})
  }

  for (const task of ['alpha', 'beta']) {
    const states = ['inbox', 'dispatched', 'done', 'failed'].filter((s) => existsSync(join(p.project, '.agent-queue', s, `${task}.md`)))
    expect(states).toHaveLength(1)
  }
}

describe('swap crash safety', () => {
  it.each(['swap:after-plan', 'swap:after-kill', 'swap:after-flip', 'swap:after-type', 'swap:after-relaunch', 'swap:before-close'])(
    'killed at %s: the roll-forward ends with the pool on the target and every conversation resumed once',
    async (point) => {
      pool = await workingPool()
      const p = pool
      const before = await readStateSnapshot(p.config)
      const conversations = SESSIONS.map((n) => before.state.sessions[n]?.conversation_id)

      const crashed = await p.cli(['swap'], {CLAUDE_FAILOVER_CRASH_AT: point})
      expect(crashed.code).toBe(128)
      expect((await readStateSnapshot(p.config)).state.swap_journal).not.toBeNull()

      const log = memoryLogger()
      const actions = await withStateLock(p.config, {command: 'reconcile', wait: true}, (tx) =>
        rollForwardSwap(p.config, tx, {log, now: () => new Date(), readyTimeoutMs: 15_000, staggerMs: 0, tmux: tmuxFor(p.config)}),
      )
      expect(actions[0]).toMatch(/^rolled forward swap /)
      await assertConsistent(p, conversations)

      // A second roll-forward finds nothing to do.
      const again = await withStateLock(p.config, {command: 'reconcile', wait: true}, (tx) => rollForwardSwap(p.config, tx, {log, now: () => new Date(), tmux: tmuxFor(p.config)}))
      expect(again).toEqual([])
    },
  )

  it('the next `swap` finishes the interrupted one instead of starting another', async () => {
    pool = await workingPool()
    const p = pool
    const before = await readStateSnapshot(p.config)
    const conversations = SESSIONS.map((n) => before.state.sessions[n]?.conversation_id)
    expect((await p.cli(['swap'], {CLAUDE_FAILOVER_CRASH_AT: 'swap:after-flip'})).code).toBe(128)
    const next = await p.cli(['swap', '--wait', '--json'])
    expect(next.code, next.stderr).toBe(0)
    expect(JSON.parse(next.stdout).skipped).toMatch(/finished an interrupted swap to backup/)
    await assertConsistent(p, conversations)
  })
})
