// `janitor` (SPEC §6, reliability P14): requeue claims whose session no longer works on them,
// archive old done tasks, prune checkpoints, temp files, stale fence markers, prompts and signals,
// rotate events.jsonl. It deletes only what this tool made and names only by its own patterns;
// inbox/ task files and markers are never touched. `--dry-run` lists and changes nothing (and
// takes no lock). Each step is idempotent, so a run killed anywhere is finished by the next one.
import {open} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import type {Config, Project} from '../config.js'
import type {Logger} from '../log.js'
import type {Transaction} from '../lock.js'
import type {State} from '../state.js'
import type {Survey, Tmux} from '../tmux.js'

import {CHECKPOINT_DIR, parseCheckpointName} from '../checkpoint/checkpoint.js'
import {crashpoint} from '../crashpoint.js'
import {listDispatched} from '../dispatch/claims.js'
import {FailoverError} from '../errors.js'
import {appendEvent, EVENTS_FILE} from '../events.js'
import {fsyncDir, renameNoReplace, TEMP_FILE_PATTERN, tempPathFor} from '../fs-atomic.js'
import {lstat, readdirOrEmpty, readFile, rename, stat, unlink} from '../fs.js'
import {LOCK_DIR, readStateSnapshot, withStateLock} from '../lock.js'
import {clearNotified, deliverNotifications, type Notification, type NotifyDeps, taskFailed} from '../notify/notifier.js'
import {dedicatedSessionNames, ownedSessions, poolSessionNames} from '../pool.js'
import {discoverProjects, ensureQueueDir, queueDir, QUEUE_DIR, QUEUE_STATES} from '../queue/layout.js'
import {failures, readLedger} from '../reconcile/ledger.js'
import {claimOrder, judgeClaim, LAUNCH_GRACE_MS} from '../reconcile/plan.js'
import {sessionViews} from '../reconcile/snapshot.js'
import {failRun, moveSidecar, requeueRun} from '../reconcile/task-end.js'
import {isSessionName, readSignals, SIGNALS_DIR, type SignalRecord, signalsPath} from '../signals.js'
import {FENCE_DIR} from '../state.js'
import {readHeadSync} from '../tail.js'
import {describeJanitorAction, type JanitorAction, type JanitorSnapshot, planJanitor} from './plan.js'

export {describeJanitorAction, type JanitorAction, planJanitor} from './plan.js'

export interface JanitorOptions {
  dryRun?: boolean
  wait?: boolean
}

export interface JanitorDeps {
  tmux: Tmux
  now: () => Date
  log: Logger
  notify?: NotifyDeps
}

export interface JanitorResult {
  actions: JanitorAction[]
  dry_run: boolean
  errors: {action: string; path?: string; message: string}[]
  warnings: string[]
}

