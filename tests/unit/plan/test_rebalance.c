/* KVM rebalance and drain (server/plan/rebalance.c). Every plan goes through an
 * independent checker written here, sharing no code with the planner: it replays
 * the moves step by step and checks capacity during each step (a migrating VM's
 * memory and disk on its source AND its target) and after it, the per-host and
 * total parallel limits, anti-affinity at every moment, affinity, pins, exclusions,
 * drained hosts as targets, and that the final state is the one reported. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "plan.h"

#define GIB 1024.0
#define TOL 1e-6

/* ---------------------------------------------------------------- checker */

struct ck {
    const struct plan_rb_vm *vms;
    size_t n;
    const struct plan_host *hosts;
    size_t m;
    const struct plan_constraints *c;
    const struct plan_rb_opts *o;
    int per_host, max_parallel;
    char first[512];
    int violations;
};

static void ck_fail(struct ck *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ck_fail(struct ck *k, const char *fmt, ...)
{
    if (k->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->first, sizeof(k->first), fmt, ap);
        va_end(ap);
    }
}

static double
ck_cap(const struct ck *k, size_t h, int d)
{
    const struct plan_host *H = &k->hosts[h];
    double raw = d == 0 ? H->cpus : d == 1 ? H->memory_mib : H->disk_gib;
    if (d == 2 && raw == 0)
        return INFINITY;
    double oc = k->o->place.overcommit[d] > 0 ? k->o->place.overcommit[d] : 1;
    return raw * oc * (1 - k->o->place.headroom);
}

static double
ck_hold(const struct plan_rb_vm *v, int d)
{
    return d == 2 || v->active ? v->d[d] : 0;
}

static bool
ck_drained(const struct ck *k, size_t h)
{
    for (size_t i = 0; i < k->o->ndrain; i++)
        if (k->o->drain[i] == h)
            return true;
    return false;
}

static bool
ck_same_anti(const struct ck *k, size_t a, size_t b)
{
    for (size_t g = 0; k->c && g < k->c->ngroups; g++) {
        if (k->c->groups[g].kind != PLAN_ANTI_AFFINITY)
            continue;
        bool ha = false, hb = false;
        for (size_t i = 0; i < k->c->groups[g].nmembers; i++) {
            ha |= k->c->groups[g].members[i] == a;
            hb |= k->c->groups[g].members[i] == b;
        }
        if (ha && hb)
            return true;
    }
    return false;
}

/* Rules of one move that do not depend on the state. */
static void
ck_rules(struct ck *k, const struct plan_rb_move *mv)
{
    if (ck_drained(k, mv->to))
        ck_fail(k, "VM %zu moves onto drained host %zu", mv->vm, mv->to);
    for (size_t i = 0; k->c && i < k->c->npins; i++)
        if (k->c->pins[i].vm == mv->vm && k->c->pins[i].host != mv->to)
            ck_fail(k, "pinned VM %zu moves to %zu", mv->vm, mv->to);
    for (size_t i = 0; k->c && i < k->c->nexcludes; i++)
        if ((k->c->excludes[i].vm == mv->vm || k->c->excludes[i].vm == SIZE_MAX) &&
            k->c->excludes[i].host == mv->to)
            ck_fail(k, "VM %zu moves to excluded host %zu", mv->vm, mv->to);
    if (!k->vms[mv->vm].active || k->vms[mv->vm].stuck)
        ck_fail(k, "VM %zu cannot migrate live but moves", mv->vm);
    if (k->c && k->c->cpu_compat && k->vms[mv->vm].evc_key &&
        k->c->cpu_compat(k->c->cpu_ctx, k->vms[mv->vm].evc_key, NULL, &k->hosts[mv->to], NULL, 0) ==
            0)
        ck_fail(k, "VM %zu moves to CPU-incompatible host %zu", mv->vm, mv->to);
}

/* Capacity of every host during the step (arrivals booked, departures not yet
 * freed) and after it; a host that receives nothing is not checked (it only
 * loses load, and may have been over capacity from the start). */
