-- soak: every wrk thread sends GET /get (allowed), GET /get, POST /post (denied: 403) in turn,
-- and every connection waits SOAK_DELAY_MS after each answer before its next request. wrk's
-- delay() takes whole milliseconds, so a fractional mean is drawn as its floor or its ceiling at
-- random: the offered rate is about connections / (mean delay + round trip). The status codes
-- the client saw are counted per thread and printed by done() as "statuses CODE:COUNT ...".
local mean = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local low = math.floor(mean)
local fraction = mean - low
local get, post
local sent = 0
statuses = {}

-- Built in init(): wrk sets the Host header after the script is loaded.
function init(args)
  get = wrk.format("GET", "/get")
  post = wrk.format("POST", "/post", nil, "x")
end

function request()
  sent = sent + 1
  if sent % 3 == 0 then
    return post
  end
  return get
end

function delay()
  if math.random() < fraction then
    return low + 1
  end
  return low
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(total) do
    table.insert(parts, code .. ":" .. count)
  end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
