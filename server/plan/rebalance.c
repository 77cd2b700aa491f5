/* rebalance: KVM rebalance and host drain as a list of live migrations grouped
 * into steps (pure C, no I/O). See plan.h for the model; the shape of the work:
 *
 *   build     VMs tied by affinity become units (they move together); each unit
 *             knows its pin, excluded hosts, anti-affinity groups and home host.
 *   plan      moves are chosen one at a time on a running state: requested moves,
 *             then the drain (largest first; one "make room" move when nothing
 *             fits), then balancing (the move that lowers the imbalance most,
 *             while it gains enough). Each move is feasible in the state the
 *             moves before it leave, so the sequence is a valid order by itself.
 *   collapse  a unit moved more than once: A→B→A is dropped, A→B→C becomes A→C,
 *             each kept only if a replay of the whole sequence stays feasible.
 *   schedule  the sequence is packed into steps: a move joins the current step
 *             when every earlier pending move sharing a host with it is in the
 *             step too, and the step stays feasible with double booking (memory
 *             and disk on both hosts while migrating) and within the per-host and
 *             total limits. The first pending move always fits an empty step, so
 *             scheduling always ends, and the states between steps are exactly
 *             states of a valid order.
 *   report    per-VM moves with their step, loads and imbalance before and after,
 *             hosts freed, and Nova-style reasons for VMs that had to move and
 *             could not. */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RB_EPS 1e-9
#define RB_BUDGET 40000000u /* candidate evaluations per plan (about a second) */
#define RB_MAX_UNIT_MOVES 3 /* balancing moves one unit at most */

struct rbu {
    size_t first, count; /* members: R->members[first .. first+count) */
    double d[PLAN_NDIM]; /* what the unit holds on its host */
    int home;            /* host at the start, -1 when its members are split */
    int pin;             /* -1 none */
    const char *stuck;   /* cannot move, and why */
    size_t ag_first, ag_count;
    size_t ex_first, ex_count;
    int moves, prev; /* balancing bookkeeping: moves made, host last left */
};

struct smove {
    size_t u;
    int from, to;
    const char *why;
};

/* A unit that had to move (drain, request) — explained if it did not. */
struct need {
    size_t u;
    int goal; /* the requested host, or -1: "off its drained host" */
};

struct rb {
    const struct plan_rb_vm *vms;
    size_t n;
    const struct plan_host *hosts;
    size_t m;
    const struct plan_constraints *cons;
    struct plan_rb_opts o;
    struct arena *a;
    struct rbu *u;
    size_t nu;
    size_t *unit_of, *members, *ag, *ex;
    size_t nag;
    double *cap;                 /* m × PLAN_NDIM */
    double *load;                /* m × 2: CPU and memory load of counted hosts (cache) */
    bool *drain, *off, *counted; /* per host */
    size_t ncounted;
    int8_t *compat; /* nu × m: 2 = not asked yet; NULL when too large to cache */
    /* the running state */
    int *at;      /* per unit: host, -1 split */
    double *used; /* m × PLAN_NDIM */
    int *agc;     /* nag × m: units of group g on host h */
    double s1[2], s2[2];
    struct smove *seq;
    size_t nseq, seqcap;
    struct need *needs;
    size_t nneeds, needcap;
    size_t budget;
    bool truncated;
};

/* ---------------------------------------------------------------- validation */

static int
validate_opts(const struct plan_host *hosts, size_t m, const struct plan_rb_opts *o, err *e)
{
    const struct plan_place_opts *p = &o->place;
    if (!(p->headroom >= 0 && p->headroom < 1))
        return err_set(e, ERR_INVALID, "headroom must be at least 0 and below 1");
    for (int d = 0; d < PLAN_NDIM; d++)
        if (!(p->overcommit[d] >= 0 && p->overcommit[d] <= 64))
            return err_set(e, ERR_INVALID, "overcommit ratios must be between 0 and 64");
    if (o->threshold < 0 || o->threshold > 5)
        return err_set(e, ERR_INVALID, "the threshold must be 1 to 5");
    if (o->per_host < 0 || o->per_host > 64 || o->max_parallel < 0 || o->max_parallel > 1024)
        return err_set(e, ERR_INVALID, "parallel limits must be 1 to 64 per host, 1024 in all");
    for (size_t h = 0; h < m; h++)
        if (!(hosts[h].cpus >= 0 && isfinite(hosts[h].cpus)) ||
            !(hosts[h].memory_mib >= 0 && isfinite(hosts[h].memory_mib)) ||
            !(hosts[h].disk_gib >= 0 && isfinite(hosts[h].disk_gib)))
            return err_set(e, ERR_INVALID, "host %zu has an invalid capacity", h);
    for (size_t k = 0; k < o->ndrain; k++)
        if (o->drain[k] >= m)
            return err_set(e, ERR_INVALID, "a drained host does not exist");
    return 0;
}

static int
validate_refs(const struct plan_rb_vm *vms, size_t n, size_t m, const struct plan_constraints *c,
              const struct plan_rb_opts *o, err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (vms[i].host >= m)
            return err_set(e, ERR_INVALID, "VM %zu is on a host that does not exist", i);
        for (int d = 0; d < PLAN_NDIM; d++)
            if (!(vms[i].d[d] >= 0) || !isfinite(vms[i].d[d]))
                return err_set(e, ERR_INVALID, "VM %zu has an invalid size", i);
    }
    for (size_t k = 0; k < o->nwants; k++)
        if (o->wants[k].vm >= n || o->wants[k].to >= m)
            return err_set(e, ERR_INVALID,
                           "a requested move names a VM or host that does not exist");
    return plan_constraints_check_refs(c, n, m, e);
}

/* ---------------------------------------------------------------- units */

/* What VM i holds on its host: everything when running, only its disk when off. */
static void
vm_load(const struct plan_rb_vm *v, double *out)
{
    out[PLAN_DIM_CPU] = v->active ? v->d[PLAN_DIM_CPU] : 0;
    out[PLAN_DIM_MEM] = v->active ? v->d[PLAN_DIM_MEM] : 0;
    out[PLAN_DIM_DISK] = v->d[PLAN_DIM_DISK];
}