static void
ck_capacity(struct ck *k, const int *at, const struct plan_rb_move *mv, size_t nmv, int step)
{
    for (size_t h = 0; h < k->m; h++) {
        double base[3] = {0}, in[3] = {0}, out[3] = {0};
        bool receives = false;
        for (size_t i = 0; i < k->n; i++)
            for (int d = 0; d < 3; d++)
                base[d] += at[i] == (int)h ? ck_hold(&k->vms[i], d) : 0;
        for (size_t j = 0; j < nmv; j++)
            for (int d = 0; d < 3; d++) {
                in[d] += mv[j].to == h ? ck_hold(&k->vms[mv[j].vm], d) : 0;
                out[d] += mv[j].from == h ? ck_hold(&k->vms[mv[j].vm], d) : 0;
                receives |= mv[j].to == h;
            }
        for (int d = 0; receives && d < 3; d++) {
            double cap = ck_cap(k, h, d);
            bool booked = d != 0 || k->o->double_book_cpu;
            double during = base[d] + (booked ? in[d] : 0), after = base[d] + in[d] - out[d];
            if (during > cap * (1 + TOL) + TOL || after > cap * (1 + TOL) + TOL)
                ck_fail(k, "step %d host %zu dim %d: during %.3f after %.3f cap %.3f", step, h, d,
                        during, after, cap);
        }
    }
}

static void
ck_limits(struct ck *k, const struct plan_rb_move *mv, size_t nmv, int step)
{
    if ((int)nmv > k->max_parallel && nmv > 1) {
        /* allowed only for one affinity unit alone in its step */
        for (size_t j = 1; j < nmv; j++)
            if (mv[j].from != mv[0].from || mv[j].to != mv[0].to)
                ck_fail(k, "step %d has %zu migrations, limit %d", step, nmv, k->max_parallel);
    }
    for (size_t h = 0; h < k->m; h++) {
        int touch = 0;
        bool one_unit = true;
        for (size_t j = 0; j < nmv; j++)
            if (mv[j].from == h || mv[j].to == h) {
                touch++;
                one_unit &= mv[j].from == mv[0].from && mv[j].to == mv[0].to;
            }
        if (touch > k->per_host && !one_unit)
            ck_fail(k, "step %d: host %zu in %d migrations, limit %d", step, h, touch, k->per_host);
    }
}

/* No host ever holds two members of an anti-affinity group, counting a migrating
 * VM on both of its hosts; only pairs that were not together at the start. */
static void
ck_anti(struct ck *k, const int *at, const int *start, const struct plan_rb_move *mv, size_t nmv,
        int step)
{
    for (size_t a = 0; a < k->n; a++)
        for (size_t b = a + 1; b < k->n; b++) {
            if (!ck_same_anti(k, a, b) || start[a] == start[b])
                continue;
            int ha[2] = {at[a], -1}, hb[2] = {at[b], -1};
            for (size_t j = 0; j < nmv; j++) {
                if (mv[j].vm == a)
                    ha[1] = (int)mv[j].to;
                if (mv[j].vm == b)
                    hb[1] = (int)mv[j].to;
            }
            for (int x = 0; x < 2; x++)
                for (int y = 0; y < 2; y++)
                    if (ha[x] >= 0 && ha[x] == hb[y])
                        ck_fail(k, "step %d: anti-affine VMs %zu and %zu both on host %d", step, a,
                                b, ha[x]);
        }
}

/* Affinity groups that were together stay together. */
static void
ck_affinity(struct ck *k, const int *at, const int *start)
{
    for (size_t g = 0; k->c && g < k->c->ngroups; g++) {
        const struct plan_group *G = &k->c->groups[g];
        bool together = G->kind == PLAN_AFFINITY;
        for (size_t i = 1; together && i < G->nmembers; i++)
            together = start[G->members[i]] == start[G->members[0]];
        for (size_t i = 1; together && i < G->nmembers; i++)
            if (at[G->members[i]] != at[G->members[0]])
                ck_fail(k, "affinity group '%s' split", G->name);
    }
}

