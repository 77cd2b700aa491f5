/* Placement: capacities with overcommit and headroom, rules, reasons, lower bound,
 * sizing; every plan goes through the independent checker. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check_plan.h"
#include "plan.h"

#define GIB 1024.0

static struct plan_placement *
place_checked(const struct plan_item *it, size_t n, const struct plan_host *h, size_t m,
              const struct plan_constraints *c, const struct plan_place_opts *o)
{
    err e = {0};
    struct plan_placement *p = plan_place(it, n, h, m, c, o, &e);
    if (!p)
        fail_msg("plan_place: %s", e.detail);
    struct check_report r;
    if (check_plan(it, n, h, m, c, o, p->host_of, p, &r))
        fail_msg("checker: %zu violation(s), first: %s", r.violations, r.first);
    return p;
}

static struct plan_item
item(double cpu, double mem_gib, double disk_gib)
{
    return (struct plan_item){.d = {cpu, mem_gib * GIB, disk_gib}};
}

static void
test_exact_fit(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 4, 8 * GIB, 0, NULL}, {"b", 4, 8 * GIB, 0, NULL}, {"c", 4, 8 * GIB, 0, NULL}};
    struct plan_item it[4] = {item(2, 4, 10), item(2, 4, 10), item(2, 4, 10), item(2, 4, 10)};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 4, h, 3, NULL, &o);
    assert_int_equal(p->placed, 4);
    assert_int_equal(p->hosts_used, 2);
    assert_int_equal(p->bound.hosts, 2);
    assert_int_equal(p->nunplaced, 0);
    assert_true(p->gap == 0);
    plan_placement_free(p);
}

static void
test_overcommit_headroom_reason(void **state)
{
    (void)state;
    /* the design document's example: 100 GiB × 1.5 × 0.9 = 135 GiB; 147.3 asked */
    struct plan_host h[3] = {{"host1", 64, 100 * GIB, 0, NULL},
                             {"host2", 64, 100 * GIB, 0, NULL},
                             {"host3", 64, 100 * GIB, 0, NULL}};
    struct plan_item it[3] = {item(1, 147.3, 0), item(1, 130, 0), item(1, 130, 0)};
    struct plan_place_opts o = {.overcommit = {4, 1.5, 1}, .headroom = 0.10};
    struct plan_constraints c = {0};
    struct plan_host_rule ex[2] = {{0, 0}, {0, 1}}; /* VM 0 only eligible on host3 */
    c.excludes = ex;
    c.nexcludes = 2;
    struct plan_placement *p = place_checked(it, 3, h, 3, &c, &o);
    assert_int_equal(p->placed, 2);
    assert_int_equal(p->nunplaced, 1);
    const struct plan_unplaced *u = &p->unplaced[0];
    assert_int_equal(u->vm, 0);
    assert_string_equal(u->nearest_host, "host3");
    assert_int_equal(u->binding_dim, PLAN_DIM_MEM);
    assert_true(fabs(u->shortfall - 12.3 * GIB) < 0.01);
    assert_string_equal(u->reason, "host3: memory short 12.3 GiB after 1.5× overcommit and 10% "
                                   "headroom");
    /* Nova-style counts: exclusions leave 1 of 3 hosts, RAM leaves 0 */
    assert_string_equal(u->filters[0].filter, "ExcludedHostFilter");
    assert_int_equal(u->filters[0].start, 3);
    assert_int_equal(u->filters[0].end, 1);
    bool ram = false;
    for (size_t i = 0; i < u->nfilters; i++)
        if (strcmp(u->filters[i].filter, "RamFilter") == 0) {
            assert_int_equal(u->filters[i].start, 1);
            assert_int_equal(u->filters[i].end, 0);
            ram = true;
        }
    assert_true(ram);
    plan_placement_free(p);
}

static void
test_capacity_boundary(void **state)
{
    (void)state;
    /* 10 CPUs × 2 × (1 - 0.1) = 18 */
    struct plan_host h[1] = {{"only", 10, 64 * GIB, 0, NULL}};
    struct plan_item fits[1] = {item(18, 1, 0)}, over[1] = {item(18.5, 1, 0)};
    struct plan_place_opts o = {.overcommit = {2, 1, 1}, .headroom = 0.1};
    struct plan_placement *p = place_checked(fits, 1, h, 1, NULL, &o);
    assert_int_equal(p->placed, 1);
    plan_placement_free(p);
    p = place_checked(over, 1, h, 1, NULL, &o);
    assert_int_equal(p->placed, 0);
    assert_string_equal(p->unplaced[0].reason,
                        "only: cpu short 0.5 CPUs after 2× overcommit and 10% headroom");
    assert_int_equal(p->bound.placeable, 0); /* too big for any host: not in the bound */
    plan_placement_free(p);
}

