-- wrk: whole claims over the JSON API, as bench/run.py's lifecycle phase drives them:
-- claim → check_in → submit_report → approve, then the next member, round and round.
--
-- Run with one wrk thread per connection (-t N -c N, bench/wrk.py): each thread's Lua state then
-- owns one connection, and each step can use the previous answer (the new claim's id, from the
-- Location header of the claim's 201). The data file (bench/run.py, write_lifecycle_file) has:
--   staff <token>                  the staff member who approves (one of the tasks' community)
--   <connection> <task> <token>    a member of connection 1…N and the task they claim on it
-- Each connection takes only its own members, in turn. A step that is refused (any status but
-- the expected one) abandons that claim and goes on with the connection's next member.
-- done() prints one line, "bench-figures {json}": the statuses seen, by step.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("connection", counter)
  table.insert(threads, thread)
end

local members = {}
local staff = nil
local m = 1          -- the member whose claim is running
local step = 1       -- 1 claim, 2 check_in, 3 submit_report, 4 approve
local claim = nil
statuses = {}        -- "step status" → count (a global: done() reads it with thread:get)

local STEPS = {"claim", "check_in", "submit_report", "approve"}
local EXPECTED = {201, 200, 200, 200}
local BODIES = {
  "",
  '{"note": "入户走访，了解需求"}',
  '{"summary": "已完成走访并反馈", "hours": 2, "households": 1}',
  '{"comment": "属实"}',
}

function init(args)
  for line in io.lines(args[1]) do
    local token = line:match("^staff%s+(%S+)$")
    if token then
      staff = token
    else
      local c, task, member = line:match("^(%d+)%s+(%d+)%s+(%S+)$")
      if c and tonumber(c) == connection then
        members[#members + 1] = {task = task, token = member}
      end
    end
  end
  assert(staff, "no staff line in " .. args[1])
  assert(#members > 0, "no members for connection " .. tostring(connection) .. " in " .. args[1])
end

local function headers(token)
  return {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

function request()
  local who = members[m]
  if step == 1 then
    return wrk.format("POST", "/api/v1/tasks/" .. who.task .. "/claims", headers(who.token), BODIES[1])
  end
  local token = step == 4 and staff or who.token
  return wrk.format("POST", "/api/v1/claims/" .. claim .. "/" .. STEPS[step], headers(token), BODIES[step])
end

local function next_member()
  m = m % #members + 1
  step = 1
  claim = nil
end

function response(status, hdrs, body)
  local key = STEPS[step] .. " " .. status
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= EXPECTED[step] then
    next_member()
    return
  end
  if step == 1 then
    local location = hdrs["Location"] or hdrs["location"] or ""
    claim = location:match("/claims/(%d+)$")
    if not claim then
      next_member()
      return
    end
  end
  if step == 4 then
    next_member()
  else
    step = step + 1
  end
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses") or {}) do
      merged[key] = (merged[key] or 0) + count
    end
  end
  local parts = {}
  for key, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%s": %d', key, count)
  end
  table.sort(parts)
  io.write("bench-figures {\"statuses\": {" .. table.concat(parts, ", ") .. "}}\n")
end
