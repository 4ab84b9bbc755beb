import definition from '../cli/validate-symlinks.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
