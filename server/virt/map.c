/* map: the string-keyed hash map behind the per-host domain config cache and
 * the snapshot's path -> volume lookups. Chained buckets keep deletion
 * (sweeping vanished domains) trivial; the table doubles past load 1. */
#include "virt_priv.h"

#include <stdlib.h>
#include <string.h>

static uint64_t
map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int
virt_map_init(struct virt_map *m, size_t hint)
{
    size_t nb = 64;
    while (nb < hint)
        nb *= 2;
    m->b = calloc(nb, sizeof(*m->b));
    if (!m->b)
        return -1;
    m->nb = nb;
    m->n = 0;
    return 0;
}

void
virt_map_fini(struct virt_map *m, void (*free_val)(void *))
{
    for (size_t i = 0; m->b && i < m->nb; i++) {
        struct virt_map_node *n = m->b[i];
        while (n) {
            struct virt_map_node *next = n->next;
            if (free_val && n->val)
                free_val(n->val);
            free(n);
            n = next;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

void **
virt_map_find(struct virt_map *m, const char *key)
{
    uint64_t h = map_hash(key);
    for (struct virt_map_node *n = m->b[h & (m->nb - 1)]; n; n = n->next)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return &n->val;
    return NULL;
}

static void
map_grow(struct virt_map *m)
{
    size_t nb = m->nb * 2;
    struct virt_map_node **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < m->nb; i++) {
        struct virt_map_node *n = m->b[i];
        while (n) {
            struct virt_map_node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void **
virt_map_upsert(struct virt_map *m, const char *key)
{
    void **slot = virt_map_find(m, key);
    if (slot)
        return slot;
    size_t len = strlen(key);
    struct virt_map_node *n = malloc(sizeof(*n) + len + 1);
    if (!n)
        return NULL;
    memcpy(n->key, key, len + 1);
    n->hash = map_hash(key);
    n->val = NULL;
    if (m->n + 1 > m->nb)
        map_grow(m);
    n->next = m->b[n->hash & (m->nb - 1)];
    m->b[n->hash & (m->nb - 1)] = n;
    m->n++;
    return &n->val;
}

void
virt_map_sweep(struct virt_map *m, bool (*keep)(void *val, void *ctx), void *ctx,
               void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        struct virt_map_node **pp = &m->b[i];
        while (*pp) {
            struct virt_map_node *n = *pp;
            if (keep(n->val, ctx)) {
                pp = &n->next;
                continue;
            }
            *pp = n->next;
            if (free_val && n->val)
                free_val(n->val);
            free(n);
            m->n--;
        }
    }
}
