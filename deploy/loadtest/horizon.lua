-- wrk script: issue 11's costly-request attack. Every request asks a
-- Monte-Carlo horizon for a different day, so none is a cache hit:
--   wrk -t1 -c160 -d20s --timeout 30s -s deploy/loadtest/horizon.lua http://127.0.0.1:8080
-- HORIZON and SAMPLES override the default 6 days of 500 paths (the cost
-- cap, 3000 path-days); HORIZON=30 SAMPLES=500 is the original attack, now
-- refused with a 400. Days cycle over 2016..2024, inside the embedded data.
local horizon = os.getenv("HORIZON") or "6"
local samples = os.getenv("SAMPLES") or "500"
local base = os.time{year = 2016, month = 1, day = 1, hour = 12}
local n = 0

function request()
  n = n + 1
  local d = os.date("!%Y-%m-%d", base + (n % 3000) * 86400)
  return wrk.format("GET", "/predict?date=" .. d .. "&horizon=" .. horizon .. "&samples=" .. samples)
end

-- Per-thread counters (globals, read back in done through thread:get).
ok, busy, bad, other, noretry = 0, 0, 0, 0, 0
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 503 then
    busy = busy + 1
    if headers["Retry-After"] == nil then noretry = noretry + 1 end
  elseif status == 400 then bad = bad + 1
  else other = other + 1 end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local c = {ok = 0, busy = 0, bad = 0, other = 0, noretry = 0}
  for _, t in ipairs(threads) do
    for k in pairs(c) do c[k] = c[k] + t:get(k) end
  end
  local total = c.ok + c.busy + c.bad + c.other
  local e = summary.errors
  io.write(string.format("answers %d: 200 %d, 503 %d (%.1f %%, %d without Retry-After), 400 %d, other %d; socket errors: connect %d read %d write %d timeout %d\n",
    total, c.ok, c.busy, total > 0 and 100 * c.busy / total or 0, c.noretry, c.bad, c.other, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