static int
number_units(struct rb *R, size_t *root)
{
    for (size_t i = 0; i < R->n; i++)
        root[i] = i;
    for (size_t g = 0; R->cons && g < R->cons->ngroups; g++) {
        const struct plan_group *G = &R->cons->groups[g];
        for (size_t k = 1; G->kind == PLAN_AFFINITY && k < G->nmembers; k++)
            plan_uf_join(root, G->members[0], G->members[k]);
    }
    R->unit_of = arena_alloc(R->a, (R->n ? R->n : 1) * sizeof(size_t));
    R->members = arena_alloc(R->a, (R->n ? R->n : 1) * sizeof(size_t));
    if (!R->unit_of || !R->members)
        return -1;
    for (size_t i = 0; i < R->n; i++)
        R->unit_of[i] = plan_uf_find(root, i) == i ? R->nu++ : SIZE_MAX;
    for (size_t i = 0; i < R->n; i++)
        R->unit_of[i] = R->unit_of[plan_uf_find(root, i)];
    R->u = arena_alloc(R->a, (R->nu ? R->nu : 1) * sizeof(*R->u));
    return R->u ? 0 : -1;
}

/* Why a unit cannot move, from its members (first reason wins). */
static const char *
member_stuck(struct rb *R, const struct plan_rb_vm *v)
{
    if (v->stuck)
        return arena_printf(R->a, "%s cannot be migrated: %s", v->name ? v->name : "?", v->stuck);
    if (!v->active)
        return arena_printf(R->a, "%s is not running: only running VMs are migrated live",
                            v->name ? v->name : "?");
    return NULL;
}

static int
build_units(struct rb *R)
{
    size_t *root = malloc((R->n ? R->n : 1) * sizeof(size_t));
    size_t *count = calloc(R->n ? R->n : 1, sizeof(size_t));
    int rc = root && count ? number_units(R, root) : -1;
    for (size_t i = 0; rc == 0 && i < R->n; i++)
        count[R->unit_of[i]]++;
    for (size_t u = 0, off = 0; rc == 0 && u < R->nu; u++) {
        R->u[u].first = off;
        R->u[u].pin = -1;
        R->u[u].prev = -1;
        R->u[u].home = -2; /* no member seen yet */
        off += count[u];
    }
    for (size_t i = 0; rc == 0 && i < R->n; i++) {
        struct rbu *U = &R->u[R->unit_of[i]];
        const struct plan_rb_vm *v = &R->vms[i];
        double l[PLAN_NDIM];
        R->members[U->first + U->count++] = i;
        vm_load(v, l);
        for (int d = 0; d < PLAN_NDIM; d++)
            U->d[d] += l[d];
        U->home = U->home == -2 || U->home == (int)v->host ? (int)v->host : -1;
        if (!U->stuck && !(U->stuck = member_stuck(R, v)) && (v->stuck || !v->active))
            rc = -1; /* out of memory */
    }
    for (size_t u = 0; rc == 0 && u < R->nu; u++)
        if (R->u[u].home < 0 && !R->u[u].stuck)
            R->u[u].stuck = "its affinity group runs on several hosts";
    free(root);
    free(count);
    return rc;
}

static void
apply_pins(struct rb *R)
{
    for (size_t i = 0; R->cons && i < R->cons->npins; i++) {
        struct rbu *U = &R->u[R->unit_of[R->cons->pins[i].vm]];
        int h = (int)R->cons->pins[i].host;
        if (U->pin >= 0 && U->pin != h && !U->stuck)
            U->stuck = "its VMs are pinned to different hosts";
        U->pin = h;
    }
}

/* Per-host flags and per-unit exclusions. */
static int
apply_hosts(struct rb *R)
{
    size_t nex = R->cons ? R->cons->nexcludes : 0;
    R->drain = arena_alloc(R->a, (R->m ? R->m : 1) * sizeof(bool));
    R->off = arena_alloc(R->a, (R->m ? R->m : 1) * 2 * sizeof(bool)); /* + scratch */
    R->counted = arena_alloc(R->a, (R->m ? R->m : 1) * sizeof(bool));
    R->ex = arena_alloc(R->a, (nex ? nex : 1) * sizeof(size_t));
    if (!R->drain || !R->off || !R->counted || !R->ex)
        return -1;
    for (size_t k = 0; k < R->o.ndrain; k++)
        R->drain[R->o.drain[k]] = R->off[R->o.drain[k]] = true;
    for (size_t i = 0; i < nex; i++)
        if (R->cons->excludes[i].vm == SIZE_MAX)
            R->off[R->cons->excludes[i].host] = true;
    for (size_t h = 0; h < R->m; h++)
        if ((R->counted[h] = !R->off[h]))
            R->ncounted++;
    size_t off = 0;
    for (size_t u = 0; u < R->nu && nex; u++) {
        R->u[u].ex_first = off;
        for (size_t i = 0; i < nex; i++) {
            size_t vm = R->cons->excludes[i].vm;
            if (vm != SIZE_MAX && R->unit_of[vm] == u)
                R->ex[off++] = R->cons->excludes[i].host;
        }
        R->u[u].ex_count = off - R->u[u].ex_first;
    }
    return 0;
}

/* Anti-affinity: each unit lists its members' groups (engine numbering). */
static int
apply_anti(struct rb *R)
{
    size_t total = 0;
    for (size_t g = 0; R->cons && g < R->cons->ngroups; g++)
        if (R->cons->groups[g].kind == PLAN_ANTI_AFFINITY) {
            R->nag++;
            total += R->cons->groups[g].nmembers;
        }
    if (R->nag && R->m > (size_t)(50u << 20) / R->nag)
        return -2; /* too large */
    R->ag = arena_alloc(R->a, (total ? total : 1) * sizeof(size_t));
    size_t *per = calloc(R->nu ? R->nu : 1, sizeof(size_t));
    if (!R->ag || !per) {
        free(per);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t gi = 0;
        for (size_t g = 0; R->cons && g < R->cons->ngroups; g++) {
            const struct plan_group *G = &R->cons->groups[g];
            if (G->kind != PLAN_ANTI_AFFINITY)
                continue;
            for (size_t k = 0; k < G->nmembers; k++) {
                struct rbu *U = &R->u[R->unit_of[G->members[k]]];
                if (pass == 0) {
                    per[R->unit_of[G->members[k]]]++;
                    continue;
                }
                for (size_t j = 0; j < U->ag_count; j++)
                    if (R->ag[U->ag_first + j] == gi && !U->stuck)
                        U->stuck = "an affinity rule and an anti-affinity rule contradict";
                R->ag[U->ag_first + U->ag_count++] = gi;
            }
            gi++;
        }
        for (size_t u = 0, off = 0; pass == 0 && u < R->nu; u++) {
            R->u[u].ag_first = off;
            off += per[u];
        }
    }
    free(per);
    return 0;
}

