/* quota_runtime: the bookkeeping of runtime quota enforcement
 * (db/quota_runtime_store.c, tables of migration 0007).
 *
 * server/quota/runtime.c decides per host how a tenant's runtime limits can
 * be enforced (enum quota_mode of quota.h: cgroup, libvirt tunables, none)
 * and records it here, with what it applied per tenant and host. The API
 * reads it back (usage: runtime.enforcement; hosts: quota_enforcement).
 *
 * Writes are bookkeeping: db_mutate without an audit row (nobody's action,
 * like db_quota_sample_record). Pointer arguments are borrowed. */
#ifndef VP_DB_QUOTA_RUNTIME_H
#define VP_DB_QUOTA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "quota.h"

enum { DB_QUOTA_RT_TEXT = 501, DB_QUOTA_RT_BUDGET = 2048 };

/* How runtime limits are enforced on one host, as last checked. */
struct db_quota_host_mode {
    int64_t host_id;
    enum quota_mode mode;
    char detail[DB_QUOTA_RT_TEXT]; /* one sentence; "" when nothing to say */
    char checked_at[32];
};

/* Records host_id's mode (detail truncated to 500 bytes; NULL = "") checked
 * at `now` (RFC 3339). No-op for a host that is gone. */
int db_quota_runtime_host_set(db *d, int64_t host_id, enum quota_mode mode, const char *detail,
                              const char *now, err *e);

/* host_id's mode into *out; ERR_NOT_FOUND before the first check. */
int db_quota_runtime_host_get(db *d, int64_t host_id, struct db_quota_host_mode *out, err *e);

/* What was applied for a tenant on a host. */
struct db_quota_enforcement {
    int64_t tenant_id, host_id;
    char host_name[65]; /* filled by the list */
    enum quota_mode mode;
    char detail[DB_QUOTA_RT_TEXT];
    char budget_json[DB_QUOTA_RT_BUDGET]; /* JSON object, API units */
    char applied_at[32];                  /* "" = never applied */
    char error[DB_QUOTA_RT_TEXT];         /* "" = the last attempt worked */
};

/* Upserts the row of (r->tenant_id, r->host_id) with mode, detail,
 * budget_json ("" = "{}") and error; applied_at becomes `now` when `applied`,
 * else it keeps its value. No-op when the tenant or host is gone. */
int db_quota_runtime_record(db *d, const struct db_quota_enforcement *r, bool applied,
                            const char *now, err *e);

/* Drops the rows of tenant_id on hosts where it has no VM any more.
 * *dropped (may be NULL) counts them. */
int db_quota_runtime_prune(db *d, int64_t tenant_id, int64_t *dropped, err *e);

typedef int (*db_quota_enforcement_fn)(void *arg, const struct db_quota_enforcement *r, err *e);

/* The rows of tenant_id, ordered by host id. */
int db_quota_runtime_list(db *d, int64_t tenant_id, db_quota_enforcement_fn fn, void *arg, err *e);

/* The tenants that have a runtime limit or an enforcement row (ordered by
 * id): *out malloc'd (caller frees; NULL when *n == 0). */
int db_quota_runtime_tenants(db *d, int64_t **out, size_t *n, err *e);

/* One VM with a tenant on a host: the input of per-VM tunables and of the
 * per-tenant sums of libvirt stats. */
struct db_quota_vm {
    int64_t id, tenant_id;
    char uuid[37];
    bool running; /* not shut off */
    int64_t vcpus, memory_mib, disk_gib;
    int64_t ndisks; /* disks of device "disk" */
};

/* Every VM of host_id that belongs to a tenant, ordered by tenant then VM id:
 * *out malloc'd (caller frees; NULL when *n == 0). */
int db_quota_runtime_host_vms(db *d, int64_t host_id, struct db_quota_vm **out, size_t *n, err *e);

typedef int (*db_quota_source_fn)(void *arg, const char *source, err *e);

/* The distinct disk sources (image files, block devices) of tenant_id's VMs
 * on host_id, from the inventory cache; fn returns 0, or -1 to stop. */
int db_quota_runtime_disk_sources(db *d, int64_t host_id, int64_t tenant_id, db_quota_source_fn fn,
                                  void *arg, err *e);

/* The libvirt partition ("/" + tmpl with the tenant's slug for "%s") for a
 * new VM of tenant_id on host_id into buf[n] when the host's recorded mode is
 * cgroup; buf = "" otherwise (other modes, never checked, no tenant).
 * `tmpl` (e.g. QUOTA_CGROUP_PARTITION) holds exactly one "%s". */
int db_quota_runtime_partition(db *d, int64_t host_id, int64_t tenant_id, const char *tmpl,
                               char *buf, size_t n, err *e);

#endif
