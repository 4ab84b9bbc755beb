// Each channel against a loopback server standing in for the real API: the exact request the API
// expects, one retry on a 5xx or a network error, none on a 4xx, a bounded wait, no secret leaks.
import {afterEach, describe, expect, it} from 'vitest'

import {type ChannelDeps, type OutgoingMessage, redact, sendEmail, sendTelegram, sendToChannel, sendWebhook} from '../../src/lib/notify/channels.js'
import {type Sandbox, sandbox} from '../helpers/env.js'
import {deadEndpoint, loopbackPool} from '../helpers/loopback.js'

const TOKEN = '987654321:AAH-tele_SECRET-token'
const API_KEY = 're_LIVE_resend_SECRET_key'
const HOOK_SECRET = 'whsec_hook_SECRET_value'
const ENV = {CF_TEST_HOOK: HOOK_SECRET, CF_TEST_RESEND: API_KEY, CF_TEST_TG: TOKEN}

const message: OutgoingMessage = {
  fields: {from: 'main', to: 'backup'},
  host: 'pool-host',
  key: 'swap_done:main->backup@2026-05-03T14:05:00.000Z',
  kind: 'swap_done',
  severity: 'info',
  text: 'The pool failed over from account main to backup.\nNext: nothing to do.',
  title: 'Swapped accounts: main → backup',
  ts: '2026-05-03T14:05:01.000Z',
}

const servers = loopbackPool()
const server = servers.start
let box: Sandbox | undefined

afterEach(async () => {
  await servers.closeAll()
  box?.cleanup()
  box = undefined
})

function notifications(yaml: string) {
  box = sandbox(`notifications:\n${yaml}`)
  return box.config.notifications
}

function deps(overrides: Partial<ChannelDeps> = {}): ChannelDeps {
  return {env: ENV, fetch: globalThis.fetch, retryDelayMs: 0, sleep: async () => {}, timeoutMs: 2000, ...overrides}
}

describe('request shapes', () => {
  it('Telegram: POST {api_base}/bot<token>/sendMessage with chat_id, text, disable_web_page_preview', async () => {
    const api = await server({body: {ok: true, result: {message_id: 1}}, status: 200})
    const config = notifications(`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "4242", api_base: "${api.url}/"}`)

    const result = await sendTelegram(config.telegram!, message, deps())

    expect(result).toEqual({attempts: 1, channel: 'telegram', ok: true, status: 200})
    expect(api.requests).toHaveLength(1)
    const [request] = api.requests
    expect(request?.method).toBe('POST')
    expect(request?.path).toBe(`/bot${TOKEN}/sendMessage`)
    expect(request?.headers['content-type']).toBe('application/json')
    expect(request?.json).toEqual({
      chat_id: '4242',
      disable_web_page_preview: true,
      text: `[INFO] ${message.title}\n\n${message.text}\n\n— claude-failover on pool-host, ${message.ts}`,
    })
  })

  it('Resend: POST {api_base}/emails with a Bearer key, a User-Agent, an idempotency key and {from, to, subject, text}', async () => {
    const api = await server({body: {id: '49a3999c-0ce1-4ea6-ab68-afcd6dc2e794'}, status: 200})
    const config = notifications(`  email: {api_key_env: CF_TEST_RESEND, from: "pool@example.org", to: ["ops@example.org", "oncall@example.org"], api_base: "${api.url}"}`)

    const result = await sendEmail(config.email!, message, deps())

    expect(result.ok).toBe(true)
    const [request] = api.requests
    expect(request?.method).toBe('POST')
    expect(request?.path).toBe('/emails')
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(request?.headers['content-type']).toBe('application/json')
    // Resend rejects requests without a User-Agent with 403 (error 1010).
    expect(request?.headers['user-agent']).toBe('claude-failover')
    expect(request?.headers['idempotency-key']).toMatch(/^claude-failover\/swap_done\/[0-9a-f]{32}$/)
    expect(request?.json).toEqual({
      from: 'pool@example.org',
      subject: '[claude-failover@pool-host] Swapped accounts: main → backup',
      text: expect.stringContaining('The pool failed over from account main to backup.'),
      to: ['ops@example.org', 'oncall@example.org'],
    })
  })

  it('webhook: POST the configured URL with event, severity, message, fields, ts and a Bearer secret', async () => {
    const hook = await server({status: 204})
    const config = notifications(`  webhook: {url: "${hook.url}/claude-failover?team=ops", secret_env: CF_TEST_HOOK}`)

    const result = await sendWebhook(config.webhook!, {...message, severity: 'critical'}, deps())

    expect(result).toEqual({attempts: 1, channel: 'webhook', ok: true, status: 204})
    const [request] = hook.requests
    expect(request?.method).toBe('POST')
    expect(request?.path).toBe('/claude-failover?team=ops')
    expect(request?.headers.authorization).toBe(`Bearer ${HOOK_SECRET}`)
    expect(request?.headers['content-type']).toBe('application/json')
    expect(request?.json).toEqual({
      event: 'swap_done',
      fields: {from: 'main', to: 'backup'},
      host: 'pool-host',
      key: message.key,
      message: message.text,
      severity: 'critical',
      source: 'claude-failover',
      title: message.title,
      ts: message.ts,
    })
  })

  it('webhook without secret_env sends no Authorization header', async () => {
    const hook = await server({status: 200})
    const config = notifications(`  webhook: {url: "${hook.url}/h"}`)
    await sendWebhook(config.webhook!, message, deps())
    expect(hook.requests[0]?.headers.authorization).toBeUndefined()
  })
})