static int
alloc_state(struct rb *R)
{
    size_t m = R->m ? R->m : 1;
    R->cap = arena_alloc(R->a, m * PLAN_NDIM * sizeof(double));
    R->used = arena_alloc(R->a, m * PLAN_NDIM * sizeof(double));
    R->load = arena_alloc(R->a, m * 2 * sizeof(double));
    R->at = arena_alloc(R->a, (R->nu ? R->nu : 1) * sizeof(int));
    R->agc = arena_alloc(R->a, (R->nag * R->m + 1) * sizeof(int));
    if (!R->cap || !R->used || !R->load || !R->at || !R->agc)
        return -1;
    for (size_t h = 0; h < R->m; h++)
        for (int d = 0; d < PLAN_NDIM; d++)
            R->cap[h * PLAN_NDIM + d] = plan_host_capacity(&R->hosts[h], d, &R->o.place);
    if (R->cons && R->cons->cpu_compat && R->nu && R->m <= (size_t)(16u << 20) / R->nu) {
        R->compat = arena_alloc(R->a, R->nu * R->m);
        if (!R->compat)
            return -1;
        memset(R->compat, 2, R->nu * R->m);
    }
    return 0;
}

/* ---------------------------------------------------------------- state */

static double
load_of(const struct rb *R, size_t h, int d, double delta)
{
    double cap = R->cap[h * PLAN_NDIM + d];
    return isfinite(cap) && cap > 0 ? (R->used[h * PLAN_NDIM + d] + delta) / cap : 0;
}

/* Adds (sign 1) or removes (-1) host h's loads in the metric's sums; adding also
 * refreshes the host's cached loads. */
static void
sums_host(struct rb *R, size_t h, double sign)
{
    if (!R->counted[h])
        return;
    for (int d = 0; d < 2; d++) {
        double l = sign > 0 ? load_of(R, h, d, 0) : R->load[h * 2 + d];
        if (sign > 0)
            R->load[h * 2 + d] = l;
        R->s1[d] += sign * l;
        R->s2[d] += sign * l * l;
    }
}

/* Σ over CPU and memory of the variance of the loads: the metric is sqrt(v / 2). */
static double
spread_of(const double *s1, const double *s2, size_t k)
{
    if (k == 0)
        return 0;
    double v = 0;
    for (int d = 0; d < 2; d++) {
        double mean = s1[d] / (double)k, var = s2[d] / (double)k - mean * mean;
        v += var > 0 ? var : 0;
    }
    return v;
}

static double
imbalance_of(const double *s1, const double *s2, size_t k)
{
    return sqrt(spread_of(s1, s2, k) / 2);
}

/* The state at the start: every unit at home. */
static void
state_reset(struct rb *R)
{
    memset(R->used, 0, R->m * PLAN_NDIM * sizeof(double));
    memset(R->agc, 0, R->nag * R->m * sizeof(int));
    for (size_t u = 0; u < R->nu; u++)
        R->at[u] = R->u[u].home;
    for (size_t i = 0; i < R->n; i++) {
        double l[PLAN_NDIM];
        vm_load(&R->vms[i], l);
        for (int d = 0; d < PLAN_NDIM; d++)
            R->used[R->vms[i].host * PLAN_NDIM + d] += l[d];
    }
    for (size_t u = 0; u < R->nu; u++) {
        const struct rbu *U = &R->u[u];
        for (size_t k = 0; k < U->count; k++) {
            size_t h = R->vms[R->members[U->first + k]].host;
            for (size_t j = 0; j < U->ag_count && (U->home < 0 || k == 0); j++)
                R->agc[R->ag[U->ag_first + j] * R->m + h]++;
        }
    }
    R->s1[0] = R->s1[1] = R->s2[0] = R->s2[1] = 0;
    for (size_t h = 0; h < R->m; h++)
        sums_host(R, h, 1);
}

static void
state_move(struct rb *R, size_t u, int to)
{
    const struct rbu *U = &R->u[u];
    int from = R->at[u];
    sums_host(R, (size_t)from, -1);
    sums_host(R, (size_t)to, -1);
    for (int d = 0; d < PLAN_NDIM; d++) {
        double *f = &R->used[(size_t)from * PLAN_NDIM + d];
        *f = *f - U->d[d] > 0 ? *f - U->d[d] : 0;
        R->used[(size_t)to * PLAN_NDIM + d] += U->d[d];
    }
    sums_host(R, (size_t)from, 1);
    sums_host(R, (size_t)to, 1);
    for (size_t j = 0; j < U->ag_count; j++) {
        R->agc[R->ag[U->ag_first + j] * R->m + (size_t)from]--;
        R->agc[R->ag[U->ag_first + j] * R->m + (size_t)to]++;
    }
    R->at[u] = to;
}

/* spread_of() if unit u moved from its host to t (nothing changes). */
static double
spread_if(const struct rb *R, size_t u, size_t t)
{
    double s1[2] = {R->s1[0], R->s1[1]}, s2[2] = {R->s2[0], R->s2[1]};
    size_t s = (size_t)R->at[u];
    for (int d = 0; d < 2; d++) {
        double x = R->u[u].d[d];
        if (R->counted[s]) {
            double o = R->load[s * 2 + d], l = load_of(R, s, d, -x);
            s1[d] += l - o;
            s2[d] += l * l - o * o;
        }
        if (R->counted[t]) {
            double o = R->load[t * 2 + d], l = load_of(R, t, d, x);
            s1[d] += l - o;
            s2[d] += l * l - o * o;
        }
    }
    return spread_of(s1, s2, R->ncounted);
}

/* ---------------------------------------------------------------- rules */

static int
compat_ask(struct rb *R, size_t u, size_t h)
{
    const struct rbu *U = &R->u[u];
    int verdict = 1;
    for (size_t k = 0; k < U->count; k++) {
        const char *key = R->vms[R->members[U->first + k]].evc_key;
        char detail[128];
        if (!key || !*key)
            continue;
        int rc =
            R->cons->cpu_compat(R->cons->cpu_ctx, key, NULL, &R->hosts[h], detail, sizeof(detail));
        if (rc == 0)
            return 0;
        if (rc < 0)
            verdict = -1;
    }
    return verdict;
}

static int
compat(struct rb *R, size_t u, size_t h)
{
    if (!R->cons || !R->cons->cpu_compat)
        return 1;
    if (!R->compat)
        return compat_ask(R, u, h);
    int8_t *c = &R->compat[u * R->m + h];
    if (*c == 2)
        *c = (int8_t)compat_ask(R, u, h);
    return *c;
}

static bool
excluded(const struct rb *R, size_t u, size_t h)
{
    const struct rbu *U = &R->u[u];
    for (size_t i = 0; i < U->ex_count; i++)
        if (R->ex[U->ex_first + i] == h)
            return true;
    return R->off[h];
}

