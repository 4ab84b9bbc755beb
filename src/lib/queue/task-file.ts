// Reading one task file (SPEC §3) as hostile input: a task file can never run code, escape its
// project, or make the reader hang or swallow gigabytes.
//
// Frontmatter decision: we split the frontmatter ourselves; a plain reader settles the usual
// `key: value` lines, and anything else goes to `yaml` v2 (YAML 1.2 core schema, in
// frontmatter.ts); gray-matter is not used. Its only job here would be the split, which it does
// laxly (a `\n---x` line closes the block, a missing close parses the whole body as YAML), and
// every call to it is a liability: it evals `---js`/`---javascript` by default and caches by
// content (reference/libraries.md §4). With no gray-matter on the path, no engine exists that
// could run code; any text after the opening `---` (a language tag) is refused outright.
import {closeSync, constants, fstatSync, openSync, readSync, realpathSync} from 'node:fs'
import type {Stats} from 'node:fs'
import {basename, isAbsolute, relative, resolve, sep} from 'node:path'

import {parseDuration} from '../duration.js'
import {isTaskId} from './layout.js'

/** Task files larger than this are refused without being read. */
export const MAX_TASK_BYTES = 1024 * 1024
/**
 * The launch line hands the prompt to Claude Code as one argument (`-- "$(cat -- <file>)"`), and
 * Linux refuses a single argument over MAX_ARG_STRLEN (128 KiB with its NUL): such a task would
 * fail at the shell with "Argument list too long" on every launch, so it is refused up front.
 */
export const MAX_PROMPT_BYTES = 128 * 1024 - 1
// Frontmatter is five short keys; the YAML parser's cost grows faster than its input (a file
// under 1 MiB with 50,000 keys took 14 s, on every pass), so anything far beyond an honest file
// is refused before any parsing: at most 8 KiB, 256 entries (lines plus flow items), 32 brackets.
// The worst input within these bounds parses in ~0.1-0.4 s on a loaded 2-core VM, once per
// version of the file (the .invalid verdict is cached by the file's fingerprint).
/** The largest frontmatter read, in bytes. */
export const MAX_FRONTMATTER_BYTES = 8 * 1024
/** The most entries (lines plus commas) frontmatter may have. */
export const MAX_FRONTMATTER_ENTRIES = 256
/** The most flow brackets (`[` and `{`) frontmatter may have: nesting and flow mappings. */
export const MAX_FRONTMATTER_BRACKETS = 32
/** The frontmatter keys a task file may use. */
export const TASK_KEYS = ['priority', 'depends_on', 'timeout', 'cwd', 'retries'] as const

export const EXAMPLES: Record<(typeof TASK_KEYS)[number], string> = {
  cwd: 'cwd: services/api',
  depends_on: 'depends_on: [other-project:build-base, lint]',
  priority: 'priority: 10',
  retries: 'retries: 1',
  timeout: 'timeout: 90m',
}
export const FRONTMATTER_EXAMPLE = '"---" / "priority: 10" / "---" then the prompt'

/** The project a task belongs to, as config.ts and layout.ts describe it. */
export interface TaskProject {
  name: string
  path: string
}

/** One `depends_on` entry: its raw text plus the syntax check (projects are checked later). */
export type DependencyRef = {raw: string; ok: true; project: string; taskId: string} | {raw: string; ok: false; reason: string}

/** A validated task, ready for the dependency gate. */
export interface Task {
  id: string
  project: string
  /** Absolute path of the task file as read. */
  path: string
  priority: number
  dependsOn: DependencyRef[]
  timeoutMs?: number
  /** Absolute working folder inside the project (the project root by default). */
  cwd: string
  retries: number
  /** The prompt: every byte after the frontmatter, unchanged. */
  body: string
  mtimeMs: number
  ctimeMs: number
  size: number
  ino: number
}

export type TaskFileResult = {ok: true; task: Task} | {ok: false; reason: string}

/** The frontmatter after validation, before paths are resolved. */
export interface TaskFields {
  priority: number
  dependsOn: string[]
  timeoutMs?: number
  cwd?: string
  retries: number
}

export type Outcome<T> = {ok: true; value: T} | {ok: false; reason: string}

// ---------------------------------------------------------------------------------------------
// Pure parsing

/** Quotes outside input for a message, cut short. */
export function quoteInput(value: unknown, max = 40): string {
  let shown: string
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    shown = String(value)
  }

  return shown.length > max ? `${shown.slice(0, max - 3)}...` : shown
}

