// The startup guard of seed 003: in every account home, each shared dir must be a symlink that
// resolves to `shared.root/<dir>`, so that a conversation started under one account can be resumed
// under another. A missing link would let Claude Code create a private directory and silently fork
// the transcripts. No auto-heal of divergence: `--fix` only creates links where nothing exists.
import {dirname, join, resolve} from 'node:path'

import type {Config} from './config.js'

import {fsFailure} from './errors.js'
import {fsyncDir, pathExists, tempPathFor} from './fs-atomic.js'
import {lstat, mkdir, readlink, realpath, rename, symlink, unlink} from './fs.js'
import {withStateLock} from './lock.js'

export type LinkProblemKind = 'home-missing' | 'missing' | 'not-a-link' | 'dangling' | 'diverges'

export interface LinkProblem {
  account: string
  dir: string
  path: string
  problem: LinkProblemKind
  /** Where the link points (or what is there), when something is there. */
  target: string | null
  expected: string
}

export interface LinkReport {
  ok: boolean
  problems: LinkProblem[]
  fixed: {account: string; dir: string; path: string; target: string}[]
  /** With `fix` and `dryRun`: the links --fix would create (they are still in `problems`). */
  would_create?: {account: string; dir: string; path: string; target: string}[]
}

/** One line per problem: account, dir, what is wrong, where it points. */
export function describeProblem(p: LinkProblem): string {
  switch (p.problem) {
    case 'home-missing': {
      return `${p.account}: home ${p.path} does not exist`
    }

    case 'missing': {
      return `${p.account}: ${p.dir}: missing link ${p.path} (should point to ${p.expected}; --fix creates it)`
    }

    case 'not-a-link': {
      return `${p.account}: ${p.dir}: ${p.path} is a real ${p.target ?? 'file'}, not a link to ${p.expected} (move its contents into ${p.expected}, remove it, then run --fix)`
    }

    case 'dangling': {
      return `${p.account}: ${p.dir}: dangling link ${p.path} -> ${p.target} (nothing there; expected ${p.expected})`
    }

    case 'diverges': {
      return `${p.account}: ${p.dir}: ${p.path} -> ${p.target} diverges from ${p.expected}`
    }
  }
}

async function canonical(path: string): Promise<string | null> {
  try {
    return await realpath(path)
  } catch {
    return null
  }
}

/** Checks every account's shared links (or only `accounts` when given). Read-only. */
export async function checkSharedLinks(config: Config, accounts?: string[]): Promise<LinkProblem[]> {
  const problems: LinkProblem[] = []
  const selected = config.accounts.filter((a) => !accounts || accounts.includes(a.name))
  for (const account of selected) {
    try {
      if (!(await lstat(account.home)).isDirectory()) throw new Error('not a directory')
    } catch {
      problems.push({account: account.name, dir: '', expected: '', path: account.home, problem: 'home-missing', target: null})
      continue
    }

    for (const dir of config.shared.dirs) {
      const path = join(account.home, dir)
      const expected = join(config.shared.root, dir)
      const base = {account: account.name, dir, expected, path}
      let info
      try {
        info = await lstat(path)
      } catch {
        problems.push({...base, problem: 'missing', target: null})
        continue
      }

      if (!info.isSymbolicLink()) {
        problems.push({...base, problem: 'not-a-link', target: info.isDirectory() ? 'directory' : 'file'})
        continue
      }

      const target = resolve(dirname(path), await readlink(path))
      const actual = await canonical(path)
      if (actual === null) {
        problems.push({...base, problem: 'dangling', target})
        continue
      }

      const wanted = await canonical(expected)
      if (wanted === null || wanted !== actual) problems.push({...base, problem: 'diverges', target})
    }
  }

  return problems
}

/**
 * Validates, and with `fix` creates the links whose path does not exist (and the shared folder they
 * point to, when missing). Divergent, dangling and real directories are only reported.
 */
export async function validateSymlinks(config: Config, options: {fix?: boolean; dryRun?: boolean; accounts?: string[]; wait?: boolean} = {}): Promise<LinkReport> {
  const problems = await checkSharedLinks(config, options.accounts)
  const fixed: LinkReport['fixed'] = []
  const missing = problems.filter((p) => p.problem === 'missing')
  if (options.fix && options.dryRun) {
    const wouldCreate = missing.map((p) => ({account: p.account, dir: p.dir, path: p.path, target: p.expected}))
    return {fixed, ok: problems.length === 0, problems, would_create: wouldCreate}
  }

  if (options.fix && missing.length > 0) {
    // Under the lock: a swap validates the same links and must not see them half-created.
    await withStateLock(config, {command: 'validate-symlinks --fix', wait: options.wait}, async () => {
      for (const problem of missing) {
        await createLink(problem.expected, problem.path)
        fixed.push({account: problem.account, dir: problem.dir, path: problem.path, target: problem.expected})
      }
    })
  }

  const remaining = options.fix ? await checkSharedLinks(config, options.accounts) : problems
  return {fixed, ok: remaining.length === 0, problems: remaining}
}

async function createLink(target: string, path: string): Promise<void> {
  try {
    await mkdir(target, {mode: 0o700, recursive: true})
    // Create under a temporary name, then rename: if something appeared at `path` meanwhile, the
    // rename would replace only a link we own, never a real directory (rename refuses that).
    const temp = tempPathFor(path)
    await symlink(target, temp)
    try {
      if (await pathExists(path)) return
      await rename(temp, path)
    } finally {
      await unlink(temp).catch(() => {})
    }

    await fsyncDir(dirname(path))
  } catch (error) {
    throw fsFailure('create the link', path, error)
  }
}


/** Re-points `link` at `target` atomically: a temporary link renamed over the old one. */
export async function repointLink(link: string, target: string): Promise<void> {
  const temp = tempPathFor(link)
  try {
    await symlink(target, temp)
    await rename(temp, link)
    await fsyncDir(dirname(link))
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw fsFailure('re-point the link', link, error)
  }
}
