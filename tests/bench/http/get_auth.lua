-- wrk script: GET with the bearer token from VP_TOKEN.
local token = os.getenv("VP_TOKEN")
wrk.headers["Authorization"] = "Bearer " .. token
