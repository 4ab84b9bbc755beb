// The swap journal (SPEC §5): kept in state.json while a swap runs, so that a process killed at
// any step leaves enough for the next `swap` or `reconcile` to roll it forward.
import type {Config} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'
import type {Tmux} from '../tmux.js'

export interface SwapRollDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
}

/**
 * Finishes a swap a killed process left in the journal (all of the pool on the target account,
 * every recorded conversation resumed); returns one line per action taken, empty when there was
 * no unfinished swap. Called by `swap` and `reconcile` under the lock.
 */
export async function rollForwardSwap(_config: Config, tx: Transaction, _deps: SwapRollDeps): Promise<string[]> {
  if (!tx.state.swap_journal) return []
  // Filled in by the swap issue.
  return []
}
