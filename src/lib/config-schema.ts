// Parsing and validating the configuration file (SPEC §2): YAML 1.2 via `yaml`, checked with zod,
// every path resolved (`~`, relative to the config file), every duration converted to
// milliseconds. A bad file is rejected whole with one line per problem naming the key, the bad
// value and a valid example (exit 78). Loaded only when config.ts has no cached result for the
// file's exact text: yaml and zod are most of a timer run's start-up cost.
import {homedir} from 'node:os'
import {dirname} from 'node:path'
import {parseDocument} from 'yaml'
import * as z from 'zod'

import type {Config} from './config.js'

import {NAME, SESSION_NAME} from './config.js'
import {parseDuration} from './duration.js'
import {fail} from './errors.js'
import {resolvePath} from './paths.js'
import {editDistance} from './text.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * A valid example for every key, shown in error messages and used to list the keys allowed in a
 * section when a key is unknown. `[]` stands for any list index.
 */
export const CONFIG_EXAMPLES: Record<string, string> = {
  state_dir: 'state_dir: ~/.local/state/claude-failover',
  tmux: 'tmux: {socket: /run/user/1000/claude-failover/tmux.sock}',
  'tmux.socket': 'socket: /run/user/1000/claude-failover/tmux.sock',
  'tmux.timeout': 'timeout: 5s',
  claude: 'claude: {binary: claude, args: ["--dangerously-skip-permissions"]}',
  'claude.binary': 'binary: claude',
  'claude.args': 'args: ["--dangerously-skip-permissions"]',
  'claude.args[]': '- "--dangerously-skip-permissions"',
  'claude.continue_message': 'continue_message: "Continue where you left off."',
  accounts: 'accounts: [{name: main, home: ~/.claude-main}, {name: backup, home: ~/.claude-backup}]',
  'accounts[]': '- {name: main, home: ~/.claude-main}',
  'accounts[].name': 'name: main',
  'accounts[].home': 'home: ~/.claude-main',
  'accounts[].usage_token_env': 'usage_token_env: CLAUDE_MAIN_OAUTH_TOKEN',
  shared: 'shared: {root: ~/.claude-shared, dirs: [projects, file-history, session-env]}',
  'shared.root': 'root: ~/.claude-shared',
  'shared.dirs': 'dirs: [projects, file-history, session-env]',
  'shared.dirs[]': '- projects',
  active_link: 'active_link: ~/.claude',
  autonomous: 'autonomous: {prefix: "ccl-auto-", start_index: 11, min: 10, max: 10}',
  'autonomous.prefix': 'prefix: "ccl-auto-"',
  'autonomous.start_index': 'start_index: 11',
  'autonomous.min': 'min: 10',
  'autonomous.max': 'max: 10',
  dedicated: 'dedicated: [{session: ccl-1-conformvault, cwd: ~/src/conformvault, relaunch: true}]',
  'dedicated[]': '- {session: ccl-1-conformvault, cwd: ~/src/conformvault, relaunch: true}',
  'dedicated[].session': 'session: ccl-1-conformvault',
  'dedicated[].cwd': 'cwd: ~/src/conformvault',
  'dedicated[].relaunch': 'relaunch: true',
  projects: 'projects: [{name: secuaas-hosting, path: ~/src/secuaas-hosting}]',
  'projects[]': '- {name: secuaas-hosting, path: ~/src/secuaas-hosting}',
  'projects[].name': 'name: secuaas-hosting',
  'projects[].path': 'path: ~/src/secuaas-hosting',
  projects_dir: 'projects_dir: ~/src',
  quota: 'quota: {capture_lines: 40, confirm_polls: 2, reactivate_cooldown: 5m, reset_grace: 5m}',
  'quota.capture_lines': 'capture_lines: 40',
  'quota.confirm_polls': 'confirm_polls: 2',
  'quota.reactivate_cooldown': 'reactivate_cooldown: 5m',
  'quota.reset_grace': 'reset_grace: 5m',
  'quota.timezone': 'timezone: Europe/Paris',
  'quota.usage': 'usage: {enabled: false, threshold: 95}',
  'quota.usage.enabled': 'enabled: false',
  'quota.usage.threshold': 'threshold: 95',
  'quota.usage.base_url': 'base_url: https://api.anthropic.com',
  'quota.usage.cache_ttl': 'cache_ttl: 60s',
  'quota.policy': 'policy: {mode: auto, wait_horizon: 15m, check_on_limit: true}',
  'quota.policy.check_on_limit': 'check_on_limit: true',
  'quota.policy.mode': 'mode: auto',
  'quota.policy.wait_horizon': 'wait_horizon: 15m',
  dispatcher: 'dispatcher: {task_timeout: 2h, on_stop: true, on_add: true}',
  'dispatcher.task_timeout': 'task_timeout: 2h',
  'dispatcher.on_stop': 'on_stop: true',
  'dispatcher.on_add': 'on_add: true',
  watcher: 'watcher: {stall_after: 30m}',
  'watcher.stall_after': 'stall_after: 30m',
  'watcher.start_within': 'start_within: 45s',
  janitor: 'janitor: {archive_after: 7d, checkpoint_retention: 3d}',
  'janitor.archive_after': 'archive_after: 7d',
  'janitor.checkpoint_retention': 'checkpoint_retention: 3d',
  'janitor.events_max_bytes': 'events_max_bytes: 10485760',
  swap: 'swap: {stagger: 2s}',
  'swap.stagger': 'stagger: 2s',
  lock: 'lock: {stale: 60s}',
  'lock.stale': 'stale: 60s',
  statusline: 'statusline: {record: true, swap: true, max_age: 15m}',
  'statusline.record': 'record: true',
  'statusline.swap': 'swap: true',
  'statusline.max_age': 'max_age: 15m',
  metrics: 'metrics: {file: /var/lib/node_exporter/textfile_collector/claude_failover.prom}',
  'metrics.file': 'file: /var/lib/node_exporter/textfile_collector/claude_failover.prom',
  'metrics.format': 'format: prometheus',
  notifications: 'notifications: {webhook: {url: "https://hooks.example.org/claude-failover"}}',
  'notifications.timeout': 'timeout: 10s',
  'notifications.remind_after': 'remind_after: 6h',
  'notifications.retry_undelivered': 'retry_undelivered: 15m',
  'notifications.telegram': 'telegram: {bot_token_env: TELEGRAM_BOT_TOKEN, chat_id: "123456"}',
  'notifications.telegram.bot_token_env': 'bot_token_env: TELEGRAM_BOT_TOKEN',
  'notifications.telegram.chat_id': 'chat_id: "123456"',
  'notifications.telegram.api_base': 'api_base: https://api.telegram.org',
  'notifications.email': 'email: {api_key_env: RESEND_API_KEY, from: "pool@example.org", to: ["ops@example.org"]}',
  'notifications.email.api_key_env': 'api_key_env: RESEND_API_KEY',
  'notifications.email.from': 'from: "pool@example.org"',
  'notifications.email.to': 'to: ["ops@example.org"]',
  'notifications.email.to[]': '- "ops@example.org"',
  'notifications.email.api_base': 'api_base: https://api.resend.com',
  'notifications.webhook': 'webhook: {url: "https://hooks.example.org/claude-failover"}',
  'notifications.webhook.url': 'url: "https://hooks.example.org/claude-failover"',
  'notifications.webhook.secret_env': 'secret_env: WEBHOOK_SECRET',
}

