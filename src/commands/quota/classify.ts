import definition from '../../cli/quota/classify.js'
import {oclifCommand} from '../../lib/oclif-command.js'

export default oclifCommand(definition)
