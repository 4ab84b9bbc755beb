#!/usr/bin/env node
// The CLI entry. CommonJS on purpose (bin/package.json): an ES-module entry costs every run ~4 ms
// of CPU in the ESM loader, and the systemd timer fires `tick` all day.
// A direct command run (`dispatch`, `quota check`, `status --json` …) loads the bundled file
// dist/cli.cjs with V8's cached compiled code (and dist/vendor/*.cjs the same way, when a config or
// a task file is new): this is most of a run's cost. Help, version, unknown commands, and
// CLAUDE_FAILOVER_NO_BUNDLE=1 go through oclif's ordinary loader.
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

/** Every file loaded with its code cache, by path: the bundle, then the vendor bundles it asks for. */
const loaded = new Map()

/**
 * Runs a CommonJS file of dist/ (ASCII, so read as Latin-1: a plain copy of its bytes) from V8's
 * cached compiled code when the cache matches it. The bundle's `require('./vendor/….cjs')` (the YAML
 * parser, zod: needed only when a config or a task file is new) goes through here too, with a cache
 * of its own.
 */
function loadCached(file) {
  const known = loaded.get(file)
  if (known) return known.module.exports
  const cacheFile = `${file}.cache`
  // Size, time and text from one open file: a rebuild renaming a new bundle in between cannot pair
  // the old text with the new key.
  const fd = openSync(file, 'r')
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
    const cache = readFileSync(cacheFile)
    if (cache.length > HEADER && cache.subarray(0, HEADER).equals(key)) cachedData = cache.subarray(HEADER)
  } catch {}

  const script = new vm.Script(Module.wrap(source), {cachedData, filename: file})
  const module = {exports: {}}
  const entry = {cacheFile, key, module, script, stale: cachedData === undefined || script.cachedDataRejected}
  loaded.set(file, entry)
  const plain = Module.createRequire(file)
  const require = (id) => (id.startsWith('./vendor/') ? loadCached(join(dirname(file), id)) : plain(id))
  script.runInThisContext().call(module.exports, module.exports, require, module, file, dirname(file))
  return module.exports
}

/** Saves the cache of every file loaded whose cache was missing or stale (or all of them: `force`). */
function saveCaches(force = false) {
  for (const {cacheFile, key, script, stale} of loaded.values()) {
    if (!stale && !force) continue
    try {
      // A dist/ this user cannot write (an install owned by root): don't build a cache to drop.
      accessSync(dirname(cacheFile), constants.W_OK)
      // After the run, so the functions it compiled are in the cache; temp + rename: never torn.
      const temp = `${cacheFile}.${process.pid}`
      writeFileSync(temp, Buffer.concat([key, script.createCachedData()]))
      renameSync(temp, cacheFile)
    } catch {}
  }
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
    const exports = loadCached(bundle)
    for (const args of JSON.parse(process.env.CLAUDE_FAILOVER_WARMUP)) {
      const found = findCommand(exports.commands, args)
      if (found) await exports.runFast(await found.load(), found.rest)
    }

    process.exitCode = 0
    saveCaches(true)
  } else if (helpLike || process.env.CLAUDE_FAILOVER_NO_BUNDLE || !existsSync(bundle)) {
    await slow()
  } else {
    const exports = loadCached(bundle)
    const found = findCommand(exports.commands)
    if (found) {
      await exports.runFast(await found.load(), found.rest)
      saveCaches()
    } else if (!exports.reportUnknownCommand(argv, Object.keys(exports.commands))) {
      await slow()
    }
  }
}

main()
