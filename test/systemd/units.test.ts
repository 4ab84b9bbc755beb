// The systemd units in systemd/: `systemd-analyze verify` with nothing on stderr (it exits 0 on
// "Unknown key" typos), and the properties the design depends on (SPEC §8, libraries.md §6).
//
// ExecStart paths: verify fails when an ExecStart binary is missing or not executable (it does not
// check the arguments, so the CLI path is checked here separately). The shipped units name
// /usr/bin/node, /usr/bin/tmux and %h/.local/share/claude-failover/bin/run.js, which need not exist
// on a CI machine. So verify runs on the units as systemd/install.sh installs them, into a temp
// folder, with this machine's node (process.execPath), tmux and this checkout's bin/run.js: the
// files an operator gets. A test checks that install.sh changes nothing else in them.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLI, ROOT, tempDir} from '../helpers/env.js'

const UNITS_DIR = join(ROOT, 'systemd')
const INSTALL = join(UNITS_DIR, 'install.sh')
const SHIPPED_NODE = '/usr/bin/node'
const SHIPPED_TMUX = '/usr/bin/tmux'
const SHIPPED_CLI = '%h/.local/share/claude-failover/bin/run.js'
const SOCKET = '%t/claude-failover/tmux.sock'

type Unit = Record<string, Record<string, string[]>>

/** Parses a unit file: section → key → values in order (a key may repeat). */
function parseUnit(text: string): Unit {
  const unit: Unit = {}
  let section = ''
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      section = header[1] as string
      unit[section] ??= {}
      continue
    }

    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`not a key=value line: ${line}`)
    const key = line.slice(0, eq).trim()
    ;((unit[section] as Record<string, string[]>)[key] ??= []).push(line.slice(eq + 1).trim())
  }

  return unit
}

function unitFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(service|timer|target)$/.test(f))
    .sort()
}

const shipped: Record<string, Unit> = Object.fromEntries(unitFiles(UNITS_DIR).map((f) => [f, parseUnit(readFileSync(join(UNITS_DIR, f), 'utf8'))]))
const get = (unit: Unit | undefined, section: string, key: string): string[] => unit?.[section]?.[key] ?? []
const one = (unit: Unit | undefined, section: string, key: string): string | undefined => get(unit, section, key).at(-1)
const words = (unit: Unit | undefined, section: string, key: string): string[] => get(unit, section, key).flatMap((v) => v.split(/\s+/).filter(Boolean))
const services = Object.keys(shipped).filter((f) => f.endsWith('.service'))
const oneshots = services.filter((f) => one(shipped[f], 'Service', 'Type') === 'oneshot')
const timers = Object.keys(shipped).filter((f) => f.endsWith('.timer'))

function which(command: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], {encoding: 'utf8'})
  return found.status === 0 ? found.stdout.trim() : ''
}

const ANALYZE = which('systemd-analyze')
const ABSENT = 'systemd-analyze is not installed: the units cannot be verified (Debian/Ubuntu: apt-get install systemd); this test fails rather than skips'

/** A clean environment for systemd-analyze: a fresh 0700 runtime dir and an empty home. */
function analyzeEnv(): {env: NodeJS.ProcessEnv; cleanup: () => void} {
  const {cleanup, dir} = tempDir('cf-systemd-')
  const runtime = join(dir, 'runtime')
  mkdirSync(runtime, {mode: 0o700})
  chmodSync(runtime, 0o700)
  mkdirSync(join(dir, 'home'))
  const {XDG_CONFIG_HOME: _c, XDG_DATA_HOME: _d, XDG_STATE_HOME: _s, ...inherited} = process.env
  return {cleanup, env: {...inherited, HOME: join(dir, 'home'), SYSTEMD_LOG_COLOR: '0', TZ: 'UTC', XDG_RUNTIME_DIR: runtime}}
}

