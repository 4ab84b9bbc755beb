#!/bin/sh
# Installs the claude-failover user units, with the paths of this machine written into them.
#
# The units as shipped assume three absolute paths (systemd needs absolute paths):
#   /usr/bin/node                                        node
#   %h/.local/share/claude-failover/bin/run.js           the CLI (%h: your home)
#   /usr/bin/tmux                                        tmux
# This script copies every unit to DEST and replaces those three paths, so they are changed in one
# place. Nothing else in the files is changed.
set -eu

usage() {
	cat <<'EOF'
Usage: systemd/install.sh [--node PATH] [--cli PATH] [--tmux PATH] [--dest DIR] [--enable]

Copies the claude-failover systemd user units to DEST with the node, CLI and tmux paths
of this machine written into them.

  --node PATH   node binary          (default: `command -v node`)
  --cli PATH    the CLI's bin/run.js (default: bin/run.js of the checkout holding this script)
  --tmux PATH   tmux binary          (default: `command -v tmux`)
  --dest DIR    where to put them    (default: ${XDG_CONFIG_HOME:-~/.config}/systemd/user)
  --enable      then run: systemctl --user daemon-reload
                          systemctl --user enable --now claude-failover.target
  -h, --help    this help

Afterwards (once): loginctl enable-linger "$USER", so the units run at boot without a login.
Exit codes: 0 done, 2 usage error (bad flag, or a path systemd cannot take), 73 cannot write DEST.
EOF
}

die() {
	echo "install.sh: error: $2" >&2
	exit "$1"
}

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
node=$(command -v node || true)
tmux=$(command -v tmux || true)
cli="$(dirname -- "$here")/bin/run.js"
dest="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
enable=no

while [ $# -gt 0 ]; do
	case $1 in
	--node | --cli | --tmux | --dest)
		[ $# -ge 2 ] || die 2 "$1 needs a value"
		case $1 in
		--node) node=$2 ;;
		--cli) cli=$2 ;;
		--tmux) tmux=$2 ;;
		--dest) dest=$2 ;;
		esac
		shift 2
		;;
	--enable) enable=yes && shift ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && die 2 "unknown argument: $1" ;;
	esac
done

# Only plain absolute paths: systemd splits ExecStart= on spaces and expands % and $ in it.
check_path() {
	[ -n "$2" ] || die 2 "no $1 found; pass --$1 PATH"
	case $2 in
	/*) ;;
	*) die 2 "--$1 must be an absolute path, got '$2'" ;;
	esac
	case $2 in
	*[!A-Za-z0-9._/+@,=-]*) die 2 "--$1 '$2' holds a character systemd would split or expand (only letters, digits and ._/+@,=- are accepted)" ;;
	esac
	[ -x "$2" ] || [ -r "$2" ] || echo "install.sh: warning: $2 ($1) does not exist (yet)" >&2
}
check_path node "$node"
check_path cli "$cli"
check_path tmux "$tmux"

mkdir -p -- "$dest" || die 73 "cannot create $dest"
count=0
for unit in "$here"/claude-failover*.service "$here"/claude-failover*.timer "$here"/claude-failover*.target; do
	[ -f "$unit" ] || continue
	target="$dest/$(basename -- "$unit")"
	# The replacements hold only the characters check_path allows: none is special to sed with | as delimiter.
	sed -e "/^Exec/s|/usr/bin/node |$node |g" \
		-e "/^Exec/s| %h/.local/share/claude-failover/bin/run.js | $cli |g" \
		-e "/^Exec/s|/usr/bin/tmux |$tmux |g" \
		"$unit" >"$target.tmp" || die 73 "cannot write $target"
	mv -f -- "$target.tmp" "$target" || die 73 "cannot write $target"
	count=$((count + 1))
done
echo "installed $count units in $dest (node: $node, cli: $cli, tmux: $tmux)"

if [ "$enable" = yes ]; then
	systemctl --user daemon-reload
	systemctl --user enable --now claude-failover.target
	systemctl --user list-timers 'claude-failover-*'
else
	echo "next: systemctl --user daemon-reload && systemctl --user enable --now claude-failover.target"
fi