/* Replays r step by step. Returns the number of violations (first in k->first). */
static int
check_rebalance(struct ck *k, const plan_rebalance *r)
{
    int *at = calloc(k->n + 1, sizeof(int)), *start = calloc(k->n + 1, sizeof(int));
    for (size_t i = 0; i < k->n; i++)
        at[i] = start[i] = (int)k->vms[i].host;
    size_t i = 0;
    int last = -1;
    while (i < r->nmoves) {
        int step = r->moves[i].step;
        if (step != last + 1)
            ck_fail(k, "steps out of order: %d after %d", step, last);
        size_t j = i;
        while (j < r->nmoves && r->moves[j].step == step)
            j++;
        for (size_t x = i; x < j; x++) {
            ck_rules(k, &r->moves[x]);
            if (at[r->moves[x].vm] != (int)r->moves[x].from)
                ck_fail(k, "VM %zu moves from %zu but is on %d", r->moves[x].vm, r->moves[x].from,
                        at[r->moves[x].vm]);
            for (size_t y = x + 1; y < j; y++)
                if (r->moves[y].vm == r->moves[x].vm)
                    ck_fail(k, "VM %zu moves twice in step %d", r->moves[x].vm, step);
        }
        ck_capacity(k, at, &r->moves[i], j - i, step);
        ck_limits(k, &r->moves[i], j - i, step);
        ck_anti(k, at, start, &r->moves[i], j - i, step);
        for (size_t x = i; x < j; x++)
            at[r->moves[x].vm] = (int)r->moves[x].to;
        ck_affinity(k, at, start);
        last = step;
        i = j;
    }
    if (last + 1 != r->nsteps)
        ck_fail(k, "%d steps reported, %d seen", r->nsteps, last + 1);
    for (size_t v = 0; v < k->n; v++)
        if (at[v] != r->host_after[v])
            ck_fail(k, "VM %zu ends on %d, plan says %d", v, at[v], r->host_after[v]);
    free(at);
    free(start);
    return k->violations;
}

/* Every VM of a drained host either left it or is explained. */
static void
check_drained(struct ck *k, const plan_rebalance *r)
{
    for (size_t v = 0; v < k->n; v++) {
        if (!ck_drained(k, k->vms[v].host) || !ck_drained(k, (size_t)r->host_after[v]))
            continue;
        bool explained = false;
        for (size_t s = 0; s < r->nstuck; s++)
            explained |= r->stuck[s].vm == v && r->stuck[s].reason && *r->stuck[s].reason;
        if (!explained)
            ck_fail(k, "VM %zu stays on its drained host without a reason", v);
    }
}

/* The metric, recomputed: sqrt((sd_cpu² + sd_mem²) / 2) over hosts in service. */
static double
ck_imbalance(const struct ck *k, const int *at)
{
    double sum[2] = {0}, sq[2] = {0};
    size_t cnt = 0;
    for (size_t h = 0; h < k->m; h++) {
        bool off = ck_drained(k, h);
        for (size_t i = 0; k->c && i < k->c->nexcludes; i++)
            off |= k->c->excludes[i].vm == SIZE_MAX && k->c->excludes[i].host == h;
        if (off)
            continue;
        cnt++;
        for (int d = 0; d < 2; d++) {
            double used = 0, cap = ck_cap(k, h, d);
            for (size_t v = 0; v < k->n; v++)
                used += at[v] == (int)h ? ck_hold(&k->vms[v], d) : 0;
            double l = cap > 0 ? used / cap : 0;
            sum[d] += l;
            sq[d] += l * l;
        }
    }
    if (!cnt)
        return 0;
    double var = 0;
    for (int d = 0; d < 2; d++) {
        double mean = sum[d] / (double)cnt, x = sq[d] / (double)cnt - mean * mean;
        var += x > 0 ? x : 0;
    }
    return sqrt(var / 2);
}

static plan_rebalance *
run_checked(const struct plan_rb_vm *vms, size_t n, const struct plan_host *h, size_t m,
            const struct plan_constraints *c, const struct plan_rb_opts *o)
{
    err e = {0};
    plan_rebalance *r = plan_rebalance_run(vms, n, h, m, c, o, &e);
    if (!r)
        fail_msg("plan_rebalance_run: %s", e.detail);
    struct ck k = {
        vms, n, h, m, c, o, o->per_host ? o->per_host : 2, o->max_parallel ? o->max_parallel : 6,
        "",  0};
    if (check_rebalance(&k, r))
        fail_msg("checker: %d violation(s), first: %s", k.violations, k.first);
    check_drained(&k, r);
    if (k.violations)
        fail_msg("checker: %s", k.first);
    int *at = calloc(n + 1, sizeof(int));
    for (size_t v = 0; v < n; v++)
        at[v] = (int)vms[v].host;
    if (fabs(ck_imbalance(&k, at) - r->imbalance_before) > 1e-6)
        fail_msg("imbalance before: checker %.6f, planner %.6f", ck_imbalance(&k, at),
                 r->imbalance_before);
    for (size_t v = 0; v < n; v++)
        at[v] = r->host_after[v];
    if (fabs(ck_imbalance(&k, at) - r->imbalance_after) > 1e-6)
        fail_msg("imbalance after: checker %.6f, planner %.6f", ck_imbalance(&k, at),
                 r->imbalance_after);
    free(at);
    return r;
}

static struct plan_rb_vm
vm(const char *name, size_t host, double cpu, double mem_gib)
{
    return (struct plan_rb_vm){
        .name = name, .host = host, .d = {cpu, mem_gib * GIB, 10}, .active = true};
}

