// Sending notifications (SPEC §7): the one entry point that sends a notification to every
// configured channel without ever failing the command that called it, and the batch form that
// plans, sends and records against `state.notified`. Messages live in messages.ts, the
// de-duplication rules in dedupe.ts; both are re-exported here so callers import one module.
import {hostname} from 'node:os'

import type {Config} from '../config.js'

import {appendEvent} from '../events.js'
import {type Logger, stderrLogger} from '../log.js'
import {
  channelSecrets,
  type ChannelResult,
  configuredChannels,
  describeError,
  type FieldValue,
  type OutgoingMessage,
  redact,
  sendToChannel,
} from './channels.js'
import {DEFAULT_DEDUPE_POLICY, type DedupePolicy, type NotificationPlan, type Notified, planNotifications, pruneNotified, recordNotification} from './dedupe.js'
import type {Notification} from './messages.js'

export type {ChannelName, ChannelResult, FieldValue, Severity} from './channels.js'
export * from './dedupe.js'
export * from './messages.js'

export interface NotifyDeps {
  fetch?: typeof fetch
  env?: NodeJS.ProcessEnv
  now?: () => Date
  log?: Logger
  host?: string
  sleep?: (ms: number) => Promise<void>
  /** Pause before the single retry of a 5xx or network error (default 500 ms). */
  retryDelayMs?: number
}

/**
 * Sends one notification to every configured channel, in parallel. Never throws: a failed channel
 * is a warning on stderr and a `notify_failed` event (channel, status, error; never a secret),
 * and it never changes the caller's outcome. Returns one result per configured channel.
 */
export async function sendNotification(config: Config, notification: Notification, deps: NotifyDeps = {}): Promise<ChannelResult[]> {
  const env = deps.env ?? process.env
  const log = deps.log ?? stderrLogger()
  const now = deps.now ?? (() => new Date())
  const secrets = channelSecrets(config.notifications, env)
  let results: ChannelResult[] = []
  try {
    const channels = configuredChannels(config.notifications)
    if (channels.length === 0) return []
    const sentAt = now()
    const message = outgoing(notification, deps.host ?? hostname(), sentAt, secrets)
    const channelDeps = {
      env,
      fetch: deps.fetch ?? globalThis.fetch,
      retryDelayMs: deps.retryDelayMs ?? 500,
      sleep: deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      timeoutMs: config.notifications.timeoutMs,
    }
    results = await Promise.all(channels.map((channel) => sendToChannel(channel, config.notifications, message, channelDeps)))
    await recordResults(config, notification, results, {log, now, secrets})
  } catch (error) {
    log.warn(`notification ${notification.key} not sent: ${redact(describeError(error), secrets)}`)
  }

  return results
}

/** The wire form; a secret that slipped into a reason string is scrubbed before it leaves. */
function outgoing(notification: Notification, host: string, at: Date, secrets: string[]): OutgoingMessage {
  const scrub = (value: FieldValue): FieldValue =>
    typeof value === 'string' ? redact(value, secrets) : Array.isArray(value) ? value.map((v) => redact(v, secrets)) : value
  const fields: Record<string, FieldValue> = {}
  for (const [name, value] of Object.entries(notification.fields)) fields[name] = scrub(value)
  return {
    fields,
    host,
    key: notification.key,
    kind: notification.kind,
    severity: notification.severity,
    text: redact(notification.text, secrets),
    title: redact(notification.title, secrets),
    ts: at.toISOString(),
  }
}

async function recordResults(config: Config, notification: Notification, results: ChannelResult[], ctx: {log: Logger; now: () => Date; secrets: string[]}): Promise<void> {
  const record = async (event: string, fields: Record<string, unknown>) => {
    try {
      await appendEvent(config.stateDir, event, fields, ctx.now())
    } catch (error) {
      ctx.log.warn(`cannot record the ${event} event: ${redact(describeError(error), ctx.secrets)}`)
    }
  }

  const sent = results.filter((r) => r.ok).map((r) => r.channel)
  if (sent.length > 0) await record('notify_sent', {channels: sent, key: notification.key, kind: notification.kind, severity: notification.severity})
  for (const result of results) {
    if (result.ok) continue
    // Already scrubbed by the channel; scrubbed again so no path can carry a secret through.
    const error = redact(result.error ?? 'failed', ctx.secrets)
    ctx.log.warn(`notification ${notification.key} not sent via ${result.channel}: ${error}`)
    await record('notify_failed', {attempts: result.attempts, channel: result.channel, error, key: notification.key, kind: notification.kind, status: result.status})
  }
}

/** A notification is delivered when a channel accepted it, or when no channel is configured. */
export function isDelivered(results: readonly ChannelResult[]): boolean {
  return results.length === 0 || results.some((r) => r.ok)
}

export interface Delivery {
  notified: Notified
  sent: {notification: Notification; results: ChannelResult[]}[]
  suppressed: NotificationPlan['suppressed']
}

/**
 * Plans, sends and records a batch: the caller passes `state.notified` and stores the returned
 * map in the state it commits. Never throws. Channels of different notifications run in parallel.
 */
export async function deliverNotifications(
  config: Config,
  notified: Notified,
  offered: readonly Notification[],
  deps: NotifyDeps = {},
  policy: DedupePolicy = {...DEFAULT_DEDUPE_POLICY, remindAfterMs: config.notifications.remindAfterMs, retryAfterMs: config.notifications.retryUndeliveredMs},
): Promise<Delivery> {
  const now = deps.now ?? (() => new Date())
  const planned = now()
  const plan = planNotifications(notified, offered, planned, policy)
  const sent = await Promise.all(plan.due.map(async (notification) => ({notification, results: await sendNotification(config, notification, deps)})))
  let next = pruneNotified(notified, planned, policy)
  for (const {notification, results} of sent) next = recordNotification(next, notification, isDelivered(results), planned)
  return {notified: next, sent, suppressed: plan.suppressed}
}
