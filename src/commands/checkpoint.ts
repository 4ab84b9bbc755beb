import definition from '../cli/checkpoint.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