static size_t
moves_of(const plan_rebalance *r, size_t v)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nmoves; i++)
        n += r->moves[i].vm == v;
    return n;
}

/* ---------------------------------------------------------------- tests */

static void
test_balance_spreads_load(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[6];
    for (int i = 0; i < 6; i++)
        v[i] = vm("vm", 0, 2, 8);
    struct plan_rb_opts o = {.goal = PLAN_RB_BALANCE, .threshold = 3};
    plan_rebalance *r = run_checked(v, 6, h, 3, NULL, &o);
    assert_true(r->imbalance_before > 0.3);
    assert_true(r->imbalance_after < r->imbalance_before);
    assert_true(r->balanced);
    assert_true(r->imbalance_after <= r->tolerance);
    assert_int_equal(r->nmoves, 4); /* 2 VMs to each of b and c: the minimum */
    for (size_t i = 0; i < r->nmoves; i++)
        assert_string_equal(r->moves[i].why, "balance");
    plan_rebalance_free(r);
}

static void
test_threshold_one_makes_no_balancing_move(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[4] = {vm("1", 0, 2, 8), vm("2", 0, 2, 8), vm("3", 0, 2, 8),
                              vm("4", 0, 2, 8)};
    struct plan_rb_opts o = {.goal = PLAN_RB_BALANCE, .threshold = 1};
    plan_rebalance *r = run_checked(v, 4, h, 2, NULL, &o);
    assert_int_equal(r->nmoves, 0);
    assert_true(r->imbalance_after == r->imbalance_before);
    plan_rebalance_free(r);
    /* a more aggressive threshold never makes fewer moves than a conservative one */
    size_t prev = 0;
    for (int t = 2; t <= 5; t++) {
        o.threshold = t;
        r = run_checked(v, 4, h, 2, NULL, &o);
        assert_true(r->nmoves >= prev);
        prev = r->nmoves;
        plan_rebalance_free(r);
    }
    assert_true(prev >= 1);
}

static void
test_drain_empties_host(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[5] = {vm("x1", 0, 2, 16), vm("x2", 0, 4, 8), vm("x3", 0, 1, 4),
                              vm("y1", 1, 2, 8), vm("z1", 2, 2, 8)};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 5, h, 3, NULL, &o);
    assert_int_equal(r->nstuck, 0);
    assert_int_equal(r->nmoves, 3);
    assert_int_equal(r->hosts_freed, 1);
    assert_int_equal(r->hosts_counted, 2);
    for (size_t i = 0; i < 5; i++)
        assert_int_not_equal(r->host_after[i], 0);
    assert_int_equal(r->host_after[3], 1); /* VMs elsewhere do not move in a drain */
    assert_int_equal(r->host_after[4], 2);
    plan_rebalance_free(r);
}

static void
test_drain_explains_each_vm(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 8, 16 * GIB, 0, NULL}, {"c", 8, 16 * GIB, 0, NULL}};
    struct plan_rb_vm v[5] = {vm("big", 0, 2, 40), vm("off", 0, 2, 4), vm("unreach", 0, 1, 1),
                              vm("pinned", 0, 1, 1), vm("ok", 0, 1, 2)};
    v[1].active = false;
    v[2].stuck = "its host is not connected";
    struct plan_host_rule pin[1] = {{3, 0}};
    struct plan_constraints c = {.pins = pin, .npins = 1};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN,
                             .drain = drain,
                             .ndrain = 1,
                             .place = {.overcommit = {4, 1.5, 1}, .headroom = 0.1}};
    plan_rebalance *r = run_checked(v, 5, h, 3, &c, &o);
    assert_int_equal(r->nmoves, 1);
    assert_int_equal(r->moves[0].vm, 4);
    assert_int_equal(r->nstuck, 4);
    const char *want[4] = {"short", "not running", "its host is not connected", "pinned to a"};
    for (size_t s = 0; s < 4; s++) {
        const struct plan_unplaced *u = &r->stuck[s];
        size_t k = u->vm == 0 ? 0 : u->vm == 1 ? 1 : u->vm == 2 ? 2 : 3;
        if (!strstr(u->reason, want[k]))
            fail_msg("VM %zu: reason '%s' lacks '%s'", u->vm, u->reason, want[k]);
    }
    for (size_t s = 0; s < r->nstuck; s++)
        if (r->stuck[s].vm == 0) {
            /* 40 GiB vs 16 × 1.5 × 0.9 = 21.6 GiB: 18.4 GiB short on the nearest host */
            const struct plan_unplaced *u = &r->stuck[s];
            assert_int_equal(u->binding_dim, PLAN_DIM_MEM);
            assert_true(fabs(u->shortfall - 18.4 * GIB) < 0.01);
            /* "ok" went to b: c is the nearest */
            assert_string_equal(u->reason,
                                "c: memory short 18.4 GiB after 1.5× overcommit and 10% headroom");
            assert_string_equal(u->filters[5].filter, "RamFilter");
            assert_int_equal(u->filters[5].end, 0);
            assert_string_equal(u->filters[0].filter, "ExcludedHostFilter");
            assert_int_equal(u->filters[0].start, 3);
            assert_int_equal(u->filters[0].end, 2);
        }
    plan_rebalance_free(r);
}

