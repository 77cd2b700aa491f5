/* Placement engine: turns items, hosts and constraints into units with eligibility,
 * and keeps the placement state (per-host use, anti-affinity occupancy). */
#include "place_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double
plan_host_capacity(const struct plan_host *h, int dim, const struct plan_place_opts *opts)
{
    double raw = dim == PLAN_DIM_CPU ? h->cpus : dim == PLAN_DIM_MEM ? h->memory_mib : h->disk_gib;
    if (dim == PLAN_DIM_DISK && raw <= 0)
        return INFINITY; /* no storage figure: disk is not a constraint on this host */
    double oc = opts && opts->overcommit[dim] > 0 ? opts->overcommit[dim] : 1.0;
    double head = opts ? opts->headroom : 0;
    return raw * oc * (1.0 - head);
}

static int
validate(const struct plan_item *items, size_t n, const struct plan_host *hosts, size_t m,
         const struct plan_constraints *c, const struct plan_place_opts *o, err *e)
{
    if (o->headroom < 0 || o->headroom >= 1)
        return err_set(e, ERR_INVALID, "headroom must be at least 0 and below 1");
    for (int d = 0; d < PLAN_NDIM; d++)
        if (o->overcommit[d] < 0 || o->overcommit[d] > 64)
            return err_set(e, ERR_INVALID, "overcommit ratios must be between 0 and 64");
    for (size_t h = 0; h < m; h++)
        if (!(hosts[h].cpus >= 0) || !(hosts[h].memory_mib >= 0) || !(hosts[h].disk_gib >= 0))
            return err_set(e, ERR_INVALID, "host %zu has a negative capacity", h);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < PLAN_NDIM; d++)
            if (!(items[i].d[d] >= 0) || !isfinite(items[i].d[d]))
                return err_set(e, ERR_INVALID, "VM %zu has an invalid demand", i);
    return plan_constraints_check_refs(c, n, m, e);
}

/* Items tied by affinity share a root; skipped items are left alone. */
static size_t *
affinity_roots(const struct engine *E)
{
    size_t *p = arena_alloc(E->a, (E->nitems ? E->nitems : 1) * sizeof(*p));
    if (!p)
        return NULL;
    for (size_t i = 0; i < E->nitems; i++)
        p[i] = i;
    for (size_t g = 0; E->cons && g < E->cons->ngroups; g++) {
        const struct plan_group *G = &E->cons->groups[g];
        if (G->kind != PLAN_AFFINITY)
            continue;
        size_t first = SIZE_MAX;
        for (size_t k = 0; k < G->nmembers; k++) {
            size_t it = G->members[k];
            if (E->items[it].skip)
                continue;
            if (first == SIZE_MAX)
                first = it;
            else
                plan_uf_join(p, first, it);
        }
    }
    return p;
}

/* Numbers the units and lists their members, in item order. */
static int
build_units(struct engine *E, size_t *root)
{
    E->unit_of = arena_alloc(E->a, (E->nitems ? E->nitems : 1) * sizeof(size_t));
    size_t *count = calloc(E->nitems ? E->nitems : 1, sizeof(size_t));
    if (!E->unit_of || !count) {
        free(count);
        return -1;
    }
    size_t nu = 0;
    for (size_t i = 0; i < E->nitems; i++) {
        E->unit_of[i] = SIZE_MAX;
        if (!E->items[i].skip && root[i] == i)
            E->unit_of[i] = nu++;
    }
    for (size_t i = 0; i < E->nitems; i++)
        if (!E->items[i].skip)
            count[E->unit_of[i] = E->unit_of[plan_uf_find(root, i)]]++;
    E->nu = nu;
    E->u = arena_alloc(E->a, (nu ? nu : 1) * sizeof(*E->u));
    E->members = arena_alloc(E->a, (E->nitems ? E->nitems : 1) * sizeof(size_t));
    if (!E->u || !E->members) {
        free(count);
        return -1;
    }
    size_t off = 0;
    for (size_t u = 0; u < nu; u++) {
        E->u[u].first = off;
        E->u[u].pin = -1;
        E->u[u].cls = -1;
        off += count[u];
    }
    for (size_t i = 0; i < E->nitems; i++) {
        if (E->items[i].skip)
            continue;
        struct unit *U = &E->u[E->unit_of[i]];
        E->members[U->first + U->count++] = i;
        for (int d = 0; d < PLAN_NDIM; d++)
            U->d[d] += E->items[i].d[d];
    }
    free(count);
    return 0;
}

