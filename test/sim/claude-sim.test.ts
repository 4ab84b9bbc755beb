// The simulated claude, driven as the pool drives the real one: launched by a line typed into a shell
// in real tmux (private socket), keys sent with send-keys, the pane read with capture-pane, hooks
// recorded by a command that appends its stdin to a file. It runs the compiled program:
// CLAUDE_SIM_JS, else <root>/dist/sim/claude.js (`npm test` builds dist first).
import {randomUUID} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {literalArgument} from '../../src/lib/tmux.js'
import {acceptFirstLaunchModals} from '../../src/sim/accept.js'
import {writeSimControl} from '../../src/sim/control.js'
import {transcriptPathFor} from '../../src/sim/transcript.js'
import {ROOT, tempDir, tmux, waitFor} from '../helpers/env.js'

const SIM = process.env.CLAUDE_SIM_JS ?? join(ROOT, 'dist', 'sim', 'claude.js')
const TURN_MS = 300

let root: string
let socket: string
let cleanup: () => void
let counter = 0

beforeAll(async () => {
  ;({cleanup, dir: root} = tempDir('cf-sim-'))
  socket = join(root, 'tmux.sock')
  const started = await tmux(socket, ['new-session', '-d', '-s', 'keeper', '-x', '80', '-y', '20'])
  expect(started.code).toBe(0)
})

afterAll(async () => {
  await tmux(socket, ['kill-server'])
  cleanup()
})

type HookEvent = Record<string, unknown> & {hook_event_name: string}

interface World {
  account: string
  project: string
  settings: string
  hooksLog: string
}

/** A fresh account home, a project folder and a hooks settings file logging every event. */
function world(options: {accepted?: boolean; account?: string} = {}): World & {ready: Promise<void>} {
  counter += 1
  const base = join(root, `w${counter}`)
  const account = options.account ?? join(base, 'account')
  const project = join(base, 'project')
  mkdirSync(account, {recursive: true})
  mkdirSync(project, {recursive: true})
  const hooksLog = join(base, 'hooks.jsonl')
  // One write per event (hooks of two processes may run at once): build the line aside, append it whole.
  const command = `t=$(mktemp) && cat > "$t" && echo >> "$t" && cat "$t" >> '${hooksLog}'; rm -f "$t"`
  const group = [{hooks: [{command, timeout: 10, type: 'command'}], matcher: ''}]
  const settings = join(base, 'hooks-settings.json')
  const events = ['SessionStart', 'UserPromptSubmit', 'Stop', 'StopFailure', 'SessionEnd']
  writeFileSync(settings, JSON.stringify({hooks: Object.fromEntries(events.map((event) => [event, group]))}))
  const ready = options.accepted === false ? Promise.resolve() : acceptFirstLaunchModals(account, [project])
  return {account, hooksLog, project, ready, settings}
}

function hookEvents(w: World, name?: string): HookEvent[] {
  if (!existsSync(w.hooksLog)) return []
  const events = readFileSync(w.hooksLog, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as HookEvent)
  return name ? events.filter((event) => event.hook_event_name === name) : events
}