/** The task id a file name stands for, or why the name is unusable. */
export function taskIdFromName(name: string): Outcome<string> {
  if (!name.endsWith('.md')) return {ok: false, reason: `file name ${quoteInput(name)} must end in .md; e.g. build-base.md`}
  const id = name.slice(0, -3)
  if (!isTaskId(id)) {
    return {ok: false, reason: `task id ${quoteInput(id)} may use only letters, digits, ., _ and - (not . or ..); e.g. build-base.md`}
  }

  return {ok: true, value: id}
}

/**
 * Splits text into frontmatter and body. Frontmatter exists only when the first line is exactly
 * `---` (trailing spaces allowed) and ends at the next line that is exactly `---`. A first line of
 * `---` followed by anything else is a language tag (`---js`, `--- coffee`) and is refused; a line
 * of only dashes (`-----`, a Markdown rule) is body text.
 */
export function splitFrontmatter(text: string): Outcome<{frontmatter?: string; body: string; bodyLine: number}> {
  if (!text.startsWith('---')) return {ok: true, value: {body: text, bodyLine: 1}}
  const firstEnd = text.indexOf('\n')
  const firstLine = stripEol(firstEnd === -1 ? text : text.slice(0, firstEnd))
  const tag = firstLine.slice(3)
  if (/^-+\s*$/.test(tag)) return {ok: true, value: {body: text, bodyLine: 1}}
  if (tag.trim() !== '') {
    return {
      ok: false,
      reason: `frontmatter language tag ${quoteInput(tag.trim())} is refused (only plain YAML is read, never code); start the file with a line that is exactly "---", e.g. ${FRONTMATTER_EXAMPLE}`,
    }
  }

  if (firstEnd === -1) return {ok: false, reason: unterminated()}
  let start = firstEnd + 1
  let line = 2
  while (start <= text.length) {
    const end = text.indexOf('\n', start)
    const current = stripEol(end === -1 ? text.slice(start) : text.slice(start, end))
    if (/^---[ \t]*$/.test(current)) {
      const frontmatter = text.slice(firstEnd + 1, start)
      const body = end === -1 ? '' : text.slice(end + 1)
      return {ok: true, value: {body, bodyLine: line + 1, frontmatter}}
    }

    if (end === -1) break
    start = end + 1
    line += 1
  }

  return {ok: false, reason: unterminated()}
}

function unterminated(): string {
  return `frontmatter is not closed: add a line "---" after it, e.g. ${FRONTMATTER_EXAMPLE}`
}

function stripEol(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}

// The fast path. Most frontmatter is a few `key: value` lines, and yaml v2 costs ~70 µs a file
// (0.7 s for 10,000 tasks). simpleFrontmatter reads only a plain subset (known keys at column 0,
// unquoted scalars that YAML 1.2 core keeps as strings, safe integers, flat lists of such strings)
// and returns undefined for anything else (quotes, trailing comments, anchors, tags, nesting,
// duplicates, tabs), which then goes to the full parser. On its subset it yields exactly what
// yaml v2 yields (test/queue/frontmatter-fast-path.test.ts compares both on a generated corpus),
// so a file cannot mean one thing to one path and another to the other.
const SIMPLE_INT = /^-?(?:0|[1-9]\d{0,14})$/
const SIMPLE_STRING = /^[A-Za-z0-9_][\w./-]*(?::[\w./-]+)?$/
const CORE_NON_STRING =
  /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?\d+|0o[0-7]+|0x[\dA-Fa-f]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.\d+|\d+(?:\.\d*)?)(?:[Ee][-+]?\d+)?)$/
const SIMPLE_LINE = /^([a-z_]+):(?: +(\S(?:.*\S)?))? *$/
const SIMPLE_ITEM_LINE = /^( *)- +(\S+) *$/
const SIMPLE_FLOW = /^\[ *(.*?) *\]$/

function simpleScalar(text: string): number | string | undefined {
  if (SIMPLE_INT.test(text)) return Number(text)
  return SIMPLE_STRING.test(text) && !CORE_NON_STRING.test(text) ? text : undefined
}

function simpleString(text: string): string | undefined {
  return SIMPLE_STRING.test(text) && !CORE_NON_STRING.test(text) ? text : undefined
}

