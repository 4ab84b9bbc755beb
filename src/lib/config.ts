// The configuration (SPEC §2): where the file is looked for, what a validated one holds, and a
// cache of validated results. Parsing and checking live in config-schema.ts (YAML and zod); a timer
// run whose config file has not changed since the last run reads the result from the cache
// instead, because loading those two libraries is most of a run's start-up cost.
import {mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {fail} from './errors.js'
import {textHash} from './text.js'

/** Names that are safe as tmux session names and file names: no `.` or `:` (tmux target syntax). */
export const SESSION_NAME = /^[A-Za-z0-9_-]+$/
/** Account and project names, and task ids (SPEC §3). */
export const NAME = /^[A-Za-z0-9._-]+$/

/** The validated, resolved configuration every command works from. */
export interface Config {
  file: string
  stateDir: string
  tmux: {socket?: string; timeoutMs: number}
  claude: {binary: string; args: string[]; continueMessage: string}
  accounts: Account[]
  shared: {root: string; dirs: string[]}
  activeLink?: string
  autonomous: {prefix: string; startIndex: number; min: number; max: number}
  dedicated: DedicatedSession[]
  projects: Project[]
  projectsDir?: string
  quota: {
    captureLines: number
    confirmPolls: number
    reactivateCooldownMs: number
    resetGraceMs: number
    timezone?: string
    usage: {enabled: boolean; threshold: number; baseUrl: string; cacheTtlMs: number}
    /**
     * Per limit: swap now, or let Claude Code's own wait run (`auto`: when the reset is within the
     * horizon or no account is usable). `checkOnLimit`: a usage-limit StopFailure starts `quota
     * check` at once (the timer stays the safety net).
     */
    policy: {mode: 'auto' | 'swap' | 'wait'; waitHorizonMs: number; checkOnLimit: boolean}
  }
  /** `onStop`/`onAdd`: a pool session's Stop hook / `task add` starts a dispatch pass at once (the timer stays the safety net). */
  dispatcher: {taskTimeoutMs: number; onStop: boolean; onAdd: boolean}
  watcher: {stallAfterMs: number; startWithinMs: number}
  janitor: {archiveAfterMs: number; checkpointRetentionMs: number; eventsMaxBytes: number}
  swap: {staggerMs: number}
  lock: {staleMs: number}
  /** The statusLine recorder (issue 16): record `rate_limits`, swap before the wall from them. */
  statusline: {record: boolean; swap: boolean; maxAgeMs: number}
  /** The OpenMetrics export: a file the tick rewrites (node_exporter's textfile collector), or none. */
  metrics: {file?: string; format: 'prometheus' | 'openmetrics'}
  notifications: {
    timeoutMs: number
    remindAfterMs: number
    retryUndeliveredMs: number
    telegram?: {botTokenEnv: string; chatId: string; apiBase: string}
    email?: {apiKeyEnv: string; from: string; to: string[]; apiBase: string}
    webhook?: {url: string; secretEnv?: string}
  }
}

export interface Account {
  name: string
  home: string
  usageTokenEnv?: string
}

export interface DedicatedSession {
  session: string
  cwd: string
  relaunch: boolean
}

export interface Project {
  name: string
  path: string
}

/** Where the config is looked for: `--config`, `$CLAUDE_FAILOVER_CONFIG`, the user's, the system's. */
export function configCandidates(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  if (flag) return [resolve(flag)]
  if (env.CLAUDE_FAILOVER_CONFIG) return [resolve(env.CLAUDE_FAILOVER_CONFIG)]
  const xdg = env.XDG_CONFIG_HOME || join(home, '.config')
  return [join(xdg, 'claude-failover', 'config.yaml'), '/etc/claude-failover/config.yaml']
}

/** Reads, parses and validates the config file; throws a FailoverError (exit 78) listing every problem. */
export async function loadConfig(flag?: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): Promise<Config> {
  const candidates = configCandidates(flag, env, home)
  for (const file of candidates) {
    let source: string
    try {
      source = readFileSync(file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && candidates.length > 1) continue
      if (code === 'ENOENT') {
        throw fail('config', `config file not found: ${file} (copy config.example.yaml there, or pass --config PATH)`)
      }

      throw fail('config', `cannot read config file ${file}: ${code ?? (error as Error).message}`)
    }

    const cache = configCache(env, home, file)
    const cached = cache.read(source)
    if (cached) return cached
    const {parseConfig} = await import('./config-schema.js')
    const config = parseConfig(source, file, home)
    cache.write(source, config)
    return config
  }

  throw fail(
    'config',
    `no config file found (looked in ${candidates.join(', ')}); copy config.example.yaml to the first, or pass --config PATH`,
  )
}

interface CacheRecord {
  format: number
  build: string
  file: string
  home: string
  source: string
  config: Config
}

const CACHE_FORMAT = 1

/**
 * The validated config of one file, kept in `$XDG_CACHE_HOME/claude-failover/config/` (0700, files
 * 0600). A record is used only when the file's whole text, its path, the home directory, the Node
 * version (with its ICU and time-zone data) and this build (size and time of the running code) are
 * all the same as when it was written, so an edit, a rebuild or an upgrade always revalidates; only
 * valid configs are kept.
 * Any failure to read or write the cache just means parsing the file again.
 */
export function configCache(env: NodeJS.ProcessEnv, home: string, file: string) {
  const base = env.XDG_CACHE_HOME || join(home, '.cache')
  const dir = join(base, 'claude-failover', 'config')
  // A short file name for the path (a collision only costs a miss: the record names its file).
  const path = join(dir, `${textHash(`${home}\0${file}`)}.json`)
  let build: string | undefined
  const buildId = () => (build ??= currentBuild())
  return {
    path,
    read(source: string): Config | undefined {
      try {
        const record = JSON.parse(readFileSync(path, 'utf8')) as CacheRecord
        const fresh = record.format === CACHE_FORMAT && record.source === source && record.file === file && record.home === home && record.build === buildId()
        return fresh ? record.config : undefined
      } catch {
        return undefined
      }
    },
    write(source: string, config: Config): void {
      const record: CacheRecord = {format: CACHE_FORMAT, build: buildId(), file, home, source, config}
      const temp = `${path}.${process.pid}`
      try {
        // One level at a time: Node's recursive mkdir spins forever where mkdir says ENOENT under
        // an existing parent (XDG_CACHE_HOME on /proc, say).
        for (const folder of [base, join(base, 'claude-failover'), dir]) mkdirExisting(folder)
        writeFileSync(temp, JSON.stringify(record), {mode: 0o600})
        renameSync(temp, path)
      } catch {}
    },
  }
}

function mkdirExisting(path: string): void {
  try {
    mkdirSync(path, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

function currentBuild(): string {
  const code = fileURLToPath(import.meta.url)
  const {mtimeMs, size} = statSync(code)
  // ICU and its time-zone data can change under the same Node version (a system ICU): quota.timezone
  // was checked against them.
  return `${process.version} ${process.versions.icu ?? ''} ${process.versions.tz ?? ''} ${code} ${size} ${mtimeMs}`
}
