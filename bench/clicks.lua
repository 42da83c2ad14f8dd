-- wrk script: PUT /clicks, one profile view per request, rotating over the mysfit ids
-- given as arguments (each body is what the site sends).
local bodies = {}
local counter = 0

function init(args)
  for n, id in ipairs(args) do
    bodies[#bodies + 1] = string.format('{"mysfitId":"%s","userId":"anon-bench%028d"}', id, n)
  end
  counter = math.random(#bodies)
end

function request()
  counter = counter % #bodies + 1
  return wrk.format("PUT", "/clicks", { ["Content-Type"] = "application/json" }, bodies[counter])
end
