// The first-launch screens of a fresh config dir (real-claude-code.md, "A home that starts without a
// modal") and where their answers live: the theme picker is skipped by `hasCompletedOnboarding: true`
// in the config dir's `.claude.json`; the bypass-permissions warning by
// `skipDangerousModePermissionPrompt: true` in `<config dir>/settings.json`; folder trust is
// `projects[<dir>].hasTrustDialogAccepted: true` in `.claude.json`, and trusting a folder covers the
// folders below it.
import {mkdir, readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {writeFileAtomic} from '../lib/fs-atomic.js'
import {readJsonIfAny} from './settings.js'

type JsonObject = Record<string, unknown>

/**
 * Claude Code's global state file for a config dir: `<dir>/.claude.json` when CLAUDE_CONFIG_DIR is
 * set, else `~/.claude.json` beside the default `~/.claude`.
 */
export function globalConfigPath(configDir: string, fromEnv: boolean, home: string = homedir()): string {
  return fromEnv ? join(configDir, '.claude.json') : join(home, '.claude.json')
}

/** True when `cwd` or a folder above it was trusted in this global state file. */
export async function isFolderTrusted(globalConfig: string, cwd: string): Promise<boolean> {
  const projects = asObject(asObject(await readJsonIfAny(globalConfig)).projects)
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (asObject(projects[dir]).hasTrustDialogAccepted === true) return true
    if (dirname(dir) === dir) return false
  }
}

/** True when this global state file says onboarding (the theme picker) was completed. */
export async function hasCompletedOnboarding(globalConfig: string): Promise<boolean> {
  return asObject(await readJsonIfAny(globalConfig)).hasCompletedOnboarding === true
}

/** Records a theme chosen at the theme picker, and onboarding as completed. */
export async function recordOnboarding(globalConfig: string, theme: string): Promise<void> {
  await updateJsonFile(globalConfig, (config) => ({...config, hasCompletedOnboarding: true, theme}))
}

/** Records the answer "Yes, I trust this folder" for `cwd`. */
export async function recordFolderTrust(globalConfig: string, cwd: string): Promise<void> {
  await updateJsonFile(globalConfig, (config) => {
    const projects = asObject(config.projects)
    projects[resolve(cwd)] = {...asObject(projects[resolve(cwd)]), hasTrustDialogAccepted: true}
    return {...config, projects}
  })
}

/** Records the answer "Yes, I accept" to the bypass-permissions warning. */
export async function recordBypassAccepted(configDir: string): Promise<void> {
  await updateJsonFile(join(configDir, 'settings.json'), (settings) => ({...settings, skipDangerousModePermissionPrompt: true}))
}

/**
 * Pre-accepts both first-launch modals for a config dir used as CLAUDE_CONFIG_DIR: the bypass
 * warning, and folder trust for each of `trustedDirs` (and everything below them). Idempotent;
 * other keys of both files are kept.
 */
export async function acceptFirstLaunchModals(configDir: string, trustedDirs: string[]): Promise<void> {
  await mkdir(configDir, {recursive: true})
  await recordBypassAccepted(configDir)
  const globalConfig = globalConfigPath(configDir, true)
  for (const dir of trustedDirs) await recordFolderTrust(globalConfig, dir)
  await updateJsonFile(globalConfig, (config) => ({...config, hasCompletedOnboarding: true}))
}

function asObject(value: unknown): JsonObject {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {}
}

/** Read-modify-write of a JSON object file; a file that exists but is not JSON is refused, never replaced. */
async function updateJsonFile(path: string, update: (value: JsonObject) => JsonObject): Promise<void> {
  let current: unknown = {}
  try {
    current = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${path} is not readable JSON; leaving it alone (${(error as Error).message})`)
  }

  await writeFileAtomic(path, JSON.stringify(update(asObject(current)), null, 2) + '\n')
}
