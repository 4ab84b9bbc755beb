import {type Command, Help} from '@oclif/core'

import {EXIT_CODE_HELP} from './lib/errors.js'

const section = () => `EXIT CODES\n${EXIT_CODE_HELP.split('\n').map((line) => `  ${line}`).join('\n')}`

/** oclif's help with the exit-code table appended to every page. */
export default class FailoverHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${section()}`
  }

  override formatRoot(): string {
    return `${super.formatRoot()}\n\n${section()}`
  }
}