/** A duration key; `minMs` > 0 refuses `0s` where zero has no meaning (a timeout of nothing). */
function duration(defaultValue: string, minMs = 0) {
  const schema = z
    .union([z.string(), z.number()], {error: 'must be a duration such as 90s, 5m, 2h or 7d'})
    .transform((value, ctx) => {
      const ms = typeof value === 'string' ? parseDuration(value) : undefined
      if (ms === undefined) {
        ctx.addIssue({code: 'custom', message: 'must be a duration with a unit, such as 90s, 5m, 2h or 7d'})
        return z.NEVER
      }

      if (ms < minMs) {
        ctx.addIssue({code: 'custom', message: `must be at least ${minMs} ms`})
        return z.NEVER
      }

      return ms
    })
  return schema.prefault(defaultValue)
}

const text = (what = 'a non-empty string') => z.string({error: `must be ${what}`}).min(1, `must be ${what}`)
const pathText = () => text('a path')
const count = (min: number) =>
  z.number({error: `must be a whole number ≥ ${min}`}).int(`must be a whole number ≥ ${min}`).min(min, `must be a whole number ≥ ${min}`)
const envName = () => text('the name of an environment variable').regex(ENV_NAME, 'must be the name of an environment variable (letters, digits, _)')
const url = () =>
  text('an http(s) URL').refine((value) => /^https?:\/\/[^\s/]+/.test(value), 'must be an http(s) URL')

