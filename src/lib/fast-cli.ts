// The fast front end: argv → flags with node:util's parseArgs, for the definitions of
// src/lib/command.ts. Its parsing rules match oclif's for the flag kinds used here (booleans,
// strings, integers with bounds, repeatable strings, positional arguments); a test holds the two
// front ends to the same results.
import {parseArgs} from 'node:util'

import {type CommandDef, executeCommand, type FlagDef, GLOBAL_FLAGS, reportFailure} from './command.js'
import {fail} from './errors.js'
import {editDistance} from './text.js'

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options']

/** Parses argv for a definition; usage errors are FailoverErrors of kind 'usage' (exit 2). */
export function parseCommandArgv(def: CommandDef, argv: string[]): {flags: Record<string, unknown>; args: Record<string, string | undefined>} {
  const all: Record<string, FlagDef> = {...GLOBAL_FLAGS, ...def.flags}
  const options: ParseOptions = {}
  for (const [name, f] of Object.entries(all)) {
    options[name] = {multiple: f.multiple === true, type: f.kind === 'boolean' ? 'boolean' : 'string', ...(f.char ? {short: f.char} : {})}
  }

  // `--priority -5`: node's parser takes `-5` for an option; join a negative number to its flag.
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string
    const name = token.startsWith('--') ? token.slice(2) : undefined
    const next = argv[i + 1]
    if (name && all[name]?.kind === 'integer' && next !== undefined && /^-\d+$/.test(next)) {
      args.push(`${token}=${next}`)
      i++
    } else {
      args.push(token)
    }
  }

  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({allowPositionals: true, args, options, strict: true})
  } catch (error) {
    const message = (error as Error).message
    const unknown = /Unknown option '([^']+)'/.exec(message)
    if (unknown) throw fail('usage', `Nonexistent flag: ${unknown[1]} (see: claude-failover ${def.id.replaceAll(':', ' ')} --help)`)
    throw fail('usage', `${message.split('.')[0]} (see: claude-failover ${def.id.replaceAll(':', ' ')} --help)`)
  }

  const flags: Record<string, unknown> = {}
  for (const [name, f] of Object.entries(all)) {
    const value = parsed.values[name]
    if (f.kind === 'boolean') {
      flags[name] = value === true
    } else if (f.kind === 'integer') {
      flags[name] = value === undefined ? f.default : parseInteger(name, String(value), f)
    } else {
      if (f.options && typeof value === 'string' && !f.options.includes(value)) {
        throw fail('usage', `Expected --${name}=${value} to be one of: ${f.options.join(', ')}`)
      }

      flags[name] = value ?? (f.multiple ? undefined : f.default)
    }
  }

  const specs = def.args ?? []
  if (parsed.positionals.length > specs.length) {
    throw fail('usage', `Unexpected argument: ${parsed.positionals[specs.length]} (see: claude-failover ${def.id.replaceAll(':', ' ')} --help)`)
  }

  const positional: Record<string, string | undefined> = {}
  for (const [i, spec] of specs.entries()) {
    positional[spec.name] = parsed.positionals[i]
    if (spec.required && positional[spec.name] === undefined) throw fail('usage', `Missing required argument ${spec.name}`)
  }

  return {args: positional, flags}
}

function parseInteger(name: string, text: string, f: FlagDef): number {
  const bounds = f.min !== undefined && f.max !== undefined ? ` between ${f.min} and ${f.max}` : f.min !== undefined ? ` ≥ ${f.min}` : ''
  const example = `e.g. --${name} ${f.default ?? f.min ?? 1}`
  if (!/^-?\d+$/.test(text)) throw fail('usage', `Expected an integer${bounds} for --${name}, got ${JSON.stringify(text)} (${example})`)
  const value = Number(text)
  if ((f.min !== undefined && value < f.min) || (f.max !== undefined && value > f.max)) {
    throw fail('usage', `Expected an integer${bounds} for --${name}, got ${value} (${example})`)
  }

  return value
}

/** Runs one definition from argv, reporting failures; used by bin/run.js through dist/cli.cjs. */
export async function runFast(def: CommandDef, argv: string[]): Promise<void> {
  const json = argv.includes('--json') && !argv.slice(0, argv.indexOf('--json')).includes('--')
  try {
    await executeCommand(def, parseCommandArgv(def, argv))
  } catch (error) {
    reportFailure(error, json)
  }
}

/**
 * A command line naming no command: one usage error in the tool's own style (exit 2), with the
 * nearest command when one is close (`statsu` → `status`). Returns false for a bare topic
 * (`quota`, `task`), which oclif lists.
 */
export function reportUnknownCommand(argv: string[], ids: readonly string[]): boolean {
  const words = argv.slice(0, 2).filter((a) => !a.startsWith('-'))
  if (words.length === 0) return false
  const topics = new Set(ids.filter((id) => id.includes(':')).map((id) => id.split(':')[0] as string))
  if (words.length === 1 && topics.has(words[0] as string)) return false
  const visible = ids.filter((id) => !/^[a-z]+-[a-z]+$/.test(id) || !ids.includes(id.replace('-', ':'))).map((id) => id.replaceAll(':', ' '))
  const typed = topics.has(words[0] as string) ? words.join(' ') : (words[0] as string)
  const [nearest] = visible.map((id) => ({d: editDistance(typed, id), id})).sort((a, b) => a.d - b.d)
  const hint = nearest && nearest.d <= Math.max(2, Math.floor(typed.length / 3)) ? ` (did you mean "${nearest.id}"?)` : ''
  const example = nearest && hint ? nearest.id : 'status'
  reportFailure(fail('usage', `unknown command "${typed}"${hint}; commands: ${[...new Set(visible)].sort().join(', ')}; e.g. claude-failover ${example} (see: claude-failover --help)`), argv.includes('--json'))
  return true
}
