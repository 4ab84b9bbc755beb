// The real Claude Code's screens and records for each scenario of test/helpers/fidelity.ts, in one
// pool (all scenarios at once, each in its own session). `npm run record:real` (CF_RECORD=1) writes
// them to test/fixtures/real/<version>/<scenario>.json, the fixtures the simulator is held to by
// test/sim/fidelity.test.ts. Without CF_RECORD the same run checks that today's binary still ends
// each scenario as its fixture says: the same pane verdict, hook records and transcript fields.
import {randomUUID} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {ensureHooksSettings} from '../../src/lib/launch.js'
import {
  essentials,
  fixtureDir,
  NORMALIZED,
  type Observation,
  observe,
  readFixture,
  RECORDED_VERSION,
  replayVerdict,
  type Scenario,
  type ScenarioName,
  scenarioPrompt,
  SCENARIOS,
  writeFixture,
} from '../helpers/fidelity.js'
import {waitFor} from '../helpers/env.js'
import {type Answer, type ApiRequest, defaultScript} from './fake-api.js'
import {makeRealPool, type RealPool, realClaudeBinary, realClaudeVersion, transcriptRecords, waitForPane, waitForSignal} from './bed.js'

const RECORD = process.env.CF_RECORD === '1'
// Real Claude Codes starting at once, at most: each takes a second or two of CPU to start, and the
// suite's other real-binary tests run beside this one on the same two cores.
const PARALLEL = 5
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

let pool: RealPool | undefined
afterAll(async () => {
  await pool?.stop()
})

/** The screen each scenario ends on (waited for before the capture). */
const TURN_END = /● DONE[\s\S]*✻ .+ for \d[\dms ]* · done \d/
const SCREENS: Record<ScenarioName, RegExp> = {
  bash: TURN_END,
  'error-401': /Not logged in · Please run \/login/,
  'error-500': /API Error: 500/,
  'error-529': /API Error: 529/,
  'limit-after-tool': /You've hit your 5-hour limit/,
  'limit-five-hour': /You've hit your 5-hour limit/,
  'limit-no-reason': /You've hit your limit/,
  'limit-weekly': /You've hit your weekly limit/,
  'modal-bypass': /WARNING: Claude Code running in Bypass Permissions mode[\s\S]*Yes, I accept/,
  'modal-theme': /Let's get started\.[\s\S]*Choose the text style[\s\S]*Syntax theme/,
  'modal-trust': /Quick safety check: Is this a project you created or one you trust\?[\s\S]*Yes, I trust this folder/,
  'resumed-after-limit': /You've hit your 5-hour limit/,
  text: TURN_END,
  'usage-warning': new RegExp(`${TURN_END.source}[\\s\\S]*You've used 93% of your 5-hour limit`),
}

/** The fake API's answer to a scenario's requests (the marker in the first prompt names it). */
function answerFor(request: ApiRequest, resets: Partial<Record<ScenarioName, number>>): Answer {
  const name = /^SCENARIO (\S+):/.exec(request.userTexts[0] ?? '')?.[1] as ScenarioName | undefined
  const resetsAt = (name && resets[name]) ?? 0
  const afterTool = request.lastUser.startsWith('[tool_result]')
  switch (name) {
    case 'limit-five-hour':
    case 'resumed-after-limit': {
      return request.account === 'main' ? {kind: 'limit', resetsAt, window: 'five_hour'} : {kind: 'text', text: 'DONE on backup'}
    }

    case 'limit-after-tool': {
      return afterTool ? {kind: 'limit', resetsAt, window: 'five_hour'} : defaultScript(request, undefined as never)
    }

    case 'limit-weekly': {
      return {kind: 'limit', resetsAt, window: 'seven_day'}
    }

    case 'limit-no-reason': {
      return {kind: 'limit', overageDisabledReason: null, resetsAt, window: 'five_hour'}
    }

    case 'error-500': {
      return {kind: 'error', status: 500}
    }

    case 'error-529': {
      return {kind: 'error', status: 529}
    }

    case 'error-401': {
      return {kind: 'error', status: 401}
    }

    case 'usage-warning': {
      return {kind: 'warning', resetsAt, text: 'DONE with most of the window used', utilization: 0.93}
    }

    default: {
      return defaultScript(request, undefined as never)
    }
  }
}

/** A copy of the prepared `main` home that lacks one first-launch answer, as a new home would. */
function homeWithout(p: RealPool, gap: 'onboarding' | 'trust' | 'bypass'): string {
  const name = `home-${gap}`
  const home = join(p.dir, name)
  mkdirSync(home)
  for (const file of ['.claude.json', 'settings.json']) copyFileSync(join(p.dir, 'main', file), join(home, file))
  const edit = (file: string, change: (json: Record<string, unknown>) => void): void => {
    const json = JSON.parse(readFileSync(join(home, file), 'utf8')) as Record<string, unknown>
    change(json)
    writeFileSync(join(home, file), JSON.stringify(json, null, 2))
  }

  if (gap === 'onboarding') edit('.claude.json', (json) => delete json.hasCompletedOnboarding)
  if (gap === 'trust') edit('.claude.json', (json) => delete json.projects)
  if (gap === 'bypass') edit('settings.json', (json) => delete json.skipDangerousModePermissionPrompt)
  return name
}