/* Pins: a unit takes its members' pin; two different pins make it unplaceable. */
static void
apply_pins(struct engine *E)
{
    for (size_t i = 0; E->cons && i < E->cons->npins; i++) {
        size_t u = E->unit_of[E->cons->pins[i].vm];
        if (u == SIZE_MAX)
            continue;
        int h = (int)E->cons->pins[i].host;
        if (E->u[u].pin >= 0 && E->u[u].pin != h)
            E->u[u].conflict = "its VMs are pinned to different hosts (affinity + pins)";
        E->u[u].pin = h;
    }
}

static int
apply_excludes(struct engine *E)
{
    size_t n = E->cons ? E->cons->nexcludes : 0;
    E->host_off = arena_alloc(E->a, (E->m ? E->m : 1) * sizeof(bool));
    E->ex = arena_alloc(E->a, (n ? n : 1) * sizeof(size_t));
    if (!E->host_off || !E->ex)
        return -1;
    size_t off = 0;
    /* units in order; for each, its members' exclusions (n is small: a linear pass each) */
    for (size_t i = 0; i < n; i++)
        if (E->cons->excludes[i].vm == SIZE_MAX)
            E->host_off[E->cons->excludes[i].host] = true;
    for (size_t u = 0; u < E->nu && n; u++) {
        E->u[u].ex_first = off;
        for (size_t i = 0; i < n; i++) {
            size_t vm = E->cons->excludes[i].vm;
            if (vm != SIZE_MAX && E->unit_of[vm] == u)
                E->ex[off++] = E->cons->excludes[i].host;
        }
        E->u[u].ex_count = off - E->u[u].ex_first;
    }
    return 0;
}

/* Anti-affinity: each unit lists the groups of its members; a group twice in one unit
 * means an affinity rule and an anti-affinity rule contradict each other. */
static int
apply_anti(struct engine *E)
{
    size_t total = 0;
    for (size_t g = 0; E->cons && g < E->cons->ngroups; g++)
        if (E->cons->groups[g].kind == PLAN_ANTI_AFFINITY) {
            E->nag++;
            total += E->cons->groups[g].nmembers;
        }
    E->ag = arena_alloc(E->a, (total ? total : 1) * sizeof(int));
    E->ag_name = arena_alloc(E->a, (E->nag ? E->nag : 1) * sizeof(char *));
    size_t *per = calloc(E->nu ? E->nu : 1, sizeof(size_t));
    if (!E->ag || !E->ag_name || !per) {
        free(per);
        return -1;
    }
    /* count, then place, so each unit's groups are contiguous */
    for (int pass = 0; pass < 2; pass++) {
        size_t gi = 0;
        for (size_t g = 0; E->cons && g < E->cons->ngroups; g++) {
            const struct plan_group *G = &E->cons->groups[g];
            if (G->kind != PLAN_ANTI_AFFINITY)
                continue;
            E->ag_name[gi] = G->name ? G->name : "?";
            for (size_t k = 0; k < G->nmembers; k++) {
                size_t u = E->unit_of[G->members[k]];
                if (u == SIZE_MAX)
                    continue;
                struct unit *U = &E->u[u];
                if (pass == 0) {
                    per[u]++;
                    continue;
                }
                for (size_t j = 0; j < U->ag_count; j++)
                    if (E->ag[U->ag_first + j] == (int)gi)
                        U->conflict = "an affinity rule and an anti-affinity rule contradict";
                E->ag[U->ag_first + U->ag_count++] = (int)gi;
            }
            gi++;
        }
        if (pass == 0)
            for (size_t u = 0, off = 0; u < E->nu; u++) {
                E->u[u].ag_first = off;
                off += per[u];
            }
    }
    free(per);
    return 0;
}

static int
class_of_key(struct engine *E, const char *key)
{
    for (size_t c = 0; c < E->ncls; c++)
        if (strcmp(E->cls_key[c], key) == 0)
            return (int)c;
    return -1;
}

