// checkpoint: a working session's context from the claim, the hook records and the transcript's
// tail; one atomic 0600 file per session; the latest easy to find; a 20 MB transcript is not read
// whole (the bytes this process reads are counted by the kernel in /proc/self/io).
import {randomUUID} from 'node:crypto'
import {appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {type Checkpoint, checkpointSessions, checkpointStamp, latestCheckpoint, parseCheckpointName} from '../../src/lib/checkpoint/checkpoint.js'
import {deriveTranscriptPath, encodeProjectDir, lastToolCall, summarizeToolInput} from '../../src/lib/checkpoint/transcript.js'
import {type Claim, writeClaim} from '../../src/lib/dispatch/claims.js'
import {tmux, waitFor} from '../helpers/env.js'
import {json, lifecycleBox, type LifecycleBox, serviceDeps, waitForSignal} from './helpers.js'

let box: LifecycleBox | undefined
afterEach(async () => {
  await box?.close()
  box = undefined
})

function bytesReadByThisProcess(): number {
  const match = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))
  return Number(match?.[1])
}

const toolRecord = (name: string, input: Record<string, unknown>) =>
  `${JSON.stringify({message: {content: [{text: 'on it', type: 'text'}, {id: `toolu_${name}`, input, name, type: 'tool_use'}], role: 'assistant'}, timestamp: '2026-11-21T09:00:00.000Z', type: 'assistant'})}\n`

describe('transcript tail parsing', () => {
  it('finds the last tool_use of the tail and summarizes its input on one short line', () => {
    const text = [
      toolRecord('Read', {file_path: '/src/old.ts'}),
      JSON.stringify({message: {content: [{type: 'tool_result'}], role: 'user'}, type: 'user'}),
      toolRecord('Bash', {command: 'npm test -- --run\nsecond line', description: 'Run the tests'}),
      JSON.stringify({message: {content: [{text: 'All green', type: 'text'}]}, type: 'assistant'}),
      '{"torn": ',
    ].join('\n')
    expect(lastToolCall(text)).toEqual({at: '2026-11-21T09:00:00.000Z', id: 'toolu_Bash', name: 'Bash', summary: 'command: npm test -- --run second line'})
    expect(lastToolCall('{"type":"user"}\nnot json "tool_use"\n')).toBeNull()
    expect(summarizeToolInput({pattern: 'x'.repeat(400)})).toHaveLength(160)
    expect(summarizeToolInput({todos: [1, 2]})).toBe('{"todos":[1,2]}')
  })

  it('encodes the cwd as Claude Code names project folders, and names checkpoint files sortably', () => {
    expect(encodeProjectDir('/home/me/src/my.app')).toBe('-home-me-src-my-app')
    expect(deriveTranscriptPath('/h/acct', '/w/p', 'id')).toBe('/h/acct/projects/-w-p/id.jsonl')
    const at = new Date('2026-05-03T17:00:00.123Z')
    expect(checkpointStamp(at)).toBe('20260503T170000123Z')
    expect(parseCheckpointName('ccl-auto-11-20260503T170000123Z.json')).toEqual({at: at.getTime(), session: 'ccl-auto-11'})
    expect(parseCheckpointName('ccl-auto-1-20260503T170000123Z.json')?.session).toBe('ccl-auto-1')
    expect(parseCheckpointName('.ccl-auto-11-20260503T170000123Z.json.tmp-1-a-1')).toBeUndefined()
  })
})

