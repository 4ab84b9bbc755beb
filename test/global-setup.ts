// Every CLI run a test starts (directly, from a tmux pane, from a hook) caches validated configs
// under $XDG_CACHE_HOME: point it at one throw-away folder, so the suite leaves nothing in ~/.cache.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'cf-test-cache-'))
  process.env.XDG_CACHE_HOME = dir
  return () => rmSync(dir, {force: true, recursive: true})
}
