/* quota: tenant quotas, admission reservations and measured usage
 * (db/quota_store.c).
 *
 * The model: per tenant, allocation limits (checked at admission: vms, vcpus,
 * memory_mib, disk_gib) and runtime limits (written to the tenant's cgroup v2
 * partition on each host by server/quota: cpu_cores, memory_max_mib, io_*,
 * io_weight, pids_max). A limit that is not set is unlimited (QUOTA_UNLIMITED).
 * Allocation usage is derived from the `vm` table: every defined VM counts,
 * running or not.
 *
 * Admission is reserve -> apply -> commit (STYLE rule 15):
 *
 *     int64_t rid;
 *     struct quota_refusal why;
 *     if (db_quota_reserve(d, tenant, &deltas, &audit, &rid, &why, e) < 0)
 *         return -1;             // ERR_QUOTA: `why` says what does not fit
 *     if (define_the_vm(...) < 0) {
 *         db_quota_release(d, rid, NULL, NULL);
 *         return -1;
 *     }
 *     db_quota_commit(d, rid, NULL, e);  // or db_quota_commit_in() inside the
 *                                        // transaction that inserts the vm row
 *
 * The check and the reservation run on the single writer inside its
 * BEGIN IMMEDIATE transaction, so concurrent requests are serialized: two
 * requests can never both pass a limit only one of them fits. Reservations are
 * rows: a crash leaves them visible, and db_quota_reconcile (at startup)
 * releases the stale ones. A pending reservation holds the positive part of
 * its deltas against the limits; a vm row inserted before its reservation is
 * committed counts twice for that moment (conservative, never too little). */
#ifndef VP_DB_QUOTA_H
#define VP_DB_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The resources, allocation first. The order is the order of the API's JSON. */
enum quota_res {
    QUOTA_VMS,
    QUOTA_VCPUS,
    QUOTA_MEMORY_MIB,
    QUOTA_DISK_GIB,
    QUOTA_CPU_CORES, /* stored in thousandths of a core */
    QUOTA_MEMORY_MAX_MIB,
    QUOTA_IO_READ_BPS,
    QUOTA_IO_WRITE_BPS,
    QUOTA_IO_READ_IOPS,
    QUOTA_IO_WRITE_IOPS,
    QUOTA_IO_WEIGHT,
    QUOTA_PIDS_MAX,
    QUOTA_RES_COUNT
};

enum { QUOTA_ALLOC_COUNT = QUOTA_CPU_CORES }; /* the first N resources are allocation */

#define QUOTA_UNLIMITED ((int64_t)-1)

/* What the API and the validation know about one resource. Values are stored
 * as integers: the API value times `scale` (1000 for cpu_cores, else 1). */
struct quota_res_info {
    const char *name;   /* API key: "memory_mib", "cpu_cores" */
    const char *column; /* quota.resource in the database: "cpu_millicores" */
    int64_t min, max;   /* accepted stored values (a limit of 0 is refused when min > 0) */
    int scale;
    bool allocation; /* checked at admission (else written to cgroups) */
    const char *unit;
};

/* The table row of r (static). r must be < QUOTA_RES_COUNT. */
const struct quota_res_info *db_quota_res(enum quota_res r);

/* The resource called `name` (API key, borrowed), or QUOTA_RES_COUNT. */
enum quota_res db_quota_res_find(const char *name);

/* A tenant's limits: v[r] is the stored value or QUOTA_UNLIMITED. */
struct quota_limits {
    int64_t v[QUOTA_RES_COUNT];
};

/* Every limit QUOTA_UNLIMITED. */
void db_quota_limits_unlimited(struct quota_limits *l);

/* Changes of allocation asked for by one action (create: +1 vm, +vcpus ...;
 * resize: the differences). Negative values give back. */
struct quota_deltas {
    int64_t v[QUOTA_ALLOC_COUNT];
};

