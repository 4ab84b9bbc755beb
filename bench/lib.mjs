// Shared measuring helpers for `npm run bench`.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const cli = join(root, 'bin', 'run.js')
export const runs = Number(process.env.BENCH_RUNS ?? 20)

/** CPU ms (user + system) of all reaped children of this process so far (/proc/self/stat). */
export function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

/** Average CPU and wall time per run of a command, over `count` runs after one warm-up. */
export function cpuPerRun(command, args, {env = {}, count = runs, allowExit = [0]} = {}) {
  const options = {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']}
  spawnSync(command, args, options)
  const before = childCpuMs()
  const started = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const result = spawnSync(command, args, options)
    if (!allowExit.includes(result.status)) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }

  return {cpu: (childCpuMs() - before) / count, wall: Number(process.hrtime.bigint() - started) / 1e6 / count}
}

/** Wall time of one async function, best of `count`. */
export async function bestOf(count, fn) {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint()
    await fn(i)
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6)
  }

  return best
}
