// Proactive mode against a loopback server standing in for the OAuth usage endpoint.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/lib/config-schema.js'
import {memoryLogger} from '../../src/lib/log.js'
import {readUsage} from '../../src/lib/quota/usage.js'
import {tempDir} from '../helpers/env.js'
import {type Loopback, loopback} from '../helpers/loopback.js'

const TOKEN = 'sk-ant-oat01-usage-SECRET'
let server: Loopback | undefined
let cleanup: (() => void) | undefined
afterEach(async () => {
  await server?.close()
  cleanup?.()
})

function setup(url: string) {
  const t = tempDir()
  cleanup = t.cleanup
  const config = parseConfig(
    `state_dir: ${t.dir}/state\naccounts: [{name: main, home: /a, usage_token_env: CF_USAGE_MAIN}, {name: backup, home: /b}]\nshared: {root: /s}\nquota: {usage: {enabled: true, threshold: 90, base_url: "${url}", cache_ttl: 60s}}\n`,
    join(t.dir, 'c.yaml'),
  )
  return {config, dir: t.dir}
}

const body = {five_hour: {resets_at: '2026-11-21T12:00:00+00:00', utilization: 93.5}, seven_day: {resets_at: '2026-11-25T00:00:00+00:00', utilization: 40}}

describe('usage endpoint', () => {
  it('reads utilization with the OAuth headers, flags the threshold, and caches the answer', async () => {
    server = await loopback([{body, status: 200}])
    const {config, dir} = setup(server.url)
    const deps = {env: {CF_USAGE_MAIN: TOKEN}, fetch, log: memoryLogger(), now: () => new Date('2026-11-21T10:00:00Z')}
    const [reading] = await readUsage(config, deps)
    expect(reading).toEqual({account: 'main', cached: false, over_threshold: true, resets_at: '2026-11-21T12:00:00+00:00', utilization: 93.5, window: 'five_hour'})
    expect(server.requests[0]).toMatchObject({method: 'GET', path: '/api/oauth/usage'})
    expect(server.requests[0]?.headers).toMatchObject({'anthropic-beta': 'oauth-2025-04-20', authorization: `Bearer ${TOKEN}`})
    const again = await readUsage(config, {...deps, now: () => new Date('2026-11-21T10:00:30Z')})
    expect(again[0]).toMatchObject({cached: true, utilization: 93.5})
    expect(server.requests).toHaveLength(1)
    expect(readFileSync(join(dir, 'state', 'usage-cache.json'), 'utf8')).not.toContain(TOKEN)
  })

  it.each([
    [401, /refused the token \(401\)/],
    [429, /rate-limited this client \(429\)/],
    [503, /answered 503/],
  ])('a %i is a clear error, never a throw, and the token appears nowhere', async (status, message) => {
    server = await loopback([{body: {error: 'x'}, status}])
    const {config} = setup(server.url)
    const log = memoryLogger()
    const [reading] = await readUsage(config, {env: {CF_USAGE_MAIN: TOKEN}, fetch, log, now: () => new Date()})
    expect(reading?.error).toMatch(message)
    expect(reading?.over_threshold).toBe(false)
    expect(JSON.stringify(reading) + log.lines.join('\n')).not.toContain(TOKEN)
  })

  it('an unset token variable is reported, and nothing is sent', async () => {
    server = await loopback()
    const {config} = setup(server.url)
    const [reading] = await readUsage(config, {env: {}, fetch, log: memoryLogger(), now: () => new Date()})
    expect(reading?.error).toBe('CF_USAGE_MAIN is not set')
    expect(server.requests).toHaveLength(0)
  })
})
