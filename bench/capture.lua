-- wrk script for bench/capture.py: every request posts a different person.
local counter = 0
local threads_started = 0

function setup(thread)
  -- Sets a global in the thread's own Lua state: its number, for unique e-mails.
  thread:set("thread_id", threads_started)
  threads_started = threads_started + 1
end

function init(args)
  template = args[1]
  api_key = args[2]
  run_id = args[3]
end

function request()
  counter = counter + 1
  local body = string.format(template, run_id .. "t" .. thread_id .. "n" .. counter)
  return wrk.format("POST", "/api/v1/leads", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. api_key,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50=%d p95=%d p99=%d\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