/* One compatibility row per distinct EVC key, asked once per host. */
static int
apply_cpu_classes(struct engine *E)
{
    plan_cpu_compat_fn fn = E->cons && E->cons->cpu_compat ? E->cons->cpu_compat : NULL;
    bool any_model = false;
    for (size_t h = 0; h < E->m; h++)
        any_model |= E->hosts[h].cpu_model != NULL;
    if (!fn && !any_model)
        return 0; /* nothing to compare with: no CPU constraint */
    enum { MAX_CLASSES = 256 };
    E->cls_key = arena_alloc(E->a, MAX_CLASSES * sizeof(char *));
    if (!E->cls_key)
        return -1;
    for (size_t i = 0; i < E->nitems; i++) {
        const char *k = E->items[i].evc_key;
        if (!E->items[i].skip && k && *k && class_of_key(E, k) < 0 && E->ncls < MAX_CLASSES)
            E->cls_key[E->ncls++] = k;
    }
    E->compat = arena_alloc(E->a, E->ncls * E->m + 1);
    if (!E->compat)
        return -1;
    for (size_t c = 0; c < E->ncls; c++)
        for (size_t h = 0; h < E->m; h++) {
            const char *model = plan_evc_qemu_model(E->cls_key[c]);
            int rc = fn ? fn(E->cons->cpu_ctx, E->cls_key[c], model, &E->hosts[h], NULL, 0)
                        : plan_cpu_compat_hint(NULL, E->cls_key[c], model, &E->hosts[h], NULL, 0);
            E->compat[c * E->m + h] = (int8_t)(rc > 0 ? 1 : rc == 0 ? 0 : -1);
        }
    /* a unit takes the class of its first member with a key; members with other keys
     * are rare (affinity across CPU generations) and share that class's verdict */
    for (size_t u = 0; u < E->nu; u++)
        for (size_t k = 0; k < E->u[u].count && E->u[u].cls < 0; k++) {
            const char *key = E->items[E->members[E->u[u].first + k]].evc_key;
            if (key && *key)
                E->u[u].cls = class_of_key(E, key);
        }
    return 0;
}

/* A VM's draw on its tenant's budget: the caller's figures, or the item's demand. */
static void
vm_draw(const struct engine *E, size_t i, double *d)
{
    const double *bd = E->cons->budget_demand;
    if (bd) {
        memcpy(d, &bd[i * PLAN_NBUDGET], PLAN_NBUDGET * sizeof(double));
        return;
    }
    d[PLAN_BUDGET_VMS] = 1;
    d[PLAN_BUDGET_VCPUS] = E->items[i].d[PLAN_DIM_CPU];
    d[PLAN_BUDGET_MEMORY_MIB] = E->items[i].d[PLAN_DIM_MEM];
    d[PLAN_BUDGET_DISK_GIB] = E->items[i].d[PLAN_DIM_DISK];
}

/* Budgets' figures are valid and no VM is in two budgets; owner[i]: its budget. */
static int
budgets_valid(const struct engine *E, size_t *owner, err *e)
{
    const struct plan_constraints *c = E->cons;
    for (size_t i = 0; i < E->nitems; i++)
        owner[i] = SIZE_MAX;
    for (size_t b = 0; b < c->nbudgets; b++) {
        const struct plan_budget *B = &c->budgets[b];
        for (int k = 0; k < PLAN_NBUDGET; k++)
            if (isnan(B->remaining[k]))
                return err_set(e, ERR_INVALID, "budget '%s' has an invalid figure",
                               B->name ? B->name : "?");
        for (size_t j = 0; j < B->nmembers; j++) {
            size_t i = B->members[j];
            if (i >= E->nitems || (owner[i] != SIZE_MAX && owner[i] != b))
                return err_set(e, ERR_INVALID,
                               "budget '%s' names a VM that does not exist or has a budget",
                               B->name ? B->name : "?");
            owner[i] = b;
        }
    }
    for (size_t i = 0; c->budget_demand && i < E->nitems * PLAN_NBUDGET; i++)
        if (!(c->budget_demand[i] >= 0) || !isfinite(c->budget_demand[i]))
            return err_set(e, ERR_INVALID, "VM %zu has an invalid budget demand", i / PLAN_NBUDGET);
    return 0;
}

