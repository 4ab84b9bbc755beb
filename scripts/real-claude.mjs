#!/usr/bin/env node
// The real Claude Code binary for the tests, pinned, installed on first use into a cache folder
// outside the project's dependencies (users of the tool never download its 356 MB):
// `${CLAUDE_FAILOVER_REAL_CLAUDE_DIR:-${XDG_CACHE_HOME:-~/.cache}/claude-failover/real-claude}/<version>/`.
// Prints the binary's path. `CLAUDE_CODE_VERSION=x.y.z` verifies another version (README).
//
// Two test runs may install at once (CI, a developer's second checkout): each installs into its own
// temporary folder and renames it into place; the loser of the rename throws its copy away.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The Claude Code version the real-binary suite is verified against. */
export const PINNED_CLAUDE_CODE = '2.1.328'

/** The folder holding installed versions. */
export function realClaudeRoot(env = process.env) {
  if (env.CLAUDE_FAILOVER_REAL_CLAUDE_DIR) return env.CLAUDE_FAILOVER_REAL_CLAUDE_DIR
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'claude-failover', 'real-claude')
}

/** The native binary inside an install folder, or null. The platform package ships it ready to run. */
function binaryIn(prefix) {
  const scope = join(prefix, 'node_modules', '@anthropic-ai')
  if (!existsSync(scope)) return null
  for (const name of readdirSync(scope)) {
    if (!name.startsWith('claude-code-')) continue
    const candidate = join(scope, name, 'claude')
    if (existsSync(candidate) && statSync(candidate).mode & 0o111) return candidate
  }

  return null
}

function versionOf(binary) {
  return execFileSync(binary, ['--version'], {encoding: 'utf8', env: {...process.env, DISABLE_AUTOUPDATER: '1'}, timeout: 30_000}).trim()
}

/** Installs `version` when missing and returns the path of its binary; throws with the reason. */
export function ensureRealClaude(version = process.env.CLAUDE_CODE_VERSION || PINNED_CLAUDE_CODE, env = process.env) {
  const root = realClaudeRoot(env)
  const target = join(root, version)
  let binary = binaryIn(target)
  if (binary) return binary
  mkdirSync(root, {mode: 0o700, recursive: true})
  const temporary = join(root, `.install-${version}-${process.pid}-${Date.now()}`)
  mkdirSync(temporary)
  try {
    execFileSync('npm', ['install', '--prefix', temporary, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `@anthropic-ai/claude-code@${version}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    })
    const installed = binaryIn(temporary)
    if (!installed) throw new Error(`npm installed @anthropic-ai/claude-code@${version} but no native binary for ${process.platform}-${process.arch} came with it`)
    const said = versionOf(installed)
    if (!said.startsWith(version)) throw new Error(`the installed binary says "${said}", expected ${version}`)
    try {
      renameSync(temporary, target)
    } catch (error) {
      if (!binaryIn(target)) throw error
    }
  } catch (error) {
    const detail = error.stderr ? String(error.stderr).trim().split('\n').slice(-3).join(' ') : error.message
    throw new Error(`cannot install the real Claude Code ${version} into ${root}: ${detail}`)
  } finally {
    rmSync(temporary, {force: true, recursive: true})
  }

  binary = binaryIn(target)
  if (!binary) throw new Error(`the real Claude Code ${version} is not in ${target} after installing it`)
  return binary
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    console.log(ensureRealClaude(process.argv[2]))
  } catch (error) {
    console.error(`real-claude: ${error.message}`)
    process.exit(1)
  }
}
