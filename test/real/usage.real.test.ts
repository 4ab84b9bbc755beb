// Usage seen for free, with the real Claude Code: the statusLine in the --settings file every launch
// passes is run by 2.1.328 in place of the home's own; after the first response its input carries
// the account's `rate_limits` (from the unified rate-limit headers of the fake API's answers); the
// `statusline` command records them, runs the home's statusLine and passes its output through; and
// the active account past quota.usage.threshold is swapped before the wall.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readStateSnapshot} from '../../src/lib/lock.js'
import {parseSessionUsage} from '../../src/lib/usage/records.js'
import {waitFor} from '../helpers/env.js'
import {makeRealPool, REAL_TEST_MS, type RealPool, waitForPane} from './bed.js'

let pool: RealPool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const inHours = (h: number) => Math.floor(Date.now() / 1000) + h * 3600

describe('the statusLine under the real Claude Code', {timeout: REAL_TEST_MS}, () => {
  it('records rate_limits, passes the home statusLine through, and swaps at the threshold', async () => {
    const fiveHourReset = inHours(2)
    let mainUsage = 0.5
    pool = await makeRealPool({
      extraYaml: 'quota: {usage: {threshold: 95}}',
      script: (r) => ({kind: 'text', text: `${r.account} answers`, usage: {fiveHour: r.account === 'main' ? mainUsage : 0.1, fiveHourReset, sevenDay: 0.2, sevenDayReset: inHours(72)}}),
    })
    const p = pool
    const settings = join(p.dir, 'main', 'settings.json')
    writeFileSync(settings, JSON.stringify({...JSON.parse(readFileSync(settings, 'utf8')), statusLine: {command: 'echo "home line $(cat | head -c 1)"', type: 'command'}}))
    p.addTask('t1', 'First task')
    expect((await p.cli(['dispatch'])).code).toBe(0)

    const usageFile = join(p.config.stateDir, 'usage', 'ccl-auto-11.json')
    const samples = () => (existsSync(usageFile) ? parseSessionUsage(readFileSync(usageFile, 'utf8'), 'ccl-auto-11').samples : [])
    await waitFor(() => samples().length > 0, 60_000)
    expect(samples()[0]).toMatchObject({five_hour: {resets_at: fiveHourReset, used_percentage: 50}, home: join(p.dir, 'main'), seven_day: {used_percentage: 20}})
    // The home's own statusLine got the same JSON on stdin (its first character) and is drawn.
    await waitForPane(p, 'ccl-auto-11', 'home line {')

    const quiet = JSON.parse((await p.cli(['quota', 'check', '--json'])).stdout) as {decision: {action: string}}
    expect(quiet.decision.action).toBe('none')

    mainUsage = 0.97
    await p.tmux(['send-keys', '-t', '=ccl-auto-11:', '-l', '--', 'one more thing'])
    await p.tmux(['send-keys', '-t', '=ccl-auto-11:', 'Enter'])
    await waitFor(() => samples().some((s) => s.five_hour?.used_percentage === 97), 60_000)
    const check = await p.cli(['quota', 'check', '--json'])
    expect(check.code, check.stderr).toBe(0)
    expect(JSON.parse(check.stdout).decision).toMatchObject({action: 'swap', trigger: {pattern: 'usage_five_hour_97pct', session: '(statusline)'}})
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('backup')
    expect(Date.parse(state.accounts.main?.exhausted_until ?? '')).toBeGreaterThanOrEqual(fiveHourReset * 1000)
  })
})
