import definition from '../cli/swap.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
