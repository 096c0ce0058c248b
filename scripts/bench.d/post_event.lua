-- wrk script: POST a pageview beacon as a browser sends it, and print the
-- figures scripts/bench parses (latency in microseconds).
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Host"] = os.getenv("BENCH_HOST") or "t.demo.localhost"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
wrk.body = '{"n":"pageview","u":"https://demo.example/bench?utm_source=google","d":"demo.example","r":"https://news.ycombinator.com/"}'

done = function(summary, latency, requests)
  io.write(string.format("RESULT p50_us=%d p99_us=%d rps=%.1f requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6),
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