const rawSchema = z.strictObject({
  state_dir: pathText().prefault('~/.local/state/claude-failover'),
  tmux: z
    .strictObject({socket: pathText().optional(), timeout: duration('5s', 100)})
    
    .prefault({}),
  claude: z
    .strictObject({
      binary: text('a command name or path').prefault('claude'),
      args: z.array(text('a command-line argument'), {error: 'must be a list of arguments'}).prefault([]),
      continue_message: text().prefault('Continue where you left off.'),
    })
    
    .prefault({}),
  accounts: z
    .array(
      z.strictObject({
        name: text('a name').regex(SESSION_NAME, 'must use only letters, digits, _ and -'),
        home: pathText(),
        usage_token_env: envName().optional(),
      }),
      {error: 'must be a list of accounts'},
    )
    .min(1, 'must list at least one account'),
  shared: z
    .strictObject({
      root: pathText(),
      dirs: z
        .array(text('a folder name').regex(/^[A-Za-z0-9._-]+$/, 'must be a single folder name').refine((d) => d !== '.' && d !== '..', 'must be a single folder name'), {error: 'must be a list of folder names'})
        
        .prefault(['projects', 'file-history', 'session-env']),
    }),
  active_link: pathText().optional(),
  autonomous: z
    .strictObject({
      prefix: z.string({error: 'must be a string'}).regex(SESSION_NAME, 'must use only letters, digits, _ and - (tmux treats . and : as target syntax)').prefault('ccl-auto-'),
      start_index: count(0).prefault(0),
      min: count(0).prefault(1),
      max: count(1).prefault(4),
    })
    
    .prefault({}),
  dedicated: z
    .array(
      z.strictObject({
        session: text('a tmux session name').regex(SESSION_NAME, 'must use only letters, digits, _ and - (tmux treats . and : as target syntax)'),
        cwd: pathText(),
        relaunch: z.boolean({error: 'must be true or false'}).prefault(true),
      }),
      {error: 'must be a list of sessions'},
    )
    
    .prefault([]),
  projects: z
    .array(
      z.strictObject({
        name: text('a name').regex(NAME, 'must use only letters, digits, ., _ and -').refine((n) => n !== '.' && n !== '..', 'must not be . or ..'),
        path: pathText(),
      }),
      {error: 'must be a list of projects'},
    )
    
    .prefault([]),
  projects_dir: pathText().optional(),
  quota: z
    .strictObject({
      capture_lines: count(5).prefault(40),
      confirm_polls: count(1).prefault(2),
      reactivate_cooldown: duration('5m'),
      reset_grace: duration('5m'),
      timezone: text('an IANA zone such as Europe/Paris').refine(isTimeZone, 'must be an IANA zone such as Europe/Paris').optional(),
      usage: z
        .strictObject({
          enabled: z.boolean({error: 'must be true or false'}).prefault(false),
          threshold: z.number({error: 'must be a percentage'}).min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').prefault(95),
          base_url: url().prefault('https://api.anthropic.com'),
          cache_ttl: duration('60s'),
        })
        
        .prefault({}),
      policy: z
        .strictObject({
          mode: z.enum(['auto', 'swap', 'wait'], {error: 'must be auto, swap or wait'}).prefault('auto'),
          wait_horizon: duration('15m'),
          check_on_limit: z.boolean({error: 'must be true or false'}).prefault(true),
        })
        .prefault({}),
    })
    
    .prefault({}),
  dispatcher: z
    .strictObject({
      task_timeout: duration('2h'),
      on_stop: z.boolean({error: 'must be true or false'}).prefault(true),
      on_add: z.boolean({error: 'must be true or false'}).prefault(true),
    })
    .prefault({}),
  watcher: z.strictObject({stall_after: duration('30m'), start_within: duration('45s')}).prefault({}),
  janitor: z
    .strictObject({
      archive_after: duration('7d'),
      checkpoint_retention: duration('3d'),
      events_max_bytes: count(4096).prefault(10 * 1024 * 1024),
    })
    
    .prefault({}),
  swap: z.strictObject({stagger: duration('2s')}).prefault({}),
  lock: z.strictObject({stale: duration('60s')}).prefault({}),
  statusline: z
    .strictObject({
      record: z.boolean({error: 'must be true or false'}).prefault(true),
      swap: z.boolean({error: 'must be true or false'}).prefault(true),
      max_age: duration('15m', 1000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      file: pathText().optional(),
      format: z.enum(['prometheus', 'openmetrics'], {error: 'must be prometheus or openmetrics'}).prefault('prometheus'),
    })
    .prefault({}),
  notifications: z
    .strictObject({
      timeout: duration('10s'),
      remind_after: duration('6h'),
      retry_undelivered: duration('15m'),
      telegram: z
        .strictObject({
          bot_token_env: envName(),
          chat_id: z.union([z.string(), z.number()], {error: 'must be a chat id such as "123456"'}).transform(String),
          api_base: url().prefault('https://api.telegram.org'),
        })
        .optional(),
      email: z
        .strictObject({
          api_key_env: envName(),
          from: text('an email address'),
          to: z.array(text('an email address'), {error: 'must be a list of addresses'}).min(1, 'must list at least one address'),
          api_base: url().prefault('https://api.resend.com'),
        })
        .optional(),
      webhook: z.strictObject({url: url(), secret_env: envName().optional()}).optional(),
    })
    
    .prefault({}),
})

type RawConfig = z.output<typeof rawSchema>

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: zone})
    return true
  } catch {
    return false
  }
}

