#!/usr/bin/env node
// Build, in four steps:
//  1. tsc compiles src/ to dist/ (what oclif loads for --help, and what tests import);
//  2. oclif.manifest.json is written, so oclif never imports every command to learn its flags
//     (generated, never committed: a stale manifest hides new commands);
//  3. esbuild bundles every command into one CommonJS file, dist/cli.cjs, which bin/run.js loads
//     for a direct command run: one file instead of ~500 modules; the YAML parser and zod, which
//     only a new config or task file needs, go to dist/vendor/*.cjs;
//  4. a warm-up run leaves a `.cache` beside each, V8's compiled code, so a timer run does not
//     recompile the same code every time (Node 20 has no module compile cache).
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
// Compile into a fresh folder and swap it in with renames, so a CLI run (or a test) during a
// rebuild sees the old build or the new one, never a half-empty dist/.
const next = join(root, `dist.next-${process.pid}`)
const old = join(root, `dist.old-${process.pid}`)
rmSync(next, {force: true, recursive: true})
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', next], {cwd: root, stdio: 'inherit'})
if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), old)
renameSync(next, join(root, 'dist'))
rmSync(old, {force: true, recursive: true})

const {Plugin} = await import('@oclif/core/config')
const plugin = new Plugin({errorOnManifestCreate: true, ignoreManifest: true, isRoot: true, root, type: 'core'})
await plugin.load()
const {manifest} = plugin
writeFileSync(join(root, `oclif.manifest.json.${process.pid}`), JSON.stringify(manifest, null, 2) + '\n')
renameSync(join(root, `oclif.manifest.json.${process.pid}`), join(root, 'oclif.manifest.json'))

// The bundle's entry: every command definition (src/cli/…, no oclif) under its id and aliases.
const ids = Object.keys(manifest.commands).sort()
const lines = ["export {reportUnknownCommand, runFast} from './src/lib/fast-cli.ts'"]
const table = []
for (const [i, id] of ids.entries()) {
  const source = join(root, 'src', 'cli', ...id.split(':')) + '.ts'
  if (!existsSync(source)) {
    process.stderr.write(`build: ${id} has no definition in src/cli; it runs through oclif only\n`)
    continue
  }

  // A loader per command, not its module: esbuild then wraps every module in a lazy initialiser,
  // so a run evaluates only the modules its command reaches (not zod, yaml or the other commands).
  lines.push(`const C${i} = () => import('./${relative(root, source).replaceAll('\\', '/')}').then((m) => m.default)`)
  const command = manifest.commands[id]
  for (const name of [id, ...(command.aliases ?? []), ...(command.hiddenAliases ?? [])]) table.push(`${JSON.stringify(name)}: C${i}`)
}

lines.push(`export const commands = {${table.join(', ')}}`)
const esbuild = await import('esbuild')
const common = {
  // proper-lockfile wraps node:fs in graceful-fs, whose set-up (cloning and patching fs, ~1 ms) every
  // locking timer run paid; its only gift, retrying on EMFILE, never matters for a lock's few calls.
  alias: {'graceful-fs': 'node:fs'},
  bundle: true,
  format: 'cjs',
  // Dynamic import() becomes require(): the bundle runs in vm.Script, which has no import() hook on Node 20.
  supported: {'dynamic-import': false},
  keepNames: false,
  minifySyntax: true,
  minifyWhitespace: true,
  logLevel: 'warning',
  platform: 'node',
  target: 'node20',
  write: false,
}

// The YAML parser and zod (two fifths of the code) run only when a config changed since the last
// run or a task file is new: they are bundles of their own, dist/vendor/*.cjs, which the main
// bundle requires when it first uses them. A timer run then reads, and V8 deserialises, only the
// code it runs.
const VENDORED = ['yaml', 'zod']

/**
 * What the code uses of a vendored package, by name: its named imports and the members read off a
 * namespace import (`import * as z from 'zod'` … `z.object`), read in tsc's output (dist/, step 1),
 * where types are gone (`z.core.$ZodIssue` would pull in all of zod's core). A vendor bundle
 * exports only these, so esbuild drops the rest of the package (zod's locales alone are 400 kB).
 */
async function usedExports(name) {
  const exported = new Set(Object.keys(await import(name)))
  const used = new Set()
  const files = readdirSync(join(root, 'dist'), {recursive: true}).filter((f) => f.endsWith('.js') && !f.startsWith('vendor'))
  for (const file of files) {
    const text = readFileSync(join(root, 'dist', file), 'utf8')
    for (const [, names] of text.matchAll(new RegExp(`import \\{([^}]*)\\} from '${name}'`, 'g'))) {
      for (const item of names.split(',')) used.add(item.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0])
    }

    for (const [, alias] of text.matchAll(new RegExp(`import \\* as (\\w+) from '${name}'`, 'g'))) {
      for (const [, member] of text.matchAll(new RegExp(`\\b${alias}\\.(\\w+)`, 'g'))) used.add(member)
    }
  }

  return [...used].filter((n) => exported.has(n)).sort()
}
const vendor = {
  name: 'vendor',
  setup(build) {
    build.onResolve({filter: new RegExp(`^(${VENDORED.join('|')})$`)}, (args) => ({external: true, path: `./vendor/${args.path}.cjs`}))
  },
}

