/* vm_tasks: the long VM actions as tasks — power actions, snapshots, create,
 * delete and live migration — run by the task runner (task.h) on its worker
 * threads, acting through server/virt on the connection manager of the
 * inventory (inventory_virt). api/vm_actions.c validates and authorizes, then
 * calls one vm_tasks_<verb> function, which queues the task with the
 * request's audit row and answers with the task id.
 *
 * Concurrency: every task on a host shares the key "host/<id>" (a migration:
 * its source host), so the runner's per-key limit bounds the work a host gets
 * at once.
 *
 * The cache (db/inventory.h): after an action the task re-reads the domain
 * and writes its row itself (bookkeeping, no audit row), so that when the task
 * says "succeeded" a read of /vms already shows the result; the inventory's
 * own events and reconcile keep refreshing it afterwards. A create inserts the
 * row, a delete removes it, a migration moves it to the target host (same VM
 * id). Allocation usage (quotas) follows the row.
 *
 * Errors: task functions fail with client-safe details (virt's). Each
 * vm_tasks_<verb> returns 0 with *task_id, or -1 with `e` (task_submit's
 * errors): nothing was queued then. Strings and structs passed in are
 * borrowed (copied). Thread-safe. */
#ifndef VP_VM_TASKS_H
#define VP_VM_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "virt.h"

struct vp_app;

enum {
    VM_TASKS_SHUTDOWN_WAIT_S = 120, /* a shutdown task waits this long for "shut off" */
    VM_TASKS_DESC_MAX = 1024,       /* snapshot description, bytes */
    VM_TASKS_PATH_MAX = 1024,       /* base_image as an absolute path */
};

/* The VM a task acts on, copied from its cache row when the task is queued. */
struct vm_task_vm {
    int64_t id, host_id, tenant_id; /* tenant 0 = none */
    char uuid[VIRT_UUID_LEN + 1];
    char name[VIRT_NAME_MAX + 1];
};

/* Who queued the task: the task row's creator and its final audit row's actor. */
struct vm_task_who {
    int64_t user_id;
    const char *login; /* borrowed */
};

/* A power action ("vm.<action>"). A shutdown (ACPI: the guest decides) waits
 * up to VM_TASKS_SHUTDOWN_WAIT_S for the VM to be shut off and fails when it
 * is not (the guest may ignore ACPI: poweroff then); it is cancellable while
 * it waits. */
int vm_tasks_action(struct vp_app *app, const struct vm_task_vm *vm, enum virt_action act,
                    const struct vm_task_who *who, struct db_audit *a, int64_t *task_id, err *e);

enum vm_snap_op { VM_SNAP_CREATE, VM_SNAP_REVERT, VM_SNAP_DELETE };

/* "vm.snapshot.create|revert|delete" of snapshot `name` (validated by the
 * caller); `description` may be NULL (create only). */
int vm_tasks_snapshot(struct vp_app *app, const struct vm_task_vm *vm, enum vm_snap_op op,
                      const char *name, const char *description, const struct vm_task_who *who,
                      struct db_audit *a, int64_t *task_id, err *e);

/* A new VM as the API validated it (fixed buffers: the task keeps a copy). */
struct vm_task_new {
    int64_t host_id, tenant_id; /* tenant 0 = none */
    char name[VIRT_NAME_MAX + 1];
    int64_t vcpus, memory_mib, disk_gib;
    char pool[VIRT_NAME_MAX + 1];           /* "" = none (base_image's pool) */
    char base_image[VM_TASKS_PATH_MAX + 1]; /* "" = none */
    char network[VIRT_NAME_MAX + 1];        /* "" = no NIC */
    enum virt_firmware firmware;
};

/* "vm.create": defines the domain from `nv` (virt_domain_define: XML from the
 * spec, the tenant in the portal metadata), inserts its cache row and ends
 * the quota reservation `reservation_id` (0 = none). On success of this call
 * the task owns the reservation: it commits it once the row exists, and
 * releases it when the define fails or the task never runs (cancelled while
 * queued, server stopping). On failure of this call the reservation is still
 * the caller's. A define that succeeds but whose row cannot be written is
 * undone (undefined with its new volume). */
int vm_tasks_create(struct vp_app *app, const struct vm_task_new *nv, int64_t reservation_id,
                    const struct vm_task_who *who, struct db_audit *a, int64_t *task_id, err *e);

struct vm_task_delete_opts {
    bool delete_volumes; /* also delete the volumes of its disks (pool volumes only) */
    bool force;          /* power a running VM off first */
};

/* "vm.delete": undefines the VM (virt_domain_undefine) and removes its row. */
int vm_tasks_delete(struct vp_app *app, const struct vm_task_vm *vm,
                    const struct vm_task_delete_opts *o, const struct vm_task_who *who,
                    struct db_audit *a, int64_t *task_id, err *e);

struct vm_task_migrate_opts {
    int64_t dst_host_id;
    bool tunnelled;          /* data through the libvirtd connection */
    bool unsafe;             /* storage libvirt cannot tell is shared */
    uint64_t bandwidth_mibs; /* 0 = unlimited */
};

/* "vm.migrate": peer-to-peer live migration to o->dst_host_id with progress
 * from the job statistics; cancellable while it runs (the job is aborted and
 * the VM stays on its host). A VM with snapshots is refused with a clear
 * error (libvirt 9 will not migrate snapshot metadata: delete them first). On
 * success the row moves to the target host and the tenant's runtime budgets
 * are pushed again (app->quota_runtime_push, when set). */
int vm_tasks_migrate(struct vp_app *app, const struct vm_task_vm *vm,
                     const struct vm_task_migrate_opts *o, const struct vm_task_who *who,
                     struct db_audit *a, int64_t *task_id, err *e);

/* ---- synchronous calls for request handlers (they ask the hypervisor) ---- */

/* The VM's snapshots (virt_snapshot_list). ERR_UNAVAILABLE when the host
 * is not connected. Caller frees with virt_snapshot_list_free. */
int vm_tasks_snapshot_list(struct vp_app *app, const struct vm_task_vm *vm,
                           struct virt_snapshot_list *out, err *e);

/* CPU compatibility of the VM with host dst (virt_migrate_check). */
int vm_tasks_migrate_check(struct vp_app *app, const struct vm_task_vm *vm, int64_t dst,
                           enum virt_cpu_compat *out, err *e);

#endif
