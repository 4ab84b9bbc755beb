// The pure core of `janitor` (SPEC §6): a snapshot of file names, ages and claim verdicts in, the
// clean-up actions out. It only ever names files this tool made (tasks it moved, its sidecars,
// checkpoints, temp files of fs-atomic's pattern, fence markers, signals, prompts, events.jsonl).
import type {ClaimVerdict} from '../reconcile/plan.js'

import {FENCE_KEEP} from '../lock.js'
export const TEMP_MAX_AGE_MS = 60 * 60 * 1000
/** Fence markers kept below the current generation (lock.ts prunes the same window at commit). */
/** Rotated event logs kept: events.jsonl.1 and events.jsonl.2. */
export const EVENTS_KEEP = 2

export interface JanitorClaimView {
  project: string
  task: string
  session: string
  account: string
  conversation_id: string
  verdict: ClaimVerdict
  /** The visible pane shows the task id or the conversation id (checked for stale claims only). */
  paneShows: boolean
  failures: number
  runRecorded: boolean
  retries: number
}

export interface FileView {
  path: string
  /** ms since the epoch: mtime for temp files, prompts and checkpoints; ctime for done tasks. */
  at: number
}

export interface DoneTaskView extends FileView {
  project: string
  task: string
  /** archive/<id>.md exists: same inode (an archive move cut short) or another file. */
  archived: 'same' | 'other' | null
  /** Sidecars beside it in done/ (`.claim`, `.attempts`, …), by path. */
  sidecars: string[]
}

export interface JanitorSnapshot {
  now: number
  archiveAfterMs: number
  retentionMs: number
  eventsMaxBytes: number
  generation: number
  /** null: no tmux server answered, so no claim can be judged. */
  claims: JanitorClaimView[] | null
  done: DoneTaskView[]
  /** Sidecars in done/ whose task already went to archive/ (the move of the task came first). */
  strays: {project: string; task: string; path: string; to: string | null}[]
  checkpoints: (FileView & {session: string; configured: boolean})[]
  temps: FileView[]
  fences: {path: string; generation: number}[]
  prompts: (FileView & {project: string; task: string; dispatched: boolean})[]
  signals: {path: string; session: string; owned: boolean; alive: boolean; claimed: boolean; oldest: number | null; size: number}[]
  events: {path: string; size: number} | null
}

export type JanitorAction =
  | {action: 'requeue-claim'; project: string; task: string; session: string; account: string; conversation_id: string; reason: string; counted: boolean; attempt: number; retries: number}
  | {action: 'fail-claim'; project: string; task: string; session: string; account: string; conversation_id: string; reason: string; attempt: number; retries: number}
  | {action: 'archive-task'; project: string; task: string; finished_at: string}
  | {action: 'remove-twin'; project: string; task: string; path: string}
  | {action: 'move-sidecar'; project: string; task: string; path: string; to: string | null}
  | {action: 'prune-checkpoint'; path: string; session: string; at: string}
  | {action: 'prune-temp'; path: string}
  | {action: 'prune-fence'; path: string}
  | {action: 'prune-prompt'; path: string; project: string; task: string}
  | {action: 'remove-signals'; path: string; session: string}
  | {action: 'trim-signals'; path: string; session: string; size: number}
  | {action: 'rotate-events'; path: string; size: number}