describe('checkpoint', () => {
  it('records a working simulated Claude: account, task, cwd, conversation, transcript, last tool call', async () => {
    box = await lifecycleBox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 1, max: 2}'})
    await box.startServer({CLAUDE_SIM_TURN_MS: '4000'})
    box.put('inbox', 'scan', 'Scan the repo\n')
    const dispatched = json<{dispatched: {session: string; conversation_id: string}[]}>(await box.cli(['dispatch', '--json'])).dispatched[0]!
    const start = await waitForSignal(box, dispatched.session, 'SessionStart', dispatched.conversation_id)
    // The simulated turn writes its tool call halfway through.
    await waitFor(() => existsSync(start.transcript_path as string) && readFileSync(start.transcript_path as string, 'utf8').includes('"tool_use"'))

    const result = json<{checkpoints: (Checkpoint & {file: string})[]}>(await box.cli(['checkpoint', '--json']))
    expect(result.checkpoints).toHaveLength(1)
    const [cp] = result.checkpoints as (Checkpoint & {file: string})[]
    expect(cp).toMatchObject({
      account: 'main',
      conversation_id: dispatched.conversation_id,
      conversation_source: 'claim',
      cwd: box.project,
      kind: 'pool',
      last_tool_call: {name: 'Bash', summary: 'command: ls'},
      session: dispatched.session,
      task: 'web/scan',
      transcript_path: start.transcript_path,
    })
    expect(statSync(cp!.file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(cp!.file, 'utf8'))).toMatchObject({conversation_id: dispatched.conversation_id, session: dispatched.session})
    expect((await latestCheckpoint(box.config, dispatched.session))?.at).toBe(cp!.at)
    expect(await latestCheckpoint(box.config, 'ccl-auto-12')).toBeUndefined()
  })

  it('reads only the tail of a 20 MB transcript', async () => {
    box = await lifecycleBox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 2}'})
    await box.startServer()
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-11', '-c', box.project, 'sleep 600'])
    const conversation = randomUUID()
    const claim: Claim = {
      account: 'backup',
      attempt: 1,
      claimed_at: new Date(Date.now() - 60_000).toISOString(),
      conversation_id: conversation,
      cwd: box.project,
      launched_at: new Date(Date.now() - 59_000).toISOString(),
      pid: 1,
      project: 'web',
      retries: 0,
      session: 'ccl-auto-11',
      task: 'big',
      timeout_ms: null,
    }
    box.put('dispatched', 'big', 'Big\n')
    await writeClaim(box.project, claim)
    // No hook record: the transcript path is derived from the account home and the claim's cwd.
    const transcript = deriveTranscriptPath(box.config.accounts[1]!.home, box.project, conversation)
    mkdirSync(dirname(transcript), {recursive: true})
    writeFileSync(transcript, toolRecord('Write', {file_path: '/decoy/at/the/start'}))
    const filler = `${JSON.stringify({message: {content: [{text: 'x'.repeat(1000), type: 'text'}], role: 'user'}, type: 'user'})}\n`
    appendFileSync(transcript, filler.repeat(Math.ceil((20 * 1024 * 1024) / filler.length)))
    appendFileSync(transcript, toolRecord('Edit', {file_path: '/src/app.ts', new_string: 'b', old_string: 'a'}))
    appendFileSync(transcript, filler.repeat(10))
    expect(statSync(transcript).size).toBeGreaterThan(20 * 1024 * 1024)

    const before = bytesReadByThisProcess()
    const result = await checkpointSessions(box.config, {}, serviceDeps(box))
    const read = bytesReadByThisProcess() - before

    expect(result.checkpoints).toHaveLength(1)
    expect(result.checkpoints[0]).toMatchObject({account: 'backup', conversation_source: 'claim', last_tool_call: {name: 'Edit', summary: 'file_path: /src/app.ts'}, task: 'web/big', transcript_path: transcript})
    expect(result.checkpoints[0]?.transcript_bytes).toBe(statSync(transcript).size)
    // Everything this process read during the run (transcript tail, claims, state, tmux's output).
    expect(read).toBeLessThan(1024 * 1024)
    expect(readdirSync(join(box.config.stateDir, 'checkpoints'))).toEqual([expect.stringMatching(/^ccl-auto-11-\d{8}T\d{9}Z\.json$/)])
  })

  it('guesses a dedicated session\'s conversation from the newest transcript of its folder, and skips sessions at their shell', async () => {
    box = await lifecycleBox(`dedicated: [{session: ccl-1-ops, cwd: ./web}]`, {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 2}'})
    await box.startServer()
    const home = box.config.accounts[0]!.home
    const older = randomUUID()
    const newer = randomUUID()
    for (const [id, ms] of [
      [older, 10_000],
      [newer, 1000],
    ] as const) {
      const path = deriveTranscriptPath(home, box.project, id)
      mkdirSync(dirname(path), {recursive: true})
      writeFileSync(path, toolRecord('Grep', {pattern: id}))
      const when = new Date(Date.now() - ms)
      const {utimesSync} = await import('node:fs')
      utimesSync(path, when, when)
    }

    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-1-ops', '-c', box.project, 'sleep 600'])
    await tmux(box.socket, ['new-session', '-d', '-s', 'ccl-auto-11', '-c', box.project])
    const result = await checkpointSessions(box.config, {dryRun: true}, serviceDeps(box))
    expect(result.checkpoints).toEqual([
      expect.objectContaining({conversation_id: newer, conversation_source: 'transcript', file: null, kind: 'dedicated', last_tool_call: expect.objectContaining({name: 'Grep'}), session: 'ccl-1-ops', task: null}),
    ])
  })
})
