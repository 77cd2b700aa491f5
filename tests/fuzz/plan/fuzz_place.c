/* libFuzzer target: placement with tenant budgets, an anti-affinity group and a pin.
 * The input is read as bytes: a header (counts, algorithm), then per VM its demand and
 * tenant, per host its capacity, per tenant its remaining budget (255: unlimited).
 * Besides crashes and sanitizer findings, it aborts when a tenant's placed VMs exceed
 * its budget, when a host holds more than its capacity, or when a VM refused for its
 * budget would in fact have fitted it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_VMS = 48, MAX_HOSTS = 8, MAX_TENANTS = 4 };

struct input {
    struct plan_item items[MAX_VMS];
    size_t tenant[MAX_VMS]; /* SIZE_MAX: none */
    struct plan_host hosts[MAX_HOSTS];
    struct plan_budget budgets[MAX_TENANTS];
    size_t members[MAX_TENANTS][MAX_VMS];
    size_t n, m, nt;
};

static uint8_t
next(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

static void
decode(const uint8_t *data, size_t size, struct input *in, struct plan_place_opts *o)
{
    const uint8_t *p = data, *end = data + size;
    in->n = next(&p, end) % (MAX_VMS + 1);
    in->m = 1 + next(&p, end) % MAX_HOSTS;
    in->nt = next(&p, end) % (MAX_TENANTS + 1);
    uint8_t flags = next(&p, end);
    o->algo = flags & 1 ? PLAN_ALGO_FFD : PLAN_ALGO_BEST;
    o->overcommit[PLAN_DIM_CPU] = 1 + (flags >> 1) % 4;
    o->headroom = (double)((flags >> 3) % 4) / 10;
    for (size_t i = 0; i < in->n; i++) {
        in->items[i].d[PLAN_DIM_CPU] = next(&p, end) % 33;
        in->items[i].d[PLAN_DIM_MEM] = 256.0 * next(&p, end);
        in->items[i].d[PLAN_DIM_DISK] = next(&p, end);
        uint8_t t = next(&p, end);
        in->tenant[i] = in->nt && t % 8 < in->nt ? t % 8 : SIZE_MAX;
        in->items[i].skip = t & 0x80;
    }
    for (size_t h = 0; h < in->m; h++)
        in->hosts[h] = (struct plan_host){"h", next(&p, end), 1024.0 * next(&p, end),
                                          4.0 * next(&p, end), NULL};
    for (size_t t = 0; t < in->nt; t++) {
        struct plan_budget *b = &in->budgets[t];
        b->name = "t";
        for (int k = 0; k < PLAN_NBUDGET; k++) {
            uint8_t v = next(&p, end);
            b->remaining[k] = v == 255 ? -1 : k == PLAN_BUDGET_MEMORY_MIB ? 512.0 * v : v;
        }
        b->members = in->members[t];
        for (size_t i = 0; i < in->n; i++)
            if (in->tenant[i] == t)
                in->members[t][b->nmembers++] = i;
    }
}

/* What tenant t's placed VMs take in resource k (plus VM `extra`, SIZE_MAX none). */
static double
drawn(const struct input *in, const struct plan_placement *p, size_t t, int k, size_t extra)
{
    double s = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->tenant[i] != t || (p->host_of[i] < 0 && i != extra))
            continue;
        s += k == PLAN_BUDGET_VMS ? 1 : in->items[i].d[k - 1];
    }
    return s;
}

static void
check(const struct input *in, const struct plan_placement *p)
{
    for (size_t t = 0; t < in->nt; t++)
        for (int k = 0; k < PLAN_NBUDGET; k++)
            if (in->budgets[t].remaining[k] >= 0 &&
                drawn(in, p, t, k, SIZE_MAX) > in->budgets[t].remaining[k] + 1e-6)
                abort(); /* a budget exceeded */
    for (size_t h = 0; h < in->m; h++)
        for (int d = 0; d < PLAN_NDIM; d++)
            if (p->used[h * PLAN_NDIM + d] > p->capacity[h * PLAN_NDIM + d] * (1 + 1e-6) + 1e-6)
                abort(); /* a host over capacity */
    for (size_t k = 0; k < p->nunplaced; k++) {
        const struct plan_unplaced *u = &p->unplaced[k];
        if (!u->constraint || strcmp(u->constraint, "tenant_budget"))
            continue;
        size_t t = in->tenant[u->vm];
        if (t == SIZE_MAX || u->budget_dim < 0 ||
            drawn(in, p, t, u->budget_dim, u->vm) <= in->budgets[t].remaining[u->budget_dim])
            abort(); /* refused, yet it fits its budget */
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input *in = calloc(1, sizeof(*in));
    if (!in)
        return 0;
    struct plan_place_opts o = {0};
    decode(data, size, in, &o);
    size_t anti[3] = {0, 1, 2};
    struct plan_group g = {"a", PLAN_ANTI_AFFINITY, anti, 3};
    struct plan_host_rule pin = {3, 0};
    struct plan_constraints c = {.budgets = in->budgets, .nbudgets = in->nt};
    if (in->n >= 3) {
        c.groups = &g;
        c.ngroups = 1;
    }
    if (in->n >= 4) {
        c.pins = &pin;
        c.npins = 1;
    }
    err e = {0};
    struct plan_placement *p = plan_place(in->items, in->n, in->hosts, in->m, &c, &o, &e);
    if (p)
        check(in, p);
    plan_placement_free(p);
    free(in);
    return 0;
}
