/* The route table: the only list of endpoints (STYLE rule 10). Each row names
 * its method, exact path pattern, permission, how the tenant scope is found,
 * flags and handler. PERM_PUBLIC is explicit; a unit test fails on PERM_NONE
 * and when api/openapi.json and this table disagree. */
#include "api.h"
#include "audit.h"
#include "health.h"
#include "identity.h"
#include "inventory.h"
#include "plans.h"
#include "quota_history.h"
#include "quotas.h"
#include "requests.h"
#include "session_api.h"
#include "tasks.h"
#include "vm_actions.h"

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
    {"POST", "/api/v1/me/totp", PERM_AUTHENTICATED, API_SCOPE_NONE, 0, api_session_totp_new},
    {"POST", "/api/v1/me/totp/confirm", PERM_AUTHENTICATED, API_SCOPE_NONE, API_F_JSON_BODY,
     api_session_totp_confirm},
    {"DELETE", "/api/v1/me/totp", PERM_AUTHENTICATED, API_SCOPE_NONE, API_F_JSON_BODY,
     api_session_totp_disable},
    /* quotas (api/quotas.c): the tenant is the path's first parameter */
    {"GET", "/api/v1/tenants/{id}/quota", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM, 0,
     api_quotas_get},
    {"PUT", "/api/v1/tenants/{id}/quota", PERM_QUOTA_WRITE, API_SCOPE_TENANT_PARAM, API_F_JSON_BODY,
     api_quotas_put},
    {"GET", "/api/v1/tenants/{id}/usage", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM, 0,
     api_quotas_usage},
    {"GET", "/api/v1/tenants/{id}/usage/history", PERM_QUOTA_READ, API_SCOPE_TENANT_PARAM, 0,
     api_quota_history_get},
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
    /* inventory (api/hosts.c, api/vms.c): hosts, pools and networks are global;
     * VM lists filter by tenant, a VM's handler checks its tenant; PATCH
     * /vms/{id} also needs host.admin or tenant.admin globally (handler) */
    {"GET", "/api/v1/hosts", PERM_HOST_READ, API_SCOPE_GLOBAL, 0, api_hosts_list},
    {"POST", "/api/v1/hosts", PERM_HOST_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY, api_hosts_create},
    {"GET", "/api/v1/hosts/{id}", PERM_HOST_READ, API_SCOPE_GLOBAL, 0, api_hosts_get},
    {"PATCH", "/api/v1/hosts/{id}", PERM_HOST_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_hosts_update},
    {"DELETE", "/api/v1/hosts/{id}", PERM_HOST_ADMIN, API_SCOPE_GLOBAL, 0, api_hosts_delete},
    {"GET", "/api/v1/pools", PERM_HOST_READ, API_SCOPE_GLOBAL, 0, api_pools_list},
    {"GET", "/api/v1/networks", PERM_HOST_READ, API_SCOPE_GLOBAL, 0, api_networks_list},
    {"GET", "/api/v1/vms", PERM_VM_READ, API_SCOPE_ANY, 0, api_vms_list},
    {"GET", "/api/v1/vms/{id}", PERM_VM_READ, API_SCOPE_OBJECT, 0, api_vms_get},
    {"PATCH", "/api/v1/vms/{id}", PERM_VM_READ, API_SCOPE_OBJECT, API_F_JSON_BODY, api_vms_update},
    /* quota requests (api/quota_requests.c): handlers check the request's tenant */
    {"GET", "/api/v1/quota-requests", PERM_QUOTA_READ, API_SCOPE_ANY, 0, api_quota_requests_list},
    {"POST", "/api/v1/quota-requests", PERM_QUOTA_REQUEST, API_SCOPE_ANY, API_F_JSON_BODY,
     api_quota_requests_create},
    {"GET", "/api/v1/quota-requests/{id}", PERM_QUOTA_READ, API_SCOPE_OBJECT, 0,
     api_quota_requests_get},
    {"POST", "/api/v1/quota-requests/{id}/withdraw", PERM_QUOTA_REQUEST, API_SCOPE_OBJECT, 0,
     api_quota_requests_withdraw},
    {"POST", "/api/v1/quota-requests/{id}/approve", PERM_QUOTA_APPROVE, API_SCOPE_OBJECT,
     API_F_JSON_BODY, api_quota_requests_approve},
    {"POST", "/api/v1/quota-requests/{id}/deny", PERM_QUOTA_APPROVE, API_SCOPE_OBJECT,
     API_F_JSON_BODY, api_quota_requests_deny},
    /* notifications (api/notifications.c): the caller's own */
    {"GET", "/api/v1/notifications", PERM_AUTHENTICATED, API_SCOPE_NONE, 0, api_notifications_list},
    {"POST", "/api/v1/notifications/read-all", PERM_AUTHENTICATED, API_SCOPE_NONE, 0,
     api_notifications_read_all},
    {"POST", "/api/v1/notifications/{id}/read", PERM_AUTHENTICATED, API_SCOPE_NONE, 0,
     api_notifications_read},
    /* webhooks (api/webhooks.c): global, they carry every tenant's events */
    {"GET", "/api/v1/webhooks", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0, api_webhooks_list},
    {"POST", "/api/v1/webhooks", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_webhooks_create},
    {"GET", "/api/v1/webhooks/{id}", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0, api_webhooks_get},
    {"PATCH", "/api/v1/webhooks/{id}", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_webhooks_update},
    {"DELETE", "/api/v1/webhooks/{id}", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0,
     api_webhooks_delete},
    {"POST", "/api/v1/webhooks/{id}/ping", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0,
     api_webhooks_ping},
    {"GET", "/api/v1/webhooks/{id}/deliveries", PERM_TENANT_ADMIN, API_SCOPE_GLOBAL, 0,
     api_webhooks_deliveries},
    /* test hook: 404 unless server.test_hooks=1 (never set in production) */
    {"POST", "/api/v1/test/clock", PERM_HOST_ADMIN, API_SCOPE_GLOBAL, API_F_JSON_BODY,
     api_quota_requests_clock},
    /* VM actions as tasks (api/vm_actions.c): 202 + Location of the task; the
     * handler checks the permission in the VM's (or the spec's) tenant; migrate
     * before {action} (first match wins) and needs host.read globally too */
    {"POST", "/api/v1/vms", PERM_VM_CREATE, API_SCOPE_ANY, API_F_JSON_BODY | API_F_ASYNC,
     api_vm_actions_create},
    {"DELETE", "/api/v1/vms/{id}", PERM_VM_DELETE, API_SCOPE_OBJECT, API_F_ASYNC,
     api_vm_actions_delete},
    {"POST", "/api/v1/vms/{id}/actions/migrate", PERM_VM_POWER, API_SCOPE_GLOBAL,
     API_F_JSON_BODY | API_F_ASYNC, api_vm_actions_migrate},
    {"POST", "/api/v1/vms/{id}/actions/{action}", PERM_VM_POWER, API_SCOPE_OBJECT, API_F_ASYNC,
     api_vm_actions_act},
    {"GET", "/api/v1/vms/{id}/snapshots", PERM_VM_READ, API_SCOPE_OBJECT, 0,
     api_vm_actions_snapshots},
    {"POST", "/api/v1/vms/{id}/snapshots", PERM_VM_POWER, API_SCOPE_OBJECT,
     API_F_JSON_BODY | API_F_ASYNC, api_vm_actions_snapshot_create},
    {"POST", "/api/v1/vms/{id}/snapshots/{name}/revert", PERM_VM_POWER, API_SCOPE_OBJECT,
     API_F_ASYNC, api_vm_actions_snapshot_revert},
    {"DELETE", "/api/v1/vms/{id}/snapshots/{name}", PERM_VM_POWER, API_SCOPE_OBJECT, API_F_ASYNC,
     api_vm_actions_snapshot_delete},
    /* plans (api/plans.c): global objects; the body of POST /plans is JSON or an
     * uploaded file (raw); execute also needs host.admin globally (handler) */
    {"GET", "/api/v1/plans", PERM_PLAN_READ, API_SCOPE_GLOBAL, 0, api_plans_list},
    {"POST", "/api/v1/plans", PERM_PLAN_WRITE, API_SCOPE_GLOBAL, API_F_RAW_BODY | API_F_ASYNC,
     api_plans_create},
    {"GET", "/api/v1/plans/{id}", PERM_PLAN_READ, API_SCOPE_GLOBAL, 0, api_plans_get},
    {"GET", "/api/v1/plans/{id}/export", PERM_PLAN_READ, API_SCOPE_GLOBAL, 0, api_plans_export},
    {"POST", "/api/v1/plans/{id}/execute", PERM_PLAN_WRITE, API_SCOPE_GLOBAL,
     API_F_RAW_BODY | API_F_ASYNC, api_plans_execute},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
