/* Lower bound on the hosts a plan needs, and sizing ("how many hosts of shape X").
 *
 * The bound is the largest of:
 *   volume   per dimension, the smallest k such that the k largest hosts hold the
 *            demand (⌈Σ demand / capacity⌉ for identical hosts);
 *   L2       Martello–Toth's L2 per dimension, computed with the largest host's capacity
 *            (enlarging every host to the largest only lowers the optimum, so it stays a
 *            bound for mixed hosts), tightened with Fekete–Schepers dual feasible
 *            functions: ⌈Σ u⁽ᵏ⁾(U⁽ᵉ⁾(x))⌉ over k and ε (2001, "New classes of fast lower
 *            bounds for bin packing problems");
 *   anti     the largest anti-affinity group (its members need distinct hosts);
 *   pinned   the distinct hosts pinned VMs occupy.
 * Only units that fit some host on their own count: the others cannot be placed at all;
 * nor, in a plan's bound, units its tenant budgets refused (the bound is for the VMs the
 * budgets admit).
 * Comparisons lean the safe way (a bound must never exceed the optimum). */
#include "place_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* First index in sorted w[0..n) with w[i] > v (strictly). */
static size_t
upper(const double *w, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid] > v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First index with w[i] >= v. */
static size_t
lower(const double *w, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Martello–Toth L2 for one dimension: w sorted ascending, all ≤ C. */
static size_t
l2_bound(const double *w, size_t n, double C)
{
    if (!n || !(C > 0) || !isfinite(C))
        return 0;
    double *pre = malloc((n + 1) * sizeof(double));
    if (!pre)
        return 0;
    pre[0] = 0;
    for (size_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + w[i];
    double half = C / 2 * (1 + 1e-9); /* "> C/2" only when clearly so */
    size_t best = 0, i2 = upper(w, n, half);
    for (size_t k = 0; k <= n; k++) {
        double K = k == 0 ? 0 : w[k - 1];
        if (k > 0 && (K > C / 2 || (k > 1 && w[k - 2] == K)))
            continue; /* K ranges over 0 and the distinct sizes ≤ C/2 */
        size_t i1 = upper(w, n, (C - K) * (1 + 1e-9));
        if (i1 < i2)
            i1 = i2;
        size_t n1 = n - i1, n2 = i1 - i2, i3 = lower(w, n, K);
        double sum2 = pre[i1] - pre[i2], sum3 = i3 < i2 ? pre[i2] - pre[i3] : 0;
        double extra = (sum3 - ((double)n2 * C - sum2)) / C;
        size_t L = n1 + n2 + (extra > 1e-9 ? (size_t)ceil(extra - 1e-9) : 0);
        if (L > best)
            best = L;
    }
    free(pre);
    return best;
}

/* Dual feasible functions on sizes x in [0, 1]. Near a threshold we take whichever side
 * gives the smaller value: rounding must never raise a bound. */
static double
dff_u(double x, int k)
{
    double y = (k + 1) * x, r = round(y);
    double frac = floor(y - 1e-9) / k; /* the non-integer branch, rounded down */
    if (fabs(y - r) < 1e-9)
        return fmin(x, frac);
    return floor(y) / k;
}

static double
dff_big(double x, double eps)
{
    if (x > 1 - eps + 1e-9)
        return 1;
    if (x < eps - 1e-9)
        return 0;
    return x;
}

/* max over k = 1..K and ε of ⌈Σ u_k(U_ε(x))⌉; x sorted ascending, normalised to the host. */
static size_t
dff_bound(const double *x, size_t n)
{
    enum { K = 12, EPS_MAX = 48 };
    double eps[EPS_MAX + 1];
    size_t ne = 0;
    eps[ne++] = 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n && x[i] <= 0.5; i++)
        distinct += i == 0 || x[i] != x[i - 1];
    size_t step = distinct / EPS_MAX + 1, seen = 0;
    for (size_t i = 0; i < n && x[i] <= 0.5 && ne <= EPS_MAX; i++)
        if ((i == 0 || x[i] != x[i - 1]) && seen++ % step == 0 && x[i] > 0)
            eps[ne++] = x[i];
    size_t best = 0;
    for (size_t e = 0; e < ne; e++)
        for (int k = 1; k <= K; k++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += dff_u(dff_big(x[i], eps[e]), k);
            size_t b = sum > 1e-9 ? (size_t)ceil(sum - 1e-7) : 0;
            best = b > best ? b : best;
        }
    return best;
}

static bool
placeable(const struct engine *E, size_t u)
{
    if (E->u[u].conflict)
        return false;
    if (E->u[u].pin >= 0)
        return unit_fits_empty(E, u, (size_t)E->u[u].pin);
    for (size_t h = 0; h < E->m; h++)
        if (unit_fits_empty(E, u, h))
            return true;
    return false;
}

/* Smallest k such that the k largest capacities hold `demand` (all hosts if never). */
static size_t
volume_bound(const double *caps, size_t m, double demand)
{
    if (demand <= 0)
        return 0;
    double sum = 0;
    for (size_t k = 0; k < m; k++) {
        if (!isfinite(caps[k]))
            return k + 1;
        sum += caps[k] * (1 + EPS_REL);
        if (sum >= demand)
            return k + 1;
    }
    return m;
}

static void
bound_dimension(const struct engine *E, const bool *ok, int d, struct plan_lower_bound *out)
{
    double *caps = malloc((E->m ? E->m : 1) * sizeof(double));
    double *w = malloc((E->nu ? E->nu : 1) * sizeof(double));
    if (!caps || !w)
        goto out;
    size_t m = 0, n = 0;
    double demand = 0, cmax = 0;
    bool unbounded = false;
    for (size_t h = 0; h < E->m; h++) {
        if (E->host_off[h])
            continue;
        double c = E->cap[h * PLAN_NDIM + d];
        caps[m++] = -c; /* sort descending through the ascending comparator */
        unbounded |= !isfinite(c);
        if (isfinite(c))
            cmax = fmax(cmax, c);
    }
    for (size_t u = 0; u < E->nu; u++)
        if (ok[u]) {
            w[n++] = E->u[u].d[d];
            demand += E->u[u].d[d];
        }
    qsort(caps, m, sizeof(double), cmp_double_asc);
    for (size_t i = 0; i < m; i++)
        caps[i] = -caps[i];
    out->volume[d] = volume_bound(caps, m, demand);
    qsort(w, n, sizeof(double), cmp_double_asc);
    out->l2[d] = unbounded ? 0 : l2_bound(w, n, cmax * (1 + EPS_REL));
    if (!unbounded && cmax > 0 && n <= 20000) { /* O(n · 12 · 48): skipped when huge */
        for (size_t i = 0; i < n; i++)
            w[i] /= cmax * (1 + EPS_REL);
        size_t f = dff_bound(w, n);
        out->l2[d] = f > out->l2[d] ? f : out->l2[d];
    }
out:
    free(caps);
    free(w);
}

static void
bound_groups(const struct engine *E, const bool *ok, struct plan_lower_bound *out)
{
    size_t *per = calloc(E->nag ? E->nag : 1, sizeof(size_t));
    bool *pin = calloc(E->m ? E->m : 1, sizeof(bool));
    for (size_t u = 0; per && pin && u < E->nu; u++) {
        if (!ok[u])
            continue;
        for (size_t i = 0; i < E->u[u].ag_count; i++)
            per[E->ag[E->u[u].ag_first + i]]++;
        if (E->u[u].pin >= 0 && !pin[E->u[u].pin]) {
            pin[E->u[u].pin] = true;
            out->pinned++;
        }
    }
    for (size_t g = 0; per && g < E->nag; g++)
        if (per[g] > out->anti_affinity)
            out->anti_affinity = per[g];
    free(per);
    free(pin);
}

void
bound_compute(const struct engine *E, const struct pstate *S, struct plan_lower_bound *out)
{
    memset(out, 0, sizeof(*out));
    bool *ok = calloc(E->nu ? E->nu : 1, sizeof(bool));
    if (!ok)
        return;
    for (size_t u = 0; u < E->nu; u++) {
        ok[u] = placeable(E, u) && (!S || S->host_of[u] >= 0 || unit_budget_ok(E, S, u));
        out->placeable += ok[u] ? E->u[u].count : 0;
    }
    for (int d = 0; d < PLAN_NDIM; d++)
        bound_dimension(E, ok, d, out);
    bound_groups(E, ok, out);
    size_t b = out->anti_affinity > out->pinned ? out->anti_affinity : out->pinned;
    for (int d = 0; d < PLAN_NDIM; d++) {
        b = out->volume[d] > b ? out->volume[d] : b;
        b = out->l2[d] > b ? out->l2[d] : b;
    }
    out->hosts = b;
    free(ok);
}

void
plan_lower_bound_compute(const struct plan_item *items, size_t nitems,
                         const struct plan_host *hosts, size_t nhosts,
                         const struct plan_constraints *cons, const struct plan_place_opts *opts,
                         struct plan_lower_bound *out)
{
    struct plan_place_opts defaults = {0};
    struct arena *a = arena_new();
    struct engine E;
    memset(out, 0, sizeof(*out));
    if (a &&
        engine_build(&E, items, nitems, hosts, nhosts, cons, opts ? opts : &defaults, a, NULL) == 0)
        bound_compute(&E, NULL, out);
    arena_destroy(a);
}
