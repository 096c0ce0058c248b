-- wrk script: like post_event.lua, but every request comes from a new
-- visitor (its own CF-Connecting-IP), so each one is a new session in the
-- site object.
local thread_id = 0
local counter = 0

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Host"] = os.getenv("BENCH_HOST") or "t.demo.localhost"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
wrk.body = '{"n":"pageview","u":"https://demo.example/bench","d":"demo.example"}'

request = function()
  counter = counter + 1
  local n = counter
  wrk.headers["CF-Connecting-IP"] = string.format("%d.%d.%d.%d", 10 + (tid or 0), math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
  return wrk.format()
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT p50_us=%d p99_us=%d rps=%.1f requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6),
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
