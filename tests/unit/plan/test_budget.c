/* Tenant budgets in placement: a tenant's placed VMs never sum above what it has left;
 * the VMs refused get Nova-style reasons with the binding resource and the shortfall.
 * Every plan goes through the independent checker (which checks budgets too). */
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
#define UNL (-1.0)

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

static size_t
placed_of(const struct plan_placement *p, const size_t *vms, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p->host_of[vms[i]] >= 0;
    return k;
}

static const struct plan_filter_count *
filter(const struct plan_unplaced *u, const char *name)
{
    for (size_t i = 0; i < u->nfilters; i++)
        if (!strcmp(u->filters[i].filter, name))
            return &u->filters[i];
    return NULL;
}

/* Five VMs of 2 vCPUs, room for all, a budget of 6 vCPUs: exactly 3 placed, with every
 * heuristic; the other two say "vcpus short by 2". */
static void
test_fits_exactly_n(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_item it[5];
    for (int i = 0; i < 5; i++)
        it[i] = item(2, 4, 10);
    size_t members[5] = {0, 1, 2, 3, 4};
    struct plan_budget b = {"tenant 7", {UNL, 6, UNL, UNL}, members, 5};
    struct plan_constraints c = {.budgets = &b, .nbudgets = 1};
    for (int algo = 0; algo < 2; algo++) {
        struct plan_place_opts o = {.algo = algo ? PLAN_ALGO_FFD : PLAN_ALGO_BEST};
        struct plan_placement *p = place_checked(it, 5, h, 3, &c, &o);
        assert_int_equal(p->placed, 3);
        assert_int_equal(p->nunplaced, 2);
        assert_int_equal(p->bound.placeable, 3); /* the bound is for the admitted VMs */
        for (size_t k = 0; k < 2; k++) {
            const struct plan_unplaced *u = &p->unplaced[k];
            assert_string_equal(u->constraint, "tenant_budget");
            assert_string_equal(u->tenant, "tenant 7");
            assert_int_equal(u->budget_dim, PLAN_BUDGET_VCPUS);
            assert_true(fabs(u->budget_short - 2) < 1e-9);
            assert_true(fabs(u->budget_left) < 1e-9);
            assert_string_equal(
                u->reason, "tenant 7: vcpus short by 2 (needs 2, 0 left after the VMs placed)");
            /* Nova-style: every host has room, the budget removes them all */
            const struct plan_filter_count *f = filter(u, "TenantBudgetFilter");
            assert_non_null(f);
            assert_int_equal(f->start, 3);
            assert_int_equal(f->end, 0);
            assert_string_equal(u->filters[u->nfilters - 1].filter, "TenantBudgetFilter");
        }
        plan_placement_free(p);
    }
}

/* Each resource binds in its own unit: VMs, MiB of memory, GiB of disk. */
static void
test_each_resource(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 64, 256 * GIB, 0, NULL}, {"b", 64, 256 * GIB, 0, NULL}};
    struct plan_item it[4] = {item(1, 4, 30), item(1, 4, 30), item(1, 4, 30), item(1, 4, 30)};
    size_t members[4] = {0, 1, 2, 3};
    static const struct {
        double rem[PLAN_NBUDGET];
        size_t placed;
        int dim;
        double shortfall;
        const char *text;
    } cases[] = {
        {{2, UNL, UNL, UNL}, 2, PLAN_BUDGET_VMS, 1, "t: vms short by 1 (needs 1, 0 left"},
        {{UNL, UNL, 10 * GIB, UNL},
         2,
         PLAN_BUDGET_MEMORY_MIB,
         2048,
         "t: memory_mib short by 2048 (needs 4096, 2048 left"},
        {{UNL, UNL, UNL, 100},
         3,
         PLAN_BUDGET_DISK_GIB,
         20,
         "t: disk_gib short by 20 (needs 30, 10"},
        {{0, 0, 0, 0}, 0, PLAN_BUDGET_VMS, 1, "t: vms short by 1 (needs 1, 0 left"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct plan_budget b = {"t", {0}, members, 4};
        memcpy(b.remaining, cases[k].rem, sizeof(b.remaining));
        struct plan_constraints c = {.budgets = &b, .nbudgets = 1};
        struct plan_place_opts o = {0};
        struct plan_placement *p = place_checked(it, 4, h, 2, &c, &o);
        assert_int_equal(p->placed, cases[k].placed);
        assert_int_equal(p->nunplaced, 4 - cases[k].placed);
        const struct plan_unplaced *u = &p->unplaced[0];
        assert_string_equal(u->constraint, "tenant_budget");
        assert_int_equal(u->budget_dim, cases[k].dim);
        assert_true(fabs(u->budget_short - cases[k].shortfall) < 1e-6);
        assert_non_null(strstr(u->reason, cases[k].text));
        plan_placement_free(p);
    }
}