/** One janitor pass. */
export async function janitor(config: Config, options: JanitorOptions, deps: JanitorDeps): Promise<JanitorResult> {
  // A look without the lock (reads only): a dry run stops here, and so does a run that finds
  // nothing to clean, most of them; anything found is gathered and planned again under the lock.
  const {state, warnings} = await readStateSnapshot(config)
  const {projects, warnings: more} = await discoverProjects(config)
  const look = await gatherJanitor(config, state, projects, deps)
  const planned = planJanitor(look.snapshot)
  if (options.dryRun || planned.length === 0) {
    return {actions: planned, dry_run: options.dryRun === true, errors: [], warnings: [...warnings, ...more, ...look.warnings]}
  }

  return withStateLock(config, {command: 'janitor', log: deps.log, now: deps.now, wait: options.wait}, async (tx) => {
    const {projects, warnings} = await discoverProjects(config)
    const gathered = await gatherJanitor(config, tx.state, projects, deps)
    const actions = planJanitor(gathered.snapshot)
    const result: JanitorResult = {actions: [], dry_run: false, errors: [], warnings: [...tx.warnings, ...warnings, ...gathered.warnings]}
    const before = JSON.stringify(tx.state)
    const offered: Notification[] = []
    const pathOf = new Map(projects.map((p) => [p.name, p.path]))
    for (const action of actions) {
      try {
        if (await applyJanitorAction(config, tx, action, {...deps, offered, pathOf})) result.actions.push(action)
      } catch (error) {
        if (error instanceof FailoverError && error.kind === 'lockLost') throw error
        const message = error instanceof Error ? error.message : String(error)
        deps.log.warn(`janitor: ${describeJanitorAction(action)}: failed: ${message}`)
        result.errors.push({action: action.action, message, ...('path' in action ? {path: action.path} : {})})
      }
    }

    if (result.actions.length > 0) {
      // The audit trail: one line per run with what it did (the per-task moves log their own).
      const counts: Record<string, number> = {}
      for (const a of result.actions) counts[a.action] = (counts[a.action] ?? 0) + 1
      await appendEvent(config.stateDir, 'janitor', {actions: counts, errors: result.errors.length}, deps.now())
    }

    if (offered.length > 0) {
      const delivery = await deliverNotifications(config, tx.state.notified, offered, {log: deps.log, now: deps.now, ...deps.notify})
      tx.state.notified = delivery.notified
    }

    if (JSON.stringify(tx.state) !== before) await tx.commit()
    return result
  })
}

async function info(path: string) {
  try {
    return await lstat(path)
  } catch {
    return undefined
  }
}

