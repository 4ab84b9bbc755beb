import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'

/** Expands a leading `~` and resolves a relative path against `baseDir` (the config file's folder). */
export function resolvePath(input: string, baseDir: string, home: string = homedir()): string {
  if (input === '~') return home
  if (input.startsWith('~/')) return join(home, input.slice(2))
  return isAbsolute(input) ? resolve(input) : resolve(baseDir, input)
}
