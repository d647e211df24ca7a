-- wrk script: POST /api/v1/responses/batch with 1,000 new responses of one day per request (for ab-ingest.sh: SCRIPT=bench/scripts/batch.lua).
local threads = {}
local counter = 1
function setup(thread) thread:set("tid", #threads + 1) table.insert(threads, thread) end
local run = os.getenv("RUN") or tostring(os.time())
local sites = { "north", "south", "east" }
local channels = { "phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person" }
local comments = { "Waited 40 minutes and nobody could help", "Great agent, sorted my card quickly", "The app keeps crashing when I log in", "I was charged twice for the same order, please refund", "Fine" }
function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/responses/batch"
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
      '{"externalId":"b-%s-%d-%d","customer":{"externalId":"cust-%d"},' ..
      '"metric":"csat","score":%d,"comment":"%s",' ..
      '"respondedAt":"2026-11-20T10:00:00Z","site":"%s","team":"%s-billing","agent":"agent-%d","channel":"%s"}',
      run, tid, n, (n * 7919) % 200000, (n % 5) + 1, comments[(n % 5) + 1], site, site, n % 100, channels[(n % 8) + 1])
  end
  return wrk.format(nil, nil, nil, '[' .. table.concat(parts, ",") .. ']')
end
