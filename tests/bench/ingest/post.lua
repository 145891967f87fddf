-- Posts realistic UIS bodies (the guide's unquoted template forms) with varying numbers and
-- states. RATE_DELAY_MS (per connection) turns the saturating run into a fixed-rate one.
local states = {"RINGING", "RINGING", "ANSWERED", "HANGUP"}
local n = 0
local delay_ms = tonumber(os.getenv("RATE_DELAY_MS") or "0")

request = function()
  n = n + 1
  local state = states[(n % 4) + 1]
  local ext = (state == "RINGING" and n % 3 == 0) and "" or tostring(100 + n % 50)
  local url = ""
  if state == "HANGUP" then
    url = '"call_record_url":https://app.uiscom.ru/system/media/talk/' .. n .. '/0f4e2a/,\n'
  end
  local body = string.format(
    '{\n "from_number":7903%07d,\n "diversion":74993482958,\n "direction":in,\n' ..
    ' "call_id":%d,\n "user_extension":%s,\n %s "call_state":"%s"\n}',
    n % 9999999, 2981734650 + math.floor(n / 4), ext, url, state)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function delay()
  return delay_ms
end

done = function(summary, latency, requests)
  local codes = 0
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
