/* tunables: a host budget as per-VM libvirt tunables. See tunables.h. */
#include "tunables.h"

#include <stdlib.h>

/* Every VM of the host as a "host" of the split: the same proportional rule
 * (and minimums) that spreads the tenant's budget over hosts spreads a host's
 * budget over its VMs. */
static int
split_vms(const struct quota_limits *b, const struct quota_vm_alloc *vms, size_t n,
          struct quota_host_budget *shares, err *e)
{
    struct quota_host_alloc *h = calloc(n, sizeof(*h));
    if (!h)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t i = 0; i < n; i++)
        h[i] = (struct quota_host_alloc){vms[i].vm_id, 1, vms[i].vcpus, vms[i].memory_mib,
                                         vms[i].disk_gib};
    int rc = quota_split_hosts(b, h, n, shares, e);
    free(h);
    return rc;
}

static int64_t
at_least_one(int64_t v, int64_t ndisks)
{
    if (v < 0 || ndisks <= 0)
        return -1;
    int64_t per = v / ndisks;
    return per > 0 ? per : 1;
}

static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void
vm_tunables(const struct quota_limits *s, const struct quota_vm_alloc *vm,
            struct quota_vm_tunables *t)
{
    int64_t cpu = s->v[QUOTA_CPU_CORES], mem = s->v[QUOTA_MEMORY_MAX_MIB];
    t->vm_id = vm->vm_id;
    t->global_period_us = t->vcpu_period_us = cpu < 0 ? -1 : QUOTA_LV_PERIOD_US;
    t->global_quota_us = cpu < 0 ? -1 : cpu * QUOTA_LV_PERIOD_US / 1000;
    if (t->global_quota_us >= 0 && t->global_quota_us < QUOTA_LV_MIN_QUOTA_US)
        t->global_quota_us = QUOTA_LV_MIN_QUOTA_US;
    /* the vCPU threads share the domain's quota evenly */
    t->vcpu_quota_us = cpu < 0 ? -1 : t->global_quota_us / (vm->vcpus > 0 ? vm->vcpus : 1);
    if (t->vcpu_quota_us >= 0 && t->vcpu_quota_us < QUOTA_LV_MIN_QUOTA_US)
        t->vcpu_quota_us = QUOTA_LV_MIN_QUOTA_US;
    t->memory_hard_limit_kib = mem < 0 ? -1 : mem * 1024;
    t->read_bytes_sec = at_least_one(s->v[QUOTA_IO_READ_BPS], vm->ndisks);
    t->write_bytes_sec = at_least_one(s->v[QUOTA_IO_WRITE_BPS], vm->ndisks);
    t->read_iops_sec = at_least_one(s->v[QUOTA_IO_READ_IOPS], vm->ndisks);
    t->write_iops_sec = at_least_one(s->v[QUOTA_IO_WRITE_IOPS], vm->ndisks);
    /* libvirt takes 100..1000 and writes it as is to io.weight on cgroup v2
     * (range 1..10000): the same number, clamped into libvirt's range */
    int64_t w = s->v[QUOTA_IO_WEIGHT];
    t->blkio_weight = w < 0 ? -1 : clamp(w, 100, 1000);
}

int
quota_tunables_compute(const struct quota_limits *b, const struct quota_vm_alloc *vms, size_t n,
                       struct quota_vm_tunables *out, err *e)
{
    for (size_t i = 0; i < n; i++)
        if (vms[i].ndisks < 0)
            return err_set(e, ERR_INVALID, "negative disk count for VM %lld",
                           (long long)vms[i].vm_id);
    if (n == 0)
        return 0;
    struct quota_host_budget *shares = calloc(n, sizeof(*shares));
    if (!shares)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    int rc = split_vms(b, vms, n, shares, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        vm_tunables(&shares[i].l, &vms[i], &out[i]);
    free(shares);
    return rc;
}
