/* The budget split (server/quota/split.c) and the numbers derived from a
 * host's budget: cgroup limits (cgroup.c) and per-VM libvirt tunables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "split.h"
#include "tunables.h"

static int64_t
sum(const int64_t *v, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static void
test_amount_proportional(void **state)
{
    int64_t w[] = {1, 1, 2}, out[3];
    quota_split_amount(1000, w, 3, 0, out);
    assert_int_equal(out[0], 250);
    assert_int_equal(out[1], 250);
    assert_int_equal(out[2], 500);
}

/* 10 over three equal hosts: 4, 3, 3 (the first of the tied remainders
 * gets the unit), never 4, 4, 4 or 3, 3, 3. */
static void
test_amount_rounding_exact_sum(void **state)
{
    int64_t w[] = {1, 1, 1}, out[3];
    quota_split_amount(10, w, 3, 0, out);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 3);
    int64_t w2[] = {3, 7}, out2[2];
    quota_split_amount(1, w2, 2, 0, out2); /* 0.3 / 0.7: the larger remainder wins */
    assert_int_equal(out2[0], 0);
    assert_int_equal(out2[1], 1);
}

/* Many pseudo-random cases: the sum is exactly the total (never more), a
 * share is within one unit of its exact proportion when no minimum binds, and
 * every host with weight gets at least the minimum when the total allows. */
static void
test_amount_properties(void **state)
{
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 2000; round++) {
        int64_t w[9], out[9];
        size_t n = 1 + round % 9;
        int64_t W = 0, k = 0;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            w[i] = (int64_t)(x % 5 == 0 ? 0 : x % 100000);
            W += w[i], k += w[i] > 0;
        }
        int64_t total = (int64_t)(x % 1000000007), min = round % 2 ? 0 : 16;
        quota_split_amount(total, w, n, min, out);
        if (k == 0) {
            assert_int_equal(sum(out, n), 0);
            continue;
        }
        assert_int_equal(sum(out, n), total);
        for (size_t i = 0; i < n; i++) {
            if (w[i] == 0) {
                assert_int_equal(out[i], 0);
                continue;
            }
            if (total >= k * min)
                assert_true(out[i] >= min);
            if (min == 0) {
                __int128 exact_num = (__int128)total * w[i]; /* out*W vs total*w */
                __int128 d = (__int128)out[i] * W - exact_num;
                assert_true(d > -(__int128)W && d < (__int128)W);
            }
        }
    }
}

static void
test_amount_minimums(void **state)
{
    int64_t w[] = {1, 999}, out[2];
    quota_split_amount(1000, w, 2, 100, out); /* 1 would be the proportional share */
    assert_int_equal(out[0], 100);
    assert_int_equal(out[1], 900);
    /* water-filling: fixing host 0 at the minimum pushes host 1 (exactly at
     * the minimum before) below it, so host 1 is fixed in a second round */
    int64_t w3[] = {5, 10, 85}, out3[3];
    quota_split_amount(100, w3, 3, 10, out3);
    assert_int_equal(out3[0], 10);
    assert_int_equal(out3[1], 10);
    assert_int_equal(out3[2], 80);
}

/* When the minimums do not fit, the total still wins: shared as evenly as
 * integers allow, never more than the total. */
static void
test_amount_minimums_do_not_fit(void **state)
{
    int64_t w[] = {1, 1000}, out[2];
    quota_split_amount(150, w, 2, 100, out);
    assert_int_equal(out[0], 75);
    assert_int_equal(out[1], 75);
    int64_t w3[] = {5, 1, 1}, out3[3];
    quota_split_amount(5, w3, 3, 10, out3);
    assert_int_equal(out3[0], 2);
    assert_int_equal(out3[1], 2);
    assert_int_equal(out3[2], 1);
}

static void
test_amount_zero_weights_and_total(void **state)
{
    int64_t w[] = {0, 5, 0}, out[3];
    quota_split_amount(77, w, 3, 10, out);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 77);
    assert_int_equal(out[2], 0);
    int64_t z[] = {0, 0}, outz[2] = {9, 9};
    quota_split_amount(77, z, 2, 10, outz);
    assert_int_equal(outz[0], 0);
    assert_int_equal(outz[1], 0);
}

