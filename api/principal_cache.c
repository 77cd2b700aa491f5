#include "principal_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { PC_STRIPES = 64 };

struct pc_slot {
    char key[PC_KEY_MAX];
    uint64_t epoch;
    struct pc_principal p;
};

struct principal_cache {
    unsigned mask;
    pthread_mutex_t stripes[PC_STRIPES]; /* stripe i guards slots with index % PC_STRIPES == i */
    struct pc_slot *slots;
};

struct principal_cache *
principal_cache_new(unsigned slots)
{
    unsigned n = PC_STRIPES;
    while (n < slots && n < (1u << 20))
        n <<= 1;
    struct principal_cache *pc = calloc(1, sizeof(*pc));
    if (!pc || !(pc->slots = calloc(n, sizeof(*pc->slots)))) {
        free(pc);
        return NULL;
    }
    pc->mask = n - 1;
    for (int i = 0; i < PC_STRIPES; i++)
        pthread_mutex_init(&pc->stripes[i], NULL);
    return pc;
}

void
principal_cache_free(struct principal_cache *pc)
{
    if (!pc)
        return;
    for (int i = 0; i < PC_STRIPES; i++)
        pthread_mutex_destroy(&pc->stripes[i]);
    free(pc->slots);
    free(pc);
}

static unsigned
slot_of(const struct principal_cache *pc, const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *k = key; *k; k++)
        h = (h ^ (unsigned char)*k) * 16777619u;
    return h & pc->mask;
}

bool
principal_cache_get(struct principal_cache *pc, const char *key, uint64_t epoch,
                    struct pc_principal *out)
{
    if (!pc)
        return false;
    unsigned i = slot_of(pc, key);
    pthread_mutex_t *m = &pc->stripes[i % PC_STRIPES];
    pthread_mutex_lock(m);
    bool hit = pc->slots[i].epoch == epoch && !strcmp(pc->slots[i].key, key);
    if (hit)
        *out = pc->slots[i].p;
    pthread_mutex_unlock(m);
    return hit;
}

void
principal_cache_put(struct principal_cache *pc, const char *key, uint64_t epoch,
                    const struct pc_principal *p)
{
    if (!pc || strlen(key) >= PC_KEY_MAX)
        return;
    unsigned i = slot_of(pc, key);
    pthread_mutex_t *m = &pc->stripes[i % PC_STRIPES];
    pthread_mutex_lock(m);
    memcpy(pc->slots[i].key, key, strlen(key) + 1);
    pc->slots[i].epoch = epoch;
    pc->slots[i].p = *p;
    pthread_mutex_unlock(m);
}
