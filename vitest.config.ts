import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Deadlines that only matter when something hangs: a test's own waits (waitFor, runCli) give
    // up first with a message that says what they waited for. On a loaded 2-core machine (load
    // average 16 was seen) end-to-end tests of 10 s idle took 30-40 s.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Test files run in parallel on cores - 1 workers: one at a time on a 2-core machine, where a
    // second worker's tmux servers and simulated Claudes would compete with the first's deadlines.
    pool: 'forks',
  },
})
