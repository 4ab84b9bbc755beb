import definition from '../cli/tick.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
