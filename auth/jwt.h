/* jwt: access tokens (HS256 JWT) issued and verified with every check ours.
 *
 * libjwt 1.10.2 accepts alg "none" with an empty key, confuses algorithms,
 * ignores crit and checks no claim (PITFALLS.md). So verification here: caps
 * the length (4 KiB), parses the raw header itself (alg must be exactly HS256,
 * typ absent or "JWT", nothing else — so no crit, jku, kid), checks the HMAC
 * with the configured key (constant time) before any payload byte is parsed,
 * parses the payload with jansson rejecting duplicate and unknown claims and
 * checks every claim: types, iss, aud, typ == "access", exp / nbf / iat with
 * the configured skew, and a lifetime no longer than the configured TTL.
 * Finally libjwt decodes the token with the same key as a second opinion and
 * jwt_get_alg() must say HS256.
 *
 * Roles and tenant are never taken from a token: `tid` is informative only.
 * Revocation (logout) is the caller's job, after verification (e.g. by jti or
 * session id): the cache below only remembers that a token's signature and
 * claims were valid, and re-checks exp / nbf on every hit.
 *
 * Thread safety: an auth_jwt is immutable after init except its cache, which
 * is lock-striped; issue and verify may run on any number of threads. */
#ifndef VP_AUTH_JWT_H
#define VP_AUTH_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define AUTH_JWT_MAX_LEN 4096 /* bytes; longer tokens are refused unread */
#define AUTH_JWT_SUB_MAX 128  /* bytes of a login, NUL included */
#define AUTH_JWT_TYP_MAX 16
#define AUTH_JWT_JTI_MAX 48

struct auth_jwt_config {
    const unsigned char *key; /* HS256 key, borrowed during init (copied) */
    size_t keylen;            /* >= 32 (AUTH_SECRET_MIN_LEN) or init fails */
    const char *issuer;       /* "iss", e.g. the portal's URL; non-empty */
    const char *audience;     /* "aud"; non-empty */
    int access_ttl_s;         /* lifetime of access tokens, 1..86400 (e.g. 900) */
    int skew_s;               /* tolerated clock skew for exp/nbf/iat, 0..300 */
    int cache_entries;        /* verified-token cache slots, 0 = no cache, max 1<<20 */
};

struct auth_jwt_claims {
    char sub[AUTH_JWT_SUB_MAX]; /* login */
    int64_t uid;                /* user id, > 0 */
    char typ[AUTH_JWT_TYP_MAX]; /* token use: "access" */
    char jti[AUTH_JWT_JTI_MAX]; /* unique id (random) */
    int64_t iat, nbf, exp;      /* seconds since the epoch */
    int64_t tid;                /* tenant id or 0; informative only */
};

/* Why a token was refused; for logs and audit details, never for the client. */
#define AUTH_JWT_REASON_LIST(X)                                                                    \
    X(OK, "ok")                                                                                    \
    X(TOO_LONG, "too-long")                                                                        \
    X(MALFORMED, "malformed")                                                                      \
    X(BAD_HEADER, "bad-header")                                                                    \
    X(BAD_ALG, "bad-alg")                                                                          \
    X(CRIT, "crit-header")                                                                         \
    X(BAD_SIGNATURE, "bad-signature")                                                              \
    X(BAD_CLAIMS, "bad-claims")                                                                    \
    X(BAD_ISSUER, "bad-issuer")                                                                    \
    X(BAD_AUDIENCE, "bad-audience")                                                                \
    X(BAD_TYP, "bad-token-use")                                                                    \
    X(EXPIRED, "expired")                                                                          \
    X(NOT_YET_VALID, "not-yet-valid")                                                              \
    X(LIBJWT, "libjwt-refused") /* our checks passed, libjwt's did not */                          \
    X(INTERNAL, "internal")

enum auth_jwt_reason {
#define X(id, slug) AUTH_JWT_##id,
    AUTH_JWT_REASON_LIST(X)
#undef X
};

struct auth_jwt;

/* A verifier/issuer for cfg (borrowed; the key and strings are copied). Refuses
 * keys shorter than 32 bytes or made of one repeated byte, empty iss/aud and
 * out-of-range numbers (ERR_INVALID). Caller frees with auth_jwt_free. */
struct auth_jwt *auth_jwt_init(const struct auth_jwt_config *cfg, err *e);

/* Frees j and wipes its key. NULL is fine. */
void auth_jwt_free(struct auth_jwt *j);

/* Signs a token for claims *c (in/out, borrowed). Fields left zero/empty get
 * defaults and are written back: typ "access", jti random, iat = now, nbf = iat,
 * exp = iat + access_ttl_s. sub must be non-empty and uid > 0. *token_out:
 * caller frees. Returns 0 or -1 (ERR_INVALID bad claims, ERR_INTERNAL). */
int auth_jwt_issue(struct auth_jwt *j, struct auth_jwt_claims *c, time_t now, char **token_out,
                   err *e);

/* Verifies token (borrowed) at time `now` and fills *out. Returns 0, or -1 with
 * ERR_UNAUTHENTICATED and a generic detail; *why (may be NULL) gets the reason. */
int auth_jwt_verify(struct auth_jwt *j, const char *token, time_t now, struct auth_jwt_claims *out,
                    enum auth_jwt_reason *why, err *e);

/* "expired", ...; static, never NULL. */
const char *auth_jwt_reason_name(enum auth_jwt_reason r);

/* Cache counters since init (for /metrics). */
void auth_jwt_cache_stats(struct auth_jwt *j, uint64_t *hits, uint64_t *misses);

#endif