/**
 * The pane once it stops changing and no hook runs any more: the real binary writes the hook's
 * record before the hook process ends, and shows `(running Stop hook · 19s …)` until it does.
 */
async function settledPane(p: RealPool, session: string): Promise<string> {
  let previous = ''
  return waitFor(async () => {
    const now = await p.pane(session)
    const same = now === previous && !/running \w+ hooks?/.test(now)
    previous = now
    return same ? now : ''
  }, 30_000, 800)
}

async function runScenario(p: RealPool, scenario: Scenario, hooksFile: string, resets: Partial<Record<ScenarioName, number>>, homes: Record<string, string>): Promise<Observation> {
  const session = `rec-${scenario.name}`
  const conversation = randomUUID()
  const home = scenario.modal ? (homes[scenario.modal] as string) : 'main'
  const claude = ['--dangerously-skip-permissions', '--settings', hooksFile]
  p.launchBy(session, home, [...claude, '--session-id', conversation, '--', scenarioPrompt(scenario)])
  if (scenario.modal) {
    await waitForPane(p, session, SCREENS[scenario.name], 90_000)
  } else {
    const done = scenario.expected === 'idle' ? 'Stop' : 'StopFailure'
    await waitForSignal(p, session, done, undefined, 90_000)
  }

  if (scenario.name === 'resumed-after-limit') {
    await waitForPane(p, session, SCREENS[scenario.name], 30_000)
    await p.close(session)
    p.launchBy(session, 'backup', [...claude, '--resume', conversation])
    await waitForSignal(p, session, 'SessionStart', (s) => s.source === 'resume', 90_000)
  }

  await waitForPane(p, session, SCREENS[scenario.name], 30_000)
  const pane = await settledPane(p, session)
  const capturedAt = new Date()
  return observe({
    binary: realClaudeBinary(),
    capturedAt,
    conversation,
    pane,
    resetsAt: resets[scenario.name] ?? null,
    sandbox: p.dir,
    signals: await p.signals(session),
    timeZone: TIME_ZONE,
    transcript: scenario.modal ? [] : transcriptRecords(p, conversation),
  })
}

/** Runs `work` over `items` with at most `limit` at a time; results in the items' order. */
async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index] as T)
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, () => worker()))
  return results
}

describe(`the real Claude Code against its recorded fixtures (test/fixtures/real)${RECORD ? ': recording' : ''}`, () => {
  it('ends every scenario as its fixture says: pane and combined verdicts, hook records, transcript fields', async () => {
    const started = Date.now()
    const version = realClaudeVersion()
    const now = Math.floor(Date.now() / 1000)
    const resets: Partial<Record<ScenarioName, number>> = Object.fromEntries(SCENARIOS.filter((s) => s.resetsIn).map((s) => [s.name, now + (s.resetsIn as number)]))
    pool = await makeRealPool({maxRetries: 0, script: (request) => answerFor(request, resets)})
    const p = pool
    const hooksFile = await ensureHooksSettings(p.config)
    const homes = {bypass: homeWithout(p, 'bypass'), onboarding: homeWithout(p, 'onboarding'), trust: homeWithout(p, 'trust')}

    const observations = await inBatches(SCENARIOS, PARALLEL, (scenario) => runScenario(p, scenario, hooksFile, resets, homes))
    // No scenario charges the other account, not even the conversation resumed there (nothing typed).
    expect(p.api.mainRequests('backup')).toEqual([])

    if (RECORD) {
      for (const [index, scenario] of SCENARIOS.entries()) {
        writeFixture({
          claudeCode: version,
          expectedVerdict: scenario.expected,
          normalized: NORMALIZED,
          scenario: scenario.name,
          what: scenario.what,
          ...(observations[index] as Observation),
        })
      }
    }

    // A newer binary being verified (CLAUDE_CODE_VERSION) is compared with the pinned recording.
    const against = existsSync(fixtureDir(version)) ? version : RECORDED_VERSION
    for (const [index, scenario] of SCENARIOS.entries()) {
      const seen = observations[index] as Observation
      const fixture = readFixture(against, scenario.name)
      expect({scenario: scenario.name, ...replayVerdict(seen)}).toEqual({scenario: scenario.name, ...replayVerdict(fixture)})
      expect({scenario: scenario.name, ...essentials(seen)}).toEqual({scenario: scenario.name, ...essentials(fixture)})
    }

    console.error(`record.real: ${SCENARIOS.length} scenarios against Claude Code ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s${RECORD ? `, written to ${fixtureDir(version)}` : ''}`)
  }, 240_000)
})
