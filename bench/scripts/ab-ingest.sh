#!/usr/bin/env bash
# A/B of single ingest between two Closeloop builds (e.g. before and after an optimisation), interleaved in
# the same run so that a shared CPU affects both alike. Prints req/s and p50/p99 of each repetition.
# Usage: [SCRIPT=bench/scripts/batch.lua [KIND=contacts]] bench/scripts/ab-ingest.sh A/Closeloop.dll B/Closeloop.dll [reps] [seconds] [connections]
set -euo pipefail
A=$1; B=$2; REPS=${3:-3}; SECS=${4:-10}; CONN=${5:-32}
WORK=${WORK:-/tmp/closeloop-ab}; SCRIPT=${SCRIPT:-$(cd "$(dirname "$0")" && pwd)/responses.lua}
mkdir -p "$WORK"; rm -f "$WORK"/a.db* "$WORK"/b.db*
start() { # dll port db
  (cd "$(dirname "$1")" && CLOSELOOP_ADMIN_API_KEY=bench-key exec dotnet "$1" --urls "http://127.0.0.1:$2" \
    --ConnectionStrings:Closeloop="Data Source=$3" > "$3.log" 2>&1) &
  echo $!
}
PA=$(start "$A" 5311 "$WORK/a.db"); PB=$(start "$B" 5312 "$WORK/b.db")
trap 'kill $PA $PB 2>/dev/null || true' EXIT
for p in 5311 5312; do until curl -sf "http://127.0.0.1:$p/health" >/dev/null; do sleep 0.3; done; done
for p in 5311 5312; do RUN=warm$p wrk -t1 -c$CONN -d8s -s "$SCRIPT" "http://127.0.0.1:$p" > /dev/null; done
for r in $(seq "$REPS"); do
  for p in 5311 5312; do
    out=$(RUN=r$r-$p-$$ wrk -t1 -c$CONN -d${SECS}s --latency -s "$SCRIPT" "http://127.0.0.1:$p")
    echo "rep $r $([ $p = 5311 ] && echo A || echo B): $(echo "$out" | awk '/Requests\/sec/{r=$2} /^ +50%/{a=$2} /^ +99%/{b=$2} /Non-2xx/{e=$NF} END{printf "%s req/s p50 %s p99 %s non2xx %s", r, a, b, e+0}')"
  done
done