/** `systemd-analyze --user verify` on the given files. */
function verify(paths: string[]): {code: number; stdout: string; stderr: string} {
  if (!ANALYZE) throw new Error(ABSENT)
  const {cleanup, env} = analyzeEnv()
  try {
    const result = spawnSync(ANALYZE, ['--user', 'verify', ...paths], {encoding: 'utf8', env, timeout: 60_000})
    return {code: result.status ?? -1, stderr: result.stderr, stdout: result.stdout}
  } finally {
    cleanup()
  }
}

function analyze(args: string[]): string {
  if (!ANALYZE) throw new Error(ABSENT)
  const {cleanup, env} = analyzeEnv()
  try {
    return execFileSync(ANALYZE, args, {encoding: 'utf8', env})
  } finally {
    cleanup()
  }
}

/** A time span in microseconds, as systemd reads it. */
function timespanUs(span: string | undefined): number {
  if (span === undefined) throw new Error('no time span')
  const match = /μs: (\d+)/.exec(analyze(['timespan', span]))
  if (!match) throw new Error(`systemd-analyze timespan ${span}: no μs line`)
  return Number(match[1])
}

let installed: {dir: string; cleanup: () => void}
let tmuxPath: string
beforeAll(() => {
  installed = tempDir('cf-units-')
  tmuxPath = which('tmux')
  execFileSync('sh', [INSTALL, '--dest', installed.dir, '--node', process.execPath, '--cli', CLI, '--tmux', tmuxPath || '/nonexistent/tmux'], {encoding: 'utf8'})
})
afterAll(() => installed.cleanup())