function records(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Message records only (the file also holds file-history snapshots, as Claude Code's does). */
function messages(path: string): Array<Record<string, unknown> & {message: Record<string, unknown>}> {
  return records(path).filter((r) => r.type === 'user' || r.type === 'assistant') as Array<Record<string, unknown> & {message: Record<string, unknown>}>
}

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** Starts a shell in a new session and types the sim's command line into it, as the pool does. */
async function launch(w: World, args: string[], options: {turnMs?: number; cwd?: string; raw?: string} = {}): Promise<string> {
  const name = `sim-${counter}-${Math.random().toString(36).slice(2, 7)}`
  const created = await tmux(socket, ['new-session', '-d', '-s', name, '-x', '160', '-y', '50', '-c', options.cwd ?? w.project, 'sh'])
  expect(created.code).toBe(0)
  const env = `CLAUDE_CONFIG_DIR=${quote(w.account)} CLAUDE_SIM_TURN_MS=${options.turnMs ?? TURN_MS} CLAUDE_SIM_START_MS=50`
  const line = `${env} ${quote(process.execPath)} ${quote(SIM)} ${args.map((arg) => quote(arg)).join(' ')}${options.raw ?? ''}; echo EXIT=$?`
  await typeLine(name, line)
  return name
}

async function typeLine(session: string, text: string): Promise<void> {
  expect((await tmux(socket, ['send-keys', '-t', `=${session}:`, '-l', '--', literalArgument(text)])).code).toBe(0)
  await sendKey(session, 'Enter')
}

async function sendKey(session: string, key: string): Promise<void> {
  expect((await tmux(socket, ['send-keys', '-t', `=${session}:`, key])).code).toBe(0)
}

async function screen(session: string): Promise<string> {
  return (await tmux(socket, ['capture-pane', '-p', '-J', '-t', `=${session}:`, '-S', '-200'])).stdout
}

async function waitForScreen(session: string, pattern: RegExp | string, timeoutMs = 20_000): Promise<string> {
  let last = ''
  try {
    return await waitFor(async () => {
      last = await screen(session)
      return (typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last)) ? last : ''
    }, timeoutMs)
  } catch {
    throw new Error(`pane ${session} never showed ${String(pattern)}; it shows:\n${last}`)
  }
}

async function waitForHooks(w: World, name: string, count = 1, timeoutMs = 20_000): Promise<HookEvent[]> {
  let events: HookEvent[] = []
  await waitFor(() => (events = hookEvents(w, name)).length >= count, timeoutMs)
  return events
}

/** A finished conversation made headless (`-p`), to resume later. */
function seedConversation(w: World, prompt: string): string {
  const id = randomUUID()
  const result = spawnSync(process.execPath, [SIM, '--session-id', id, '-p', prompt], {
    cwd: w.project,
    encoding: 'utf8',
    env: {...process.env, CLAUDE_CONFIG_DIR: w.account, CLAUDE_SIM_TURN_MS: '20'},
  })
  expect(result.status).toBe(0)
  return id
}

describe('simulated claude: turns, transcript, hooks', () => {
  it('runs a turn: transcript records with the real envelope, SessionStart then Stop with the reply', async () => {
    // Given a pre-accepted account home and a launch with a first prompt, as dispatch does
    const w = world()
    await w.ready
    const id = randomUUID()
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--session-id', id, 'first task: build the parser'])

    // When the turn ends
    const [stop] = await waitForHooks(w, 'Stop')

    // Then SessionStart came first with the common fields, and Stop carries the reply
    const path = transcriptPathFor(w.account, w.project, id)
    const [start] = hookEvents(w, 'SessionStart')
    expect(start).toMatchObject({cwd: w.project, hook_event_name: 'SessionStart', session_id: id, source: 'startup', transcript_path: path})
    expect(stop).toMatchObject({last_assistant_message: 'Done: first task: build the parser', session_id: id, stop_hook_active: false, transcript_path: path})
    expect(path).toContain(join(w.account, 'projects', w.project.replace(/[/.\\:]/g, '-')))

    const chain = messages(path)
    expect(chain[0]).toMatchObject({cwd: w.project, isSidechain: false, message: {content: 'first task: build the parser', role: 'user'}, parentUuid: null, sessionId: id, type: 'user', userType: 'external'})
    for (const [index, record] of chain.entries()) {
      for (const field of ['parentUuid', 'isSidechain', 'userType', 'cwd', 'sessionId', 'version', 'type', 'message', 'uuid', 'timestamp']) expect(record).toHaveProperty(field)
      if (index > 0) expect(record.parentUuid).toBe(chain[index - 1]?.uuid)
    }

    expect(chain.at(-1)).toMatchObject({message: {content: [{text: 'Done: first task: build the parser', type: 'text'}], role: 'assistant', stop_reason: 'end_turn'}, type: 'assistant'})
    expect(chain.some((r) => JSON.stringify(r.message.content).includes('"tool_use"'))).toBe(true)

    // The screen as 2.1.328 draws a finished turn: the folded tool call, the answer, the turn-end line
    const pane = await waitForScreen(session, '⏵⏵ bypass permissions on (shift+tab to cycle)')
    expect(pane).toContain('❯ first task: build the parser')
    expect(pane).toMatch(/\n {2}Ran 1 shell command\n\n● Done: first task: build the parser\n\n✻ Worked for \d+s · done \d{1,2}:\d\d [AP]M\n/)
    expect(pane).not.toContain('Quick safety check')
    expect(pane).not.toContain('WARNING: Claude Code running in Bypass Permissions mode')

    // When a second line is typed at the prompt, then /exit
    await typeLine(session, 'second task')
    await waitForHooks(w, 'Stop', 2)
    expect(hookEvents(w, 'Stop')[1]?.last_assistant_message).toBe('Done: second task')
    await typeLine(session, '/exit')
    await waitForScreen(session, /^EXIT=0$/m)
    expect((await waitForHooks(w, 'SessionEnd'))[0]?.reason).toBe('prompt_input_exit')
  })

  it('shows the spinner while a turn works', async () => {
    const w = world()
    await w.ready
    const session = await launch(w, ['--dangerously-skip-permissions', 'slow task'], {turnMs: 4000})
    await waitForScreen(session, '✻ Thinking… (esc to interrupt)')
    // Esc interrupts: no Stop, the marker is recorded
    await sendKey(session, 'Escape')
    await waitForScreen(session, 'Interrupted · What should Claude do instead?')
    await typeLine(session, '/exit')
    await waitForScreen(session, /^EXIT=0$/m)
  })

  it('exits on Ctrl-C pressed twice', async () => {
    const w = world()
    await w.ready
    const session = await launch(w, ['--dangerously-skip-permissions'])
    await waitForScreen(session, '⏵⏵ bypass permissions on')
    await sendKey(session, 'C-c')
    await waitForScreen(session, 'Press Ctrl-C again to exit')
    await sendKey(session, 'C-c')
    await waitForScreen(session, /^EXIT=0$/m)
  })
})

describe('simulated claude: resume', () => {
  it('resumes a conversation of this config dir and folder, and continues it', async () => {
    const w = world()
    await w.ready
    const id = seedConversation(w, 'write the changelog')
    const path = transcriptPathFor(w.account, w.project, id)
    const before = messages(path)

    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--resume', id])
    const [start] = await waitForHooks(w, 'SessionStart')
    expect(start).toMatchObject({session_id: id, source: 'resume', transcript_path: path})
    expect(await waitForScreen(session, '● Done: write the changelog')).toContain('❯ write the changelog')

    await typeLine(session, 'Continue where you left off.')
    await waitForHooks(w, 'Stop')
    const after = messages(path)
    expect(after.length).toBeGreaterThan(before.length)
    expect(after[before.length]?.parentUuid).toBe(before.at(-1)?.uuid)
    expect(after[before.length]).toMatchObject({message: {content: 'Continue where you left off.'}, sessionId: id})
    await typeLine(session, '/exit')
  })

  it('refuses an unknown id, and a known one from another folder or another config dir, with exit 1', async () => {
    const w = world()
    await w.ready
    const unknown = randomUUID()
    const s1 = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--resume', unknown])
    expect(await waitForScreen(s1, /^EXIT=1$/m)).toContain(`No conversation found with session ID: ${unknown}`)
    expect(hookEvents(w)).toEqual([])

    const id = seedConversation(w, 'a task')
    const elsewhere = join(w.project, '..', 'other')
    mkdirSync(elsewhere)
    const s2 = await launch(w, ['--resume', id], {cwd: elsewhere})
    expect(await waitForScreen(s2, /^EXIT=1$/m)).toContain(`No conversation found with session ID: ${id}`)

    const other = world()
    await other.ready
    const s3 = await launch({...other, project: w.project}, ['--resume', id])
    expect(await waitForScreen(s3, /^EXIT=1$/m)).toContain(`No conversation found with session ID: ${id}`)
  })
})

describe('simulated claude: usage limit', () => {
  it('on an exhausted account: banner, synthetic record, StopFailure rate_limit; resumed on another account it finishes', async () => {
    // Given an exhausted account
    const w = world()
    await w.ready
    await writeSimControl(w.account, {exhausted: true, reset: '3pm (Europe/Paris)'})
    const id = randomUUID()

    // When a task is launched there
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--session-id', id, 'refactor the billing module'])

    // Then the limit ends the turn as 2.1.328 ends it: the banner right under the prompt and nothing
    // after it, the synthetic record with the limit's window and instant, StopFailure without
    // error_details, and no Stop
    const [failure] = await waitForHooks(w, 'StopFailure')
    const banner = "You've hit your 5-hour limit · resets 3pm (Europe/Paris)"
    expect(failure).toMatchObject({error: 'rate_limit', hook_event_name: 'StopFailure', last_assistant_message: banner, session_id: id})
    expect(failure).not.toHaveProperty('error_details')
    const pane = await waitForScreen(session, banner)
    expect(pane).toContain(`❯ refactor the billing module\n  ⎿  ${banner}\n`)
    expect(pane).not.toMatch(/✻ \w+ for \d+s/)
    const path = transcriptPathFor(w.account, w.project, id)
    expect(messages(path).at(-1)).toMatchObject({
      apiError: 'usage_limit_reached',
      apiErrorParams: {rate_limit_info: {isUsingOverage: false, overageDisabledReason: 'org_level_disabled', overageStatus: 'rejected', rateLimitType: 'five_hour', status: 'rejected'}},
      apiErrorStatus: 429,
      apiErrorType: 'rate_limit_error',
      error: 'rate_limit',
      isApiErrorMessage: true,
      message: {content: [{text: banner, type: 'text'}], model: '<synthetic>', role: 'assistant'},
      type: 'assistant',
    })
    expect(hookEvents(w, 'Stop')).toEqual([])

    // When the pool fails over: a second account sharing the transcript store resumes the conversation
    await typeLine(session, '/exit')
    const backupHome = join(w.project, '..', 'backup')
    mkdirSync(backupHome)
    symlinkSync(join(w.account, 'projects'), join(backupHome, 'projects'))
    const backup = {...world({accepted: false, account: backupHome}), project: w.project}
    await acceptFirstLaunchModals(backupHome, [w.project])
    const resumed = await launch(backup, ['--dangerously-skip-permissions', '--settings', backup.settings, '--resume', id])
    await waitForHooks(backup, 'SessionStart')
    await typeLine(resumed, 'Continue where you left off.')

    // Then the interrupted work completes and Stop fires
    const [stop] = await waitForHooks(backup, 'Stop')
    expect(stop).toMatchObject({last_assistant_message: 'Done: refactor the billing module', session_id: id})
    await typeLine(resumed, '/exit')
  })

  it('cuts a running turn short when the account is exhausted mid-turn', async () => {
    const w = world()
    await w.ready
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, 'long task'], {turnMs: 2000})
    await waitForScreen(session, '✻ Thinking…')
    await writeSimControl(w.account, {exhausted: true, limit: 'weekly', reset: 'Mon 12:00am'})
    const [failure] = await waitForHooks(w, 'StopFailure')
    expect(failure?.last_assistant_message).toBe("You've hit your weekly limit · resets Mon 12:00am")
    const pane = await screen(session)
    expect(pane).toContain("  Ran 1 shell command\n  ⎿  You've hit your weekly limit · resets Mon 12:00am\n")
    expect(hookEvents(w, 'Stop')).toEqual([])
    await typeLine(session, '/exit')
  })

  it('shares a turns_left budget between processes of one account: exactly that many turns complete', async () => {
    // Given a budget of 3 turns and two sessions on the same account
    const w = world()
    await w.ready
    await writeSimControl(w.account, {reset: '9pm (UTC)', turns_left: 3})
    const a = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings])
    const b = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings])
    await waitForHooks(w, 'SessionStart', 2)

    // When both submit two lines at once (four turns asked for)
    await Promise.all([typeLine(a, 'a one'), typeLine(b, 'b one')])
    await Promise.all([typeLine(a, 'a two'), typeLine(b, 'b two')])

    // Then three complete and one hits the limit; the budget is spent
    await waitFor(() => hookEvents(w, 'Stop').length + hookEvents(w, 'StopFailure').length >= 4)
    expect(hookEvents(w, 'Stop')).toHaveLength(3)
    expect(hookEvents(w, 'StopFailure')).toMatchObject([{error: 'rate_limit', last_assistant_message: "You've hit your 5-hour limit · resets 9pm (UTC)"}])
    expect(JSON.parse(readFileSync(join(w.account, 'sim-control.json'), 'utf8'))).toMatchObject({turns_left: 0})
    await typeLine(a, '/exit')
    await typeLine(b, '/exit')
  })

  it('words the banner of older eras and, before StopFailure existed, ends the turn with Stop', async () => {
    const w = world()
    await w.ready
    await writeSimControl(w.account, {banner: 'legacy', exhausted: true, reset: '5pm (Europe/Warsaw)', reset_at: '2025-08-19T15:00:00Z'})
    const id = randomUUID()
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--session-id', id, 'old task'])
    const pane = await waitForScreen(session, '/upgrade to increase your usage limit.')
    expect(pane).toContain('  ⎿  Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).')
    expect(pane).toMatch(/╭─+╮\n│ > /)
    await waitForHooks(w, 'Stop')
    expect(hookEvents(w, 'StopFailure')).toEqual([])
    const last = messages(transcriptPathFor(w.account, w.project, id)).at(-1)
    expect(last).toMatchObject({isApiErrorMessage: true, message: {content: [{text: 'Claude AI usage limit reached|1755615600'}]}})
    expect(last).not.toHaveProperty('error')
    await typeLine(session, '/exit')
  })
})

