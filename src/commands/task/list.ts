import definition from '../../cli/task/list.js'
import {oclifCommand} from '../../lib/oclif-command.js'

export default oclifCommand(definition)
