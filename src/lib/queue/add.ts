// `task add` (SPEC §3): put one task into a project's inbox atomically, Maildir-style, so that no
// reader (a dispatch pass running right now) ever sees a partial file and an existing task is
// never overwritten. Takes no lock: creating a new name with link() needs none.
//
// Delivery, and the window each step closes:
//   1. the whole file is written to a dot-temp file in the inbox (skipped by every scan), its
//      mtime set back 1 ms, fsynced and closed: a crash leaves at worst a temp file the janitor
//      removes;
//   2. link(temp, inbox/<id>.md): the task appears whole, at once; EEXIST means the id is taken
//      (link never replaces, unlike rename);
//   3. the temp name is unlinked and the inbox fsynced: the delivery is durable before we say so.
import {randomBytes} from 'node:crypto'
import {constants, lstatSync, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {dirname, join, relative, resolve} from 'node:path'
import {stringify} from 'yaml'

import type {Config, Project} from '../config.js'

import {parseDuration} from '../duration.js'
import {fail, fsFailure} from '../errors.js'
import {fsyncDir, tempPathFor} from '../fs-atomic.js'
import {link, unlink} from '../fs.js'
import {checkDependencies, CYCLE_REASON_PREFIX} from './dependencies.js'
import {assertNotRefused, discoverProjects, ensureQueueDir, isTaskId, queueDir, QUEUE_STATES} from './layout.js'
import {finishTask, MAX_TASK_BYTES, parseDependency, parseDependencySyntax, parseTaskBytes, quoteInput, readFrontmatter, splitFrontmatter, type Task, type TaskFields} from './task-file.js'

const PROMPT_EXAMPLE = 'echo "Fix the failing test in src/app.ts" | claude-failover task add --project web'
/** Fresh ids tried when a generated one is already taken (two adds in the same second). */
const ID_ATTEMPTS = 5

export interface AddTaskOptions {
  project: string
  /** A chosen id; a readable unique one (`t-20261121-073015-3f2a`) when absent. */
  id?: string
  priority?: number
  dependsOn?: string[]
  /** A duration, e.g. `90m`. */
  timeout?: string
  /** Relative to the project root. */
  cwd?: string
  retries?: number
  /** The prompt's bytes exactly as given, or where to read them: a file, else (none or `-`) the stream. */
  prompt: Uint8Array | {file?: string; stdin: NodeJS.ReadableStream}
}

export interface AddTaskDeps {
  now: () => Date
  /** Random hex for generated ids (tests make it predictable). */
  randomHex?: () => string
}

export interface AddTaskResult {
  project: string
  task: string
  path: string
}

/** Reads a prompt from a file (`-` or none: the stream) as bytes, refusing more than 1 MiB without reading it all. */
export async function readPrompt(file: string | undefined, stdin: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let size = 0
  const take = (chunk: Buffer): boolean => {
    size += chunk.length
    if (size > MAX_TASK_BYTES) return false
    chunks.push(chunk)
    return true
  }

  if (file === undefined || file === '-') {
    for await (const chunk of stdin) {
      if (!take(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))) break
    }
  } else {
    let handle
    try {
      handle = await open(file, constants.O_RDONLY)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw fail('noInput', `cannot read the prompt file ${quoteInput(file, 80)} (${code ?? 'error'}); e.g. claude-failover task add --project web task.md`)
    }

    try {
      const buffer = Buffer.alloc(64 * 1024)
      for (;;) {
        const {bytesRead} = await handle.read(buffer, 0, buffer.length, null)
        if (bytesRead === 0 || !take(Buffer.from(buffer.subarray(0, bytesRead)))) break
      }
    } catch (error) {
      throw fail('noInput', `cannot read the prompt file ${quoteInput(file, 80)} (${(error as NodeJS.ErrnoException).code === 'EISDIR' ? 'a directory' : ((error as NodeJS.ErrnoException).code ?? 'error')}); e.g. claude-failover task add --project web task.md`)
    } finally {
      await handle.close()
    }
  }

  if (size > MAX_TASK_BYTES) {
    throw fail('invalidData', `the prompt is over the 1 MiB limit for a task; put large context in a file of the project and name it in the prompt, e.g. echo "Read docs/spec.md, then ..." | claude-failover task add --project web`)
  }

  return Buffer.concat(chunks)
}