/** Reads everything planJanitor needs. Read-only. */
export async function gatherJanitor(config: Config, state: State, projects: Project[], deps: JanitorDeps): Promise<{snapshot: JanitorSnapshot; warnings: string[]}> {
  const now = deps.now()
  const warnings: string[] = []
  const owned = ownedSessions(config)
  const items = await listDispatched(projects)

  // Claims: judged only when tmux answers (without it no session can be said to work or not).
  let claims: JanitorSnapshot['claims'] = null
  let alive = new Set<string>()
  let survey: Survey | undefined
  try {
    survey = await deps.tmux.survey()
  } catch (error) {
    warnings.push(`tmux did not answer (${error instanceof Error ? error.message : String(error)}); claims are left alone this pass`)
  }

  if (survey && !survey.running) warnings.push('no tmux server is running; claims are left alone this pass')
  if (survey?.running) {
    claims = []
    const views = sessionViews(survey.sessions)
    alive = new Set(survey.sessions.filter((s) => !s.paneDead).map((s) => s.name))
    const signals = new Map<string, SignalRecord[]>()
    const owner = new Map<string, string>()
    for (const item of items) {
      const c = item.claim
      if (c?.launched_at && (owner.get(c.session) ?? '') < claimOrder(item)) owner.set(c.session, claimOrder(item))
    }

    const relaunchedAt = state.last_swap ? Date.parse(state.last_swap.at) : null

    for (const item of items) {
      const c = item.claim
      if (!c?.launched_at) continue
      if (!signals.has(c.session)) signals.set(c.session, await readSignals(config.stateDir, c.session, 200))
      const verdict = judgeClaim(c, views[c.session], signals.get(c.session) ?? [], {launchGraceMs: LAUNCH_GRACE_MS, newerClaimOnSession: owner.get(c.session) !== claimOrder(item), now: now.getTime(), relaunchedAt})
      if (verdict !== 'exited' && verdict !== 'stale') continue
      let paneShows = false
      if (verdict === 'stale') {
        // Verify before redelivering (reliability P3): the task id or its conversation id on the
        // visible screen means it may still be running there.
        const text = await deps.tmux.capturePane(c.session, 0).catch(() => undefined)
        paneShows = text === undefined || text.includes(c.conversation_id) || text.includes(`${c.project}/${c.task}`)
      }

      const ledger = await readLedger(item.projectPath, item.id)
      claims.push({
        account: c.account,
        conversation_id: c.conversation_id,
        failures: failures(ledger),
        paneShows,
        project: item.project,
        retries: c.retries,
        runRecorded: ledger.runs.some((r) => r.counted && r.conversation_id === c.conversation_id),
        session: c.session,
        task: item.id,
        verdict,
      })
    }
  }

  // Done tasks, with what is already in archive/, and sidecars left in done/ by an archive move.
  const done: JanitorSnapshot['done'] = []
  const strays: JanitorSnapshot['strays'] = []
  for (const project of projects) {
    const doneDir = queueDir(project.path, 'done')
    const archiveDir = queueDir(project.path, 'archive')
    const names = await readdirOrEmpty(doneDir)
    const present = new Set(names)
    for (const name of names) {
      if (name.startsWith('.')) continue
      if (name.endsWith('.md')) {
        const file = await info(join(doneDir, name))
        if (!file?.isFile()) continue
        const archived = await info(join(archiveDir, name))
        done.push({
          archived: archived ? (archived.ino === file.ino && archived.dev === file.dev ? 'same' : 'other') : null,
          // The move into done/ is a link, which sets the ctime: the ctime is when the task finished.
          at: file.ctimeMs,
          path: join(doneDir, name),
          project: project.name,
          sidecars: names.filter((n) => n.startsWith(`${name}.`)).map((n) => join(doneDir, n)),
          task: name.slice(0, -3),
        })
        if (archived && !(archived.ino === file.ino && archived.dev === file.dev)) warnings.push(`${project.name}/${name.slice(0, -3)}: both done/ and archive/ hold a different ${name}; left as it is`)
        continue
      }

      const match = /^(.+\.md)\.(claim|attempts|reason)$/.exec(name)
      if (!match || present.has(match[1] as string)) continue
      if (!(await info(join(archiveDir, match[1] as string)))) continue
      const target = join(archiveDir, name)
      strays.push({path: join(doneDir, name), project: project.name, task: (match[1] as string).slice(0, -3), to: (await info(target)) ? null : target})
    }
  }

  const configured = new Set([...poolSessionNames(config), ...dedicatedSessionNames(config)])
  const checkpoints: JanitorSnapshot['checkpoints'] = []
  for (const name of await readdirOrEmpty(join(config.stateDir, CHECKPOINT_DIR))) {
    const parsed = parseCheckpointName(name)
    if (parsed) checkpoints.push({at: parsed.at, configured: configured.has(parsed.session), path: join(config.stateDir, CHECKPOINT_DIR, name), session: parsed.session})
  }

  // Temp files of fs-atomic's pattern, in the state folder (and its folders) and the queue folders.
  const temps: JanitorSnapshot['temps'] = []
  const tempDirs = [config.stateDir]
  for (const sub of await readdirOrEmpty(config.stateDir)) {
    if (sub === LOCK_DIR || sub.startsWith('.')) continue
    const subInfo = await info(join(config.stateDir, sub))
    if (!subInfo?.isDirectory()) continue
    tempDirs.push(join(config.stateDir, sub))
    if (sub === 'prompts') for (const p of await readdirOrEmpty(join(config.stateDir, sub))) tempDirs.push(join(config.stateDir, sub, p))
  }

  for (const project of projects) for (const s of QUEUE_STATES) tempDirs.push(join(project.path, QUEUE_DIR, s))
  for (const dir of tempDirs) {
    for (const name of await readdirOrEmpty(dir)) {
      if (!TEMP_FILE_PATTERN.test(name)) continue
      const file = await info(join(dir, name))
      if (file?.isFile()) temps.push({at: file.mtimeMs, path: join(dir, name)})
    }
  }

  const fences: JanitorSnapshot['fences'] = []
  for (const name of await readdirOrEmpty(join(config.stateDir, FENCE_DIR))) {
    if (/^\d+$/.test(name)) fences.push({generation: Number(name), path: join(config.stateDir, FENCE_DIR, name)})
  }

  const dispatchedKeys = new Set(items.map((i) => `${i.project}/${i.id}`))
  const prompts: JanitorSnapshot['prompts'] = []
  for (const project of await readdirOrEmpty(join(config.stateDir, 'prompts'))) {
    for (const name of await readdirOrEmpty(join(config.stateDir, 'prompts', project))) {
      if (!name.endsWith('.md') || name.startsWith('.')) continue
      const file = await info(join(config.stateDir, 'prompts', project, name))
      if (!file?.isFile()) continue
      const task = name.slice(0, -3)
      prompts.push({at: file.mtimeMs, dispatched: dispatchedKeys.has(`${project}/${task}`), path: join(config.stateDir, 'prompts', project, name), project, task})
    }
  }

  const claimedSessions = new Set(items.map((i) => i.claim?.session).filter((s): s is string => s !== undefined))
  const signals: JanitorSnapshot['signals'] = []
  for (const name of await readdirOrEmpty(join(config.stateDir, SIGNALS_DIR))) {
    if (!name.endsWith('.jsonl') || name.startsWith('.')) continue
    const session = name.slice(0, -'.jsonl'.length)
    if (!isSessionName(session)) continue
    const path = join(config.stateDir, SIGNALS_DIR, name)
    const file = await info(path)
    if (!file?.isFile()) continue
    signals.push({alive: alive.has(session), claimed: claimedSessions.has(session), oldest: await oldestRecordTime(path), owned: owned(session), path, session, size: file.size})
  }

  const eventsInfo = await info(join(config.stateDir, EVENTS_FILE))
  return {
    snapshot: {
      archiveAfterMs: config.janitor.archiveAfterMs,
      checkpoints,
      claims,
      done,
      events: eventsInfo?.isFile() ? {path: join(config.stateDir, EVENTS_FILE), size: eventsInfo.size} : null,
      eventsMaxBytes: config.janitor.eventsMaxBytes,
      fences,
      generation: state.generation,
      now: now.getTime(),
      prompts,
      retentionMs: config.janitor.checkpointRetentionMs,
      signals,
      strays,
      temps,
    },
    warnings,
  }
}

