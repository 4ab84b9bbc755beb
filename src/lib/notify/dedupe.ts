// De-duplication (SPEC §7: "the same condition is not re-sent every tick"). Commands are
// level-triggered and may offer the same notification on every tick; `state.notified` holds one
// entry per condition key with its last send time, and these pure functions decide what goes out.
// The caller commits the returned map under the state lock with the rest of its changes.
import type {State} from '../state.js'
import type {Notification} from './messages.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export type Notified = State['notified']

export interface DedupePolicy {
  /** A condition still offered after this long is sent again as a reminder. */
  remindAfterMs: number
  /** A notification no channel accepted is tried again after this long. */
  retryAfterMs: number
  /** Entries older than this are dropped, so event keys do not pile up. */
  forgetAfterMs: number
}

/** 6h reminders, 15m retries of undelivered notifications, entries forgotten after 7 days. */
export const DEFAULT_DEDUPE_POLICY: DedupePolicy = {forgetAfterMs: 7 * 24 * HOUR, remindAfterMs: 6 * HOUR, retryAfterMs: 15 * MINUTE}

/** The `message` of an entry whose notification no channel accepted. */
export const UNDELIVERED_PREFIX = 'undelivered: '

export interface NotificationPlan {
  due: Notification[]
  suppressed: {notification: Notification; reason: string}[]
}

/** Decides which of the offered notifications go out now; never changes `notified`. */
export function planNotifications(notified: Notified, offered: readonly Notification[], now: Date, policy: DedupePolicy = DEFAULT_DEDUPE_POLICY): NotificationPlan {
  // A working copy, so that two offers of one key in a batch send once, and a recovery offered
  // after the failure it resolves (died and recovered in the same run) sees the failure.
  const view: Notified = {...notified}
  const plan: NotificationPlan = {due: [], suppressed: []}
  for (const notification of offered) {
    const reason = suppressionReason(view, notification, now, policy)
    if (reason) {
      plan.suppressed.push({notification, reason})
      continue
    }

    plan.due.push(notification)
    for (const key of notification.clears) delete view[key]
    if (notification.mode !== 'recovery') view[notification.key] = {at: now.toISOString(), message: notification.title}
  }

  return plan
}

function suppressionReason(view: Notified, notification: Notification, now: Date, policy: DedupePolicy): string | undefined {
  if (notification.mode === 'recovery') {
    return notification.clears.some((key) => key in view) ? undefined : 'nothing to recover from was notified'
  }

  const entry = view[notification.key]
  if (!entry) return undefined
  const age = now.getTime() - Date.parse(entry.at)
  if (entry.message?.startsWith(UNDELIVERED_PREFIX)) {
    return age >= policy.retryAfterMs ? undefined : `not delivered at ${entry.at}; retried ${policy.retryAfterMs / MINUTE}m after`
  }

  if (notification.mode === 'event') return `already sent at ${entry.at}`
  return age >= policy.remindAfterMs ? undefined : `already sent at ${entry.at}; reminded every ${policy.remindAfterMs / HOUR}h while it persists`
}

/** Records a sent (or undelivered) notification and applies what it clears; returns a new map. */
export function recordNotification(notified: Notified, notification: Notification, delivered: boolean, now: Date): Notified {
  const next = clearNotified(notified, notification.clears)
  if (notification.mode === 'recovery') return next
  const title = notification.title.length > 200 ? `${notification.title.slice(0, 199)}…` : notification.title
  next[notification.key] = {at: now.toISOString(), message: delivered ? title : `${UNDELIVERED_PREFIX}${title}`}
  return next
}

/** Removes condition keys (a recovery the caller observed without notifying); returns a new map. */
export function clearNotified(notified: Notified, keys: readonly string[]): Notified {
  const next: Notified = {...notified}
  for (const key of keys) delete next[key]
  return next
}

/** Drops entries older than `forgetAfterMs`; returns a new map. */
export function pruneNotified(notified: Notified, now: Date, policy: DedupePolicy = DEFAULT_DEDUPE_POLICY): Notified {
  const next: Notified = {}
  for (const [key, entry] of Object.entries(notified)) {
    const at = Date.parse(entry.at)
    if (Number.isNaN(at) || now.getTime() - at < policy.forgetAfterMs) next[key] = entry
  }

  return next
}