/* Allocation usage of a tenant. */
struct quota_alloc {
    int64_t v[QUOTA_ALLOC_COUNT];
};

/* One resource that does not fit. */
struct quota_violation {
    enum quota_res res;
    int64_t limit;     /* the tenant's limit */
    int64_t used;      /* defined VMs */
    int64_t reserved;  /* pending reservations */
    int64_t requested; /* this request's delta (0 when only reporting usage over a limit) */
    int64_t shortfall; /* used + reserved + requested - limit: what the limit lacks */
};

/* Why an admission was refused (or would be): one entry per resource that
 * does not fit, in resource order. n == 0: it fits. */
struct quota_refusal {
    int64_t tenant_id;
    size_t n;
    struct quota_violation v[QUOTA_ALLOC_COUNT];
};

/* Pure: checks used + reserved + the positive part of deltas against the
 * allocation limits into *why. Returns true when everything fits. A resource
 * whose delta is <= 0 never refuses (giving back is always admitted). */
bool db_quota_evaluate(const struct quota_limits *l, const struct quota_alloc *used,
                       const struct quota_alloc *reserved, const struct quota_deltas *deltas,
                       struct quota_refusal *why);

/* Pure: the allocation resources whose usage is above the limit right now
 * (after a quota was lowered) into *over (requested = 0). Returns over->n. */
size_t db_quota_over(const struct quota_limits *l, const struct quota_alloc *used,
                     struct quota_refusal *over);

/* ---- JSON shapes shared by the audit details and the API (new references,
 * caller decrefs; NULL on OOM) ---- */

/* {"vms": 10, "cpu_cores": 2.5, ...}: the set limits only, in API units. */
json_t *db_quota_limits_json(const struct quota_limits *l);

/* [{"resource", "limit", "used", "reserved", "requested", "shortfall"}, ...] */
json_t *db_quota_violations_json(const struct quota_refusal *why);

/* {"vcpus": 2, ...}: the non-zero deltas. */
json_t *db_quota_deltas_json(const struct quota_deltas *d);

/* ---- limits ---- */

/* The limits of tenant_id into *out (unset ones QUOTA_UNLIMITED); *updated_at
 * (may be NULL, >= 32 bytes) the last change or "". ERR_NOT_FOUND when the
 * tenant does not exist. */
int db_quota_get(db *d, int64_t tenant_id, struct quota_limits *out, char *updated_at, err *e);

/* Replaces the limits of tenant_id with *l (QUOTA_UNLIMITED: no row). Values
 * must be valid (the caller validated them against db_quota_res). Lowering a
 * limit below current usage is allowed: the resources over their new limit
 * go to *over (may be NULL) and into the audit details, together with the
 * limits before and after. `a` (borrowed, required) gets target and details.
 * ERR_NOT_FOUND when the tenant does not exist. */
int db_quota_set(db *d, int64_t tenant_id, const struct quota_limits *l, struct db_audit *a,
                 struct quota_refusal *over, err *e);

/* ---- usage ---- */

struct quota_usage {
    struct quota_limits limits;
    struct quota_alloc used;     /* from the vm table: defined VMs */
    struct quota_alloc reserved; /* positive deltas of pending reservations */
    int64_t reservations;        /* number of pending reservations */
};

/* Limits, usage and reservations of tenant_id in one read snapshot.
 * ERR_NOT_FOUND when the tenant does not exist. */
int db_quota_usage(db *d, int64_t tenant_id, struct quota_usage *out, err *e);

/* ---- admission ---- */

/* Dry run on the caller's reader: would `deltas` be admitted now? Fills *why
 * (why->n == 0: yes) and, when `usage` is not NULL, the usage it saw.
 * ERR_NOT_FOUND when the tenant does not exist. */
int db_quota_check(db *d, int64_t tenant_id, const struct quota_deltas *deltas,
                   struct quota_refusal *why, struct quota_usage *usage, err *e);