static void
test_anti_affinity(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}};
    struct plan_item it[3] = {item(1, 1, 0), item(1, 1, 0), item(1, 1, 0)};
    size_t members[3] = {0, 1, 2};
    struct plan_group g = {"web", PLAN_ANTI_AFFINITY, members, 3};
    struct plan_constraints c = {.groups = &g, .ngroups = 1};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 3, h, 2, &c, &o);
    assert_int_equal(p->placed, 2);
    assert_int_equal(p->nunplaced, 1);
    assert_int_equal(p->bound.anti_affinity, 3);
    const struct plan_unplaced *u = &p->unplaced[0];
    assert_null(u->nearest_host);
    assert_non_null(strstr(u->reason, "AntiAffinityFilter"));
    plan_placement_free(p);
}

static void
test_affinity_and_conflicts(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 8, 32 * GIB, 0, NULL}, {"b", 8, 32 * GIB, 0, NULL}};
    struct plan_item it[5] = {item(3, 8, 0), item(3, 8, 0), item(3, 8, 0), item(1, 1, 0),
                              item(1, 1, 0)};
    size_t pair[2] = {0, 1}, trio[3] = {0, 1, 2}, both[2] = {3, 4};
    struct plan_group g[3] = {
        {"app", PLAN_AFFINITY, pair, 2},
        {"too-big", PLAN_AFFINITY, trio, 3}, /* 9 CPUs > 8: cannot be kept together */
        {"x", PLAN_ANTI_AFFINITY, both, 2},
    };
    struct plan_constraints c = {.groups = g, .ngroups = 3};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 5, h, 2, &c, &o);
    assert_int_equal(p->host_of[0], -1); /* the trio is one unit of 9 CPUs */
    assert_int_equal(p->nunplaced, 3);
    assert_non_null(strstr(p->unplaced[0].reason, "cpu short"));
    assert_int_not_equal(p->host_of[3], p->host_of[4]);
    plan_placement_free(p);

    /* affinity with members also anti-affine: a contradiction, reported as such */
    struct plan_group g2[2] = {{"app", PLAN_AFFINITY, both, 2}, {"x", PLAN_ANTI_AFFINITY, both, 2}};
    c = (struct plan_constraints){.groups = g2, .ngroups = 2};
    p = place_checked(it, 5, h, 2, &c, &o);
    assert_int_equal(p->host_of[3], -1);
    assert_int_equal(p->host_of[4], -1);
    bool found = false;
    for (size_t i = 0; i < p->nunplaced; i++)
        found |= strstr(p->unplaced[i].reason, "contradict") != NULL;
    assert_true(found);
    plan_placement_free(p);
}

static void
test_pins_and_excludes(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 8, 32 * GIB, 0, NULL}, {"b", 8, 32 * GIB, 0, NULL}, {"c", 8, 32 * GIB, 0, NULL}};
    struct plan_item it[4] = {item(1, 1, 0), item(1, 1, 0), item(8, 1, 0), item(1, 1, 0)};
    struct plan_host_rule pins[2] = {{0, 2}, {2, 2}};      /* VMs 0 and 2 cannot share c */
    struct plan_host_rule ex[2] = {{SIZE_MAX, 0}, {3, 1}}; /* host a off for all; VM 3 not on b */
    struct plan_constraints c = {.pins = pins, .npins = 2, .excludes = ex, .nexcludes = 2};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 4, h, 3, &c, &o);
    assert_int_equal(p->host_of[2], 2); /* pinned VMs go largest first */
    assert_int_equal(p->host_of[0], -1);
    assert_int_equal(p->host_of[1], 1);
    assert_int_equal(p->host_of[3], -1); /* only c is left to it, and c is full */
    assert_int_equal(p->bound.pinned, 1);
    assert_int_equal(p->nunplaced, 2);
    const struct plan_unplaced *u0 = &p->unplaced[0], *u3 = &p->unplaced[1];
    assert_int_equal(u0->vm, 0);
    assert_string_equal(u0->filters[0].filter, "ExcludedHostFilter");
    assert_int_equal(u0->filters[0].end, 2);
    assert_string_equal(u0->filters[1].filter, "PinnedHostFilter");
    assert_int_equal(u0->filters[1].end, 1);
    assert_string_equal(u0->reason, "c: cpu short 1.0 CPUs");
    assert_int_equal(u3->vm, 3);
    assert_int_equal(u3->filters[0].start, 3);
    assert_int_equal(u3->filters[0].end, 1);
    assert_string_equal(u3->nearest_host, "c");
    plan_placement_free(p);
}