/* Unlimited budgets (and a tenant without VMs) change nothing. */
static void
test_unlimited_no_effect(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 8, 32 * GIB, 0, NULL}, {"b", 8, 32 * GIB, 0, NULL}, {"c", 4, 16 * GIB, 0, NULL}};
    struct plan_item it[8] = {item(3, 8, 0), item(3, 12, 0), item(2, 4, 0), item(1, 2, 0),
                              item(4, 8, 0), item(2, 6, 0),  item(9, 1, 0), item(1, 30, 0)};
    size_t members[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct plan_budget b[2] = {{"all", {UNL, UNL, UNL, UNL}, members, 8},
                               {"empty", {0, 0, 0, 0}, NULL, 0}};
    struct plan_constraints none = {0}, c = {.budgets = b, .nbudgets = 2};
    struct plan_place_opts o = {0};
    struct plan_placement *p0 = place_checked(it, 8, h, 3, &none, &o);
    struct plan_placement *p1 = place_checked(it, 8, h, 3, &c, &o);
    assert_int_equal(p0->placed, p1->placed);
    assert_int_equal(p0->hosts_used, p1->hosts_used);
    assert_int_equal(p0->bound.hosts, p1->bound.hosts);
    assert_memory_equal(p0->host_of, p1->host_of, 8 * sizeof(int));
    assert_int_equal(p0->nunplaced, p1->nunplaced);
    assert_true(p1->nunplaced > 0); /* VM 6 needs 9 CPUs */
    for (size_t k = 0; k < p1->nunplaced; k++) {
        assert_string_equal(p0->unplaced[k].reason, p1->unplaced[k].reason);
        assert_string_equal(p1->unplaced[k].constraint, "capacity");
        assert_null(filter(&p1->unplaced[k], "TenantBudgetFilter"));
    }
    plan_placement_free(p0);
    plan_placement_free(p1);
}

/* Two tenants and VMs of no tenant: each budget binds its own VMs only. */
static void
test_two_tenants(void **state)
{
    (void)state;
    struct plan_host h[4] = {{"a", 32, 128 * GIB, 0, NULL},
                             {"b", 32, 128 * GIB, 0, NULL},
                             {"c", 32, 128 * GIB, 0, NULL},
                             {"d", 32, 128 * GIB, 0, NULL}};
    struct plan_item it[12];
    for (int i = 0; i < 12; i++)
        it[i] = item(2 + i % 3, 8, 0);
    size_t ta[5] = {0, 2, 4, 6, 8}, tb[4] = {1, 3, 5, 7}, free_vms[3] = {9, 10, 11};
    struct plan_budget b[2] = {{"acme", {2, UNL, UNL, UNL}, ta, 5},
                               {"globex", {UNL, 9, UNL, UNL}, tb, 4}};
    struct plan_constraints c = {.budgets = b, .nbudgets = 2};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 12, h, 4, &c, &o);
    assert_int_equal(placed_of(p, ta, 5), 2);
    assert_int_equal(placed_of(p, free_vms, 3), 3);
    /* globex: vCPUs 3, 2, 4, 3 (VMs 1, 3, 5, 7) within 9: at most 3 VMs (2+3+3 or 2+3+4) */
    double sum = 0;
    for (int k = 0; k < 4; k++)
        sum += p->host_of[tb[k]] >= 0 ? it[tb[k]].d[0] : 0;
    assert_true(sum <= 9);
    assert_int_equal(placed_of(p, tb, 4), 3);
    assert_int_equal(p->nunplaced, 4);
    for (size_t k = 0; k < p->nunplaced; k++) {
        const struct plan_unplaced *u = &p->unplaced[k];
        bool acme = u->vm % 2 == 0;
        assert_string_equal(u->tenant, acme ? "acme" : "globex");
        assert_int_equal(u->budget_dim, acme ? PLAN_BUDGET_VMS : PLAN_BUDGET_VCPUS);
    }
    plan_placement_free(p);
}