/** Reads the plain subset of frontmatter without a YAML parser; undefined means "use the full one". */
export function simpleFrontmatter(source: string): Record<string, unknown> | undefined {
  const data: Record<string, unknown> = {}
  const lines = source.split('\n')
  let list: string[] | undefined
  let listIndent: number | undefined
  for (let raw of lines) {
    if (raw.endsWith('\r')) raw = raw.slice(0, -1)
    if (/^ *(?:#.*)?$/.test(raw)) continue
    if (list) {
      const item = SIMPLE_ITEM_LINE.exec(raw)
      if (item) {
        const indent = (item[1] as string).length
        const value = simpleString(item[2] as string)
        if (value === undefined || (listIndent !== undefined && indent !== listIndent)) return undefined
        listIndent = indent
        list.push(value)
        continue
      }

      if (list.length === 0) return undefined
      list = undefined
      listIndent = undefined
    }

    const line = SIMPLE_LINE.exec(raw)
    if (!line) return undefined
    const key = line[1] as string
    if (!(TASK_KEYS as readonly string[]).includes(key) || Object.hasOwn(data, key)) return undefined
    const text = line[2]
    if (text === undefined) {
      list = []
      data[key] = list
      continue
    }

    const flow = SIMPLE_FLOW.exec(text)
    if (flow) {
      const inner = flow[1] as string
      const items = inner === '' ? [] : inner.split(/ *, */).map(simpleString)
      if (items.some((item) => item === undefined)) return undefined
      data[key] = items
      continue
    }

    const value = simpleScalar(text)
    if (value === undefined) return undefined
    data[key] = value
  }

  if (list?.length === 0) return undefined
  return data
}

/**
 * Frontmatter text → validated fields. The plain subset (simpleFrontmatter) with valid values is
 * read and checked here; anything else, and anything wrong, goes to the full YAML 1.2 parser and
 * the zod schema in frontmatter.ts, loaded only then, which also word every error message.
 */
export async function readFrontmatter(source: string): Promise<Outcome<TaskFields>> {
  const tooBig = frontmatterTooBig(source)
  if (tooBig) return {ok: false, reason: tooBig}
  const simple = simpleFrontmatter(source)
  const quick = simple && quickFields(simple)
  if (quick) return {ok: true, value: quick}
  const full = await import('./frontmatter.js')
  const data = full.parseFrontmatter(source)
  if (!data.ok) return data
  return full.validateFrontmatter(data.value)
}

/** Why frontmatter is refused before parsing (see MAX_FRONTMATTER_BYTES), or undefined. Linear in its length. */
export function frontmatterTooBig(source: string): string | undefined {
  const advice = `a task's frontmatter is a few short keys (${TASK_KEYS.join(', ')}); put long text in the prompt, e.g. ${FRONTMATTER_EXAMPLE}`
  const bytes = Buffer.byteLength(source, 'utf8')
  if (bytes > MAX_FRONTMATTER_BYTES) return `frontmatter is ${bytes} bytes, over the ${MAX_FRONTMATTER_BYTES}-byte limit; ${advice}`
  let entries = 1
  let brackets = 0
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i)
    if (c === 10 || c === 44) entries++
    else if (c === 91 || c === 123) brackets++
  }

  if (entries > MAX_FRONTMATTER_ENTRIES) return `frontmatter has ${entries} entries (lines and comma-separated items), over the limit of ${MAX_FRONTMATTER_ENTRIES}; ${advice}`
  if (brackets > MAX_FRONTMATTER_BRACKETS) return `frontmatter has ${brackets} "[" and "{", over the limit of ${MAX_FRONTMATTER_BRACKETS} (deep nesting or many flow collections); ${advice}`
  return undefined
}

/**
 * The fields of plain frontmatter when every value is valid; undefined otherwise (the full path then
 * decides and explains). Never accepts what the zod schema refuses, nor reads a value differently:
 * test/queue/frontmatter-fast-path.test.ts compares both on a generated corpus.
 */
export function quickFields(data: Record<string, unknown>): TaskFields | undefined {
  const {cwd, depends_on: dependsOn, priority = 0, retries = 0, timeout} = data
  if (!Number.isSafeInteger(priority) || !Number.isSafeInteger(retries) || (retries as number) < 0) return undefined
  const fields: TaskFields = {dependsOn: [], priority: priority as number, retries: retries as number}
  if (typeof dependsOn === 'string') fields.dependsOn = [dependsOn]
  else if (Array.isArray(dependsOn) && dependsOn.every((entry) => typeof entry === 'string')) fields.dependsOn = [...(dependsOn as string[])]
  else if (dependsOn !== undefined) return undefined
  if (timeout !== undefined) {
    const ms = typeof timeout === 'string' ? parseDuration(timeout) : undefined
    if (ms === undefined || ms <= 0) return undefined
    fields.timeoutMs = ms
  }

  if (cwd !== undefined) {
    if (cwdProblem(cwd)) return undefined
    fields.cwd = cwd as string
  }

  return fields
}

