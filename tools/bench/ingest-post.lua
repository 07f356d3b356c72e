-- wrk script for tools/bench/ingest: posts 1,000-record NDJSON bodies, cycling through the
-- bodies listed in BODIES (lines "path<TAB>file"), with the token in TOKEN. DELAY_MS paces each
-- connection (0: as fast as possible).
local bodies = {}
local index = 0
local token = os.getenv("TOKEN")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    local path, file = line:match("([^\t]+)\t(.+)")
    local f = assert(io.open(file, "rb"))
    bodies[#bodies + 1] = { path = path, body = f:read("*a") }
    f:close()
  end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  local b = bodies[index]
  return wrk.format("POST", b.path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/x-ndjson",
  }, b.body)
end

function delay()
  return delay_ms
end

done = function(summary, latency, requests)
  local codes = 0
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
