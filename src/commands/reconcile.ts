import definition from '../cli/reconcile.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
