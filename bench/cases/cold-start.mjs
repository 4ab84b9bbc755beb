// Cold start of every timer-driven command on an empty pool, CPU per run against `node -e 0`, run
// as the timers run them: no --json, output to pipes (journald's sockets under systemd), a live tmux
// server holding one session that is not the pool's, an unchanged config. Measured in interleaved
// rounds (see lib.mjs) so a slow spell of the machine lands on the baseline too.
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cli, interleaved, ratioRow, root, tmuxSandbox} from '../lib.mjs'

export const title = 'cold start'

const COMMANDS = [
  ['dispatch', ['dispatch']],
  ['quota check', ['quota', 'check']],
  ['reconcile', ['reconcile']],
  ['checkpoint', ['checkpoint']],
  ['janitor', ['janitor']],
  ['status --json', ['status', '--json']],
  ['tick (quota check + reconcile + dispatch)', ['tick']],
]

export async function run() {
  const {cleanup, dir: sandbox, tmux} = tmuxSandbox('cf-bench-')
  const rows = []
  try {
    for (const name of ['main', 'backup', 'shared', 'proj/.agent-queue/inbox']) mkdirSync(join(sandbox, name), {recursive: true})
    const config = join(sandbox, 'config.yaml')
    writeFileSync(config, 'state_dir: ./state\ntmux: {socket: ./tmux.sock}\naccounts: [{name: main, home: ./main}, {name: backup, home: ./backup}]\nshared: {root: ./shared}\nautonomous: {min: 0}\nprojects: [{name: proj, path: ./proj}]\n')
    tmux('new-session', '-d', '-s', 'not-the-pool', 'sleep 3600')
    const env = {NO_COLOR: '1', XDG_CACHE_HOME: join(sandbox, 'cache')}
    const cases = [
      {args: ['-e', '0'], command: process.execPath, label: 'node -e 0'},
      ...COMMANDS.map(([label, args]) => ({args: [cli, ...args, '--config', config], command: process.execPath, label})),
    ]
    const measured = interleaved(cases, {env})
    const baseline = measured['node -e 0']
    rows.push({case: 'node -e 0 (baseline)', cpu: baseline.cpu, cpuSpread: [baseline.cpuStats.p25, baseline.cpuStats.p75], ratio: 1, vs: 'node -e 0', wall: baseline.wall})
    for (const [label] of COMMANDS) rows.push(ratioRow(measured, label, 'node -e 0', {limit: 1.3, name: `${label} (empty pool)`}))

    // The first run after the config changed validates it (YAML and zod) and refills the cache.
    const cold = interleaved([cases[0], {args: [cli, 'dispatch', '--config', config], command: process.execPath, env: {XDG_CACHE_HOME: '/proc/nonexistent'}, label: 'miss'}], {count: 5, env})
    rows.push(ratioRow(cold, 'miss', 'node -e 0', {name: 'dispatch, config changed since the last run'}))

    const hooks = interleaved(
      [
        {args: ['-c', `echo '{"hook_event_name":"Stop"}' | CLAUDE_FAILOVER_SESSION=x CLAUDE_FAILOVER_STATE_DIR=${sandbox}/state ${process.execPath} ${cli} hook`], command: '/bin/sh', label: 'hook'},
        {args: ['-c', `echo x | ${process.execPath} -e 0`], command: '/bin/sh', label: 'sh + node -e 0'},
      ],
      {env},
    )
    rows.push(ratioRow(hooks, 'hook', 'sh + node -e 0', {limit: 1.5, name: 'hook (one Stop record)'}))
    rows.push(...withoutExtraCerts(cases, env))
    rows.push(...levers(sandbox, config, env, cases[0]))
  } finally {
    cleanup()
  }

  return rows
}

