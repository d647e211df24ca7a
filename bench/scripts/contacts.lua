-- wrk script: POST /api/v1/contacts/batch with 1,000 new contacts of one day per request, each with a reason, from
-- 20,000 customers, so that the writer looks up each contact's open issue and many join one (for ab-ingest.sh:
-- SCRIPT=bench/scripts/contacts.lua).
local threads = {}
local counter = 1
function setup(thread) thread:set("tid", #threads + 1) table.insert(threads, thread) end
local run = os.getenv("RUN") or tostring(os.time())
local sites = { "north", "south", "east" }
local channels = { "phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person" }
local reasons = { "billing", "delivery", "login", "refund", "card" }
function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/contacts/batch"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer bench-key"
end
function request()
  local parts = {}
  for i = 1, 1000 do
    counter = counter + 1
    local n = counter
    local site = sites[(n % 3) + 1]
    parts[i] = string.format(
      '{"externalId":"k-%s-%d-%d","customer":{"externalId":"cust-%d"},"channel":"%s",' ..
      '"occurredAt":"2026-11-20T10:00:00Z","site":"%s","team":"%s-billing","agent":"agent-%d","reason":"%s","resolved":%s}',
      run, tid, n, (n * 7919) % 20000, channels[(n % 8) + 1], site, site, n % 100, reasons[(n % 5) + 1], (n % 4 == 0) and "false" or "true")
  end
  return wrk.format(nil, nil, nil, '[' .. table.concat(parts, ",") .. ']')
end
