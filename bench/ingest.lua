-- wrk script for bench/ingest.py: API-channel inbound messages, one unique external_id per
-- request, senders drawn at random from BENCH_SENDERS addresses (so most messages thread into an
-- existing conversation, as real traffic does).
--
-- Environment: BENCH_PATH (request path), BENCH_TOKEN (API key, may be empty), BENCH_PREFIX (run
-- marker in every external_id), BENCH_SENDERS, BENCH_RESULT_FILE (JSON summary written by done()),
-- BENCH_ACK_FILE (one acknowledged external_id per line: every 2xx response, read from its body).

local path = os.getenv("BENCH_PATH") or "/"
local token = os.getenv("BENCH_TOKEN") or ""
local prefix = os.getenv("BENCH_PREFIX") or "m"
local senders = tonumber(os.getenv("BENCH_SENDERS") or "2000")
local result_file = os.getenv("BENCH_RESULT_FILE")
local ack_file = os.getenv("BENCH_ACK_FILE")

-- main state: the threads, so done() can collect their counters
local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

-- per-thread state (globals of the thread's Lua state, read back with thread:get in done)
function init(args)
   sent = 0
   ok = 0
   statuses = {}
   acked = {}
   math.randomseed(tid * 7919 + os.time())
   req_headers = { ["Content-Type"] = "application/json" }
   if token ~= "" then
      req_headers["Authorization"] = "Bearer " .. token
   end
   ack_pattern = prefix .. "%-" .. tid .. "%-%d+"
end

function request()
   sent = sent + 1
   local eid = prefix .. "-" .. tid .. "-" .. sent
   local n = math.random(1, senders)
   local body = string.format(
      '{"external_id":"%s","sender":{"kind":"email","address":"customer%d@example.com",'
         .. '"name":"Customer %d"},"text":"bench %s: hello, the router is down again"}',
      eid, n, n, eid)
   return wrk.format("POST", path, req_headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
      local eid = string.match(body, ack_pattern)
      if eid then
         acked[#acked + 1] = eid
      end
   end
end

function done(summary, latency, requests)
   local sent_total, ok_total = 0, 0
   local by_status = {}
   local ackf = ack_file and io.open(ack_file, "w")
   local acked_total = 0
   for _, t in ipairs(threads) do
      sent_total = sent_total + t:get("sent")
      ok_total = ok_total + t:get("ok")
      for code, count in pairs(t:get("statuses")) do
         by_status[code] = (by_status[code] or 0) + count
      end
      for _, eid in ipairs(t:get("acked")) do
         acked_total = acked_total + 1
         if ackf then ackf:write(eid, "\n") end
      end
   end
   if ackf then ackf:close() end
   local parts = {}
   for code, count in pairs(by_status) do
      parts[#parts + 1] = string.format('"%d":%d', code, count)
   end
   local e = summary.errors
   local json = string.format(
      '{"duration_us":%d,"requests":%d,"bytes":%d,"sent":%d,"ok_2xx":%d,"acked_ids":%d,'
         .. '"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}',
      summary.duration, summary.requests, summary.bytes, sent_total, ok_total, acked_total,
      table.concat(parts, ","), e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max)
   if result_file then
      local f = io.open(result_file, "w")
      f:write(json, "\n")
      f:close()
   else
      io.write(json, "\n")
   end
end