/* Checks and, when everything fits, inserts a reservation of `deltas` for
 * tenant_id, on the writer in one transaction with its audit row `a`
 * (borrowed, may be NULL; its target is kept as the reservation's purpose,
 * its details are {reservation_id, deltas} for that row only).
 * Returns 0 with *reservation_id; or -1: ERR_QUOTA with *why filled (nothing
 * is reserved; when `a` is given, a "denied" audit row with the refusal is
 * written), ERR_NOT_FOUND (no tenant), ERR_UNAVAILABLE. `why` may be NULL. */
int db_quota_reserve(db *d, int64_t tenant_id, const struct quota_deltas *deltas,
                     struct db_audit *a, int64_t *reservation_id, struct quota_refusal *why,
                     err *e);

/* The change was applied (the vm row exists): drops the reservation. `a` may
 * be NULL (the caller's own change carries the audit). ERR_NOT_FOUND when the
 * reservation is gone (released by reconciliation). */
int db_quota_commit(db *d, int64_t reservation_id, struct db_audit *a, err *e);

/* The same on a writer connection, inside another store's db_apply_fn: the
 * vm row and the end of its reservation in one transaction. */
int db_quota_commit_in(db_conn *c, int64_t reservation_id, err *e);

/* The change failed: drops the reservation (same as commit for the database;
 * the audit row tells them apart). ERR_NOT_FOUND when it is gone. */
int db_quota_release(db *d, int64_t reservation_id, struct db_audit *a, err *e);

/* Startup reconciliation: releases reservations created before `before`
 * (RFC 3339 UTC, borrowed), i.e. left by a crash between reserve and
 * commit; one audit row (actor "system", action "quota.reconcile") lists
 * them. *released (may be NULL) counts them. */
int db_quota_reconcile(db *d, const char *before, int64_t *released, err *e);

/* The same with the cut-off `max_age_s` seconds before `now` (seconds since
 * the epoch): what `virtportal serve` runs once at start, e.g. with 15 min. */
int db_quota_reconcile_older(db *d, int64_t now, int64_t max_age_s, int64_t *released, err *e);

/* ---- per-host allocation (input of the budget split) ---- */

struct quota_host_alloc {
    int64_t host_id;
    int64_t vms, vcpus, memory_mib, disk_gib;
};

/* The tenant's allocation per host, ordered by host id, into *out (malloc'd,
 * caller frees; NULL when *n == 0). */
int db_quota_host_allocs(db *d, int64_t tenant_id, struct quota_host_alloc **out, size_t *n,
                         err *e);

/* ---- measured runtime usage ---- */

enum quota_mode { QUOTA_MODE_NONE, QUOTA_MODE_CGROUP, QUOTA_MODE_LIBVIRT };

/* "none", "cgroup", "libvirt". */
const char *db_quota_mode_name(enum quota_mode m);

struct quota_sample {
    int64_t tenant_id;
    int64_t host_id; /* 0 = the portal's own host when it is not in the host table */
    enum quota_mode mode;
    char ts[32]; /* RFC 3339; "" = now (record) */
    int64_t cpu_usage_usec, cpu_throttled_usec;
    int64_t memory_bytes, oom_kills;
    int64_t io_read_bytes, io_write_bytes, io_read_ios, io_write_ios;
    int64_t pids;
};

/* Stores one sample (bookkeeping, no audit row) and keeps at most `keep`
 * samples (>= 1) of that tenant and host, dropping the oldest. */
int db_quota_sample_record(db *d, const struct quota_sample *s, int keep, err *e);

/* Called for each sample; return 0, or -1 with e filled to stop. */
typedef int (*db_quota_sample_fn)(void *arg, const struct quota_sample *s, err *e);

/* The newest sample of each host of tenant_id, ordered by host id. */
int db_quota_samples_latest(db *d, int64_t tenant_id, db_quota_sample_fn fn, void *arg, err *e);

#endif
