-- wrk script: each connection walks the request paths given as arguments, round robin,
-- so a run covers every mysfit or every filter value rather than one hot key.
local paths = {}
local counter = 0

function init(args)
  for _, path in ipairs(args) do
    paths[#paths + 1] = path
  end
  counter = math.random(#paths)
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
