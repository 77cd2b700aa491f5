/* plan_exec: the server side of migration plans, between the plan routes
 * (api/plans.c) and the planner core (server/plan/, pure).
 *
 *   prepare   a plan's input (the JSON of POST /api/v1/plans, normalised by the
 *             API: uploads become inventory.files[] in base64) becomes planner
 *             input: readers for VMware files, target hosts from a spec, a JSON
 *             list or the portal's inventory, constraints resolved by name. A KVM
 *             plan (rebalance, drain) and "targets": "inventory" read the live
 *             inventory from the SQLite cache (never a hypervisor) and keep it in
 *             input.snapshot, so that the plan can be computed again, identically,
 *             for an export.
 *   compute   runs the planner: a JSON result (summary first).
 *   export    CSV / xlsx of a computed plan (JSON is the stored result).
 *   execute   a KVM plan as tasks: one "plan.execute" task runs the plan's steps in
 *             order; each move is a "vm.migrate" task of server/vm_tasks.h (peer to
 *             peer live migration, cache row moved, tenant budgets pushed) audited
 *             on its own; the moves of a step run at once (the plan already
 *             respects the per-host limits) and a step starts when the one before
 *             it succeeded; a VM that is no longer where the plan found it is
 *             skipped (and counts as a failure). Cancelling the plan task cancels
 *             its running migrations. The plan goes ready → executing → done |
 *             failed.
 *
 * CPU compatibility of live moves (input constraints.cpu_check): "facts" (default)
 * compares the hosts' CPU vendor and model from the cache (different vendors: no;
 * same model: yes; else unknown); "libvirt" asks virt_migrate_check for every
 * candidate move (it talks to hypervisors, so such a plan is computed in a task;
 * its verdicts are kept in the result for exports); "none". Execution checks again
 * either way (virt_migrate refuses an incompatible CPU).
 *
 * Tenant budgets (import plans): each VM gets a tenant — the first entry of
 * constraints.tenants that lists it ("vms"), holds its folder ("folder": RVTools
 * vInfo Folder, that folder or one under it) or whose text its annotation contains
 * ("annotation", case-insensitive); else constraints.tenant_id; else none. The
 * computation reads each tenant's remaining allocation (db_quota_usage: limits
 * minus used minus pending reservations; unlimited stays unlimited) and hands it to
 * the planner as a placement constraint (struct plan_budget): the placed VMs of a
 * tenant never exceed it, and the VMs that do not fit are unplaced with constraint
 * "tenant_budget", the binding resource and the shortfall. result.budget says so
 * ("enforced": true) and gives per tenant what it had left, what the plan places and
 * what it refused; "fits" re-checks the placed VMs against the same usage snapshot
 * (db_quota_evaluate). An export computes the plan again with the remaining figures
 * recorded in result.budget, not today's, so it matches the stored result. Nothing
 * is reserved: a plan is advice, and the quota is checked again when VMs are
 * defined. Rebalance and drain plans ignore tenants: a migration between hosts does
 * not change a tenant's allocation; each migration task pushes its tenant's
 * per-host runtime budgets again.
 *
 * Threads: prepare/compute/export run on the caller's thread; the tasks on the
 * task runner's workers. */
#ifndef VP_PLAN_EXEC_H
#define VP_PLAN_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

struct vp_app;
struct db_audit;
struct plan_prep;

/* Prepares the plan of `input` (a JSON object, borrowed; when a snapshot of the
 * live inventory is needed and input has none, one is read and added to it).
 * `result` (borrowed, may be NULL) is the plan's stored result: its recorded CPU
 * verdicts are reused instead of asking libvirt again. ERR_INVALID with the field
 * at fault ("constraints.headroom", "inventory", "drain.host_ids"); ERR_TOO_LARGE.
 * Caller frees *out with plan_exec_prep_free. */
int plan_exec_prepare(struct vp_app *app, json_t *input, const json_t *result,
                      struct plan_prep **out, err *e);
void plan_exec_prep_free(struct plan_prep *p);

/* VMs the plan covers. */
size_t plan_exec_prep_vms(const struct plan_prep *p);
/* True when computing it asks hypervisors (cpu_check "libvirt"): run it in a task. */
bool plan_exec_prep_live(const struct plan_prep *p);

/* Runs the planner. Returns the result (a new reference) or NULL with `e`
 * (ERR_INVALID from the planner's checks, ERR_UNAVAILABLE, ERR_INTERNAL). */
json_t *plan_exec_compute(struct vp_app *app, struct plan_prep *p, err *e);

/* Exports a plan computed with plan_exec_compute on `p`: format "csv" or "xlsx".
 * *out is malloc'd (caller frees), *ctype a static MIME type. */
int plan_exec_export(struct plan_prep *p, const char *format, unsigned char **out, size_t *len,
                     const char **ctype, err *e);

/* The standard base64 of n bytes as a JSON string (a new reference, NULL when out
 * of memory): how the API keeps an upload in a plan's input. */
json_t *plan_exec_base64(const void *data, size_t n);

/* Who asked, copied for the audit rows written later by tasks. */
struct plan_exec_who {
    int64_t user_id;
    const char *login, *token_id, *source_ip, *user_agent, *request_id;
};

/* Queues the computation of draft plan `plan_id` as task "plan.compute" (audit row
 * `a`, borrowed, required). The task ends the plan ready or failed (result.error). */
int plan_exec_submit_compute(struct vp_app *app, int64_t plan_id, const struct plan_exec_who *who,
                             struct db_audit *a, int64_t *task_id, err *e);

struct plan_exec_opts {
    bool tunnelled;          /* libvirt tunnels the data through its own connection */
    bool unsafe;             /* migrate even when libvirt calls the disk setup unsafe */
    uint64_t bandwidth_mibs; /* 0 = unlimited */
};

/* Starts executing ready KVM plan `plan_id`: moves it to executing and queues the
 * "plan.execute" task with the request's audit row `a` (borrowed, required).
 * ERR_CONFLICT when the plan is not ready or not a KVM plan, ERR_UNAVAILABLE when
 * no task runner or inventory runs. *task_id is the plan task. */
int plan_exec_start(struct vp_app *app, int64_t plan_id, const struct plan_exec_opts *o,
                    const struct plan_exec_who *who, struct db_audit *a, int64_t *task_id, err *e);

/* A plan left "executing" or "draft" by a process that stopped (its task ended
 * "interrupted by a restart") is marked failed. No-op otherwise. */
int plan_exec_reconcile(struct vp_app *app, int64_t plan_id, err *e);

#endif
