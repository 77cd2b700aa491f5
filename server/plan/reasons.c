/* Why a VM was not placed, the way Nova's scheduler says it: each filter in turn, with
 * how many hosts it left ("RamFilter: (start: 9, end: 1)"), then the nearest host among
 * those the non-capacity filters kept, with its binding dimension and the shortfall in
 * units ("host3: memory short 12.3 GiB after 1.5× overcommit and 10% headroom").
 * Tenant budgets come last (TenantBudgetFilter: a budget refuses a VM on every host at
 * once); a VM its budget refuses gets the budget's binding resource and shortfall
 * ("tenant 7: vcpus short by 4 (needs 8, 4 left after the VMs placed)"). */
#include "place_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { F_EXCLUDED, F_PINNED, F_CPU, F_ANTI, F_CORE, F_RAM, F_DISK, F_BUDGET, F_COUNT };

static const char *const filter_names[F_COUNT] = {
    "ExcludedHostFilter", "PinnedHostFilter", "CpuModelFilter", "AntiAffinityFilter",
    "CoreFilter",         "RamFilter",        "DiskFilter",     "TenantBudgetFilter",
};

/* plan_unplaced.constraint of the filter that removed the last host. */
static const char *const filter_constraint[F_COUNT] = {
    "excluded", "pinned",   "cpu_model", "anti_affinity",
    "capacity", "capacity", "capacity",  "tenant_budget",
};

static bool
excluded(const struct engine *E, const struct unit *U, size_t h)
{
    if (E->host_off[h])
        return true;
    for (size_t i = 0; i < U->ex_count; i++)
        if (E->ex[U->ex_first + i] == h)
            return true;
    return false;
}

static bool
anti_blocked(const struct engine *E, const struct pstate *S, const struct unit *U, size_t h)
{
    for (size_t i = 0; i < U->ag_count; i++)
        if (ag_has(E, S, (size_t)E->ag[U->ag_first + i], h))
            return true;
    return false;
}

/* Does host h pass filter f for unit u (given the final placement S)? */
static bool
passes(const struct engine *E, const struct pstate *S, size_t u, size_t h, int f)
{
    const struct unit *U = &E->u[u];
    const double *cap = &E->cap[h * PLAN_NDIM], *used = &S->used[h * PLAN_NDIM];
    switch (f) {
    case F_EXCLUDED:
        return !excluded(E, U, h);
    case F_PINNED:
        return U->pin < 0 || (size_t)U->pin == h;
    case F_CPU:
        return U->cls < 0 || E->compat[(size_t)U->cls * E->m + h] != 0;
    case F_ANTI:
        return !anti_blocked(E, S, U, h);
    case F_BUDGET:
        return S->host_of[u] >= 0 || unit_budget_ok(E, S, u);
    default: {
        int d = f - F_CORE;
        return used[d] + U->d[d] <= cap[d] * (1 + EPS_REL);
    }
    }
}

/* "after 1.5× overcommit and 10% headroom", or "" when neither applies. */
static void
policy_text(const struct engine *E, int d, char *buf, size_t n)
{
    double oc = E->opts->overcommit[d] > 0 ? E->opts->overcommit[d] : 1.0;
    double head = E->opts->headroom * 100;
    if (oc != 1.0 && head > 0)
        snprintf(buf, n, " after %.3g× overcommit and %.3g%% headroom", oc, head);
    else if (oc != 1.0)
        snprintf(buf, n, " after %.3g× overcommit", oc);
    else if (head > 0)
        snprintf(buf, n, " after %.3g%% headroom", head);
    else
        buf[0] = '\0';
}

/* Among hosts kept by the non-capacity filters, the one needing the least extra room
 * (normalised by its capacity); *dim receives its binding dimension. */
