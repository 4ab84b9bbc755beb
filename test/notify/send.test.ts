// sendNotification and deliverNotifications end to end: real temp state folders, real state.json
// through the lock module, loopback servers for the APIs, stderr captured. A notification never
// fails the command, every failure is logged and recorded, and no secret is written anywhere.
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Writable} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import {readRecentEvents} from '../../src/lib/events.js'
import {withStateLock} from '../../src/lib/lock.js'
import {stderrLogger} from '../../src/lib/log.js'
import {accountReactivated, allExhausted, deliverNotifications, type NotifyDeps, sendNotification, sessionDied, UNDELIVERED_PREFIX} from '../../src/lib/notify/notifier.js'
import {readStateFile} from '../../src/lib/state.js'
import {type Sandbox, sandbox} from '../helpers/env.js'
import {deadEndpoint, loopbackPool} from '../helpers/loopback.js'

const TOKEN = '555000111:AAE-telegram_SECRET_token'
const API_KEY = 're_SECRET_resend_api_key_77'
const HOOK_SECRET = 'hook_SECRET_bearer_99'
const SECRETS = [TOKEN, API_KEY, HOOK_SECRET]
const ENV = {CF_HOOK_SECRET: HOOK_SECRET, CF_RESEND_KEY: API_KEY, CF_TG_TOKEN: TOKEN}

const servers = loopbackPool()
const server = servers.start
let box: Sandbox | undefined

afterEach(async () => {
  await servers.closeAll()
  box?.cleanup()
  box = undefined
})

/** A sandbox whose config sends to the given endpoints (a channel is left out when its URL is absent). */
function configure(urls: {telegram?: string; email?: string; webhook?: string}, timeout = '2s'): Sandbox {
  const lines = [`notifications:`, `  timeout: ${timeout}`]
  if (urls.telegram) lines.push(`  telegram: {bot_token_env: CF_TG_TOKEN, chat_id: "4242", api_base: "${urls.telegram}"}`)
  if (urls.email) lines.push(`  email: {api_key_env: CF_RESEND_KEY, from: "pool@example.org", to: ["ops@example.org"], api_base: "${urls.email}"}`)
  if (urls.webhook) lines.push(`  webhook: {url: "${urls.webhook}/hook", secret_env: CF_HOOK_SECRET}`)
  box = sandbox(lines.join('\n'))
  return box
}

function captureStderr(): {stream: Writable; text: () => string} {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return {stream, text: () => text}
}

function deps(log: Writable, extra: Partial<NotifyDeps> = {}): NotifyDeps {
  return {env: ENV, host: 'pool-host', log: stderrLogger(log), now: () => new Date('2026-05-03T14:00:00.000Z'), retryDelayMs: 0, ...extra}
}

/** Every file under `dir`, read as text. */
function allFiles(dir: string): {path: string; text: string}[] {
  const out: {path: string; text: string}[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const info = statSync(path)
    if (info.isDirectory()) out.push(...allFiles(path))
    else if (info.isFile()) out.push({path, text: readFileSync(path, 'latin1')})
  }

  return out
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) {
    expect(text.includes(secret), `${where} contains a secret`).toBe(false)
    expect(text.includes(encodeURIComponent(secret)), `${where} contains an encoded secret`).toBe(false)
  }
}

