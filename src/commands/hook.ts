import definition from '../cli/hook.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