/* Adds item i's draw to unit U's draws (merged per budget). */
static void
add_draw(struct engine *E, struct unit *U, size_t b, size_t i)
{
    double d[PLAN_NBUDGET];
    vm_draw(E, i, d);
    struct budget_draw *w = NULL;
    for (size_t k = 0; k < U->bt_count && !w; k++)
        if (E->bt[U->bt_first + k].b == b)
            w = &E->bt[U->bt_first + k];
    if (!w) {
        w = &E->bt[U->bt_first + U->bt_count++];
        memset(w, 0, sizeof(*w));
        w->b = b;
    }
    for (int k = 0; k < PLAN_NBUDGET; k++)
        w->d[k] += d[k];
}

/* Tenant budgets: what each unit draws from each budget that limits something. */
static int
apply_budgets(struct engine *E, err *e)
{
    size_t nb = E->cons ? E->cons->nbudgets : 0;
    if (!nb)
        return 0;
    size_t *owner = malloc((E->nitems ? E->nitems : 1) * sizeof(size_t));
    if (!owner)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (budgets_valid(E, owner, e) < 0) {
        free(owner);
        return -1;
    }
    E->nb = nb;
    E->brem = arena_alloc(E->a, nb * PLAN_NBUDGET * sizeof(double));
    E->bt = arena_alloc(E->a, (E->nitems ? E->nitems : 1) * sizeof(*E->bt));
    bool *limited = calloc(nb, sizeof(bool));
    if (!E->brem || !E->bt || !limited) {
        free(owner);
        free(limited);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    for (size_t b = 0; b < nb; b++)
        for (int k = 0; k < PLAN_NBUDGET; k++) {
            double r = E->cons->budgets[b].remaining[k];
            E->brem[b * PLAN_NBUDGET + k] = r < 0 ? INFINITY : r;
            limited[b] |= r >= 0;
        }
    size_t off = 0; /* at most one draw per member */
    for (size_t u = 0; u < E->nu; u++) {
        struct unit *U = &E->u[u];
        U->bt_first = off;
        for (size_t k = 0; k < U->count; k++) {
            size_t i = E->members[U->first + k];
            if (owner[i] != SIZE_MAX && limited[owner[i]])
                add_draw(E, U, owner[i], i);
        }
        off += U->bt_count;
    }
    free(owner);
    free(limited);
    return 0;
}

static int
apply_capacities(struct engine *E)
{
    E->cap = arena_alloc(E->a, (E->m ? E->m : 1) * PLAN_NDIM * sizeof(double));
    if (!E->cap)
        return -1;
    double sumcap[PLAN_NDIM] = {0}, demand[PLAN_NDIM] = {0};
    size_t finite[PLAN_NDIM] = {0};
    for (size_t h = 0; h < E->m; h++)
        for (int d = 0; d < PLAN_NDIM; d++) {
            double c = plan_host_capacity(&E->hosts[h], d, E->opts);
            E->cap[h * PLAN_NDIM + d] = c;
            if (isfinite(c) && !E->host_off[h]) {
                sumcap[d] += c;
                finite[d]++;
            }
        }
    for (size_t u = 0; u < E->nu; u++)
        for (int d = 0; d < PLAN_NDIM; d++)
            demand[d] += E->u[u].d[d];
    for (int d = 0; d < PLAN_NDIM; d++) {
        E->meancap[d] = finite[d] ? sumcap[d] / (double)finite[d] : 0;
        E->weight[d] = sumcap[d] > 0 ? demand[d] / sumcap[d] : 0;
    }
    for (size_t u = 0; u < E->nu; u++) {
        struct unit *U = &E->u[u];
        U->size = 0;
        for (int d = 0; d < PLAN_NDIM; d++)
            if (E->meancap[d] > 0)
                U->size += U->d[d] / E->meancap[d];
        U->constrained = U->pin >= 0 || U->ex_count || U->cls >= 0 || U->ag_count;
    }
    return 0;
}

int
engine_build(struct engine *E, const struct plan_item *items, size_t nitems,
             const struct plan_host *hosts, size_t m, const struct plan_constraints *cons,
             const struct plan_place_opts *opts, struct arena *a, err *e)
{
    memset(E, 0, sizeof(*E));
    E->items = items;
    E->nitems = nitems;
    E->hosts = hosts;
    E->m = m;
    E->opts = opts;
    E->cons = cons;
    E->a = a;
    if (validate(items, nitems, hosts, m, cons, opts, e) < 0)
        return -1;
    size_t *root = affinity_roots(E);
    if (!root || build_units(E, root) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    apply_pins(E);
    if (apply_excludes(E) < 0 || apply_anti(E) < 0 || apply_cpu_classes(E) < 0 ||
        apply_capacities(E) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (apply_budgets(E, e) < 0)
        return -1;
    E->words = (m + 63) / 64;
    return 0;
}

/* ---------------------------------------------------------------- state */

int
pstate_init(const struct engine *E, struct pstate *S)
{
    memset(S, 0, sizeof(*S));
    S->used = arena_alloc(E->a, (E->m ? E->m : 1) * PLAN_NDIM * sizeof(double));
    S->host_of = arena_alloc(E->a, (E->nu ? E->nu : 1) * sizeof(int));
    S->ag_bits = arena_alloc(E->a, (E->nag * E->words + 1) * sizeof(uint64_t));
    S->count = arena_alloc(E->a, (E->m ? E->m : 1) * sizeof(size_t));
    S->bused = arena_alloc(E->a, (E->nb * PLAN_NBUDGET + 1) * sizeof(double));
    if (!S->used || !S->host_of || !S->ag_bits || !S->count || !S->bused)
        return -1;
    for (size_t u = 0; u < E->nu; u++)
        S->host_of[u] = -1;
    return 0;
}

void
pstate_copy(const struct engine *E, struct pstate *dst, const struct pstate *src)
{
    memcpy(dst->used, src->used, E->m * PLAN_NDIM * sizeof(double));
    memcpy(dst->host_of, src->host_of, E->nu * sizeof(int));
    memcpy(dst->ag_bits, src->ag_bits, E->nag * E->words * sizeof(uint64_t));
    memcpy(dst->count, src->count, E->m * sizeof(size_t));
    memcpy(dst->bused, src->bused, E->nb * PLAN_NBUDGET * sizeof(double));
    dst->hosts_used = src->hosts_used;
    dst->placed = src->placed;
}

bool
unit_fits_empty(const struct engine *E, size_t u, size_t h)
{
    static const double zero[PLAN_NDIM];
    return fits_dims(E, zero, u, h) && unit_eligible(E, NULL, u, h);
}

void
unit_put(const struct engine *E, struct pstate *S, size_t u, size_t h)
{
    for (int d = 0; d < PLAN_NDIM; d++)
        S->used[h * PLAN_NDIM + d] += E->u[u].d[d];
    for (size_t i = 0; i < E->u[u].ag_count; i++) {
        size_t g = (size_t)E->ag[E->u[u].ag_first + i];
        S->ag_bits[g * E->words + h / 64] |= (uint64_t)1 << (h % 64);
    }
    for (size_t i = 0; i < E->u[u].bt_count; i++) {
        const struct budget_draw *w = &E->bt[E->u[u].bt_first + i];
        for (int k = 0; k < PLAN_NBUDGET; k++)
            S->bused[w->b * PLAN_NBUDGET + k] += w->d[k];
    }
    S->host_of[u] = (int)h;
    if (S->count[h]++ == 0)
        S->hosts_used++;
    S->placed++;
}

void
unit_take(const struct engine *E, struct pstate *S, size_t u)
{
    size_t h = (size_t)S->host_of[u];
    for (int d = 0; d < PLAN_NDIM; d++) {
        S->used[h * PLAN_NDIM + d] -= E->u[u].d[d];
        if (S->used[h * PLAN_NDIM + d] < 0)
            S->used[h * PLAN_NDIM + d] = 0;
    }
    /* a group has at most one member per host, so this host no longer holds the group */
    for (size_t i = 0; i < E->u[u].ag_count; i++) {
        size_t g = (size_t)E->ag[E->u[u].ag_first + i];
        S->ag_bits[g * E->words + h / 64] &= ~((uint64_t)1 << (h % 64));
    }
    for (size_t i = 0; i < E->u[u].bt_count; i++) {
        const struct budget_draw *w = &E->bt[E->u[u].bt_first + i];
        for (int k = 0; k < PLAN_NBUDGET; k++) {
            double *x = &S->bused[w->b * PLAN_NBUDGET + k];
            *x = *x - w->d[k] > 0 ? *x - w->d[k] : 0;
        }
    }
    S->host_of[u] = -1;
    if (--S->count[h] == 0)
        S->hosts_used--;
    S->placed--;
}
