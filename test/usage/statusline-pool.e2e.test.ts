// The statusLine end to end with the simulated claude, which runs it as the real 2.1.328 does
// (test/fixtures/statusline/): the `--settings` statusLine replaces the home's, its input carries
// `rate_limits` only after the first response, its output is drawn under the input box. Then the
// pool: the recorded usage of the active account past the threshold swaps it, with no endpoint.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {readStateSnapshot} from '../../src/lib/lock.js'
import {writeSimControl} from '../../src/sim/control.js'
import {tmux, waitFor} from '../helpers/env.js'
import {makePool, type Pool, SIM} from '../helpers/pool.js'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

function addToSettings(home: string, extra: Record<string, unknown>): void {
  const path = join(home, 'settings.json')
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {}
  writeFileSync(path, JSON.stringify({...current, ...extra}))
}

const inputs = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : []

describe('the simulated claude runs the statusLine like the real one', () => {
  it('the --settings statusLine replaces the home one, gets rate_limits after the first response, and is drawn', async () => {
    pool = await makePool()
    const p = pool
    const home = join(p.dir, 'main')
    const seen = join(p.dir, 'statusline-inputs.jsonl')
    addToSettings(home, {statusLine: {command: `touch ${join(p.dir, 'home-statusline-ran')}`, type: 'command'}})
    await writeSimControl(home, {usage: {five_hour: 42, seven_day: 10}})
    const flag = JSON.stringify({statusLine: {command: `t=$(mktemp) && cat > "$t" && echo >> "$t" && cat "$t" >> ${seen}; rm -f "$t"; echo FLAGLINE`, type: 'command'}})
    await tmux(p.socket, ['new-session', '-d', '-s', 'probe', '-x', '120', '-y', '30', '-c', p.project])
    await tmux(p.socket, ['send-keys', '-t', '=probe:', '-l', '--', `CLAUDE_CONFIG_DIR=${home} ${SIM} --dangerously-skip-permissions --settings '${flag}'`])
    await tmux(p.socket, ['send-keys', '-t', '=probe:', 'Enter'])
    await waitFor(() => inputs(seen).length >= 1)
    expect(inputs(seen)[0]).not.toHaveProperty('rate_limits')
    expect(inputs(seen)[0]).toMatchObject({cwd: p.project, workspace: {current_dir: p.project}})
    await waitFor(async () => (await p.pane('probe')).includes('FLAGLINE'))

    await tmux(p.socket, ['send-keys', '-t', '=probe:', '-l', '--', 'say hi'])
    await tmux(p.socket, ['send-keys', '-t', '=probe:', 'Enter'])
    await waitFor(() => inputs(seen).some((i) => i.rate_limits !== undefined), 30_000)
    const limits = inputs(seen).find((i) => i.rate_limits !== undefined)?.rate_limits as Record<string, {used_percentage: number; resets_at: number}>
    expect(limits.five_hour?.used_percentage).toBe(42)
    expect(limits.seven_day?.used_percentage).toBe(10)
    expect(limits.five_hour?.resets_at).toBeGreaterThan(Date.now() / 1000)
    // Drawn between the input box and the footer, as 2.1.328 draws it.
    const lines = (await p.pane('probe')).split('\n')
    const at = lines.findIndex((l) => l === '  FLAGLINE')
    expect(lines[at + 1]).toContain('bypass permissions on')
    expect(existsSync(join(p.dir, 'home-statusline-ran'))).toBe(false)
  })
})

describe('usage seen for free, in the pool', () => {
  it("records each session's rate_limits, shows them in status, passes the user's line through, and swaps at the threshold", async () => {
    pool = await makePool({extraYaml: 'quota: {usage: {threshold: 95}}'})
    const p = pool
    const main = join(p.dir, 'main')
    addToSettings(main, {statusLine: {command: 'echo "my own line"', type: 'command'}})
    await writeSimControl(main, {usage: {five_hour: 80, seven_day: 30}})
    p.addTask('t1', 'First task')
    expect((await p.cli(['dispatch'])).code).toBe(0)
    const usageFile = join(p.config.stateDir, 'usage', 'ccl-auto-11.json')
    await waitFor(() => existsSync(usageFile), 30_000)
    // The user's own statusLine runs through ours, and what it prints is drawn.
    await waitFor(async () => (await p.pane('ccl-auto-11')).includes('my own line'), 30_000)

    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as {usage: {account: string; five_hour: {used_percentage: number; stale: boolean} | null}[]}
    expect(status.usage.find((u) => u.account === 'main')?.five_hour).toMatchObject({stale: false, used_percentage: 80})
    expect(status.usage.find((u) => u.account === 'backup')?.five_hour).toBeNull()
    const quiet = JSON.parse((await p.cli(['quota', 'check', '--json'])).stdout) as {decision: {action: string}}
    expect(quiet.decision.action).toBe('none')

    // The account passes the threshold: the next turn's statusLine reports it, the check swaps.
    await writeSimControl(main, {usage: {five_hour: 97, seven_day: 31}})
    await tmux(p.socket, ['send-keys', '-t', '=ccl-auto-11:', '-l', '--', 'one more thing'])
    await tmux(p.socket, ['send-keys', '-t', '=ccl-auto-11:', 'Enter'])
    await waitFor(() => readFileSync(usageFile, 'utf8').includes('"used_percentage":97'), 30_000)
    const check = await p.cli(['quota', 'check', '--json'])
    expect(check.code, check.stderr).toBe(0)
    const doc = JSON.parse(check.stdout) as {decision: {action: string; trigger: {pattern: string; session: string}}; usage: {source?: string}[]}
    expect(doc.decision).toMatchObject({action: 'swap', trigger: {pattern: 'usage_five_hour_97pct', session: '(statusline)'}})
    expect(doc.usage).toContainEqual(expect.objectContaining({account: 'main', over_threshold: true, source: 'statusline', utilization: 97}))
    const {state} = await readStateSnapshot(p.config)
    expect(state.active_account).toBe('backup')
    expect(state.accounts.main?.exhausted_until).not.toBeNull()
    const swap = (await readRecentEvents(p.config.stateDir, 50)).find((e) => e.event === 'swap')
    expect(swap?.reason).toBe('quota: (statusline) usage_five_hour_97pct')
  })
})
