// Account homes that start without a modal. A CLAUDE_CONFIG_DIR that never completed Claude Code's
// first launch stops at a screen nobody will answer in an unattended pool (seen with the real
// 2.1.328, ../shared/reference/real-claude-code.md): the theme picker (no `hasCompletedOnboarding`),
// folder trust (no `projects[<dir>].hasTrustDialogAccepted` for the folder or a parent), the
// bypass-permissions warning (no `skipDangerousModePermissionPrompt` while the pool runs with
// `--dangerously-skip-permissions`), and the API-key approval for a key set in the home's settings.
// `checkHomes` names each such gap; `prepareHomes` writes only those keys, merged into the files
// that also hold the user's credentials and settings: atomically, keeping the file's mode, and
// never over a file that does not parse.
import {dirname, join, resolve} from 'node:path'

import type {Config} from './config.js'

import {fail} from './errors.js'
import {writeFileAtomic} from './fs-atomic.js'
import {readFile, stat} from './fs.js'

type Json = Record<string, unknown>

export type HomeGap = 'home-missing' | 'unreadable' | 'onboarding' | 'trust' | 'bypass' | 'api-key'

export interface HomeProblem {
  account: string
  home: string
  gap: HomeGap
  /** The file that holds (or would hold) the answer. */
  file: string
  /** What Claude Code would show, or why the file cannot be used. */
  detail: string
}

export interface HomesReport {
  ok: boolean
  problems: HomeProblem[]
  /** Keys written (or, with dryRun, that would be written), per file. */
  fixed: {account: string; file: string; keys: string[]}[]
  /** Not a modal, but worth a look: no login found in the home. */
  warnings: string[]
}

/** The fix to name wherever a home is refused. */
export const HOMES_FIX = 'claude-failover homes --fix'

/** The folders a pool or dedicated session starts in: each must be trusted (a parent covers them). */
export function foldersToTrust(config: Config): string[] {
  const folders = [...config.projects.map((p) => p.path), ...config.dedicated.map((d) => d.cwd)]
  if (config.projectsDir) folders.push(config.projectsDir)
  return [...new Set(folders.map((f) => resolve(f)))].sort()
}

/** True when the configured args start Claude Code in bypass-permissions mode. */
export function runsInBypassMode(args: string[]): boolean {
  return args.some((arg, i) => arg === '--dangerously-skip-permissions' || arg === '--permission-mode=bypassPermissions' || (arg === '--permission-mode' && args[i + 1] === 'bypassPermissions'))
}

interface HomeFiles {
  global: {path: string; value: Json; mode: number | null}
  settings: {path: string; value: Json; mode: number | null}
}

function asObject(value: unknown): Json {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {}
}

/** Reads a JSON object file; a missing file is `{}`; a file that is not a JSON object is an error. */
async function readJsonObject(path: string): Promise<{value: Json; mode: number | null}> {
  let text: string
  let mode: number | null = null
  try {
    mode = (await stat(path)).mode & 0o7777
    text = await readFile(path, 'utf8', {followLinks: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {mode: null, value: {}}
    throw new Error(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }

  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}); fix or move it, nothing was written`)
  }

  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path} is not a JSON object; fix or move it, nothing was written`)
  return {mode, value: value as Json}
}

async function readHome(home: string): Promise<HomeFiles> {
  const globalPath = join(home, '.claude.json')
  const settingsPath = join(home, 'settings.json')
  const [global, settings] = [await readJsonObject(globalPath), await readJsonObject(settingsPath)]
  return {global: {path: globalPath, ...global}, settings: {path: settingsPath, ...settings}}
}

function isTrusted(global: Json, folder: string): boolean {
  const projects = asObject(global.projects)
  for (let dir = folder; ; dir = dirname(dir)) {
    if (asObject(projects[dir]).hasTrustDialogAccepted === true) return true
    if (dirname(dir) === dir) return false
  }
}

