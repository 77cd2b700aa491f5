/* Placement speed benchmark: 10,000 VMs onto 1,000 hosts, three dimensions (CPU with 2×
 * overcommit, memory, disk), 50 anti-affinity groups of 5, 10% headroom. The fleet is a
 * little short of memory on purpose, so a few hundred VMs stay unplaced and get
 * Nova-style reasons: the timing covers plan + reasons. One thread.
 *
 *   plan_bench_speed [VMS] [HOSTS]
 * Prints wall and CPU seconds and the peak RSS; then checks the plan (untimed). Goals:
 * < 1 s and < 256 MB. A third run adds tenant budgets (100 tenants, VM i in tenant
 * i % 100; three in four limited to 90% of their VMs' vCPUs) to time the budget checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_gen.h"
#include "check_plan.h"
#include "plan.h"

static struct plan_host *
make_hosts(const struct gen *g, size_t m, const struct plan_place_opts *o)
{
    double sum[3] = {0};
    for (size_t i = 0; i < g->n; i++)
        for (int d = 0; d < 3; d++)
            sum[d] += g->items[i].d[d];
    /* per host: 105% of an equal share of CPU and disk, 97% of memory */
    double share[3] = {1.05, 0.97, 1.05};
    struct plan_host *h = calloc(m, sizeof(*h));
    for (size_t j = 0; j < m; j++) {
        double v[3];
        for (int d = 0; d < 3; d++)
            v[d] = ceil(sum[d] / (double)m * share[d] / (o->overcommit[d] * (1 - o->headroom)));
        h[j] = (struct plan_host){"h", v[0], v[1], v[2], NULL};
    }
    return h;
}

enum { TENANTS = 100 };

/* Budgets for the third run; members in `members` (g->n entries). */
static void
make_budgets(const struct gen *g, struct plan_budget *b, size_t *members)
{
    size_t off = 0;
    for (size_t t = 0; t < TENANTS; t++) {
        double vcpus = 0;
        b[t] = (struct plan_budget){"tenant", {-1, -1, -1, -1}, members + off, 0};
        for (size_t i = t; i < g->n; i += TENANTS) {
            members[off++] = i;
            b[t].nmembers++;
            vcpus += g->items[i].d[0];
        }
        if (t % 4)
            b[t].remaining[PLAN_BUDGET_VCPUS] = floor(vcpus * 0.9);
    }
}

static struct plan_placement *
timed(const struct gen *g, const struct plan_host *h, size_t m, const struct plan_constraints *c,
      struct plan_place_opts o, enum plan_algo algo)
{
    o.algo = algo;
    err e = {0};
    double w0 = bench_now(), c0 = bench_cpu_now();
    struct plan_placement *p = plan_place(g->items, g->n, h, m, c, &o, &e);
    double w = bench_now() - w0, cpu = bench_cpu_now() - c0;
    if (!p) {
        fprintf(stderr, "plan_place: %s\n", e.detail);
        exit(2);
    }
    printf("%-5s %.3f s wall, %.3f s CPU: %zu placed on %zu hosts (bound %zu, gap %.2f%%), "
           "%zu unplaced with reasons, winner %s\n",
           algo == PLAN_ALGO_FFD ? "ffd"
           : c->nbudgets         ? "bud"
                                 : "best",
           w, cpu, p->placed, p->hosts_used, p->bound.hosts, p->gap * 100, p->nunplaced, p->algo);
    return p;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t m = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    struct gen g;
    gen_inventory(&g, GEN_MIXED, n, 42, 0, 0);
    gen_anti_groups(&g, 50, 5, 7);
    struct plan_place_opts o = {.overcommit = {2, 1, 1}, .headroom = 0.1};
    struct plan_host *h = make_hosts(&g, m, &o);
    struct plan_constraints c = {.groups = g.groups, .ngroups = g.ngroups};
    printf("%zu VMs, %zu hosts, %zu anti-affinity groups, peak RSS before: %ld KiB\n", g.n, m,
           g.ngroups, bench_peak_rss_kib());
    struct plan_placement *best = timed(&g, h, m, &c, o, PLAN_ALGO_BEST);
    printf("peak RSS after best: %ld KiB\n", bench_peak_rss_kib());
    struct plan_placement *ffd = timed(&g, h, m, &c, o, PLAN_ALGO_FFD);
    if (best->nunplaced)
        printf("example reason: %s\n", best->unplaced[0].reason);
    struct check_report r;
    size_t v = check_plan(g.items, g.n, h, m, &c, &o, best->host_of, best, &r) +
               check_plan(g.items, g.n, h, m, &c, &o, ffd->host_of, ffd, &r);
    printf("checker: %zu violation(s)%s%s\n", v, v ? ": " : "", v ? r.first : "");
    struct plan_budget budgets[TENANTS];
    size_t *members = malloc((g.n ? g.n : 1) * sizeof(size_t));
    make_budgets(&g, budgets, members);
    struct plan_constraints cb = c;
    cb.budgets = budgets;
    cb.nbudgets = TENANTS;
    struct plan_placement *bud = timed(&g, h, m, &cb, o, PLAN_ALGO_BEST);
    size_t vb = check_plan(g.items, g.n, h, m, &cb, &o, bud->host_of, bud, &r);
    printf("checker (budgets): %zu violation(s)%s%s\n", vb, vb ? ": " : "", vb ? r.first : "");
    v += vb;
    plan_placement_free(bud);
    free(members);
    plan_placement_free(best);
    plan_placement_free(ffd);
    free(h);
    gen_free(&g);
    return v ? 1 : 0;
}
