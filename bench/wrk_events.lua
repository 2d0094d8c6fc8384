-- wrk script for bench/bench_webhook.sh: every request is a distinct,
-- pre-signed Stripe event made by bench/gen_events (wrk's LuaJIT has no
-- HMAC).  Environment:
--   BENCH_EVENTS   file prefix; thread k reads BENCH_EVENTS.k (complete
--                  HTTP requests, each followed by a NUL byte)
--   BENCH_CHECK    1: also look at every response (status, "duplicate")
-- Each request is sent at most once; when a thread runs out it starts
-- over and counts the reuse ("overflow": those would be duplicates).
-- done() prints one machine-readable line starting "BENCH ".

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(os.getenv("BENCH_EVENTS") .. "." .. tid, "rb"))
   local data = f:read("*a")
   f:close()
   reqs = {}
   local pos = 1
   while true do
      local z = string.find(data, "\0", pos, true)
      if not z then break end
      reqs[#reqs + 1] = string.sub(data, pos, z - 1)
      pos = z + 1
   end
   data = nil
   collectgarbage()
   nreq = #reqs
   sent, overflow, non200, dup = 0, 0, 0, 0
   if os.getenv("BENCH_CHECK") ~= "1" then
      response = nil
   end
end

function request()
   sent = sent + 1
   if sent > nreq then
      overflow = overflow + 1
      return reqs[(sent - 1) % nreq + 1]
   end
   return reqs[sent]
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
   end
   if string.find(body, "duplicate", 1, true) then
      dup = dup + 1
   end
end

function done(summary, latency, requests)
   local s, o, n2, d, avail = 0, 0, 0, 0, 0
   for _, t in ipairs(threads) do
      s = s + t:get("sent")
      o = o + t:get("overflow")
      n2 = n2 + t:get("non200")
      d = d + t:get("dup")
      avail = avail + t:get("nreq")
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.0f p50_us=%d p90_us=%d " ..
      "p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d " ..
      "timeout=%d sent=%d available=%d overflow=%d non200=%d dup=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, e.connect, e.read,
      e.write, e.timeout, s, avail, o, n2, d))
end
