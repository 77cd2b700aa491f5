/* throttle: fixed-size, lock-protected failure counters (see throttle.h). */
#include "throttle.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "secret.h"

#define TH_WAYS 8

struct th_entry {
    unsigned char id[16];                      /* keyed hash of the key; zero = free */
    int64_t fails[AUTH_THROTTLE_MAX_FAILURES]; /* ring of the last failures, 0 = none */
    int head;                                  /* next ring slot to overwrite */
};

struct auth_throttle {
    pthread_mutex_t lock; /* guards entries */
    struct th_entry *entries;
    size_t set_mask; /* sets - 1 */
    int max, window;
    unsigned char salt[32]; /* immutable after new */
};

struct auth_throttle *
auth_throttle_new(size_t slots, int max_failures, int window_s, err *e)
{
    if (max_failures < 1 || max_failures > AUTH_THROTTLE_MAX_FAILURES || window_s < 1 ||
        slots > ((size_t)1 << 22)) {
        err_set(e, ERR_INVALID, "throttle limits out of range");
        return NULL;
    }
    size_t n = 64;
    while (n < slots)
        n <<= 1;
    struct auth_throttle *t = calloc(1, sizeof(*t));
    if (!t || !(t->entries = calloc(n, sizeof(*t->entries)))) {
        free(t);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    if (auth_random_bytes(t->salt, sizeof(t->salt), e) < 0) {
        auth_throttle_free(t);
        return NULL;
    }
    t->set_mask = n / TH_WAYS - 1;
    t->max = max_failures;
    t->window = window_s;
    return t;
}

void
auth_throttle_free(struct auth_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->entries);
    OPENSSL_cleanse(t->salt, sizeof(t->salt));
    free(t);
}

/* id = SHA-256(salt || key)[0..16); never all zero (that marks a free entry). */
static void
th_id(struct auth_throttle *t, const char *key, unsigned char id[16])
{
    unsigned char md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, t->salt, sizeof(t->salt)) != 1 ||
        EVP_DigestUpdate(ctx, key, strlen(key)) != 1 || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
        memset(md, 0xff, sizeof(md)); /* cannot happen; all such keys share one entry */
    EVP_MD_CTX_free(ctx);
    md[0] |= 1;
    memcpy(id, md, 16);
}

static struct th_entry *
th_set(struct auth_throttle *t, const unsigned char id[16])
{
    uint64_t h;
    memcpy(&h, id + 8, sizeof(h));
    return &t->entries[(h & t->set_mask) * TH_WAYS];
}

static struct th_entry *
th_find(struct th_entry *set, const unsigned char id[16])
{
    for (int w = 0; w < TH_WAYS; w++) {
        if (memcmp(set[w].id, id, 16) == 0)
            return &set[w];
    }
    return NULL;
}

static int64_t
th_newest(const struct th_entry *en, int max)
{
    return en->fails[(en->head + max - 1) % max];
}

/* The entry to reuse for a new key: a free or stale one, else the least recent. */
static struct th_entry *
th_victim(struct auth_throttle *t, struct th_entry *set, time_t now)
{
    struct th_entry *best = &set[0];
    for (int w = 0; w < TH_WAYS; w++) {
        int64_t last = th_newest(&set[w], t->max);
        if (last <= (int64_t)now - t->window)
            return &set[w];
        if (last < th_newest(best, t->max))
            best = &set[w];
    }
    return best;
}

int
auth_throttle_check(struct auth_throttle *t, const char *key, time_t now, int *retry_after)
{
    unsigned char id[16];
    th_id(t, key, id);
    int blocked = 0;
    pthread_mutex_lock(&t->lock);
    struct th_entry *en = th_find(th_set(t, id), id);
    /* The ring holds the last `max` failures; the oldest is the next to go. */
    int64_t oldest = en ? en->fails[en->head] : 0;
    if (en && oldest > 0 && oldest > (int64_t)now - t->window) {
        blocked = 1;
        if (retry_after)
            *retry_after = (int)(oldest + t->window - (int64_t)now);
    }
    pthread_mutex_unlock(&t->lock);
    if (blocked && retry_after && *retry_after < 1)
        *retry_after = 1;
    return blocked;
}

void
auth_throttle_fail(struct auth_throttle *t, const char *key, time_t now)
{
    unsigned char id[16];
    th_id(t, key, id);
    pthread_mutex_lock(&t->lock);
    struct th_entry *set = th_set(t, id);
    struct th_entry *en = th_find(set, id);
    if (!en) {
        en = th_victim(t, set, now);
        memset(en, 0, sizeof(*en));
        memcpy(en->id, id, 16);
    }
    en->fails[en->head] = now > 0 ? (int64_t)now : 1;
    en->head = (en->head + 1) % t->max;
    pthread_mutex_unlock(&t->lock);
}

void
auth_throttle_ok(struct auth_throttle *t, const char *key)
{
    unsigned char id[16];
    th_id(t, key, id);
    pthread_mutex_lock(&t->lock);
    struct th_entry *en = th_find(th_set(t, id), id);
    if (en)
        memset(en, 0, sizeof(*en));
    pthread_mutex_unlock(&t->lock);
}
