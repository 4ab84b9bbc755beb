// Entry of the simulated `claude` (dist/sim/claude.js, launched by bin/claude-sim): runs it with this
// process's argv, streams and environment, then exits with its code.
import {runClaudeSim} from './cli.js'

const code = await runClaudeSim(process.argv.slice(2), {cwd: process.cwd(), env: process.env, stderr: process.stderr, stdin: process.stdin, stdout: process.stdout})
process.exitCode = code
// Nothing should outlive the session, but a stray handle must not keep the pane's process alive.
setTimeout(() => process.exit(code), 1000).unref()