/**
 * NODE_EXTRA_CA_CERTS makes every node process load and parse that certificate file before it runs
 * a line of JavaScript (36 ms of a 96 ms `node -e 0` on the VM where issue 18 was measured). A shell
 * that exports it slows the baseline and the commands alike, so the ratios above look better than
 * under systemd, whose user manager does not pass it: both, measured again without it.
 */
function withoutExtraCerts(cases, env) {
  if (!process.env.NODE_EXTRA_CA_CERTS) return []
  const plain = {NODE_EXTRA_CA_CERTS: ''}
  const measured = interleaved(
    [
      cases[0],
      {...cases[0], env: plain, label: 'bare node -e 0'},
      {...cases.find((c) => c.label === 'dispatch'), env: plain, label: 'bare dispatch'},
      {...cases.find((c) => c.label.startsWith('tick')), env: plain, label: 'bare tick'},
    ],
    {count: 10, env},
  )
  return [
    ratioRow(measured, 'bare node -e 0', 'node -e 0', {name: 'node -e 0 without NODE_EXTRA_CA_CERTS (set in this shell; systemd does not pass it)'}),
    ratioRow(measured, 'bare dispatch', 'bare node -e 0', {name: 'dispatch (empty pool), both without NODE_EXTRA_CA_CERTS'}),
    ratioRow(measured, 'bare tick', 'bare node -e 0', {name: 'tick (empty pool), both without NODE_EXTRA_CA_CERTS'}),
  ]
}

/**
 * Start-up levers for `tick`, in one interleaved run with node -e 0: the shipped start (bundle + code
 * cache), the same bundle without its code cache (a copy whose cache path is a folder), and Node 20's
 * user-land startup snapshot of the bundle (bench/snapshot/entry.cjs), with the floor of an empty
 * snapshot.
 */
function levers(sandbox, config, env, baseline) {
  const bare = join(sandbox, 'no-cache')
  for (const d of ['bin', 'dist/cli.cjs.cache', 'dist/vendor']) mkdirSync(join(bare, d), {recursive: true})
  for (const f of ['bin/run.js', 'bin/package.json', 'dist/cli.cjs', 'dist/vendor/yaml.cjs', 'dist/vendor/zod.cjs']) copyFileSync(join(root, f), join(bare, f))
  const entry = join(root, 'bench', 'snapshot', 'entry.cjs')
  const blob = join(sandbox, 'cli.blob')
  const empty = join(sandbox, 'empty.blob')
  for (const [file, bundle] of [[blob, join(root, 'dist', 'cli.cjs')], [empty, '']]) {
    const built = spawnSync(process.execPath, ['--snapshot-blob', file, '--build-snapshot', entry], {encoding: 'utf8', env: {...process.env, CF_BUNDLE: bundle}})
    if (built.status !== 0) throw new Error(`building a startup snapshot failed: ${built.stderr}`)
  }

  const tick = (command) => ({args: [...command, 'tick', '--config', config], command: process.execPath})
  const measured = interleaved(
    [
      baseline,
      {...tick([cli]), label: 'tick'},
      {...tick([join(bare, 'bin', 'run.js')]), label: 'no cache'},
      {...tick(['--snapshot-blob', blob, cli]), label: 'snapshot'},
      {args: ['--snapshot-blob', empty, 'x'], command: process.execPath, label: 'empty snapshot'},
    ],
    {count: Number(process.env.BENCH_LEVER_RUNS ?? 10), env},
  )
  return [
    ratioRow(measured, 'tick', 'node -e 0', {name: 'lever: tick as shipped (bundle + V8 code cache)'}),
    ratioRow(measured, 'no cache', 'node -e 0', {name: 'lever: tick, same bundle without its code cache'}),
    ratioRow(measured, 'snapshot', 'node -e 0', {name: 'lever: tick from a user-land startup snapshot of the bundle'}),
    ratioRow(measured, 'empty snapshot', 'node -e 0', {name: 'lever: an empty user-land startup snapshot (its floor)'}),
  ]
}
