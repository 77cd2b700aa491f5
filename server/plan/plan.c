/* plan_run: assessment → placement → sizing → waves → TCO, over one inventory. */
#include "plan_int.h"

#include "assess_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
plan_request_defaults(struct plan_request *req)
{
    memset(req, 0, sizeof(*req));
    for (int d = 0; d < PLAN_NDIM; d++)
        req->place.overcommit[d] = 1.0;
    req->place.algo = PLAN_ALGO_BEST;
    req->place.skip_templates = true;
    req->waves = (struct plan_wave_opts){
        .bandwidth_mbps = 620,
        .parallel = 10,
        .window_hours = 8,
        .pilot_size = 5,
        .conversion_minutes = 15,
        .post_minutes = 60,
        .warm_delta_fraction = 0.02,
    };
    req->cost = (struct plan_cost_model){
        .years = 3,
        .target_host_capex = 15000,
        .target_host_watts = 400,
        .kwh_price = 0.15,
        .pue = 1.8,
        .target_support_per_host = 1000,
        .source_licence_per_core = 350,
        .source_support_per_host = 1500,
        .source_host_watts = 450,
        .admin_per_host = 2000,
    };
    req->v2v = (struct plan_v2v_opts){.output_storage = "default", .output_format = "qcow2"};
}

void
plan_result_free(plan_result *r)
{
    if (!r)
        return;
    plan_placement_free(r->placement);
    arena_destroy(r->arena);
}

static int
assess_all(plan_result *r, const struct plan_request *req)
{
    const plan_inventory *inv = req->inv;
    struct plan_assess_opts ao = req->assess;
    if (!ao.targets) {
        ao.targets = req->hosts;
        ao.ntargets = req->nhosts;
    }
    if (!ao.cpu_compat) {
        ao.cpu_compat = req->cons.cpu_compat;
        ao.cpu_ctx = req->cons.cpu_ctx;
    }
    struct assess_cpu_cache *cache = arena_alloc(r->arena, sizeof(*cache));
    r->assess = arena_alloc(r->arena, (inv->nvms ? inv->nvms : 1) * sizeof(*r->assess));
    if (!cache || !r->assess)
        return -1;
    for (size_t i = 0; i < inv->nvms; i++) {
        if (assess_vm(inv, inv->vms[i], &ao, r->arena, &r->assess[i], cache) < 0)
            return -1;
        r->counts[r->assess[i].readiness]++;
    }
    return 0;
}

/* ---------------------------------------------------------------- groups */

struct gentry {
    const char *name;
    enum plan_group_kind kind;
    size_t *members;
    size_t n, cap;
};

struct gbuild {
    struct gentry *e;
    size_t n, cap;
};

static int
group_ref(struct arena *a, struct gbuild *b, enum plan_group_kind kind, const char *name, size_t vm)
{
    struct gentry *g = NULL;
    for (size_t i = 0; i < b->n && !g; i++)
        if (b->e[i].kind == kind && strcmp(b->e[i].name, name) == 0)
            g = &b->e[i];
    if (!g) {
        g = plan_grow(a, (void **)&b->e, &b->n, &b->cap, sizeof(*g));
        if (!g)
            return -1;
        g->name = name;
        g->kind = kind;
    }
    for (size_t k = 0; k < g->n; k++)
        if (g->members[k] == vm)
            return 0; /* members are distinct */
    size_t *slot = plan_grow(a, (void **)&g->members, &g->n, &g->cap, sizeof(size_t));
    if (!slot)
        return -1;
    *slot = vm;
    return 0;
}

/* The request's groups plus the inventory's cluster rules, members deduplicated. */
static int
build_groups(plan_result *r, const struct plan_request *req)
{
    struct gbuild b = {0};
    const plan_inventory *inv = req->inv;
    for (size_t g = 0; g < req->cons.ngroups; g++) {
        const struct plan_group *G = &req->cons.groups[g];
        for (size_t k = 0; k < G->nmembers; k++)
            if (G->members[k] < inv->nvms &&
                group_ref(r->arena, &b, G->kind, G->name ? G->name : "?", G->members[k]) < 0)
                return -1;
    }
    for (size_t i = 0; i < inv->nvms; i++) {
        const struct plan_vm *vm = inv->vms[i];
        for (size_t k = 0; k < vm->naffinity; k++)
            if (group_ref(r->arena, &b, PLAN_AFFINITY, vm->affinity[k], i) < 0)
                return -1;
        for (size_t k = 0; k < vm->nanti_affinity; k++)
            if (group_ref(r->arena, &b, PLAN_ANTI_AFFINITY, vm->anti_affinity[k], i) < 0)
                return -1;
    }
    r->groups = arena_alloc(r->arena, (b.n ? b.n : 1) * sizeof(*r->groups));
    if (!r->groups)
        return -1;
    for (size_t i = 0; i < b.n; i++)
        r->groups[i] = (struct plan_group){b.e[i].name, b.e[i].kind, b.e[i].members, b.e[i].n};
    r->ngroups = b.n;
    return 0;
}