describe('simulated claude: first-launch modals', () => {
  it('shows the theme picker, folder trust, then the bypass warning on a fresh config dir, records the answers, and not again', async () => {
    const w = world({accepted: false})
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings])

    // The theme picker (no hasCompletedOnboarding): no input box, no Enter-to-confirm line, no SessionStart
    const picker = await waitForScreen(session, 'Syntax theme: Monokai Extended (ctrl+t to disable)')
    expect(picker).toContain("Let's get started.")
    expect(picker).toContain(' ❯ ✔ Auto (match terminal)\n     Dark mode\n     Light mode\n')
    expect(picker).not.toContain('Enter to confirm')
    expect(picker).not.toMatch(/^─+\n❯ /m)
    expect(hookEvents(w)).toEqual([])
    await sendKey(session, 'Down')
    await waitForScreen(session, ' ❯   Dark mode')
    await sendKey(session, 'Enter')

    // Folder trust, its default answer "No, exit" first
    const trust = await waitForScreen(session, 'Quick safety check: Is this a project you created or one you trust?')
    expect(trust).toContain(' Accessing workspace:\n\n ' + w.project)
    expect(trust).toContain(' ❯ No, exit\n   Yes, I trust this folder\n\n Enter to confirm · Esc to cancel')
    await sendKey(session, 'Down')
    await waitForScreen(session, ' ❯ Yes, I trust this folder')
    await sendKey(session, 'Enter')

    const warning = await waitForScreen(session, 'WARNING: Claude Code running in Bypass Permissions mode')
    expect(warning).toContain('  ❯ No, exit\n    Yes, I accept\n\n  Enter to confirm · Esc to cancel')
    expect(hookEvents(w)).toEqual([])
    await sendKey(session, 'Down')
    await waitForScreen(session, '❯ Yes, I accept')
    await sendKey(session, 'Enter')

    await waitForHooks(w, 'SessionStart')
    await waitForScreen(session, '⏵⏵ bypass permissions on')
    expect(JSON.parse(readFileSync(join(w.account, 'settings.json'), 'utf8'))).toMatchObject({skipDangerousModePermissionPrompt: true})
    expect(JSON.parse(readFileSync(join(w.account, '.claude.json'), 'utf8'))).toMatchObject({hasCompletedOnboarding: true, projects: {[w.project]: {hasTrustDialogAccepted: true}}, theme: 'dark'})
    await typeLine(session, '/exit')

    const again = await launch(w, ['--dangerously-skip-permissions', 'hello'])
    const pane = await waitForScreen(again, '● Done: hello')
    expect(pane).not.toContain("Let's get started.")
    expect(pane).not.toContain('Quick safety check')
    expect(pane).not.toContain('Bypass Permissions mode')
    await typeLine(again, '/exit')
  })

  it('exits with 1 when Enter takes the trust default or the bypass warning default, and accepts on "2"', async () => {
    const w = world()
    await w.ready
    // Onboarded, but the folder never trusted
    writeFileSync(join(w.account, '.claude.json'), JSON.stringify({hasCompletedOnboarding: true}))
    const untrusted = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, 'never run'])
    await waitForScreen(untrusted, ' ❯ No, exit\n   Yes, I trust this folder')
    await sendKey(untrusted, 'Enter')
    await waitForScreen(untrusted, /^EXIT=1$/m)
    expect(hookEvents(w)).toEqual([])

    // Then the bypass warning never answered either
    writeFileSync(join(w.account, 'settings.json'), '{}')
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, 'never run'])
    await waitForScreen(session, 'Quick safety check')
    await sendKey(session, '2')
    await waitForScreen(session, '  ❯ No, exit\n    Yes, I accept')
    await sendKey(session, 'Enter')
    await waitForScreen(session, /^EXIT=1$/m)
    expect(hookEvents(w)).toEqual([])
    expect(readdirSync(w.account)).not.toContain('projects')

    const retry = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings])
    await waitForScreen(retry, 'WARNING: Claude Code running in Bypass Permissions mode')
    await sendKey(retry, '2')
    await waitForHooks(w, 'SessionStart')
    await typeLine(retry, '/exit')
  })
})

