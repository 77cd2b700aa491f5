-- wrk script: GET the path with a distinct extra query parameter on every
-- request, so that no page can come from the per-thread page cache (the API
-- ignores parameters it does not know). Bearer token from VP_TOKEN.
local token = os.getenv("VP_TOKEN")
wrk.headers["Authorization"] = "Bearer " .. token
local n = 0
request = function()
    n = n + 1
    return wrk.format(nil, wrk.path .. "&nocache=" .. n)
end