/** The janitor's actions for a snapshot. Pure. */
export function planJanitor(s: JanitorSnapshot): JanitorAction[] {
  const actions: JanitorAction[] = []
  const iso = (ms: number) => new Date(ms).toISOString()

  for (const c of s.claims ?? []) {
    const ref = {account: c.account, conversation_id: c.conversation_id, project: c.project, session: c.session, task: c.task}
    if (c.verdict === 'exited') {
      // Claude left the pane at its shell with no Stop: the run died (counted, as reconcile does).
      const attempt = c.failures + (c.runRecorded ? 0 : 1)
      const reason = `Claude Code exited in ${c.session}: its pane is at the shell with no Stop for the task`
      if (attempt > c.retries) actions.push({...ref, action: 'fail-claim', attempt, reason: `${reason}; ${attempt} failed run(s), retries: ${c.retries}`, retries: c.retries})
      else actions.push({...ref, action: 'requeue-claim', attempt, counted: true, reason, retries: c.retries})
    } else if (c.verdict === 'stale' && !c.paneShows) {
      // The session works on something else and shows no sign of this task: the claim was lost
      // through no fault of the task, so the run does not use a retry.
      actions.push({...ref, action: 'requeue-claim', attempt: c.failures, counted: false, reason: `${c.session} now works on another conversation and shows no sign of the task`, retries: c.retries})
    }
  }

  for (const d of s.done) {
    if (d.archived === 'same') {
      actions.push({action: 'remove-twin', path: d.path, project: d.project, task: d.task})
    } else if (d.archived === null && s.now - d.at >= s.archiveAfterMs) {
      actions.push({action: 'archive-task', finished_at: iso(d.at), project: d.project, task: d.task})
    }
  }

  for (const stray of s.strays) actions.push({action: 'move-sidecar', path: stray.path, project: stray.project, task: stray.task, to: stray.to})

  // The newest checkpoint of a configured session is kept whatever its age: the swap may need it.
  const newest = new Map<string, number>()
  for (const c of s.checkpoints) if (c.configured) newest.set(c.session, Math.max(newest.get(c.session) ?? 0, c.at))
  for (const c of s.checkpoints) {
    if (s.now - c.at < s.retentionMs || newest.get(c.session) === c.at) continue
    actions.push({action: 'prune-checkpoint', at: iso(c.at), path: c.path, session: c.session})
  }

  for (const t of s.temps) if (s.now - t.at >= TEMP_MAX_AGE_MS) actions.push({action: 'prune-temp', path: t.path})
  for (const f of s.fences) if (f.generation <= s.generation - FENCE_KEEP) actions.push({action: 'prune-fence', path: f.path})
  for (const p of s.prompts) if (!p.dispatched && s.now - p.at >= TEMP_MAX_AGE_MS) actions.push({action: 'prune-prompt', path: p.path, project: p.project, task: p.task})

  for (const sig of s.signals) {
    if (sig.claimed || sig.alive) {
      if (!sig.claimed && sig.owned && sig.oldest !== null && s.now - sig.oldest >= s.retentionMs) actions.push({action: 'trim-signals', path: sig.path, session: sig.session, size: sig.size})
      continue
    }

    if (!sig.owned) actions.push({action: 'remove-signals', path: sig.path, session: sig.session})
    else if (sig.oldest !== null && s.now - sig.oldest >= s.retentionMs) actions.push({action: 'trim-signals', path: sig.path, session: sig.session, size: sig.size})
  }

  if (s.events && s.events.size > s.eventsMaxBytes) actions.push({action: 'rotate-events', path: s.events.path, size: s.events.size})
  return actions
}

/** One line per action. */
export function describeJanitorAction(a: JanitorAction): string {
  switch (a.action) {
    case 'requeue-claim': {
      return `${a.project}/${a.task}: back to the inbox (${a.reason})`
    }

    case 'fail-claim': {
      return `${a.project}/${a.task}: moved to failed/ (${a.reason})`
    }

    case 'archive-task': {
      return `${a.project}/${a.task}: archived (done since ${a.finished_at})`
    }

    case 'remove-twin': {
      return `${a.project}/${a.task}: completed an interrupted archive move`
    }

    case 'move-sidecar': {
      return a.to ? `moved ${a.path} to ${a.to}` : `removed ${a.path}`
    }

    case 'prune-checkpoint': {
      return `removed checkpoint ${a.path} (${a.at})`
    }

    case 'prune-temp': {
      return `removed temp file ${a.path}`
    }

    case 'prune-fence': {
      return `removed fence marker ${a.path}`
    }

    case 'prune-prompt': {
      return `removed prompt file ${a.path} (${a.project}/${a.task} is no longer dispatched)`
    }

    case 'remove-signals': {
      return `removed ${a.path} (${a.session} is no longer a session of this pool)`
    }

    case 'trim-signals': {
      return `trimmed ${a.path} to the retention`
    }

    case 'rotate-events': {
      return `rotated ${a.path} (${a.size} bytes)`
    }
  }
}