static size_t
nearest(const struct engine *E, const struct pstate *S, size_t u, const bool *kept, int *dim,
        double *shortfall)
{
    size_t best = SIZE_MAX;
    double bscore = INFINITY;
    for (size_t h = 0; h < E->m; h++) {
        if (!kept[h])
            continue;
        double total = 0, worst = -1, worst_abs = 0;
        int wd = -1;
        for (int d = 0; d < PLAN_NDIM; d++) {
            double cap = E->cap[h * PLAN_NDIM + d];
            double shortd = S->used[h * PLAN_NDIM + d] + E->u[u].d[d] - cap;
            if (!isfinite(cap) || shortd <= cap * EPS_REL)
                continue;
            double norm = cap > 0 ? shortd / cap : INFINITY;
            total += norm;
            if (norm > worst) {
                worst = norm;
                wd = d;
                worst_abs = shortd;
            }
        }
        if (total < bscore) {
            bscore = total;
            best = h;
            *dim = wd;
            *shortfall = worst_abs;
        }
    }
    return best;
}

/* Why nothing took it, capacity and host rules only; sets r->constraint. */
static const char *
host_text(const struct engine *E, struct plan_unplaced *r)
{
    if (!r->nearest_host) {
        const char *why = "every host";
        r->constraint = "capacity";
        for (size_t i = 0; i < r->nfilters; i++)
            if (r->filters[i].end == 0) {
                why = r->filters[i].filter;
                for (int f = 0; f < F_COUNT; f++)
                    if (!strcmp(why, filter_names[f]))
                        r->constraint = filter_constraint[f];
                break;
            }
        return arena_printf(E->a, "no eligible host: %s removed the last of %zu hosts", why,
                            r->filters[0].start);
    }
    if (r->binding_dim < 0) {
        r->constraint = "heuristic";
        return arena_printf(E->a, "%s: fits, but was left out by the heuristic", r->nearest_host);
    }
    char amount[48], policy[80];
    r->constraint = "capacity";
    plan_fmt_amount(amount, sizeof(amount), r->binding_dim, r->shortfall);
    policy_text(E, r->binding_dim, policy, sizeof(policy));
    return arena_printf(E->a, "%s: %s short %s%s", r->nearest_host, plan_dim_name(r->binding_dim),
                        amount, policy);
}

/* A budget figure: whole numbers without decimals. */
static void
fmt_figure(char *buf, size_t n, double v)
{
    snprintf(buf, n, fabs(v - round(v)) < 1e-9 ? "%.0f" : "%.2f", v);
}

/* "tenant 7: vcpus short by 4 (needs 8, 4 left after the VMs placed)", and when no
 * host had room either, the capacity reason after it. */
static const char *
budget_text(const struct engine *E, double need, struct plan_unplaced *r)
{
    const char *host = host_text(E, r);
    bool also = !r->nearest_host || r->binding_dim >= 0;
    char sh[32], nd[32], left[32];
    fmt_figure(sh, sizeof(sh), r->budget_short);
    fmt_figure(nd, sizeof(nd), need);
    fmt_figure(left, sizeof(left), r->budget_left);
    r->constraint = "tenant_budget";
    return host ? arena_printf(E->a,
                               "%s: %s short by %s (needs %s, %s left after the VMs placed)%s%s",
                               r->tenant, plan_budget_dim_name(r->budget_dim), sh, nd, left,
                               also ? "; also " : "", also ? host : "")
                : NULL;
}

/* The budget that refuses unit u in S and its binding resource: the one with the largest
 * shortfall relative to what the unit asks (first on ties). budget_dim -1: none. */