static int
compat_cb(void *ctx, const char *evc, const char *model, const struct plan_host *host, char *d,
          size_t n)
{
    (void)ctx;
    (void)model;
    (void)d;
    (void)n;
    /* hosts named "old*" cannot run icelake */
    return !(strcmp(evc, "intel-icelake") == 0 && strncmp(host->name, "old", 3) == 0);
}

static void
test_cpu_compat(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"old1", 64, 256 * GIB, 0, NULL}, {"new1", 4, 8 * GIB, 0, NULL}};
    struct plan_item it[3] = {item(2, 4, 0), item(2, 4, 0), item(2, 4, 0)};
    for (int i = 0; i < 3; i++)
        it[i].evc_key = "intel-icelake";
    struct plan_constraints c = {.cpu_compat = compat_cb};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 3, h, 2, &c, &o);
    assert_int_equal(p->placed, 2);
    assert_int_equal(p->host_of[0], 1);
    assert_string_equal(p->unplaced[0].filters[1].filter, "CpuModelFilter");
    assert_int_equal(p->unplaced[0].filters[1].end, 1);
    plan_placement_free(p);
    /* built-in hint: a Cascadelake host is older than EVC icelake */
    struct plan_host h2[1] = {{"k", 64, 256 * GIB, 0, "Cascadelake-Server-noTSX"}};
    c.cpu_compat = NULL;
    p = place_checked(it, 1, h2, 1, &c, &o);
    assert_int_equal(p->placed, 0);
    plan_placement_free(p);
    it[0].evc_key = "intel-haswell";
    p = place_checked(it, 1, h2, 1, &c, &o);
    assert_int_equal(p->placed, 1);
    plan_placement_free(p);
}

static void
test_lower_bound_l2(void **state)
{
    (void)state;
    /* three items above half a host: the volume bound says 2, L2 says 3 */
    struct plan_host h[4] = {{"a", 10, 100 * GIB, 0, NULL},
                             {"b", 10, 100 * GIB, 0, NULL},
                             {"c", 10, 100 * GIB, 0, NULL},
                             {"d", 10, 100 * GIB, 0, NULL}};
    struct plan_item it[3] = {item(6, 1, 0), item(6, 1, 0), item(6, 1, 0)};
    struct plan_lower_bound b;
    struct plan_place_opts o = {0};
    plan_lower_bound_compute(it, 3, h, 4, NULL, &o, &b);
    assert_int_equal(b.volume[PLAN_DIM_CPU], 2);
    assert_int_equal(b.l2[PLAN_DIM_CPU], 3);
    assert_int_equal(b.hosts, 3);
    /* K > 0 matters: 7,7,7,4,4 in hosts of 10 need 4 hosts (no 4 fits beside a 7);
     * volume says 3, L(0) says 3, L(4) = 3 + ⌈8/10⌉ = 4 */
    struct plan_item it2[5] = {item(7, 1, 0), item(7, 1, 0), item(7, 1, 0), item(4, 1, 0),
                               item(4, 1, 0)};
    plan_lower_bound_compute(it2, 5, h, 4, NULL, &o, &b);
    assert_int_equal(b.volume[PLAN_DIM_CPU], 3);
    assert_int_equal(b.l2[PLAN_DIM_CPU], 4);
    /* heterogeneous volume bound: the k largest hosts */
    struct plan_host mixed[3] = {
        {"s", 4, 8 * GIB, 0, NULL}, {"l", 32, 8 * GIB, 0, NULL}, {"m", 16, 8 * GIB, 0, NULL}};
    struct plan_item it3[5] = {item(9, 1, 0), item(9, 1, 0), item(9, 1, 0), item(9, 1, 0),
                               item(9, 1, 0)};
    plan_lower_bound_compute(it3, 5, mixed, 3, NULL, &o, &b);
    assert_int_equal(b.volume[PLAN_DIM_CPU], 2); /* 45 ≤ 32 + 16 */
    assert_int_equal(b.placeable, 5);
}

/* A small deterministic generator (xorshift), so instances are the same everywhere. */
static uint64_t
rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double
pick(uint64_t *s, const double *v, size_t n)
{
    return v[rng(s) % n];
}

/* Random inventories and fleets: every plan must pass the checker, the bound must hold,
 * and the best-of heuristics must never use more hosts than FFD when both place all. */
