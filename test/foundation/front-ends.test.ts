// The fast path (bin/run.js → dist/cli.cjs, no oclif) and oclif's path must behave the same.
import {copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLI, ROOT, runCli, runProcess, type Sandbox, sandbox, startTmuxServer, tempDir, tmux, waitFor} from '../helpers/env.js'

let box: Sandbox
beforeAll(() => {
  box = sandbox()
})
afterAll(() => box.cleanup())

const SLOW = {CLAUDE_FAILOVER_NO_BUNDLE: '1'}
const normalize = (text: string) => text.replaceAll(/"ts": "[^"]+"/g, '"ts": "…"')

describe('fast path and oclif path', () => {
  it.each([
    [['status', '--json']],
    [['status', '--json', '--events', '3']],
    [['validate-symlinks', '--json']],
    [['validate-symlinks']],
    [['validate-symlinks', '--account', 'main', '--account', 'backup', '--json']],
  ])('%j gives the same exit code and stdout', async (argv) => {
    const args = [...argv, '--config', box.configPath]
    const [fast, slow] = await Promise.all([runCli(args), runCli(args, {env: SLOW})])
    expect(fast.code).toBe(slow.code)
    expect(normalize(fast.stdout)).toBe(normalize(slow.stdout))
    expect(fast.stderr).toBe(slow.stderr)
  })

  it.each([
    [['status', '--events', 'lots', '--json'], /--events.*lots/],
    [['status', '--events', '-1', '--json'], /--events/],
    [['status', '--bogus', '--json'], /Nonexistent flag: --bogus/],
  ])('%j is the same usage error (exit 2, one JSON error document) on both paths', async (argv, mentions) => {
    const args = [...argv, '--config', box.configPath]
    for (const result of await Promise.all([runCli(args), runCli(args, {env: SLOW})])) {
      expect(result.code).toBe(2)
      const doc = JSON.parse(result.stdout) as {error: {code: string; exit: number; message: string}}
      expect(doc.error).toMatchObject({code: 'USAGE', exit: 2})
      expect(doc.error.message).toMatch(mentions)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('takes a negative number as a flag value, like oclif', async () => {
    const [fast, slow] = await Promise.all([
      runCli(['status', '--events', '-1', '--json', '--config', box.configPath]),
      runCli(['status', '--events', '-1', '--json', '--config', box.configPath], {env: SLOW}),
    ])
    for (const r of [fast, slow]) expect(JSON.parse(r.stdout).error.message).toMatch(/≥ 0 for --events, got -1|--events: Expected an integer greater than or equal to 0 but received: -1/)
  })

  it('usage errors exit 2 with the flag named', async () => {
    const bogus = await runCli(['status', '--bogus', '--config', box.configPath])
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toMatch(/^claude-failover: error: Nonexistent flag: --bogus/)
    const bad = await runCli(['status', '--events', 'lots', '--config', box.configPath])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--events')
  })

  it('--help lists the flags, examples and exit codes', async () => {
    const help = await runCli(['status', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--events=<value>')
    expect(help.stdout).toContain('EXAMPLES')
    expect(help.stdout).toMatch(/EXIT CODES\n {2}0 success or nothing to do/)
    expect(help.stdout).toContain('75 temporary: lock busy')
  })

  it('--help reads as a new user needs: a description beyond the summary, required flags shown so, every example with "$ ", the global flags at the top', async () => {
    const status = (await runCli(['status', '--help'])).stdout
    const description = /DESCRIPTION\n {2}(.*)\n\n {2}(\S[^]*?)\n\n/.exec(status)
    expect(description?.[2]).toMatch(/--check is for monitoring/)
    const add = (await runCli(['task', 'add', '--help'])).stdout
    expect(add).toMatch(/\$ claude-failover task add \[FILE\] --project NAME/)
    const examples = add.slice(add.indexOf('EXAMPLES'), add.indexOf('EXIT CODES')).split('\n').filter((l) => l.trim() !== '' && l !== 'EXAMPLES')
    expect(examples.length).toBeGreaterThan(2)
    for (const line of examples) expect(line).toMatch(/^ {2}\$ /)
    expect((await runCli(['task', 'list', '--help'])).stdout).toMatch(/\$ claude-failover task list --project NAME/)
    const root = (await runCli(['--help'])).stdout
    expect(root).toMatch(/GLOBAL FLAGS \(every command\)\n {2}--config=PATH +config file/)
    expect(root).toMatch(/\n {2}--json +print one JSON document/)
    expect((await runCli(['quota', 'classify', '--help'])).stdout).not.toContain('Reads no config')
  })

  it('a mistyped command gets one line in the tool\'s error style with the nearest command, exit 2', async () => {
    for (const [typed, nearest] of [['statsu', 'status'], ['quota chek', 'quota check'], ['task lsit', 'task list']] as const) {
      const result = await runCli(typed.split(' '))
      expect(result.code, typed).toBe(2)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).toMatch(new RegExp(`^claude-failover: error: unknown command "${typed}" \\(did you mean "${nearest}"\\?\\); commands: .*; e\\.g\\. claude-failover ${nearest} `))
    }

    const json = await runCli(['frobnicate', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error).toMatchObject({code: 'USAGE', exit: 2})
    expect(json.stderr).not.toContain('did you mean')
  })
})

describe('the fast path', () => {
  it('loads an ASCII bundle without the YAML parser and zod, which a changed config still reaches', async () => {
    // run.js reads dist/cli.cjs as Latin-1: one non-ASCII byte would corrupt the source it runs.
    const bundle = readFileSync(join(ROOT, 'dist', 'cli.cjs'))
    expect(bundle.findIndex((byte) => byte > 0x7f)).toBe(-1)
    expect(bundle.includes('YAMLParseError')).toBe(false)
    expect(readFileSync(join(ROOT, 'dist', 'vendor', 'yaml.cjs'), 'utf8')).toContain('YAMLParseError')
    // A config seen for the first time is validated through dist/vendor: its error names the key.
    const {cleanup, dir} = tempDir()
    try {
      const config = join(dir, 'config.yaml')
      writeFileSync(config, 'state_dir: ./state\naccounts: [{name: main, home: ./main}]\nshared: {root: ./shared}\nprojects: []\ntmux: {socket: ./t.sock}\nquota: {confirm_polls: many}\n')
      const result = await runProcess(process.execPath, [CLI, 'status', '--config', config], {env: {XDG_CACHE_HOME: join(dir, 'cache')}})
      expect(result.code).toBe(78)
      expect(result.stderr).toMatch(/quota\.confirm_polls/)
    } finally {
      cleanup()
    }
  })

  it('never runs a stale code cache, even for a rebuilt bundle of the same length', async () => {
    // V8 checks a code cache against the source length only; run.js keys it by size and mtime too.
    const {cleanup, dir} = tempDir()
    try {
      for (const file of ['bin/run.js', 'bin/package.json', 'dist/cli.cjs', 'dist/cli.cjs.cache', 'dist/vendor/yaml.cjs', 'dist/vendor/zod.cjs']) {
        mkdirSync(join(dir, dirname(file)), {recursive: true})
        copyFileSync(join(ROOT, file), join(dir, file))
      }

      const missing = join(dir, 'nowhere.yaml')
      const run = () => runProcess(process.execPath, [join(dir, 'bin', 'run.js'), 'status', '--config', missing])
      expect((await run()).stderr).toContain('config file not found')
      const bundle = join(dir, 'dist', 'cli.cjs')
      const source = readFileSync(bundle, 'utf8')
      writeFileSync(bundle, source.replace('config file not found', 'CONFIG FILE NOT FOUND'))
      expect(statSync(bundle).size).toBe(Buffer.byteLength(source))
      const first = await run()
      expect(first.code).toBe(78)
      expect(first.stderr).toContain('CONFIG FILE NOT FOUND')
      // …and the cache it wrote for the new bundle is used from then on, with the same result.
      expect((await run()).stderr).toContain('CONFIG FILE NOT FOUND')
    } finally {
      cleanup()
    }
  })

  it.each([
    ['dispatch', []],
    ['quota', ['check']],
    ['reconcile', []],
    ['checkpoint', []],
    ['janitor', []],
    ['tick', []],
  ])('%s %s answers when piped; --quiet leaves out "nothing to do" (the timers), --dry-run answers even then', async (command, rest) => {
    // A pool with nothing to keep alive: every command has nothing to do.
    const idle = sandbox('', {pool: '{prefix: "ccl-auto-", start_index: 11, min: 0, max: 3}'})
    await startTmuxServer(idle.socket)
    try {
      const args = [command, ...rest, '--config', idle.configPath]
      const piped = await runCli(args)
      expect(piped.code, piped.stderr).toBe(0)
      expect(piped.stdout).not.toBe('')
      expect(await runCli([...args, '--quiet'])).toEqual({code: 0, stderr: '', stdout: ''})
      const dry = await runCli([...args, '--quiet', '--dry-run'])
      expect(dry.code, dry.stderr).toBe(0)
      expect(dry.stdout).not.toBe('')
    } finally {
      await tmux(idle.socket, ['kill-server'])
      idle.cleanup()
    }
  })

})