static double
budget_binding(const struct engine *E, const struct pstate *S, size_t u, struct plan_unplaced *r)
{
    const struct unit *U = &E->u[u];
    double worst = 0, need = 0;
    r->budget_dim = -1;
    for (size_t i = 0; S->host_of[u] < 0 && i < U->bt_count; i++) {
        const struct budget_draw *w = &E->bt[U->bt_first + i];
        const double *rem = &E->brem[w->b * PLAN_NBUDGET], *used = &S->bused[w->b * PLAN_NBUDGET];
        for (int k = 0; k < PLAN_NBUDGET; k++) {
            if (!budget_over(used[k], w->d[k], rem[k]))
                continue;
            double sh = used[k] + w->d[k] - rem[k], rel = w->d[k] > 0 ? sh / w->d[k] : INFINITY;
            if (r->budget_dim < 0 || rel > worst) {
                worst = rel;
                r->budget_dim = k;
                r->budget_short = sh;
                need = w->d[k];
                r->budget_left = rem[k] - used[k] > 0 ? rem[k] - used[k] : 0;
                r->tenant = E->cons->budgets[w->b].name ? E->cons->budgets[w->b].name : "?";
            }
        }
    }
    return need;
}

static const char *
reason_text(const struct engine *E, const struct pstate *S, size_t u, struct plan_unplaced *r)
{
    const struct unit *U = &E->u[u];
    if (U->conflict) {
        r->constraint = "conflict";
        return arena_printf(E->a, "unplaceable: %s", U->conflict);
    }
    double need = budget_binding(E, S, u, r);
    return r->budget_dim >= 0 ? budget_text(E, need, r) : host_text(E, r);
}

static int
explain(const struct engine *E, const struct pstate *S, size_t u, struct plan_unplaced *r,
        bool *kept)
{
    size_t alive = 0;
    for (size_t h = 0; h < E->m; h++) {
        kept[h] = true;
        alive++;
    }
    bool *cap_kept = kept + E->m; /* second half: survivors of every filter */
    for (int f = 0; f < F_COUNT; f++) {
        size_t start = alive;
        for (size_t h = 0; h < E->m; h++) {
            bool *k = f < F_CORE ? &kept[h] : &cap_kept[h];
            if (f == F_CORE)
                cap_kept[h] = kept[h];
            if (*k && !passes(E, S, u, h, f)) {
                *k = false;
                alive--;
            }
        }
        bool shown = start != alive || f >= F_CORE || f == F_EXCLUDED;
        if (shown && (f != F_BUDGET || E->u[u].bt_count))
            r->filters[r->nfilters++] = (struct plan_filter_count){filter_names[f], start, alive};
    }
    r->binding_dim = -1;
    r->budget_dim = -1;
    size_t h = nearest(E, S, u, kept, &r->binding_dim, &r->shortfall);
    r->nearest_host = h == SIZE_MAX ? NULL : E->hosts[h].name;
    r->reason = reason_text(E, S, u, r);
    return r->reason ? 0 : -1;
}

int
reasons_build(const struct engine *E, const struct pstate *S, struct plan_placement *p)
{
    size_t n = 0;
    for (size_t i = 0; i < E->nitems; i++)
        n += E->unit_of[i] != SIZE_MAX && S->host_of[E->unit_of[i]] < 0;
    p->unplaced = arena_alloc(E->a, (n ? n : 1) * sizeof(*p->unplaced));
    bool *kept = arena_alloc(E->a, (E->m ? E->m : 1) * 2 * sizeof(bool));
    if (!p->unplaced || !kept)
        return -1;
    /* one explanation per unit, copied to each of its VMs */
    for (size_t i = 0; i < E->nitems; i++) {
        size_t u = E->unit_of[i];
        if (u == SIZE_MAX || S->host_of[u] >= 0)
            continue;
        struct plan_unplaced *r = &p->unplaced[p->nunplaced++];
        size_t first = E->members[E->u[u].first];
        if (first != i) {
            for (size_t k = 0; k + 1 < p->nunplaced; k++)
                if (p->unplaced[k].vm == first) {
                    *r = p->unplaced[k];
                    break;
                }
            r->vm = i;
            continue;
        }
        r->vm = i;
        if (explain(E, S, u, r, kept) < 0)
            return -1;
    }
    return 0;
}
