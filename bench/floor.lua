-- wrk: the floor's naive transition (bench/floor_app.py) on 1000 rows with the tokens in the
-- data file (one per line), as bench/checkin.py drives it.
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  i = math.random(#tokens)
end

function request()
  i = i % #tokens + 1
  return wrk.format("POST", "/transition/" .. math.random(1000),
    {["Authorization"] = "Bearer " .. tokens[i]}, "")
end
