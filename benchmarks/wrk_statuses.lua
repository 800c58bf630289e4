-- wrk script of bench_servers.py: send the Authorization header, count every answer that is
-- not a 200 (wrk's own count lets 3xx through), print one JSON line for the harness to read.
-- The header comes from the environment, so that the token is not on wrk's command line.

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- A mixed load: one password grant in every BENCH_GRANT_EVERY requests, the others the read.
local grant_every = tonumber(os.getenv("BENCH_GRANT_EVERY") or "") or 0
local grant_body = os.getenv("BENCH_GRANT_BODY") or ""
if grant_every > 0 then
  local sent = 0
  local grant_headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  function request()
    sent = sent + 1
    if sent % grant_every == 0 then
      return wrk.format("POST", "/token", grant_headers, grant_body)
    end
    return wrk.format()
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    not_200 = not_200 + 1
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("not_200")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests": %d, "duration_us": %d, "not_200": %d, "socket_errors": %d,'
      .. ' "timeouts": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, refused,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
