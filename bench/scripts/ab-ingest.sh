#!/usr/bin/env bash
# A/B of single ingest between two Closeloop builds (e.g. before and after an optimisation), interleaved in
# the same run so that a shared CPU affects both alike. Prints req/s and p50/p99 of each repetition.
# Usage: [SCRIPT=bench/scripts/batch.lua [KIND=contacts]] [PG="Host=127.0.0.1;Username=postgres;Password=postgres"]
#        bench/scripts/ab-ingest.sh A/Closeloop.dll B/Closeloop.dll [reps] [seconds] [connections]
# With PG set, each build gets a fresh PostgreSQL database (clab_a, clab_b; dropped first, migrated with `migrate`).
set -euo pipefail
A=$1; B=$2; REPS=${3:-3}; SECS=${4:-10}; CONN=${5:-32}
WORK=${WORK:-/tmp/closeloop-ab}; SCRIPT=${SCRIPT:-$(cd "$(dirname "$0")" && pwd)/responses.lua}
mkdir -p "$WORK"; rm -f "$WORK"/a.db* "$WORK"/b.db*
dbargs() { # name -> the product's database arguments
  if [ -n "${PG:-}" ]; then
    printf '%s\n' "--Database:Provider=postgres" "--ConnectionStrings:Closeloop=$PG;Database=clab_$1"
  else
    printf '%s\n' "--ConnectionStrings:Closeloop=Data Source=$WORK/$1.db"
  fi
}
if [ -n "${PG:-}" ]; then
  # Npgsql's Host=…;Username=…;Password=… as libpq's host=… user=… password=…, for psql.
  LIBPQ=$(echo "$PG" | sed 's/Host=/host=/I; s/Port=/port=/I; s/Username=/user=/I; s/Password=/password=/I; s/;/ /g')
  for n in a b; do
    psql "$LIBPQ dbname=postgres" -qc "DROP DATABASE IF EXISTS clab_$n WITH (FORCE)" -c "CREATE DATABASE clab_$n"
  done
  mapfile -t ARGS_A < <(dbargs a); mapfile -t ARGS_B < <(dbargs b)
  dotnet "$A" migrate "${ARGS_A[@]}" > /dev/null; dotnet "$B" migrate "${ARGS_B[@]}" > /dev/null
fi
start() { # dll port name
  local args; mapfile -t args < <(dbargs "$3")
  (cd "$(dirname "$1")" && CLOSELOOP_ADMIN_API_KEY=bench-key exec dotnet "$1" --urls "http://127.0.0.1:$2" "${args[@]}" > "$WORK/$3.log" 2>&1) &
  echo $!
}
PA=$(start "$A" 5311 a); PB=$(start "$B" 5312 b)
trap 'kill $PA $PB 2>/dev/null || true' EXIT
for p in 5311 5312; do until curl -sf "http://127.0.0.1:$p/health" >/dev/null; do sleep 0.3; done; done
for p in 5311 5312; do RUN=warm$p wrk -t1 -c$CONN -d8s -s "$SCRIPT" "http://127.0.0.1:$p" > /dev/null; done
for r in $(seq "$REPS"); do
  for p in 5311 5312; do
    out=$(RUN=r$r-$p-$$ wrk -t1 -c$CONN -d${SECS}s --latency -s "$SCRIPT" "http://127.0.0.1:$p")
    echo "rep $r $([ $p = 5311 ] && echo A || echo B): $(echo "$out" | awk '/Requests\/sec/{r=$2} /^ +50%/{a=$2} /^ +99%/{b=$2} /Non-2xx/{e=$NF} END{printf "%s req/s p50 %s p99 %s non2xx %s", r, a, b, e+0}')"
  done
done