/* Budgets and anti-affinity: whichever binds first is the reason. */
static void
test_with_anti_affinity(void **state)
{
    (void)state;
    struct plan_host h[3] = {
        {"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}, {"c", 16, 64 * GIB, 0, NULL}};
    struct plan_item it[4] = {item(2, 4, 0), item(2, 4, 0), item(2, 4, 0), item(2, 4, 0)};
    size_t members[4] = {0, 1, 2, 3};
    struct plan_group g = {"db", PLAN_ANTI_AFFINITY, members, 4};
    /* 4 vCPUs: the budget admits 2, on 2 distinct hosts */
    struct plan_budget b = {"t", {UNL, 4, UNL, UNL}, members, 4};
    struct plan_constraints c = {.groups = &g, .ngroups = 1, .budgets = &b, .nbudgets = 1};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 4, h, 3, &c, &o);
    assert_int_equal(p->placed, 2);
    assert_int_equal(p->hosts_used, 2);
    for (size_t k = 0; k < p->nunplaced; k++) {
        const struct plan_unplaced *u = &p->unplaced[k];
        assert_string_equal(u->constraint, "tenant_budget");
        const struct plan_filter_count *f = filter(u, "AntiAffinityFilter");
        assert_non_null(f);
        assert_int_equal(f->start, 3);
        assert_int_equal(f->end, 1);
        f = filter(u, "TenantBudgetFilter");
        assert_int_equal(f->start, 1);
        assert_int_equal(f->end, 0);
    }
    plan_placement_free(p);

    /* 8 vCPUs would admit all 4, but 3 hosts take 3: anti-affinity is the reason */
    b.remaining[PLAN_BUDGET_VCPUS] = 8;
    p = place_checked(it, 4, h, 3, &c, &o);
    assert_int_equal(p->placed, 3);
    assert_int_equal(p->nunplaced, 1);
    const struct plan_unplaced *u = &p->unplaced[0];
    assert_string_equal(u->constraint, "anti_affinity");
    assert_int_equal(u->budget_dim, -1);
    assert_non_null(strstr(u->reason, "AntiAffinityFilter"));
    plan_placement_free(p);
}

/* An affinity pair draws on the budget as one; pinned VMs get the budget first. */
static void
test_affinity_and_pins(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}};
    struct plan_item it[4] = {item(2, 4, 0), item(2, 4, 0), item(1, 1, 0), item(3, 4, 0)};
    size_t pair[2] = {0, 1}, members[4] = {0, 1, 2, 3};
    struct plan_group g = {"app", PLAN_AFFINITY, pair, 2};
    struct plan_host_rule pin = {3, 1};
    struct plan_budget b = {"t", {UNL, 5, UNL, UNL}, members, 4};
    struct plan_constraints c = {
        .groups = &g, .ngroups = 1, .pins = &pin, .npins = 1, .budgets = &b, .nbudgets = 1};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 4, h, 2, &c, &o);
    /* pinned VM 3 takes 3 vCPUs; the pair (4) no longer fits in 2; VM 2 (1) does */
    assert_int_equal(p->host_of[3], 1);
    assert_int_equal(p->host_of[0], -1);
    assert_int_equal(p->host_of[1], -1);
    assert_true(p->host_of[2] >= 0);
    assert_int_equal(p->nunplaced, 2);
    for (size_t k = 0; k < 2; k++) {
        assert_string_equal(p->unplaced[k].constraint, "tenant_budget");
        assert_true(fabs(p->unplaced[k].budget_short - 3) < 1e-9); /* 4 + 4 - 5 */
    }
    plan_placement_free(p);
}

/* The caller's own demand figures are what the budget counts. */
static void
test_budget_demand(void **state)
{
    (void)state;
    struct plan_host h[1] = {{"a", 64, 256 * GIB, 0, NULL}};
    struct plan_item it[3] = {item(1, 1, 1.0009), item(1, 1, 1.0009), item(1, 1, 1.0009)};
    double demand[3 * PLAN_NBUDGET] = {1, 1, 1024, 2, 1, 1, 1024, 2, 1, 1, 1024, 2};
    size_t members[3] = {0, 1, 2};
    struct plan_budget b = {"t", {UNL, UNL, UNL, 4}, members, 3};
    struct plan_constraints c = {.budgets = &b, .nbudgets = 1};
    struct plan_place_opts o = {0};
    struct plan_placement *p = place_checked(it, 3, h, 1, &c, &o);
    assert_int_equal(p->placed, 3); /* 3.0027 GiB of items ≤ 4 */
    plan_placement_free(p);
    c.budget_demand = demand;
    p = place_checked(it, 3, h, 1, &c, &o);
    assert_int_equal(p->placed, 2); /* 2 GiB each as the quota counts them */
    assert_string_equal(p->unplaced[0].reason,
                        "t: disk_gib short by 2 (needs 2, 0 left after the VMs placed)");
    plan_placement_free(p);
}

