// The tmux wrapper against a real tmux server on a private socket.
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {poolSessionNames, tmuxFor} from '../../src/lib/pool.js'
import {literalArgument, Tmux} from '../../src/lib/tmux.js'
import {runCli, type Sandbox, sandbox, startTmuxServer, tmux, waitFor} from '../helpers/env.js'

let box: Sandbox
let client: Tmux

beforeAll(async () => {
  // A pool whose names collide by prefix: ccl-1 … ccl-10 (start_index 1, max 10).
  box = sandbox('', {pool: '{prefix: "ccl-", start_index: 1, min: 1, max: 10}'})
  await startTmuxServer(box.socket, 'operator')
  client = tmuxFor(box.config)
})

afterAll(async () => {
  await tmux(box.socket, ['kill-server'])
  box.cleanup()
})

async function pane(name: string): Promise<string> {
  return (await tmux(box.socket, ['capture-pane', '-p', '-J', '-t', `=${name}:`])).stdout
}

describe('tmux wrapper', () => {
  it('names the pool [start_index, start_index + max)', () => {
    const names = poolSessionNames(box.config)
    expect(names[0]).toBe('ccl-1')
    expect(names.at(-1)).toBe('ccl-10')
    expect(names).toHaveLength(10)
  })

  it('ccl-1 never matches ccl-10: has, kill and type are exact', async () => {
    await client.newSession('ccl-10', {command: 'cat', cwd: box.dir})
    expect(await client.hasSession('ccl-10')).toBe(true)
    expect(await client.hasSession('ccl-1')).toBe(false)
    // tmux itself prefix-matches without "=": the trap this wrapper avoids.
    expect((await tmux(box.socket, ['has-session', '-t', 'ccl-1'])).code).toBe(0)

    expect(await client.killSession('ccl-1')).toBe(false)
    await expect(client.sendLiteral('ccl-1', 'wrong session')).rejects.toMatchObject({exitCode: 69})
    expect(await client.hasSession('ccl-10')).toBe(true)
    expect(await pane('ccl-10')).not.toContain('wrong session')
    expect(await client.killSession('ccl-10')).toBe(true)
  })

  it.each([
    ['a trailing semicolon', 'echo A1;'],
    ['a command substitution', 'echo $(id) `whoami`'],
    ['key names', 'C-c Enter Escape C-d'],
    ['a leading dash', '-n --help'],
    ['an escaped semicolon at the end', 'b\\;'],
    ['separators and quotes', 'a ; b && c || d \'q\' "dq" \\'],
  ])('types %s literally and submits nothing by itself', async (_name, text) => {
    await client.newSession('ccl-2', {command: 'cat -v', cwd: box.dir})
    try {
      await client.sendLiteral('ccl-2', text)
      await client.sendKey('ccl-2', 'Enter')
      const screen = await waitFor(async () => {
        const lines = (await pane('ccl-2')).split('\n').filter((l) => l !== '')
        return lines.length >= 2 ? lines : undefined
      })
      // cat echoes the typed line once (the terminal) and once more (its output).
      expect(screen?.[0]).toBe(text)
      expect(screen?.[1]).toBe(text)
      expect(await client.hasSession('ccl-2')).toBe(true)
    } finally {
      await client.killSession('ccl-2')
    }
  })

  it('refuses newlines and control characters instead of submitting early', async () => {
    expect(() => literalArgument('one\ntwo')).toThrow(/line break/)
    expect(() => literalArgument('one\rtwo')).toThrow(/line break/)
    expect(() => literalArgument('bell\u0007')).toThrow(/control characters/)
    expect(literalArgument('x;')).toBe('x\\;')
    expect(literalArgument('x; y')).toBe('x; y')
  })

  it('refuses to create, kill or type into a session outside the pool', async () => {
    await expect(client.newSession('operator-2', {cwd: box.dir})).rejects.toThrow(/neither in the pool nor a dedicated session/)
    await expect(client.killSession('operator')).rejects.toThrow(/neither in the pool/)
    await expect(client.sendLiteral('operator', 'rm -rf ~')).rejects.toThrow(/neither in the pool/)
    expect(await client.hasSession('operator')).toBe(true)
    await expect(client.sendKey('ccl-3', 'C-z')).rejects.toThrow(/unknown key name/)
  })

  it('starts sessions in the given folder with the given environment', async () => {
    await client.newSession('ccl-4', {cwd: box.dir, env: {CLAUDE_FAILOVER_SESSION: 'ccl-4'}})
    try {
      await client.sendLine('ccl-4', 'echo "[$CLAUDE_FAILOVER_SESSION] $(pwd)"')
      await waitFor(async () => (await pane('ccl-4')).includes(`[ccl-4] ${box.dir}`))
      const listed = (await client.listSessions()).find((s) => s.name === 'ccl-4')
      expect(listed).toMatchObject({currentPath: box.dir, paneDead: false})
    } finally {
      await client.killSession('ccl-4')
    }
  })

  it('reads with capture-pane -J, joining wrapped lines', async () => {
    await client.newSession('ccl-5', {command: 'cat', cwd: box.dir, width: 40})
    try {
      const long = 'x'.repeat(100)
      await client.sendLine('ccl-5', long)
      const text = await waitFor(async () => {
        const captured = await client.capturePane('ccl-5', 40)
        return captured.split('\n').filter((l) => l.trim() === long).length === 2 ? captured : undefined
      })
      expect(text).toContain(long)
    } finally {
      await client.killSession('ccl-5')
    }
  })
})

