// What the real Claude Code draws for each limit and error, read by the classifier the way quota
// check reads it (pane, hook record, transcript record), with the labels fixed by the scenario, not
// by the classifier. With CF_RECORD_PANES=<folder> set, each capture is also written there (pane,
// transcript tail, hook record, label): that is how test/fixtures/panes/real-2.1.328 was recorded.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {classifyPane} from '../../src/lib/quota/classify.js'
import {combineSignals, type TranscriptRecord} from '../../src/lib/quota/signals.js'
import {type Answer} from './fake-api.js'
import {makeRealPool, type RealPool, transcriptRecords, waitForSignal} from './bed.js'

const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600 + 1234
const weeklyAt = Math.floor(Date.now() / 1000) + 50 * 3600 + 17

interface Scenario {
  name: string
  prompt: string
  /** The hook that ends the turn. */
  ends: 'StopFailure' | 'Stop'
  verdict: string
  /** The exact reset a record gives (epoch seconds), when the verdict is a limit. */
  reset?: number
}

const SCENARIOS: Scenario[] = [
  {ends: 'StopFailure', name: 'limit-5h-first-request', prompt: 'LIMIT5H first question', reset: resetsAt, verdict: 'quota_exhausted'},
  {ends: 'StopFailure', name: 'limit-weekly-after-bash', prompt: 'WEEKLY BASH:echo step-one', reset: weeklyAt, verdict: 'quota_exhausted'},
  {ends: 'StopFailure', name: 'error-500', prompt: 'E500 build it', verdict: 'server_error'},
  {ends: 'StopFailure', name: 'error-529', prompt: 'E529 build it', verdict: 'server_error'},
  {ends: 'StopFailure', name: 'error-401-gateway', prompt: 'E401 build it', verdict: 'auth_error'},
  {ends: 'StopFailure', name: 'transient-429-no-retries', prompt: 'T429 build it', verdict: 'rate_limited'},
  {ends: 'Stop', name: 'usage-warning', prompt: 'WARN build it', verdict: 'idle'},
]

const script = (request: {lastUser: string; userTexts: string[]}): Answer => {
  const first = request.userTexts[0] ?? ''
  const tool = request.lastUser.startsWith('[tool_result]')
  if (first.startsWith('LIMIT5H')) return {kind: 'limit', resetsAt, window: 'five_hour'}
  if (first.startsWith('WEEKLY')) return tool ? {kind: 'limit', resetsAt: weeklyAt, window: 'seven_day'} : {command: 'echo step-one', kind: 'bash'}
  if (first.startsWith('E500')) return {kind: 'error', status: 500}
  if (first.startsWith('E529')) return {kind: 'error', status: 529}
  if (first.startsWith('E401')) return {kind: 'error', status: 401}
  if (first.startsWith('T429')) return {kind: 'transient429'}
  if (first.startsWith('WARN')) return {kind: 'warning', resetsAt, text: 'Done, with a warning.', utilization: 0.93}
  return {kind: 'text', text: 'ok'}
}

let pool: RealPool
beforeAll(async () => {
  pool = await makeRealPool({script})
  expect((await pool.cli(['reconcile', '--boot'])).code).toBe(0)
  for (const s of SCENARIOS) pool.launchBy(`rec-${s.name}`, 'main', ['--dangerously-skip-permissions', '--settings', join(pool.config.stateDir, 'hooks-settings.json'), '--', s.prompt])
}, 120_000)
afterAll(async () => {
  await pool?.stop()
}, 60_000)

describe('the real 2.1.328 screens and records, classified', () => {
  it.each(SCENARIOS)('$name', async (s) => {
    const session = `rec-${s.name}`
    const ended = await waitForSignal(pool, session, s.ends, () => true, 90_000)
    // Claude Code draws the end of the turn a moment after the hook fires.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const pane = await pool.pane(session)
    const now = new Date()
    const started = (await pool.signals(session)).find((r) => r.event === 'SessionStart')
    const records = (started?.conversation_id ? transcriptRecords(pool, started.conversation_id) : []) as TranscriptRecord[]
    const options = {now, timeZone: 'UTC'}
    const fromPane = classifyPane(pane, options)
    const combined = combineSignals({hook: ended, pane: fromPane, transcript: records.slice(-40)}, options)

    const record = process.env.CF_RECORD_PANES
    if (record) {
      mkdirSync(record, {recursive: true})
      writeFileSync(join(record, `${s.name}.txt`), pane)
      writeFileSync(join(record, `${s.name}.jsonl`), records.slice(-12).map((r) => JSON.stringify(r)).join('\n') + '\n')
      writeFileSync(join(record, `${s.name}.hook.json`), `${JSON.stringify(ended)}\n`)
      writeFileSync(join(record, `${s.name}.label.json`), `${JSON.stringify({now: now.toISOString(), reset_at: s.reset ? new Date(s.reset * 1000).toISOString() : null, verdict: s.verdict})}\n`)
    }

    expect(combined.verdict, `${pane}\n${JSON.stringify(combined)}`).toBe(s.verdict)
    if (s.reset) {
      // The record gives the reset to the second; the pane alone, to the minute.
      expect(combined).toMatchObject({reset_at: new Date(s.reset * 1000).toISOString(), source: 'transcript'})
      expect(fromPane.verdict).toBe('quota_exhausted')
      expect(Date.parse(fromPane.reset_at ?? '')).toBe(Math.floor(s.reset / 60) * 60_000)
    } else {
      expect(fromPane.verdict).not.toBe('quota_exhausted')
    }
  }, 120_000)
})
