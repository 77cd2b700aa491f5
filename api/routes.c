/* The route table: the only list of endpoints (STYLE rule 10). Each row names
 * its method, exact path pattern, permission, how the tenant scope is found,
 * flags and handler. PERM_PUBLIC is explicit; a unit test fails on PERM_NONE
 * and when api/openapi.json and this table disagree. */
#include "api.h"
#include "audit.h"
#include "health.h"
#include "identity.h"
#include "quotas.h"
#include "session_api.h"
#include "tasks.h"

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
    /* quotas (api/quotas.c): the tenant is the path's first parameter */
    {"GET", "/api/v1/tenants/{id}/quota", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM, 0,
     api_quotas_get},
    {"PUT", "/api/v1/tenants/{id}/quota", PERM_QUOTA_WRITE, API_SCOPE_TENANT_PARAM,
     API_F_JSON_BODY, api_quotas_put},
    {"GET", "/api/v1/tenants/{id}/usage", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM, 0,
     api_quotas_usage},
    {"POST", "/api/v1/tenants/{id}/quota/check", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM,
     API_F_JSON_BODY, api_quotas_check},
    /* tasks (api/tasks.c): /events and /test-sleep before /{id} (first match wins) */
    {"GET", "/api/v1/tasks", PERM_TASK_READ, API_SCOPE_ANY, 0, api_tasks_list},
    {"GET", "/api/v1/tasks/events", PERM_TASK_READ, API_SCOPE_ANY, 0, api_tasks_events},
    {"GET", "/api/v1/tasks/{id}", PERM_TASK_READ, API_SCOPE_OBJECT, 0, api_tasks_get},
    {"POST", "/api/v1/tasks/{id}/cancel", PERM_TASK_READ, API_SCOPE_OBJECT, 0, api_tasks_cancel},
    /* test hook: 404 unless server.test_hooks=1 (never set in production) */
    {"POST", "/api/v1/tasks/test-sleep", PERM_HOST_ADMIN, API_SCOPE_GLOBAL,
     API_F_JSON_BODY | API_F_ASYNC, api_tasks_test_sleep},
    /* audit (api/audit.c): tenant-scoped reads filter by tenant in the handler */
    {"GET", "/api/v1/audit", PERM_AUDIT_READ, API_SCOPE_ANY, 0, api_audit_list},
    {"GET", "/api/v1/audit/export", PERM_AUDIT_READ, API_SCOPE_ANY, 0, api_audit_export},
    {"GET", "/api/v1/audit/verify", PERM_AUDIT_READ, API_SCOPE_GLOBAL, 0, api_audit_verify},
    /* identity (api/tenants.c, users.c, roles.c, bindings.c, tokens.c) */
    {"GET", "/api/v1/tenants", PERM_TENANT_READ, API_SCOPE_ANY, 0, api_tenants_list},
    {"POST", "/api/v1/tenants", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_tenants_create},
    {"GET", "/api/v1/tenants/{id}", PERM_TENANT_READ, API_SCOPE_TENANT_PARAM, 0, api_tenants_get},
    {"PATCH", "/api/v1/tenants/{id}", PERM_TENANT_ADMIN, API_SCOPE_TENANT_PARAM, API_F_JSON_BODY,
     api_tenants_update},
    {"DELETE", "/api/v1/tenants/{id}", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0, api_tenants_delete},
    {"GET", "/api/v1/users", PERM_USER_READ, API_SCOPE_ANY, 0, api_users_list},
    {"POST", "/api/v1/users", PERM_USER_ADMIN, API_SCOPE_ANY, API_F_JSON_BODY, api_users_create},
    {"GET", "/api/v1/users/{id}", PERM_USER_READ, API_SCOPE_OBJECT, 0, api_users_get},
    {"PATCH", "/api/v1/users/{id}", PERM_USER_ADMIN, API_SCOPE_OBJECT, API_F_JSON_BODY,
     api_users_update},
    {"DELETE", "/api/v1/users/{id}", PERM_USER_ADMIN, API_SCOPE_OBJECT, 0, api_users_delete},
    {"GET", "/api/v1/roles", PERM_AUTHENTICATED, API_SCOPE_NONE, 0, api_roles_list},
    {"POST", "/api/v1/roles", PERM_ROLE_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY, api_roles_create},
    {"GET", "/api/v1/roles/{id}", PERM_AUTHENTICATED, API_SCOPE_NONE, 0, api_roles_get},
    {"PATCH", "/api/v1/roles/{id}", PERM_ROLE_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_roles_update},
    {"DELETE", "/api/v1/roles/{id}", PERM_ROLE_ADMIN, API_SCOPE_GLOBAL, 0, api_roles_delete},
    {"GET", "/api/v1/role-bindings", PERM_ROLE_ADMIN, API_SCOPE_ANY, 0, api_bindings_list},
    {"POST", "/api/v1/role-bindings", PERM_ROLE_ADMIN, API_SCOPE_ANY, API_F_JSON_BODY,
     api_bindings_create},
    {"GET", "/api/v1/role-bindings/{id}", PERM_ROLE_ADMIN, API_SCOPE_OBJECT, 0, api_bindings_get},
    {"DELETE", "/api/v1/role-bindings/{id}", PERM_ROLE_ADMIN, API_SCOPE_OBJECT, 0,
     api_bindings_delete},
    {"GET", "/api/v1/tokens", PERM_TOKEN_SELF, API_SCOPE_ANY, 0, api_tokens_list},
    {"POST", "/api/v1/tokens", PERM_TOKEN_SELF, API_SCOPE_ANY, API_F_JSON_BODY, api_tokens_create},
    {"GET", "/api/v1/tokens/{id}", PERM_TOKEN_SELF, API_SCOPE_OBJECT, 0, api_tokens_get},
    {"DELETE", "/api/v1/tokens/{id}", PERM_TOKEN_SELF, API_SCOPE_OBJECT, 0, api_tokens_delete},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