/* Rules that do not depend on the state: exclusions, pin, CPU. */
static bool
static_ok(struct rb *R, size_t u, size_t h)
{
    int pin = R->u[u].pin;
    return !excluded(R, u, h) && (pin < 0 || (size_t)pin == h) && compat(R, u, h) != 0;
}

static bool
anti_ok(const struct rb *R, size_t u, size_t h)
{
    const struct rbu *U = &R->u[u];
    for (size_t j = 0; j < U->ag_count; j++)
        if (R->agc[R->ag[U->ag_first + j] * R->m + h] > 0)
            return false;
    return true;
}

static bool
fits_with(const struct rb *R, size_t h, const double *x, const double *extra)
{
    for (int d = 0; d < PLAN_NDIM; d++) {
        double cap = R->cap[h * PLAN_NDIM + d];
        double v = R->used[h * PLAN_NDIM + d] + x[d] + (extra ? extra[d] : 0);
        if (x[d] > 0 && v > cap * (1 + RB_EPS) + RB_EPS)
            return false;
    }
    return true;
}

/* May unit u go to h now (every rule, capacity in the state after the move)? */
static bool
can_move(struct rb *R, size_t u, size_t h)
{
    if (R->at[u] < 0 || (size_t)R->at[u] == h)
        return false;
    return fits_with(R, h, R->u[u].d, NULL) && anti_ok(R, u, h) && static_ok(R, u, h);
}

/* ---------------------------------------------------------------- planning */

static int
plan_move(struct rb *R, size_t u, size_t to, const char *why)
{
    struct smove *s = plan_grow(R->a, (void **)&R->seq, &R->nseq, &R->seqcap, sizeof(*s));
    if (!s)
        return -1;
    *s = (struct smove){u, R->at[u], (int)to, why};
    R->u[u].prev = R->at[u];
    R->u[u].moves++;
    state_move(R, u, (int)to);
    return 0;
}

static int
need_add(struct rb *R, size_t u, int goal)
{
    struct need *n = plan_grow(R->a, (void **)&R->needs, &R->nneeds, &R->needcap, sizeof(*n));
    if (!n)
        return -1;
    *n = (struct need){u, goal};
    return 0;
}

static bool
spend(struct rb *R, size_t n)
{
    if (R->budget < n) {
        R->budget = 0;
        R->truncated = true;
        return false;
    }
    R->budget -= n;
    return true;
}

/* The target that leaves the lowest imbalance (ties: the lower memory load). */
static int
best_target(struct rb *R, size_t u)
{
    int best = -1;
    double bi = INFINITY, bl = INFINITY;
    for (size_t h = 0; h < R->m; h++) {
        if (!can_move(R, u, h))
            continue;
        double v = spread_if(R, u, h), l = load_of(R, h, PLAN_DIM_MEM, R->u[u].d[PLAN_DIM_MEM]);
        if (v < bi - RB_EPS || (v <= bi + RB_EPS && l < bl)) {
            best = (int)h;
            bi = v;
            bl = l;
        }
    }
    spend(R, R->m);
    return best;
}

