// The main loop against the real Claude Code (pinned, test/global-setup.ts) and a fake Anthropic API
// on loopback: boot, dispatch, a limit in the middle of a task, quota check, swap, the same
// conversation resumed on the other account, done.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {waitFor} from '../helpers/env.js'
import {defaultScript} from './fake-api.js'
import {makeRealPool, REAL_TEST_MS, sessionState, type RealPool, waitForPane, waitForSignal} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const inHour = () => Math.floor(Date.now() / 1000) + 3600

/** Runs reconcile until the task's file is in done/ (the Stop hook arrived). */
async function settleDone(p: RealPool, task: string): Promise<void> {
  await waitFor(async () => {
    await p.cli(['reconcile'])
    return existsSync(join(p.project, '.agent-queue', 'done', `${task}.md`))
  }, 60_000, 500)
}

describe('the real Claude Code in the pool', {timeout: REAL_TEST_MS}, () => {
  it('runs tasks to done through the real Stop hook: a prompt that begins with "-", quotes, $(…), backticks, a trailing ";"', async () => {
    pool = await makeRealPool()
    const p = pool
    const bodies = {
      bullets: '- Fix the login bug\n- BASH:echo fixed-the-bug',
      shell: `Say "hi" and 'bye', never run $(touch /tmp/cf-real-pwned) or \`id\`; echo done;`,
    }
    const boot = await p.cli(['reconcile', '--boot'])
    expect(boot.code, boot.stderr).toBe(0)
    p.addTask('bullets', bodies.bullets)
    p.addTask('shell', bodies.shell)
    const dispatched = await p.cli(['dispatch', '--json'])
    expect(dispatched.code, dispatched.stderr).toBe(0)
    expect(JSON.parse(dispatched.stdout).dispatched).toHaveLength(2)

    await settleDone(p, 'bullets')
    await settleDone(p, 'shell')
    // The API saw each prompt exactly as written, and the Bash call ran before the bullets task ended.
    const prompts = p.api.mainRequests('main').map((r) => r.userTexts[0])
    expect(new Set(prompts)).toEqual(new Set(Object.values(bodies)))
    expect(p.api.mainRequests('main').some((r) => r.lastUser.includes('[tool_result]') && r.lastUser.includes('fixed-the-bug'))).toBe(true)
    expect(existsSync('/tmp/cf-real-pwned')).toBe(false)
    expect(p.api.mainRequests('backup')).toEqual([])
  })

  it('a limit after a tool call: quota check swaps, the conversation resumes on backup with its history, the task ends done', async () => {
    const resetsAt = inHour()
    pool = await makeRealPool({
      script: (request) => {
        if (request.account === 'main' && request.lastUser.startsWith('[tool_result]')) return {kind: 'limit', resetsAt, window: 'five_hour'}
        return defaultScript(request, pool as never)
      },
    })
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('long', 'Refactor the parser. BASH:echo step-one-done')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    const session = 'ccl-auto-11'
    const started = await waitForSignal(p, session, 'SessionStart')
    const failure = await waitForSignal(p, session, 'StopFailure')
    expect(failure.error).toBe('rate_limit')
    await waitForPane(p, session, /You've hit your (5-hour )?limit/)

    const check = await p.cli(['quota', 'check', '--json'])
    expect(check.code, check.stderr).toBe(0)
    const {state} = await import('../../src/lib/lock.js').then((m) => m.readStateSnapshot(p.config))
    expect(state.active_account).toBe('backup')
    // The reset is the record's instant (to the second) or the banner's minute, never later.
    const until = Date.parse(state.accounts.main?.exhausted_until ?? '')
    expect(until).toBeGreaterThanOrEqual((resetsAt - 60) * 1000)

    const resumed = await waitForSignal(p, session, 'SessionStart', (s) => s.source === 'resume')
    expect(resumed.conversation_id).toBe(started.conversation_id)
    expect(resumed.config_dir).toBe(join(p.dir, 'backup'))
    await settleDone(p, 'long')
    // Backup was asked with the whole conversation: the prompt, the tool's result, the continue message.
    const onBackup = p.api.mainRequests('backup')
    expect(onBackup.length).toBeGreaterThan(0)
    const carried = onBackup[0]?.userTexts.join('\n') ?? ''
    expect(carried).toContain('Refactor the parser.')
    expect(carried).toContain('step-one-done')
    expect(carried).toContain('Continue where you left off.')
    expect(await sessionState(p, session)).toMatchObject({account: 'backup'})
    expect((await readRecentEvents(p.config.stateDir, 50)).map((e) => e.event)).toContain('swap')
  })
})