static void
test_anti_affinity_respected(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[3] = {vm("db1", 0, 2, 8), vm("db2", 0, 2, 8), vm("db3", 2, 2, 8)};
    size_t members[3] = {0, 1, 2};
    struct plan_group g = {"db", PLAN_ANTI_AFFINITY, members, 3};
    struct plan_constraints c = {.groups = &g, .ngroups = 1};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 3, h, 3, &c, &o);
    /* b takes one, c already holds db3: the other cannot leave */
    assert_int_equal(r->nmoves, 1);
    assert_int_equal(r->moves[0].to, 1);
    assert_int_equal(r->nstuck, 1);
    assert_string_equal(r->stuck[0].filters[3].filter, "AntiAffinityFilter");
    assert_int_equal(r->stuck[0].filters[3].end, 0);
    assert_non_null(strstr(r->stuck[0].reason, "AntiAffinityFilter"));
    plan_rebalance_free(r);
    /* with a fourth host both leave, onto different hosts */
    struct plan_host h4[4] = {h[0], h[1], h[2], {"d", 16, 64 * GIB, 0, NULL}};
    r = run_checked(v, 3, h4, 4, &c, &o);
    assert_int_equal(r->nmoves, 2);
    assert_int_not_equal(r->host_after[0], r->host_after[1]);
    assert_int_equal(r->nstuck, 0);
    plan_rebalance_free(r);
}

static void
test_affinity_moves_together(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[3] = {vm("app", 0, 2, 8), vm("cache", 0, 2, 8), vm("other", 1, 8, 32)};
    size_t members[2] = {0, 1};
    struct plan_group g = {"pair", PLAN_AFFINITY, members, 2};
    struct plan_constraints c = {.groups = &g, .ngroups = 1};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 3, h, 3, &c, &o);
    assert_int_equal(r->nmoves, 2);
    assert_int_equal(r->host_after[0], 2); /* the emptier host, both of them */
    assert_int_equal(r->host_after[1], 2);
    assert_int_equal(r->moves[0].step, r->moves[1].step);
    plan_rebalance_free(r);
}

/* b1 → A and a1 → B: each fits after the other, not both at once. */
static void
test_double_booking_splits_steps(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"A", 16, 16 * GIB, 0, NULL}, {"B", 16, 16 * GIB, 0, NULL}};
    struct plan_rb_vm v[3] = {vm("a1", 0, 1, 8), vm("b1", 1, 1, 8), vm("b2", 1, 1, 4)};
    struct plan_rb_want w[2] = {{1, 0}, {0, 1}};
    struct plan_rb_opts o = {.goal = PLAN_RB_BALANCE, .threshold = 1, .wants = w, .nwants = 2};
    plan_rebalance *r = run_checked(v, 3, h, 2, NULL, &o);
    assert_int_equal(r->nmoves, 2);
    assert_int_equal(r->nsteps, 2); /* together, B would hold 12 + 8 GiB while migrating */
    assert_int_equal(r->moves[0].vm, 1);
    assert_string_equal(r->moves[0].why, "requested");
    plan_rebalance_free(r);
    /* with room for both at once they share a step */
    h[0].memory_mib = h[1].memory_mib = 24 * GIB;
    r = run_checked(v, 3, h, 2, NULL, &o);
    assert_int_equal(r->nsteps, 1);
    plan_rebalance_free(r);
}