/** A readable id, unique enough to never collide in practice: `t-YYYYMMDD-HHMMSS-xxxx` (UTC). */
export function generateTaskId(now: Date, hex: string): string {
  const iso = now.toISOString()
  return `t-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${hex}`
}

/** The file text for a prompt without frontmatter: the flags' keys as frontmatter (YAML via `yaml`), then the prompt unchanged. */
export function taskFileText(fields: Record<string, unknown>, prompt: string): string {
  return Object.keys(fields).length > 0 ? `---\n${stringify(fields)}---\n${prompt}` : prompt
}

/** Checks the options, and returns the frontmatter fields holding only those given. */
function frontmatterFields(options: AddTaskOptions, project: Project, known: ReadonlySet<string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  if (options.priority !== undefined) fields.priority = options.priority
  const dependsOn = (options.dependsOn ?? []).flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter((entry) => entry !== '')
  for (const entry of dependsOn) {
    const parsed = parseDependency(entry, project.name, known)
    if (!parsed.ok) throw fail('usage', `--depends-on: ${parsed.reason}`)
  }

  if (dependsOn.length > 0) fields.depends_on = [...new Set(dependsOn)]
  if (options.timeout !== undefined) {
    const ms = parseDuration(options.timeout)
    if (ms === undefined || ms <= 0) throw fail('usage', `--timeout ${quoteInput(options.timeout)} is not a duration; e.g. --timeout 90m (units: ms, s, m, h, d)`)
    fields.timeout = options.timeout.trim()
  }

  if (options.cwd !== undefined) fields.cwd = options.cwd
  if (options.retries !== undefined) {
    if (!Number.isInteger(options.retries) || options.retries < 0) throw fail('usage', `--retries must be an integer ≥ 0 (got ${options.retries}); e.g. --retries 1`)
    fields.retries = options.retries
  }

  return fields
}

const FLAG_OF: Record<string, string> = {cwd: '--cwd', depends_on: '--depends-on', priority: '--priority', retries: '--retries', timeout: '--timeout'}

/** True when a flag's value and the frontmatter's (already validated) value mean the same thing. */
function sameSetting(key: string, flagValue: unknown, fields: TaskFields, project: Project): boolean {
  switch (key) {
    case 'cwd': {
      return resolve(project.path, String(flagValue)) === resolve(project.path, fields.cwd ?? '.')
    }

    case 'depends_on': {
      const canonical = (entries: string[]) =>
        [...new Set(entries.map((entry) => {
          const parsed = parseDependencySyntax(entry, project.name)
          return parsed.ok ? `${parsed.project}:${parsed.taskId}` : entry
        }))].sort().join(',')
      return canonical(flagValue as string[]) === canonical(fields.dependsOn)
    }

    case 'timeout': {
      return parseDuration(String(flagValue)) === fields.timeoutMs
    }

    default: {
      return flagValue === fields[key as 'priority' | 'retries']
    }
  }
}

/**
 * The file text for a prompt that may carry its own frontmatter: that frontmatter is kept (checked
 * by the reader's rules), the flags' fields are added to it, and a key given both ways with
 * different values is refused naming both. Without added keys the prompt is stored byte for byte.
 */
