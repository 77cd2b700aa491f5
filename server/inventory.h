/* inventory: the glue between server/virt (libvirt) and db/ (the cache).
 *
 * Every registered host gets, besides the virt module's connector thread,
 * one inventory thread of its own that does all of that host's cache work in
 * order: it writes the connection state, reads the host's facts on connect,
 * applies domain events (a changed domain is read again and its row written;
 * a change made with virsh shows in the API within milliseconds), and runs
 * the periodic complete reconcile (every `reconcile_s`, and at once after
 * every (re)connect, when events may have been lost). A reconcile diffs the
 * host's snapshot against the cached rows' fingerprints and writes only what
 * changed, in one db_mutate per host (db_inventory_apply). A slow or hung
 * host delays only its own thread; API reads never wait for any of this.
 *
 * Calls that must reach a hypervisor on behalf of a request (live stats, VM
 * metadata) run off the request thread and are waited for with a deadline:
 * past it the request gets ERR_UNAVAILABLE and the work is either cancelled
 * (not started yet) or finishes in the background.
 *
 * Threads: every function is thread-safe. inventory_start/stop belong to the
 * serving thread; the rest may be called from request threads. Whoever uses
 * inventory_virt() (task runners) must be stopped before inventory_stop. */
#ifndef VP_SERVER_INVENTORY_H
#define VP_SERVER_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "virt.h"

struct inventory;

struct inventory_opts {
    int reconcile_s;      /* complete reconcile period; 0 = 30 */
    int full_every;       /* every Nth periodic reconcile re-reads all domain XML; 0 = 10 */
    int stats_timeout_ms; /* live stats deadline; 0 = 2000 */
    int write_timeout_ms; /* metadata writes deadline; 0 = 15000 */
    int max_detached;     /* stats calls in flight at once; 0 = 64 */
    struct virt_options virt;
};

/* Starts the connection manager and registers every host of the database
 * (all "connecting" until their connectors report). `d` is borrowed and must
 * outlive the inventory; `o` may be NULL. Caller stops with inventory_stop. */
struct inventory *inventory_start(db *d, const struct inventory_opts *o, err *e);

/* Stops every host thread and call (waiting for calls stuck in libvirt),
 * then the connection manager. NULL is fine. */
void inventory_stop(struct inventory *inv);

/* The connection manager, for modules that act on hosts (tasks). Borrowed,
 * valid until inventory_stop. */
virt_hosts *inventory_virt(struct inventory *inv);

/* ---- hosts (administrators' changes: audited with the caller's row) ---- */

/* Checks `uri` (ERR_INVALID naming the problem, field "uri"), stores the
 * host (ERR_CONFLICT when the name or URI is taken) and starts connecting.
 * *id_out gets the new id. Strings are borrowed. */
int inventory_host_create(struct inventory *inv, const char *name, const char *uri,
                          struct db_audit *a, int64_t *id_out, err *e);

/* Renames and/or re-points host `id` (NULL: unchanged). A new URI closes the
 * old connection and opens the new one; its VMs stay cached until the next
 * reconcile says otherwise. ERR_NOT_FOUND, ERR_INVALID, ERR_CONFLICT. */
int inventory_host_update(struct inventory *inv, int64_t id, const char *name, const char *uri,
                          struct db_audit *a, err *e);

/* Removes host `id` (see db_host_delete for `force`) and closes its
 * connection in the background. *dropped = VMs dropped from the cache. */
int inventory_host_delete(struct inventory *inv, int64_t id, bool force, struct db_audit *a,
                          int64_t *dropped, err *e);

/* ---- VMs ---- */

/* Live stats of VM `uuid` on host `host_id`, within the stats deadline.
 * ERR_UNAVAILABLE (detail says why: not connected, no answer in time),
 * ERR_NOT_FOUND when the host no longer has it. */
int inventory_vm_stats(struct inventory *inv, int64_t host_id, const char *uuid,
                       struct virt_domain_stats *out, err *e);

/* What an administrator changes on a VM: NULL members are unchanged. */
struct inventory_assign {
    const int64_t *tenant_id; /* 0 = no tenant */
    const char *const *tags;  /* with ntags; tags_set says whether to replace them */
    size_t ntags;
    bool tags_set;
};

/* Writes the portal metadata (tenant, tags) into VM `uuid`'s domain through
 * the virt module, then its fresh row into the cache with the caller's audit
 * row `a` (copied: the request may be gone when a slow host answers; its
 * `details` are copied too). If the cache write fails the old metadata is put
 * back. Waits up to the write deadline: then ERR_UNAVAILABLE, and the change
 * either never starts or completes (with its audit row) later. *id_out is the
 * VM's id (may be NULL). */
int inventory_vm_assign(struct inventory *inv, int64_t host_id, const char *uuid,
                        const struct inventory_assign *req, const struct db_audit *a,
                        int64_t *id_out, err *e);

/* ---- for tests and benchmarks ---- */

struct inventory_reconcile_stats {
    double snapshot_s; /* virt_host_snapshot */
    double diff_s;     /* cached fingerprints read + diffed, changed rows built */
    double db_s;       /* db_inventory_apply */
    double total_s;
    size_t domains, xml_fetched, written, deleted;
};

/* Waits until host `id` is connected (ERR_UNAVAILABLE after timeout_ms). */
int inventory_host_wait(struct inventory *inv, int64_t id, int timeout_ms, err *e);

/* The figures of host `id`'s last successful complete reconcile (zeros
 * before the first). ERR_NOT_FOUND for an unknown host. */
int inventory_last_reconcile(struct inventory *inv, int64_t id,
                             struct inventory_reconcile_stats *out, err *e);

/* Runs a complete reconcile of host `id` now, on its own thread (after what
 * is queued there), and waits for it up to timeout_ms. `full` re-reads every
 * domain's XML. *st may be NULL. */
int inventory_reconcile(struct inventory *inv, int64_t id, bool full, int timeout_ms,
                        struct inventory_reconcile_stats *st, err *e);

/* The cache row of domain d (borrowed) with fingerprint `fp` (NULL: none, the
 * next event or reconcile writes it), its text in `a`. */
struct virt_domain;
struct db_vm_row;
int inventory_vm_row(const struct virt_domain *d, const char *fp, arena *a, struct db_vm_row *r,
                     err *e);

#endif
