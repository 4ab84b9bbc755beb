import definition from '../cli/dispatch.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
