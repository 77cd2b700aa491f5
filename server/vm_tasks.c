/* vm_tasks: VM actions as tasks (see vm_tasks.h). */
#include "vm_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../db/inventory.h"
#include "app.h"
#include "inventory.h"
#include "log.h"
#include "quota.h"
#include "quota_runtime.h"
#include "task.h"

enum {
    SHUTDOWN_POLL_MS = 500,
    MIGRATE_POLL_MS = 500,
    MIGRATE_SETTLE_ROUNDS = 5, /* keep_on: checks of the row after a migration... */
    MIGRATE_SETTLE_MS = 400,   /* ...this far apart */
};

/* One queued task's argument: owned by the runner once submitted. */
struct vm_job {
    struct vp_app *app;
    struct vm_task_vm vm;
    enum virt_action act;
    enum vm_snap_op snap_op;
    char snap[VIRT_NAME_MAX + 1];
    char *desc; /* snapshot description, malloc'd or NULL */
    struct vm_task_new nv;
    int64_t reservation; /* create: a reservation still to end, 0 = none */
    struct vm_task_delete_opts del;
    struct vm_task_migrate_opts mig;
    struct task_ctx *t; /* migrate: for the progress callback */
};

/* The runner's free_arg: a reservation nobody ended goes back. */
static void
job_free(void *arg)
{
    struct vm_job *j = arg;
    if (!j)
        return;
    if (j->reservation) {
        err e = {0};
        if (db_quota_release(j->app->db, j->reservation, NULL, &e) < 0 && e.kind != ERR_NOT_FOUND)
            log_msg(LOG_WARN, "vm task: quota reservation %lld not released: %s",
                    (long long)j->reservation, e.detail);
    }
    free(j->desc);
    free(j);
}

static struct vm_job *
job_new(struct vp_app *app, const struct vm_task_vm *vm, err *e)
{
    struct vm_job *j = calloc(1, sizeof(*j));
    if (!j) {
        err_set(e, ERR_UNAVAILABLE, "Out of memory.");
        return NULL;
    }
    j->app = app;
    if (vm)
        j->vm = *vm;
    return j;
}

static virt_hosts *
job_virt(const struct vm_job *j)
{
    return inventory_virt(j->app->inventory);
}

/* Queues fn(j) on the host's key; j is the runner's on success, freed here
 * otherwise (without touching a reservation: that is still the caller's). */
static int
submit(struct vm_job *j, const char *kind, const char *target, int64_t tenant_id, int64_t host_id,
       bool cancellable, task_fn fn, const struct vm_task_who *who, struct db_audit *a,
       int64_t *task_id, err *e)
{
    struct vp_app *app = j->app;
    if (!app->tasks || !app->inventory) {
        j->reservation = 0;
        job_free(j);
        return err_set(e, ERR_UNAVAILABLE, "Tasks are not available.");
    }
    char key[TASK_KEY_MAX + 1];
    snprintf(key, sizeof(key), "host/%lld", (long long)host_id);
    struct task_spec s = {.kind = kind,
                          .target = target,
                          .tenant_id = tenant_id,
                          .created_by = who->user_id,
                          .actor = who->login,
                          .key = key,
                          .cancellable = cancellable};
    if (task_submit(app->tasks, &s, fn, j, job_free, a, task_id, e) < 0) {
        j->reservation = 0;
        job_free(j);
        return -1;
    }
    return 0;
}

static void
vm_target(const struct vm_task_vm *vm, char *buf, size_t n)
{
    snprintf(buf, n, "vm/%lld", (long long)vm->id);
}

/* The tenant's runtime budgets follow its allocation per host: push them
 * again after a VM appeared, disappeared or moved (nothing to do until the
 * quota runtime installs its hook). */
static void
push_budgets(struct vp_app *app, int64_t tenant_id)
{
    if (tenant_id > 0 && app->quota_runtime_push)
        app->quota_runtime_push(app, tenant_id);
}

/* ======================================================================== */
/* cache rows                                                                */

/* Reads domain `uuid` of host_id again and writes its row (bookkeeping).
 * *id_out (may be NULL) is the VM's id. */
