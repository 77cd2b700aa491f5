/* tunables: per-VM libvirt limits for hosts whose cgroup v2 tree the portal
 * cannot write (a remote host, a v1 host). The tenant's budget on that host
 * (split.h) is split once more across its VMs there, in proportion to their
 * allocation, and expressed as libvirt tunables, which libvirt writes to the
 * host's cgroups itself. Pure: the numbers only; server/virt makes the calls
 * (virDomainSetSchedulerParameters, virDomainSetBlockIoTune,
 * virDomainSetMemoryParameters). */
#ifndef VP_QUOTA_TUNABLES_H
#define VP_QUOTA_TUNABLES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "split.h"

/* libvirt's limits for the scheduler parameters (microseconds). */
enum { QUOTA_LV_PERIOD_US = 100000, QUOTA_LV_MIN_QUOTA_US = 1000 };

struct quota_vm_alloc {
    int64_t vm_id;
    int64_t vcpus, memory_mib, disk_gib;
    int64_t ndisks; /* block devices to throttle (>= 0) */
};

/* For every field, -1 means "leave unlimited". libvirt reads 0 in iotune as
 * "no limit", so a computed share is never 0: it is at least 1. */
struct quota_vm_tunables {
    int64_t vm_id;
    /* <cputune>: the whole domain (global_*) and each vCPU (vcpu_*) */
    int64_t global_period_us, global_quota_us;
    int64_t vcpu_period_us, vcpu_quota_us;
    /* <memtune><hard_limit> in KiB */
    int64_t memory_hard_limit_kib;
    /* <iotune> of each of the VM's disks */
    int64_t read_bytes_sec, write_bytes_sec, read_iops_sec, write_iops_sec;
    /* <blkiotune><weight>, libvirt's range 100..1000; -1 = leave */
    int64_t blkio_weight;
};

/* The tunables of the n VMs of vms[] on one host, from that host's budget
 * `b` (borrowed), into out[0..n) (same order). The CPU share of a VM goes
 * by vCPUs, memory by memory, I/O by disk size (VM count when no sizes are
 * known); a VM's I/O share is divided evenly among its disks. ERR_INVALID
 * for a negative allocation. */
int quota_tunables_compute(const struct quota_limits *b, const struct quota_vm_alloc *vms, size_t n,
                           struct quota_vm_tunables *out, err *e);

#endif
