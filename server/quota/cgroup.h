/* cgroup: a tenant's runtime limits on one host, as a cgroup v2 partition
 * written with plain file I/O (no libvirt, no systemd).
 *
 * Each tenant's VMs on a host run under a partition (libvirt
 * <resource><partition>), by default machine.slice/virtportal-<slug>.slice
 * under the cgroup root (default /sys/fs/cgroup). The partition gets
 * cpu.max, memory.max, io.max / io.weight and pids.max from the tenant's
 * budget on that host (split.h), and its usage is read back from cpu.stat,
 * memory.current, memory.events, io.stat and pids.current.
 *
 * Before writing anything, the backend checks with statfs() that the root and
 * every directory it touches are a cgroup v2 filesystem, and that each needed
 * controller is in the parent's cgroup.controllers; it enables them in
 * cgroup.subtree_control on the way down. It never creates a file (no
 * O_CREAT) and never writes into a tmpfs or a cgroup v1 hierarchy: on a
 * hybrid host whose /sys/fs/cgroup is a tmpfs (PITFALLS) it answers
 * ERR_UNAVAILABLE "/sys/fs/cgroup is not a cgroup v2 filesystem (tmpfs)"
 * instead; the portal then falls back to per-VM libvirt tunables (tunables.h).
 *
 * Thread-safety: the functions keep no state; two threads changing the same
 * tenant's partition at once is the caller's to avoid. */
#ifndef VP_QUOTA_CGROUP_H
#define VP_QUOTA_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "split.h"

#define QUOTA_CGROUP_ROOT "/sys/fs/cgroup"
#define QUOTA_CGROUP_PARTITION "machine.slice/virtportal-%s.slice"
#define QUOTA_CGROUP_PERIOD_US 100000

/* Controllers, as bits. */
enum {
    QUOTA_CTRL_CPU = 1u << 0,
    QUOTA_CTRL_MEMORY = 1u << 1,
    QUOTA_CTRL_IO = 1u << 2,
    QUOTA_CTRL_PIDS = 1u << 3,
    QUOTA_CTRL_ALL = 0xfu
};

struct quota_cgroup_cfg {
    const char *root;      /* absolute; NULL = QUOTA_CGROUP_ROOT */
    const char *partition; /* relative, one "%s" for the tenant slug, no "..";
                              NULL = QUOTA_CGROUP_PARTITION */
};

/* io.max for one block device; -1 = "max" (unlimited). */
struct quota_io_limit {
    unsigned major, minor;
    int64_t rbps, wbps, riops, wiops;
};

/* What to write. -1 = "max"; a file whose limit is -1 is reset to "max" only
 * when its controller is already enabled (nothing to undo otherwise). */
struct quota_cgroup_limits {
    int64_t cpu_quota_us;  /* cpu.max quota */
    int64_t cpu_period_us; /* cpu.max period; 0 = QUOTA_CGROUP_PERIOD_US */
    int64_t memory_max_bytes;
    int64_t pids_max;
    int64_t io_weight;               /* io.weight "default N"; -1 = leave alone */
    const struct quota_io_limit *io; /* borrowed, nio entries */
    size_t nio;
};

struct quota_cgroup_usage {
    int64_t cpu_usage_usec, cpu_throttled_usec, cpu_nr_periods, cpu_nr_throttled;
    int64_t memory_current, memory_oom, memory_oom_kill, memory_max_events;
    int64_t io_rbytes, io_wbytes, io_rios, io_wios; /* summed over devices */
    int64_t pids_current;
};

/* Is the root a cgroup v2 filesystem offering `ctrls` (QUOTA_CTRL_* bits) in
 * its cgroup.controllers? 0, or ERR_UNAVAILABLE with a sentence naming the
 * path and what it is instead ("/sys/fs/cgroup is not a cgroup v2 filesystem
 * (tmpfs)", "... controller 'io' is not available ..."). */
int quota_cgroup_probe(const struct quota_cgroup_cfg *c, unsigned ctrls, err *e);

/* The partition's absolute directory for tenant `slug` into buf[n].
 * ERR_INVALID for a slug that is not [a-z0-9-]{1,63} or a bad template. */
int quota_cgroup_path(const struct quota_cgroup_cfg *c, const char *slug, char *buf, size_t n,
                      err *e);

/* Creates the partition of `slug` (and its parents) when missing, enables
 * the controllers the limits need on the way down (and in the partition's
 * own subtree_control where the kernel allows, for the VMs' own cgroups), and
 * writes the limits. ERR_UNAVAILABLE (not cgroup v2, controller missing or
 * not enableable, write refused), ERR_INVALID (slug, template, a value the
 * kernel rejects). */
int quota_cgroup_apply(const struct quota_cgroup_cfg *c, const char *slug,
                       const struct quota_cgroup_limits *l, err *e);

/* Reads the partition's usage; files of controllers that are not enabled
 * read as 0. ERR_NOT_FOUND when the partition does not exist. */
int quota_cgroup_read(const struct quota_cgroup_cfg *c, const char *slug,
                      struct quota_cgroup_usage *u, err *e);

/* Removes the (empty) partition of `slug`; ERR_CONFLICT while it still holds
 * cgroups or processes. Missing is fine. */
int quota_cgroup_remove(const struct quota_cgroup_cfg *c, const char *slug, err *e);

/* The whole block device under `path` (a disk image file or a block device
 * node) as MAJ:MIN, what io.max wants: the device of the filesystem holding a
 * file, the node's own device for a block device, and a partition's disk
 * instead of the partition. `sysfs` is the sysfs mount (NULL = "/sys"; tests
 * pass a tree of their own). ERR_NOT_FOUND when the path does not exist,
 * ERR_UNAVAILABLE when it is not backed by a block device (tmpfs, overlay, a
 * network filesystem). */
int quota_cgroup_block_device(const char *path, const char *sysfs, unsigned *major, unsigned *minor,
                              err *e);

/* The cgroup limits of a host budget (split.h): cpu_cores -> cpu.max with the
 * default period, memory_max_mib -> memory.max, pids_max, io_weight, and the
 * io_* amounts shared evenly by the `ndevs` devices in devs[] (MAJ:MIN
 * pairs), never adding up to more than the budget (each at least 1).
 * io_out must hold ndevs entries; out->io points at it. */
void quota_cgroup_limits_of(const struct quota_limits *budget, const unsigned (*devs)[2],
                            size_t ndevs, struct quota_io_limit *io_out,
                            struct quota_cgroup_limits *out);

#endif
