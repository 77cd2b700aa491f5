/* Waves and estimates.
 *
 * Per VM: transfer time of its used data at the bandwidth, downtime cold (VM off for the
 * whole copy plus conversion) and warm (CBT lets the copy run while the VM is up; only
 * the last delta and the conversion are downtime), and a risk score from its findings.
 * Waves: a pilot of low-risk VMs across OS families, then rollout waves of dependency
 * groups (VMs tied by affinity move together), lowest risk first, each wave bounded by
 * its window: the data shares the bandwidth, conversions run `parallel` at a time.
 * VMs that are not ready (or cannot be assessed) join no wave. */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
gib_hours(double gib, double mbps)
{
    return mbps > 0 ? gib * 1073741824.0 * 8.0 / (mbps * 1e6) / 3600.0 : INFINITY;
}

static bool
warm_possible(const struct plan_vm *vm)
{
    if (vm->cbt != PLAN_YES)
        return false;
    for (size_t i = 0; i < vm->ndisks; i++)
        if (vm->disks[i].independent || vm->disks[i].rdm || vm->disks[i].shared ||
            vm->disks[i].cbt == PLAN_NO)
            return false;
    return true;
}

static int
risk_score(const struct plan_vm *vm, const struct plan_vm_assessment *a, double used_gib)
{
    int s = 0;
    for (size_t i = 0; i < a->nfindings; i++)
        s += a->findings[i].severity == PLAN_SEV_CRITICAL  ? 3
             : a->findings[i].severity == PLAN_SEV_WARNING ? 1
                                                           : 0;
    s += a->os && a->os->family == PLAN_OS_WINDOWS;
    s += vm->power == PLAN_POWER_ON;
    s += used_gib > 500;
    s += vm->ndisks > 4;
    s += a->readiness == PLAN_READINESS_UNKNOWN;
    s += a->confidence < 0.5;
    return s;
}

static enum plan_risk
risk_level(int score)
{
    return score <= 1 ? PLAN_RISK_LOW : score <= 3 ? PLAN_RISK_MEDIUM : PLAN_RISK_HIGH;
}

static void
estimate(const plan_result *r, size_t i, const struct plan_wave_opts *o)
{
    const struct plan_vm *vm = r->inv->vms[i];
    struct plan_vm_estimate *est = &r->estimates[i];
    double used = (double)plan_vm_used_mib(vm) / 1024.0, conv = o->conversion_minutes / 60.0;
    est->transfer_hours = gib_hours(used, o->bandwidth_mbps);
    est->downtime_cold_hours = est->transfer_hours + conv;
    est->warm_possible = warm_possible(vm);
    est->downtime_warm_hours =
        est->warm_possible ? est->transfer_hours * o->warm_delta_fraction + conv : -1;
    est->risk_score = risk_score(vm, &r->assess[i], used);
    est->risk = risk_level(est->risk_score);
    est->wave = -1;
}

/* ---------------------------------------------------------------- move groups */

static size_t
root(size_t *p, size_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

/* VMs tied by an affinity rule share a root: they move in the same wave. */
static size_t *
move_groups(const plan_result *r)
{
    size_t n = r->inv->nvms;
    size_t *p = malloc((n ? n : 1) * sizeof(size_t));
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t g = 0; g < r->ngroups; g++) {
        if (r->groups[g].kind != PLAN_AFFINITY)
            continue;
        for (size_t k = 1; k < r->groups[g].nmembers; k++) {
            size_t a = root(p, r->groups[g].members[0]), b = root(p, r->groups[g].members[k]);
            if (a < b)
                p[b] = a;
            else if (b < a)
                p[a] = b;
        }
    }
    for (size_t i = 0; i < n; i++)
        p[i] = root(p, i);
    return p;
}

static bool
eligible(const plan_result *r, size_t i)
{
    enum plan_readiness rd = r->assess[i].readiness;
    return rd == PLAN_READY || rd == PLAN_READY_WITH_CONDITIONS;
}