/** Parses config text; `file` names it in errors and anchors relative paths. */
export function parseConfig(source: string, file: string, home: string = homedir()): Config {
  const raw = parseYaml(source, file)
  const result = rawSchema.safeParse(raw, {reportInput: true})
  if (!result.success) {
    throw configError(file, result.error.issues.map((issue) => describeIssue(issue, raw)))
  }

  const config = resolveConfig(result.data, file, home)
  const problems = crossCheck(config)
  if (problems.length > 0) throw configError(file, problems)
  return config
}

function parseYaml(source: string, file: string): unknown {
  const doc = parseDocument(source, {prettyErrors: true, uniqueKeys: true})
  const [error] = doc.errors
  if (error) {
    // One mistake (a line indented one space too far) makes the parser report two or three errors
    // at the same place; the first is the one to fix, and the position is said once, with the line.
    const pos = error.linePos?.[0]
    const what = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '')
    const text = pos ? source.split('\n')[pos.line - 1]?.replace(/\r$/, '') : undefined
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'YAML'
    const shown = text === undefined ? '' : ` in ${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)}`
    const hint = error.code === 'DUPLICATE_KEY' ? '' : '; check its indentation against the lines above'
    throw configError(file, [`${where}: ${what}${shown}${hint} (the file must be YAML, e.g. "state_dir: ~/.local/state/claude-failover")`])
  }

  const value = doc.toJS({maxAliasCount: 100}) as unknown
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(file, ['the file must be a YAML mapping of keys, e.g. "accounts: [{name: main, home: ~/.claude-main}]"'])
  }

  return value
}

