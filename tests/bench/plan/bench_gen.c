#include "bench_gen.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t
gen_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double
unit(uint64_t *s)
{
    return (double)(gen_rand(s) >> 11) / 9007199254740992.0;
}

const char *
gen_kind_name(enum gen_kind k)
{
    static const char *const n[] = {"web", "db", "mixed", "random"};
    return (unsigned)k < GEN_KINDS ? n[k] : "?";
}

/* Real inventories have discrete sizes: vCPUs in powers of two, memory in GiB steps. */
static void
one(enum gen_kind kind, uint64_t *s, struct plan_item *it)
{
    static const double cpu_small[] = {1, 1, 2, 2, 2, 4, 4};
    static const double mem_small[] = {1, 2, 2, 4, 4, 8, 8, 16};
    static const double cpu_big[] = {4, 8, 8, 16, 16, 32};
    static const double mem_big[] = {32, 64, 64, 128, 192, 256};
    double cpu, mem, disk;
    switch (kind) {
    case GEN_WEB:
        cpu = cpu_small[gen_rand(s) % 7];
        mem = mem_small[gen_rand(s) % 8];
        disk = 20 + (double)(gen_rand(s) % 200);
        break;
    case GEN_DB:
        cpu = cpu_big[gen_rand(s) % 6];
        mem = mem_big[gen_rand(s) % 6];
        disk = 200 + (double)(gen_rand(s) % 3000);
        break;
    case GEN_MIXED: /* CPU-heavy and memory-heavy VMs: where FFD strands capacity */
        if (gen_rand(s) % 2) {
            cpu = 8 + (double)(gen_rand(s) % 4) * 4;
            mem = 4 + (double)(gen_rand(s) % 4) * 4;
        } else {
            cpu = 1 + (double)(gen_rand(s) % 2);
            mem = 32 + (double)(gen_rand(s) % 4) * 32;
        }
        disk = 50 + (double)(gen_rand(s) % 500);
        break;
    default:
        cpu = 1 + (double)(gen_rand(s) % 16);
        mem = 1 + 127 * unit(s);
        disk = 10 + 1000 * unit(s);
        break;
    }
    *it = (struct plan_item){.d = {cpu, mem * 1024, disk}};
}

static void
add_group(struct gen *g, enum plan_group_kind kind, size_t *m, size_t k, size_t idx)
{
    g->groups[g->ngroups++] =
        (struct plan_group){kind == PLAN_ANTI_AFFINITY ? "anti" : "aff", kind, m, k};
    (void)idx;
}

void
gen_inventory(struct gen *g, enum gen_kind kind, size_t n, uint64_t seed, size_t anti_every,
              size_t aff_every)
{
    memset(g, 0, sizeof(*g));
    uint64_t s = seed * 2654435761ULL + 88172645463325252ULL;
    g->n = n;
    g->items = calloc(n, sizeof(*g->items));
    g->groups = calloc(n + 1, sizeof(*g->groups));
    g->members = calloc(2 * n + 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        one(kind, &s, &g->items[i]);
    size_t used = 0;
    /* anti-affinity triples from VMs far apart in the list; affinity pairs of neighbours */
    for (size_t i = 0; anti_every && i + 2 * (n / 3) < n; i += anti_every) {
        size_t *m = &g->members[used];
        m[0] = i, m[1] = i + n / 3, m[2] = i + 2 * (n / 3);
        used += 3;
        add_group(g, PLAN_ANTI_AFFINITY, m, 3, i);
    }
    for (size_t i = 1; aff_every && i + 1 < n / 3; i += aff_every) {
        if (anti_every && (i % anti_every == 0 || (i + 1) % anti_every == 0))
            continue; /* keep the rules consistent */
        size_t *m = &g->members[used];
        m[0] = i, m[1] = i + 1;
        used += 2;
        add_group(g, PLAN_AFFINITY, m, 2, i);
    }
}

void
gen_anti_groups(struct gen *g, size_t ngroups, size_t size, uint64_t seed)
{
    uint64_t s = seed | 1;
    free(g->groups);
    free(g->members);
    g->groups = calloc(ngroups + 1, sizeof(*g->groups));
    g->members = calloc(ngroups * size + 1, sizeof(size_t));
    g->ngroups = 0;
    /* distinct members across groups: a stride through the inventory */
    size_t stride = g->n / (ngroups * size) ? g->n / (ngroups * size) : 1,
           next = gen_rand(&s) % stride;
    for (size_t k = 0; k < ngroups; k++) {
        size_t *m = &g->members[k * size];
        for (size_t j = 0; j < size; j++, next += stride)
            m[j] = next % g->n;
        add_group(g, PLAN_ANTI_AFFINITY, m, size, k);
    }
}

void
gen_free(struct gen *g)
{
    free(g->items);
    free(g->groups);
    free(g->members);
    memset(g, 0, sizeof(*g));
}

double
bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double
bench_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

long
bench_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}