static void
test_amount_large_values_no_overflow(void **state)
{
    int64_t w[] = {(int64_t)1 << 40, ((int64_t)1 << 40) - 1, 3}, out[3];
    int64_t total = (int64_t)1 << 40;
    quota_split_amount(total, w, 3, 4096, out);
    assert_int_equal(sum(out, 3), total);
    assert_true(out[2] >= 4096);
    assert_true(out[0] >= out[1]);
}

static void
global_limits(struct quota_limits *l)
{
    db_quota_limits_unlimited(l);
    l->v[QUOTA_VMS] = 20;
    l->v[QUOTA_CPU_CORES] = 8000; /* 8 cores */
    l->v[QUOTA_MEMORY_MAX_MIB] = 16384;
    l->v[QUOTA_IO_READ_BPS] = 100 << 20;
    l->v[QUOTA_IO_WEIGHT] = 300;
    l->v[QUOTA_PIDS_MAX] = 1000;
}

/* All the tenant's VMs on one host: that host gets the whole budget. */
static void
test_hosts_tenant_on_one_host(void **state)
{
    struct quota_limits g;
    global_limits(&g);
    struct quota_host_alloc h[] = {{7, 3, 6, 6144, 60}};
    struct quota_host_budget b[1];
    err e = {0};
    assert_int_equal(quota_split_hosts(&g, h, 1, b, &e), 0);
    assert_int_equal(b[0].host_id, 7);
    assert_int_equal(b[0].l.v[QUOTA_CPU_CORES], 8000);
    assert_int_equal(b[0].l.v[QUOTA_MEMORY_MAX_MIB], 16384);
    assert_int_equal(b[0].l.v[QUOTA_IO_READ_BPS], 100 << 20);
    assert_int_equal(b[0].l.v[QUOTA_PIDS_MAX], 1000);
    assert_int_equal(b[0].l.v[QUOTA_IO_WEIGHT], 300);
    /* unset runtime limits stay unlimited; allocation limits are not split */
    assert_int_equal(b[0].l.v[QUOTA_IO_WRITE_BPS], QUOTA_UNLIMITED);
    assert_int_equal(b[0].l.v[QUOTA_VMS], QUOTA_UNLIMITED);
}

static void
split3(const struct quota_limits *g, struct quota_host_alloc *h, struct quota_host_budget *b)
{
    err e = {0};
    assert_int_equal(quota_split_hosts(g, h, 3, b, &e), 0);
    for (int r = QUOTA_ALLOC_COUNT; r < QUOTA_RES_COUNT; r++) {
        int64_t v[3] = {b[0].l.v[r], b[1].l.v[r], b[2].l.v[r]};
        if (g->v[r] != QUOTA_UNLIMITED && r != QUOTA_IO_WEIGHT)
            assert_int_equal(sum(v, 3), g->v[r]); /* never more than the budget */
    }
}

/* A VM migrates from host 1 to host 2, then the last VM leaves host 1: the
 * budget follows the allocation, and the empty host gets nothing. */
