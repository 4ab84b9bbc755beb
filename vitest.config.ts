import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Deadlines that only matter when something hangs: a test's own waits (waitFor, runCli) give
    // up first with a message that says what they waited for. A loaded 2-core machine runs the
    // end-to-end tests two to three times slower than an idle one.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files run in parallel on cores - 1 workers: one at a time on a 2-core machine, where a
    // second worker's tmux servers and simulated Claudes would compete with the first's deadlines.
    pool: 'forks',
  },
})
