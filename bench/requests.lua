-- wrk script: replay "METHOD PATH TOKEN" lines from a file, each thread taking every
-- n-th line from its own offset, so that every request is a different (visitor, mysfit)
-- pair until the file runs out. Arguments: the file, the number of wrk threads.
local lines = {}
local index = 0
local stride = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, token = line:match("^(%S+) (%S+) (%S+)$")
    lines[#lines + 1] = { method, path, token }
  end
  stride = tonumber(args[2])
  index = offset
end

function request()
  local entry = lines[index % #lines + 1]
  index = index + stride
  return wrk.format(entry[1], entry[2], { ["Authorization"] = entry[3] })
end
