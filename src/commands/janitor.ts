import definition from '../cli/janitor.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