describe('batched changes (one tmux process)', () => {
  it('creates sessions and types into them in one call: trailing semicolons, dashes and key names stay literal, nothing is submitted before its Enter', async () => {
    const lines = {'ccl-5': 'echo B1;', 'ccl-6': '-n C-c Enter ; x'}
    try {
      expect(
        await client.batch([
          {create: {command: 'cat -v', cwd: box.dir}, session: 'ccl-5'},
          {literal: lines['ccl-5'], session: 'ccl-5'},
          {create: {command: 'cat -v', cwd: box.dir}, session: 'ccl-6'},
          {literal: lines['ccl-6'], session: 'ccl-6'},
        ]),
      ).toBeNull()
      for (const [name, text] of Object.entries(lines)) {
        // Typed, not submitted: cat -v has echoed nothing back yet.
        await waitFor(async () => ((await pane(name)).includes(text) ? true : undefined))
        expect((await pane(name)).split('\n').filter((l) => l !== '')).toEqual([text])
      }

      expect(await client.batch(Object.keys(lines).map((name) => ({key: 'Enter', session: name})))).toBeNull()
      for (const [name, text] of Object.entries(lines)) {
        const screen = await waitFor(async () => {
          const shown = (await pane(name)).split('\n').filter((l) => l !== '')
          return shown.length >= 2 ? shown : undefined
        })
        expect(screen).toEqual([text, text])
      }
    } finally {
      await client.killSessions(Object.keys(lines))
    }
  })

  it('stops at the first step tmux refuses and says why; refuses names outside the pool before running anything', async () => {
    await client.newSession('ccl-7', {command: 'cat', cwd: box.dir})
    try {
      const refused = await client.batch([
        {create: {command: 'cat', cwd: box.dir}, session: 'ccl-7'},
        {create: {command: 'cat', cwd: box.dir}, session: 'ccl-8'},
      ])
      expect(refused).toMatch(/^cannot run 2 tmux commands: tmux said: duplicate session: ccl-7/)
      expect(await client.hasSession('ccl-8')).toBe(false)
      await expect(client.batch([{create: {cwd: box.dir}, session: 'ccl-8'}, {literal: 'x', session: 'operator'}])).rejects.toThrow(/neither in the pool nor a dedicated session/)
      await expect(client.batch([{key: 'C-z', session: 'ccl-7'}])).rejects.toThrow(/unknown key name/)
      expect(await client.hasSession('ccl-8')).toBe(false)
    } finally {
      await client.killSession('ccl-7')
    }
  })

  it('kills several sessions in one call and returns those that existed, a missing one in the middle included', async () => {
    for (const name of ['ccl-5', 'ccl-7']) await client.newSession(name, {command: 'cat', cwd: box.dir})
    expect(await client.killSessions(['ccl-5', 'ccl-6', 'ccl-7'])).toEqual(['ccl-5', 'ccl-7'])
    expect(await client.hasSession('ccl-5')).toBe(false)
    expect(await client.hasSession('ccl-7')).toBe(false)
    expect(await client.killSessions(['ccl-5'])).toEqual([])
    await expect(client.killSessions(['ccl-5', 'operator'])).rejects.toThrow(/neither in the pool/)
    expect(await client.hasSession('operator')).toBe(true)
  })
})

describe('capturePanes', () => {
  it('captures many panes in one call, each under its own name, and survives a vanished one', async () => {
    for (const n of ['ccl-6', 'ccl-7', 'ccl-8']) await client.newSession(n, {command: `printf 'pane of ${n}\\n'; sleep 60`, cwd: box.dir})
    try {
      await waitFor(async () => (await pane('ccl-8')).includes('pane of ccl-8'))
      const panes = await client.capturePanes(['ccl-6', 'ccl-9', 'ccl-7', 'ccl-8'], 40)
      expect(panes.get('ccl-6')?.trim()).toBe('pane of ccl-6')
      expect(panes.get('ccl-7')?.trim()).toBe('pane of ccl-7')
      expect(panes.get('ccl-8')?.trim()).toBe('pane of ccl-8')
      expect(panes.get('ccl-9')).toBe('')
    } finally {
      for (const n of ['ccl-6', 'ccl-7', 'ccl-8']) await client.killSession(n)
    }
  })
})

describe('tmux unavailable', () => {
  it('no server: reads give an empty list, writes exit 69 with a clear line, nothing is started', async () => {
    const lonely = sandbox()
    try {
      const c = tmuxFor(lonely.config)
      expect(await c.listSessions()).toEqual([])
      expect(await c.hasSession('ccl-auto-11')).toBe(false)
      await expect(c.newSession('ccl-auto-11', {cwd: lonely.dir})).rejects.toMatchObject({exitCode: 69, message: expect.stringMatching(/no tmux server is running on .*tmux\.sock; start it first/)})
      expect(await c.serverRunning()).toBe(false)
      const status = await runCli(['status', '--json', '--config', lonely.configPath])
      expect(status.code).toBe(0)
      expect(JSON.parse(status.stdout).tmux).toMatchObject({running: false})
    } finally {
      lonely.cleanup()
    }
  })

  it('a hung tmux is cut off by the timeout', async () => {
    const hung = sandbox()
    try {
      const fake = join(hung.dir, 'tmux-hangs')
      writeFileSync(fake, '#!/bin/sh\nexec sleep 30\n')
      chmodSync(fake, 0o755)
      const c = new Tmux({binary: fake, owns: () => true, timeoutMs: 300})
      const started = Date.now()
      await expect(c.listSessions()).rejects.toMatchObject({exitCode: 69, message: expect.stringMatching(/did not answer within 300 ms/)})
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      hung.cleanup()
    }
  })

  it('a missing tmux binary is reported with how to install it', async () => {
    const c = new Tmux({binary: '/nonexistent/tmux', owns: () => true, timeoutMs: 1000})
    await expect(c.listSessions()).rejects.toThrow(/tmux is not installed .*apt-get install tmux/)
  })
})
