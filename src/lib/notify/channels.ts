// The three notification channels (SPEC §7): Telegram Bot API `sendMessage`, the Resend email API
// and a generic JSON webhook. Each is one POST through Node's own fetch with a timeout and exactly
// one retry on a 5xx or a network error. Nothing here throws: every outcome is a ChannelResult.
//
// Secrets come only from the environment variables the config names. Telegram puts the bot token
// in the URL path, and undici quotes header values and URLs in some of its errors, so every error
// text is scrubbed of every secret before it leaves this module.
import type {Config} from '../config.js'

import {sha256Hex} from '../crypto.js'

export type ChannelName = 'telegram' | 'email' | 'webhook'
export type NotificationsConfig = Config['notifications']
export type Severity = 'info' | 'warning' | 'critical'
/** Field values stay flat so every webhook consumer can index them. */
export type FieldValue = string | number | boolean | null | string[]

/** What one channel did with one message. `status` is the last HTTP status, null when none came back. */
export interface ChannelResult {
  channel: ChannelName
  ok: boolean
  status: number | null
  attempts: number
  error?: string
}

/** A message ready for the wire: what every channel renders from. */
export interface OutgoingMessage {
  key: string
  kind: string
  severity: Severity
  title: string
  text: string
  fields: Record<string, FieldValue>
  /** ISO-8601 time of the event. */
  ts: string
  host: string
}

/** What the channels need from the outside world; tests pass a loopback-bound fetch and their own env. */
export interface ChannelDeps {
  fetch: typeof fetch
  env: NodeJS.ProcessEnv
  timeoutMs: number
  /** Pause before the single retry. */
  sleep: (ms: number) => Promise<void>
  retryDelayMs: number
}

const USER_AGENT = 'claude-failover'
const TELEGRAM_MAX_TEXT = 4096
const SNIPPET = 200

/** The channels the config enables, in a fixed order. */
export function configuredChannels(notifications: NotificationsConfig): ChannelName[] {
  const names: ChannelName[] = []
  if (notifications.telegram) names.push('telegram')
  if (notifications.email) names.push('email')
  if (notifications.webhook) names.push('webhook')
  return names
}

/** Every secret value the configured channels would read from `env` (for scrubbing). */
export function channelSecrets(notifications: NotificationsConfig, env: NodeJS.ProcessEnv): string[] {
  const names = [notifications.telegram?.botTokenEnv, notifications.email?.apiKeyEnv, notifications.webhook?.secretEnv]
  const secrets: string[] = []
  for (const name of names) {
    const raw = name ? env[name] : undefined
    if (!raw) continue
    secrets.push(raw)
    if (raw.trim() !== raw && raw.trim() !== '') secrets.push(raw.trim())
  }

  return secrets
}

/** Replaces every occurrence of every secret (raw and URL-encoded) and any `/bot<token>/` path with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret === '') continue
    forms.add(secret)
    forms.add(encodeURIComponent(secret))
  }

  // Longest first, so a secret that contains another is replaced whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join('***')
  return out.replaceAll(/\/bot[^/\s"']+\//g, '/bot***/')
}

/** Sends one message through one channel; never throws. */
export async function sendToChannel(channel: ChannelName, notifications: NotificationsConfig, message: OutgoingMessage, deps: ChannelDeps): Promise<ChannelResult> {
  const secrets = channelSecrets(notifications, deps.env)
  try {
    switch (channel) {
      case 'telegram': {
        return notifications.telegram ? await sendTelegram(notifications.telegram, message, deps) : notConfigured(channel)
      }

      case 'email': {
        return notifications.email ? await sendEmail(notifications.email, message, deps) : notConfigured(channel)
      }

      case 'webhook': {
        return notifications.webhook ? await sendWebhook(notifications.webhook, message, deps) : notConfigured(channel)
      }
    }
  } catch (error) {
    // A bug in rendering or an exotic fetch failure: still a result, never a throw.
    return {attempts: 0, channel, error: redact(describeError(error), secrets), ok: false, status: null}
  }
}