static int
refresh_row(struct vm_job *j, int64_t host_id, const char *uuid, int64_t *id_out, err *e)
{
    arena *a = arena_new();
    if (!a)
        return err_set(e, ERR_INTERNAL, "out of memory");
    struct virt_domain d;
    struct db_vm_row row;
    int rc = virt_domain_get(job_virt(j), host_id, uuid, a, &d, e);
    if (rc == 0)
        rc = inventory_vm_row(&d, NULL, a, &row, e);
    if (rc == 0)
        rc = db_vm_put(j->app->db, host_id, &row, NULL, id_out, e);
    arena_destroy(a);
    return rc;
}

/* After an action: the row is refreshed now; failing that, events and the
 * reconcile will, so the action still succeeded. */
static void
refresh_after(struct vm_job *j, const char *what)
{
    err e = {0};
    if (refresh_row(j, j->vm.host_id, j->vm.uuid, NULL, &e) < 0)
        log_msg(LOG_WARN, "vm task: vm/%lld after %s: cache not refreshed: %s", (long long)j->vm.id,
                what, e.detail);
}

/* ======================================================================== */
/* power actions                                                             */

/* Waits until the guest has shut itself off (ACPI shutdown). */
static int
wait_shutoff(struct task_ctx *t, struct vm_job *j, err *e)
{
    int waited_ms = 0;
    while (waited_ms < VM_TASKS_SHUTDOWN_WAIT_S * 1000) {
        struct virt_domain_stats st;
        if (virt_domain_stats(job_virt(j), j->vm.host_id, j->vm.uuid, &st, e) < 0)
            return -1;
        if (st.state == VIRT_DOM_SHUTOFF)
            return 0;
        task_progress(t, 50, "waiting for the guest to shut down (%d s)", waited_ms / 1000);
        if (task_sleep(t, SHUTDOWN_POLL_MS))
            return err_set(e, ERR_CONFLICT,
                           "Stopped waiting; the guest received the shutdown request and may "
                           "still shut down.");
        waited_ms += SHUTDOWN_POLL_MS;
    }
    return err_set(e, ERR_CONFLICT,
                   "The guest did not shut down within %d s (it may ignore ACPI); use poweroff.",
                   VM_TASKS_SHUTDOWN_WAIT_S);
}

static int
action_run(struct task_ctx *t, void *arg, err *e)
{
    struct vm_job *j = arg;
    const char *name = virt_action_name(j->act);
    task_progress(t, 10, "%s %s", name, j->vm.name);
    if (virt_domain_act(job_virt(j), j->vm.host_id, j->vm.uuid, j->act, e) < 0)
        return -1;
    if (j->act == VIRT_ACT_SHUTDOWN && wait_shutoff(t, j, e) < 0)
        return -1;
    refresh_after(j, name);
    task_progress(t, 100, "%s: done", name);
    return 0;
}

int
vm_tasks_action(struct vp_app *app, const struct vm_task_vm *vm, enum virt_action act,
                const struct vm_task_who *who, struct db_audit *a, int64_t *task_id, err *e)
{
    if ((unsigned)act >= VIRT_ACT_COUNT)
        return err_set(e, ERR_INVALID, "Unknown action.");
    struct vm_job *j = job_new(app, vm, e);
    if (!j)
        return -1;
    j->act = act;
    char kind[32], target[32];
    snprintf(kind, sizeof(kind), "vm.%s", virt_action_name(act));
    vm_target(vm, target, sizeof(target));
    return submit(j, kind, target, vm->tenant_id, vm->host_id, act == VIRT_ACT_SHUTDOWN, action_run,
                  who, a, task_id, e);
}

/* ======================================================================== */
/* snapshots                                                                 */

static int
snapshot_run(struct task_ctx *t, void *arg, err *e)
{
    struct vm_job *j = arg;
    virt_hosts *h = job_virt(j);
    int rc = -1;
    task_progress(t, 10, "snapshot %s of %s", j->snap, j->vm.name);
    switch (j->snap_op) {
    case VM_SNAP_CREATE:
        rc = virt_snapshot_create(h, j->vm.host_id, j->vm.uuid, j->snap, j->desc, e);
        break;
    case VM_SNAP_REVERT:
        rc = virt_snapshot_revert(h, j->vm.host_id, j->vm.uuid, j->snap, e);
        break;
    case VM_SNAP_DELETE:
        rc = virt_snapshot_delete(h, j->vm.host_id, j->vm.uuid, j->snap, e);
        break;
    }
    if (rc < 0)
        return -1;
    refresh_after(j, "a snapshot change"); /* a revert changes the state */
    task_progress(t, 100, "done");
    return 0;
}