/** The API key a home's settings put into Claude Code's environment, if any. */
function settingsApiKey(settings: Json): string | null {
  const key = asObject(settings.env).ANTHROPIC_API_KEY
  return typeof key === 'string' && key.length > 0 ? key : null
}

/** The API-key suffixes (last 20 characters) a home already approved. */
function approvedKeys(global: Json): unknown[] {
  const approved = asObject(global.customApiKeyResponses).approved
  return Array.isArray(approved) ? approved : []
}

/** What a launch under these files would stop at, in the order Claude Code shows them. */
function gapsOf(files: HomeFiles, folders: string[], bypass: boolean): {gap: HomeGap; file: string; detail: string}[] {
  const gaps: {gap: HomeGap; file: string; detail: string}[] = []
  const {global, settings} = files
  if (global.value.hasCompletedOnboarding !== true) gaps.push({detail: 'the theme picker ("Let\'s get started. Choose the text style…"): hasCompletedOnboarding is not set', file: global.path, gap: 'onboarding'})
  const untrusted = folders.filter((f) => !isTrusted(global.value, f))
  if (untrusted.length > 0) gaps.push({detail: `the folder-trust question ("Is this a project you created or one you trust?") for ${untrusted.join(', ')}`, file: global.path, gap: 'trust'})
  const key = settingsApiKey(settings.value)
  if (key && !approvedKeys(global.value).includes(key.slice(-20))) {
    gaps.push({detail: 'the API-key approval ("Do you want to use this API key?") for the key in settings.json', file: global.path, gap: 'api-key'})
  }

  if (bypass && settings.value.skipDangerousModePermissionPrompt !== true) gaps.push({detail: 'the bypass-permissions warning ("WARNING: Claude Code running in Bypass Permissions mode"): skipDangerousModePermissionPrompt is not set', file: settings.path, gap: 'bypass'})
  return gaps
}

/** One line per problem: account, what Claude Code would stop at, the file, the fix. */
export function describeHomeProblem(p: HomeProblem): string {
  if (p.gap === 'home-missing') return `${p.account}: home ${p.home} does not exist`
  if (p.gap === 'unreadable') return `${p.account}: ${p.detail}`
  return `${p.account}: a launch would stop at ${p.detail} (${p.file}; ${HOMES_FIX} writes it)`
}