describe('sendNotification', () => {
  it('sends to every channel; a failing one is logged on stderr and recorded as notify_failed, never thrown', async () => {
    const telegram = await server({body: {ok: true}, status: 200})
    const email = await server({body: {message: 'boom'}, status: 503})
    const dead = await deadEndpoint()
    const {config, dir} = configure({email: email.url, telegram: telegram.url, webhook: dead})
    const stderr = captureStderr()

    const results = await sendNotification(config, sessionDied({account: 'main', session: 'ccl-auto-12'}), deps(stderr.stream))

    expect(results.map((r) => [r.channel, r.ok, r.status, r.attempts])).toEqual([
      ['telegram', true, 200, 1],
      ['email', false, 503, 2],
      ['webhook', false, null, 2],
    ])
    const lines = stderr.text().trimEnd().split('\n')
    expect(lines).toEqual([
      'claude-failover: warning: notification session_died:ccl-auto-12 not sent via email: HTTP 503: boom',
      expect.stringMatching(/^claude-failover: warning: notification session_died:ccl-auto-12 not sent via webhook: network error: .*ECONNREFUSED/),
    ])
    const events = await readRecentEvents(config.stateDir, 10)
    expect(events.map((e) => [e.event, e.channel ?? e.channels, e.status])).toEqual([
      ['notify_sent', ['telegram'], undefined],
      ['notify_failed', 'email', 503],
      ['notify_failed', 'webhook', null],
    ])
    expect(events[1]).toMatchObject({attempts: 2, error: 'HTTP 503: boom', key: 'session_died:ccl-auto-12', kind: 'session_died', ts: '2026-05-03T14:00:00.000Z'})

    // The token went to the loopback Telegram API, and nowhere else.
    expect(telegram.requests[0]?.path).toBe(`/bot${TOKEN}/sendMessage`)
    for (const file of allFiles(dir)) expectNoSecret(file.path, file.text)
    expectNoSecret('stderr', stderr.text())
    expectNoSecret('results', JSON.stringify(results))
  })

  it('a secret that slipped into a reason is scrubbed from the message itself', async () => {
    const hook = await server({status: 200})
    const {config} = configure({webhook: hook.url})
    const stderr = captureStderr()
    await sendNotification(config, sessionDied({reason: `exec failed: HOOK=${HOOK_SECRET}`, session: 'x'}), deps(stderr.stream))
    const body = hook.requests[0]?.json as {message: string; fields: {reason: string}}
    expect(body.message).toContain('exec failed: HOOK=***')
    expect(body.fields.reason).toBe('exec failed: HOOK=***')
    expect(hook.requests[0]?.headers.authorization).toBe(`Bearer ${HOOK_SECRET}`)
  })

  it('an unset variable fails that channel only, saying which variable', async () => {
    const api = await server()
    const {config} = configure({email: api.url, telegram: api.url})
    const stderr = captureStderr()
    const results = await sendNotification(config, sessionDied({session: 'ccl-auto-12'}), deps(stderr.stream, {env: {CF_RESEND_KEY: API_KEY}}))
    expect(results.map((r) => [r.channel, r.ok, r.error])).toEqual([
      ['telegram', false, 'CF_TG_TOKEN is not set'],
      ['email', true, undefined],
    ])
    expect(stderr.text()).toContain('not sent via telegram: CF_TG_TOKEN is not set')
    expect((await readRecentEvents(config.stateDir, 5)).at(-1)).toMatchObject({channel: 'telegram', error: 'CF_TG_TOKEN is not set', event: 'notify_failed', status: null})
  })

  it('with no channel configured it does nothing', async () => {
    const {config} = configure({})
    const stderr = captureStderr()
    expect(await sendNotification(config, sessionDied({session: 'x'}), deps(stderr.stream))).toEqual([])
    expect(stderr.text()).toBe('')
    expect(await readRecentEvents(config.stateDir, 5)).toEqual([])
  })

  it('never throws: a fetch that throws synchronously, an unwritable state folder', async () => {
    const {config, dir} = configure({telegram: 'http://127.0.0.1:9', webhook: 'http://127.0.0.1:9'})
    // The state folder is a file: appending an event fails.
    const blocked = join(dir, 'not-a-dir')
    writeFileSync(blocked, '')
    const stderr = captureStderr()
    const broken = (() => {
      throw new TypeError(`Failed to parse URL from http://127.0.0.1:9/bot${TOKEN}/sendMessage`)
    }) as unknown as typeof fetch

    const results = await sendNotification({...config, stateDir: join(blocked, 'state')}, sessionDied({session: 'x'}), deps(stderr.stream, {fetch: broken}))

    expect(results.map((r) => r.ok)).toEqual([false, false])
    expect(stderr.text()).toContain('cannot record the notify_failed event')
    expect(stderr.text()).toContain('/bot***/sendMessage')
    expectNoSecret('stderr', stderr.text())
    expectNoSecret('results', JSON.stringify(results))
  })

  it('channels run in parallel and each is bounded by the timeout', async () => {
    const hang = await server('hang')
    const {config} = configure({email: hang.url, telegram: hang.url, webhook: hang.url}, '300ms')
    const stderr = captureStderr()
    const started = performance.now()
    const results = await sendNotification(config, sessionDied({session: 'x'}), deps(stderr.stream))
    expect(performance.now() - started).toBeLessThan(1500)
    expect(results.map((r) => r.error)).toEqual(['timed out after 300ms', 'timed out after 300ms', 'timed out after 300ms'])
  })
})