static void
test_parallel_limits(void **state)
{
    (void)state;
    struct plan_host h[4] = {{"a", 64, 256 * GIB, 0, NULL},
                             {"b", 64, 256 * GIB, 0, NULL},
                             {"c", 64, 256 * GIB, 0, NULL},
                             {"d", 64, 256 * GIB, 0, NULL}};
    struct plan_rb_vm v[12];
    for (int i = 0; i < 12; i++)
        v[i] = vm("v", 0, 1, 2);
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1, .per_host = 2};
    plan_rebalance *r = run_checked(v, 12, h, 4, NULL, &o);
    assert_int_equal(r->nmoves, 12);
    assert_int_equal(r->nsteps, 6); /* every move leaves a: 2 per step */
    plan_rebalance_free(r);
    o.per_host = 4;
    o.max_parallel = 3;
    r = run_checked(v, 12, h, 4, NULL, &o);
    assert_int_equal(r->nsteps, 4);
    plan_rebalance_free(r);
}

static void
test_no_oscillation(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"A", 16, 64 * GIB, 0, NULL}, {"B", 16, 64 * GIB, 0, NULL}, {"C", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[2] = {vm("v", 0, 2, 8), vm("w", 2, 2, 8)};
    struct plan_rb_opts o = {.goal = PLAN_RB_BALANCE, .threshold = 1};
    /* A→B→A is removed */
    struct plan_rb_want back[2] = {{0, 1}, {0, 0}};
    o.wants = back;
    o.nwants = 2;
    plan_rebalance *r = run_checked(v, 2, h, 3, NULL, &o);
    assert_int_equal(r->nmoves, 0);
    assert_int_equal(r->removed, 2);
    plan_rebalance_free(r);
    /* A→B→C becomes A→C */
    struct plan_rb_want chain[2] = {{0, 1}, {0, 2}};
    o.wants = chain;
    r = run_checked(v, 2, h, 3, NULL, &o);
    assert_int_equal(r->nmoves, 1);
    assert_int_equal(r->moves[0].from, 0);
    assert_int_equal(r->moves[0].to, 2);
    assert_int_equal(r->removed, 1);
    assert_int_equal(r->staged, 0);
    plan_rebalance_free(r);
}

/* A swap of v (A) and w (C) through B: the direct A→C has no feasible order. */
static void
test_necessary_hop_is_kept(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"A", 8, 10 * GIB, 0, NULL}, {"B", 8, 10 * GIB, 0, NULL}, {"C", 8, 10 * GIB, 0, NULL}};
    struct plan_rb_vm v[2] = {vm("v", 0, 1, 6), vm("w", 2, 1, 6)};
    struct plan_rb_want w[3] = {{0, 1}, {1, 0}, {0, 2}};
    struct plan_rb_opts o = {.goal = PLAN_RB_BALANCE, .threshold = 1, .wants = w, .nwants = 3};
    plan_rebalance *r = run_checked(v, 2, h, 3, NULL, &o);
    assert_int_equal(r->nmoves, 3);
    assert_int_equal(r->staged, 1);
    assert_int_equal(r->removed, 0);
    assert_int_equal(r->host_after[0], 2);
    assert_int_equal(r->host_after[1], 0);
    assert_int_equal(r->nsteps, 3);
    plan_rebalance_free(r);
}

static int
old_cpu_compat(void *ctx, const char *key, const char *model, const struct plan_host *h,
               char *detail, size_t n)
{
    (void)ctx, (void)model, (void)detail, (void)n;
    return strcmp(key, "old-cpu-only") == 0 && strcmp(h->name, "new") == 0 ? 0 : 1;
}

static void
test_cpu_compat_hook(void **state)
{
    (void)state;
    struct plan_host h[3] = {{"a", 16, 64 * GIB, 0, NULL},
                             {"new", 64, 256 * GIB, 0, NULL},
                             {"small", 4, 8 * GIB, 0, NULL}};
    struct plan_rb_vm v[2] = {vm("legacy", 0, 2, 16), vm("modern", 0, 2, 4)};
    v[0].evc_key = "old-cpu-only";
    struct plan_constraints c = {.cpu_compat = old_cpu_compat};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 2, h, 3, &c, &o);
    assert_int_equal(r->host_after[1], 1);
    assert_int_equal(r->host_after[0], 0); /* only "small" is compatible, and too small */
    assert_int_equal(r->nstuck, 1);
    assert_string_equal(r->stuck[0].filters[2].filter, "CpuModelFilter");
    assert_int_equal(r->stuck[0].filters[2].start, 2);
    assert_int_equal(r->stuck[0].filters[2].end, 1);
    assert_string_equal(r->stuck[0].nearest_host, "small");
    plan_rebalance_free(r);
}

