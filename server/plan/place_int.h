/* Placement internals shared by place.c (engine, heuristics), bound.c (lower bound,
 * sizing) and reasons.c (why a VM was not placed).
 *
 * VMs tied by affinity are merged into one "unit" (they must share a host), so every
 * heuristic packs units. A unit carries its summed demand, its pin, its excluded hosts,
 * its CPU-compatibility class and the anti-affinity groups of its members. */
#ifndef VP_PLAN_PLACE_INT_H
#define VP_PLAN_PLACE_INT_H

#include "plan_int.h"

struct unit {
    double d[PLAN_NDIM];
    double size;               /* Σ d / mean capacity: the sort key */
    size_t first, count;       /* members: E->members[first .. first+count) (item indices) */
    int pin;                   /* host index, -1 none */
    size_t ex_first, ex_count; /* excluded hosts: E->ex[...] */
    int cls;                   /* CPU class: E->compat row, -1 unconstrained */
    size_t ag_first, ag_count; /* anti-affinity groups: E->ag[...] */
    size_t bt_first, bt_count; /* tenant budgets it draws on: E->bt[...] (limited ones only) */
    bool constrained;          /* pin, excludes, class or groups: check eligibility */
    const char *conflict;      /* internal conflict: never placeable (static text) */
};

struct engine {
    const struct plan_item *items;
    size_t nitems;
    const struct plan_host *hosts;
    size_t m;
    const struct plan_place_opts *opts;
    const struct plan_constraints *cons;
    struct arena *a;
    struct unit *u;
    size_t nu;
    size_t *unit_of; /* item → unit, SIZE_MAX skipped */
    size_t *members, *ex;
    int *ag;
    size_t nag; /* anti-affinity groups (engine numbering) */
    const char **ag_name;
    double *cap;    /* m × PLAN_NDIM effective capacity; INFINITY = unconstrained */
    bool *host_off; /* excluded for every VM */
    int8_t *compat; /* ncls × m: 1 yes, 0 no, -1 unknown */
    const char **cls_key;
    size_t ncls;
    double meancap[PLAN_NDIM]; /* mean finite capacity per dimension (0 if none) */
    double weight[PLAN_NDIM];  /* Σ demand / Σ capacity per dimension */
    size_t words;              /* 64-bit words per anti-affinity bitset */
    /* tenant budgets: nb budgets, brem[nb × PLAN_NBUDGET] what each has left (INFINITY:
     * unlimited); a unit's draw on them is E->bt[u.bt_first .. +bt_count) */
    size_t nb;
    double *brem;
    struct budget_draw *bt;
};

/* What one unit takes from one tenant's budget. */
struct budget_draw {
    size_t b;
    double d[PLAN_NBUDGET];
};

#define EPS_REL 1e-9

struct pstate {
    double *used;      /* m × PLAN_NDIM */
    int *host_of;      /* per unit: host or -1 */
    uint64_t *ag_bits; /* nag × words: host holds a member of the group */
    size_t *count;     /* units per host */
    double *bused;     /* nb × PLAN_NBUDGET: budget drawn by the placed units */
    size_t hosts_used, placed;
};

/* Builds the engine: units, classes, capacities. -1 with err (invalid input, OOM). */
int engine_build(struct engine *E, const struct plan_item *items, size_t nitems,
                 const struct plan_host *hosts, size_t m, const struct plan_constraints *cons,
                 const struct plan_place_opts *opts, struct arena *a, err *e);

/* An empty placement (arrays in E->a). 0 / -1 OOM. */
int pstate_init(const struct engine *E, struct pstate *S);
/* dst := src (both from pstate_init on the same engine). */
void pstate_copy(const struct engine *E, struct pstate *dst, const struct pstate *src);
/* Would unit u fit host h if h were empty (capacity and static rules)? */
bool unit_fits_empty(const struct engine *E, size_t u, size_t h);
/* Places unit u on host h / removes it from its host; the caller checked unit_fits. */
void unit_put(const struct engine *E, struct pstate *S, size_t u, size_t h);
void unit_take(const struct engine *E, struct pstate *S, size_t u);

_Static_assert(PLAN_NDIM == 3, "fits_dims() unrolls three dimensions");

/* fmax/fmin without the libm call (no NaN reaches the planner: inputs are validated). */
static inline double
dmax(double a, double b)
{
    return a > b ? a : b;
}

static inline double
dmin(double a, double b)
{
    return a < b ? a : b;
}

/* The hot checks, inline: every heuristic calls them millions of times. */
static inline bool
ag_has(const struct engine *E, const struct pstate *S, size_t g, size_t h)
{
    return (S->ag_bits[g * E->words + h / 64] >> (h % 64)) & 1;
}

/* Pins, exclusions, CPU class and anti-affinity (S may be NULL: an empty host). */
static inline bool
unit_eligible(const struct engine *E, const struct pstate *S, size_t u, size_t h)
{
    const struct unit *U = &E->u[u];
    if (E->host_off[h] || U->conflict)
        return false;
    if (!U->constrained)
        return true;
    if (U->pin >= 0 && (size_t)U->pin != h)
        return false;
    for (size_t i = 0; i < U->ex_count; i++)
        if (E->ex[U->ex_first + i] == h)
            return false;
    if (U->cls >= 0 && E->compat[(size_t)U->cls * E->m + h] == 0)
        return false;
    for (size_t i = 0; S && i < U->ag_count; i++)
        if (ag_has(E, S, (size_t)E->ag[U->ag_first + i], h))
            return false;
    return true;
}

static inline bool
fits_dims(const struct engine *E, const double *used, size_t u, size_t h)
{
    const double *cap = &E->cap[h * PLAN_NDIM], *x = E->u[u].d;
    return used[0] + x[0] <= cap[0] * (1 + EPS_REL) && used[1] + x[1] <= cap[1] * (1 + EPS_REL) &&
           used[2] + x[2] <= cap[2] * (1 + EPS_REL);
}

/* Budget tolerance: the figures are whole numbers or sums of a few doubles. */
static inline bool
budget_over(double used, double d, double rem)
{
    return used + d > rem + 1e-9 * (rem > 1 ? rem : 1);
}

/* Does unit u fit its tenants' budgets now (host-independent)? */
static inline bool
unit_budget_ok(const struct engine *E, const struct pstate *S, size_t u)
{
    const struct unit *U = &E->u[u];
    for (size_t i = 0; i < U->bt_count; i++) {
        const struct budget_draw *w = &E->bt[U->bt_first + i];
        const double *rem = &E->brem[w->b * PLAN_NBUDGET], *used = &S->bused[w->b * PLAN_NBUDGET];
        for (int k = 0; k < PLAN_NBUDGET; k++)
            if (budget_over(used[k], w->d[k], rem[k]))
                return false;
    }
    return true;
}

/* Does unit u fit host h now: capacity in every dimension, every rule, its budgets. */
static inline bool
unit_fits(const struct engine *E, const struct pstate *S, size_t u, size_t h)
{
    return fits_dims(E, &S->used[h * PLAN_NDIM], u, h) && unit_eligible(E, S, u, h) &&
           (!E->u[u].bt_count || unit_budget_ok(E, S, u));
}

/* Lower bound over units that fit some host on their own. S (may be NULL): a final
 * placement whose budget-refused units (unit_budget_ok false) are left out too. */
void bound_compute(const struct engine *E, const struct pstate *S, struct plan_lower_bound *out);

/* Fills p->unplaced for every unit left unplaced in S. 0 / -1 (OOM). */
int reasons_build(const struct engine *E, const struct pstate *S, struct plan_placement *p);

#endif