static void
test_hosts_migration(void **state)
{
    struct quota_limits g;
    global_limits(&g);
    struct quota_host_alloc h[] = {{1, 2, 4, 4096, 40}, {2, 2, 4, 4096, 40}, {3, 0, 0, 0, 0}};
    struct quota_host_budget b[3];
    split3(&g, h, b);
    assert_int_equal(b[0].l.v[QUOTA_CPU_CORES], 4000);
    assert_int_equal(b[1].l.v[QUOTA_CPU_CORES], 4000);
    assert_int_equal(b[2].l.v[QUOTA_CPU_CORES], 0);
    assert_int_equal(b[2].l.v[QUOTA_IO_WEIGHT], 0);
    /* a VM of 2 vCPUs, 1 GiB, 10 GiB disk moves from host 1 to host 2 */
    h[0] = (struct quota_host_alloc){1, 1, 2, 3072, 30};
    h[1] = (struct quota_host_alloc){2, 3, 6, 5120, 50};
    split3(&g, h, b);
    assert_int_equal(b[0].l.v[QUOTA_CPU_CORES], 2000);
    assert_int_equal(b[1].l.v[QUOTA_CPU_CORES], 6000);
    assert_int_equal(b[0].l.v[QUOTA_MEMORY_MAX_MIB], 6144);
    assert_int_equal(b[1].l.v[QUOTA_MEMORY_MAX_MIB], 10240);
    assert_int_equal(b[0].l.v[QUOTA_IO_READ_BPS], 30LL * (100 << 20) / 80);
    assert_int_equal(b[0].l.v[QUOTA_PIDS_MAX], 250); /* pids follow the VM count */
    assert_int_equal(b[1].l.v[QUOTA_PIDS_MAX], 750);
    /* the last VM leaves host 1 for host 3 */
    h[0] = (struct quota_host_alloc){1, 0, 0, 0, 0};
    h[2] = (struct quota_host_alloc){3, 1, 2, 3072, 30};
    split3(&g, h, b);
    assert_int_equal(b[0].l.v[QUOTA_CPU_CORES], 0);
    assert_int_equal(b[0].l.v[QUOTA_MEMORY_MAX_MIB], 0);
    assert_int_equal(b[1].l.v[QUOTA_CPU_CORES], 6000);
    assert_int_equal(b[2].l.v[QUOTA_CPU_CORES], 2000);
    assert_int_equal(b[2].l.v[QUOTA_IO_WEIGHT], 300);
}

/* Disk sizes unknown (all 0): I/O follows the VM count instead of nobody. */
static void
test_hosts_io_falls_back_to_vm_count(void **state)
{
    struct quota_limits g;
    global_limits(&g);
    struct quota_host_alloc h[] = {{1, 1, 1, 512, 0}, {2, 3, 3, 512, 0}, {3, 0, 0, 0, 0}};
    struct quota_host_budget b[3];
    split3(&g, h, b);
    assert_int_equal(b[0].l.v[QUOTA_IO_READ_BPS], (100 << 20) / 4);
    assert_int_equal(b[1].l.v[QUOTA_IO_READ_BPS], 3LL * (100 << 20) / 4);
}

/* Minimums per host: a host with a tiny share still gets a workable cap. */
static void
test_hosts_minimums(void **state)
{
    struct quota_limits g;
    db_quota_limits_unlimited(&g);
    g.v[QUOTA_CPU_CORES] = 1000;      /* 1 core */
    g.v[QUOTA_MEMORY_MAX_MIB] = 1024; /* 1 GiB */
    struct quota_host_alloc h[] = {{1, 1, 1, 1, 1}, {2, 1, 999, 100000, 10}, {3, 0, 0, 0, 0}};
    struct quota_host_budget b[3];
    split3(&g, h, b);
    assert_int_equal(b[0].l.v[QUOTA_CPU_CORES], db_quota_res(QUOTA_CPU_CORES)->min);
    assert_int_equal(b[0].l.v[QUOTA_MEMORY_MAX_MIB], db_quota_res(QUOTA_MEMORY_MAX_MIB)->min);
    assert_int_equal(b[1].l.v[QUOTA_CPU_CORES], 990);
    assert_int_equal(b[1].l.v[QUOTA_MEMORY_MAX_MIB], 1008);
}

