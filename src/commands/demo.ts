import definition from '../cli/demo.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