/** Why a frontmatter `cwd` is unusable, or undefined when it is fine (the zod schema uses the same rules). */
export function cwdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a folder path relative to the project root'
  if (isAbsolute(value) || value.startsWith('~')) return 'must be relative to the project root, not absolute'
  if (escapes(value)) return 'must stay inside the project'
  // It goes into the launch line, single-quoted; a control character could never be typed there.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001F\u007F]/.test(value)) return 'must not contain control characters (tab, newline…)'
  return undefined
}

/** True when a relative path climbs out of its base (`..`, `a/../../b`). */
function escapes(path: string): boolean {
  const rel = relative('/base', resolve('/base', path))
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)
}

/** True when `child` is `root` or inside it (both absolute, normalised). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/**
 * Checks a `depends_on` entry's syntax: `project:task_id` or a bare `task_id` (same project).
 * Nothing here touches the filesystem, so `../../tmp:foo` is refused before any lookup.
 */
export function parseDependencySyntax(entry: string, currentProject: string): {ok: true; project: string; taskId: string} | {ok: false; reason: string} {
  const bad = (why: string) => ({ok: false as const, reason: `depends_on entry ${quoteInput(entry)}: ${why}; e.g. ${EXAMPLES.depends_on}`})
  if (entry === '') return bad('is empty')
  const parts = entry.split(':')
  if (parts.length > 2) return bad('has more than one ":" (write project:task_id)')
  const [project, taskId] = parts.length === 2 ? (parts as [string, string]) : [currentProject, parts[0] as string]
  if (project === '') return bad('the project before ":" is empty')
  if (taskId === '') return bad('the task id after ":" is empty')
  if (!isTaskId(project)) return bad(`project ${quoteInput(project)} is not a valid name (letters, digits, ., _ and - only; not . or ..)`)
  if (!isTaskId(taskId)) return bad(`task id ${quoteInput(taskId)} is not valid (letters, digits, ., _ and - only; not . or ..)`)
  return {ok: true, project, taskId}
}

/**
 * Parses one `depends_on` entry fully: syntax first, then the project must be known. Pure: a
 * malformed entry is refused before anything is looked up on disk.
 */
export function parseDependency(
  entry: string,
  currentProject: string,
  knownProjects: ReadonlySet<string>,
): {ok: true; project: string; taskId: string} | {ok: false; reason: string} {
  const parsed = parseDependencySyntax(entry, currentProject)
  if (!parsed.ok) return parsed
  if (!knownProjects.has(parsed.project)) {
    const known = [...knownProjects].sort()
    const shown = known.length > 5 ? `${known.slice(0, 5).join(', ')}, ...` : known.join(', ')
    return {ok: false, reason: `depends_on entry ${quoteInput(entry)}: unknown project ${quoteInput(parsed.project)} (known: ${shown || 'none'}); e.g. ${EXAMPLES.depends_on}`}
  }

  return parsed
}

/** Metadata of the file the bytes came from. */
export interface TaskFileMeta {
  path: string
  mtimeMs: number
  ctimeMs: number
  size: number
  ino: number
}

/**
 * Everything about a task file that needs no filesystem: encoding, NUL bytes, frontmatter, schema,
 * the prompt. The `cwd` is checked lexically here; readTaskFile adds the realpath check.
 */
export async function parseTaskBytes(bytes: Uint8Array, meta: TaskFileMeta, project: TaskProject): Promise<TaskFileResult> {
  const named = taskIdFromName(basename(meta.path))
  if (!named.ok) return named
  if (bytes.length > MAX_TASK_BYTES) return {ok: false, reason: tooLarge(bytes.length)}
  if (bytes.includes(0)) return {ok: false, reason: 'contains a NUL byte (a binary file?); a task file is UTF-8 Markdown text, e.g. "Fix the failing test in src/app.ts"'}
  let text: string
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    return {ok: false, reason: 'is not valid UTF-8 text (a binary file?); save it as UTF-8 Markdown, e.g. "Fix the failing test in src/app.ts"'}
  }

  const split = splitFrontmatter(text)
  if (!split.ok) return split
  let fields: TaskFields = {dependsOn: [], priority: 0, retries: 0}
  if (split.value.frontmatter !== undefined) {
    const valid = await readFrontmatter(split.value.frontmatter)
    if (!valid.ok) return valid
    fields = valid.value
  }

  const {body} = split.value
  if (body.trim() === '') return {ok: false, reason: 'the prompt is empty: write the task below the frontmatter, e.g. "Fix the failing test in src/app.ts"'}
  const promptBytes = Buffer.byteLength(body.replace(/\n+$/, ''))
  if (promptBytes > MAX_PROMPT_BYTES) {
    return {ok: false, reason: `the prompt is ${Math.ceil(promptBytes / 1024)} KiB, over the 128 KiB Claude Code can be launched with (one command-line argument); put large context in a file of the project and name it in the prompt, e.g. "Read docs/spec.md, then ..."`}
  }

  return {ok: true, task: {...taskFromFields(fields, named.value, meta, project), body}}
}

