// First-launch screens of the real Claude Code, and how the pool treats a home that would show one:
// `homes` names exactly the screen the real binary stops at; a swap refuses such a home before it
// kills anything; a launch that never starts its session is reported within the start deadline.
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {waitFor} from '../helpers/env.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForPane, waitForSignal} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

type Json = Record<string, unknown>
const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json

/** Takes one answer away from a prepared home, as a home that never saw that screen would be. */
function unanswer(home: string, gap: 'onboarding' | 'trust' | 'bypass'): void {
  const globalPath = join(home, '.claude.json')
  const settingsPath = join(home, 'settings.json')
  const global = readJson(globalPath)
  const settings = readJson(settingsPath)
  if (gap === 'onboarding') delete global.hasCompletedOnboarding
  if (gap === 'trust') delete global.projects
  if (gap === 'bypass') delete settings.skipDangerousModePermissionPrompt
  writeFileSync(globalPath, JSON.stringify(global))
  writeFileSync(settingsPath, JSON.stringify(settings))
}

const SCREENS = {
  bypass: /WARNING: Claude Code running in Bypass Permissions mode[\s\S]*Yes, I accept/,
  onboarding: /Let's get started\.[\s\S]*Choose the text style/,
  trust: /Quick safety check: Is this a project you created or one you trust\?[\s\S]*Yes, I trust this folder/,
}

describe('account homes and the real first-launch screens', {timeout: REAL_TEST_MS}, () => {
  it('homes names the screen each missing answer really shows, and --fix makes the same home start cleanly', async () => {
    pool = await makeRealPool()
    const p = pool
    const home = join(p.dir, 'backup')
    const before = {global: readJson(join(home, '.claude.json')), mode: statSync(join(home, 'settings.json')).mode & 0o777, settings: readJson(join(home, 'settings.json'))}
    for (const gap of ['onboarding', 'trust', 'bypass'] as const) {
      unanswer(home, gap)
      // The check names the gap...
      const check = await p.cli(['homes', '--json'])
      expect(check.code).toBe(78)
      expect(JSON.parse(check.stdout).problems).toEqual([expect.objectContaining({account: 'backup', gap})])
      const report = await p.cli(['homes', '--account', 'backup', '--fix', '--dry-run', '--json'])
      expect(JSON.parse(report.stdout).fixed.length).toBeGreaterThan(0)
      // ...and the real binary stops exactly there.
      p.launchBy(`probe-${gap}`, 'backup', ['--dangerously-skip-permissions', '--', 'hello'])
      await waitForPane(p, `probe-${gap}`, SCREENS[gap])
      expect(p.api.mainRequests('backup')).toEqual([])
      // A Claude Code running in a home rewrites .claude.json from its own copy: fix with none running.
      await p.close(`probe-${gap}`)
      // --fix writes only the missing answer: the token, the API address and the rest stay.
      const fixed = await p.cli(['homes', '--fix', '--account', 'backup'])
      expect(fixed.code, fixed.stderr).toBe(0)
      expect(readJson(join(home, 'settings.json'))).toEqual(before.settings)
      expect(readJson(join(home, '.claude.json'))).toMatchObject(before.global)
      expect(statSync(join(home, 'settings.json')).mode & 0o777).toBe(before.mode)
    }

    p.launchBy('probe-fixed', 'backup', ['--dangerously-skip-permissions', '--', 'hello after the fix'])
    await waitForPane(p, 'probe-fixed', /DONE/)
    expect(p.api.mainRequests('backup').map((r) => r.userTexts[0])).toEqual(['hello after the fix'])
  })

  it('a swap into a home that would stop at the theme picker is refused before anything is killed, and reported', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600
    pool = await makeRealPool({script: (r) => (r.account === 'main' ? {kind: 'limit', resetsAt, window: 'five_hour'} : {kind: 'text', text: 'ok'})})
    const p = pool
    unanswer(join(p.dir, 'backup'), 'onboarding')
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    p.addTask('job', 'a task that meets the limit')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitForSignal(p, 'ccl-auto-11', 'StopFailure')
    const pid = p.tmux(['display-message', '-p', '-t', '=ccl-auto-11:', '#{pane_pid}'])

    const check = await p.cli(['quota', 'check', '--json'])
    expect(check.code).toBe(78)
    expect(check.stderr).toMatch(/refusing to swap into backup: its home would stop at a first-launch screen/)
    expect(check.stderr).toContain('homes --fix --account backup')
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('main')
    // Nothing was killed: the session still runs its conversation on main.
    expect(p.tmux(['display-message', '-p', '-t', '=ccl-auto-11:', '#{pane_pid}'])).toBe(pid)
    expect((await readRecentEvents(p.config.stateDir, 20)).map((e) => e.event)).toContain('swap_failed')
    const status = await p.cli(['status', '--check'])
    expect(status.code).not.toBe(0)
    expect(status.stdout + status.stderr).toMatch(/backup: a launch would stop at the theme picker/)

    // Fixed, the next check swaps and the conversation resumes on backup.
    expect((await p.cli(['homes', '--fix'])).code).toBe(0)
    expect((await p.cli(['quota', 'check'])).code).toBe(0)
    await waitForSignal(p, 'ccl-auto-11', 'SessionStart', (s) => s.source === 'resume')
  })

  it('a launch that never starts its session (a screen no check knows) is reported within the start deadline', async () => {
    pool = await makeRealPool({extraYaml: 'watcher: {start_within: 5s}'})
    const p = pool
    expect((await p.cli(['reconcile', '--boot'])).code).toBe(0)
    // The home loses its onboarding after the boot check, as a home changed by hand would.
    unanswer(join(p.dir, 'main'), 'onboarding')
    p.addTask('job', 'a task into a home that stops at the theme picker')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    await waitForPane(p, 'ccl-auto-11', SCREENS.onboarding)

    const stuck = await waitFor(async () => {
      const run = await p.cli(['reconcile', '--json'])
      const actions = JSON.parse(run.stdout).actions as {action: string}[]
      return actions.find((a) => a.action === 'report-not-started')
    }, 30_000, 1000)
    expect(stuck).toMatchObject({session: 'ccl-auto-11', task: 'job'})
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout)
    expect(status.sessions).toContainEqual(expect.objectContaining({name: 'ccl-auto-11', state: 'awaiting_input'}))
    const check = await p.cli(['status', '--check'])
    expect(check.code).not.toBe(0)
    expect(check.stdout + check.stderr).toMatch(/ccl-auto-11 is waiting at a prompt or modal/)
    expect((await readRecentEvents(p.config.stateDir, 20)).map((e) => e.event)).toContain('session_not_started')
    // Reported once: the next pass has nothing to add.
    expect(JSON.parse((await p.cli(['reconcile', '--json'])).stdout).actions).toEqual([])
  })
})
