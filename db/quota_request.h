/* quota_request: self-service quota requests, their decisions and the grants
 * they make, which may expire (db/quota_request_store.c; tables of migration
 * 0006).
 *
 * A request asks for more of some resources of one tenant (db/quota.h names
 * them): per-resource amounts to add (deltas), or target limits, which are
 * turned into deltas against the limits at the time of the request (both are
 * kept, for display). Amounts are stored units (cpu_cores in thousandths).
 *
 * Life of a request, every step one db_mutate with its audit row:
 *
 *   pending --approve--> approved --(grant ends)--> expired
 *           --deny-----> denied
 *           --withdraw-> withdrawn
 *
 * Approval raises the tenant's limits by the granted amounts (all or part of
 * what was asked) and records, in the request, what was actually added to
 * each limit (`applied`: nothing to a resource that has no limit, at most up
 * to the resource's maximum), so that an expiring grant takes back exactly
 * that, whatever else changed the limits meanwhile. The state check (still
 * pending?) runs inside the writer's transaction: of two concurrent decisions
 * exactly one wins, the other gets ERR_CONFLICT.
 *
 * Expiry: db_quota_request_expire_due, run by a background job, reverts each
 * grant whose end has passed, one transaction and audit row (actor "system")
 * each. Grants are rows, so a grant that ended while the portal was down is
 * reverted at the next start. Nothing is stopped when usage is then above
 * the lowered limits: admission refuses new allocations (db/quota.h) and both
 * sides are notified.
 *
 * Every step notifies (db/notify.h) in the same transaction: a new request
 * its approvers; a decision or an expiry the requester and the tenant's
 * administrators; an expiry that leaves the tenant over quota the approvers
 * too. Webhook deliveries are queued in the same transaction as well.
 *
 * Times are RFC 3339 UTC text ("2026-01-02T03:04:05.000Z"), passed in by the
 * caller from the portal's clock (app_now) so tests can move time; "" in a
 * struct stands for NULL. Pointer arguments are borrowed. */
#ifndef VP_DB_QUOTA_REQUEST_H
#define VP_DB_QUOTA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "identity.h"
#include "quota.h"

enum { DB_QREQ_TEXT_CHARS = 2000 /* justification, comment, reason: code points */ };

enum db_qreq_state {
    DB_QREQ_PENDING,
    DB_QREQ_APPROVED,
    DB_QREQ_DENIED,
    DB_QREQ_WITHDRAWN,
    DB_QREQ_EXPIRED,
    DB_QREQ_STATE_COUNT
};

/* "pending", "approved", "denied", "withdrawn", "expired". */
const char *db_quota_request_state_name(enum db_qreq_state s);

/* The state called `name`, or DB_QREQ_STATE_COUNT. */
enum db_qreq_state db_quota_request_state_find(const char *name);

/* Amounts per resource in stored units; 0 = the resource is not part of it. */
struct db_qreq_amounts {
    int64_t v[QUOTA_RES_COUNT];
};

/* A request as stored. Text members point into the row and are valid only
 * during the row callback. */
struct db_quota_request {
    int64_t id, tenant_id;
    const char *tenant_slug;
    enum db_qreq_state state;
    struct db_qreq_amounts deltas;  /* asked for */
    struct db_qreq_amounts targets; /* as asked, when by_target */
    bool by_target;
    const char *justification;
    const char *ends_at; /* "" = for good */
    int64_t requested_by;
    const char *requested_login;
    int64_t decided_by;        /* 0: nobody yet, the policy, or a deleted user */
    const char *decided_login; /* "" / a login / "policy" */
    const char *reason;        /* approval comment or denial reason, "" */
    struct db_qreq_amounts granted, applied, reverted;
    bool has_grant;               /* approved or expired */
    const char *grant_expires_at; /* "" = permanent */
    const char *reverted_at;      /* "" = not reverted */
    const char *decision_context; /* JSON text of db_quota_request_context at the decision, "" */
    const char *created_at, *decided_at;
};

/* Called for each row; return 0, or -1 with e filled to stop. */
typedef int (*db_quota_request_row_fn)(void *arg, const struct db_quota_request *q, err *e);

/* ---- reads ---- */

/* Request `id` into fn (called once). ERR_NOT_FOUND. */
int db_quota_request_get(db *d, int64_t id, db_quota_request_row_fn fn, void *arg, err *e);

struct db_quota_request_filter {
    int state;           /* enum db_qreq_state, or -1 = any */
    int64_t tenant_id;   /* 0 = any */
    const char *visible; /* JSON array of tenant ids the caller may see; NULL = all */
    int64_t before_id;   /* cursor: ids below it; 0 = from the newest */
    int limit;           /* rows wanted (1..1000) */
    bool more;           /* out: more rows after the last one given */
};

/* Requests matching f, newest first. */
int db_quota_request_list(db *d, struct db_quota_request_filter *f, db_quota_request_row_fn fn,
                          void *arg, err *e);

/* The context a decision is made in, as JSON (new reference, caller
 * decrefs): {"tenant_id", "usage": {vms|vcpus|memory_mib|disk_gib: {limit
 * (null = none), used, reserved}}, "limits": {set limits, API units},
 * "over_quota": [...], "cluster": {"hosts", "cores", "memory_mib",
 * "allocated": {vms, vcpus, memory_mib, disk_gib}}} (cores and memory of the
 * host table; 0 when no host is known). One read snapshot. ERR_NOT_FOUND
 * when the tenant does not exist. */
