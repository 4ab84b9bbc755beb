#!/usr/bin/env node
// The CLI entry. CommonJS on purpose (bin/package.json): an ES-module entry costs every run ~4 ms
// of CPU in the ESM loader, and the systemd timer fires `tick` every 30 s.
// A direct command run (`dispatch`, `quota check`, `status --json` …) loads the one bundled file
// dist/cli.cjs with V8's cached compiled code: this is most of a run's cost. Help, version, unknown
// commands, and CLAUDE_FAILOVER_NO_BUNDLE=1 go through oclif's ordinary loader.
'use strict'
const {accessSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, renameSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {dirname, join} = require('node:path')
const vm = require('node:vm')

const root = join(__dirname, '..')
const argv = process.argv.slice(2)
const bundle = join(root, 'dist', 'cli.cjs')
const helpLike = argv.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-v' || a === 'help')

async function slow() {
  const {execute} = await import('@oclif/core')
  await execute({dir: root})
}

// V8 checks a code cache against the source's length only, so a rebuilt bundle of the same length
// would run the old compiled code: the cache starts with a header naming the bundle's size and
// modification time, and is used only when both match.
const HEADER = 64

function loadBundle() {
  const cacheFile = `${bundle}.cache`
  // Size, time and text from one open file: a rebuild renaming a new bundle in between cannot pair
  // the old text with the new key.
  const fd = openSync(bundle, 'r')
  let source, key
  try {
    const {mtimeMs, size} = fstatSync(fd)
    source = readFileSync(fd, 'latin1')
    key = Buffer.from(`${size} ${mtimeMs}`.padEnd(HEADER))
  } finally {
    closeSync(fd)
  }

  let cachedData
  try {
    const file = readFileSync(cacheFile)
    if (file.length > HEADER && file.subarray(0, HEADER).equals(key)) cachedData = file.subarray(HEADER)
  } catch {}

  const script = new vm.Script(Module.wrap(source), {cachedData, filename: bundle})
  const module = {exports: {}}
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle))
  const stale = cachedData === undefined || script.cachedDataRejected
  const saveCache = (force = false) => {
    if (!stale && !force) return
    try {
      // A dist/ this user cannot write (an install owned by root): don't build a cache to drop.
      accessSync(dirname(cacheFile), constants.W_OK)
      // After the run, so the functions it compiled are in the cache; temp + rename: never torn.
      const temp = `${cacheFile}.${process.pid}`
      writeFileSync(temp, Buffer.concat([key, script.createCachedData()]))
      renameSync(temp, cacheFile)
    } catch {}
  }

  return {exports: module.exports, saveCache}
}

function findCommand(commands, args = argv) {
  for (let n = Math.min(3, args.length); n > 0; n--) {
    const id = args.slice(0, n).join(':')
    if (commands[id] && args.slice(0, n).every((part) => !part.startsWith('-'))) return {load: commands[id], rest: args.slice(n)}
  }
}

async function main() {
  if (argv[0] === 'hook' && argv.length === 1) {
    // Claude Code waits for its hooks: load only the handler (node built-ins), never the bundle.
    try {
      const {handleHook} = await import('../dist/lib/hook.js')
      await handleHook(process.stdin, process.env)
    } catch {}
    process.exit(0)
  } else if (argv[0] === 'statusline' && argv.length === 1) {
    // Claude Code runs it on every render: the same fast path as the hook (node built-ins only).
    let output = ''
    try {
      const {handleStatusLine} = await import('../dist/lib/usage/statusline.js')
      output = await handleStatusLine(process.stdin, process.env)
    } catch {}
    process.stdout.write(output, () => process.exit(0))
  } else if (process.env.CLAUDE_FAILOVER_WARMUP) {
    // Build step only: run several commands in one process, then save one code cache holding the
    // functions all of them compiled (a cache saved after one command would miss the others').
    const {exports, saveCache} = loadBundle()
    for (const args of JSON.parse(process.env.CLAUDE_FAILOVER_WARMUP)) {
      const found = findCommand(exports.commands, args)
      if (found) await exports.runFast(await found.load(), found.rest)
    }

    process.exitCode = 0
    saveCache(true)
  } else if (helpLike || process.env.CLAUDE_FAILOVER_NO_BUNDLE || !existsSync(bundle)) {
    await slow()
  } else {
    const {exports, saveCache} = loadBundle()
    const found = findCommand(exports.commands)
    if (found) {
      await exports.runFast(await found.load(), found.rest)
      saveCache()
    } else if (!exports.reportUnknownCommand(argv, Object.keys(exports.commands))) {
      await slow()
    }
  }
}

main()
