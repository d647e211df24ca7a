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
first() { python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("items", d) if isinstance(d, dict) else d; print(json.dumps(d[0]))'; }
alert_json=$(api "$base/api/v1/alerts?limit=1" | first)
alert=$(echo "$alert_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
customer=$(echo "$alert_json" | python3 -c 'import json,sys; c=json.load(sys.stdin)["customer"]; print(c["externalId"] if isinstance(c, dict) else c)')
# A survey link for a customer whom fatigue rules allow to be asked (no open alert, not asked lately).
link=$(api "$base/api/v1/customers?limit=200" | python3 -c '
import json, sys, urllib.request
base, key = sys.argv[1], sys.argv[2]
for c in json.load(sys.stdin):
    body = json.dumps({"customer": {"externalId": c["externalId"]}, "metric": "csat"}).encode()
    request = urllib.request.Request(base + "/api/v1/survey-invitations", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        print(json.load(urllib.request.urlopen(request))["link"]); break
    except urllib.error.HTTPError:
        continue
' "$base" "$key")
cd "$here"
node take.mjs "$base" admin@demo.example 'Screenshots-1' "$link" \
  inbox=/alerts alert=/alerts/$alert customer=/customers/$customer dashboards=/dashboards insights=/insights