/* ---------------------------------------------------------------- waves */

struct wb {
    plan_result *r;
    const struct plan_wave_opts *o;
    size_t *grp; /* VM → group root */
    size_t *gsize;
    size_t *gstart, *gmem; /* members of root g: gmem[gstart[g] .. gstart[g+1]) */
};

static struct plan_wave *
wave_new(plan_result *r, const char *kind)
{
    struct plan_wave *w =
        plan_grow(r->arena, (void **)&r->waves, &r->nwaves, &r->waves_cap, sizeof(*w));
    if (!w)
        return NULL;
    w->number = (int)r->nwaves - 1;
    w->kind = kind;
    w->vms = arena_alloc(r->arena, (r->inv->nvms ? r->inv->nvms : 1) * sizeof(size_t));
    return w->vms ? w : NULL;
}

static double
wave_hours(const struct plan_wave_opts *o, double gib, size_t n)
{
    int par = o->parallel > 0 ? o->parallel : 1;
    return gib_hours(gib, o->bandwidth_mbps) +
           ceil((double)n / par) * (o->conversion_minutes + o->post_minutes) / 60.0;
}

static void
wave_add(struct wb *b, struct plan_wave *w, size_t vm)
{
    w->vms[w->nvms++] = vm;
    w->data_gib += (double)plan_vm_used_mib(b->r->inv->vms[vm]) / 1024.0;
    w->hours = wave_hours(b->o, w->data_gib, w->nvms);
    if (b->r->estimates[vm].risk > w->risk)
        w->risk = b->r->estimates[vm].risk;
    b->r->estimates[vm].wave = w->number;
}

struct cand {
    size_t key; /* VM (pilot) or group root (rollout) */
    int risk;
    double gib;
};

static int
cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->risk != y->risk)
        return x->risk - y->risk;
    if (x->gib != y->gib)
        return x->gib < y->gib ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The pilot: low-risk VMs that move alone, smallest first, one per OS family first. */
static int
pilot(struct wb *b, struct cand *c)
{
    plan_result *r = b->r;
    size_t n = 0;
    for (size_t i = 0; i < r->inv->nvms; i++)
        if (eligible(r, i) && b->gsize[b->grp[i]] == 1 && r->estimates[i].risk == PLAN_RISK_LOW)
            c[n++] = (struct cand){i, r->estimates[i].risk_score,
                                   (double)plan_vm_used_mib(r->inv->vms[i]) / 1024.0};
    if (!n || b->o->pilot_size <= 0)
        return 0;
    qsort(c, n, sizeof(*c), cand_cmp);
    struct plan_wave *w = wave_new(r, "pilot");
    if (!w)
        return -1;
    bool family[4] = {false};
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < n && w->nvms < (size_t)b->o->pilot_size; k++) {
            size_t vm = c[k].key;
            const struct plan_guest_os *os = r->assess[vm].os;
            int fam = os ? (int)os->family : 0;
            if (r->estimates[vm].wave >= 0 || (pass == 0 && family[fam]))
                continue;
            family[fam] = true;
            wave_add(b, w, vm);
        }
    return 0;
}

/* Groups still to move; a group with a member that cannot move stays behind whole. */
static size_t
rollout_groups(struct wb *b, struct cand *c)
{
    plan_result *r = b->r;
    size_t n = r->inv->nvms, nc = 0;
    bool *blocked = calloc(n ? n : 1, sizeof(bool));
    int *risk = calloc(n ? n : 1, sizeof(int));
    double *gib = calloc(n ? n : 1, sizeof(double));
    if (blocked && risk && gib) {
        for (size_t i = 0; i < n; i++) {
            size_t g = b->grp[i];
            blocked[g] |= !eligible(r, i);
            risk[g] = r->estimates[i].risk_score > risk[g] ? r->estimates[i].risk_score : risk[g];
            gib[g] += (double)plan_vm_used_mib(r->inv->vms[i]) / 1024.0;
        }
        for (size_t g = 0; g < n; g++)
            if (b->grp[g] == g && !blocked[g] && r->estimates[g].wave < 0)
                c[nc++] = (struct cand){g, risk[g], gib[g]};
    }
    free(blocked);
    free(risk);
    free(gib);
    return nc;
}

