#!/usr/bin/env bash
# graceful-switch.sh: switch the pool to another account by hand. What the old graceful-switch.sh
# did, built on claude-failover: look first (status, quota check --dry-run, the swap plan), ask,
# then `swap --wait`, which kills each session, re-points the links and resumes every
# conversation under the other account, journaled and under the lock like an automatic swap.
set -eu

usage() {
	cat <<'EOF'
Usage: graceful-switch.sh [OPTIONS] [ACCOUNT]

Switch the pool to ACCOUNT (default: the next account in config order that is not
exhausted), gracefully: show the pool (status), each session's quota verdict
(quota check --dry-run) and the swap plan (swap --dry-run), ask for confirmation,
then run `claude-failover swap --wait [--to ACCOUNT]` and show the result.

Options:
  -y, --yes            do not ask (needed when stdin is not a terminal)
  --reason TEXT        why, for the journal, the events and the notification
                       (default: "graceful-switch.sh by $USER")
  --config PATH        claude-failover config (default: $CLAUDE_FAILOVER_CONFIG, then
                       ~/.config/claude-failover/config.yaml)
  -h, --help           this help

The CLI is bin/run.js next to this script, or $CLAUDE_FAILOVER_BIN when set.

Exit codes: those of the CLI's swap (0 switched; 75 every account is exhausted:
nothing to switch to, nothing changed; 78 the target's shared links are broken; …).
0 also when declined at the prompt (nothing changed, as asked). 2: usage error, or
no terminal to confirm on without --yes.

Examples:
  graceful-switch.sh                 # to the next available account, after confirmation
  graceful-switch.sh backup          # to the account named backup
  graceful-switch.sh --yes --reason "main is needed for a demo" backup
EOF
}

die() {
	echo "graceful-switch.sh: error: $2" >&2
	exit "$1"
}

self=$(readlink -f -- "$0" 2>/dev/null || printf '%s' "$0")
cli=${CLAUDE_FAILOVER_BIN:-$(dirname -- "$self")/run.js}

yes=no
config=()
to=()
reason="graceful-switch.sh by ${USER:-$(id -un)}"
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage && exit 0 ;;
	-y | --yes) yes=yes && shift ;;
	--config | --reason)
		[ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
		if [ "$1" = --config ]; then config=(--config "$2"); else reason=$2; fi
		shift 2
		;;
	--config=*) config=(--config "${1#*=}") && shift ;;
	--reason=*) reason=${1#*=} && shift ;;
	-*) die 2 "unknown option: $1 (see --help)" ;;
	*)
		[ ${#to[@]} -eq 0 ] || die 2 "unexpected argument: $1 (one ACCOUNT at most; see --help)"
		to=(--to "$1")
		shift
		;;
	esac
done

# Without a terminal nobody can answer the question: refuse rather than switch unasked.
[ "$yes" = yes ] || [ -t 0 ] || die 2 "stdin is not a terminal: refusing to switch accounts without confirmation; pass --yes"

cf() { "$cli" "$@" ${config[@]+"${config[@]}"}; }
section() { printf '\n== %s\n' "$1"; }

# 1. Look first. Status must work (a bad config stops here with its code); the quota verdicts are
# context only.
section "status"
cf status
section "quota check --dry-run"
cf quota check --dry-run || echo "graceful-switch.sh: quota check --dry-run failed (exit $?); going on" >&2

# 2. The plan. A dry run changes nothing; `skipped` says there is no account to go to.
section "swap plan"
rc=0
plan=$(cf swap --dry-run --json ${to[@]+"${to[@]}"}) || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
summary=$(printf '%s' "$plan" | node -e '
	let text = ""
	process.stdin.on("data", (c) => (text += c)).on("end", () => {
		const p = JSON.parse(text)
		if (p.skipped) return console.log(`skip ${p.skipped}`)
		console.log(`go ${p.from ?? "?"} -> ${p.to}: ${p.sessions.length} session(s)`)
		for (const s of p.sessions) console.log(`  ${s.name} (${s.kind}): ${s.resumed ? `resumes ${s.conversation_id}` : `stays at its shell${s.reason ? `: ${s.reason}` : ""}`}`)
	})')
case $summary in
skip*)
	# The CLI's own code for "every account is exhausted": try again later. Nothing was changed.
	echo "graceful-switch.sh: nothing to switch to: ${summary#skip }" >&2
	exit 75
	;;
esac
summary=${summary#go }
printf 'switch %s\n' "$summary"

# 3. Ask.
if [ "$yes" != yes ]; then
	printf 'Switch the pool %s? [y/N] ' "${summary%%:*}" >&2
	answer=
	read -r answer || true
	case $answer in
	y | Y | yes | YES | Yes) ;;
	*)
		# Declining is an answer, not a failure: exit 0 with nothing changed (1 means a bug).
		echo "graceful-switch.sh: not switched (declined); nothing changed" >&2
		exit 0
		;;
	esac
fi

# 4. Switch. --wait: a timer's job may hold the lock for a moment; wait for it, do not give up.
section "swap"
rc=0
cf swap --wait --reason "$reason" ${to[@]+"${to[@]}"} || rc=$?
section "status after the switch"
cf status || true
exit "$rc"