static void
test_invalid(void **state)
{
    (void)state;
    struct plan_host h[1] = {{"a", 8, 8 * GIB, 0, NULL}};
    struct plan_item it[2] = {item(1, 1, 0), item(1, 1, 0)};
    size_t one[1] = {0}, bad[1] = {5};
    struct plan_budget twice[2] = {{"x", {UNL, UNL, UNL, UNL}, one, 1},
                                   {"y", {UNL, UNL, UNL, UNL}, one, 1}};
    struct plan_budget out[1] = {{"z", {UNL, UNL, UNL, UNL}, bad, 1}};
    struct plan_budget nan_[1] = {{"n", {NAN, UNL, UNL, UNL}, one, 1}};
    double neg[2 * PLAN_NBUDGET] = {1, 1, 1, -1, 1, 1, 1, 1};
    const struct plan_constraints cs[4] = {
        {.budgets = twice, .nbudgets = 2},
        {.budgets = out, .nbudgets = 1},
        {.budgets = nan_, .nbudgets = 1},
        {.budgets = twice, .nbudgets = 1, .budget_demand = neg},
    };
    for (size_t k = 0; k < 4; k++) {
        err e = {0};
        assert_null(plan_place(it, 2, h, 1, &cs[k], NULL, &e));
        assert_int_equal(e.kind, ERR_INVALID);
    }
}

/* plan_run counts what the quota counts: provisioned disk rounded up to GiB. */
static void
test_plan_run(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%d", i);
        struct plan_vm *vm = plan_inv_add_vm(inv, name);
        vm->vcpus = 2;
        vm->memory_mib = 2048;
        struct plan_disk *d = plan_vm_add_disk(inv, vm);
        d->capacity_mib = 1025;
        d->capacity_known = true;
    }
    struct plan_host h[1] = {{"kvm-1", 64, 256 * GIB, 1000, NULL}};
    size_t members[3] = {0, 1, 2};
    struct plan_budget b = {"tenant 3", {UNL, UNL, UNL, 4}, members, 3};
    struct plan_request req;
    plan_request_defaults(&req);
    req.inv = inv;
    req.hosts = h;
    req.nhosts = 1;
    req.cons.budgets = &b;
    req.cons.nbudgets = 1;
    err e = {0};
    plan_result *r = plan_run(&req, &e);
    assert_non_null(r);
    assert_int_equal(r->placement->placed, 2);
    assert_string_equal(r->placement->unplaced[0].constraint, "tenant_budget");
    assert_int_equal(r->placement->unplaced[0].budget_dim, PLAN_BUDGET_DISK_GIB);
    plan_result_free(r);
    plan_inv_free(inv);
}

/* Rebalance ignores budgets: moving a VM does not change its tenant's allocation. */
static void
test_rebalance_ignores(void **state)
{
    (void)state;
    struct plan_host h[2] = {{"a", 16, 64 * GIB, 0, NULL}, {"b", 16, 64 * GIB, 0, NULL}};
    struct plan_rb_vm vms[4];
    for (int i = 0; i < 4; i++)
        vms[i] = (struct plan_rb_vm){.name = "v", .host = 0, .d = {4, 12 * GIB, 0}, .active = true};
    size_t members[4] = {0, 1, 2, 3};
    struct plan_budget b = {"t", {0, 0, 0, 0}, members, 4};
    struct plan_constraints none = {0}, c = {.budgets = &b, .nbudgets = 1};
    struct plan_rb_opts o = {.goal = PLAN_RB_DRAIN, .drain = (size_t[]){0}, .ndrain = 1};
    err e = {0};
    plan_rebalance *r0 = plan_rebalance_run(vms, 4, h, 2, &none, &o, &e);
    plan_rebalance *r1 = plan_rebalance_run(vms, 4, h, 2, &c, &o, &e);
    assert_non_null(r0);
    assert_non_null(r1);
    assert_int_equal(r1->nmoves, 4);
    assert_int_equal(r0->nmoves, r1->nmoves);
    assert_memory_equal(r0->host_after, r1->host_after, 4 * sizeof(int));
    plan_rebalance_free(r0);
    plan_rebalance_free(r1);
}

/* Random fleets, groups and budgets with both algorithms: the checker finds nothing, and
 * each VM refused for its budget really does not fit what its tenant has left. */
