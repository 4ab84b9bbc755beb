// `notify test`: one test message through every configured channel, each result reported. The
// first thing an operator runs after configuring a channel; it never reads or writes state.json.
import {hostname} from 'node:os'

import type {Config} from '../config.js'

import {fail} from '../errors.js'
import {configuredChannels} from './channels.js'
import {type ChannelName, type NotifyDeps, sendNotification, testNotification} from './notifier.js'

export interface NotifyTestReport {
  channels: {channel: ChannelName; ok: boolean; status: number | null; attempts: number; error?: string}[]
}

/** Sends the test message; throws a config error (78) when no channel is configured. */
export async function testNotifications(config: Config, deps: NotifyDeps = {}): Promise<NotifyTestReport> {
  if (configuredChannels(config.notifications).length === 0) {
    throw fail('config', `no notification channel is configured in ${config.file}`, {
      details: ['add one under notifications:, e.g. "notifications: {telegram: {bot_token_env: TELEGRAM_BOT_TOKEN, chat_id: \\"123456\\"}}"'],
    })
  }

  // No de-duplication: every run sends. A failed channel is also a warning on stderr and a
  // notify_failed event, like any other notification, so the journal shows the test too.
  const results = await sendNotification(config, testNotification({host: deps.host ?? hostname()}), deps)
  return {channels: results.map((r) => ({attempts: r.attempts, channel: r.channel, ok: r.ok, status: r.status, ...(r.error === undefined ? {} : {error: r.error})}))}
}