/** The time of a signals file's first record (read from its first 4 KiB), or null. */
async function oldestRecordTime(path: string): Promise<number | null> {
  const first = readHeadSync(path, 4096)?.split('\n')[0]
  if (!first) return null
  try {
    const ts = (JSON.parse(first) as {ts?: unknown}).ts
    const at = typeof ts === 'string' ? Date.parse(ts) : Number.NaN
    return Number.isNaN(at) ? null : at
  } catch {
    return null
  }
}

interface ApplyContext extends JanitorDeps {
  offered: Notification[]
  pathOf: Map<string, string>
}

async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

async function applyJanitorAction(config: Config, tx: Transaction, a: JanitorAction, ctx: ApplyContext): Promise<boolean> {
  const now = ctx.now()
  tx.assertHeld()
  switch (a.action) {
    case 'requeue-claim': {
      const projectPath = ctx.pathOf.get(a.project)
      if (!projectPath) return false
      return requeueRun(config, tx, {...a, projectPath}, {counted: a.counted, reason: a.reason}, ctx)
    }

    case 'fail-claim': {
      const projectPath = ctx.pathOf.get(a.project)
      if (!projectPath) return false
      const ok = await failRun(config, tx, {...a, projectPath}, {cause: 'died', reason: a.reason, retries: a.retries, runs: a.attempt}, ctx)
      if (ok) {
        tx.state.notified = clearNotified(tx.state.notified, [`task_failed:${a.project}/${a.task}`])
        ctx.offered.push(taskFailed({account: a.account, project: a.project, reason: a.reason, session: a.session, task: a.task}))
      }

      return ok
    }

    case 'archive-task': {
      const projectPath = ctx.pathOf.get(a.project)
      if (!projectPath) return false
      const doneDir = ensureQueueDir(projectPath, 'done')
      const archiveDir = ensureQueueDir(projectPath, 'archive')
      // Link then unlink: the task is in done/ or archive/ (or both, for an instant) at every moment,
      // so a dependent checked meanwhile stays resolved (the gate looks in both).
      if (!(await renameNoReplace(join(doneDir, `${a.task}.md`), join(archiveDir, `${a.task}.md`)))) return false
      crashpoint('janitor:after-archive-task')
      for (const name of await readdirOrEmpty(doneDir)) {
        if (name.startsWith(`${a.task}.md.`)) await moveSidecar(join(doneDir, name), join(archiveDir, name))
      }

      await appendEvent(config.stateDir, 'task_archived', {project: a.project, task: a.task}, now)
      return true
    }

    case 'remove-twin': {
      const projectPath = ctx.pathOf.get(a.project)
      if (!projectPath) return false
      const [inDone, inArchive] = await Promise.all([info(a.path), info(join(queueDir(projectPath, 'archive'), `${a.task}.md`))])
      if (!inDone || !inArchive || inDone.ino !== inArchive.ino || inDone.dev !== inArchive.dev) return false
      return removeFile(a.path)
    }

    case 'move-sidecar': {
      if (a.to) await moveSidecar(a.path, a.to)
      else await removeFile(a.path)
      return true
    }

    case 'prune-checkpoint':
    case 'prune-temp':
    case 'prune-fence':
    case 'prune-prompt':
    case 'remove-signals': {
      return removeFile(a.path)
    }

    case 'trim-signals': {
      return trimSignals(config, a.session, a.path, now)
    }

    case 'rotate-events': {
      // Shift .1 → .2 then events.jsonl → .1 (each a rename): a run killed in between leaves every
      // line in one of the files, and the next run finishes the shift. A command appending at that
      // moment writes into the file it opened, which is kept.
      for (let n = 2; n >= 1; n--) {
        const from = n === 1 ? a.path : `${a.path}.${n - 1}`
        await rename(from, `${a.path}.${n}`).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error
        })
        crashpoint(`janitor:after-rotate-${n}`)
      }

      await appendEvent(config.stateDir, 'events_rotated', {previous: `${a.path}.1`, size: a.size}, now)
      return true
    }
  }
}

