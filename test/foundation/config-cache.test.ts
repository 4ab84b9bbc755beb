// The validated-config cache: a timer run whose config file has not changed skips YAML and zod, and
// nothing else may ever be served from it: an edit (even one of the same size and mtime), another
// home, a damaged cache file all mean validating the file again.
import {chmodSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import {configCache, loadConfig} from '../../src/lib/config.js'
import {FailoverError} from '../../src/lib/errors.js'
import {CLI, runProcess, tempDir} from '../helpers/env.js'

const YAML = 'state_dir: ./state\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nquota: {confirm_polls: 2}\n'

describe('config cache', () => {
  let dir: string
  let cleanup: () => void
  let env: NodeJS.ProcessEnv
  let file: string
  const home = '/home/op'

  beforeEach(() => {
    ;({cleanup, dir} = tempDir())
    env = {XDG_CACHE_HOME: join(dir, 'cache')}
    file = join(dir, 'config.yaml')
    writeFileSync(file, YAML)
  })
  afterEach(() => cleanup())

  it('serves the second load from a private cache file, equal to a fresh parse in every key', async () => {
    const first = await loadConfig(file, env, home)
    const cache = configCache(env, home, file)
    expect(statSync(cache.path).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'cache', 'claude-failover')).mode & 0o777).toBe(0o700)
    expect(cache.read(YAML)).toStrictEqual(first)
    expect(await loadConfig(file, env, home)).toStrictEqual(parseConfig(YAML, file, home))
  })

  it('revalidates an edit of the same size and modification time, and refuses a bad one', async () => {
    await loadConfig(file, env, home)
    const {mtime} = statSync(file)
    const edited = YAML.replace('confirm_polls: 2', 'confirm_polls: 3')
    writeFileSync(file, edited)
    utimesSync(file, mtime, mtime)
    expect((await loadConfig(file, env, home)).quota.confirmPolls).toBe(3)

    writeFileSync(file, YAML.replace('confirm_polls: 2', 'confirm_polls: x'))
    const error = await loadConfig(file, env, home).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FailoverError)
    expect((error as FailoverError).exitCode).toBe(78)
    // The bad text was not cached; the last good one still is.
    expect(configCache(env, home, file).read(edited)?.quota.confirmPolls).toBe(3)
  })

  it('keeps homes apart (paths resolve against the home)', async () => {
    writeFileSync(file, YAML.replace('./state', '~/state'))
    expect((await loadConfig(file, env, '/home/a')).stateDir).toBe('/home/a/state')
    expect((await loadConfig(file, env, '/home/b')).stateDir).toBe('/home/b/state')
    expect((await loadConfig(file, env, '/home/a')).stateDir).toBe('/home/a/state')
  })

  it('parses again when the cache file is damaged, foreign or unwritable', async () => {
    const expected = parseConfig(YAML, file, home)
    await loadConfig(file, env, home)
    const {path} = configCache(env, home, file)
    for (const damage of ['', '{"format":1', 'null', JSON.stringify({...JSON.parse(readFileSync(path, 'utf8')), build: 'another build'})]) {
      writeFileSync(path, damage)
      expect(await loadConfig(file, env, home)).toStrictEqual(expected)
    }

    // A cache folder that cannot exist (Node's recursive mkdir would spin forever on this one).
    writeFileSync(file, YAML.replace('confirm_polls: 2', 'confirm_polls: 5'))
    expect((await loadConfig(file, {XDG_CACHE_HOME: '/proc/no-such-folder'}, home)).quota.confirmPolls).toBe(5)

    chmodSync(join(dir, 'cache', 'claude-failover', 'config'), 0o500)
    try {
      writeFileSync(file, YAML.replace('confirm_polls: 2', 'confirm_polls: 4'))
      expect((await loadConfig(file, env, home)).quota.confirmPolls).toBe(4)
    } finally {
      chmodSync(join(dir, 'cache', 'claude-failover', 'config'), 0o700)
    }
  })

  it('is used by the CLI: one file per config, and the run after an edit sees the edit', async () => {
    const cacheDir = join(dir, 'cache', 'claude-failover', 'config')
    const status = () => runProcess(process.execPath, [CLI, 'status', '--json', '--config', file], {env})
    expect((await status()).code).toBe(0)
    expect(readdirSync(cacheDir)).toHaveLength(1)
    writeFileSync(file, YAML.replace('name: backup', 'name: spare'))
    const result = await status()
    expect(JSON.parse(result.stdout).accounts.map((a: {name: string}) => a.name)).toEqual(['main', 'spare'])
  })
})
