#!/usr/bin/env bash
# What a durable write costs a minimal endpoint on this machine: bench/RawKestrel plain (reads the JSON, answers 200)
# beside its --durable mode (one writer, group commit, a table shaped like `responses`) with synchronous FULL, NORMAL
# and OFF, each with and without the four secondary indexes. Same wrk script and settings as figure 1, interleaved.
# Usage: bench/scripts/durable-split.sh [reps] [seconds] [connections]
set -euo pipefail
REPS=${1:-3}; SECS=${2:-10}; CONN=${3:-32}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/closeloop-durable-split}; SCRIPT=$ROOT/bench/scripts/responses.lua
mkdir -p "$WORK"
dotnet build -c Release "$ROOT/bench/RawKestrel" -v q -nologo > /dev/null
DLL=$ROOT/bench/RawKestrel/bin/Release/net10.0/RawKestrel.dll
CASES=("plain" "FULL indexes" "NORMAL indexes" "OFF indexes" "FULL none" "NORMAL none" "OFF none")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for i in "${!CASES[@]}"; do
  read -r sync idx <<< "${CASES[$i]}"
  args=(--urls "http://127.0.0.1:$((5410 + i))")
  if [ "$sync" != plain ]; then
    rm -f "$WORK/$i.db"*
    args+=(--durable "$WORK/$i.db" --synchronous "$sync" --indexes "$([ "$idx" = none ] && echo false || echo true)")
  fi
  dotnet "$DLL" "${args[@]}" > "$WORK/$i.log" 2>&1 &
  PIDS+=($!)
done
for i in "${!CASES[@]}"; do until curl -sf "http://127.0.0.1:$((5410 + i))/health" > /dev/null; do sleep 0.3; done; done
for i in "${!CASES[@]}"; do RUN=warm$i wrk -t1 -c"$CONN" -d15s -s "$SCRIPT" "http://127.0.0.1:$((5410 + i))" > /dev/null; done
echo "| rep | case | req/s | p50 | p99 | of plain |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$REPS"); do
  plain=
  for i in "${!CASES[@]}"; do
    out=$(RUN=r$r-$i-$$ wrk -t1 -c"$CONN" -d"${SECS}"s --latency -s "$SCRIPT" "http://127.0.0.1:$((5410 + i))")
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    plain=${plain:-$rps}
    echo "$out" | awk -v r="$r" -v c="${CASES[$i]}" -v p="$plain" -v n="$rps" \
      '/^ +50%/{a=$2} /^ +99%/{b=$2} END{printf "| %s | %s | %.0f | %s | %s | %.2f |\n", r, c, n, a, b, n / p}'
  done
done
