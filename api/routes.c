/* The route table: the only list of endpoints (STYLE rule 10). Each row names
 * its method, exact path pattern, permission, how the tenant scope is found,
 * flags and handler. PERM_PUBLIC is explicit; a unit test fails on PERM_NONE
 * and when api/openapi.json and this table disagree. */
#include "api.h"
#include "health.h"
#include "session_api.h"

#define PUBLIC PERM_PUBLIC, API_SCOPE_NONE

const struct api_route api_routes[] = {
    {"GET", "/healthz", PUBLIC, 0, api_health_live},
    {"GET", "/readyz", PUBLIC, 0, api_health_ready},
    {"GET", "/metrics", PUBLIC, 0, api_health_metrics},
    {"GET", "/api/v1/version", PUBLIC, 0, api_health_version},
    {"GET", "/api/v1/openapi.json", PUBLIC, 0, api_health_openapi},
    /* sessions: login/refresh/logout authenticate in their handlers */
    {"POST", "/api/v1/auth/login", PUBLIC, API_F_JSON_BODY, api_session_login},
    {"POST", "/api/v1/auth/refresh", PUBLIC, API_F_COOKIE, api_session_refresh},
    {"POST", "/api/v1/auth/logout", PUBLIC, API_F_COOKIE, api_session_logout},
    {"GET", "/api/v1/me", PERM_AUTHENTICATED, API_SCOPE_NONE, 0, api_session_me},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
