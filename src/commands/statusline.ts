import definition from '../cli/statusline.js'
import {oclifCommand} from '../lib/oclif-command.js'

export default oclifCommand(definition)