function configError(file: string, problems: string[]) {
  const lines = problems.map((problem) => `${file}: ${problem}`)
  return fail('config', `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'})`, {details: lines})
}

function templatePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += '[]'
    else out += out === '' ? String(part) : `.${String(part)}`
  }

  return out
}

function displayPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }

  return out || '(top level)'
}

function quote(value: unknown): string {
  if (value === undefined) return 'nothing'
  let shown: string
  try {
    shown = JSON.stringify(value) ?? String(value)
  } catch {
    shown = String(value)
  }

  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[part]
  }

  return current
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const section = templatePath(issue.path)
    const allowed = Object.keys(CONFIG_EXAMPLES)
      .filter((key) => {
        const prefix = section === '' ? '' : `${section}.`
        return key.startsWith(prefix) && !key.slice(prefix.length).includes('.') && !key.endsWith('[]')
      })
      .map((key) => key.slice(section === '' ? 0 : section.length + 1))
    return issue.keys
      .map((key) => {
        const where = section === '' ? key : `${displayPath(issue.path)}.${key}`
        const hint = closest(key, allowed)
        return `${where}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; valid keys here: ${allowed.join(', ')}`
      })
      .join('\n')
  }

  const where = displayPath(issue.path)
  const value = 'input' in issue ? issue.input : valueAt(raw, issue.path)
  const example = CONFIG_EXAMPLES[templatePath(issue.path)]
  const got = value === undefined ? 'missing' : `got ${quote(value)}`
  return `${where}: ${issue.message} (${got})${example ? `; e.g. ${example}` : ''}`
}

function closest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of candidates) {
    const distance = editDistance(key, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }

  return best
}

