/* The independent checker (see check_plan.h). Deliberately plain: loops over
 * everything, no shared helpers with the planner. */
#include "check_plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-6 /* relative tolerance on capacities (the planner uses 1e-9) */

static void violation(struct check_report *r, size_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
violation(struct check_report *r, size_t *counter, const char *fmt, ...)
{
    (*counter)++;
    if (r->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->first, sizeof(r->first), fmt, ap);
        va_end(ap);
    }
}

static double
limit(const struct plan_host *h, int d, const struct plan_place_opts *o)
{
    double raw = d == 0 ? h->cpus : d == 1 ? h->memory_mib : h->disk_gib;
    if (d == 2 && raw == 0)
        return INFINITY;
    double ratio = o->overcommit[d] == 0 ? 1.0 : o->overcommit[d];
    return raw * ratio * (1.0 - o->headroom);
}

static void
check_capacity(const struct plan_item *items, size_t n, const struct plan_host *hosts, size_t m,
               const struct plan_place_opts *o, const int *host_of, const struct plan_placement *p,
               struct check_report *r)
{
    double *sum = calloc(m * 3 + 1, sizeof(double));
    size_t used = 0, placed = 0;
    for (size_t i = 0; i < n; i++) {
        if (host_of[i] < 0)
            continue;
        placed++;
        for (int d = 0; d < 3; d++)
            sum[host_of[i] * 3 + d] += items[i].d[d];
    }
    for (size_t h = 0; h < m; h++) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = host_of[i] == (int)h;
        used += any;
        for (int d = 0; d < 3; d++) {
            double lim = limit(&hosts[h], d, o);
            if (sum[h * 3 + d] > lim * (1 + TOL) + 1e-9)
                violation(r, &r->capacity, "host %zu dim %d: %.6f placed, limit %.6f", h, d,
                          sum[h * 3 + d], lim);
            if (p && fabs(p->used[h * 3 + d] - sum[h * 3 + d]) > 1e-6 * (1 + sum[h * 3 + d]))
                violation(r, &r->bookkeeping, "host %zu dim %d: planner says %.6f used, is %.6f", h,
                          d, p->used[h * 3 + d], sum[h * 3 + d]);
        }
    }
    if (p && (p->hosts_used != used || p->placed != placed))
        violation(r, &r->bookkeeping, "planner reports %zu hosts / %zu VMs, counted %zu / %zu",
                  p->hosts_used, p->placed, used, placed);
    if (p && p->placed == p->bound.placeable && p->bound.hosts > used)
        violation(r, &r->bound, "lower bound %zu exceeds the %zu hosts of a full plan",
                  p->bound.hosts, used);
    free(sum);
}

static void
check_groups(const struct plan_item *items, const struct plan_constraints *c, const int *host_of,
             struct check_report *r)
{
    for (size_t g = 0; c && g < c->ngroups; g++) {
        const struct plan_group *G = &c->groups[g];
        int first = -2;
        for (size_t a = 0; a < G->nmembers; a++) {
            size_t i = G->members[a];
            if (items[i].skip)
                continue;
            if (G->kind == PLAN_AFFINITY) {
                if (first == -2)
                    first = host_of[i];
                else if (host_of[i] != first)
                    violation(r, &r->affinity, "affinity '%s': VM %zu on %d, another on %d",
                              G->name, i, host_of[i], first);
                continue;
            }
            for (size_t b = a + 1; b < G->nmembers; b++) {
                size_t j = G->members[b];
                if (!items[j].skip && host_of[i] >= 0 && host_of[i] == host_of[j])
                    violation(r, &r->anti_affinity, "anti-affinity '%s': VMs %zu and %zu on %d",
                              G->name, i, j, host_of[i]);
            }
        }
    }
}

static void
check_host_rules(const struct plan_item *items, size_t n, const struct plan_host *hosts,
                 const struct plan_constraints *c, const int *host_of, struct check_report *r)
{
    for (size_t k = 0; c && k < c->npins; k++) {
        size_t i = c->pins[k].vm;
        if (host_of[i] >= 0 && (size_t)host_of[i] != c->pins[k].host)
            violation(r, &r->pins, "VM %zu pinned to %zu runs on %d", i, c->pins[k].host,
                      host_of[i]);
    }
    for (size_t k = 0; c && k < c->nexcludes; k++)
        for (size_t i = 0; i < n; i++)
            if ((c->excludes[k].vm == SIZE_MAX || c->excludes[k].vm == i) && host_of[i] >= 0 &&
                (size_t)host_of[i] == c->excludes[k].host)
                violation(r, &r->excludes, "VM %zu runs on excluded host %zu", i,
                          c->excludes[k].host);
    for (size_t i = 0; i < n; i++) {
        if (items[i].skip && host_of[i] >= 0)
            violation(r, &r->skipped, "skipped VM %zu was placed", i);
        if (c && c->cpu_compat && host_of[i] >= 0 && items[i].evc_key &&
            c->cpu_compat(c->cpu_ctx, items[i].evc_key, NULL, &hosts[host_of[i]], NULL, 0) == 0)
            violation(r, &r->cpu, "VM %zu (%s) on CPU-incompatible host %d", i, items[i].evc_key,
                      host_of[i]);
    }
}

/* Tenant budgets: Σ over a budget's placed members ≤ what it has left (< 0 unlimited). */
static void
check_budgets(const struct plan_item *items, const struct plan_constraints *c, const int *host_of,
              struct check_report *r)
{
    for (size_t b = 0; c && b < c->nbudgets; b++) {
        const struct plan_budget *B = &c->budgets[b];
        double sum[4] = {0};
        for (size_t k = 0; k < B->nmembers; k++) {
            size_t i = B->members[k];
            if (host_of[i] < 0)
                continue;
            const double *bd = c->budget_demand ? &c->budget_demand[i * 4] : NULL;
            double one[4] = {1, items[i].d[0], items[i].d[1], items[i].d[2]};
            for (int x = 0; x < 4; x++)
                sum[x] += bd ? bd[x] : one[x];
        }
        for (int x = 0; x < 4; x++)
            if (B->remaining[x] >= 0 && sum[x] > B->remaining[x] + 1e-6)
                violation(r, &r->budget, "budget %s resource %d: %.6f placed, %.6f left",
                          B->name ? B->name : "?", x, sum[x], B->remaining[x]);
    }
}

size_t
check_plan(const struct plan_item *items, size_t n, const struct plan_host *hosts, size_t m,
           const struct plan_constraints *cons, const struct plan_place_opts *opts,
           const int *host_of, const struct plan_placement *p, struct check_report *report)
{
    struct plan_place_opts zero = {0};
    memset(report, 0, sizeof(*report));
    for (size_t i = 0; i < n; i++)
        if (host_of[i] < -1 || host_of[i] >= (int)m) {
            violation(report, &report->bookkeeping, "VM %zu on host %d of %zu", i, host_of[i], m);
            return report->violations;
        }
    check_capacity(items, n, hosts, m, opts ? opts : &zero, host_of, p, report);
    check_groups(items, cons, host_of, report);
    check_host_rules(items, n, hosts, cons, host_of, report);
    check_budgets(items, cons, host_of, report);
    return report->violations;
}
