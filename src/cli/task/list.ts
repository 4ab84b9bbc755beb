import {defineCommand, flag} from '../../lib/command.js'
import {fail} from '../../lib/errors.js'
import {LIST_STATES, type ListState} from '../../lib/queue/layout.js'

export default defineCommand({
  aliases: ['task-list'],
  description:
    "Lists a project's tasks by state: inbox (waiting), blocked and invalid (with the reason from the marker the last dispatch pass wrote), dispatched (with the claim: session, account, time), done, failed and archive. Read-only: takes no lock and writes nothing.",
  examples: ['<%= config.bin %> task list --project web', '<%= config.bin %> task list --project web --state blocked', "<%= config.bin %> task list --project web --json | jq '.tasks[] | select(.state == \"invalid\")'"],
  flags: {
    project: flag.string({description: 'the project to list (required)', helpValue: 'NAME', required: true}),
    state: flag.string({description: 'only tasks in this state', options: LIST_STATES}),
  },
  id: 'task:list',
  async run(ctx) {
    const {project, state} = ctx.flags
    if (!project) throw fail('usage', 'missing --project: whose tasks to list; e.g. claude-failover task list --project web')

    const {listTasks} = await import('../../lib/queue/list.js')
    return listTasks(await ctx.config(), {project, ...(state ? {state: state as ListState} : {})})
  },
  async render(result) {
    const {colour, table} = await import('../../lib/render.js')
    if (result.tasks.length === 0) return colour.dim(`no ${result.state ? `${result.state} ` : ''}tasks in ${result.project}`)
    const paint: Record<string, (text: string) => string> = {blocked: colour.warn, dispatched: colour.good, failed: colour.bad, invalid: colour.bad}
    // A dispatched task runs since its claim; a finished one only ran then.
    const where = (t: (typeof result.tasks)[number]) => (t.session ? `${t.state === 'dispatched' ? '' : 'ran on '}${t.session} (${t.account}) ${t.state === 'dispatched' ? 'since' : 'dispatched'} ${t.claimed_at}` : '')
    return table(
      ['task', 'state', 'priority', 'depends on', 'session / reason'],
      result.tasks.map((t) => [t.task, (paint[t.state] ?? ((s: string) => s))(t.state), t.priority === undefined ? '-' : String(t.priority), t.depends_on?.length ? t.depends_on.join(', ') : '-', t.reason ?? where(t)]),
    )
  },
  summary: "List a project's tasks by state, with the reasons.",
})