/** A task without its prompt: what judging needs, from validated fields (the verdict cache keeps only these). */
export type JudgedTask = Omit<Task, 'body'>

/** The task `fields` describe, for file `id` of `project` as `meta` saw it; the prompt is not part of it. */
export function taskFromFields(fields: TaskFields, id: string, meta: TaskFileMeta, project: TaskProject): JudgedTask {
  const dependsOn: DependencyRef[] = fields.dependsOn.map((raw) => {
    const parsed = parseDependencySyntax(raw, project.name)
    return parsed.ok ? {ok: true, project: parsed.project, raw, taskId: parsed.taskId} : {ok: false, raw, reason: parsed.reason}
  })
  return {
    ctimeMs: meta.ctimeMs,
    cwd: fields.cwd === undefined ? resolvedRoot(project.path) : resolve(project.path, fields.cwd),
    dependsOn,
    id,
    ino: meta.ino,
    mtimeMs: meta.mtimeMs,
    path: meta.path,
    priority: fields.priority,
    project: project.name,
    retries: fields.retries,
    size: meta.size,
    ...(fields.timeoutMs === undefined ? {} : {timeoutMs: fields.timeoutMs}),
  }
}

let lastRoot: [string, string] = ['', '']

/** resolve(projectPath), remembered for the last project: a pass asks for it once per task. */
function resolvedRoot(projectPath: string): string {
  if (lastRoot[0] !== projectPath) lastRoot = [projectPath, resolve(projectPath)]
  return lastRoot[1]
}

/** The fields a judged task was built from (taskFromFields gives the same task back). */
export function fieldsOfTask(task: JudgedTask, projectPath: string): TaskFields {
  const cwd = relative(resolvedRoot(projectPath), task.cwd)
  return {
    dependsOn: task.dependsOn.map((d) => d.raw),
    priority: task.priority,
    retries: task.retries,
    ...(cwd === '' ? {} : {cwd}),
    ...(task.timeoutMs === undefined ? {} : {timeoutMs: task.timeoutMs}),
  }
}

function tooLarge(size: number): string {
  return `is ${(size / MAX_TASK_BYTES).toFixed(1)} MiB, over the 1 MiB limit for a task file; put large context in a file of the project and name it in the prompt, e.g. "Read docs/spec.md, then ..."`
}

// ---------------------------------------------------------------------------------------------
// The filesystem edge

/** What reading a task file's bytes came to. */
export type TaskBytes =
  | {kind: 'read'; bytes: Uint8Array; stat: Stats}
  | {kind: 'refused'; reason: string; stat?: Stats}
  | {kind: 'unsettled'; stat: Stats}
  | {kind: 'gone'}

export const SYMLINK_REASON = 'is a symbolic link; task files are never followed (a link could point at a secret outside the project): replace it with a regular file holding the task'

/**
 * Opens a task file without following a symlink or blocking on a FIFO, checks it is a regular
 * file of at most 1 MiB, and reads it once. `settled(stat)` may decline the read (a file still
 * being written). A file that changes size while being read is reported unsettled.
 *
 * The syscalls are synchronous on purpose: a scan makes four per file, and fs/promises costs a
 * thread-pool round trip and a FileHandle per call (3-4x slower on 10,000 files). Each call is a
 * local open/fstat/read of at most 1 MiB, so the event loop is held for well under a millisecond.
 */
export async function readTaskBytes(path: string, settled: (stat: Stats) => boolean = () => true): Promise<TaskBytes> {
  return readTaskBytesSync(path, settled)
}