int
vm_tasks_snapshot(struct vp_app *app, const struct vm_task_vm *vm, enum vm_snap_op op,
                  const char *name, const char *description, const struct vm_task_who *who,
                  struct db_audit *a, int64_t *task_id, err *e)
{
    static const char *const kinds[] = {[VM_SNAP_CREATE] = "vm.snapshot.create",
                                        [VM_SNAP_REVERT] = "vm.snapshot.revert",
                                        [VM_SNAP_DELETE] = "vm.snapshot.delete"};
    if ((unsigned)op > VM_SNAP_DELETE || !name || strlen(name) > VIRT_NAME_MAX)
        return err_set(e, ERR_INVALID, "Bad snapshot request.");
    struct vm_job *j = job_new(app, vm, e);
    if (!j)
        return -1;
    j->snap_op = op;
    snprintf(j->snap, sizeof(j->snap), "%s", name);
    if (description && op == VM_SNAP_CREATE && !(j->desc = strdup(description))) {
        job_free(j);
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    }
    char target[32];
    vm_target(vm, target, sizeof(target));
    return submit(j, kinds[op], target, vm->tenant_id, vm->host_id, false, snapshot_run, who, a,
                  task_id, e);
}

int
vm_tasks_snapshot_list(struct vp_app *app, const struct vm_task_vm *vm,
                       struct virt_snapshot_list *out, err *e)
{
    if (!app->inventory)
        return err_set(e, ERR_UNAVAILABLE, "The inventory is not available.");
    return virt_snapshot_list(inventory_virt(app->inventory), vm->host_id, vm->uuid, out, e);
}

/* ======================================================================== */
/* create                                                                    */

static void
spec_of(const struct vm_task_new *nv, struct virt_spec *s)
{
    *s = (struct virt_spec){
        .name = nv->name,
        .vcpus = nv->vcpus,
        .memory_mib = nv->memory_mib,
        .disk_gib = nv->disk_gib,
        .pool = nv->pool[0] ? nv->pool : NULL,
        .base_image = nv->base_image[0] ? nv->base_image : NULL,
        .network = nv->network[0] ? nv->network : NULL,
        .firmware = nv->firmware,
        .tenant_id = nv->tenant_id,
    };
}

/* The new domain's row, then the end of its reservation. Two transactions
 * (db/inventory.h has no store function that runs inside another's
 * transaction): the row first, so that the VM is never uncounted — between
 * the two it counts twice, which can only refuse, never over-admit. */
static int
record_new(struct vm_job *j, const char *uuid, int64_t *id, err *e)
{
    if (refresh_row(j, j->nv.host_id, uuid, id, e) < 0)
        return -1;
    err ce = {0};
    if (j->reservation && db_quota_commit(j->app->db, j->reservation, NULL, &ce) < 0 &&
        ce.kind != ERR_NOT_FOUND)
        log_msg(LOG_WARN, "vm task: quota reservation %lld not committed: %s",
                (long long)j->reservation, ce.detail);
    j->reservation = 0; /* ended: committed (or released meanwhile by reconciliation) */
    return 0;
}

/* The row could not be written: take the domain and its new volume away. */
static void
undo_define(struct vm_job *j, const char *uuid)
{
    const struct virt_undefine_opts o = {.force = true, .delete_volumes = true};
    err ue = {0};
    if (virt_domain_undefine(job_virt(j), j->nv.host_id, uuid, &o, NULL, &ue) < 0)
        log_msg(LOG_ERROR, "vm task: %s defined on host %lld but not recorded, not undone: %s",
                j->nv.name, (long long)j->nv.host_id, ue.detail);
}

