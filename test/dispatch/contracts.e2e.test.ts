// dispatch's contracts with its environment and its callers: no tmux server (exit 69, inbox
// unchanged), --dry-run (nothing claimed, nothing written), the --json shape of SPEC §1, every
// account exhausted (nothing dispatched, and until when), and verify-before-redeliver when a
// launch line is on a pane's screen but nothing has started.
import {randomUUID} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {claimPath, writeClaim} from '../../src/lib/dispatch/claims.js'
import {buildLaunchLine, hooksSettingsPath} from '../../src/lib/launch.js'
import {withStateLock} from '../../src/lib/lock.js'
import {queueDir} from '../../src/lib/queue/layout.js'
import {literalArgument} from '../../src/lib/tmux.js'
import {tmux, waitFor} from '../helpers/env.js'
import {createWorld, type DispatchJson, type World} from './world.js'

let world: World | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** Every entry of every queue folder of a project: name, bytes and mtime. */
function snapshot(w: World, project: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const state of ['inbox', 'dispatched', 'done', 'failed'] as const) {
    const dir = queueDir(w.projectPath(project), state)
    for (const name of readdirSync(dir).sort()) out[`${state}/${name}`] = `${statSync(join(dir, name)).mtimeMs} ${readFileSync(join(dir, name), 'base64')}`
  }

  return out
}

/** A queue with one task of each kind, none of them judged yet (no markers). */
function mixedQueue(w: World): void {
  w.put('app', 'ready', 'Build it.')
  w.put('app', 'waits', '---\ndepends_on: [infra:base]\n---\nThen this.')
  w.put('app', 'broken', '---\npriority: [1\n---\nNever.')
}

