/* Why a VM was not placed, the way Nova's scheduler says it: each filter in turn, with
 * how many hosts it left ("RamFilter: (start: 9, end: 1)"), then the nearest host among
 * those the non-capacity filters kept, with its binding dimension and the shortfall in
 * units ("host3: memory short 12.3 GiB after 1.5× overcommit and 10% headroom"). */
#include "place_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { F_EXCLUDED, F_PINNED, F_CPU, F_ANTI, F_CORE, F_RAM, F_DISK, F_COUNT };

static const char *const filter_names[F_COUNT] = {
    "ExcludedHostFilter", "PinnedHostFilter", "CpuModelFilter", "AntiAffinityFilter",
    "CoreFilter",         "RamFilter",        "DiskFilter",
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

static const char *
reason_text(const struct engine *E, size_t u, const struct plan_unplaced *r)
{
    const struct unit *U = &E->u[u];
    if (U->conflict)
        return arena_printf(E->a, "unplaceable: %s", U->conflict);
    if (!r->nearest_host) {
        const char *why = "every host";
        for (size_t i = 0; i < r->nfilters; i++)
            if (r->filters[i].end == 0) {
                why = r->filters[i].filter;
                break;
            }
        return arena_printf(E->a, "no eligible host: %s removed the last of %zu hosts", why,
                            r->filters[0].start);
    }
    if (r->binding_dim < 0)
        return arena_printf(E->a, "%s: fits, but was left out by the heuristic", r->nearest_host);
    char amount[48], policy[80];
    plan_fmt_amount(amount, sizeof(amount), r->binding_dim, r->shortfall);
    policy_text(E, r->binding_dim, policy, sizeof(policy));
    return arena_printf(E->a, "%s: %s short %s%s", r->nearest_host, plan_dim_name(r->binding_dim),
                        amount, policy);
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
        if (start != alive || f >= F_CORE || f == F_EXCLUDED)
            r->filters[r->nfilters++] = (struct plan_filter_count){filter_names[f], start, alive};
    }
    r->binding_dim = -1;
    size_t h = nearest(E, S, u, kept, &r->binding_dim, &r->shortfall);
    r->nearest_host = h == SIZE_MAX ? NULL : E->hosts[h].name;
    r->reason = reason_text(E, u, r);
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
