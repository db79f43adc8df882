-- wrk script: POST /predict with the reference API's body.
--   wrk -t1 -c32 -d10s -s deploy/loadtest/predict.lua http://127.0.0.1:8080/predict
-- DATE overrides the forecast day (default 2026-03-21, inside the embedded data).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"date": "' .. (os.getenv("DATE") or "2026-03-21") .. '"}'

-- Count answers that are not 200, so a run that "succeeds" with errors shows.
local non200 = 0
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.3f ms  p99 %.3f ms  max %.3f ms  requests %d  errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
