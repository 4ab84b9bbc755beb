// Fixtures for the queue tests: projects as real folders, task files as text, files aged with utimes.
import {mkdirSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {queueDir} from '../../src/lib/queue/layout.js'

export interface Fixture {
  projects: Map<string, {path: string}>
  known: Set<string>
  /** Writes `<project>/.agent-queue/<state>/<id>.md`, aged `ageSeconds` (default 60 s). */
  put: (project: string, state: 'inbox' | 'done' | 'archive' | 'dispatched' | 'failed', id: string, content: string | Buffer, ageSeconds?: number) => string
  inbox: (project: string) => string
  project: (name: string) => {name: string; path: string}
}

/** Projects `names` under `root`, each with an empty queue. */
export function projectsFixture(root: string, names: string[]): Fixture {
  const projects = new Map<string, {path: string}>()
  for (const name of names) {
    const path = join(root, name)
    for (const state of ['inbox', 'dispatched', 'done', 'failed', 'archive'] as const) mkdirSync(queueDir(path, state), {recursive: true})
    projects.set(name, {path})
  }

  const pathOf = (name: string) => (projects.get(name) as {path: string}).path
  return {
    inbox: (name) => queueDir(pathOf(name), 'inbox'),
    known: new Set(names),
    project: (name) => ({name, path: pathOf(name)}),
    projects,
    put(project, state, id, content, ageSeconds = 60) {
      const file = join(queueDir(pathOf(project), state), `${id}.md`)
      writeFileSync(file, content)
      age(file, ageSeconds)
      return file
    },
  }
}

/** Sets a file's atime and mtime to `seconds` ago. */
export function age(path: string, seconds: number): void {
  const when = new Date(Date.now() - seconds * 1000)
  utimesSync(path, when, when)
}

/** A task file: optional frontmatter lines, then the prompt. */
export function taskText(frontmatter: string | undefined, body = 'Do the thing.\n'): string {
  return frontmatter === undefined ? body : `---\n${frontmatter}\n---\n${body}`
}