describe('retries and failures', () => {
  it('retries once after a 500 and reports the success (same body, same idempotency key)', async () => {
    const api = await server({body: {message: 'internal'}, status: 500}, {body: {id: 'x'}, status: 200})
    const config = notifications(`  email: {api_key_env: CF_TEST_RESEND, from: "a@example.org", to: ["b@example.org"], api_base: "${api.url}"}`)
    const pauses: number[] = []

    const result = await sendEmail(config.email!, message, deps({retryDelayMs: 250, sleep: async (ms) => void pauses.push(ms)}))

    expect(result).toEqual({attempts: 2, channel: 'email', ok: true, status: 200})
    expect(api.requests).toHaveLength(2)
    expect(api.requests[1]?.body).toBe(api.requests[0]?.body)
    expect(api.requests[1]?.headers['idempotency-key']).toBe(api.requests[0]?.headers['idempotency-key'])
    expect(pauses).toEqual([250])
  })

  it('gives up after the one retry when the 5xx persists', async () => {
    const api = await server({body: {description: 'Bad Gateway'}, status: 502})
    const config = notifications(`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "1", api_base: "${api.url}"}`)
    const result = await sendTelegram(config.telegram!, message, deps())
    expect(result).toEqual({attempts: 2, channel: 'telegram', error: 'HTTP 502: Bad Gateway', ok: false, status: 502})
    expect(api.requests).toHaveLength(2)
  })

  it('does not retry a 4xx and shows the API\'s own explanation', async () => {
    const api = await server({body: {description: 'Bad Request: chat not found', error_code: 400, ok: false}, status: 400})
    const config = notifications(`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "1", api_base: "${api.url}"}`)
    const result = await sendTelegram(config.telegram!, message, deps())
    expect(result).toEqual({attempts: 1, channel: 'telegram', error: 'HTTP 400: Bad Request: chat not found', ok: false, status: 400})
    expect(api.requests).toHaveLength(1)
  })

  it('retries a dropped connection once, and then succeeds', async () => {
    const hook = await server('destroy', {status: 200})
    const config = notifications(`  webhook: {url: "${hook.url}/h"}`)
    const result = await sendWebhook(config.webhook!, message, deps())
    expect(result).toEqual({attempts: 2, channel: 'webhook', ok: true, status: 200})
  })

  it('a dead endpoint (closed port) resolves with a failure after one retry, without throwing', async () => {
    const dead = await deadEndpoint()
    const config = notifications(`  webhook: {url: "${dead}/h"}`)
    const result = await sendWebhook(config.webhook!, message, deps())
    expect(result.ok).toBe(false)
    expect(result.status).toBeNull()
    expect(result.attempts).toBe(2)
    expect(result.error).toMatch(/^network error: .*ECONNREFUSED/)
  })

  it('a server that never answers is abandoned after the timeout, without a retry', async () => {
    const api = await server('hang')
    const config = notifications(`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "1", api_base: "${api.url}"}`)
    const started = performance.now()

    const result = await sendTelegram(config.telegram!, message, deps({timeoutMs: 300}))

    const elapsed = performance.now() - started
    expect(result).toEqual({attempts: 1, channel: 'telegram', error: 'timed out after 300ms', ok: false, status: null})
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(1500)
    expect(api.requests).toHaveLength(1)
  })

  it('does not follow a redirect (a token is never replayed elsewhere)', async () => {
    const api = await server({body: '', status: 302})
    const config = notifications(`  webhook: {url: "${api.url}/h", secret_env: CF_TEST_HOOK}`)
    const result = await sendWebhook(config.webhook!, message, deps())
    expect(result.ok).toBe(false)
    expect(result.status).toBe(302)
    expect(result.error).toMatch(/redirects/)
    expect(api.requests).toHaveLength(1)
  })
})

