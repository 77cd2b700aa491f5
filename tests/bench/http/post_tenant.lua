-- wrk script: each request creates a tenant with a unique slug (a durable,
-- audited mutation through the real API). The access token comes from VP_TOKEN.
local token = os.getenv("VP_TOKEN")
local threads = 0
local n = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   math.randomseed(os.time() * 1000 + tid)
   run = math.random(1, 1000000000)
end

function request()
   n = n + 1
   local body = string.format('{"slug":"b%d-%d-%d","name":"bench tenant"}', run, tid, n)
   return wrk.format("POST", "/api/v1/tenants",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