static void
test_random_property(void **state)
{
    (void)state;
    enum { N = 60, M = 6, T = 3 };
    unsigned seed = 12345;
    for (int round = 0; round < 60; round++) {
        struct plan_item it[N];
        struct plan_host h[M];
        size_t members[T][N], nm[T] = {0}, anti[4] = {0, 1, 2, 3};
        for (size_t i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            it[i] = item(1 + (seed >> 16) % 8, 1 + (seed >> 8) % 16, (seed >> 4) % 50);
            size_t t = (seed >> 20) % (T + 1);
            if (t < T)
                members[t][nm[t]++] = i;
        }
        for (size_t j = 0; j < M; j++)
            h[j] = (struct plan_host){"h", 16 + 8 * (double)(j % 3), 64 * GIB, 400, NULL};
        struct plan_budget b[T];
        for (size_t t = 0; t < T; t++) {
            b[t] = (struct plan_budget){"t", {UNL, UNL, UNL, UNL}, members[t], nm[t]};
            b[t].remaining[(round + t) % PLAN_NBUDGET] =
                (double)((round * 7 + t * 13) % 40) * (t == 0 ? 1 : 3);
        }
        struct plan_group g = {"a", PLAN_ANTI_AFFINITY, anti, 4};
        struct plan_constraints c = {.groups = &g, .ngroups = 1, .budgets = b, .nbudgets = T};
        struct plan_place_opts o = {.algo = round % 2 ? PLAN_ALGO_FFD : PLAN_ALGO_BEST,
                                    .overcommit = {2, 1, 1}};
        struct plan_placement *p = place_checked(it, N, h, M, &c, &o);
        for (size_t k = 0; k < p->nunplaced; k++) {
            const struct plan_unplaced *u = &p->unplaced[k];
            if (strcmp(u->constraint, "tenant_budget"))
                continue;
            size_t t = 0;
            for (size_t x = 0; x < T; x++)
                for (size_t y = 0; y < nm[x]; y++)
                    t = members[x][y] == u->vm ? x : t;
            double sum = 0, one[PLAN_NBUDGET];
            for (size_t y = 0; y < nm[t]; y++) {
                size_t i = members[t][y];
                double d[PLAN_NBUDGET] = {1, it[i].d[0], it[i].d[1], it[i].d[2]};
                sum += p->host_of[i] >= 0 ? d[u->budget_dim] : 0;
                if (i == u->vm)
                    memcpy(one, d, sizeof(one));
            }
            assert_true(sum + one[u->budget_dim] > b[t].remaining[u->budget_dim]);
            assert_true(fabs(sum + one[u->budget_dim] - b[t].remaining[u->budget_dim] -
                             u->budget_short) < 1e-6);
        }
        plan_placement_free(p);
    }
}

/* The readers keep what a tenant mapping matches on: folder and annotation. */
static void
test_reader_fields(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    static const char csv[] = "VM,Powerstate,CPUs,Memory,Folder,Annotation\r\n"
                              "web-1,poweredOn,2,2048,/dc1/vm/acme,owner: Acme\r\n"
                              "db-1,poweredOn,4,8192,,\r\n";
    struct plan_csv_sheet sheet = {"vInfo", csv, sizeof(csv) - 1};
    err e = {0};
    assert_int_equal(plan_rvtools_read_csv(inv, &sheet, 1, NULL, &e), 0);
    assert_int_equal(inv->nvms, 2);
    assert_string_equal(inv->vms[0]->folder, "/dc1/vm/acme");
    assert_string_equal(inv->vms[0]->annotation, "owner: Acme");
    assert_null(inv->vms[1]->folder);
    assert_null(inv->vms[1]->annotation);
    static const char vmx[] = "displayName = \"app\"\nnumvcpus = \"1\"\nmemsize = \"512\"\n"
                              "Annotation = \"tenant globex\"\n";
    assert_int_equal(plan_vmx_read(inv, vmx, sizeof(vmx) - 1, "app.vmx", &e), 0);
    assert_string_equal(inv->vms[2]->annotation, "tenant globex");
    plan_inv_free(inv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_exactly_n),
        cmocka_unit_test(test_each_resource),
        cmocka_unit_test(test_unlimited_no_effect),
        cmocka_unit_test(test_two_tenants),
        cmocka_unit_test(test_with_anti_affinity),
        cmocka_unit_test(test_affinity_and_pins),
        cmocka_unit_test(test_budget_demand),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_plan_run),
        cmocka_unit_test(test_reader_fields),
        cmocka_unit_test(test_random_property),
        cmocka_unit_test(test_rebalance_ignores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
