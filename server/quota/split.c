/* split: proportional budget split with minimums and exact integer sums.
 * See split.h. */
#include "split.h"

#include <stdbool.h>
#include <stdlib.h>

/* out[i] while the split runs: PENDING (shares the rest in proportion),
 * FIXING (below the minimum this round), or DECIDED - share (its final share
 * is known, but it still counts as pending for the others' ranks). Outputs
 * are >= 0, so the markers cannot collide with a result. */
#define PENDING ((int64_t)-1)
#define FIXING ((int64_t)-2)
#define DECIDED ((int64_t)-3)

static bool
pending(int64_t v)
{
    return v == PENDING || v <= DECIDED;
}

static __int128
weight_sum(const int64_t *w, const int64_t *out, size_t n)
{
    __int128 s = 0;
    for (size_t i = 0; i < n; i++)
        if (pending(out[i]))
            s += w[i];
    return s;
}

/* Largest remainder: every pending entry gets floor(rest * w / W), and the
 * `left` units that floors leave go one each to the entries with the largest
 * remainders (ties: lower index). Products are 128-bit: 2^40 * 2^40 fits. */
static void
round_pending(int64_t rest, const int64_t *w, size_t n, int64_t *out)
{
    __int128 W = weight_sum(w, out, n);
    if (W == 0)
        return;
    int64_t left = rest;
    for (size_t i = 0; i < n; i++)
        if (pending(out[i]))
            left -= (int64_t)((__int128)rest * w[i] / W);
    for (size_t i = 0; i < n; i++) {
        if (!pending(out[i]))
            continue;
        __int128 rem_i = (__int128)rest * w[i] % W;
        int64_t rank = 0; /* pending entries before i in remainder order */
        for (size_t j = 0; j < n && rank < left; j++) {
            if (j == i || !pending(out[j]))
                continue;
            __int128 rem_j = (__int128)rest * w[j] % W;
            rank += rem_j > rem_i || (rem_j == rem_i && j < i);
        }
        out[i] = DECIDED - ((int64_t)((__int128)rest * w[i] / W) + (rank < left));
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] <= DECIDED)
            out[i] = DECIDED - out[i];
}

void
quota_split_amount(int64_t total, const int64_t *w, size_t n, int64_t min, int64_t *out)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = w[i] > 0 && total > 0 ? PENDING : 0;
        k += out[i] == PENDING;
    }
    if (k == 0)
        return;
    if (total / k < min) { /* the minimums do not fit: as even as integers allow */
        int64_t q = total / k, r = total % k;
        for (size_t i = 0; i < n; i++)
            if (out[i] == PENDING)
                out[i] = q + (r-- > 0);
        return;
    }
    /* water-filling: every entry whose share is below `min` is fixed at min,
     * the others share what is left; repeat until nobody is below. At least
     * one entry stays pending: total >= k * min. */
    int64_t rest = total;
    for (bool fixed = true; fixed;) {
        fixed = false;
        __int128 W = weight_sum(w, out, n);
        for (size_t i = 0; i < n; i++)
            if (out[i] == PENDING && (__int128)rest * w[i] < (__int128)min * W)
                out[i] = FIXING, fixed = true;
        for (size_t i = 0; i < n; i++)
            if (out[i] == FIXING)
                out[i] = min, rest -= min;
    }
    round_pending(rest, w, n, out);
}

/* The allocation that a runtime resource follows, per host. */
static int64_t
weight_of(enum quota_res r, const struct quota_host_alloc *h)
{
    switch (r) {
    case QUOTA_CPU_CORES:
        return h->vcpus;
    case QUOTA_MEMORY_MAX_MIB:
        return h->memory_mib;
    case QUOTA_IO_READ_BPS:
    case QUOTA_IO_WRITE_BPS:
    case QUOTA_IO_READ_IOPS:
    case QUOTA_IO_WRITE_IOPS:
        return h->disk_gib;
    default:
        return h->vms;
    }
}

/* One resource across all hosts: weights (falling back to the VM count when
 * the tenant records none of that allocation), then the split. */
static void
split_resource(enum quota_res r, int64_t total, const struct quota_host_alloc *hosts, size_t n,
               int64_t *w, int64_t *share, struct quota_host_budget *out)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += hosts[i].vms > 0 ? weight_of(r, &hosts[i]) : 0;
    for (size_t i = 0; i < n; i++)
        w[i] = hosts[i].vms <= 0 ? 0 : sum > 0 ? weight_of(r, &hosts[i]) : hosts[i].vms;
    if (total == QUOTA_UNLIMITED || r == QUOTA_IO_WEIGHT) {
        for (size_t i = 0; i < n; i++) /* weights and "unlimited" are not amounts */
            out[i].l.v[r] = hosts[i].vms > 0 ? total : 0;
        return;
    }
    quota_split_amount(total, w, n, db_quota_res(r)->min, share);
    for (size_t i = 0; i < n; i++)
        out[i].l.v[r] = share[i];
}

int
quota_split_hosts(const struct quota_limits *global, const struct quota_host_alloc *hosts, size_t n,
                  struct quota_host_budget *out, err *e)
{
    for (size_t i = 0; i < n; i++) {
        const struct quota_host_alloc *h = &hosts[i];
        if (h->vms < 0 || h->vcpus < 0 || h->memory_mib < 0 || h->disk_gib < 0)
            return err_set(e, ERR_INVALID, "negative allocation on host %lld",
                           (long long)h->host_id);
        out[i].host_id = h->host_id;
        db_quota_limits_unlimited(&out[i].l);
    }
    if (n == 0)
        return 0;
    int64_t *w = calloc(n, sizeof(*w)), *share = calloc(n, sizeof(*share));
    if (!w || !share) {
        free(w);
        free(share);
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    }
    for (int r = QUOTA_ALLOC_COUNT; r < QUOTA_RES_COUNT; r++)
        split_resource((enum quota_res)r, global->v[r], hosts, n, w, share, out);
    free(w);
    free(share);
    return 0;
}
