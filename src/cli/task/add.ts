import {defineCommand, flag} from '../../lib/command.js'
import {fail} from '../../lib/errors.js'

export default defineCommand({
  aliases: ['task-add'],
  args: [{description: 'file holding the prompt (Markdown); stdin when absent or "-"', name: 'file'}],
  description:
    "Writes one task into a project's inbox atomically (a temp file, fsync, then link into inbox/<id>.md: a dispatch pass never sees half a task, and an existing task is never replaced). The prompt comes from FILE or stdin, UTF-8 text of at most 1 MiB. A prompt that starts with frontmatter (---, priority, depends_on, timeout, cwd, retries, ---) keeps it; the flags add keys to it, and a flag that disagrees with the frontmatter is refused naming both. The file is checked by the same rules a dispatch pass applies, so a task added this way is never .invalid, and a task that would close a dependency cycle (itself included) is refused. Takes no lock. Then it starts a dispatch pass at once, detached (its output in state_dir/dispatch.last.log), so the task reaches an idle session in about a second; one pass already requested covers it, and --no-dispatch or dispatcher.on_add: false leaves it to the next tick. Prints the task's path. Exit 65 for a bad task or a taken id, 66 for a prompt file that cannot be read.",
  examples: [
    'echo "Fix the failing test in src/app.ts" | <%= config.bin %> task add --project web',
    '<%= config.bin %> task add --project web --id deploy --depends-on build-base --depends-on infra:migrate --priority 10 deploy.md',
    '<%= config.bin %> task add --project api --timeout 90m --cwd services/api --retries 1 --json < task.md',
  ],
  flags: {
    cwd: flag.string({description: 'working folder, relative to the project root (must stay inside it)', helpValue: 'DIR'}),
    'depends-on': flag.strings({description: 'a task that must be done first: task_id (same project) or project:task_id; repeatable', helpValue: 'TASK'}),
    id: flag.string({description: 'task id (letters, digits, ., _ and -); default: t-<date>-<time>-<random>', helpValue: 'ID'}),
    'no-dispatch': flag.boolean({description: 'do not start a dispatch pass now; the task waits for the next tick'}),
    priority: flag.optionalInteger({description: 'higher is dispatched first (default 0)', helpValue: 'N'}),
    project: flag.string({description: 'the project whose inbox gets the task (required)', helpValue: 'NAME', required: true}),
    retries: flag.optionalInteger({description: 'times the task is put back in the inbox when its session dies (default 0)', helpValue: 'N', min: 0}),
    timeout: flag.string({description: 'time limit, overriding dispatcher.task_timeout, e.g. 90m', helpValue: 'DURATION'}),
  },
  id: 'task:add',
  async run(ctx) {
    const {cwd, id, priority, project, retries, timeout} = ctx.flags
    if (!project) throw fail('usage', 'missing --project: which inbox gets the task; e.g. claude-failover task add --project web task.md')
    const {file} = ctx.args
    if ((file === undefined || file === '-') && process.stdin.isTTY) ctx.log.info('reading the prompt from the terminal; end it with Ctrl-D')
    const prompt = {stdin: process.stdin, ...(file === undefined ? {} : {file})}
    const config = await ctx.config()
    const {addTask} = await import('../../lib/queue/add.js')
    const added = await addTask(config, {cwd, dependsOn: ctx.flags['depends-on'], id, priority, project, prompt, retries, timeout}, {now: () => new Date()})
    const {dispatchSoon} = await import('../../lib/dispatch/request.js')
    return {...added, dispatch: await dispatchSoon(config, {skip: ctx.flags['no-dispatch']}, {env: process.env, now: () => new Date()})}
  },
  render: (result) => result.path,
  summary: "Add a task to a project's inbox (prompt from a file or stdin).",
})
