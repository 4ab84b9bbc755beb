import definition from '../cli/homes.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
