#!/usr/bin/env bash
# launch-agent.sh: start one task now. What the old launch-agent.sh did, built on claude-failover:
# the task goes into the project's inbox (`task add`, atomic), then one dispatch pass runs at once
# (`dispatch --wait`) and hands it to a free pool session. The prompt is never typed by this
# script: it goes from FILE or stdin into the task file; the session's shell reads it from there.
set -eu

usage() {
	cat <<'EOF'
Usage: launch-agent.sh [OPTIONS] PROJECT [FILE|-]

Start one task now: add it to PROJECT's inbox (claude-failover task add), then run one
dispatch pass (claude-failover dispatch --wait) and print the session it went to.
The prompt is read from FILE, or from stdin when FILE is absent or "-".

Options (passed to `task add`):
  --id ID              task id (default: generated, e.g. t-20261121-073015-3f2a)
  --priority N         high | normal | low, or an integer; higher goes first (high = 100)
  --depends-on TASK    a task that must be done first (repeatable)
  --timeout DURATION   time limit, e.g. 90m
  --retries N          times it is put back when its session dies
  --cwd DIR            working folder, relative to the project root
Other options:
  --config PATH        claude-failover config (default: $CLAUDE_FAILOVER_CONFIG, then
                       ~/.config/claude-failover/config.yaml)
  -h, --help           this help

The CLI is bin/run.js next to this script, or $CLAUDE_FAILOVER_BIN when set.

Output: one line on stdout, "PROJECT/TASK -> SESSION (ACCOUNT)", when it was dispatched.
When no session could take it now (pool full, dependencies not done, every account
exhausted), it says why on stderr; the task stays in the inbox and the dispatch timer
starts it later.

Exit codes: those of the CLI: task add's when it fails, else dispatch's (0 also when
the task was queued but could not start yet). 2: usage error.

Examples:
  launch-agent.sh web fix-login.md
  echo "Fix the failing test in src/app.ts" | launch-agent.sh --priority high web
  launch-agent.sh --id deploy --depends-on build web deploy.md
EOF
}

die() {
	echo "launch-agent.sh: error: $2" >&2
	exit "$1"
}

self=$(readlink -f -- "$0" 2>/dev/null || printf '%s' "$0")
cli=${CLAUDE_FAILOVER_BIN:-$(dirname -- "$self")/run.js}

# Reads one field (a dotted path) of the JSON document on stdin; empty when absent.
json_get() {
	node -e '
		let text = ""
		process.stdin.on("data", (c) => (text += c)).on("end", () => {
			let v = JSON.parse(text)
			for (const k of process.argv[1].split(".")) v = v == null ? v : v[k]
			process.stdout.write(v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v))
		})' "$1"
}

config=()
add=()
positional=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage && exit 0 ;;
	--config | --id | --priority | --depends-on | --timeout | --retries | --cwd)
		[ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
		flag=$1 value=$2
		shift 2
		;;
	--config=* | --id=* | --priority=* | --depends-on=* | --timeout=* | --retries=* | --cwd=*)
		flag=${1%%=*} value=${1#*=}
		shift
		;;
	--)
		shift
		positional+=("$@")
		break
		;;
	-) positional+=("$1") && shift && continue ;;
	-*) die 2 "unknown option: $1 (see --help)" ;;
	*) positional+=("$1") && shift && continue ;;
	esac
	case $flag in
	--config) config=(--config "$value") ;;
	--priority)
		case $value in
		high) value=100 ;;
		normal) value=0 ;;
		low) value=-100 ;;
		esac
		add+=("--priority=$value")
		;;
	*) add+=("$flag=$value") ;;
	esac
done

[ ${#positional[@]} -ge 1 ] || die 2 "missing PROJECT (see --help)"
[ ${#positional[@]} -le 2 ] || die 2 "unexpected argument: ${positional[2]} (see --help)"
project=${positional[0]}
file=${positional[1]:--}

[ "$file" != - ] || [ ! -t 0 ] || echo "launch-agent.sh: reading the prompt from the terminal; end it with Ctrl-D" >&2

# 1. Into the inbox. task add checks the file by the rules dispatch applies and prints the task.
rc=0
added=$("$cli" task add --json --project "$project" ${add[@]+"${add[@]}"} ${config[@]+"${config[@]}"} -- "$file") || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
task=$(printf '%s' "$added" | json_get task)
echo "launch-agent.sh: queued $project/$task ($(printf '%s' "$added" | json_get path))" >&2

# 2. One dispatch pass now, waiting for the lock rather than leaving it to the next timer tick.
rc=0
result=$("$cli" dispatch --wait --json ${config[@]+"${config[@]}"}) || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "launch-agent.sh: $project/$task is in the inbox, but the dispatch pass failed (exit $rc); the dispatch timer retries it" >&2
	exit "$rc"
fi

# 3. Where it went, or why it waits.
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
placed=$(printf '%s' "$result" | node -e '
	let text = ""
	process.stdin.on("data", (c) => (text += c)).on("end", () => {
		const doc = JSON.parse(text)
		const [project, task] = process.argv.slice(1)
		const mine = (e) => e.project === project && e.task === task
		const d = doc.dispatched.find(mine)
		if (d) return console.log(`ok ${project}/${task} -> ${d.session} (${d.account})`)
		const b = [...doc.blocked, ...doc.invalid].find(mine)
		if (b) return console.log(`wait waits in the inbox: ${b.reason}`)
		if (doc.paused_until) return console.log(`wait waits in the inbox: every account is exhausted until ${doc.paused_until}`)
		console.log("wait waits in the inbox: no free pool session now (tasks of higher priority, or the pool is at autonomous.max)")
	})' "$project" "$task")
case $placed in
ok*) printf '%s\n' "${placed#ok }" ;;
*) echo "launch-agent.sh: $project/$task ${placed#wait }; the dispatch timer starts it later" >&2 ;;
esac
exit 0
