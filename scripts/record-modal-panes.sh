#!/bin/sh
# Records the first-launch modals of the real Claude Code binary (no network needed: each stops before
# its first request). Usage: record-modals.sh CLAUDE_EXE OUT_DIR
set -eu
exe=$1; out=$2; work=$(mktemp -d); sock=$work/tmux.sock
mkdir -p "$out" "$work/proj"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
run() { # name, home json, settings json, extra env, args
  name=$1; home=$work/home-$name; mkdir -p "$home"
  [ -n "$2" ] && printf '%s' "$2" > "$home/.claude.json"
  [ -n "$3" ] && printf '%s' "$3" > "$home/settings.json"
  tmux -S "$sock" -f /dev/null new-session -d -s "$name" -x 120 -y 40 -c "$work/proj" \
    "env -i PATH=$PATH HOME=$work TERM=xterm-256color CLAUDE_CONFIG_DIR=$home IS_SANDBOX=1 ANTHROPIC_BASE_URL=http://127.0.0.1:9 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 $4 $exe $5; sleep 600"
}
trusted="\"projects\":{\"$work\":{\"hasTrustDialogAccepted\":true}}"
onboarded="\"hasCompletedOnboarding\":true,\"lastOnboardingVersion\":\"2.1.328\",\"theme\":\"dark\""
run theme-picker '' '' 'ANTHROPIC_AUTH_TOKEN=x' ''
run folder-trust "{$onboarded}" '' 'ANTHROPIC_AUTH_TOKEN=x' ''
run bypass-warning "{$onboarded,$trusted}" '' 'ANTHROPIC_AUTH_TOKEN=x' '--dangerously-skip-permissions'
run api-key "{$onboarded,$trusted}" '{"skipDangerousModePermissionPrompt":true}' 'ANTHROPIC_API_KEY=sk-ant-api03-recordmodalsxxxxxxxxxxxxxxxxxxxxxxxxxxxx' ''
run not-started "{$onboarded,$trusted}" '' 'ANTHROPIC_AUTH_TOKEN=x' '--resume 00000000-0000-4000-8000-000000000000'
sleep 12
for s in theme-picker folder-trust bypass-warning api-key not-started; do tmux -S "$sock" capture-pane -p -J -t "=$s:" > "$out/$s.txt"; done
