#!/usr/bin/env bash
# Refreshes the README's screenshots: runs Closeloop on a fresh SQLite file with the demo month, signs in as an
# admin and captures the main pages with Debian's Chromium (playwright-core from npm).
# Usage: docs/screenshots/take.sh   (needs /usr/bin/chromium, node and npm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
work=$(mktemp -d); port=5390; base="http://127.0.0.1:$port"; key="shots-$RANDOM$RANDOM"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
dotnet build -c Release "$root/src/Closeloop" -o "$work/app" >/dev/null
dll="$work/app/Closeloop.dll"; db="Data Source=$work/demo.db"
dotnet "$dll" demo --ConnectionStrings:Closeloop="$db" >/dev/null
dotnet "$dll" user create --email admin@demo.example --password 'Screenshots-1' --role admin --name 'Ada Admin' \
  --ConnectionStrings:Closeloop="$db" >/dev/null
CLOSELOOP_ADMIN_API_KEY=$key dotnet "$dll" serve --urls "$base" --ConnectionStrings:Closeloop="$db" >"$work/server.log" 2>&1 &
server=$!; trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
until curl -sf "$base/health" >/dev/null; do sleep 0.5; done
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
customer=$(api "$base/api/v1/customers?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["externalId"])')
alert=$(api "$base/api/v1/alerts?limit=1" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("items", d) if isinstance(d, dict) else d; print(d[0]["id"])')
link=$(api -X POST "$base/api/v1/survey-invitations" -d "{\"customer\":{\"externalId\":\"$customer\"},\"metric\":\"csat\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["link"])')
cd "$here"
node take.mjs "$base" admin@demo.example 'Screenshots-1' "$link" \
  inbox=/alerts alert=/alerts/$alert customer=/customers/$customer dashboards=/dashboards insights=/insights \
  rules=/admin/rules
