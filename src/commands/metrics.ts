import definition from '../cli/metrics.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