static int
create_run(struct task_ctx *t, void *arg, err *e)
{
    struct vm_job *j = arg;
    struct virt_spec s;
    spec_of(&j->nv, &s);
    /* a host whose quota runtime mode is cgroup holds the tenant's VMs in its
     * partition (quota/runtime.h); elsewhere none is written */
    char part[300];
    err pe = {0};
    if (db_quota_runtime_partition(j->app->db, j->nv.host_id, j->nv.tenant_id,
                                   j->app->cfg.quota_cgroup_partition, part, sizeof(part), &pe) < 0)
        log_msg(LOG_WARN, "vm task: %s: no quota partition: %s", j->nv.name, pe.detail);
    else if (part[0])
        s.partition = part;
    char uuid[VIRT_UUID_LEN + 1];
    task_progress(t, 10, "defining %s", j->nv.name);
    if (virt_domain_define(job_virt(j), j->nv.host_id, &s, uuid, e) < 0)
        return -1; /* job_free releases the reservation */
    task_progress(t, 80, "recording %s", j->nv.name);
    int64_t id = 0;
    if (record_new(j, uuid, &id, e) < 0) {
        undo_define(j, uuid);
        return -1;
    }
    push_budgets(j->app, j->nv.tenant_id);
    task_progress(t, 100, "created vm/%lld", (long long)id);
    return 0;
}

int
vm_tasks_create(struct vp_app *app, const struct vm_task_new *nv, int64_t reservation_id,
                const struct vm_task_who *who, struct db_audit *a, int64_t *task_id, err *e)
{
    struct vm_job *j = job_new(app, NULL, e);
    if (!j)
        return -1;
    j->nv = *nv;
    j->reservation = reservation_id;
    char target[VIRT_NAME_MAX + 48];
    snprintf(target, sizeof(target), "host/%lld/vms/%s", (long long)nv->host_id, nv->name);
    return submit(j, "vm.create", target, nv->tenant_id, nv->host_id, false, create_run, who, a,
                  task_id, e);
}

/* ======================================================================== */
/* delete                                                                    */

/* Is the domain still defined on its host? (after a failed undefine) */
static bool
still_defined(struct vm_job *j)
{
    arena *a = arena_new();
    struct virt_domain d;
    err ge = {0};
    bool there = !a || virt_domain_get(job_virt(j), j->vm.host_id, j->vm.uuid, a, &d, &ge) == 0 ||
                 ge.kind != ERR_NOT_FOUND;
    arena_destroy(a);
    return there;
}

static int
delete_run(struct task_ctx *t, void *arg, err *e)
{
    struct vm_job *j = arg;
    const struct virt_undefine_opts o = {.force = j->del.force,
                                         .delete_volumes = j->del.delete_volumes};
    unsigned deleted = 0;
    task_progress(t, 10, "removing %s", j->vm.name);
    err ue = {0};
    int rc = virt_domain_undefine(job_virt(j), j->vm.host_id, j->vm.uuid, &o, &deleted, &ue);
    if (rc < 0 && still_defined(j)) {
        *e = ue;
        return -1;
    }
    err de = {0};
    if (db_vm_remove(j->app->db, j->vm.host_id, j->vm.uuid, NULL, &de) < 0 &&
        de.kind != ERR_NOT_FOUND)
        log_msg(LOG_WARN, "vm task: vm/%lld undefined, row not removed: %s", (long long)j->vm.id,
                de.detail);
    push_budgets(j->app, j->vm.tenant_id);
    if (rc < 0 && ue.kind != ERR_NOT_FOUND)
        return err_set(e, ERR_CONFLICT, "%s", ue.detail);
    task_progress(t, 100, "removed %s (%u volumes deleted)", j->vm.name, deleted);
    return 0;
}

int
vm_tasks_delete(struct vp_app *app, const struct vm_task_vm *vm,
                const struct vm_task_delete_opts *o, const struct vm_task_who *who,
                struct db_audit *a, int64_t *task_id, err *e)
{
    struct vm_job *j = job_new(app, vm, e);
    if (!j)
        return -1;
    j->del = *o;
    char target[32];
    vm_target(vm, target, sizeof(target));
    return submit(j, "vm.delete", target, vm->tenant_id, vm->host_id, false, delete_run, who, a,
                  task_id, e);
}

/* ======================================================================== */
/* live migration                                                            */

/* Called from virt's poller thread: progress, and "stop" once cancelled. */
static int
migrate_progress(void *ctx, const struct virt_job_progress *p)
{
    struct vm_job *j = ctx;
    const uint64_t mib = 1ULL << 20;
    if (p->percent >= 0)
        task_progress(j->t, 5 + p->percent * 90 / 100, "migrating: %llu of %llu MiB, %llu MiB/s",
                      (unsigned long long)((p->data_total - p->data_remaining) / mib),
                      (unsigned long long)(p->data_total / mib),
                      (unsigned long long)(p->mem_bps / mib));
    return task_cancelled(j->t) ? 1 : 0;
}