/** Telegram Bot API: POST {api_base}/bot<token>/sendMessage {chat_id, text, disable_web_page_preview}. */
export async function sendTelegram(settings: NonNullable<NotificationsConfig['telegram']>, message: OutgoingMessage, deps: ChannelDeps): Promise<ChannelResult> {
  const token = readSecret(settings.botTokenEnv, deps.env)
  if (!token.ok) return {attempts: 0, channel: 'telegram', error: token.error, ok: false, status: null}
  // The token is a path segment: anything that would change the URL's shape is refused unsent.
  if (/[/?#%]/.test(token.value)) {
    return {attempts: 0, channel: 'telegram', error: `${settings.botTokenEnv} does not look like a bot token (it must not contain /, ?, # or %)`, ok: false, status: null}
  }

  const url = `${trimSlash(settings.apiBase)}/bot${token.value}/sendMessage`
  const body = {chat_id: settings.chatId, disable_web_page_preview: true, text: cut(renderText(message), TELEGRAM_MAX_TEXT)}
  return postJson('telegram', url, {}, body, deps, [token.value])
}

/** Resend: POST {api_base}/emails with a Bearer key and {from, to, subject, text}. */
export async function sendEmail(settings: NonNullable<NotificationsConfig['email']>, message: OutgoingMessage, deps: ChannelDeps): Promise<ChannelResult> {
  const key = readSecret(settings.apiKeyEnv, deps.env)
  if (!key.ok) return {attempts: 0, channel: 'email', error: key.error, ok: false, status: null}
  const headers = {
    authorization: `Bearer ${key.value}`,
    // Resend answers a retried request with the same key without sending a second email, which
    // closes the window where the first attempt was delivered but its response was lost.
    'idempotency-key': `claude-failover/${message.kind}/${fingerprint(`${message.key}\n${message.ts}`)}`,
  }
  const body = {from: settings.from, subject: cut(subjectLine(message), 200), text: renderText(message), to: settings.to}
  return postJson('email', `${trimSlash(settings.apiBase)}/emails`, headers, body, deps, [key.value])
}

/** Generic webhook: POST url with {event, key, severity, title, message, fields, ts, host}. */
export async function sendWebhook(settings: NonNullable<NotificationsConfig['webhook']>, message: OutgoingMessage, deps: ChannelDeps): Promise<ChannelResult> {
  const headers: Record<string, string> = {}
  const secrets: string[] = []
  if (settings.secretEnv) {
    const secret = readSecret(settings.secretEnv, deps.env)
    if (!secret.ok) return {attempts: 0, channel: 'webhook', error: secret.error, ok: false, status: null}
    headers.authorization = `Bearer ${secret.value}`
    secrets.push(secret.value)
  }

  const body = {
    event: message.kind,
    fields: message.fields,
    host: message.host,
    key: message.key,
    message: message.text,
    severity: message.severity,
    source: 'claude-failover',
    title: message.title,
    ts: message.ts,
  }
  return postJson('webhook', settings.url, headers, body, deps, secrets)
}

/** `[CRITICAL] title`, the text, and a footer naming the host: what Telegram and email show. */
export function renderText(message: OutgoingMessage): string {
  return `[${message.severity.toUpperCase()}] ${message.title}\n\n${message.text}\n\n— claude-failover on ${message.host}, ${message.ts}`
}

function subjectLine(message: OutgoingMessage): string {
  const tag = message.severity === 'info' ? '' : ` ${message.severity.toUpperCase()}:`
  return `[claude-failover@${message.host}]${tag} ${message.title}`.replaceAll(/[\r\n]+/g, ' ')
}

type Secret = {ok: true; value: string} | {ok: false; error: string}

function readSecret(name: string, env: NodeJS.ProcessEnv): Secret {
  // Trimmed: a value set from `$(cat file)` or a systemd EnvironmentFile often ends in a newline.
  const value = env[name]?.trim()
  if (!value) return {error: `${name} is not set`, ok: false}
  // A header value with a line break makes fetch throw an error that quotes it; refuse it unsent.
  if (/\s/.test(value)) return {error: `${name} contains whitespace; it must hold the bare token`, ok: false}
  return {ok: true, value}
}

type Attempt = {kind: 'response'; status: number; detail: string} | {kind: 'network'; detail: string} | {kind: 'timeout'}

/**
 * One POST, retried once on a 5xx or a network error. Not retried: a 4xx (the request itself is
 * wrong; sending it again cannot help), a 3xx (redirects are not followed, so a token is never
 * replayed to another origin), and a timeout (the request may have arrived; a second full wait
 * would double the time a swap spends on a dead endpoint). Worst case: 2 × timeout + retry delay.
 */
async function postJson(channel: ChannelName, url: string, headers: Record<string, string>, body: unknown, deps: ChannelDeps, secrets: string[]): Promise<ChannelResult> {
  const payload = JSON.stringify(body)
  let last: Attempt = {kind: 'timeout'}
  for (let attempt = 1; attempt <= 2; attempt++) {
    last = await attemptPost(url, {'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers}, payload, deps)
    if (last.kind === 'response' && last.status >= 200 && last.status < 300) {
      return {attempts: attempt, channel, ok: true, status: last.status}
    }

    const retryable = (last.kind === 'response' && last.status >= 500) || last.kind === 'network'
    if (!retryable || attempt === 2) {
      const error = last.kind === 'timeout' ? `timed out after ${deps.timeoutMs}ms` : last.kind === 'network' ? `network error: ${last.detail}` : httpError(last.status, last.detail)
      return {attempts: attempt, channel, error: redact(error, secrets), ok: false, status: last.kind === 'response' ? last.status : null}
    }

    await deps.sleep(deps.retryDelayMs)
  }

  // Unreachable: the loop always returns on its second pass.
  return {attempts: 2, channel, error: 'not sent', ok: false, status: null}
}

async function attemptPost(url: string, headers: Record<string, string>, payload: string, deps: ChannelDeps): Promise<Attempt> {
  const signal = AbortSignal.timeout(deps.timeoutMs)
  let response: Response
  try {
    response = await deps.fetch(url, {body: payload, headers, method: 'POST', redirect: 'manual', signal})
  } catch (error) {
    if (isTimeout(error)) return {kind: 'timeout'}
    return {detail: describeError(error), kind: 'network'}
  }

  let detail = ''
  try {
    detail = await response.text()
  } catch {
    // The status is what matters; a body cut short by the timeout only loses the detail.
  }

  return {detail, kind: 'response', status: response.status}
}

function httpError(status: number, body: string): string {
  if (status >= 300 && status < 400) return `HTTP ${status}: the endpoint redirects; configure the final URL (redirects are not followed)`
  const detail = bodyDetail(body)
  return detail ? `HTTP ${status}: ${detail}` : `HTTP ${status}`
}

/** The API's own explanation: Telegram's `description`, Resend's `message`, else the start of the body. */
function bodyDetail(body: string): string {
  let detail = body
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    const candidate = [parsed.description, parsed.message, parsed.error].find((v) => typeof v === 'string')
    if (typeof candidate === 'string') detail = candidate
  } catch {
    // Not JSON: show the text itself.
  }

  return cut(detail.replaceAll(/\s+/g, ' ').trim(), SNIPPET)
}

function isTimeout(error: unknown): boolean {
  const name = (error as {name?: unknown} | undefined)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

/** `ECONNREFUSED 127.0.0.1:9` from undici's `fetch failed` and its cause; the caller scrubs it. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause as (Error & {code?: string}) | undefined
  if (cause && typeof cause === 'object') {
    const code = cause.code ?? (cause as {errors?: {code?: string}[]}).errors?.[0]?.code
    const text = cause.message || error.message
    return code && !text.includes(code) ? `${code} ${text}` : text
  }

  return error.message
}

function trimSlash(base: string): string {
  return base.replace(/\/+$/, '')
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A short digest so the idempotency key is stable across the retry and reveals nothing. */
function fingerprint(text: string): string {
  return sha256Hex(text).slice(0, 32)
}

function notConfigured(channel: ChannelName): ChannelResult {
  return {attempts: 0, channel, error: `notifications.${channel} is not configured`, ok: false, status: null}
}
