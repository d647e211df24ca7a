-- wrk script: POST a batch of 1,000 new records of one day per request (for ab-ingest.sh: SCRIPT=bench/scripts/batch.lua).
-- KIND=responses (the default): responses/batch, from 200,000 customers.
-- KIND=contacts: contacts/batch, each with a reason, from 20,000 customers, so that the writer looks up each contact's
-- open issue and many join one.
local threads = {}
local counter = 1
function setup(thread) thread:set("tid", #threads + 1) table.insert(threads, thread) end
local run = os.getenv("RUN") or tostring(os.time())
local kind = os.getenv("KIND") or "responses"
local sites = { "north", "south", "east" }
local channels = { "phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person" }
local comments = { "Waited 40 minutes and nobody could help", "Great agent, sorted my card quickly", "The app keeps crashing when I log in", "I was charged twice for the same order, please refund", "Fine" }
local reasons = { "billing", "delivery", "login", "refund", "card" }
function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/" .. kind .. "/batch"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer bench-key"
end
local function response(n, site)
  return string.format(
    '{"externalId":"b-%s-%d-%d","customer":{"externalId":"cust-%d"},' ..
    '"metric":"csat","score":%d,"comment":"%s",' ..
    '"respondedAt":"2026-11-20T10:00:00Z","site":"%s","team":"%s-billing","agent":"agent-%d","channel":"%s"}',
    run, tid, n, (n * 7919) % 200000, (n % 5) + 1, comments[(n % 5) + 1], site, site, n % 100, channels[(n % 8) + 1])
end
local function contact(n, site)
  return string.format(
    '{"externalId":"k-%s-%d-%d","customer":{"externalId":"cust-%d"},"channel":"%s",' ..
    '"occurredAt":"2026-11-20T10:00:00Z","site":"%s","team":"%s-billing","agent":"agent-%d","reason":"%s","resolved":%s}',
    run, tid, n, (n * 7919) % 20000, channels[(n % 8) + 1], site, site, n % 100, reasons[(n % 5) + 1], (n % 4 == 0) and "false" or "true")
end
local record = kind == "contacts" and contact or response
function request()
  local parts = {}
  for i = 1, 1000 do
    counter = counter + 1
    parts[i] = record(counter, sites[(counter % 3) + 1])
  end
  return wrk.format(nil, nil, nil, '[' .. table.concat(parts, ",") .. ']')
end
