/* principal_cache: who a credential belongs to and what that principal holds,
 * remembered between requests. An entry is valid only while the database's
 * identity epoch (db_identity_epoch) is the one it was loaded under: any
 * commit that changes users, roles, bindings, tokens or sessions bumps the
 * epoch, so a demotion, a revoked token or a logout takes effect at the very
 * next request. Only successful authentications are cached. */
#ifndef VP_PRINCIPAL_CACHE_H
#define VP_PRINCIPAL_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "roles.h"

enum { PC_MAX_BINDINGS = 16, PC_KEY_MAX = 96 };

struct pc_principal {
    int64_t user_id, tenant_id;
    char login[65];
    char session[48]; /* refresh-token family of a session */
    int64_t token_id; /* API token, 0 for sessions */
    char token_prefix[24];
    int64_t token_expires; /* 0 = never */
    int64_t token_last_used;
    bool narrowed;
    size_t nb, ntb;
    struct auth_binding b[PC_MAX_BINDINGS];  /* the user's, folded per scope */
    struct auth_binding tb[PC_MAX_BINDINGS]; /* a narrowed token's own */
};

struct principal_cache;

/* A cache of about `slots` entries (rounded to a power of two). NULL on OOM. */
struct principal_cache *principal_cache_new(unsigned slots);
void principal_cache_free(struct principal_cache *pc);

/* Copies the entry for `key` into *out when it was stored under `epoch`. */
bool principal_cache_get(struct principal_cache *pc, const char *key, uint64_t epoch,
                         struct pc_principal *out);

/* Stores *p (copied) for `key`, loaded under `epoch`. Thread-safe. */
void principal_cache_put(struct principal_cache *pc, const char *key, uint64_t epoch,
                         const struct pc_principal *p);

#endif