/**
 * Drops a signals file's records older than the retention, keeping the newest of each event kind
 * (the conversation a session runs is known from its last SessionStart, however old).
 * Hooks append to this file without the lock: the rewrite is skipped when the file grew while it
 * was read, and planned only for sessions with no claim in flight, so a record lost in the few
 * microseconds between the size check and the rename cannot be a task's Stop.
 */
async function trimSignals(config: Config, session: string, path: string, now: Date): Promise<boolean> {
  const before = await stat(path).catch(() => undefined)
  if (!before) return false
  // Larger than any other read: a busy session's records between two janitor runs.
  const text = await readFile(path, 'utf8', {maxBytes: 256 * 1024 * 1024})
  const cutoff = now.getTime() - config.janitor.checkpointRetentionMs
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const lastOfKind = new Map<string, number>()
  lines.forEach((line, i) => {
    try {
      lastOfKind.set((JSON.parse(line) as SignalRecord).event, i)
    } catch {
      // A torn line: not kept.
    }
  })
  const kept = lines.filter((line, i) => {
    try {
      const record = JSON.parse(line) as SignalRecord
      return Date.parse(record.ts) >= cutoff || lastOfKind.get(record.event) === i
    } catch {
      return false
    }
  })
  if (kept.length === lines.length) return false
  // The new file is written and synced aside first, so the window between the size check and the
  // rename is one stat and one rename long.
  const temp = tempPathFor(signalsPath(config.stateDir, session))
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(kept.map((l) => `${l}\n`).join(''))
      await handle.sync()
    } finally {
      await handle.close()
    }

    const after = await stat(path).catch(() => undefined)
    if (!after || after.size !== before.size || after.mtimeMs !== before.mtimeMs) return false
    await rename(temp, path)
  } finally {
    await unlink(temp).catch(() => {})
  }

  await fsyncDir(dirname(path))
  return true
}