function readTaskBytesSync(path: string, settled: (stat: Stats) => boolean): TaskBytes {
  // O_NOFOLLOW closes the window between a caller's lstat and this open, in which the file could
  // be swapped for a symlink to a secret; O_NONBLOCK keeps a FIFO named x.md from hanging the pass.
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return {kind: 'gone'}
    if (code === 'ELOOP' || code === 'EMLINK') return {kind: 'refused', reason: SYMLINK_REASON}
    return {kind: 'refused', reason: `cannot be opened (${code ?? 'error'}); make it a readable regular file, e.g. chmod 600 ${quoteInput(basename(path))}`}
  }

  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return {kind: 'refused', reason: 'is not a regular file; a task is one Markdown file, e.g. inbox/build-base.md', stat}
    if (stat.size > MAX_TASK_BYTES) return {kind: 'refused', reason: tooLarge(stat.size), stat}
    if (!settled(stat)) return {kind: 'unsettled', stat}
    // One extra byte tells a file that grew since the fstat from one that did not.
    const buffer = Buffer.allocUnsafe(stat.size + 1)
    let total = 0
    while (total < stat.size) {
      const bytesRead = readSync(fd, buffer, total, buffer.length - total, total)
      if (bytesRead === 0) break
      total += bytesRead
    }

    if (total !== stat.size) return {kind: 'unsettled', stat}
    return {bytes: buffer.subarray(0, total), kind: 'read', stat}
  } catch (error) {
    return {kind: 'refused', reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); make it a readable regular file`}
  } finally {
    closeSync(fd)
  }
}

/**
 * Checks that `cwd` stays inside the project after symlinks are resolved: the deepest existing
 * ancestor is realpath'd and the rest appended, so `link/new-folder` with `link -> /etc` is refused
 * even before `new-folder` exists. The launcher should check again (a link can change later).
 */
export function checkCwdInside(cwd: string, projectPath: string): Outcome<string> {
  const root = resolve(projectPath)
  if (!isInside(root, cwd)) return {ok: false, reason: cwdOutside(relative(root, cwd))}
  let realRoot: string
  try {
    realRoot = realpathSync.native(root)
  } catch {
    // No project folder yet: the lexical check above is all there is to check.
    return {ok: true, value: cwd}
  }

  let existing = cwd
  let rest = ''
  for (;;) {
    try {
      const real = realpathSync.native(existing)
      const full = rest === '' ? real : resolve(real, rest)
      if (!isInside(realRoot, full)) return {ok: false, reason: cwdOutside(relative(root, cwd), full)}
      return {ok: true, value: cwd}
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || existing === root) {
        // A link loop or an unreadable folder: fail closed rather than guess where it leads.
        return {ok: false, reason: `cwd: cannot be resolved inside the project (${code ?? 'error'} at ${quoteInput(relative(root, existing) || '.')}); e.g. ${EXAMPLES.cwd}`}
      }

      rest = rest === '' ? basename(existing) : `${basename(existing)}${sep}${rest}`
      existing = resolve(existing, '..')
    }
  }
}

function cwdOutside(given: string, real?: string): string {
  return `cwd: must stay inside the project (got ${quoteInput(given)}${real ? `, which resolves to ${quoteInput(real, 60)}` : ''}); e.g. ${EXAMPLES.cwd}`
}

/**
 * Completes a parsed task with the filesystem checks parsing cannot do (cwd after realpath).
 * Synchronous (a few local realpath calls): the scan runs it for every task of every pass.
 */
export function finishTask<T extends JudgedTask>(result: {ok: true; task: T} | {ok: false; reason: string}, projectPath: string): {ok: true; task: T} | {ok: false; reason: string} {
  if (!result.ok || result.task.cwd === resolvedRoot(projectPath)) return result
  const inside = checkCwdInside(result.task.cwd, projectPath)
  return inside.ok ? result : inside
}

/** Reads and validates one task file; every refusal is a one-line reason with a valid example. */
export async function readTaskFile(path: string, project: TaskProject): Promise<TaskFileResult> {
  const named = taskIdFromName(basename(path))
  if (!named.ok) return named
  const read = await readTaskBytes(path)
  if (read.kind === 'gone') return {ok: false, reason: 'no longer exists (claimed or removed meanwhile)'}
  if (read.kind === 'refused') return {ok: false, reason: read.reason}
  if (read.kind === 'unsettled') return {ok: false, reason: 'changed while being read (still being written?); it is read again on the next pass'}
  const {stat} = read
  const parsed = await parseTaskBytes(read.bytes, {ctimeMs: stat.ctimeMs, ino: stat.ino, mtimeMs: stat.mtimeMs, path, size: stat.size}, project)
  return finishTask(parsed, project.path)
}
