/* Placement quality benchmark.
 *
 * Grid: generated inventories (web, db, mixed, random; fixed seeds; 300 and 1500 VMs, and
 * one of 5000; with anti-affinity triples and affinity pairs) plus the RVTools fixture, × host
 * shapes (balanced, CPU-rich, memory-rich, a mixed fleet) × CPU overcommit 1/2/4 × headroom 0/20%.
 * For every cell both our planner (best of several) and first-fit decreasing run; the independent
 * checker verifies every plan. Reported: Σ hosts used against Σ lower bound, for ours and for FFD,
 * over the cells where both placed every placeable VM.
 *
 *   plan_bench_quality [FIXTURE.xlsx] [-v]
 * Exit status 1 if any plan violates a rule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gen.h"
#include "check_plan.h"
#include "plan.h"

struct shape {
    const char *name;
    double cpus, mem_gib, disk_gib;
    bool mixed; /* alternate with a small host */
};

static const struct shape shapes[] = {
    {"balanced 64c/512g/20t", 64, 512, 20480, false},
    {"cpu-rich 128c/384g/20t", 128, 384, 20480, false},
    {"mem-rich 32c/1t/20t", 32, 1024, 20480, false},
    {"mixed fleet 96c/768g + 32c/256g", 96, 768, 20480, true},
};

struct totals {
    size_t cells, compared, ours, ffd, bound, violations, unplaced_ours, unplaced_ffd;
    double secs_ours, secs_ffd;
};

static struct plan_host *
fleet(const struct shape *sh, const struct plan_item *it, size_t n, const struct plan_place_opts *o,
      size_t *m)
{
    double need = 0, sum[3] = {0};
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++)
            sum[d] += it[i].d[d];
    double cap[3] = {sh->cpus * o->overcommit[0], sh->mem_gib * 1024 * o->overcommit[1],
                     sh->disk_gib * o->overcommit[2]};
    for (int d = 0; d < 3; d++)
        need = fmax(need, sum[d] / (cap[d] * (1 - o->headroom)));
    *m = (size_t)ceil(need * (sh->mixed ? 2.0 : 1.4)) +
         4; /* room to spare: hosts used is the score */
    struct plan_host *h = calloc(*m, sizeof(*h));
    for (size_t j = 0; j < *m; j++) {
        bool small = sh->mixed && j % 2;
        h[j] = (struct plan_host){"h", small ? 32 : sh->cpus, (small ? 256 : sh->mem_gib) * 1024,
                                  sh->disk_gib, NULL};
    }
    return h;
}

static struct plan_placement *
run(const struct plan_item *it, size_t n, const struct plan_host *h, size_t m,
    const struct plan_constraints *c, struct plan_place_opts o, enum plan_algo algo,
    struct totals *t, double *secs)
{
    o.algo = algo;
    err e = {0};
    double t0 = bench_now();
    struct plan_placement *p = plan_place(it, n, h, m, c, &o, &e);
    *secs += bench_now() - t0;
    if (!p) {
        fprintf(stderr, "plan_place: %s\n", e.detail);
        exit(2);
    }
    struct check_report r;
    if (check_plan(it, n, h, m, c, &o, p->host_of, p, &r)) {
        fprintf(stderr, "VIOLATION (%s): %s\n", algo == PLAN_ALGO_FFD ? "ffd" : "best", r.first);
        t->violations += r.violations;
    }
    return p;
}