/* One move of another VM makes room for a VM that fits nowhere as things are. */
static void
test_drain_makes_room(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 32 * GIB, 0, NULL}, {"b", 16, 32 * GIB, 0, NULL}, {"c", 16, 32 * GIB, 0, NULL}};
    struct plan_rb_vm v[3] = {vm("big", 0, 2, 24), vm("fill-b", 1, 2, 12), vm("fill-c", 2, 2, 12)};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 3, h, 3, NULL, &o);
    assert_int_equal(r->nstuck, 0);
    assert_int_equal(r->nmoves, 2);
    assert_int_not_equal(r->host_after[0], 0);
    assert_int_equal(r->host_after[1], r->host_after[2]);
    assert_string_equal(r->moves[0].why, "make-room");
    plan_rebalance_free(r);
}

static void
test_excluded_hosts(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[2] = {vm("x", 0, 2, 8), vm("y", 0, 2, 8)};
    struct plan_host_rule ex[2] = {{SIZE_MAX, 1}, {1, 2}};
    struct plan_constraints c = {.excludes = ex, .nexcludes = 2};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *r = run_checked(v, 2, h, 3, &c, &o);
    assert_int_equal(r->host_after[0], 2);
    assert_int_equal(r->host_after[1], 0);
    assert_int_equal(r->nstuck, 1);
    assert_int_equal(r->hosts_counted, 1);
    plan_rebalance_free(r);
}