static int
rollout(struct wb *b, struct cand *c)
{
    plan_result *r = b->r;
    size_t nc = rollout_groups(b, c);
    qsort(c, nc, sizeof(*c), cand_cmp);
    struct plan_wave *w = NULL;
    for (size_t k = 0; k < nc; k++) {
        size_t members = b->gsize[c[k].key];
        if (w && w->nvms &&
            wave_hours(b->o, w->data_gib + c[k].gib, w->nvms + members) > b->o->window_hours)
            w = NULL; /* this group would overrun the window: next wave */
        if (!w && !(w = wave_new(r, "rollout")))
            return -1;
        for (size_t j = b->gstart[c[k].key]; j < b->gstart[c[k].key + 1]; j++)
            wave_add(b, w, b->gmem[j]);
    }
    return 0;
}

int
plan_waves_build(plan_result *r, const struct plan_wave_opts *opts, err *e)
{
    size_t n = r->inv->nvms;
    r->estimates = arena_alloc(r->arena, (n ? n : 1) * sizeof(*r->estimates));
    if (!r->estimates || !r->assess)
        return err_set(e, ERR_INTERNAL, r->assess ? "out of memory" : "assess before waves");
    for (size_t i = 0; i < n; i++)
        estimate(r, i, opts);
    struct wb b = {.r = r, .o = opts, .grp = move_groups(r)};
    b.gsize = calloc(n ? n : 1, sizeof(size_t));
    b.gstart = calloc(n + 1, sizeof(size_t));
    b.gmem = malloc((n ? n : 1) * sizeof(size_t));
    struct cand *c = malloc((n ? n : 1) * sizeof(*c));
    int rc = -1;
    if (b.grp && b.gsize && b.gstart && b.gmem && c) {
        for (size_t i = 0; i < n; i++)
            b.gsize[b.grp[i]]++;
        for (size_t g = 0; g < n; g++)
            b.gstart[g + 1] = b.gstart[g] + b.gsize[g];
        for (size_t i = 0; i < n; i++) /* counting sort; gsize is rebuilt as we go */
            b.gsize[b.grp[i]] = 0;
        for (size_t i = 0; i < n; i++)
            b.gmem[b.gstart[b.grp[i]] + b.gsize[b.grp[i]]++] = i;
        rc = pilot(&b, c) < 0 || rollout(&b, c) < 0 ? -1 : 0;
    }
    free(b.grp);
    free(b.gsize);
    free(b.gstart);
    free(b.gmem);
    free(c);
    return rc < 0 ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

/* ---------------------------------------------------------------- TCO */

void
plan_tco_compute(const plan_inventory *inv, size_t target_hosts, const struct plan_cost_model *m,
                 struct plan_tco *out)
{
    memset(out, 0, sizeof(*out));
    const double hours_per_year = 8766;
    for (size_t h = 0; h < inv->nhosts; h++) {
        out->source_hosts++;
        out->source_cores += inv->hosts[h].cores > 0 ? (size_t)inv->hosts[h].cores : 0;
    }
    double kwh = m->kwh_price * m->pue * hours_per_year / 1000.0;
    out->source_per_year =
        m->source_licence_per_core * (double)out->source_cores +
        (m->source_support_per_host + m->source_host_watts * kwh + m->admin_per_host) *
            (double)out->source_hosts;
    double years = m->years > 0 ? m->years : 1;
    out->target_hosts = target_hosts;
    out->target_per_year = (m->target_host_capex / years + m->target_support_per_host +
                            m->target_host_watts * kwh + m->admin_per_host) *
                           (double)target_hosts;
    out->source_total = out->source_per_year * years;
    out->target_total = out->target_per_year * years;
    out->savings_total = out->source_total - out->target_total;
}