export async function composeTask(prompt: string, flagFields: Record<string, unknown>, project: Project): Promise<{text: string; body: string}> {
  const split = splitFrontmatter(prompt)
  if (!split.ok) throw fail('invalidData', `the task would be refused: ${split.reason}`)
  const {body, frontmatter} = split.value
  if (frontmatter === undefined) return {body: prompt, text: taskFileText(flagFields, prompt)}
  const valid = await readFrontmatter(frontmatter)
  if (!valid.ok) throw fail('invalidData', `the task would be refused: ${valid.reason}`)
  const {parseFrontmatter} = await import('./frontmatter.js')
  const raw = parseFrontmatter(frontmatter)
  if (!raw.ok) throw fail('invalidData', `the task would be refused: ${raw.reason}`)
  const added: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(flagFields)) {
    if (!Object.hasOwn(raw.value, key)) {
      added[key] = value
      continue
    }

    if (!sameSetting(key, value, valid.value, project)) {
      const given = Array.isArray(value) ? value.join(',') : String(value)
      const own = raw.value[key]
      const inFile = `${key}: ${Array.isArray(own) ? `[${own.join(', ')}]` : String(own)}`
      throw fail('usage', `${FLAG_OF[key]} ${quoteInput(given)} disagrees with the file's frontmatter "${inFile}"; set it in one place, e.g. drop ${FLAG_OF[key]} or edit the frontmatter`)
    }
  }

  if (Object.keys(added).length === 0) return {body, text: prompt}
  return {body, text: `---\n${stringify({...raw.value, ...added})}---\n${body}`}
}

/** The prompt as text: UTF-8, no NUL byte, not blank. */
function promptText(bytes: Uint8Array): string {
  let prompt: string
  try {
    prompt = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    throw fail('invalidData', `the prompt is not valid UTF-8 text (a binary file?); give the task as UTF-8 text, e.g. ${PROMPT_EXAMPLE}`)
  }

  if (prompt.includes('\0')) throw fail('invalidData', `the prompt contains a NUL byte (a binary file?); give the task as UTF-8 text, e.g. ${PROMPT_EXAMPLE}`)
  if (prompt.trim() === '') throw fail('invalidData', `the prompt is empty; give the task in a file or on stdin, e.g. ${PROMPT_EXAMPLE}`)
  return prompt
}

/** True when `<id>.md` exists in any state folder of the project (inbox, dispatched, done, failed, archive). */
function idTaken(projectPath: string, id: string): string | undefined {
  for (const state of QUEUE_STATES) {
    try {
      if (lstatSync(join(queueDir(projectPath, state), `${id}.md`), {throwIfNoEntry: false})) return state
    } catch {
      // ENOTDIR, EACCES: not there as far as we can tell; link() still refuses a clash in inbox/.
    }
  }

  return undefined
}