static void
test_bad_input(void **state)
{
    (void)state;
    struct plan_host h[1] = {{"a", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm v[1] = {vm("x", 0, 2, 8)};
    err e = {0};
    struct plan_rb_opts o = {.threshold = 7};
    assert_null(plan_rebalance_run(v, 1, h, 1, NULL, &o, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    o = (struct plan_rb_opts){.place.headroom = 1.0};
    assert_null(plan_rebalance_run(v, 1, h, 1, NULL, &o, &e));
    v[0].host = 3;
    o = (struct plan_rb_opts){0};
    assert_null(plan_rebalance_run(v, 1, h, 1, NULL, &o, &e));
    v[0].host = 0;
    v[0].d[1] = NAN;
    assert_null(plan_rebalance_run(v, 1, h, 1, NULL, &o, &e));
    v[0].d[1] = 1;
    size_t drain[1] = {5};
    o.drain = drain;
    o.ndrain = 1;
    assert_null(plan_rebalance_run(v, 1, h, 1, NULL, &o, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    /* no hosts, no VMs: an empty plan */
    o = (struct plan_rb_opts){0};
    plan_rebalance *r = plan_rebalance_run(NULL, 0, NULL, 0, NULL, &o, &e);
    assert_non_null(r);
    assert_int_equal(r->nmoves, 0);
    plan_rebalance_free(r);
}

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

struct world {
    struct plan_host h[12];
    struct plan_rb_vm v[80];
    size_t nv, nh, members[3][4];
    struct plan_group g[3];
    size_t ng;
    struct plan_host_rule pins[2];
    char names[12][24];
};

static void
world_make(struct world *w, unsigned seed)
{
    rng_state = seed * 2654435761u + 1;
    memset(w, 0, sizeof(*w));
    w->nh = 3 + rng() % 10;
    for (size_t h = 0; h < w->nh; h++) {
        snprintf(w->names[h], sizeof(w->names[h]), "h%zu", h);
        w->h[h] = (struct plan_host){w->names[h], 8 + 8 * (rng() % 4),
                                     (32 + 32 * (rng() % 4)) * GIB, rng() % 3 ? 0 : 2000, NULL};
    }
    w->nv = 10 + rng() % 70;
    for (size_t i = 0; i < w->nv; i++) {
        /* skewed: half the VMs start on the first two hosts */
        size_t host = rng() % 2 ? rng() % 2 : rng() % w->nh;
        w->v[i] = vm("r", host, 1 + rng() % 4, 1 + rng() % 12);
        w->v[i].d[2] = 10 + rng() % 40;
        w->v[i].active = rng() % 10 != 0;
    }
    w->ng = 3;
    for (size_t g = 0; g < 3; g++) {
        size_t k = 2 + rng() % 3;
        for (size_t i = 0; i < k; i++)
            w->members[g][i] = (g * 17 + i * 3) % w->nv; /* distinct for k ≤ 4, nv ≥ 10 */
        w->g[g] = (struct plan_group){g ? "anti" : "aff", g ? PLAN_ANTI_AFFINITY : PLAN_AFFINITY,
                                      w->members[g], k};
    }
    w->pins[0] = (struct plan_host_rule){7 % w->nv, (size_t)rng() % w->nh};
}

static void
test_random_plans_pass_the_checker(void **state)
{
    (void)state;
    size_t plans = 0, moves = 0, stuck = 0;
    for (unsigned seed = 1; seed <= 150; seed++) {
        struct world w;
        world_make(&w, seed);
        struct plan_constraints c = {.groups = w.g, .ngroups = w.ng, .pins = w.pins, .npins = 1};
        size_t drain[2] = {0, (size_t)(seed % 3 == 0)};
        struct plan_rb_opts o = {
            .goal = seed % 2 ? PLAN_RB_DRAIN : PLAN_RB_BALANCE,
            .drain = drain,
            .ndrain = seed % 2 ? 1 + (seed % 3 == 0) : (seed % 4 == 0),
            .threshold = 1 + (int)(seed % 5),
            .place = {.overcommit = {1 + seed % 4, 1 + (seed % 3) * 0.25, 1},
                      .headroom = (seed % 4) * 0.05},
            .per_host = 1 + (int)(seed % 3),
            .max_parallel = 1 + (int)(seed % 7),
            .double_book_cpu = seed % 5 == 0,
        };
        plan_rebalance *r = run_checked(w.v, w.nv, w.h, w.nh, &c, &o);
        if (o.goal == PLAN_RB_BALANCE && o.threshold > 1 && o.ndrain == 0)
            assert_true(r->imbalance_after <= r->imbalance_before + 1e-9);
        for (size_t i = 0; i < w.nv; i++)
            assert_true(moves_of(r, i) <= 1 || r->staged > 0);
        plans++;
        moves += r->nmoves;
        stuck += r->nstuck;
        plan_rebalance_free(r);
    }
    print_message("random: %zu plans, %zu migrations, %zu VMs explained as stuck\n", plans, moves,
                  stuck);
    assert_true(moves > 100);
}

static void
test_deterministic_and_exports(void **state)
{
    (void)state;
    struct world w;
    world_make(&w, 42);
    struct plan_constraints c = {.groups = w.g, .ngroups = w.ng};
    size_t drain[1] = {0};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = drain, .ndrain = 1};
    plan_rebalance *a = run_checked(w.v, w.nv, w.h, w.nh, &c, &o);
    plan_rebalance *b = run_checked(w.v, w.nv, w.h, w.nh, &c, &o);
    assert_int_equal(a->nmoves, b->nmoves);
    for (size_t i = 0; i < a->nmoves; i++) {
        assert_int_equal(a->moves[i].vm, b->moves[i].vm);
        assert_int_equal(a->moves[i].to, b->moves[i].to);
        assert_int_equal(a->moves[i].step, b->moves[i].step);
    }
    json_t *j = plan_rebalance_json(a, w.v, w.h);
    assert_non_null(j);
    json_t *sum = json_object_get(j, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "migrations")), (json_int_t)a->nmoves);
    assert_int_equal(json_array_size(json_object_get(j, "steps")), (size_t)a->nsteps);
    assert_int_equal(json_array_size(json_object_get(j, "hosts")), w.nh);
    json_decref(j);
    err e = {0};
    size_t len = 0;
    char *csv = plan_rebalance_csv(a, w.v, w.h, &len, &e);
    assert_non_null(csv);
    assert_memory_equal(csv, "step,vm,from,to,", 16);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += csv[i] == '\n';
    assert_int_equal(lines, 1 + a->nmoves + a->nstuck);
    free(csv);
    unsigned char *x = plan_rebalance_xlsx_mem(a, w.v, w.h, &len, &e);
    assert_non_null(x);
    assert_true(len > 1000);
    assert_memory_equal(x, "PK", 2);
    free(x);
    plan_rebalance_free(a);
    plan_rebalance_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balance_spreads_load),
        cmocka_unit_test(test_threshold_one_makes_no_balancing_move),
        cmocka_unit_test(test_drain_empties_host),
        cmocka_unit_test(test_drain_explains_each_vm),
        cmocka_unit_test(test_anti_affinity_respected),
        cmocka_unit_test(test_affinity_moves_together),
        cmocka_unit_test(test_double_booking_splits_steps),
        cmocka_unit_test(test_parallel_limits),
        cmocka_unit_test(test_no_oscillation),
        cmocka_unit_test(test_necessary_hop_is_kept),
        cmocka_unit_test(test_cpu_compat_hook),
        cmocka_unit_test(test_drain_makes_room),
        cmocka_unit_test(test_excluded_hosts),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_random_plans_pass_the_checker),
        cmocka_unit_test(test_deterministic_and_exports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
