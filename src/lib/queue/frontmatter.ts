// The full frontmatter path, loaded only for a task file the plain path in task-file.ts cannot
// settle (quotes, comments, nesting, anchors…) or finds wrong: YAML 1.2 core via `yaml` (no custom
// tags, unique keys, bounded aliases) and a strict zod schema whose issues become the one-line
// reasons a `.invalid` marker and `task list` show.
import {parseAllDocuments} from 'yaml'
import * as z from 'zod'

import {parseDuration} from '../duration.js'
import {editDistance} from '../text.js'
import {cwdProblem, EXAMPLES, FRONTMATTER_EXAMPLE, type Outcome, quoteInput, simpleFrontmatter, TASK_KEYS, type TaskFields} from './task-file.js'

/** Alias expansions allowed in frontmatter: enough for any honest file, refuses billion-laughs. */
export const MAX_YAML_ALIASES = 50
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Parses frontmatter as YAML 1.2 core: no custom tags (`!!js/function` is refused, not turned into
 * a string), unique keys, at most MAX_YAML_ALIASES alias expansions. Returns a plain mapping.
 */
export function parseFrontmatter(source: string, firstLine = 2): Outcome<Record<string, unknown>> {
  const simple = simpleFrontmatter(source)
  if (simple) return {ok: true, value: simple}
  // parseAllDocuments, not parseDocument: the latter silently drops a second document after `--- `.
  const docs = parseAllDocuments(source, {logLevel: 'silent', prettyErrors: true, schema: 'core', strict: true, uniqueKeys: true, version: '1.2'})
  if (!Array.isArray(docs)) return {ok: false, reason: `frontmatter is not valid YAML; e.g. ${FRONTMATTER_EXAMPLE}`}
  if (docs.length > 1) return {ok: false, reason: `frontmatter holds more than one YAML document (a line starting with "---" or "..."); write one mapping, e.g. ${FRONTMATTER_EXAMPLE}`}
  const doc = docs[0]
  if (!doc) return {ok: true, value: {}}
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) {
    const pos = problem.linePos?.[0]
    const where = pos ? `line ${pos.line + firstLine - 1}, column ${pos.col}: ` : ''
    const what = problem.code === 'TAG_RESOLVE_FAILED' ? 'uses a YAML tag that is not allowed' : 'is not valid YAML'
    return {ok: false, reason: `frontmatter ${what} (${where}${problem.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}); e.g. ${FRONTMATTER_EXAMPLE}`}
  }

  let data: unknown
  try {
    data = doc.toJS({maxAliasCount: MAX_YAML_ALIASES})
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const reason = /alias/i.test(message) ? `uses too many YAML aliases (more than ${MAX_YAML_ALIASES} expansions)` : `cannot be read (${message.split('\n')[0]})`
    return {ok: false, reason: `frontmatter ${reason}; write plain values, e.g. ${FRONTMATTER_EXAMPLE}`}
  }

  if (data === null || data === undefined) return {ok: true, value: {}}
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {ok: false, reason: `frontmatter must be a mapping of keys (got ${Array.isArray(data) ? 'a list' : quoteInput(data)}); e.g. ${EXAMPLES.priority}`}
  }

  return {ok: true, value: data as Record<string, unknown>}
}

const durationSchema = z.string({error: 'must be a duration with a unit'}).transform((value, ctx) => {
  const ms = parseDuration(value)
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({code: 'custom', message: 'must be a duration with a unit, longer than 0'})
    return z.NEVER
  }

  return ms
})

const cwdSchema = z.string({error: 'must be a folder path relative to the project root'}).check((ctx) => {
  const problem = cwdProblem(ctx.value)
  if (problem) ctx.issues.push({code: 'custom', input: ctx.value, message: problem})
})

const frontmatterSchema = z.strictObject({
  cwd: cwdSchema.optional(),
  depends_on: z
    .union([z.string(), z.array(z.string())], {error: 'must be a task id or a list of them'})
    .transform((value) => (typeof value === 'string' ? [value] : value))
    .optional(),
  priority: z.number({error: 'must be an integer'}).int('must be an integer').optional(),
  retries: z.number({error: 'must be an integer ≥ 0'}).int('must be an integer ≥ 0').min(0, 'must be an integer ≥ 0').optional(),
  timeout: durationSchema.optional(),
})

/** Validates parsed frontmatter strictly: known keys only, each of the right type. */
export function validateFrontmatter(data: Record<string, unknown>): Outcome<TaskFields> {
  for (const key of Object.getOwnPropertyNames(data)) {
    if (FORBIDDEN_KEYS.has(key)) return {ok: false, reason: `frontmatter key ${quoteInput(key)} is not allowed; allowed keys: ${TASK_KEYS.join(', ')}, e.g. ${EXAMPLES.priority}`}
  }

  const result = frontmatterSchema.safeParse(data)
  if (!result.success) {
    const issues = result.error.issues
    const reason = issues.slice(0, 3).map((issue) => describeIssue(issue, data)).join('; ')
    return {ok: false, reason: issues.length > 3 ? `${reason}; and ${issues.length - 3} more problems` : reason}
  }

  const {cwd, depends_on: dependsOn = [], priority = 0, retries = 0, timeout} = result.data
  return {ok: true, value: {dependsOn, priority, retries, ...(cwd === undefined ? {} : {cwd}), ...(timeout === undefined ? {} : {timeoutMs: timeout})}}
}

function describeIssue(issue: z.core.$ZodIssue, data: Record<string, unknown>): string {
  if (issue.code === 'unrecognized_keys') {
    // The first few only: a reason is one line, whatever the file holds.
    const shown = issue.keys
      .slice(0, 3)
      .map((key) => {
        const lower = key.toLowerCase()
        const hint = TASK_KEYS.find((known) => editDistance(lower, known) <= 2 || (lower.length >= 3 && known.startsWith(lower)))
        return `unknown frontmatter key ${quoteInput(key)}${hint ? ` (did you mean "${hint}"?)` : ''}; allowed keys: ${TASK_KEYS.join(', ')}, e.g. ${EXAMPLES[hint ?? 'priority']}`
      })
      .join('; ')
    return issue.keys.length > 3 ? `${shown}; and ${issue.keys.length - 3} more unknown keys` : shown
  }

  const key = String(issue.path[0] ?? '') as (typeof TASK_KEYS)[number]
  const where = issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('')
  const value = valueAt(data, issue.path)
  return `${where || 'frontmatter'}: ${issue.message} (got ${value === undefined ? 'nothing' : quoteInput(value)}); e.g. ${EXAMPLES[key] ?? EXAMPLES.priority}`
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[part]
  }

  return current
}