const outputs = [
  await esbuild.build({
    ...common,
    // import.meta.url has no meaning in CommonJS: give it the bundle's own URL.
    banner: {js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;"},
    define: {'import.meta.url': 'importMetaUrl'},
    outfile: join(root, 'dist', 'cli.cjs'),
    plugins: [vendor],
    stdin: {contents: lines.join('\n'), loader: 'ts', resolveDir: root, sourcefile: 'cli-entry.ts'},
    // `BUILD_SOURCEMAP=1 npm run build`, for bench/profile.mjs: where a command's time goes, by source file.
    sourcemap: process.env.BUILD_SOURCEMAP ? 'external' : false,
  }),
  ...(await Promise.all(
    VENDORED.map(async (name) =>
      esbuild.build({...common, outfile: join(root, 'dist', 'vendor', `${name}.cjs`), stdin: {contents: `export {${(await usedExports(name)).join(', ')}} from '${name}'`, loader: 'js', resolveDir: root, sourcefile: `${name}-entry.js`}}),
    ),
  )),
]

// bin/run.js reads the bundle as Latin-1, a plain copy of its bytes: UTF-8 decoding made a two-byte
// string of it (a handful of non-ASCII characters, in regular expressions), ~4 ms more per run.
// esbuild leaves non-ASCII characters in regular expression literals; a \uXXXX escape means the
// same there as in strings and identifiers.
const ascii = (text) => text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
mkdirSync(join(root, 'dist', 'vendor'), {recursive: true})
for (const file of outputs.flatMap((o) => o.outputFiles)) {
  const text = file.path.endsWith('.map') ? file.text : ascii(file.text)
  writeFileSync(`${file.path}.${process.pid}`, text)
  renameSync(`${file.path}.${process.pid}`, file.path)
}

// Warm-up: the timer commands run once, as in production, with cache writing enabled: a throw-away
// config and project, and a tmux server holding one session outside the pool (when tmux is
// installed), so the code of the live paths is in the cache. The config cache is filled by a run
// before it, so the timer commands find it as a timer run does; one run first reads a config not
// seen before, so the vendor bundles (YAML, zod) get their caches too.
const sandbox = mkdtempSync(join(tmpdir(), 'cf-build-'))
const socket = join(sandbox, 'tmux.sock')
const tmux = (...args) => execFileSync('tmux', ['-f', '/dev/null', '-S', socket, ...args], {stdio: 'ignore', timeout: 5000})
try {
  const config = join(sandbox, 'config.yaml')
  mkdirSync(join(sandbox, 'project'))
  writeFileSync(config, `state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: a, home: ./a}]\nshared: {root: ./s}\nautonomous: {min: 0}\nprojects: [{name: p, path: ./project}]\n`)
  try {
    tmux('new-session', '-d', '-s', 'not-pool', '-x', '80', '-y', '24', 'sleep 600')
  } catch {
    process.stderr.write('build: no tmux here; the code cache covers the no-server paths only\n')
  }

  const env = {...process.env, XDG_CACHE_HOME: join(sandbox, 'cache')}
  const cli = join(root, 'bin', 'run.js')
  execFileSync(process.execPath, [cli, 'status', '--json', '--config', config], {env, stdio: 'ignore'})
  for (const file of ['cli.cjs.cache', 'vendor/yaml.cjs.cache', 'vendor/zod.cjs.cache']) rmSync(join(root, 'dist', file), {force: true})
  // Every command a timer fires, in one process, so the cache holds all their compiled code.
  const fresh = join(sandbox, 'fresh.yaml')
  copyFileSync(config, fresh)
  const runs = [
    ['status', '--json', '--config', fresh],
    ['status', '--json', '--config', config],
    ['dispatch', '--json', '--config', config],
    ['quota', 'check', '--json', '--config', config],
    ['reconcile', '--json', '--config', config],
    ['checkpoint', '--json', '--config', config],
    ['janitor', '--json', '--config', config],
    ['tick', '--config', config],
    ['tick', '--json', '--config', config],
  ]
  execFileSync(process.execPath, [cli], {env: {...env, CLAUDE_FAILOVER_WARMUP: JSON.stringify(runs)}, stdio: 'ignore'})
} finally {
  try {
    tmux('kill-server')
  } catch {}

  rmSync(sandbox, {force: true, recursive: true})
}

process.stderr.write(`build: ${ids.length} commands; dist/cli.cjs bundled, code cache written\n`)