describe('systemd-analyze verify', () => {
  it('is installed (this suite fails, never skips, without it)', () => {
    expect(ANALYZE, ABSENT).not.toBe('')
  })

  it('passes on every unit, as installed, with nothing on stderr', () => {
    const files = unitFiles(installed.dir)
    expect(files).toEqual(Object.keys(shipped))
    const result = verify(files.map((f) => join(installed.dir, f)))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it('would catch what it is here for: a typo only on stderr (exit 0), a missing binary by its exit code', () => {
    const {cleanup, dir} = tempDir('cf-units-bad-')
    try {
      const timer = readFileSync(join(installed.dir, 'claude-failover-tick.timer'), 'utf8').replace('OnUnitActiveSec=', 'OnUnitActivSec=')
      writeFileSync(join(dir, 'claude-failover-tick.timer'), timer)
      writeFileSync(join(dir, 'claude-failover-tick.service'), readFileSync(join(installed.dir, 'claude-failover-tick.service'), 'utf8'))
      const typo = verify([join(dir, 'claude-failover-tick.timer'), join(dir, 'claude-failover-tick.service')])
      expect(typo.stderr).toMatch(/Unknown key.*OnUnitActivSec/)

      const service = readFileSync(join(installed.dir, 'claude-failover-tick.service'), 'utf8').replace(`ExecStart=${process.execPath} `, 'ExecStart=/nonexistent/node ')
      writeFileSync(join(dir, 'claude-failover-tick.service'), service)
      const missing = verify([join(dir, 'claude-failover-tick.service')])
      expect(missing.code).not.toBe(0)
      expect(missing.stderr).toMatch(/nonexistent\/node/)
    } finally {
      cleanup()
    }
  })
})

describe('systemd/install.sh', () => {
  it('changes only the node, CLI and tmux paths, and the CLI path it writes exists', () => {
    for (const file of unitFiles(UNITS_DIR)) {
      const expected = readFileSync(join(UNITS_DIR, file), 'utf8')
        .split('\n')
        .map((line) =>
          line.startsWith('Exec')
            ? line
                .replaceAll(`${SHIPPED_NODE} `, `${process.execPath} `)
                .replaceAll(` ${SHIPPED_CLI} `, ` ${CLI} `)
                .replaceAll(`${SHIPPED_TMUX} `, `${tmuxPath} `)
            : line,
        )
        .join('\n')
      expect(readFileSync(join(installed.dir, file), 'utf8'), file).toBe(expected)
    }

    for (const file of oneshots) {
      const argv = words(parseUnit(readFileSync(join(installed.dir, file), 'utf8')), 'Service', 'ExecStart')
      expect(argv.slice(0, 2), file).toEqual([process.execPath, CLI])
      expect(existsSync(argv[1] as string)).toBe(true)
    }
  })

  it('refuses a path systemd would split or expand, and has --help', () => {
    const bad = spawnSync('sh', [INSTALL, '--dest', installed.dir, '--cli', '/opt/my claude/bin/run.js'], {encoding: 'utf8'})
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('holds a character systemd would split or expand')
    const help = spawnSync('sh', [INSTALL, '--help'], {encoding: 'utf8'})
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^Usage: systemd\/install\.sh/)
  })
})

describe('the units', () => {
  it('every oneshot has a start timeout, counts 75 as success, and calls the CLI by absolute path', () => {
    expect(oneshots.sort()).toEqual([
      'claude-failover-checkpoint.service',
      'claude-failover-janitor.service',
      'claude-failover-reconcile-boot.service',
      'claude-failover-tick.service',
    ])
    for (const file of oneshots) {
      const unit = shipped[file]
      const timeout = timespanUs(one(unit, 'Service', 'TimeoutStartSec'))
      expect(timeout, `${file} TimeoutStartSec`).toBeGreaterThan(0)
      expect(timeout, `${file} TimeoutStartSec`).toBeLessThanOrEqual(30 * 60e6)
      expect(words(unit, 'Service', 'SuccessExitStatus'), file).toContain('75')
      expect(get(unit, 'Service', 'ExecStart'), file).toHaveLength(1)
      expect(words(unit, 'Service', 'ExecStart').slice(0, 2), file).toEqual([SHIPPED_NODE, SHIPPED_CLI])
    }

    // A detected limit swaps inside the tick's quota check: it gets the time of a swap of a full pool.
    expect(timespanUs(one(shipped['claude-failover-tick.service'], 'Service', 'TimeoutStartSec'))).toBeGreaterThanOrEqual(5 * 60e6)
  })

  it('each oneshot runs the command it is named after, and the CLI knows the command and its flags', () => {
    const expected: Record<string, string> = {
      // The timers' runs pass --quiet: a run with nothing to do prints nothing (the one output rule).
      'claude-failover-checkpoint.service': 'checkpoint --quiet',
      'claude-failover-janitor.service': 'janitor --quiet',
      'claude-failover-reconcile-boot.service': 'reconcile --boot --wait',
      'claude-failover-tick.service': 'tick --quiet',
    }
    for (const file of oneshots) {
      const args = words(shipped[file], 'Service', 'ExecStart').slice(2)
      expect(args.join(' '), file).toBe(expected[file])
      const command = args.filter((a) => !a.startsWith('-'))
      const {NODE_ENV: _ignored, ...env} = process.env
      const help = spawnSync(process.execPath, [CLI, ...command, '--help'], {encoding: 'utf8', env: {...env, NO_COLOR: '1'}})
      expect(help.status, `${command.join(' ')} --help: ${help.stderr}`).toBe(0)
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(help.stdout, `${file}: ${flag}`).toContain(flag)
    }
  })

  it('no oneshot starts tmux; one long-running unit owns the server on the socket under %t, and every job wants it', () => {
    for (const file of oneshots) {
      for (const [key, values] of Object.entries(shipped[file]?.Service ?? {})) {
        if (key.startsWith('Exec')) for (const v of values) expect(v, `${file} ${key}`).not.toMatch(/\btmux\b/)
      }
    }

    const owners = services.filter((f) => Object.entries(shipped[f]?.Service ?? {}).some(([k, vs]) => k.startsWith('Exec') && vs.some((v) => /\btmux\b/.test(v))))
    expect(owners).toEqual(['claude-failover-tmux.service'])
    const tmuxUnit = shipped['claude-failover-tmux.service']
    expect(one(tmuxUnit, 'Service', 'Type')).not.toBe('oneshot')
    expect(words(tmuxUnit, 'Service', 'ExecStart')).toEqual([SHIPPED_TMUX, '-D', '-S', SOCKET])
    expect(one(tmuxUnit, 'Service', 'Restart')).toBe('on-failure')
    expect(one(tmuxUnit, 'Service', 'RuntimeDirectory')).toBe('claude-failover')
    expect(one(tmuxUnit, 'Service', 'RuntimeDirectoryMode')).toBe('0700')

    // The example config and the CLI's own hint agree with the unit.
    expect(readFileSync(join(ROOT, 'config.example.yaml'), 'utf8')).toMatch(/socket: \/run\/user\/\d+\/claude-failover\/tmux\.sock/)
    expect(readFileSync(join(ROOT, 'src', 'lib', 'tmux.ts'), 'utf8')).toContain('systemctl --user start claude-failover-tmux.service')

    for (const file of oneshots) {
      expect(words(shipped[file], 'Unit', 'Wants'), file).toContain('claude-failover-tmux.service')
      expect(words(shipped[file], 'Unit', 'After'), file).toContain('claude-failover-tmux.service')
    }

    // The periodic jobs run after the start-of-day reconcile, and only when it passed (it refuses
    // on broken shared links; the next reconcile tick would otherwise bring the pool up anyway).
    for (const file of oneshots.filter((f) => f !== 'claude-failover-reconcile-boot.service')) {
      expect(words(shipped[file], 'Unit', 'After'), file).toContain('claude-failover-reconcile-boot.service')
      expect(words(shipped[file], 'Unit', 'Requisite'), file).toEqual(['claude-failover-reconcile-boot.service'])
    }

    // The tmux unit is active only once its server answers on the socket.
    expect(get(tmuxUnit, 'Service', 'ExecStartPost').join(' ')).toContain(`${SHIPPED_TMUX} -S ${SOCKET} list-sessions`)
  })

  it('the tmux unit\'s command, run here, serves with no session at all (-D: exit-empty off) and ends on kill-server', async () => {
    const {cleanup, dir} = tempDir('cf-tmux-d-')
    const socket = join(dir, 'tmux.sock')
    const args = words(shipped['claude-failover-tmux.service'], 'Service', 'ExecStart').slice(1).map((a) => (a === SOCKET ? socket : a))
    const servers: ReturnType<typeof spawn>[] = []
    let exited: Promise<number | null> = Promise.resolve(null)
    // ExecStartPost, run by sh as systemd would run it here: it returns once the server answers.
    const post = (one(shipped['claude-failover-tmux.service'], 'Service', 'ExecStartPost') as string)
      .replaceAll(SOCKET, socket)
      .replaceAll(`${SHIPPED_TMUX} `, `${tmuxPath} `)
      .replace(/^\/usr\/bin\/timeout /, `${which('timeout')} `)
    try {
      expect(spawnSync('sh', ['-c', post.replace(/timeout 10 /, 'timeout 1 ')]).status, 'no server yet: the readiness check must fail').not.toBe(0)
      const server = spawn(tmuxPath, ['-f', '/dev/null', ...args], {stdio: 'ignore'})
      servers.push(server)
      exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)))
      expect(spawnSync('sh', ['-c', post], {timeout: 15_000}).status).toBe(0)
      expect(existsSync(socket)).toBe(true)
      const client = (cmd: string[]) => spawnSync(tmuxPath, ['-S', socket, ...cmd], {encoding: 'utf8'})
      expect(client(['list-sessions']).status).toBe(0)
      expect(client(['show-options', '-g', 'exit-empty']).stdout.trim()).toBe('exit-empty off')
      // A session comes and goes; the server stays.
      expect(client(['new-session', '-d', '-s', 'brief']).status).toBe(0)
      expect(client(['kill-session', '-t', '=brief']).status).toBe(0)
      expect(client(['list-sessions']).status).toBe(0)
      expect(client(['kill-server']).status).toBe(0)
      expect(await exited).toBe(0)
    } finally {
      for (const server of servers) server.kill('SIGKILL')
      cleanup()
    }
  })

  it('the start-of-day reconcile runs once per start, after the tmux server', () => {
    const boot = shipped['claude-failover-reconcile-boot.service']
    expect(words(boot, 'Service', 'ExecStart')).toContain('--boot')
    expect(one(boot, 'Service', 'RemainAfterExit')).toBe('yes')
    expect(words(boot, 'Unit', 'After')).toContain('claude-failover-tmux.service')
  })

  it('every timer names an existing oneshot', () => {
    expect(timers.length).toBe(3)
    for (const file of timers) {
      const target = one(shipped[file], 'Timer', 'Unit') ?? file.replace(/\.timer$/, '.service')
      expect(Object.keys(shipped), `${file} -> ${target}`).toContain(target)
      expect(oneshots, `${file} -> ${target}`).toContain(target)
    }
  })

  it('the cadences: the tick (quota check, reconcile, dispatch) 2 min, checkpoint 5 min (tight accuracy), janitor daily and persistent', () => {
    const periodic: Record<string, number> = {
      'claude-failover-checkpoint.timer': 300,
      'claude-failover-tick.timer': 120,
    }
    for (const [file, seconds] of Object.entries(periodic)) {
      const timer = shipped[file]
      expect(timespanUs(one(timer, 'Timer', 'OnUnitActiveSec')), file).toBe(seconds * 1e6)
      // OnUnitActiveSec alone never fires for a unit that has not run yet: something must start it.
      const start = one(timer, 'Timer', 'OnActiveSec') ?? one(timer, 'Timer', 'OnBootSec') ?? one(timer, 'Timer', 'OnStartupSec')
      expect(start, `${file}: OnActiveSec/OnBootSec/OnStartupSec`).toBeDefined()
      expect(timespanUs(start), file).toBeLessThanOrEqual(seconds * 1e6)
      // AccuracySec defaults to 1 min, which would turn 15 s into a minute.
      const accuracy = timespanUs(one(timer, 'Timer', 'AccuracySec'))
      expect(accuracy, `${file} AccuracySec`).toBeLessThanOrEqual(seconds <= 30 ? 1e6 : 10e6)
      // A random delay would stretch the short cadences; a little is harmless at 5 min.
      const randomized = one(timer, 'Timer', 'RandomizedDelaySec')
      if (seconds <= 30) expect(randomized, `${file} RandomizedDelaySec`).toBeUndefined()
      else expect(timespanUs(randomized ?? '0'), file).toBeLessThanOrEqual(60e6)
      expect(get(timer, 'Timer', 'OnCalendar'), file).toEqual([])
    }

    const janitor = shipped['claude-failover-janitor.timer']
    expect(one(janitor, 'Timer', 'Persistent')).toBe('true')
    const calendar = one(janitor, 'Timer', 'OnCalendar') as string
    const elapses = [...analyze(['calendar', '--iterations=3', calendar]).matchAll(/(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC/g)].map((m) => Date.parse(`${m[1]?.replace(' ', 'T')}Z`))
    expect(elapses).toHaveLength(3)
    expect([(elapses[1] as number) - (elapses[0] as number), (elapses[2] as number) - (elapses[1] as number)]).toEqual([86_400_000, 86_400_000])
  })

  it('claude-failover.target pulls in the server, the start-of-day reconcile and every timer, and starts at boot', () => {
    const target = shipped['claude-failover.target']
    const wants = words(target, 'Unit', 'Wants').sort()
    expect(wants).toEqual(['claude-failover-reconcile-boot.service', 'claude-failover-tmux.service', ...timers].sort())
    expect(words(target, 'Install', 'WantedBy')).toEqual(['default.target'])
    // Every claude-failover unit a unit refers to exists.
    for (const [file, unit] of Object.entries(shipped)) {
      for (const key of ['Wants', 'Requires', 'Requisite', 'After', 'Before', 'PartOf', 'BindsTo']) {
        for (const name of words(unit, 'Unit', key).filter((n) => n.startsWith('claude-failover'))) expect(Object.keys(shipped), `${file} ${key}=${name}`).toContain(name)
      }
    }

    // Stopping the timers leaves the pool running: the tmux server is not part of the target.
    expect(get(shipped['claude-failover-tmux.service'], 'Unit', 'PartOf')).toEqual([])
  })
})
