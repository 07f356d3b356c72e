-- wrk script for tools/bench/ingest: posts 1,000-record NDJSON bodies, cycling through the
-- bodies listed in BODIES (lines "path<TAB>file"), with the token in TOKEN. DELAY_MS paces each
-- connection (0: as fast as possible). RESULT also counts the answers by status (status_200=...).
local bodies = {}
local index = 0
local threads = {}
statuses = {}
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

function setup(thread)
  threads[#threads + 1] = thread
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
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
  -- Answers by status, summed over the threads: goodput counts the 200s only.
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do counts[status] = (counts[status] or 0) + n end
  end
  local by_status = ""
  for status, n in pairs(counts) do by_status = by_status .. string.format(" status_%d=%d", status, n) end
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d duration_us=%d p50_us=%d p99_us=%d%s\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), by_status))
end
