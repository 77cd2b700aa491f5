/* split: a tenant's global runtime budget split across hosts (and, for the
 * libvirt fallback, across the VMs of one host) in proportion to its
 * allocation there. Pure: no I/O, no clock.
 *
 * Rules (issue 6): CPU follows vCPUs, memory follows memory, I/O follows disk
 * size (VM count when the tenant has no disk size recorded), pids follow the
 * VM count; io_weight is a relative weight, not an amount, and is the same on
 * every host. Every host that holds at least one of the tenant's VMs gets at
 * least the resource's minimum (db_quota_res()->min) when the budget allows
 * it; the shares are integers that add up to exactly the global budget, never
 * more. A host without VMs of the tenant gets 0 (no partition is needed
 * there). Recompute whenever a VM is created, deleted, resized or migrates:
 * the input is just the tenant's allocation per host. */
#ifndef VP_QUOTA_SPLIT_H
#define VP_QUOTA_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "quota.h" /* db/quota.h: the model */

/* One host's share. l.v[r] for the runtime resources (r >= QUOTA_ALLOC_COUNT):
 * QUOTA_UNLIMITED, or the host's share (0 when the host has no VM of the
 * tenant); the allocation resources are always QUOTA_UNLIMITED here. */
struct quota_host_budget {
    int64_t host_id;
    struct quota_limits l;
};

/* Splits `total` (>= 0) into out[0..n) in proportion to w[0..n) (>= 0):
 * entries with w == 0 get 0; the others at least `min` when total allows
 * min for each of them (else total is shared as evenly as integers allow);
 * the rest in proportion (largest remainder). sum(out) == total whenever some
 * w > 0, else every out is 0. */
void quota_split_amount(int64_t total, const int64_t *w, size_t n, int64_t min, int64_t *out);

/* The budgets of the hosts in `hosts` (borrowed, n entries, any order) for a
 * tenant with limits `global` (borrowed) into out[0..n) (caller's array, same
 * order). ERR_INVALID for negative allocations. */
int quota_split_hosts(const struct quota_limits *global, const struct quota_host_alloc *hosts,
                      size_t n, struct quota_host_budget *out, err *e);

#endif