describe('deliverNotifications through the real state file', () => {
  /** One command run, as a timer fires it: take the lock, offer notifications, commit. */
  async function run(b: Sandbox, offered: Parameters<typeof deliverNotifications>[2], minute: number, log: Writable) {
    const now = () => new Date(Date.parse('2026-05-03T14:00:00.000Z') + minute * 60_000)
    return withStateLock(b.config, {command: 'test-notify', now}, async (tx) => {
      const delivery = await deliverNotifications(b.config, tx.state.notified, offered, deps(log, {now}))
      tx.state.notified = delivery.notified
      await tx.commit()
      return delivery
    })
  }

  it('the same condition is not re-sent by later runs; a recovery clears it', async () => {
    const telegram = await server({body: {ok: true}, status: 200})
    const b = configure({telegram: telegram.url})
    const stderr = captureStderr()
    const exhausted = allExhausted({accounts: [{exhaustedUntil: '2026-05-03T17:00:00.000Z', name: 'main'}, {exhaustedUntil: '2026-05-03T18:00:00.000Z', name: 'backup'}]})

    // Given three ticks that all see every account exhausted
    await run(b, [exhausted], 0, stderr.stream)
    await run(b, [exhausted], 5, stderr.stream)
    await run(b, [exhausted], 10, stderr.stream)
    // Then one message went out, and state.json remembers it
    expect(telegram.requests).toHaveLength(1)
    const read = await readStateFile(b.config.stateDir)
    expect(read.kind === 'ok' && read.state.notified.all_exhausted).toEqual({at: '2026-05-03T14:00:00.000Z', message: exhausted.title})

    // When main resets, the reactivation goes out and clears the condition
    const delivery = await run(b, [accountReactivated({account: 'main', activeAccount: 'main'})], 190, stderr.stream)
    expect(delivery.sent.map((s) => s.notification.key)).toEqual(['account_reactivated:main'])
    const after = await readStateFile(b.config.stateDir)
    expect(after.kind === 'ok' && Object.keys(after.state.notified)).toEqual(['account_reactivated:main'])

    // So a new exhaustion is news at once
    await run(b, [exhausted], 400, stderr.stream)
    expect(telegram.requests).toHaveLength(3)
    expect(stderr.text()).toBe('')
  })

  it('a dead endpoint does not fail the run: it commits, marks the entry undelivered, and retries later', async () => {
    const dead = await deadEndpoint()
    const b = configure({webhook: dead})
    const stderr = captureStderr()
    const died = sessionDied({session: 'ccl-auto-12'})

    const delivery = await run(b, [died], 0, stderr.stream)

    expect(delivery.sent[0]?.results[0]).toMatchObject({channel: 'webhook', ok: false, status: null})
    const read = await readStateFile(b.config.stateDir)
    expect(read.kind === 'ok' && read.state.notified['session_died:ccl-auto-12']?.message).toBe(`${UNDELIVERED_PREFIX}Session ccl-auto-12 died`)
    expect((await run(b, [died], 5, stderr.stream)).sent).toEqual([])
    expect((await run(b, [died], 15, stderr.stream)).sent).toHaveLength(1)
    for (const file of allFiles(b.dir)) expectNoSecret(file.path, file.text)
    expectNoSecret('stderr', stderr.text())
  })
})