describe('simulated claude: hostile input is only recorded', () => {
  it('records typed `;`, `$(…)`, backquotes and tmux key names literally and runs nothing', async () => {
    const w = world()
    await w.ready
    const id = randomUUID()
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--session-id', id])
    await waitForHooks(w, 'SessionStart')
    const marker = join(w.project, 'PWNED')
    const hostile = `echo hi; touch ${marker}1 $(touch ${marker}2) \`touch ${marker}3\` C-c Enter && touch ${marker}4;`
    await typeLine(session, hostile)

    const [stop] = await waitForHooks(w, 'Stop')
    const prompts = messages(transcriptPathFor(w.account, w.project, id)).filter((r) => typeof r.message.content === 'string')
    expect(prompts.map((r) => r.message.content)).toEqual([hostile])
    expect(hookEvents(w, 'UserPromptSubmit')[0]?.prompt).toBe(hostile)
    expect(stop?.last_assistant_message).toMatch(/^Done: echo hi; touch /)
    expect(await screen(session)).toContain(`❯ ${hostile}`)
    for (const n of [1, 2, 3, 4]) expect(existsSync(`${marker}${n}`)).toBe(false)
    await typeLine(session, '/exit')
  })

  it('takes a prompt read by the shell from a task file as one literal argument', async () => {
    const w = world()
    await w.ready
    const marker = join(w.project, 'PWNED-file')
    const task = join(w.project, 'task.md')
    const body = `Fix it; $(touch ${marker}) \`touch ${marker}\`\nsecond line C-c`
    writeFileSync(task, body)
    const id = randomUUID()
    const session = await launch(w, ['--dangerously-skip-permissions', '--settings', w.settings, '--session-id', id], {raw: ` "$(cat -- ${quote(task)})"`})
    await waitForHooks(w, 'Stop')
    const [prompt] = messages(transcriptPathFor(w.account, w.project, id))
    expect(prompt?.message.content).toBe(body)
    expect(existsSync(marker)).toBe(false)
    await typeLine(session, '/exit')
  })
})

describe('simulated claude: command line', () => {
  function run(args: string[], cwd: string, account: string): {status: number | null; stderr: string} {
    const result = spawnSync(process.execPath, [SIM, ...args], {cwd, encoding: 'utf8', env: {...process.env, CLAUDE_CONFIG_DIR: account}, input: ''})
    return {status: result.status, stderr: result.stderr}
  }

  it.each([
    [['--bogus'], "error: unknown option '--bogus'"],
    [['--session-id', 'not-a-uuid'], 'Error: Invalid session ID. Must be a valid UUID.'],
    [['--session-id'], "error: option '--session-id <uuid>' argument missing"],
    [['--settings', '/nonexistent/settings.json'], 'Error: Settings file not found: /nonexistent/settings.json'],
    [['one', 'two'], 'error: too many arguments'],
  ])('refuses %j with exit 1', (args, message) => {
    const w = world({accepted: false})
    const result = run(args, w.project, w.account)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(message)
  })

  it('refuses a --session-id that is already in use', () => {
    const w = world({accepted: false})
    const id = seedConversation(w, 'first')
    const result = run(['--session-id', id], w.project, w.account)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain(`Error: Session ID ${id} is already in use.`)
  })
})