/* ---------------------------------------------------------------- run */

/* What each VM costs its tenant, as the quota counts a defined VM: 1 VM, its vCPUs, its
 * memory and its provisioned disks rounded up to GiB (whatever the disk basis). */
static const double *
budget_demand(plan_result *r, const plan_inventory *inv)
{
    double *d = arena_alloc(r->arena, (inv->nvms ? inv->nvms : 1) * PLAN_NBUDGET * sizeof(double));
    for (size_t i = 0; d && i < inv->nvms; i++) {
        const struct plan_vm *vm = inv->vms[i];
        double *x = &d[i * PLAN_NBUDGET];
        x[PLAN_BUDGET_VMS] = 1;
        x[PLAN_BUDGET_VCPUS] = vm->vcpus > 0 ? vm->vcpus : 0;
        x[PLAN_BUDGET_MEMORY_MIB] = (double)vm->memory_mib;
        x[PLAN_BUDGET_DISK_GIB] = (double)((plan_vm_disk_mib(vm) + 1023) / 1024);
    }
    return d;
}

static int
place_and_size(plan_result *r, const struct plan_request *req, struct plan_item *items, err *e)
{
    const plan_inventory *inv = req->inv;
    plan_items_from_inventory(inv, &req->place, r->assess, items);
    struct plan_constraints cons = req->cons;
    cons.groups = r->groups;
    cons.ngroups = r->ngroups;
    if (cons.nbudgets && !cons.budget_demand && !(cons.budget_demand = budget_demand(r, inv)))
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (req->nhosts) {
        r->placement = plan_place(items, inv->nvms, req->hosts, req->nhosts, &cons, &req->place, e);
        if (!r->placement)
            return -1;
    }
    r->sizing = arena_alloc(r->arena, (req->nshapes ? req->nshapes : 1) * sizeof(*r->sizing));
    if (!r->sizing)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t s = 0; s < req->nshapes; s++)
        if (plan_size(items, inv->nvms, &req->shapes[s], &cons, &req->place, req->sizing_reserve,
                      &r->sizing[r->nsizing++], e) < 0)
            return -1;
    return 0;
}

static int
commands(plan_result *r, const struct plan_request *req)
{
    const plan_inventory *inv = req->inv;
    r->v2v = arena_alloc(r->arena, (inv->nvms ? inv->nvms : 1) * sizeof(char *));
    if (!r->v2v)
        return -1;
    for (size_t i = 0; i < inv->nvms; i++)
        if (!(r->v2v[i] = plan_v2v_command(r->arena, inv->vms[i], &req->v2v)))
            return -1;
    return 0;
}

static size_t
target_hosts(const plan_result *r)
{
    if (r->placement)
        return r->placement->hosts_used;
    return r->nsizing ? r->sizing[0].hosts : 0;
}

static plan_result *
result_new(const struct plan_request *req)
{
    struct arena *a = arena_new();
    plan_result *r = a ? arena_alloc(a, sizeof(*r)) : NULL;
    if (!r) {
        arena_destroy(a);
        return NULL;
    }
    r->arena = a;
    r->inv = req->inv;
    r->hosts = req->hosts;
    r->nhosts = req->nhosts;
    r->place = req->place;
    r->wave_opts = req->waves;
    return r;
}

plan_result *
plan_run(const struct plan_request *req, err *e)
{
    if (!req || !req->inv) {
        err_set(e, ERR_INVALID, "a plan needs an inventory");
        return NULL;
    }
    plan_result *r = result_new(req);
    struct plan_item *items = malloc((req->inv->nvms ? req->inv->nvms : 1) * sizeof(*items));
    if (!r || !items) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    if (assess_all(r, req) < 0 || build_groups(r, req) < 0 || commands(r, req) < 0) {
        err_set(e, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    if (place_and_size(r, req, items, e) < 0 || plan_waves_build(r, &req->waves, e) < 0)
        goto fail;
    plan_tco_compute(req->inv, target_hosts(r), &req->cost, &r->tco);
    free(items);
    return r;
fail:
    free(items);
    plan_result_free(r);
    return NULL;
}
