import {type Command, Help} from '@oclif/core'

import {GLOBAL_FLAGS} from './lib/command.js'
import {EXIT_CODE_HELP} from './lib/errors.js'

const section = () => `EXIT CODES\n${EXIT_CODE_HELP.split('\n').map((line) => `  ${line}`).join('\n')}`

/** The flags every command takes, for the top-level page (each command's page lists its own). */
const globalFlags = () =>
  `GLOBAL FLAGS (every command)\n${[
    ['--config=PATH', GLOBAL_FLAGS.config.description],
    ['--json', GLOBAL_FLAGS.json.description],
  ]
    .map(([name, text]) => `  ${(name as string).padEnd(15)}${text}`)
    .join('\n')}`

/** oclif's help with the exit-code table appended to every page. */
export default class FailoverHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${section()}`
  }

  override formatRoot(): string {
    return `${super.formatRoot()}\n\n${globalFlags()}\n\n${section()}`
  }
}
