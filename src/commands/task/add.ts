import definition from '../../cli/task/add.js'
import {oclifCommand} from '../../lib/oclif-command.js'

export default oclifCommand(definition)
