import definition from '../../cli/quota/check.js'
import {oclifCommand} from '../../lib/oclif-command.js'

export default oclifCommand(definition)
