#!/usr/bin/env bash
# Samples a running Closeloop server with perf while wrk drives single ingest, and prints the hottest symbols.
# Usage: [WARMUP=30] bench/scripts/profile.sh [path/to/Closeloop.dll] [seconds]
# Managed frames resolve through the perf map the runtime writes (DOTNET_PerfMapEnabled=1) with W^X off.
set -euo pipefail
DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Closeloop/bin/Release/net10.0/Closeloop.dll}
SECS=${2:-8}
# Tiered compilation takes tens of seconds on a busy 2-core machine; a short warm-up profiles the JIT.
WARMUP=${WARMUP:-30}
PORT=${PORT:-5300}
WORK=${WORK:-/tmp/closeloop-profile}
SCRIPT=${SCRIPT:-$(cd "$(dirname "$0")" && pwd)/responses.lua}
mkdir -p "$WORK" && rm -f "$WORK"/p.db*
cd "$(dirname "$DLL")"
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 CLOSELOOP_ADMIN_API_KEY=bench-key \
  dotnet "$DLL" --urls "http://127.0.0.1:$PORT" --ConnectionStrings:Closeloop="Data Source=$WORK/p.db" > "$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.3; done
RUN=warm$$ wrk -t1 -c32 -d${WARMUP}s -s "$SCRIPT" "http://127.0.0.1:$PORT" > /dev/null
RUN=prof$$ wrk -t1 -c32 -d$((SECS + 4))s --latency -s "$SCRIPT" "http://127.0.0.1:$PORT" > "$WORK/wrk.txt" &
WRK=$!
sleep 2
perf record -F 999 -p "$PID" -o "$WORK/perf.data" -- sleep "$SECS" 2> /dev/null
wait $WRK
grep -E "Requests/sec|50%|99%" "$WORK/wrk.txt"
perf report -i "$WORK/perf.data" --sort dso -q 2> /dev/null | head -8
perf report -i "$WORK/perf.data" --sort sym -q 2> /dev/null | head -${TOP:-60} | cut -c1-160
