// Once per test run:
// - the real Claude Code binary, pinned (scripts/real-claude.mjs), is installed into its cache folder
//   when missing; the real-binary tests read its path from CF_REAL_CLAUDE, and a failed install
//   fails each of them with the reason in CF_REAL_CLAUDE_ERROR (never a silent skip);
// - every CLI run a test starts (directly, from a tmux pane, from a hook) caches validated configs
//   under $XDG_CACHE_HOME: point it at one throw-away folder, so the suite leaves nothing in ~/.cache.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

// @ts-expect-error: a plain ES module script, without types
import {ensureRealClaude} from '../scripts/real-claude.mjs'

export default function setup(): () => void {
  try {
    if (!process.env.CF_REAL_CLAUDE) process.env.CF_REAL_CLAUDE = (ensureRealClaude as () => string)()
  } catch (error) {
    process.env.CF_REAL_CLAUDE_ERROR = (error as Error).message
  }

  const dir = mkdtempSync(join(tmpdir(), 'cf-test-cache-'))
  process.env.XDG_CACHE_HOME = dir
  return () => rmSync(dir, {force: true, recursive: true})
}