static void
test_hosts_rejects_negative(void **state)
{
    struct quota_limits g;
    global_limits(&g);
    struct quota_host_alloc h[] = {{1, 1, -2, 0, 0}};
    struct quota_host_budget b[1];
    err e = {0};
    assert_int_equal(quota_split_hosts(&g, h, 1, b, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
}

/* A host budget as cgroup files: cpu.max quota/period, bytes, and io.max
 * shared by the devices without exceeding the budget. */
static void
test_cgroup_limits_of_budget(void **state)
{
    struct quota_limits b;
    db_quota_limits_unlimited(&b);
    b.v[QUOTA_CPU_CORES] = 1500;
    b.v[QUOTA_MEMORY_MAX_MIB] = 32;
    b.v[QUOTA_IO_READ_BPS] = 1000;
    b.v[QUOTA_IO_WRITE_IOPS] = 2;
    b.v[QUOTA_PIDS_MAX] = 64;
    const unsigned devs[3][2] = {{8, 0}, {8, 16}, {253, 1}};
    struct quota_io_limit io[3];
    struct quota_cgroup_limits l;
    quota_cgroup_limits_of(&b, devs, 3, io, &l);
    assert_int_equal(l.cpu_quota_us, 150000);
    assert_int_equal(l.cpu_period_us, 100000);
    assert_int_equal(l.memory_max_bytes, 32 << 20);
    assert_int_equal(l.pids_max, 64);
    assert_int_equal(l.io_weight, -1);
    assert_int_equal(l.nio, 3);
    assert_int_equal(io[2].major, 253);
    assert_int_equal(io[0].rbps + io[1].rbps + io[2].rbps, 999); /* 333 each, never more */
    assert_int_equal(io[0].wbps, -1);
    assert_int_equal(io[1].wiops, 1); /* 2 / 3 rounds to 0, which io.max cannot mean: 1 */
    db_quota_limits_unlimited(&b);
    quota_cgroup_limits_of(&b, devs, 0, io, &l);
    assert_int_equal(l.cpu_quota_us, -1);
    assert_int_equal(l.memory_max_bytes, -1);
}

/* The libvirt fallback: a host's budget over its VMs. */
static void
test_tunables_per_vm(void **state)
{
    struct quota_limits b;
    db_quota_limits_unlimited(&b);
    b.v[QUOTA_CPU_CORES] = 1500;
    b.v[QUOTA_MEMORY_MAX_MIB] = 3072;
    b.v[QUOTA_IO_WRITE_BPS] = 3 << 20;
    b.v[QUOTA_IO_WEIGHT] = 5000;
    struct quota_vm_alloc vms[] = {{11, 1, 1024, 10, 1}, {12, 2, 2048, 20, 2}};
    struct quota_vm_tunables t[2];
    err e = {0};
    assert_int_equal(quota_tunables_compute(&b, vms, 2, t, &e), 0);
    assert_int_equal(t[0].vm_id, 11);
    assert_int_equal(t[0].global_quota_us, 50000); /* 0.5 core */
    assert_int_equal(t[1].global_quota_us, 100000);
    assert_int_equal(t[1].vcpu_quota_us, 50000); /* shared by its 2 vCPUs */
    assert_int_equal(t[0].global_period_us, 100000);
    assert_int_equal(t[0].memory_hard_limit_kib, 1024 * 1024);
    assert_int_equal(t[1].memory_hard_limit_kib, 2048 * 1024);
    assert_int_equal(t[0].write_bytes_sec, 1 << 20);
    assert_int_equal(t[1].write_bytes_sec, 1 << 20); /* 2 MiB/s over 2 disks */
    assert_int_equal(t[0].read_bytes_sec, -1);
    assert_int_equal(t[0].blkio_weight, 1000);
    /* tiny budget: never 0 (libvirt's "unlimited"), never below the kernel's 1 ms */
    b.v[QUOTA_CPU_CORES] = 10;
    b.v[QUOTA_IO_WRITE_BPS] = 4096;
    struct quota_vm_alloc many[] = {{1, 64, 1, 1, 9000}};
    assert_int_equal(quota_tunables_compute(&b, many, 1, t, &e), 0);
    assert_int_equal(t[0].global_quota_us, 1000);
    assert_int_equal(t[0].vcpu_quota_us, 1000);
    assert_int_equal(t[0].write_bytes_sec, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_proportional),
        cmocka_unit_test(test_amount_rounding_exact_sum),
        cmocka_unit_test(test_amount_properties),
        cmocka_unit_test(test_amount_minimums),
        cmocka_unit_test(test_amount_minimums_do_not_fit),
        cmocka_unit_test(test_amount_zero_weights_and_total),
        cmocka_unit_test(test_amount_large_values_no_overflow),
        cmocka_unit_test(test_hosts_tenant_on_one_host),
        cmocka_unit_test(test_hosts_migration),
        cmocka_unit_test(test_hosts_io_falls_back_to_vm_count),
        cmocka_unit_test(test_hosts_minimums),
        cmocka_unit_test(test_hosts_rejects_negative),
        cmocka_unit_test(test_cgroup_limits_of_budget),
        cmocka_unit_test(test_tunables_per_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