function resolveConfig(raw: RawConfig, file: string, home: string): Config {
  const base = dirname(file)
  const at = (p: string) => resolvePath(p, base, home)
  const config: Config = {
    file,
    stateDir: at(raw.state_dir),
    tmux: {timeoutMs: raw.tmux.timeout, ...(raw.tmux.socket ? {socket: at(raw.tmux.socket)} : {})},
    claude: {binary: raw.claude.binary, args: raw.claude.args, continueMessage: raw.claude.continue_message},
    accounts: raw.accounts.map((a) => ({name: a.name, home: at(a.home), ...(a.usage_token_env ? {usageTokenEnv: a.usage_token_env} : {})})),
    shared: {root: at(raw.shared.root), dirs: raw.shared.dirs},
    autonomous: {prefix: raw.autonomous.prefix, startIndex: raw.autonomous.start_index, min: raw.autonomous.min, max: raw.autonomous.max},
    dedicated: raw.dedicated.map((d) => ({session: d.session, cwd: at(d.cwd), relaunch: d.relaunch})),
    projects: raw.projects.map((p) => ({name: p.name, path: at(p.path)})),
    quota: {
      captureLines: raw.quota.capture_lines,
      confirmPolls: raw.quota.confirm_polls,
      reactivateCooldownMs: raw.quota.reactivate_cooldown,
      resetGraceMs: raw.quota.reset_grace,
      ...(raw.quota.timezone ? {timezone: raw.quota.timezone} : {}),
      usage: {
        enabled: raw.quota.usage.enabled,
        threshold: raw.quota.usage.threshold,
        baseUrl: raw.quota.usage.base_url.replace(/\/+$/, ''),
        cacheTtlMs: raw.quota.usage.cache_ttl,
      },
      policy: {mode: raw.quota.policy.mode, waitHorizonMs: raw.quota.policy.wait_horizon, checkOnLimit: raw.quota.policy.check_on_limit},
    },
    dispatcher: {taskTimeoutMs: raw.dispatcher.task_timeout, onStop: raw.dispatcher.on_stop, onAdd: raw.dispatcher.on_add},
    watcher: {stallAfterMs: raw.watcher.stall_after, startWithinMs: raw.watcher.start_within},
    janitor: {
      archiveAfterMs: raw.janitor.archive_after,
      checkpointRetentionMs: raw.janitor.checkpoint_retention,
      eventsMaxBytes: raw.janitor.events_max_bytes,
    },
    swap: {staggerMs: raw.swap.stagger},
    lock: {staleMs: raw.lock.stale},
    statusline: {record: raw.statusline.record, swap: raw.statusline.swap, maxAgeMs: raw.statusline.max_age},
    metrics: {format: raw.metrics.format, ...(raw.metrics.file ? {file: at(raw.metrics.file)} : {})},
    notifications: {remindAfterMs: raw.notifications.remind_after, retryUndeliveredMs: raw.notifications.retry_undelivered, timeoutMs: raw.notifications.timeout},
  }
  if (raw.active_link) config.activeLink = at(raw.active_link)
  if (raw.projects_dir) config.projectsDir = at(raw.projects_dir)
  const n = raw.notifications
  if (n.telegram) config.notifications.telegram = {botTokenEnv: n.telegram.bot_token_env, chatId: n.telegram.chat_id, apiBase: n.telegram.api_base.replace(/\/+$/, '')}
  if (n.email) config.notifications.email = {apiKeyEnv: n.email.api_key_env, from: n.email.from, to: n.email.to, apiBase: n.email.api_base.replace(/\/+$/, '')}
  if (n.webhook) config.notifications.webhook = {url: n.webhook.url, ...(n.webhook.secret_env ? {secretEnv: n.webhook.secret_env} : {})}
  return config
}

/** Rules that span several keys: unique names, min ≤ max, dedicated sessions outside the pool. */
function crossCheck(config: Config): string[] {
  const problems: string[] = []
  const duplicates = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i)
  for (const name of new Set(duplicates(config.accounts.map((a) => a.name)))) {
    problems.push(`accounts: the name ${quote(name)} is used twice; e.g. ${CONFIG_EXAMPLES.accounts}`)
  }

  for (const home of new Set(duplicates(config.accounts.map((a) => a.home)))) {
    problems.push(`accounts: two accounts share the home ${quote(home)}; each account needs its own CLAUDE_CONFIG_DIR`)
  }

  for (const name of new Set(duplicates(config.projects.map((p) => p.name)))) {
    problems.push(`projects: the name ${quote(name)} is used twice; e.g. ${CONFIG_EXAMPLES.projects}`)
  }

  const {min, max, prefix, startIndex} = config.autonomous
  if (min > max) problems.push(`autonomous.min: ${min} is more than autonomous.max ${max}; e.g. min: ${max}`)
  const pool = new Set(Array.from({length: max}, (_, i) => `${prefix}${startIndex + i}`))
  const seen = new Set<string>()
  for (const [i, d] of config.dedicated.entries()) {
    if (pool.has(d.session)) {
      problems.push(`dedicated[${i}].session: ${quote(d.session)} is inside the autonomous pool ${prefix}${startIndex}..${prefix}${startIndex + max - 1}; give it a name outside the pool`)
    }

    if (seen.has(d.session)) problems.push(`dedicated[${i}].session: ${quote(d.session)} is listed twice`)
    seen.add(d.session)
  }

  for (const [i, account] of config.accounts.entries()) {
    if (account.home === config.shared.root) {
      problems.push(`accounts[${i}].home: ${quote(account.home)} is the shared root; each account needs its own home`)
    }
  }

  return problems
}
