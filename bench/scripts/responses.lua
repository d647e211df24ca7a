-- wrk script for POST /api/v1/responses: every request carries a unique externalId
-- (run prefix + thread id + counter), so each one is a new durable write (201) and none is a retry (200).
-- Usage: wrk -t1 -c32 -d15s --latency -s responses.lua http://127.0.0.1:5100
-- Set RUN (environment) to make ids unique across runs against the same database; defaults to the clock.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local run = os.getenv("RUN") or tostring(os.time())
local sites = { "north", "south", "east" }
local channels = { "phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person" }
local key = os.getenv("API_KEY") or "bench-key"

function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/responses"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  counter = counter + 1
  local n = counter
  local site = sites[(n % 3) + 1]
  local body = string.format(
    '{"externalId":"w-%s-%d-%d","customer":{"externalId":"cust-%d","email":"c%d@example.com"},' ..
    '"metric":"csat","score":%d,"comment":"Waited 40 minutes and nobody could help",' ..
    '"respondedAt":"2026-11-20T10:00:00Z","site":"%s","team":"%s-billing","agent":"agent-%d","channel":"%s"}',
    run, tid, n, n % 5000, n % 5000, (n % 5) + 1, site, site, n % 100, channels[(n % 8) + 1])
  return wrk.format(nil, nil, nil, body)
end
