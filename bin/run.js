#!/usr/bin/env node
// The CLI entry. A direct command run (`dispatch`, `quota check`, `status --json` …) loads the one
// bundled file dist/cli.cjs with V8's cached compiled code: a timer fires these every 15-30 s, and
// this is most of their cost. Help, version, unknown commands, and CLAUDE_FAILOVER_NO_BUNDLE=1 go
// through oclif's ordinary loader.
import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import Module, {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const bundle = join(root, 'dist', 'cli.cjs')
const helpLike = argv.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-v' || a === 'help')

async function slow() {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}

function loadBundle() {
  const cacheFile = `${bundle}.cache`
  let cachedData
  try {
    cachedData = readFileSync(cacheFile)
  } catch {}

  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {
    cachedData,
    filename: bundle,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const module = {exports: {}}
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle))
  const stale = cachedData === undefined || script.cachedDataRejected
  const saveCache = (force = false) => {
    if (!stale && !force) return
    try {
      // After the run, so the functions it compiled are in the cache; temp + rename: never torn.
      const temp = `${cacheFile}.${process.pid}`
      writeFileSync(temp, script.createCachedData())
      renameSync(temp, cacheFile)
    } catch {}
  }

  return {exports: module.exports, saveCache}
}

function findCommand(commands, args = argv) {
  for (let n = Math.min(3, args.length); n > 0; n--) {
    const id = args.slice(0, n).join(':')
    if (commands[id] && args.slice(0, n).every((part) => !part.startsWith('-'))) return {Command: commands[id], rest: args.slice(n)}
  }
}

if (argv[0] === 'hook' && argv.length === 1) {
  // Claude Code waits for its hooks: load only the handler (node built-ins), never the bundle.
  try {
    const {handleHook} = await import('../dist/lib/hook.js')
    await handleHook(process.stdin, process.env)
  } catch {}
  process.exit(0)
} else if (process.env.CLAUDE_FAILOVER_WARMUP) {
  // Build step only: run several commands in one process, then save one code cache holding the
  // functions all of them compiled (a cache saved after one command would miss the others').
  const {exports, saveCache} = loadBundle()
  for (const args of JSON.parse(process.env.CLAUDE_FAILOVER_WARMUP)) {
    const found = findCommand(exports.commands, args)
    if (found) await exports.runFast(found.Command, found.rest)
  }

  process.exitCode = 0
  saveCache(true)
} else if (helpLike || process.env.CLAUDE_FAILOVER_NO_BUNDLE || !existsSync(bundle)) {
  await slow()
} else {
  const {exports, saveCache} = loadBundle()
  const found = findCommand(exports.commands)
  if (found) {
    await exports.runFast(found.Command, found.rest)
    saveCache()
  } else {
    await slow()
  }
}
