-- wrk script: replay presigned request-targets read from a file.
--
--   wrk -t1 -c32 -d10s -s bench/wrk_urls.lua http://127.0.0.1:PORT -- \
--       URLFILE METHOD BODYSIZE ONCE
--
-- URLFILE holds one request-target per line ("/bucket/key?X-Amz-...").
-- Thread t of T takes lines t, t+T, t+2T, ...  With ONCE=1 a thread stops
-- when its lines are used up (PUT and DELETE: each key once), otherwise it
-- cycles through them (GET, HEAD).  NB: with ONCE=1, connections still
-- busy when the list runs out are kept fed with the LAST line until every
-- response is in, so the last key sees a few concurrent duplicates.  BODYSIZE bytes of body are sent with
-- each request (presigned PUT: the signature does not cover the body).
--
-- wrk's own req/s divides by the whole -d duration even when threads stop
-- early, so each thread notes the monotonic time of its first request and of
-- its last response (LuaJIT ffi -> clock_gettime) and done() prints one JSON
-- line: {"requests", "elapsed", "statuses", "sent", "p50_us", "p99_us", ...}.

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  method = args[2]
  local size = tonumber(args[3]) or 0
  once = args[4] == "1"
  local total = tonumber(args[5]) or 1
  body = nil
  if size > 0 or method == "PUT" then body = string.rep("b", size) end
  paths = {}
  local i = 0
  for line in io.lines(file) do
    if i % total == tid then paths[#paths + 1] = line end
    i = i + 1
  end
  idx = 0
  sent = 0
  received = 0
  first = 0
  last = 0
  statuses = {}
  exhausted = false
  stopped = false
  -- wrk calls request() once on thread 0 before the run, to check what it
  -- returns: that call must not use up a line nor start the clock
  verified = tid ~= 0
end

function request()
  if not verified then
    verified = true
    return wrk.format(method, paths[1], nil, body)
  end
  if idx >= #paths then
    if once then
      exhausted = true
      idx = #paths - 1  -- keep wrk fed until response() stops the thread
    else
      idx = 0
    end
  end
  idx = idx + 1
  if sent == 0 then first = now() end
  if not exhausted then sent = sent + 1 end
  return wrk.format(method, paths[idx], nil, body)
end

local function finish()
  if not stopped then
    stopped = true
    -- the driver counts these and interrupts wrk (SIGINT) when every thread
    -- is done, instead of letting it sleep out the rest of -d
    io.write("BENCH_THREAD_DONE\n")
    io.stdout:flush()
  end
  wrk.thread:stop()
end

function response(status, headers, body)
  if exhausted and received >= sent then
    finish()
    return
  end
  received = received + 1
  last = now()
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if exhausted and received >= sent then finish() end
end

function done(summary, latency, requests)
  local total, t0, t1, sent_all = 0, nil, nil, {}
  local merged = {}
  for _, thread in ipairs(threads) do
    local r = thread:get("received")
    total = total + r
    local f, l = thread:get("first"), thread:get("last")
    if r > 0 then
      if t0 == nil or f < t0 then t0 = f end
      if t1 == nil or l > t1 then t1 = l end
    end
    sent_all[#sent_all + 1] = tostring(thread:get("sent"))
    local st = thread:get("statuses")
    for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "elapsed": %.6f, "wrk_requests": %d, "wrk_duration_us": %d, '
    .. '"sent": [%s], "statuses": {%s}, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, '
    .. '"status": %d}}\n',
    total, (t1 or 0) - (t0 or 0), summary.requests, summary.duration,
    table.concat(sent_all, ", "), table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
