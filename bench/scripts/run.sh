#!/usr/bin/env bash
# Builds Closeloop, RawKestrel and the harness in Release and runs the benchmark figures.
# Usage: bench/scripts/run.sh [ingest|batch|metrics|alerts|insights|console|postgres|all] [harness options, e.g. --reps 3 --sizes 1000000,10000000]
# postgres (not part of all) needs a PostgreSQL server: --postgres "Host=...;Username=...;Password=..." or CLOSELOOP_BENCH_POSTGRES.
# The product is built from the committed HEAD into a temporary copy, so that edits in progress in the
# working tree neither break the build nor change the binary halfway through a run (SNAPSHOT=0 builds the tree).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERB=${1:-all}; shift || true
if [ "${SNAPSHOT:-1}" = 1 ]; then
  SRC=$(mktemp -d /tmp/closeloop-src.XXXXXX)
  git -C "$ROOT" archive HEAD src Directory.Build.props Directory.Packages.props global.json .editorconfig | tar -x -C "$SRC"
  echo "product: HEAD $(git -C "$ROOT" rev-parse --short HEAD) built in $SRC" >&2
else
  SRC=$ROOT
fi
dotnet build -c Release "$SRC/src/Closeloop" -v q -nologo > /dev/null
dotnet build -c Release "$ROOT/bench/RawKestrel" -v q -nologo > /dev/null
dotnet build -c Release "$ROOT/bench/Closeloop.Bench" -v q -nologo > /dev/null
exec dotnet "$ROOT/bench/Closeloop.Bench/bin/Release/net10.0/Closeloop.Bench.dll" "$VERB" \
  --closeloop "$SRC/src/Closeloop/bin/Release/net10.0/Closeloop.dll" "$@"