json_t *db_quota_request_context(db *d, int64_t tenant_id, err *e);

/* ---- changes ---- */

struct db_quota_request_new {
    int64_t tenant_id;
    struct db_qreq_amounts amounts; /* > 0 for the resources asked for */
    bool by_target;                 /* amounts are target limits, not deltas */
    const char *justification;      /* 1..2000 code points, validated by the caller */
    const char *ends_at;            /* NULL = for good; canonical, in the future */
    int64_t requested_by;           /* user id */
    const char *requested_login;
    const char *now;
};

/* Stores a pending request and notifies the tenant's approvers (the
 * requester excepted). Inside the transaction: the tenant must exist
 * (ERR_NOT_FOUND); each resource asked for must have a limit now
 * (ERR_INVALID, field "deltas.<name>" / "targets.<name>": there is nothing to
 * raise), and a target must be above that limit and within the resource's
 * maximum (ERR_INVALID). `a` gets target and details. */
int db_quota_request_create(db *d, const struct db_quota_request_new *req, struct db_audit *a,
                            int64_t *id_out, err *e);

/* The requester takes back a pending request (state withdrawn). ERR_NOT_FOUND,
 * ERR_FORBIDDEN (not the requester), ERR_CONFLICT (no longer pending). */
int db_quota_request_withdraw(db *d, int64_t id, int64_t user_id, const char *now,
                              struct db_audit *a, err *e);

/* A decision. For approval: `grant` (when has_grant) is what is granted,
 * each amount 0..requested (0 = not granted) with at least one > 0, else
 * everything asked for; `expires_at`: when keep_ends_at, the request's own
 * ends_at, else expires_at (NULL = permanent; canonical, in the future). */
struct db_quota_decision {
    int64_t id;
    bool approve;
    struct db_actor actor;   /* user_id 0 = the policy */
    const char *actor_login; /* login, or "policy" */
    bool has_grant;
    struct db_qreq_amounts grant;
    bool keep_ends_at;
    const char *expires_at;
    const char *comment; /* approval comment / denial reason, borrowed */
    const char *now;
    /* out */
    struct db_qreq_amounts applied; /* what approval added to each limit */
    bool runtime_changed;           /* a runtime limit changed: push budgets */
};

/* Decides request dec->id. Inside the transaction: the request exists
 * (ERR_NOT_FOUND) and is pending (ERR_CONFLICT "already approved"); a user
 * never decides their own request and must hold quota.approve for the
 * request's tenant right now (ERR_FORBIDDEN); a partial grant must be
 * within what was asked (ERR_INVALID, field "resources.<name>"). Approval
 * writes the new limits, the grant and the decision context in the same
 * transaction as `a` (details: before/after limits, granted, applied,
 * expires_at, context). */
int db_quota_request_decide(db *d, struct db_quota_decision *dec, struct db_audit *a, err *e);

/* ---- expiry ---- */

/* Reverts every grant whose end is at or before `now` (at most 256 per
 * call), one transaction and audit row (actor "system", action
 * "quota_request.expire") each; each resource's limit goes down by what the
 * grant added (never below the resource's minimum; a resource without a
 * limit stays without). *expired (may be NULL) counts them;
 * *runtime_tenants (may be NULL) gets, malloc'd (caller frees; NULL when
 * none), the tenants whose runtime limits changed, *nruntime their number
 * (a tenant may repeat). Stops at the first storage error. */
int db_quota_request_expire_due(db *d, const char *now, int *expired, int64_t **runtime_tenants,
                                size_t *nruntime, err *e);

/* ---- automatic approval ---- */

/* Optional rules under which a request is approved without a person, as
 * made by "policy". A request qualifies when every resource it asks for has
 * a rule and is within it, and the cluster has room. 0 disables a rule. */
struct db_quota_policy {
    int64_t max_vms;        /* up to +N VMs */
    int64_t max_vcpus;      /* up to +N vCPUs ... */
    int cpu_overcommit_pct; /* ... while all VMs' vCPUs + N <= host cores * pct / 100 */
    int max_memory_pct;     /* up to +X% of the current memory_mib limit, while all VMs'
                               memory + the delta fits the hosts' memory */
};

/* Is any rule set? */
bool db_quota_policy_enabled(const struct db_quota_policy *p);

/* Cluster capacity and allocation, as the policy sees it. */
struct db_quota_cluster {
    int64_t hosts, cores, memory_mib;            /* sums over the host table */
    int64_t vms, vcpus, vm_memory_mib, disk_gib; /* sums over all VMs */
};

/* Pure: does policy p approve `deltas` for a tenant with `limits` in
 * `cluster`? When not, *why (may be NULL) names the first reason. */
bool db_quota_policy_allows(const struct db_quota_policy *p, const struct db_qreq_amounts *deltas,
                            const struct quota_limits *limits,
                            const struct db_quota_cluster *cluster, const char **why);

/* Applies the policy to pending request `id`: when it allows the request
 * (checked again inside the transaction), approves it in full with the
 * request's own end date, audited with actor "policy" (the other fields of
 * `a`, borrowed, say which request triggered it); *approved tells. Nothing
 * is written (no audit row either) when the policy does not apply. dec_out
 * (may be NULL) receives the decision (applied, runtime_changed). */
int db_quota_request_auto(db *d, int64_t id, const struct db_quota_policy *p, const char *now,
                          struct db_audit *a, bool *approved, struct db_quota_decision *dec_out,
                          err *e);

#endif
