import definition from '../cli/status.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
