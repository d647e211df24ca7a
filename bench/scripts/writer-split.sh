#!/usr/bin/env bash
# Splits the server CPU of single ingest between the request pipeline, the hand-off to the writer and the
# writer itself (finding F9 in docs/benchmarks.md). Starts five servers and drives them in turn, interleaved:
#   raw      bench/RawKestrel (reads the JSON, answers 200)
#   pipeline the probe build with CL_ABLATE=1: parse, validate, analyse, answer; nothing queued
#   handoff  the probe build with CL_ABLATE=2: the same, queued to the writer, which answers without writing
#   full     the probe build, writing as the product does (synchronous=FULL)
#   normal   the same with Database:SqliteSynchronous=NORMAL (no fsync at commit)
# and prints req/s and the server's CPU per request (utime + stime from /proc/PID/stat over the run).
# The probe build is HEAD with bench/patches/writer-probes.patch applied; it also prints the writer's group size
# and wall time per row to WORK/full.log.
# Usage: bench/scripts/writer-split.sh [reps] [seconds] [connections]
set -euo pipefail
REPS=${1:-3}; SECS=${2:-10}; CONN=${3:-32}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/closeloop-split}; SCRIPT=$ROOT/bench/scripts/responses.lua
rm -rf "$WORK" && mkdir -p "$WORK"
git -C "$ROOT" worktree add -q --detach "$WORK/src" HEAD
trap 'kill $(jobs -p) 2>/dev/null || true; git -C "$ROOT" worktree remove --force "$WORK/src"' EXIT
git -C "$WORK/src" apply "$ROOT/bench/patches/writer-probes.patch"
dotnet publish "$WORK/src/src/Closeloop" -c Release -o "$WORK/probe" -v q -nologo > /dev/null
dotnet publish "$ROOT/bench/RawKestrel" -c Release -o "$WORK/raw" -v q -nologo > /dev/null
declare -A PORT=([raw]=5351 [pipeline]=5352 [handoff]=5353 [full]=5354 [normal]=5355) PID=()
start() { # name env... -- args...
  local name=$1; shift
  (cd "$WORK/probe" && exec env CLOSELOOP_ADMIN_API_KEY=bench-key "$@" --urls "http://127.0.0.1:${PORT[$name]}" \
    --ConnectionStrings:Closeloop="Data Source=$WORK/$name.db" > "$WORK/$name.log" 2>&1) &
  PID[$name]=$!
}
(cd "$WORK/raw" && exec dotnet RawKestrel.dll --urls "http://127.0.0.1:${PORT[raw]}" > "$WORK/raw.log" 2>&1) & PID[raw]=$!
start pipeline CL_ABLATE=1 dotnet Closeloop.dll
start handoff CL_ABLATE=2 dotnet Closeloop.dll
start full dotnet Closeloop.dll
start normal dotnet Closeloop.dll --Database:SqliteSynchronous=NORMAL
NAMES="raw pipeline handoff full normal"
for n in $NAMES; do until curl -sf "http://127.0.0.1:${PORT[$n]}/health" > /dev/null; do sleep 0.3; done; done
for n in $NAMES; do RUN=warm-$n-$$ wrk -t1 -c"$CONN" -d20s -s "$SCRIPT" "http://127.0.0.1:${PORT[$n]}" > /dev/null; done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "| rep | case | req/s | server CPU µs/request |"
echo "|---|---|---|---|"
for r in $(seq "$REPS"); do
  for n in $NAMES; do
    t0=$(cpu "${PID[$n]}")
    out=$(RUN=r$r-$n-$$ wrk -t1 -c"$CONN" -d"${SECS}"s -s "$SCRIPT" "http://127.0.0.1:${PORT[$n]}")
    t1=$(cpu "${PID[$n]}")
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}'); reqs=$(echo "$out" | awk '/requests in/{print $1}')
    echo "| $r | $n | $rps | $(awk -v a="$t0" -v b="$t1" -v q="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/q}') |"
  done
done
echo; echo "writer (full):"; grep PROBE "$WORK/full.log" | tail -3; echo "writer (normal):"; grep PROBE "$WORK/normal.log" | tail -3
