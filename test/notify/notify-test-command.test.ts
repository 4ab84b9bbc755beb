// `notify test`: the command class run in-process (the built CLI is not needed), against loopback
// servers: one result per channel, exit 0 / 69 / 78, --json on stdout only, no secret anywhere.
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import NotifyTest from '../../src/commands/notify/test.js'
import {testNotifications} from '../../src/lib/notify/test.js'
import {ROOT, type Sandbox, sandbox} from '../helpers/env.js'
import {deadEndpoint, type Loopback, loopback} from '../helpers/loopback.js'

const TOKEN = '424242:AAF-notify_test_SECRET'
let servers: Loopback[] = []
let box: Sandbox | undefined
let out = ''
let err = ''
const savedEnv = {...process.env}

beforeEach(() => {
  out = ''
  err = ''
  process.exitCode = undefined
  process.env.NO_COLOR = '1'
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk)
    return true
  })
})

afterEach(async () => {
  vi.restoreAllMocks()
  process.env = {...savedEnv}
  process.exitCode = undefined
  await Promise.all(servers.map((s) => s.close()))
  servers = []
  box?.cleanup()
  box = undefined
})

async function notifyTest(...args: string[]): Promise<number> {
  await NotifyTest.run(['--config', box!.configPath, ...args], ROOT)
  return Number(process.exitCode ?? 0)
}

describe('notify test', () => {
  it('reports every channel and exits 0 when all succeeded', async () => {
    const api = await loopback([{body: {ok: true}, status: 200}])
    servers.push(api)
    box = sandbox(`notifications:\n  telegram: {bot_token_env: CF_NT_TOKEN, chat_id: "7", api_base: "${api.url}"}\n  webhook: {url: "${api.url}/hook"}`)
    process.env.CF_NT_TOKEN = TOKEN

    const code = await notifyTest('--json')

    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual({
      channels: [
        {attempts: 1, channel: 'telegram', ok: true, status: 200},
        {attempts: 1, channel: 'webhook', ok: true, status: 200},
      ],
    })
    expect(api.requests.map((r) => r.path)).toEqual([`/bot${TOKEN}/sendMessage`, '/hook'])
    expect((api.requests[1]?.json as {event: string; title: string}).event).toBe('test')
    expect(err).toBe('')
  })

  it('exits 69 when a channel failed: a table on stdout, the reason on stderr, no secret', async () => {
    const dead = await deadEndpoint()
    box = sandbox(
      `notifications:\n  timeout: 1s\n  telegram: {bot_token_env: CF_NT_TOKEN, chat_id: "7", api_base: "${dead}"}\n  email: {api_key_env: CF_NT_UNSET, from: "a@example.org", to: ["b@example.org"], api_base: "${dead}"}`,
    )
    process.env.CF_NT_TOKEN = TOKEN
    delete process.env.CF_NT_UNSET

    const code = await notifyTest()

    expect(code).toBe(69)
    expect(out).toMatch(/channel\s+result\s+status\s+error/)
    expect(out).toMatch(/telegram\s+failed\s+-\s+network error: .*ECONNREFUSED/)
    expect(out).toMatch(/email\s+failed\s+-\s+CF_NT_UNSET is not set/)
    expect(err).toContain('claude-failover: error: 2 of 2 notification channel(s) failed: telegram, email')
    expect(out + err).not.toContain(TOKEN)
  })

  it('--json still exits 69 on a failure, with the channels document', async () => {
    const api = await loopback([{body: {description: 'Unauthorized'}, status: 401}])
    servers.push(api)
    box = sandbox(`notifications:\n  telegram: {bot_token_env: CF_NT_TOKEN, chat_id: "7", api_base: "${api.url}"}`)
    process.env.CF_NT_TOKEN = TOKEN
    expect(await notifyTest('--json')).toBe(69)
    expect(JSON.parse(out)).toEqual({channels: [{attempts: 1, channel: 'telegram', error: 'HTTP 401: Unauthorized', ok: false, status: 401}]})
  })

  it('exits 78 when no channel is configured', async () => {
    box = sandbox()
    expect(await notifyTest()).toBe(78)
    expect(err).toContain('no notification channel is configured')
    await expect(testNotifications(box.config)).rejects.toMatchObject({exitCode: 78, kind: 'config'})
  })

  it('answers to the hyphenated alias', () => {
    expect(NotifyTest.hiddenAliases).toEqual(['notify-test'])
  })
})
