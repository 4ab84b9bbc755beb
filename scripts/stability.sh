#!/usr/bin/env bash
# Issue 19's proof: the whole suite N times in a row (default 5), optionally beside a CPU hog on
# every core (HOG=1), one summary line per run with its wall time and load average.
# Usage: HOG=1 scripts/stability.sh [runs] [summary-file] [test files or folders…]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
summary=${2:-stability-summary.log}
hogs=()
if [ "${HOG:-0}" = 1 ]; then
  for _ in $(seq "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
fi
trap '[ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null' EXIT
node scripts/build.mjs >/dev/null || exit 1
failed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  load_start=$(cut -d' ' -f1 /proc/loadavg)
  report=$(mktemp)
  npx vitest run "${@:3}" --reporter=dot --reporter=json --outputFile.json="$report" >"$report.log" 2>&1
  rc=$?
  counts=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$report" 2>/dev/null || echo "no report")
  echo "run $i: $counts, exit $rc, $(( $(date +%s) - start )) s, load $load_start -> $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$summary"
  [ "$rc" = 0 ] || { failed=1; echo "  log: $report.log" | tee -a "$summary"; }
done
exit $failed
