/* quotas: /api/v1/tenants/{id}/quota, /usage and /quota/check, the edge
 * validation of limits and deltas, and the admission helpers a handler that
 * creates or resizes VMs uses (reserve -> apply -> commit, with the
 * reservation released by the request arena when the handler does not commit).
 *
 * All routes are API_SCOPE_TENANT_PARAM: the dispatcher has already checked
 * the permission in the tenant of the path, and another tenant's quota
 * answers 404 like a missing one. */
#ifndef VP_API_QUOTAS_H
#define VP_API_QUOTAS_H

#include "api.h"
#include "quota.h"

int api_quotas_get(struct api_req *r, struct api_resp *w, err *e);
int api_quotas_put(struct api_req *r, struct api_resp *w, err *e);
int api_quotas_usage(struct api_req *r, struct api_resp *w, err *e);
int api_quotas_check(struct api_req *r, struct api_resp *w, err *e);

/* Validates a limits object (borrowed): keys of db_quota_res() only, each a
 * number in the resource's range or null (= unlimited); absent = unlimited.
 * cpu_cores takes up to 3 decimals. 400 with errors[].field = the key. */
int api_quotas_parse_limits(const json_t *body, struct quota_limits *out, err *e);

/* Validates a deltas object {vms?, vcpus?, memory_mib?, disk_gib?}: integers
 * within +- the resource's maximum. 400 naming the key. */
int api_quotas_parse_deltas(const json_t *body, struct quota_deltas *out, err *e);

/* The members a refusal adds to its problem+json (new reference):
 * {"tenant_id", "violations": [...], "quota_request": {tenant_id, deltas,
 * justification}} — the quota request pre-filled with the shortfalls. */
json_t *api_quotas_refusal_json(const struct quota_refusal *why);

/* Renders the 403 quota-exceeded problem of `e` (ERR_QUOTA) with the
 * refusal's members. Returns 0: the handler then returns 0 as well. */
int api_quotas_reply_refusal(struct api_req *r, struct api_resp *w, const err *e,
                             const struct quota_refusal *why);

/* A reservation owned by the request: released when the request ends unless
 * committed. */
struct api_quota_hold {
    struct db *d;
    int64_t id;
    bool done; /* committed or released */
};

/* Reserves `deltas` for tenant_id on behalf of the request, audited as
 * `action` on `target` (borrowed, must outlive the request). Returns 0 with
 * *out (arena); 1 when refused: the 403 quota-exceeded problem is already
 * in w and the handler returns 0; -1 on other errors (e filled). */
int api_quotas_reserve(struct api_req *r, struct api_resp *w, int64_t tenant_id,
                       const struct quota_deltas *deltas, const char *action, const char *target,
                       struct api_quota_hold **out, err *e);

/* The change is applied: the reservation ends (the caller's own change
 * carries the audit). */
int api_quotas_commit(struct api_quota_hold *h, err *e);

#endif
