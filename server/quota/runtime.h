/* runtime: runtime enforcement of tenant quotas, one background thread
 * ("quota runtime") started and stopped by serve.c.
 *
 * Per host it decides how limits can be enforced (enum quota_mode):
 *   cgroup   the portal's own machine (URI without a host name) whose cgroup
 *            root is cgroup v2 with the cpu and memory controllers: the
 *            tenant's partition gets cpu.max, memory.max, pids.max (cgroup.h);
 *   libvirt  a connected host of another driver than test://: per-VM libvirt
 *            tunables (tunables.h; scheduler quota and block I/O tune);
 *   none     anything else (test driver, unreachable, quota.enforce = off),
 *            with a sentence saying why.
 * For each tenant marked dirty (quota_runtime_push) and, once per tick
 * (quota.sample_interval_s), every tenant with a runtime limit, it splits the
 * tenant's budget over its hosts (split.h) and applies it there. A failure on
 * one host is recorded (db/quota_runtime.h) and retried next tick; the other
 * hosts go on. Once per tick it also samples usage per tenant and host:
 * cgroup hosts from the partition's files (sampler.h), the others from
 * libvirt domain stats summed per tenant (mode "libvirt").
 *
 * Threads: quota_runtime_push is callable from any thread and never blocks
 * on I/O; everything else runs on the runtime's own thread. */
#ifndef VP_QUOTA_RUNTIME_H
#define VP_QUOTA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "quota.h" /* db/quota.h: enum quota_mode */

struct vp_app;
struct quota_runtime;

/* Starts the thread (one per process) for `app` (borrowed: db and inventory
 * open until quota_runtime_stop) and installs app->quota_runtime_push.
 * NULL with `e` when the thread cannot start. */
struct quota_runtime *quota_runtime_start(struct vp_app *app, err *e);

/* Uninstalls the hook, stops the thread (waits for a pass in progress) and
 * frees `rt`. NULL is fine. Call before the inventory is stopped. */
void quota_runtime_stop(struct quota_runtime *rt);

/* Marks tenant_id dirty and wakes the thread: its budgets are applied again
 * on every host. Any thread; never blocks on I/O; no-op when no runtime runs. */
void quota_runtime_push(struct vp_app *app, int64_t tenant_id);

/* What the mode decision looks at, for one host. */
struct quota_runtime_host_facts {
    const char *uri;         /* borrowed */
    bool connected;          /* the connection manager's state */
    bool enforce_off;        /* quota.enforce = off */
    int cgroup_probe;        /* 0: quota_cgroup_probe of the root succeeded, -1 failed */
    const char *probe_error; /* its detail when it failed (borrowed) */
};

/* Pure: the mode of one host and the sentence saying why into detail[n]
 * (cgroup_probe is only looked at for a local URI). */
enum quota_mode quota_runtime_mode_of(const struct quota_runtime_host_facts *f, char *detail,
                                      size_t n);

/* Pure: is `uri` the portal's own machine (qemu:///system, qemu:///session,
 * no host name)? */
bool quota_runtime_uri_is_local(const char *uri);

#endif
