// A user-land startup snapshot of dist/cli.cjs (Node 20's `--build-snapshot`), measured by the
// cold-start bench as a lever against the shipped code cache; not shipped (see VERSION.md, issue 18).
//   CF_BUNDLE=dist/cli.cjs node --snapshot-blob cf.blob --build-snapshot bench/snapshot/entry.cjs
//   node --snapshot-blob cf.blob tick --config …
// With CF_BUNDLE unset it snapshots nothing: the floor of any start from a user-land snapshot.
'use strict'
const {readFileSync} = require('node:fs')
const {dirname} = require('node:path')
const v8 = require('node:v8')

const bundle = process.env.CF_BUNDLE
const mod = {exports: {}}
// The builder's require serves built-ins only, which is all the bundle asks for while the snapshot
// is built; a run from the snapshot may also ask for dist/vendor/*.cjs (a config not seen before).
let load = require
if (bundle) {
  // eslint-disable-next-line no-new-func
  new Function('exports', 'require', 'module', '__filename', '__dirname', readFileSync(bundle, 'latin1')).call(mod.exports, mod.exports, (id) => load(id), mod, bundle, dirname(bundle))
  // The bundle initialises a command's modules when it is first loaded: load the tick's now, so
  // they are in the snapshot.
  mod.exports.commands.tick()
}

v8.startupSnapshot.setDeserializeMainFunction(async () => {
  if (bundle) load = require('node:module').createRequire(bundle)
  const {commands, runFast} = mod.exports
  if (!commands) return
  const argv = process.argv.slice(process.argv[1]?.endsWith('run.js') ? 2 : 1)
  for (let n = Math.min(3, argv.length); n > 0; n--) {
    const id = argv.slice(0, n).join(':')
    if (commands[id]) return runFast(await commands[id](), argv.slice(n))
  }

  process.stderr.write(`snapshot: no command in ${argv.join(' ')}\n`)
  process.exitCode = 64
})
