/* Generated inventories for the planner benchmarks (fixed seeds, deterministic). */
#ifndef VP_PLAN_BENCH_GEN_H
#define VP_PLAN_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

enum gen_kind { GEN_WEB, GEN_DB, GEN_MIXED, GEN_RANDOM, GEN_KINDS };

struct gen {
    struct plan_item *items;
    size_t n;
    struct plan_group *groups;
    size_t ngroups;
    size_t *members; /* storage for group members */
};

uint64_t gen_rand(uint64_t *s);
const char *gen_kind_name(enum gen_kind k);
/* n VMs of the given kind; `anti_every` > 0 puts every anti_every-th VM into anti-affinity
 * groups of 3, `aff_every` > 0 pairs VMs by affinity. Caller frees with gen_free. */
void gen_inventory(struct gen *g, enum gen_kind kind, size_t n, uint64_t seed, size_t anti_every,
                   size_t aff_every);
/* Exactly `ngroups` anti-affinity groups of `size` members each. */
void gen_anti_groups(struct gen *g, size_t ngroups, size_t size, uint64_t seed);
void gen_free(struct gen *g);
double bench_now(void);     /* wall clock, seconds */
double bench_cpu_now(void); /* process CPU time, seconds */
long bench_peak_rss_kib(void);

#endif
