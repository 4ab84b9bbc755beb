// The oclif front end of a command definition: oclif gets a class with the definition's flags,
// arguments, description and examples (for --help, topics and the manifest), and its run() hands
// the parsed values to the same executeCommand the fast path uses. catch() is overridden because
// oclif 4 ignores an error's exit code under --json (oclif/core#1423) and prints stack traces.
import {Args, Command, Flags} from '@oclif/core'

import {type CommandDef, executeCommand, type FlagDef, GLOBAL_FLAGS, reportFailure} from './command.js'

function toOclifFlag(f: FlagDef) {
  const common = {description: f.description, ...(f.char ? {char: f.char as 'a'} : {}), ...(f.helpValue ? {helpValue: f.helpValue} : {})}
  switch (f.kind) {
    case 'boolean': {
      return Flags.boolean(common)
    }

    case 'integer': {
      return Flags.integer({...common, ...(f.default === undefined ? {} : {default: f.default as number}), ...(f.min === undefined ? {} : {min: f.min}), ...(f.max === undefined ? {} : {max: f.max})})
    }

    case 'string': {
      return f.multiple
        ? Flags.string({...common, multiple: true})
        : Flags.string({...common, ...(f.options ? {options: [...f.options]} : {}), ...(f.required ? {required: true} : {})})
    }
  }
}

/** Builds the oclif command class for a definition. */
export function oclifCommand(def: CommandDef) {
  const flags = Object.fromEntries(Object.entries(def.flags).map(([name, f]) => [name, toOclifFlag(f)]))
  const args = Object.fromEntries((def.args ?? []).map((a) => [a.name, Args.string({description: a.description, required: a.required === true})]))

  return class extends Command {
    static override args = args
    static override baseFlags = {config: toOclifFlag(GLOBAL_FLAGS.config)}
    static override description = def.description ?? def.summary
    static override enableJsonFlag = true
    // oclif prints "$ " only before an example that starts with the binary; a pipeline starts elsewhere.
    static override examples = def.examples.map((e) => (e.startsWith('<%= config.bin %>') ? e : `$ ${e}`))
    static override flags = flags
    static override hiddenAliases = def.aliases ?? []
    static override summary = def.summary

    override async catch(error: Error): Promise<void> {
      reportFailure(error, this.jsonEnabled())
    }

    async run(): Promise<void> {
      const parsed = await this.parse()
      await executeCommand(def, {args: parsed.args as Record<string, string | undefined>, flags: {...parsed.flags, json: this.jsonEnabled()}})
    }
  }
}