/** The gaps of every account home (or only `accounts`). Read-only. */
export async function checkHomes(config: Config, accounts?: string[]): Promise<{problems: HomeProblem[]; warnings: string[]}> {
  const problems: HomeProblem[] = []
  const warnings: string[] = []
  const folders = foldersToTrust(config)
  const bypass = runsInBypassMode(config.claude.args)
  for (const account of config.accounts.filter((a) => !accounts || accounts.includes(a.name))) {
    const base = {account: account.name, home: account.home}
    if (!(await isDirectory(account.home))) {
      problems.push({...base, detail: 'missing', file: account.home, gap: 'home-missing'})
      continue
    }

    let files: HomeFiles
    try {
      files = await readHome(account.home)
    } catch (error) {
      problems.push({...base, detail: (error as Error).message, file: account.home, gap: 'unreadable'})
      continue
    }

    for (const gap of gapsOf(files, folders, bypass)) problems.push({...base, ...gap})
    if (!(await hasLogin(account.home, files))) {
      warnings.push(`${account.name}: no login found in ${account.home} (no .credentials.json, no token or key in its settings.json env); if it is not given by the environment, log in once: CLAUDE_CONFIG_DIR=${account.home} claude, then /login`)
    }
  }

  return {problems, warnings}
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

async function hasLogin(home: string, files: HomeFiles): Promise<boolean> {
  const env = asObject(files.settings.value.env)
  if (['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'].some((k) => typeof env[k] === 'string')) return true
  if (typeof files.settings.value.apiKeyHelper === 'string') return true
  try {
    return (await stat(join(home, '.credentials.json'))).isFile()
  } catch {
    return false
  }
}

/** The answers a launch needs, merged into the files' current values (nothing else changes). */
function answered(files: HomeFiles, folders: string[], bypass: boolean): {global: Json; settings: Json; keys: {global: string[]; settings: string[]}} {
  const global = {...files.global.value}
  const settings = {...files.settings.value}
  const keys = {global: [] as string[], settings: [] as string[]}
  if (global.hasCompletedOnboarding !== true) {
    global.hasCompletedOnboarding = true
    keys.global.push('hasCompletedOnboarding')
    // The picker also records a theme; without one Claude Code keeps its default.
    if (global.theme === undefined) {
      global.theme = 'dark'
      keys.global.push('theme')
    }
  }

  const projects = {...asObject(global.projects)}
  for (const folder of folders.filter((f) => !isTrusted(global, f))) {
    projects[folder] = {...asObject(projects[folder]), hasTrustDialogAccepted: true}
    keys.global.push(`projects[${folder}].hasTrustDialogAccepted`)
  }

  if (keys.global.some((k) => k.startsWith('projects['))) global.projects = projects
  const key = settingsApiKey(settings)
  if (key) {
    const approved = approvedKeys(global)
    if (!approved.includes(key.slice(-20))) {
      global.customApiKeyResponses = {...asObject(global.customApiKeyResponses), approved: [...approved, key.slice(-20)]}
      keys.global.push('customApiKeyResponses.approved')
    }
  }

  if (bypass && settings.skipDangerousModePermissionPrompt !== true) {
    settings.skipDangerousModePermissionPrompt = true
    keys.settings.push('skipDangerousModePermissionPrompt')
  }

  return {global, keys, settings}
}

/**
 * Checks every account home and, with `fix`, writes the missing answers (`dryRun`: only says which).
 * A home whose files do not parse is reported and left untouched.
 */
export async function prepareHomes(config: Config, options: {accounts?: string[]; fix?: boolean; dryRun?: boolean}): Promise<HomesReport> {
  const fixed: HomesReport['fixed'] = []
  if (options.fix) {
    const folders = foldersToTrust(config)
    const bypass = runsInBypassMode(config.claude.args)
    for (const account of config.accounts.filter((a) => !options.accounts || options.accounts.includes(a.name))) {
      if (!(await isDirectory(account.home))) continue
      let files: HomeFiles
      try {
        files = await readHome(account.home)
      } catch {
        continue
      }

      const next = answered(files, folders, bypass)
      for (const which of ['global', 'settings'] as const) {
        if (next.keys[which].length === 0) continue
        const file = files[which]
        if (!options.dryRun) await writeFileAtomic(file.path, `${JSON.stringify(next[which], null, 2)}\n`, {mode: file.mode ?? 0o600})
        fixed.push({account: account.name, file: file.path, keys: next.keys[which]})
      }
    }
  }

  const {problems, warnings} = await checkHomes(config, options.accounts)
  // What the pool itself saw: a login that failed on a session (quota check's mark, see logins.ts).
  const {loginMarkWarnings} = await import('./logins.js')
  warnings.push(...(await loginMarkWarnings(config, options.accounts)))
  // A dry run reports what it would write; the problems it would fix are not problems left over.
  const left = options.fix && options.dryRun ? problems.filter((p) => p.gap === 'home-missing' || p.gap === 'unreadable') : problems
  return {fixed, ok: left.length === 0, problems: left, warnings}
}

/** Throws a config error (exit 78) naming the fix when `account`'s home would stop at a modal. */
export async function assertHomeReady(config: Config, account: string, doing: string): Promise<void> {
  const {problems} = await checkHomes(config, [account])
  if (problems.length === 0) return
  throw fail('config', `${doing}: the home of ${account} would stop at a first-launch screen nobody answers in the pool`, {
    details: [...problems.map((p) => describeHomeProblem(p)), `fix: ${HOMES_FIX}${config.accounts.length > 1 ? ` --account ${account}` : ''} (writes only these keys, keeps everything else)`],
  })
}
