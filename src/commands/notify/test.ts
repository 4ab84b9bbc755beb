import definition from '../../cli/notify/test.js'
import {oclifCommand} from '../../lib/oclif-command.js'

export default oclifCommand(definition)