static void
cell(const char *label, const struct plan_item *it, size_t n, const struct plan_constraints *c,
     const struct shape *sh, double oc, double head, struct totals *t, bool verbose)
{
    struct plan_place_opts o = {.overcommit = {oc, 1, 1}, .headroom = head};
    size_t m;
    struct plan_host *h = fleet(sh, it, n, &o, &m);
    struct plan_placement *best = run(it, n, h, m, c, o, PLAN_ALGO_BEST, t, &t->secs_ours);
    struct plan_placement *ffd = run(it, n, h, m, c, o, PLAN_ALGO_FFD, t, &t->secs_ffd);
    t->cells++;
    t->unplaced_ours += best->bound.placeable - best->placed;
    t->unplaced_ffd += ffd->bound.placeable - ffd->placed;
    bool all = best->placed == best->bound.placeable && ffd->placed == ffd->bound.placeable;
    if (all) {
        t->compared++;
        t->ours += best->hosts_used;
        t->ffd += ffd->hosts_used;
        t->bound += best->bound.hosts;
    }
    if (verbose)
        printf("%-28s %-34s oc %.0f head %2.0f%%  bound %4zu  ours %4zu (%s)  ffd %4zu%s\n", label,
               sh->name, oc, head * 100, best->bound.hosts, best->hosts_used, best->algo,
               ffd->hosts_used, all ? "" : "  [not all placed: excluded]");
    plan_placement_free(best);
    plan_placement_free(ffd);
    free(h);
}

static void
grid(const char *label, const struct plan_item *it, size_t n, const struct plan_constraints *c,
     struct totals *t, bool verbose)
{
    static const double ocs[] = {1, 2, 4}, heads[] = {0, 0.2};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                cell(label, it, n, c, &shapes[s], ocs[a], heads[b], t, verbose);
}

static int
fixture(const char *path, struct totals *t, bool verbose)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[8 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (plan_rvtools_read_xlsx(inv, buf, len, NULL, &e) < 0) {
        fprintf(stderr, "%s: %s\n", path, e.detail);
        plan_inv_free(inv);
        return -1;
    }
    struct plan_place_opts o = {0};
    struct plan_item *it = calloc(inv->nvms, sizeof(*it));
    plan_items_from_inventory(inv, &o, NULL, it);
    grid("fixture example1.xlsx", it, inv->nvms, NULL, t, verbose);
    free(it);
    plan_inv_free(inv);
    return 0;
}

int
main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[argc - 1], "-v") == 0;
    const char *fx = argc > 1 && strcmp(argv[1], "-v") != 0 ? argv[1] : NULL;
    struct totals t = {0};
    static const size_t sizes[] = {300, 1500};
    for (int k = 0; k < GEN_KINDS; k++)
        for (size_t z = 0; z < 2; z++)
            for (uint64_t seed = 1; seed <= 3; seed++) {
                struct gen g;
                gen_inventory(&g, (enum gen_kind)k, sizes[z], seed, 40, 60);
                struct plan_constraints c = {.groups = g.groups, .ngroups = g.ngroups};
                char label[64];
                snprintf(label, sizeof(label), "%s n=%zu seed=%llu", gen_kind_name(k), sizes[z],
                         (unsigned long long)seed);
                grid(label, g.items, g.n, &c, &t, verbose);
                gen_free(&g);
            }
    /* one large inventory per kind: above 3,000 units the bin-centric scans are windowed */
    for (int k = 0; k < GEN_KINDS; k++) {
        struct gen g;
        gen_inventory(&g, (enum gen_kind)k, 5000, 7, 40, 60);
        struct plan_constraints c = {.groups = g.groups, .ngroups = g.ngroups};
        char label[64];
        snprintf(label, sizeof(label), "%s n=5000 seed=7", gen_kind_name(k));
        grid(label, g.items, g.n, &c, &t, verbose);
        gen_free(&g);
    }
    if (fx && fixture(fx, &t, verbose) < 0)
        fprintf(stderr, "fixture %s not read; generated grid only\n", fx);
    printf("cells %zu (compared %zu), checker violations %zu\n", t.cells, t.compared, t.violations);
    printf("lower bound  Σ %zu hosts\n", t.bound);
    printf("ours         Σ %zu hosts = %.4f × bound  (%.2f s, %zu VMs unplaced in all cells)\n",
           t.ours, t.bound ? (double)t.ours / (double)t.bound : 0, t.secs_ours, t.unplaced_ours);
    printf("FFD          Σ %zu hosts = %.4f × bound  (%.2f s, %zu VMs unplaced in all cells)\n",
           t.ffd, t.bound ? (double)t.ffd / (double)t.bound : 0, t.secs_ffd, t.unplaced_ffd);
    return t.violations ? 1 : 0;
}
