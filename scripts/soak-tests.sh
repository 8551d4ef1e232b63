#!/usr/bin/env bash
# Soak the test suite under load (issue 21: "fresh-clone `npm test` passes 5 runs in a row on a 2-core machine
# with both cores busy"). Clones this checkout's HEAD (or --rev) fresh into a temporary directory with ../shared
# beside it as .ci/run expects, installs with `npm ci` once, starts BUSY busy loops (default: one per core), runs
# `npm test` N times in a row and logs each run's result, duration, load and failing test names. The busy loops
# are killed on any exit (trap), and so is a run still going when the script is interrupted.
#
# Usage: scripts/soak-tests.sh [-n RUNS] [--busy K] [--rev REV] [--out DIR] [--keep]
#   -n RUNS     runs of `npm test` (default 5)
#   --busy K    busy loops during the runs (default: the number of cores)
#   --rev REV   the commit to clone (default HEAD of this checkout)
#   --out DIR   where the logs go (default /tmp/tessera-soak-<time>); summary.txt holds one line per run
#   --keep      keep the clone (default: removed at the end)
# The shared data sets are taken from $TESSERA_SHARED (default: ../shared beside this checkout).
# Exit status: 0 when every run passed, 1 otherwise.
set -uo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
runs=5
busy="$(nproc)"
rev=HEAD
out="/tmp/tessera-soak-$(date -u +%Y%m%dT%H%M%S)"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) runs="$2"; shift 2 ;;
    --busy) busy="$2"; shift 2 ;;
    --rev) rev="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
shared="${TESSERA_SHARED:-$(cd "$here/.." && pwd)/shared}"
[ -d "$shared/data" ] || { echo "no shared data sets at $shared/data: set TESSERA_SHARED" >&2; exit 2; }

mkdir -p "$out"
summary="$out/summary.txt"
work="$(mktemp -d /tmp/tessera-soak-clone.XXXXXX)"
loops=()
run_pid=""

cleanup() {
  for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done
  # A run still going (interrupted): its whole process group, as the test support does for its children.
  [ -n "$run_pid" ] && kill -KILL -- "-$run_pid" 2>/dev/null
  if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "clone kept at $work/repo"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sha="$(git -C "$here" rev-parse "$rev")" || exit 2
git clone -q "$here" "$work/repo" && git -C "$work/repo" checkout -q "$sha" || exit 2
ln -s "$shared" "$work/shared"
echo "soak of $sha: $runs runs, $busy busy loops, logs in $out" | tee "$summary"

# Install once, before the load starts (as .ci/run does; the runs below are `npm test` only).
if ! (cd "$work/repo" && npm ci --no-audit --no-fund) > "$out/npm-ci.log" 2>&1; then
  echo "npm ci failed: see $out/npm-ci.log" | tee -a "$summary"
  exit 1
fi

for _ in $(seq 1 "$busy"); do
  node -e 'for (;;) {}' &
  loops+=("$!")
done

failed=0
for i in $(seq 1 "$runs"); do
  log="$out/run-$i.log"
  start=$(date +%s)
  # Its own process group (setsid), so an interrupted run can be killed whole.
  (cd "$work/repo" && CI=true exec setsid npm test) > "$log" 2>&1 &
  run_pid=$!
  wait "$run_pid"
  rc=$?
  run_pid=""
  secs=$(( $(date +%s) - start ))
  # vitest's "FAIL  file > test" lines, colours stripped: the failing tests by name.
  names="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *FAIL ' | sed -E 's/^ *FAIL +//' | sort -u)"
  files="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *Test Files ' | tail -1 | sed -E 's/^ *//')"
  echo "run $i rc=$rc ${secs}s load $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M) | ${files:-no vitest summary (typecheck or lint failed?)}" | tee -a "$summary"
  if [ "$rc" != 0 ]; then
    failed=1
    if [ -n "$names" ]; then printf '%s\n' "$names" | sed 's/^/    FAIL /' | tee -a "$summary"; fi
  fi
done

if [ "$failed" = 0 ]; then echo "all $runs runs passed" | tee -a "$summary"; else echo "some runs failed: see $summary" | tee -a "$summary"; fi
exit "$failed"
