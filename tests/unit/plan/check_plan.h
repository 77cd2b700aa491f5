/* An independent plan checker: recomputes capacities from the raw host figures and the
 * options, and verifies a placement against every constraint. It shares no code with
 * the planner (server/plan/), so a planner bug cannot hide in both. */
#ifndef VP_PLAN_CHECK_PLAN_H
#define VP_PLAN_CHECK_PLAN_H

#include <stddef.h>

#include "plan.h"

struct check_report {
    size_t violations;
    size_t capacity, affinity, anti_affinity, pins, excludes, cpu, skipped, bookkeeping, bound,
        budget;
    char first[512]; /* the first violation, in words */
};

/* Checks host_of (per item: host index or -1) against items, hosts, constraints and
 * options. `p` may be NULL; when given, its own figures (hosts_used, used[], placed, the
 * lower bound) are checked against the recomputation too. Returns report->violations. */
size_t check_plan(const struct plan_item *items, size_t n, const struct plan_host *hosts, size_t m,
                  const struct plan_constraints *cons, const struct plan_place_opts *opts,
                  const int *host_of, const struct plan_placement *p, struct check_report *report);

#endif
