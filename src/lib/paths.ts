import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** Expands a leading `~` and resolves a relative path against `baseDir` (the config file's folder). */
export function resolvePath(input: string, baseDir: string, home: string = homedir()): string {
  if (input === '~') return home
  if (input.startsWith('~/')) return join(home, input.slice(2))
  return isAbsolute(input) ? resolve(input) : resolve(baseDir, input)
}

/** The package's root folder (where package.json is), from compiled files or the bundle alike. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}