describe('secrets', () => {
  it('an unset variable is a clear failure and nothing is sent', async () => {
    const api = await server()
    const config = notifications(
      [
        `  telegram: {bot_token_env: TELEGRAM_BOT_TOKEN, chat_id: "1", api_base: "${api.url}"}`,
        `  email: {api_key_env: RESEND_API_KEY, from: "a@example.org", to: ["b@example.org"], api_base: "${api.url}"}`,
        `  webhook: {url: "${api.url}/h", secret_env: WEBHOOK_SECRET}`,
      ].join('\n'),
    )
    const env = {RESEND_API_KEY: '   '}
    const results = await Promise.all((['telegram', 'email', 'webhook'] as const).map((c) => sendToChannel(c, config, message, deps({env}))))
    expect(results.map((r) => [r.channel, r.ok, r.status, r.error])).toEqual([
      ['telegram', false, null, 'TELEGRAM_BOT_TOKEN is not set'],
      ['email', false, null, 'RESEND_API_KEY is not set'],
      ['webhook', false, null, 'WEBHOOK_SECRET is not set'],
    ])
    expect(api.requests).toHaveLength(0)
  })

  it('a token with a trailing newline (from a file) is trimmed; one with a path character is refused unsent', async () => {
    const api = await server()
    const config = notifications(`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "1", api_base: "${api.url}"}`)
    expect((await sendTelegram(config.telegram!, message, deps({env: {CF_TEST_TG: `${TOKEN}\n`}}))).ok).toBe(true)
    expect(api.requests[0]?.path).toBe(`/bot${TOKEN}/sendMessage`)

    const refused = await sendTelegram(config.telegram!, message, deps({env: {CF_TEST_TG: `${TOKEN}/../x`}}))
    expect(refused.error).toBe('CF_TEST_TG does not look like a bot token (it must not contain /, ?, # or %)')
    expect(api.requests).toHaveLength(1)
  })

  it('errors that quote the URL or a header are scrubbed (fault injected into fetch)', async () => {
    const config = notifications(
      [`  telegram: {bot_token_env: CF_TEST_TG, chat_id: "1", api_base: "http://127.0.0.1:9"}`, `  email: {api_key_env: CF_TEST_RESEND, from: "a@example.org", to: ["b@example.org"], api_base: "http://127.0.0.1:9"}`].join('\n'),
    )
    // What undici really says: "Failed to parse URL from <url>", "Headers.append: "<value>" is an invalid header value."
    const leaky: typeof fetch = async (input, init) => {
      const auth = new Headers(init?.headers).get('authorization')
      throw new TypeError(auth ? `Headers.append: "${auth}" is an invalid header value.` : `Failed to parse URL from ${String(input)}`)
    }
    const telegram = await sendToChannel('telegram', config, message, deps({fetch: leaky}))
    const email = await sendToChannel('email', config, message, deps({fetch: leaky}))
    expect(telegram.error).toBe('network error: Failed to parse URL from http://127.0.0.1:9/bot***/sendMessage')
    expect(email.error).toBe('network error: Headers.append: "Bearer ***" is an invalid header value.')
  })

  it('redact replaces raw and URL-encoded secrets and any /bot<token>/ path', () => {
    expect(redact(`a ${TOKEN} b ${encodeURIComponent(TOKEN)} c`, [TOKEN])).toBe('a *** b *** c')
    expect(redact('GET https://api.telegram.org/bot1:abc/sendMessage', [])).toBe('GET https://api.telegram.org/bot***/sendMessage')
  })
})
