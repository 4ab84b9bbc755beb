// The seed's six dependency-gate tests (seed 000), end to end: real queue folders, `dispatch` run
// as a process, real tmux on a private socket, and the simulated claude as `claude.binary`.
import {existsSync, readFileSync, statSync, utimesSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createWorld, type World} from './world.js'

let world: World
beforeEach(async () => {
  world = await createWorld()
})
afterEach(async () => {
  await world.close()
})

/** A dispatched task runs to its Stop and the next pass moves it to done/. */
async function runToDone(w: World, d: {session: string; conversation_id: string; project: string; task: string}): Promise<void> {
  await w.waitForStop(d.session, d.conversation_id)
  const pass = await w.dispatch()
  expect(pass.finished).toContainEqual({project: d.project, session: d.session, task: d.task})
  expect(w.whereIs(d.project, d.task)).toEqual(['done'])
}

describe('dispatch: dependency gate (seed 000), end to end', () => {
  it('DependsOnUnresolved: the task gets a .blocked marker and is not dispatched', async () => {
    // Given a task waiting for infra:build-base, which is not done
    const task = world.put('app', 'deploy', '---\ndepends_on: [infra:build-base]\n---\nDeploy the app.')
    // When dispatch runs
    const pass = await world.dispatch()
    // Then it is blocked with the reason in the marker, nothing is dispatched, no session is touched
    expect(pass.dispatched).toEqual([])
    expect(pass.blocked).toEqual([{project: 'app', reason: expect.stringContaining('waiting for infra:build-base'), task: 'deploy'}])
    expect(readFileSync(`${task}.blocked`, 'utf8')).toMatch(/^waiting for infra:build-base/)
    expect(world.whereIs('app', 'deploy')).toEqual(['inbox'])
    expect(await world.sessions()).toEqual(['keeper'])
  })

  it('DependsOnResolved: the task is dispatched, its prompt reaches claude, and no marker is left', async () => {
    const task = world.put('app', 'deploy', '---\ndepends_on: [infra:build-base, lint]\n---\nDeploy the app.')
    world.put('infra', 'build-base', 'done', {state: 'done'})
    world.put('app', 'lint', 'done', {state: 'archive'})
    const pass = await world.dispatch()
    expect(pass.blocked).toEqual([])
    expect(pass.dispatched).toEqual([expect.objectContaining({project: 'app', session: 'ccl-auto-11', task: 'deploy'})])
    expect(existsSync(`${task}.blocked`)).toBe(false)
    await runToDone(world, pass.dispatched[0] as never)
    expect(world.userPrompts().map((p) => p.content)).toEqual(['Deploy the app.'])
  })

  it('PartialResolution: stays blocked until every entry is done, then goes', async () => {
    const task = world.put('app', 'deploy', '---\ndepends_on: [infra:build-base, lint, infra:migrate]\n---\nDeploy the app.')
    world.put('infra', 'build-base', 'done', {state: 'done'})
    let pass = await world.dispatch()
    expect(pass.dispatched).toEqual([])
    expect(pass.blocked[0]?.reason).toMatch(/waiting for lint, infra:migrate/)

    world.put('app', 'lint', 'done', {state: 'done'})
    pass = await world.dispatch()
    expect(pass.dispatched).toEqual([])
    expect(pass.blocked[0]?.reason).toMatch(/waiting for infra:migrate \(/)
    expect(existsSync(`${task}.blocked`)).toBe(true)

    world.put('infra', 'migrate', 'done', {state: 'done'})
    pass = await world.dispatch()
    expect(pass.blocked).toEqual([])
    expect(pass.dispatched.map((d) => d.task)).toEqual(['deploy'])
    expect(existsSync(`${task}.blocked`)).toBe(false)
  })

  it('RejectPathTraversal: a traversal in depends_on keeps the task blocked, with the reason, even when the target exists', async () => {
    // A naive join of "../../tmp" would land on this very folder, which has the "done" task
    world.put('app', 'other', 'done', {state: 'done'})
    const task = world.put('app', 'evil', '---\ndepends_on: ["../../tmp:foo", "../app:other"]\n---\nEvil.')
    const pass = await world.dispatch()
    expect(pass.dispatched).toEqual([])
    expect(pass.blocked).toEqual([{project: 'app', reason: expect.stringMatching(/"\.\.\/\.\.\/tmp" is not a valid name.*"\.\.\/app" is not a valid name/), task: 'evil'}])
    expect(readFileSync(`${task}.blocked`, 'utf8')).toMatch(/is not a valid name/)
    expect(await world.sessions()).toEqual(['keeper'])
  })

  it('BlockedMarker is idempotent: later passes never rewrite it, so its mtime is the first detection', async () => {
    const task = world.put('app', 'deploy', '---\ndepends_on: infra:build-base\n---\nDeploy.')
    await world.dispatch()
    // Backdate the marker: a pass that rewrote it would move the mtime to now
    const first = new Date('2026-01-02T03:04:05Z')
    utimesSync(`${task}.blocked`, first, first)
    const content = readFileSync(`${task}.blocked`, 'utf8')
    await world.dispatch()
    await world.dispatch()
    expect(statSync(`${task}.blocked`).mtime.toISOString()).toBe(first.toISOString())
    expect(readFileSync(`${task}.blocked`, 'utf8')).toBe(content)
  })

  it('NoDependsOn: a plain task is dispatched and never gets a marker (regression guard)', async () => {
    const task = world.put('app', 'plain', 'Just do it.')
    const pass = await world.dispatch()
    expect(pass.dispatched.map((d) => d.task)).toEqual(['plain'])
    expect(pass.blocked).toEqual([])
    expect(existsSync(`${task}.blocked`)).toBe(false)
    await runToDone(world, pass.dispatched[0] as never)
    expect(existsSync(`${task}.blocked`)).toBe(false)
  })
})
