-- wrk: members checking in on their own claims (bench/checkin.py). The data file has one
-- "token claim_id" line per member; each thread starts at its own offset and goes round.
local pairs_ = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    local token, claim = line:match("^(%S+)%s+(%d+)$")
    pairs_[#pairs_ + 1] = {token, claim}
  end
  i = math.random(#pairs_)
end

local body = '{"note": "入户走访，了解需求"}'

function request()
  i = i % #pairs_ + 1
  local p = pairs_[i]
  return wrk.format("POST", "/api/v1/claims/" .. p[2] .. "/check_in",
    {["Authorization"] = "Bearer " .. p[1], ["Content-Type"] = "application/json"}, body)
end