static void
test_random_property(void **state)
{
    (void)state;
    static const double cpus[] = {1, 2, 2, 4, 4, 8, 16};
    static const double mems[] = {1, 2, 4, 8, 16, 32, 64};
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int round = 0; round < 60; round++) {
        size_t n = 20 + rng(&s) % 150, m = 5 + rng(&s) % 40;
        struct plan_item *it = calloc(n, sizeof(*it));
        struct plan_host *h = calloc(m, sizeof(*h));
        for (size_t i = 0; i < n; i++)
            it[i] = item(pick(&s, cpus, 7), pick(&s, mems, 7), (double)(rng(&s) % 500));
        for (size_t j = 0; j < m; j++)
            h[j] = (struct plan_host){"h", 16.0 * (1 + rng(&s) % 4), GIB * 64 * (1 + rng(&s) % 4),
                                      (double)(1000 * (1 + rng(&s) % 4)), NULL};
        size_t members[6];
        for (int k = 0; k < 6; k++)
            members[k] = (size_t)k * (n / 6);
        struct plan_group g[2] = {{"anti", PLAN_ANTI_AFFINITY, members, 4},
                                  {"aff", PLAN_AFFINITY, members + 4, 2}};
        struct plan_constraints c = {.groups = g, .ngroups = (size_t)(round % 3)};
        struct plan_place_opts o = {.overcommit = {1.0 + round % 4, 1.0 + (round % 2) * 0.5, 1},
                                    .headroom = (round % 5) * 0.05};
        struct plan_placement *best = place_checked(it, n, h, m, &c, &o);
        o.algo = PLAN_ALGO_FFD;
        struct plan_placement *ffd = place_checked(it, n, h, m, &c, &o);
        assert_true(best->placed >= ffd->placed);
        if (best->placed == ffd->placed)
            assert_true(best->hosts_used <= ffd->hosts_used);
        plan_placement_free(best);
        plan_placement_free(ffd);
        free(it);
        free(h);
    }
}

static void
test_sizing(void **state)
{
    (void)state;
    struct plan_item it[100];
    for (int i = 0; i < 100; i++)
        it[i] = item(2, 16, 50);
    struct plan_host shape = {"shape", 64, 256 * GIB, 0, NULL};
    struct plan_place_opts o = {0};
    struct plan_sizing sz;
    err e = {0};
    assert_int_equal(plan_size(it, 100, &shape, NULL, &o, 0.1, &sz, &e), 0);
    assert_int_equal(sz.by_dim[PLAN_DIM_CPU], 4); /* 200 / 64 */
    assert_int_equal(sz.by_dim[PLAN_DIM_MEM], 7); /* 1600 / 256 */
    assert_int_equal(sz.limiting_dim, PLAN_DIM_MEM);
    assert_int_equal(sz.packed, 7);
    assert_int_equal(sz.reserve, 1);
    assert_int_equal(sz.hosts, 8);
    assert_true(sz.utilisation[PLAN_DIM_MEM] > 0.89 && sz.utilisation[PLAN_DIM_MEM] < 0.90);
    /* with 4× CPU overcommit and 2× memory, CPU is still not the limit */
    o.overcommit[PLAN_DIM_MEM] = 2;
    assert_int_equal(plan_size(it, 100, &shape, NULL, &o, 0, &sz, &e), 0);
    assert_int_equal(sz.packed, 4);
    assert_int_equal(sz.by_dim[PLAN_DIM_CPU], 4);
    assert_int_equal(sz.by_dim[PLAN_DIM_MEM], 4);
    assert_int_equal(sz.limiting_dim, PLAN_DIM_CPU); /* ties go to CPU */
    struct plan_host bad = {"bad", 0, 1, 0, NULL};
    assert_int_equal(plan_size(it, 100, &bad, NULL, &o, 0, &sz, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
}

static void
test_invalid_input(void **state)
{
    (void)state;
    struct plan_host h[1] = {{"a", 8, 8 * GIB, 0, NULL}};
    struct plan_item it[1] = {item(1, 1, 0)};
    struct plan_place_opts o = {.headroom = 1.0};
    err e = {0};
    assert_null(plan_place(it, 1, h, 1, NULL, &o, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    o.headroom = 0;
    struct plan_host_rule pin = {0, 5};
    struct plan_constraints c = {.pins = &pin, .npins = 1};
    assert_null(plan_place(it, 1, h, 1, &c, &o, &e));
    it[0].d[0] = NAN;
    assert_null(plan_place(it, 1, h, 1, NULL, &o, &e));
    /* no hosts at all: nothing placed, every VM explained */
    it[0].d[0] = 1;
    struct plan_placement *p = place_checked(it, 1, h, 0, NULL, &o);
    assert_int_equal(p->nunplaced, 1);
    assert_non_null(p->unplaced[0].reason);
    plan_placement_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_fit),
        cmocka_unit_test(test_overcommit_headroom_reason),
        cmocka_unit_test(test_capacity_boundary),
        cmocka_unit_test(test_anti_affinity),
        cmocka_unit_test(test_affinity_and_conflicts),
        cmocka_unit_test(test_pins_and_excludes),
        cmocka_unit_test(test_cpu_compat),
        cmocka_unit_test(test_lower_bound_l2),
        cmocka_unit_test(test_random_property),
        cmocka_unit_test(test_sizing),
        cmocka_unit_test(test_invalid_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