describe('dispatch: environment and contracts', () => {
  it('with no tmux server: exits 69, says so, and leaves the inbox byte for byte as it was', async () => {
    // Given ready, blocked and invalid tasks never judged before, and no tmux server on the socket
    world = await createWorld({server: false})
    mixedQueue(world)
    const before = snapshot(world, 'app')
    // When dispatch runs
    const result = await world.cli(['dispatch', '--json'])
    // Then it exits 69 with one line naming the socket, and not a byte changed (no marker either)
    expect(result.code).toBe(69)
    expect(result.stderr).toMatch(/no tmux server is running on .*tmux\.sock/)
    expect(JSON.parse(result.stdout)).toMatchObject({error: {code: 'UNAVAILABLE', exit: 69}})
    expect(snapshot(world, 'app')).toEqual(before)
    // And it never starts a server itself
    expect(existsSync(world.socket)).toBe(false)
  })

  it('with no tmux server and nothing ready: judges the inboxes and exits 0', async () => {
    world = await createWorld({server: false})
    world.put('app', 'waits', '---\ndepends_on: [infra:base]\n---\nThen this.')
    const pass = await world.dispatch()
    expect(pass).toMatchObject({blocked: [{project: 'app', task: 'waits'}], dispatched: []})
    expect(existsSync(join(queueDir(world.projectPath('app'), 'inbox'), 'waits.md.blocked'))).toBe(true)
  })

  it('--dry-run shows what it would dispatch, and claims, types and writes nothing', async () => {
    world = await createWorld()
    mixedQueue(world)
    world.put('app', 'second', 'And this.')
    const before = snapshot(world, 'app')
    const pass = await world.dispatch(['--dry-run'])
    expect(pass.dry_run).toBe(true)
    expect(pass.dispatched.map((d) => [d.task, d.session])).toEqual([
      ['ready', 'ccl-auto-11'],
      ['second', 'ccl-auto-12'],
    ])
    expect(pass.blocked.map((b) => b.task)).toEqual(['waits'])
    expect(pass.invalid.map((i) => i.task)).toEqual(['broken'])
    expect(snapshot(world, 'app')).toEqual(before)
    expect(await world.sessions()).toEqual(['keeper'])
    expect(existsSync(join(world.box.config.stateDir, 'prompts'))).toBe(false)
  })

  it('--json has the SPEC §1 shape; the table says the same for a human', async () => {
    world = await createWorld()
    mixedQueue(world)
    const result = await world.cli(['dispatch', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const pass = JSON.parse(result.stdout) as DispatchJson
    expect(pass.dispatched).toEqual([{account: 'main', conversation_id: expect.stringMatching(/^[0-9a-f-]{36}$/), project: 'app', session: 'ccl-auto-11', task: 'ready'}])
    expect(pass.blocked).toEqual([{project: 'app', reason: expect.stringContaining('waiting for infra:base'), task: 'waits'}])
    expect(pass.invalid).toEqual([{project: 'app', reason: expect.stringContaining('frontmatter is not valid YAML'), task: 'broken'}])
    for (const key of ['finished', 'recovered', 'settling', 'warnings']) expect(Array.isArray(pass[key as keyof DispatchJson]), key).toBe(true)
    expect(pass.paused_until).toBeNull()

    const human = await world.cli(['dispatch'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/app\/waits\s+blocked\s+waiting for infra:base/)
    expect(human.stdout).toMatch(/app\/broken\s+invalid\s+frontmatter is not valid YAML/)
  })

  it('with every account exhausted: dispatches nothing and says until when', async () => {
    world = await createWorld()
    world.put('app', 'ready', 'Build it.')
    const soon = new Date(Date.now() + 2 * 3600_000).toISOString()
    const later = new Date(Date.now() + 5 * 3600_000).toISOString()
    await withStateLock(world.box.config, {command: 'test'}, async (tx) => {
      tx.state.accounts.main = {exhausted_until: later, last_hit: null}
      tx.state.accounts.backup = {exhausted_until: soon, last_hit: null}
      await tx.commit()
    })

    const result = await world.cli(['dispatch', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({dispatched: [], paused_until: soon})
    expect(result.stderr).toContain(`dispatch paused: every account is exhausted until ${soon}; 1 ready task(s) wait`)
    const human = await world.cli(['dispatch'])
    expect(human.stdout).toContain(`paused: every account is exhausted until ${soon}`)
    expect(world.whereIs('app', 'ready')).toEqual(['inbox'])
    expect(await world.sessions()).toEqual(['keeper'])
  })

  it('a launch line on the screen with nothing started: left alone while fresh, cleared and requeued once stale, then delivered once', async () => {
    // Given a claim (record and state written) whose launch line was typed into the session's
    // shell by a dispatcher that then died, without Enter
    world = await createWorld({projects: ['app']})
    const w = world
    const body = 'Only once, please.'
    w.put('app', 'job', body, {state: 'dispatched'})
    const conversationId = randomUUID()
    const claim = {
      account: 'main', attempt: 1, claimed_at: new Date().toISOString(), conversation_id: conversationId, cwd: w.projectPath('app'),
      launched_at: null, pid: 1, project: 'app', retries: 0, session: 'ccl-auto-11', task: 'job', timeout_ms: null,
    }
    await writeClaim(w.projectPath('app'), claim)
    await withStateLock(w.box.config, {command: 'test'}, async (tx) => {
      tx.state.sessions['ccl-auto-11'] = {account: 'main', conversation_id: conversationId, since: claim.claimed_at, state: 'working', task: 'app/job'}
      await tx.commit()
    })
    expect((await tmux(w.socket, ['new-session', '-d', '-s', 'ccl-auto-11', '-c', w.projectPath('app')])).code).toBe(0)
    const account = {home: join(w.dir, 'main'), name: 'main'}
    const prompt = join(w.dir, 'never-read.md')
    const line = buildLaunchLine(w.box.config, {account, conversationId, cwd: w.projectPath('app'), mode: {kind: 'new', promptFile: prompt}, session: 'ccl-auto-11', task: {id: 'job', project: 'app'}})
    expect((await tmux(w.socket, ['send-keys', '-t', '=ccl-auto-11:', '-l', '--', literalArgument(line)])).code).toBe(0)
    await waitFor(async () => (await tmux(w.socket, ['capture-pane', '-p', '-J', '-t', '=ccl-auto-11:'])).stdout.includes(conversationId))

    // When a pass runs while the claim is fresh: nothing is decided yet (claimed just now, so the
    // setup above, however slow, does not eat into dispatch's 10 s launch grace)
    await writeClaim(w.projectPath('app'), {...claim, claimed_at: new Date().toISOString()})
    let pass = await w.dispatch()
    expect(pass).toMatchObject({dispatched: [], recovered: []})
    expect(pass.warnings.join('\n')).toMatch(/app\/job: its launch line is in ccl-auto-11 but nothing has started yet/)
    expect(w.whereIs('app', 'job')).toEqual(['dispatched'])

    // When the claim is older than the grace: the line is cleared, the task requeued and delivered anew
    await writeClaim(w.projectPath('app'), {...claim, claimed_at: new Date(Date.now() - 60_000).toISOString()})
    pass = await w.dispatch()
    expect(pass.recovered).toEqual([{outcome: 'requeued', project: 'app', session: 'ccl-auto-11', task: 'job'}])
    expect(pass.dispatched).toEqual([expect.objectContaining({session: 'ccl-auto-11', task: 'job'})])
    const delivery = pass.dispatched[0] as DispatchJson['dispatched'][number]
    expect(delivery.conversation_id).not.toBe(conversationId)
    await w.waitForStop('ccl-auto-11', delivery.conversation_id)
    pass = await w.dispatch()
    expect(pass.finished).toEqual([{project: 'app', session: 'ccl-auto-11', task: 'job'}])
    expect(w.whereIs('app', 'job')).toEqual(['done'])
    expect(w.userPrompts().map((p) => p.content)).toEqual([body])
    expect(existsSync(claimPath(w.projectPath('app'), 'job'))).toBe(false)
    expect(existsSync(hooksSettingsPath(w.box.config))).toBe(true)
  })
})
