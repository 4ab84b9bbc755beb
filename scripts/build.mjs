#!/usr/bin/env node
// Build: compile with tsc, then write oclif.manifest.json so that oclif never has to import
// every command module to learn their flags (the manifest is what keeps cold start cheap).
// The manifest is generated, never committed: a stale one would hide new commands.
import {execFileSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
rmSync(join(root, 'dist'), {force: true, recursive: true})
rmSync(join(root, 'oclif.manifest.json'), {force: true})
const tsc = require.resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {cwd: root, stdio: 'inherit'})

const {Plugin} = await import('@oclif/core/config')
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, isRoot: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n')
process.stderr.write(`build: ${Object.keys(plugin.manifest.commands).length} commands in oclif.manifest.json\n`)