static int
plan_wants(struct rb *R)
{
    for (size_t k = 0; k < R->o.nwants; k++) {
        size_t u = R->unit_of[R->o.wants[k].vm], to = R->o.wants[k].to;
        if (R->at[u] == (int)to)
            continue;
        int rc = !R->u[u].stuck && can_move(R, u, to) ? plan_move(R, u, to, "requested")
                                                      : need_add(R, u, (int)to);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Could moving unit v off host t (to some host x) let unit u onto t? Returns the
 * best x (least memory moved is decided by the caller), or -1. */
static int
room_by(struct rb *R, size_t u, size_t v, size_t t)
{
    const struct rbu *V = &R->u[v];
    if (v == u || V->stuck || V->pin >= 0 || R->at[v] != (int)t || V->ag_count)
        return -1;
    double minus[PLAN_NDIM];
    for (int d = 0; d < PLAN_NDIM; d++)
        minus[d] = -V->d[d];
    if (!fits_with(R, t, R->u[u].d, minus))
        return -1;
    int x = best_target(R, v);
    return x >= 0 && (size_t)x != t ? x : -1;
}

/* One "make room" move: some unit v leaves a host t for x, then u fits on t. */
static int
make_room(struct rb *R, size_t u)
{
    size_t bv = SIZE_MAX, bt = 0;
    int bx = -1;
    for (size_t t = 0; t < R->m && spend(R, R->nu); t++) {
        if ((int)t == R->at[u] || !anti_ok(R, u, t) || !static_ok(R, u, t))
            continue;
        for (size_t v = 0; v < R->nu; v++) {
            if (R->at[v] != (int)t ||
                (bv != SIZE_MAX && R->u[v].d[PLAN_DIM_MEM] >= R->u[bv].d[PLAN_DIM_MEM]))
                continue;
            int x = room_by(R, u, v, t);
            if (x >= 0) {
                bv = v;
                bt = t;
                bx = x;
            }
        }
    }
    if (bv == SIZE_MAX)
        return 0;
    if (plan_move(R, bv, (size_t)bx, "make-room") < 0 || plan_move(R, u, bt, "drain") < 0)
        return -1;
    return 1;
}

struct order {
    double mem, cpu;
    size_t u;
};

static int
order_cmp(const void *pa, const void *pb)
{
    const struct order *a = pa, *b = pb;
    if (a->mem != b->mem)
        return a->mem > b->mem ? -1 : 1;
    if (a->cpu != b->cpu)
        return a->cpu > b->cpu ? -1 : 1;
    return a->u < b->u ? -1 : a->u > b->u;
}

/* Moves one unit off its drained host: best target, else make room. 1 moved, 0 not. */
static int
drain_one(struct rb *R, size_t u)
{
    const struct rbu *U = &R->u[u];
    if (U->stuck || (U->pin >= 0 && U->pin == R->at[u]))
        return 0;
    int t = best_target(R, u);
    if (t >= 0)
        return plan_move(R, u, (size_t)t, "drain") < 0 ? -1 : 1;
    return make_room(R, u);
}

static bool
on_drained_host(const struct rb *R, size_t u)
{
    const struct rbu *U = &R->u[u];
    for (size_t k = 0; k < U->count; k++)
        if (R->drain[R->vms[R->members[U->first + k]].host])
            return true;
    return false;
}

/* Largest units first; those left over get a second chance once the others moved. */
static int
plan_drain(struct rb *R)
{
    struct order *ord = malloc((R->nu ? R->nu : 1) * sizeof(*ord));
    size_t k = 0;
    int rc = ord ? 0 : -1;
    for (size_t u = 0; rc == 0 && u < R->nu; u++) {
        if (!on_drained_host(R, u))
            continue;
        if (R->at[u] < 0) /* split affinity group: stays, explained later */
            rc = need_add(R, u, -1);
        else
            ord[k++] = (struct order){R->u[u].d[PLAN_DIM_MEM], R->u[u].d[PLAN_DIM_CPU], u};
    }
    if (ord)
        qsort(ord, k, sizeof(*ord), order_cmp);
    for (int pass = 0; pass < 2 && rc >= 0; pass++)
        for (size_t i = 0; i < k && rc >= 0; i++)
            if (R->drain[R->at[ord[i].u]])
                rc = drain_one(R, ord[i].u);
    for (size_t i = 0; i < k && rc >= 0; i++)
        if (R->drain[R->at[ord[i].u]])
            rc = need_add(R, ord[i].u, -1);
    free(ord);
    return rc < 0 ? -1 : 0;
}

static const double tolerances[6] = {0.10, 0.20, 0.20, 0.10, 0.05, 0.02};
static const double min_gains[6] = {0.005, 0, 0.02, 0.005, 0.002, 0.0005};

double
plan_rb_tolerance(int threshold)
{
    return threshold >= 0 && threshold <= 5 ? tolerances[threshold] : tolerances[0];
}

static bool
balance_movable(const struct rb *R, size_t u)
{
    const struct rbu *U = &R->u[u];
    return !U->stuck && U->pin < 0 && R->at[u] >= 0 && U->moves < RB_MAX_UNIT_MOVES &&
           (U->d[PLAN_DIM_CPU] > 0 || U->d[PLAN_DIM_MEM] > 0);
}

/* Combined deviation of host h from the mean load (CPU and memory). */
static double
deviation(const struct rb *R, size_t h)
{
    double k = R->ncounted ? (double)R->ncounted : 1;
    if (!R->counted[h])
        return 0;
    return R->load[h * 2] - R->s1[0] / k + R->load[h * 2 + 1] - R->s1[1] / k;
}

/* The single move that lowers the metric most (ties: the smaller VM), from a host
 * marked in `src` to one below the mean load: the others cannot lower both hosts'
 * deviations. *gain is the drop of the sum over hosts of squared deviations
 * (n × the drop of the metric squared), so that it does not shrink as the cluster
 * grows. */
static bool
best_balance_move(struct rb *R, const bool *src, size_t *bu, size_t *bt, double *gain)
{
    double now = spread_of(R->s1, R->s2, R->ncounted), best = 0, n = (double)R->ncounted;
    bool found = false, *below = R->off + R->m; /* scratch: R->off has 2 × m */
    for (size_t t = 0; t < R->m; t++)
        below[t] = R->counted[t] && deviation(R, t) < 0;
    for (size_t u = 0; u < R->nu; u++) {
        if (!balance_movable(R, u) || !src[R->at[u]] || !spend(R, R->m))
            continue;
        const struct rbu *U = &R->u[u];
        for (size_t t = 0; t < R->m; t++) {
            if (!below[t] || (int)t == U->prev || (U->moves && (int)t == U->home) ||
                !can_move(R, u, t))
                continue;
            double g = n * (now - spread_if(R, u, t)) / 2;
            if (g <= RB_EPS)
                continue;
            if (!found || g > best + RB_EPS ||
                (g > best - RB_EPS && U->d[PLAN_DIM_MEM] < R->u[*bu].d[PLAN_DIM_MEM])) {
                best = g;
                *bu = u;
                *bt = t;
                found = true;
            }
        }
    }
    *gain = best;
    return found;
}

/* Sources: the RB_TOP hosts furthest above the mean, or (all) every host above it. */
#define RB_TOP 4
static void
mark_sources(struct rb *R, bool *src, bool all)
{
    for (size_t h = 0; h < R->m; h++)
        src[h] = all && R->counted[h] && deviation(R, h) > 0;
    for (int k = 0; !all && k < RB_TOP; k++) {
        size_t best = SIZE_MAX;
        double bd = 0;
        for (size_t h = 0; h < R->m; h++)
            if (R->counted[h] && !src[h] && deviation(R, h) > bd) {
                best = h;
                bd = deviation(R, h);
            }
        if (best == SIZE_MAX)
            break;
        src[best] = true;
    }
}

/* Balancing moves, each from the most loaded hosts first (all hosts above the
 * mean when those offer nothing), until within tolerance or nothing gains enough. */
static int
plan_balance(struct rb *R)
{
    int th = R->o.threshold;
    bool *src = arena_alloc(R->a, (R->m ? R->m : 1) * sizeof(bool));
    if (!src)
        return -1;
    for (size_t moves = 0; th >= 2 && moves < R->o.max_moves; moves++) {
        if (imbalance_of(R->s1, R->s2, R->ncounted) <= tolerances[th])
            break;
        size_t u = 0, t = 0;
        double gain = 0;
        bool ok = false;
        for (int all = 0; all < 2 && !ok; all++) {
            mark_sources(R, src, all);
            ok = best_balance_move(R, src, &u, &t, &gain) && gain >= min_gains[th];
        }
        if (!ok)
            break;
        if (plan_move(R, u, t, "balance") < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- collapse */

/* Replays seq[0..n) from the start; true when every move is feasible in turn.
 * Leaves the state at the end of the replay (or where it failed). */
static bool
replay(struct rb *R, const struct smove *seq, size_t n)
{
    state_reset(R);
    for (size_t i = 0; i < n; i++) {
        const struct smove *s = &seq[i];
        if (R->at[s->u] != s->from || !can_move(R, s->u, (size_t)s->to))
            return false;
        state_move(R, s->u, s->to);
    }
    return true;
}

/* seq without unit u's moves, plus one move from→to at index `at` (to < 0: none). */
static size_t
without_unit(const struct smove *seq, size_t n, size_t u, size_t at, int from, int to,
             const char *why, struct smove *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == at && to >= 0)
            out[k++] = (struct smove){u, from, to, why};
        if (seq[i].u != u)
            out[k++] = seq[i];
    }
    return k;
}

/* Tries the collapsed forms of unit u's chain (its moves at first..last). */
static bool
collapse_unit(struct rb *R, size_t u, size_t first, size_t last, struct smove *tmp)
{
    int from = R->seq[first].from, to = R->seq[last].to;
    const char *why = R->seq[first].why;
    size_t tries[2] = {last, first};
    for (int k = 0; k < (from == to ? 1 : 2); k++) {
        size_t n = without_unit(R->seq, R->nseq, u, tries[k], from, from == to ? -1 : to, why, tmp);
        if (replay(R, tmp, n)) {
            memcpy(R->seq, tmp, n * sizeof(*tmp));
            R->nseq = n;
            return true;
        }
    }
    return false;
}

static int
collapse(struct rb *R, size_t *removed, size_t *staged)
{
    struct smove *tmp = malloc((R->nseq ? R->nseq : 1) * sizeof(*tmp));
    if (!tmp)
        return -1;
    for (size_t u = 0; u < R->nu; u++) {
        size_t first = SIZE_MAX, last = 0, count = 0;
        for (size_t i = 0; i < R->nseq; i++)
            if (R->seq[i].u == u) {
                first = first == SIZE_MAX ? i : first;
                last = i;
                count++;
            }
        if (count < 2)
            continue;
        size_t before = R->nseq;
        if (collapse_unit(R, u, first, last, tmp))
            *removed += before - R->nseq;
        else
            (*staged)++;
    }
    free(tmp);
    /* the state is the end of the final sequence; it was valid as built */
    return replay(R, R->seq, R->nseq) ? 0 : -2;
}

/* ---------------------------------------------------------------- steps */

struct step {
    int *touch;       /* migrations touching host h in this step */
    bool *blocked;    /* an earlier pending move touches h */
    double *in, *out; /* m × PLAN_NDIM arriving / leaving in this step */
    size_t *list;     /* sequence indices in this step */
    size_t nlist, taken;
    size_t *dirty; /* hosts touched or blocked (to clear) */
    size_t ndirty;
};

static void
step_dirty(struct step *S, size_t h)
{
    if (!S->touch[h] && !S->blocked[h])
        S->dirty[S->ndirty++] = h;
}

static void
step_clear(struct rb *R, struct step *S)
{
    for (size_t i = 0; i < S->ndirty; i++) {
        size_t h = S->dirty[i];
        S->touch[h] = 0;
        S->blocked[h] = false;
        memset(&S->in[h * PLAN_NDIM], 0, PLAN_NDIM * sizeof(double));
        memset(&S->out[h * PLAN_NDIM], 0, PLAN_NDIM * sizeof(double));
    }
    S->ndirty = S->nlist = S->taken = 0;
    (void)R;
}

static bool
share_group(const struct rb *R, size_t a, size_t b)
{
    const struct rbu *A = &R->u[a], *B = &R->u[b];
    for (size_t i = 0; i < A->ag_count; i++)
        for (size_t j = 0; j < B->ag_count; j++)
            if (R->ag[A->ag_first + i] == R->ag[B->ag_first + j])
                return true;
    return false;
}

/* Does move j fit the step: limits, double booking on its target, anti-affinity? */
static bool
step_fits(const struct rb *R, const struct step *S, size_t j)
{
    const struct smove *mv = &R->seq[j];
    const struct rbu *U = &R->u[mv->u];
    size_t f = (size_t)mv->from, t = (size_t)mv->to, c = U->count;
    int ph = R->o.per_host;
    if (S->blocked[f] || S->blocked[t])
        return false;
    if (S->taken && (S->taken + c > (size_t)R->o.max_parallel || S->touch[f] + (int)c > ph ||
                     S->touch[t] + (int)c > ph))
        return false;
    /* while migrating, what arrives is booked on t before what leaves t is freed */
    double during[PLAN_NDIM], after[PLAN_NDIM];
    for (int d = 0; d < PLAN_NDIM; d++) {
        bool booked = d != PLAN_DIM_CPU || R->o.double_book_cpu;
        during[d] = booked ? S->in[t * PLAN_NDIM + d] + U->d[d] : 0;
        after[d] = S->in[t * PLAN_NDIM + d] + U->d[d] - S->out[t * PLAN_NDIM + d];
    }
    if (!fits_with(R, t, during, NULL) || !fits_with(R, t, after, NULL) || !anti_ok(R, mv->u, t))
        return false;
    for (size_t k = 0; k < S->nlist; k++)
        if ((size_t)R->seq[S->list[k]].to == t && share_group(R, R->seq[S->list[k]].u, mv->u))
            return false;
    return true;
}

static void
step_take(const struct rb *R, struct step *S, size_t j)
{
    const struct smove *mv = &R->seq[j];
    const struct rbu *U = &R->u[mv->u];
    step_dirty(S, (size_t)mv->from);
    step_dirty(S, (size_t)mv->to);
    S->touch[mv->from] += (int)U->count;
    S->touch[mv->to] += (int)U->count;
    for (int d = 0; d < PLAN_NDIM; d++) {
        S->out[(size_t)mv->from * PLAN_NDIM + d] += U->d[d];
        S->in[(size_t)mv->to * PLAN_NDIM + d] += U->d[d];
    }
    S->list[S->nlist++] = j;
    S->taken += U->count;
}

static void
step_block(struct step *S, const struct smove *mv)
{
    step_dirty(S, (size_t)mv->from);
    S->blocked[mv->from] = true;
    step_dirty(S, (size_t)mv->to);
    S->blocked[mv->to] = true;
}

static int
step_alloc(struct rb *R, struct step *S)
{
    size_t m = R->m ? R->m : 1, n = R->nseq ? R->nseq : 1;
    S->touch = arena_alloc(R->a, m * sizeof(int));
    S->blocked = arena_alloc(R->a, m * sizeof(bool));
    S->in = arena_alloc(R->a, m * PLAN_NDIM * sizeof(double));
    S->out = arena_alloc(R->a, m * PLAN_NDIM * sizeof(double));
    S->list = arena_alloc(R->a, n * sizeof(size_t));
    S->dirty = arena_alloc(R->a, m * 2 * sizeof(size_t));
    return S->touch && S->blocked && S->in && S->out && S->list && S->dirty ? 0 : -1;
}

/* Packs the sequence into steps; step_of[j] for each sequence index. */
static int
schedule(struct rb *R, int *step_of, int *nsteps, err *e)
{
    struct step S = {0};
    bool *done = arena_alloc(R->a, R->nseq ? R->nseq : 1);
    if (!done || step_alloc(R, &S) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    state_reset(R);
    size_t left = R->nseq;
    int k = 0;
    for (; left; k++) {
        step_clear(R, &S);
        for (size_t j = 0; j < R->nseq; j++) {
            if (done[j])
                continue;
            if (step_fits(R, &S, j))
                step_take(R, &S, j);
            else
                step_block(&S, &R->seq[j]);
        }
        if (S.nlist == 0) /* cannot happen: the first pending move always fits */
            return err_set(e, ERR_INTERNAL, "the migrations have no feasible order");
        for (size_t i = 0; i < S.nlist; i++) {
            size_t j = S.list[i];
            state_move(R, R->seq[j].u, R->seq[j].to);
            done[j] = true;
            step_of[j] = k;
            left--;
        }
    }
    *nsteps = k;
    return 0;
}

/* ---------------------------------------------------------------- reasons */

enum { F_EXCLUDED, F_PINNED, F_CPU, F_ANTI, F_CORE, F_RAM, F_DISK, F_COUNT };

static const char *const filter_names[F_COUNT] = {
    "ExcludedHostFilter", "PinnedHostFilter", "CpuModelFilter", "AntiAffinityFilter",
    "CoreFilter",         "RamFilter",        "DiskFilter",
};

static bool
passes(struct rb *R, size_t u, size_t h, int f)
{
    const struct rbu *U = &R->u[u];
    switch (f) {
    case F_EXCLUDED:
        return (int)h != R->at[u] && !excluded(R, u, h);
    case F_PINNED:
        return U->pin < 0 || (size_t)U->pin == h;
    case F_CPU:
        return compat(R, u, h) != 0;
    case F_ANTI:
        return anti_ok(R, u, h);
    default: {
        int d = f - F_CORE;
        return R->used[h * PLAN_NDIM + d] + U->d[d] <=
               R->cap[h * PLAN_NDIM + d] * (1 + RB_EPS) + RB_EPS;
    }
    }
}

static void
policy_text(const struct rb *R, int d, char *buf, size_t n)
{
    double oc = R->o.place.overcommit[d] > 0 ? R->o.place.overcommit[d] : 1.0;
    double head = R->o.place.headroom * 100;
    if (oc != 1.0 && head > 0)
        snprintf(buf, n, " after %.3g× overcommit and %.3g%% headroom", oc, head);
    else if (oc != 1.0)
        snprintf(buf, n, " after %.3g× overcommit", oc);
    else if (head > 0)
        snprintf(buf, n, " after %.3g%% headroom", head);
    else
        buf[0] = '\0';
}

/* Among the hosts the rules keep, the one needing the least extra room. */
static void
nearest(struct rb *R, size_t u, const bool *kept, struct plan_unplaced *r)
{
    double bscore = INFINITY;
    r->binding_dim = -1;
    for (size_t h = 0; h < R->m; h++) {
        if (!kept[h])
            continue;
        double total = 0, worst = -1, worst_abs = 0;
        int wd = -1;
        for (int d = 0; d < PLAN_NDIM; d++) {
            double cap = R->cap[h * PLAN_NDIM + d];
            double s = R->used[h * PLAN_NDIM + d] + R->u[u].d[d] - cap;
            if (!isfinite(cap) || s <= cap * RB_EPS + RB_EPS)
                continue;
            double norm = cap > 0 ? s / cap : INFINITY;
            total += norm;
            if (norm > worst) {
                worst = norm;
                wd = d;
                worst_abs = s;
            }
        }
        if (total < bscore) {
            bscore = total;
            r->nearest_host = R->hosts[h].name ? R->hosts[h].name : "?";
            r->binding_dim = wd;
            r->shortfall = worst_abs;
        }
    }
}

static const char *
reason_text(struct rb *R, const struct plan_unplaced *r)
{
    if (!r->nearest_host) {
        const char *why = "every host";
        for (size_t i = 0; i < r->nfilters; i++)
            if (r->filters[i].end == 0) {
                why = r->filters[i].filter;
                break;
            }
        return arena_printf(R->a, "no eligible host: %s removed the last of %zu hosts", why,
                            r->nfilters ? r->filters[0].start : 0);
    }
    if (r->binding_dim < 0)
        return arena_printf(R->a, "%s: fits, but no feasible order of migrations was found",
                            r->nearest_host);
    char amount[48], policy[80];
    plan_fmt_amount(amount, sizeof(amount), r->binding_dim, r->shortfall);
    policy_text(R, r->binding_dim, policy, sizeof(policy));
    return arena_printf(R->a, "%s: %s short %s%s", r->nearest_host, plan_dim_name(r->binding_dim),
                        amount, policy);
}

/* Nova style: each filter with the hosts it left, then the nearest host. `only`:
 * a requested target (-1: any host). kept has room for 2 × m. */
static const char *
explain(struct rb *R, size_t u, int only, bool *kept, struct plan_unplaced *r)
{
    const struct rbu *U = &R->u[u];
    if (U->stuck)
        return U->stuck;
    if (U->pin >= 0 && U->pin == R->at[u])
        return arena_printf(R->a, "pinned to %s",
                            R->hosts[U->pin].name ? R->hosts[U->pin].name : "its host");
    size_t alive = 0;
    bool *cap_kept = kept + R->m;
    for (size_t h = 0; h < R->m; h++)
        alive += (kept[h] = only < 0 || (int)h == only);
    for (int f = 0; f < F_COUNT; f++) {
        size_t start = alive;
        for (size_t h = 0; h < R->m; h++) {
            bool *k = f < F_CORE ? &kept[h] : &cap_kept[h];
            if (f == F_CORE)
                cap_kept[h] = kept[h];
            if (*k && !passes(R, u, h, f)) {
                *k = false;
                alive--;
            }
        }
        r->filters[r->nfilters++] = (struct plan_filter_count){filter_names[f], start, alive};
    }
    nearest(R, u, kept, r);
    return reason_text(R, r);
}

static int
build_stuck(struct rb *R, plan_rebalance *res)
{
    size_t n = 0;
    for (size_t k = 0; k < R->nneeds; k++)
        n += R->u[R->needs[k].u].count;
    res->stuck = arena_alloc(R->a, (n ? n : 1) * sizeof(*res->stuck));
    bool *kept = arena_alloc(R->a, (R->m ? R->m : 1) * 2 * sizeof(bool));
    if (!res->stuck || !kept)
        return -1;
    for (size_t k = 0; k < R->nneeds; k++) {
        const struct need *nd = &R->needs[k];
        size_t u = nd->u;
        bool ok = nd->goal >= 0 ? R->at[u] == nd->goal : R->at[u] >= 0 && !R->drain[R->at[u]];
        if (ok)
            continue;
        struct plan_unplaced r = {0};
        r.binding_dim = -1;
        if (!(r.reason = explain(R, u, nd->goal, kept, &r)))
            return -1;
        for (size_t i = 0; i < R->u[u].count; i++) {
            r.vm = R->members[R->u[u].first + i];
            res->stuck[res->nstuck++] = r;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- result */

static void
metrics(const struct rb *R, double *load, double *sd, double *imb)
{
    double s1[2] = {0}, s2[2] = {0};
    for (size_t h = 0; h < R->m; h++)
        for (int d = 0; d < PLAN_NDIM; d++) {
            double l = load_of(R, h, d, 0);
            load[h * PLAN_NDIM + d] = l;
            if (R->counted[h] && d < 2) {
                s1[d] += l;
                s2[d] += l * l;
            }
        }
    sd[PLAN_DIM_DISK] = 0; /* not in the metric: live migration leaves disks where they are */
    for (int d = 0; d < 2; d++) {
        double k = (double)R->ncounted, mean = k ? s1[d] / k : 0;
        double var = k ? s2[d] / k - mean * mean : 0;
        sd[d] = var > 0 ? sqrt(var) : 0;
    }
    *imb = imbalance_of(s1, s2, R->ncounted);
}

static int
emit_moves(struct rb *R, plan_rebalance *res, const int *step_of)
{
    size_t n = 0;
    for (size_t j = 0; j < R->nseq; j++)
        n += R->u[R->seq[j].u].count;
    res->moves = arena_alloc(R->a, (n ? n : 1) * sizeof(*res->moves));
    if (!res->moves)
        return -1;
    for (int k = 0; k < res->nsteps; k++)
        for (size_t j = 0; j < R->nseq; j++) {
            const struct smove *s = &R->seq[j];
            const struct rbu *U = &R->u[s->u];
            for (size_t i = 0; step_of[j] == k && i < U->count; i++) {
                size_t vm = R->members[U->first + i];
                res->moves[res->nmoves++] =
                    (struct plan_rb_move){vm, (size_t)s->from, (size_t)s->to, k, s->why};
                res->memory_moved_mib += R->vms[vm].d[PLAN_DIM_MEM];
            }
        }
    return 0;
}

static int
finish(struct rb *R, plan_rebalance *res, err *e)
{
    int *step_of = arena_alloc(R->a, (R->nseq ? R->nseq : 1) * sizeof(int));
    res->host_after = arena_alloc(R->a, (R->n ? R->n : 1) * sizeof(int));
    res->load_after = arena_alloc(R->a, (R->m ? R->m : 1) * PLAN_NDIM * sizeof(double));
    size_t *before = arena_alloc(R->a, (R->m ? R->m : 1) * 2 * sizeof(size_t));
    if (!step_of || !res->host_after || !res->load_after || !before)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (schedule(R, step_of, &res->nsteps, e) < 0)
        return -1;
    if (emit_moves(R, res, step_of) < 0 || build_stuck(R, res) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    metrics(R, res->load_after, res->sd_after, &res->imbalance_after);
    size_t *after = before + R->m;
    for (size_t i = 0; i < R->n; i++) {
        size_t u = R->unit_of[i];
        res->host_after[i] = R->at[u] >= 0 ? R->at[u] : (int)R->vms[i].host;
        before[R->vms[i].host]++;
        after[res->host_after[i]]++;
    }
    for (size_t h = 0; h < R->m; h++)
        res->hosts_freed += before[h] > 0 && after[h] == 0;
    res->balanced = res->imbalance_after <= res->tolerance + RB_EPS;
    res->truncated = R->truncated;
    return 0;
}

static int
setup(struct rb *R, err *e)
{
    if (build_units(R) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    apply_pins(R);
    int rc = apply_hosts(R) < 0 ? -1 : apply_anti(R);
    if (rc == -2)
        return err_set(e, ERR_TOO_LARGE, "too many anti-affinity groups for this many hosts");
    if (rc < 0 || alloc_state(R) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    state_reset(R);
    return 0;
}

static int
plan_all(struct rb *R, plan_rebalance *res, err *e)
{
    res->load_before = arena_alloc(R->a, (R->m ? R->m : 1) * PLAN_NDIM * sizeof(double));
    if (!res->load_before)
        return err_set(e, ERR_INTERNAL, "out of memory");
    metrics(R, res->load_before, res->sd_before, &res->imbalance_before);
    if (plan_wants(R) < 0 || (R->o.ndrain && plan_drain(R) < 0) ||
        (R->o.goal == PLAN_RB_BALANCE && plan_balance(R) < 0))
        return err_set(e, ERR_INTERNAL, "out of memory");
    int rc = collapse(R, &res->removed, &res->staged);
    if (rc == -1)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (rc == -2) /* the built sequence is valid by construction */
        return err_set(e, ERR_INTERNAL, "the planned migrations do not replay");
    return finish(R, res, e);
}

static void
resolve_opts(struct plan_rb_opts *o, size_t nvms)
{
    if (o->threshold == 0)
        o->threshold = 3;
    if (o->per_host == 0)
        o->per_host = 2;
    if (o->max_parallel == 0)
        o->max_parallel = 6;
    if (o->max_moves == 0)
        o->max_moves = nvms * 4;
}

plan_rebalance *
plan_rebalance_run(const struct plan_rb_vm *vms, size_t nvms, const struct plan_host *hosts,
                   size_t nhosts, const struct plan_constraints *cons,
                   const struct plan_rb_opts *opts, err *e)
{
    static const struct plan_rb_opts defaults = {0};
    struct plan_rb_opts o = opts ? *opts : defaults;
    if (nhosts > (size_t)1 << 20 || nvms > (size_t)1 << 24) {
        err_set(e, ERR_TOO_LARGE, "too many hosts or VMs for one plan");
        return NULL;
    }
    if (validate_opts(hosts, nhosts, &o, e) < 0 ||
        validate_refs(vms, nvms, nhosts, cons, &o, e) < 0)
        return NULL;
    resolve_opts(&o, nvms);
    struct rb R = {.vms = vms,
                   .n = nvms,
                   .hosts = hosts,
                   .m = nhosts,
                   .cons = cons,
                   .o = o,
                   .budget = RB_BUDGET};
    plan_rebalance *res = NULL;
    if (!(R.a = arena_new()) || !(res = arena_alloc(R.a, sizeof(*res)))) {
        arena_destroy(R.a);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    *res = (plan_rebalance){.nvms = nvms,
                            .nhosts = nhosts,
                            .arena = R.a,
                            .threshold = o.threshold,
                            .tolerance = plan_rb_tolerance(o.threshold)};
    if (setup(&R, e) < 0) {
        arena_destroy(R.a);
        return NULL;
    }
    res->hosts_counted = R.ncounted;
    if (plan_all(&R, res, e) < 0) {
        arena_destroy(R.a);
        return NULL;
    }
    return res;
}

void
plan_rebalance_free(plan_rebalance *r)
{
    if (r)
        arena_destroy(r->arena);
}