/** Writes a new task into a project's inbox, validated by the reader's own rules, delivered atomically. */
export async function addTask(config: Config, options: AddTaskOptions, deps: AddTaskDeps): Promise<AddTaskResult> {
  const {projects, refused} = await discoverProjects(config)
  assertNotRefused(refused, options.project)
  const project = projects.find((p) => p.name === options.project)
  if (!project) {
    const names = projects.map((p) => p.name).sort()
    const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, ...` : names.join(', ')
    throw fail('usage', `unknown project ${quoteInput(options.project)} (known: ${shown || 'none; add one under "projects:" or "projects_dir:" in the config'}); e.g. claude-failover task add --project ${names[0] ?? 'web'} task.md`)
  }

  if (options.id !== undefined && (!isTaskId(options.id) || options.id.startsWith('.'))) {
    throw fail('usage', `--id ${quoteInput(options.id)} is not a valid task id (letters, digits, ., _ and -, not starting with "."); e.g. --id build-base`)
  }

  const fields = frontmatterFields(options, project, new Set(projects.map((p) => p.name)))
  // A configured project whose folder is missing is a typo in the config far more often than a
  // wish to create it: the queue folders are made inside an existing project folder only.
  if (!statSync(project.path, {throwIfNoEntry: false})?.isDirectory()) {
    throw fail('config', `project ${quoteInput(project.name)} has no folder at ${project.path}; create it or fix its path in ${config.file}, e.g. projects: [{name: ${project.name}, path: ~/src/${project.name}}]`)
  }

  // Read only once everything else checks out: a typo in a flag fails before a terminal waits for input.
  const prompt = promptText(options.prompt instanceof Uint8Array ? options.prompt : await readPrompt(options.prompt.file, options.prompt.stdin))
  const {body, text} = await composeTask(prompt, fields, project)
  const inbox = ensureQueueDir(project.path, 'inbox')
  const randomHex = deps.randomHex ?? (() => randomBytes(2).toString('hex'))
  for (let attempt = 1; ; attempt++) {
    const id = options.id ?? generateTaskId(deps.now(), randomHex())
    const taken = idTaken(project.path, id)
    if (taken) {
      if (options.id === undefined && attempt < ID_ATTEMPTS) continue
      throw fail('invalidData', `task ${quoteInput(id)} already exists in ${options.project}/${taken}/; choose another id, e.g. --id ${id}-2`)
    }

    const path = join(inbox, `${id}.md`)
    const task = await validate(text, body, path, project, fields.cwd !== undefined)
    await refuseCycle(task, id, projects)
    if (await deliver(path, text)) return {path, project: project.name, task: id}
    if (options.id !== undefined || attempt >= ID_ATTEMPTS) {
      throw fail('invalidData', `task ${quoteInput(id)} already exists in ${options.project}/inbox/ (added meanwhile); choose another id, e.g. --id ${id}-2`)
    }
  }
}

/** Refuses a task that would depend on itself, directly or through tasks waiting in inboxes: it could never run. */
async function refuseCycle(task: Task, id: string, projects: Project[]): Promise<void> {
  const gate = await checkDependencies(task, new Map(projects.map((p) => [p.name, {path: p.path}])), {id})
  if (gate.ready || !gate.cycle) return
  const shown = gate.cycle.map((ref) => (ref.startsWith(`${task.project}:`) ? ref.slice(task.project.length + 1) : ref))
  throw fail('invalidData', `task ${quoteInput(id)} could never run: it closes the ${CYCLE_REASON_PREFIX} ${shown.join(' -> ')}; leave out the dependency on ${quoteInput(shown[1])}, e.g. depends_on: [build-base] naming only tasks that do not wait for ${quoteInput(id)}`)
}

/** Runs the file through the reader: `task add` can never create a task that a pass would mark .invalid. */
async function validate(text: string, body: string, path: string, project: Project, cwdFlag: boolean): Promise<Task> {
  const bytes = Buffer.from(text, 'utf8')
  const parsed = finishTask(await parseTaskBytes(bytes, {ctimeMs: 0, ino: 0, mtimeMs: 0, path, size: bytes.length}, project), project.path)
  if (!parsed.ok) throw fail(cwdFlag && /^cwd/.test(parsed.reason) ? 'usage' : 'invalidData', `the task would be refused: ${parsed.reason}`)
  if (parsed.task.body !== body) throw fail('bug', `the task file for ${relative(project.path, path)} does not read back as the prompt given`)
  return parsed.task
}

/** Steps 1-3 above; false when `path` already exists. */
async function deliver(path: string, text: string): Promise<boolean> {
  const temp = tempPathFor(path)
  let created = false
  try {
    const handle = await open(temp, 'wx', 0o644)
    created = true
    try {
      await handle.writeFile(text)
      // A scan reads a file at once only when ctime > mtime (delivered by link/rename); otherwise
      // it waits 2 s for writes to stop. Kernel timestamps are coarse (one tick, ~4 ms): a link in
      // the same tick as the write leaves ctime == mtime (write+fsync+link back to back with sync
      // calls: 9 in 10 on ext4 here). Setting the mtime 1 ms back also sets ctime to now, so the
      // delivered file always reads as complete, whatever the timing.
      const {atime, mtimeMs} = await handle.stat()
      await handle.utimes(atime, new Date(mtimeMs - 1))
      await handle.sync()
    } finally {
      await handle.close()
    }

    try {
      await link(temp, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw error
    }

    await unlink(temp)
    created = false
    await fsyncDir(dirname(path))
    return true
  } catch (error) {
    throw fsFailure('add the task', path, error)
  } finally {
    if (created) await unlink(temp).catch(() => {})
  }
}
