// A dispatch pass started by `task add` (issue 18), so a task added from the command line reaches an
// idle session in about a second instead of at the next tick: the same request file and detached
// `dispatch --wait` as a task's Stop (event-run.ts), so a script adding fifty tasks starts one or two
// passes, not fifty. A file dropped into an inbox by hand waits for the tick: nothing sees it arrive.
import type {Config} from '../config.js'

import {type Starter, startDetached, triggerRun} from '../event-run.js'
import {ensurePrivateDir} from '../fs-atomic.js'

/** `started`: this call started a pass; `pending`: a requested pass will see the task; `off`: not asked for. */
export type DispatchSoon = 'off' | 'pending' | 'started'

/** Starts a dispatch pass at once, detached and de-duplicated, unless `skip` or `dispatcher.on_add: false`. */
export async function dispatchSoon(config: Config, options: {skip: boolean}, deps: {env: NodeJS.ProcessEnv; now: () => Date; start?: Starter}): Promise<DispatchSoon> {
  if (options.skip || !config.dispatcher.onAdd) return 'off'
  // The state folder may not exist yet on a machine where nothing has run: task add takes no lock.
  await ensurePrivateDir(config.stateDir)
  return triggerRun('dispatch', config.stateDir, config.file, deps.env, deps.now(), deps.start ?? startDetached) ? 'started' : 'pending'
}