/* libvirt 9 refuses to migrate a domain with snapshot metadata; say so
 * plainly instead of passing its error on. */
static int
refuse_snapshots(struct vm_job *j, err *e)
{
    struct virt_snapshot_list l;
    if (virt_snapshot_list(job_virt(j), j->vm.host_id, j->vm.uuid, &l, e) < 0)
        return -1;
    size_t n = l.n;
    virt_snapshot_list_free(&l);
    if (n)
        return err_set(e, ERR_CONFLICT,
                       "The VM has %zu snapshot(s): libvirt cannot live-migrate a VM with "
                       "snapshots. Delete them first.",
                       n);
    return 0;
}

/* Makes the VM's row say it is on host_id, and keeps it so for a moment.
 * Why more than once: during a migration the target host briefly has an
 * incoming domain of the same UUID and the source loses its own; the two
 * hosts' event threads apply what they saw in any order, and a late one can
 * move the row to the wrong host or drop it (a cancelled migration's
 * incoming domain vanishing from the target). After the settle window the
 * row is right until the next real change. */
static void
keep_on(struct vm_job *j, int64_t host_id)
{
    for (int round = 0; round < MIGRATE_SETTLE_ROUNDS; round++) {
        arena *a = arena_new();
        struct db_vm v;
        err ge = {0};
        bool right = a && db_vm_get(j->app->db, j->vm.id, a, &v, &ge) == 0 && v.host_id == host_id;
        arena_destroy(a);
        err re = {0};
        if (!right && refresh_row(j, host_id, j->vm.uuid, NULL, &re) < 0)
            log_msg(LOG_WARN, "vm task: vm/%lld after a migration: cache not updated: %s",
                    (long long)j->vm.id, re.detail);
        struct timespec ts = {0, MIGRATE_SETTLE_MS * 1000000L};
        if (round + 1 < MIGRATE_SETTLE_ROUNDS)
            nanosleep(&ts, NULL); /* not task_sleep: it returns at once once cancelled */
    }
}

static int
migrate_run(struct task_ctx *t, void *arg, err *e)
{
    struct vm_job *j = arg;
    j->t = t;
    task_progress(t, 2, "checking %s", j->vm.name);
    if (refuse_snapshots(j, e) < 0)
        return -1;
    const struct virt_migrate_opts o = {.tunnelled = j->mig.tunnelled,
                                        .unsafe = j->mig.unsafe,
                                        .bandwidth_mibs = j->mig.bandwidth_mibs,
                                        .poll_ms = MIGRATE_POLL_MS,
                                        .progress = migrate_progress,
                                        .ctx = j};
    task_progress(t, 5, "migrating %s", j->vm.name);
    if (virt_migrate(job_virt(j), j->vm.host_id, j->vm.uuid, j->mig.dst_host_id, &o, e) < 0) {
        keep_on(j, j->vm.host_id); /* failed or cancelled: it runs where it was */
        return -1;
    }
    keep_on(j, j->mig.dst_host_id);
    push_budgets(j->app, j->vm.tenant_id);
    task_progress(t, 100, "running on host %lld", (long long)j->mig.dst_host_id);
    return 0;
}

int
vm_tasks_migrate(struct vp_app *app, const struct vm_task_vm *vm,
                 const struct vm_task_migrate_opts *o, const struct vm_task_who *who,
                 struct db_audit *a, int64_t *task_id, err *e)
{
    struct vm_job *j = job_new(app, vm, e);
    if (!j)
        return -1;
    j->mig = *o;
    char target[32];
    vm_target(vm, target, sizeof(target));
    return submit(j, "vm.migrate", target, vm->tenant_id, vm->host_id, true, migrate_run, who, a,
                  task_id, e);
}

int
vm_tasks_migrate_check(struct vp_app *app, const struct vm_task_vm *vm, int64_t dst,
                       enum virt_cpu_compat *out, err *e)
{
    *out = VIRT_CPU_COMPAT_UNKNOWN;
    if (!app->inventory)
        return err_set(e, ERR_UNAVAILABLE, "The inventory is not available.");
    return virt_migrate_check(inventory_virt(app->inventory), vm->host_id, vm->uuid, dst, out, e);
}
