// Settings the simulator reads, from the same places Claude Code does: the config dir's
// settings.json, the project's .claude/settings.json and settings.local.json, then `--settings`
// (a file path or a JSON string). Their hooks add up; any of them may skip the bypass warning; the
// last one with a statusLine gives it.
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {type HookTable, parseHooks} from './hooks.js'

/** What the simulator takes from all settings sources together. */
export interface LoadedSettings {
  hooks: HookTable
  /** `skipDangerousModePermissionPrompt: true` (top level, or under `permissions`) in any source. */
  skipBypassPrompt: boolean
  /**
   * The statusLine command: the last source's that has one wins (`--settings` over the project's
   * over the config dir's: with 2.1.328 a `--settings` statusLine replaces the home's).
   */
  statusLine: string | null
}

/** A `--settings` value that cannot be used; the CLI prints the message and exits 1. */
export class SettingsError extends Error {}

/** Reads every settings source for a session in `cwd`; only a bad `--settings` value is an error. */
export async function loadSettings(configDir: string, cwd: string, flagValue?: string): Promise<LoadedSettings> {
  const sources: unknown[] = []
  for (const path of [join(configDir, 'settings.json'), join(cwd, '.claude', 'settings.json'), join(cwd, '.claude', 'settings.local.json')]) {
    const value = await readJsonIfAny(path)
    if (value !== undefined) sources.push(value)
  }

  if (flagValue !== undefined) sources.push(await readFlagSettings(flagValue, cwd))

  const hooks: HookTable = new Map()
  let skipBypassPrompt = false
  let statusLine: string | null = null
  for (const source of sources) {
    parseHooks(source, hooks)
    const line = (source as {statusLine?: {type?: unknown; command?: unknown}} | null)?.statusLine
    if (line?.type === 'command' && typeof line.command === 'string' && line.command.trim() !== '') statusLine = line.command
    const settings = source as {skipDangerousModePermissionPrompt?: unknown; permissions?: {skipDangerousModePermissionPrompt?: unknown}} | null
    if (settings?.skipDangerousModePermissionPrompt === true || settings?.permissions?.skipDangerousModePermissionPrompt === true) skipBypassPrompt = true
  }

  return {hooks, skipBypassPrompt, statusLine}
}

async function readFlagSettings(value: string, cwd: string): Promise<unknown> {
  if (value.trim().startsWith('{')) {
    try {
      return JSON.parse(value)
    } catch {
      throw new SettingsError('Error: Invalid JSON provided to --settings')
    }
  }

  const path = resolve(cwd, value)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new SettingsError(`Error: Settings file not found: ${path}`)
  }

  try {
    return JSON.parse(text)
  } catch {
    throw new SettingsError(`Error: Invalid JSON in settings file: ${path}`)
  }
}

/** The parsed JSON of a file, or undefined when it is missing or not JSON (Claude Code warns and goes on). */
export async function readJsonIfAny(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
}
