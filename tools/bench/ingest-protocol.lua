-- wrk script for tools/bench/ingest --protocols: posts prepared bodies of one protocol, cycling
-- through those listed in BODIES (lines "path<TAB>file<TAB>content-type<TAB>authorization scheme"),
-- with the token in TOKEN. Counts 2xx answers as done (Loki answers 204).
local bodies = {}
local index = 0
local token = os.getenv("TOKEN")

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    local path, file, ctype, scheme = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
    local f = assert(io.open(file, "rb"))
    bodies[#bodies + 1] = { path = path, body = f:read("*a"), ctype = ctype, scheme = scheme }
    f:close()
  end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  local b = bodies[index]
  return wrk.format("POST", b.path, {
    ["Authorization"] = b.scheme .. " " .. token,
    ["Content-Type"] = b.ctype,
  }, b.body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
