/* jwt: HS256 access tokens; the only includer of libjwt (see jwt.h). */
#include "jwt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "autoptr.h"
#include "secret.h"

#define JWT_LOCKS 16
#define JWT_WAYS 4                                  /* cache associativity */
#define JWT_PART_MAX (AUTH_JWT_MAX_LEN / 4 * 3 + 3) /* decoded bytes of one part */
#define JWT_TIME_MAX ((int64_t)1 << 40)             /* far beyond any sane date */

AUTOPTR_DEFINE(json_t, json_decref)
AUTOPTR_DEFINE(jwt_t, jwt_free)

struct jwt_cache_entry {
    unsigned char hash[32]; /* SHA-256 of the token; all zero = empty */
    struct auth_jwt_claims claims;
};

struct auth_jwt {
    unsigned char *key; /* immutable after init */
    size_t keylen;
    char *issuer, *audience;
    int ttl, skew;
    struct jwt_cache_entry *cache; /* set s (slots s*4..s*4+3) guarded by locks[s % JWT_LOCKS] */
    size_t cache_mask;             /* slots - 1 (power of two >= 4), cache NULL if disabled */
    pthread_mutex_t locks[JWT_LOCKS];
    _Atomic uint64_t hits, misses;
};

static const char *const reason_names[] = {
#define X(id, slug) slug,
    AUTH_JWT_REASON_LIST(X)
#undef X
};

const char *
auth_jwt_reason_name(enum auth_jwt_reason r)
{
    if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]))
        return "internal";
    return reason_names[r];
}

/* ---- setup ---- */

static int
jwt_config_check(const struct auth_jwt_config *cfg, err *e)
{
    if (!cfg->key || cfg->keylen < AUTH_SECRET_MIN_LEN)
        return err_set(e, ERR_INVALID, "the token signing key must be at least %d bytes",
                       AUTH_SECRET_MIN_LEN);
    size_t same = 1;
    while (same < cfg->keylen && cfg->key[same] == cfg->key[0])
        same++;
    if (same == cfg->keylen)
        return err_set(e, ERR_INVALID, "the token signing key is trivial (one repeated byte)");
    if (cfg->keylen > 4096)
        return err_set(e, ERR_INVALID, "the token signing key is longer than 4096 bytes");
    if (!cfg->issuer || !cfg->issuer[0] || strlen(cfg->issuer) > 255 || !cfg->audience ||
        !cfg->audience[0] || strlen(cfg->audience) > 255)
        return err_set(e, ERR_INVALID, "token issuer and audience must be 1 to 255 bytes");
    if (cfg->access_ttl_s < 1 || cfg->access_ttl_s > 86400 || cfg->skew_s < 0 || cfg->skew_s > 300)
        return err_set(e, ERR_INVALID, "token TTL must be 1..86400 s and skew 0..300 s");
    if (cfg->cache_entries < 0 || cfg->cache_entries > (1 << 20))
        return err_set(e, ERR_INVALID, "token cache size must be 0..1048576");
    return 0;
}

static int
jwt_cache_init(struct auth_jwt *j, int entries)
{
    for (int i = 0; i < JWT_LOCKS; i++)
        pthread_mutex_init(&j->locks[i], NULL);
    if (entries == 0)
        return 0;
    size_t n = JWT_WAYS;
    while (n < (size_t)entries)
        n <<= 1;
    j->cache = calloc(n, sizeof(*j->cache));
    j->cache_mask = n - 1;
    return j->cache ? 0 : -1;
}

struct auth_jwt *
auth_jwt_init(const struct auth_jwt_config *cfg, err *e)
{
    if (jwt_config_check(cfg, e) < 0)
        return NULL;
    struct auth_jwt *j = calloc(1, sizeof(*j));
    if (!j) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    j->key = malloc(cfg->keylen);
    j->keylen = cfg->keylen;
    j->issuer = strdup(cfg->issuer);
    j->audience = strdup(cfg->audience);
    j->ttl = cfg->access_ttl_s;
    j->skew = cfg->skew_s;
    if (jwt_cache_init(j, cfg->cache_entries) < 0 || !j->key || !j->issuer || !j->audience) {
        auth_jwt_free(j);
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    memcpy(j->key, cfg->key, cfg->keylen);
    return j;
}

void
auth_jwt_free(struct auth_jwt *j)
{
    if (!j)
        return;
    if (j->key)
        OPENSSL_cleanse(j->key, j->keylen);
    free(j->key);
    free(j->issuer);
    free(j->audience);
    free(j->cache);
    for (int i = 0; i < JWT_LOCKS; i++)
        pthread_mutex_destroy(&j->locks[i]);
    free(j);
}

void
auth_jwt_cache_stats(struct auth_jwt *j, uint64_t *hits, uint64_t *misses)
{
    *hits = atomic_load(&j->hits);
    *misses = atomic_load(&j->misses);
}

/* ---- issuing ---- */

static bool
jwt_typ_ok(const char *typ)
{
    size_t n = strlen(typ);
    if (n < 1 || n >= AUTH_JWT_TYP_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (typ[i] < 'a' || typ[i] > 'z')
            return false;
    }
    return true;
}

/* Fills the defaults of *c (see auth_jwt_issue) and checks the result. */
static int
jwt_claims_defaults(struct auth_jwt *j, struct auth_jwt_claims *c, time_t now, err *e)
{
    if (!c->sub[0] || strnlen(c->sub, AUTH_JWT_SUB_MAX) >= AUTH_JWT_SUB_MAX || c->uid <= 0 ||
        c->tid < 0)
        return err_set(e, ERR_INVALID, "token claims need a login and a user id");
    if (!c->typ[0])
        memcpy(c->typ, "access", sizeof("access"));
    if (!jwt_typ_ok(c->typ))
        return err_set(e, ERR_INVALID, "token use must be lowercase letters");
    if (!c->jti[0]) {
        unsigned char r[16];
        if (auth_random_bytes(r, sizeof(r), e) < 0)
            return -1;
        AUTOFREE char *s = auth_b64url_encode(r, sizeof(r));
        if (!s)
            return err_set(e, ERR_INTERNAL, "out of memory");
        memcpy(c->jti, s, strlen(s) + 1); /* 22 chars < AUTH_JWT_JTI_MAX */
    }
    if (strnlen(c->jti, AUTH_JWT_JTI_MAX) >= AUTH_JWT_JTI_MAX)
        return err_set(e, ERR_INVALID, "token id too long");
    if (!c->iat)
        c->iat = now;
    if (!c->nbf)
        c->nbf = c->iat;
    if (!c->exp)
        c->exp = c->iat + j->ttl;
    if (c->iat <= 0 || c->exp <= c->iat || c->iat > JWT_TIME_MAX || c->exp > JWT_TIME_MAX ||
        c->nbf <= 0 || c->nbf > JWT_TIME_MAX)
        return err_set(e, ERR_INVALID, "token times are out of range");
    return 0;
}

int
auth_jwt_issue(struct auth_jwt *j, struct auth_jwt_claims *c, time_t now, char **token_out, err *e)
{
    if (jwt_claims_defaults(j, c, now, e) < 0)
        return -1;
    AUTOPTR(jwt_t) t = NULL;
    if (jwt_new(&t) != 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    /* jwt_set_alg can fail and leave alg "none": every return value matters. */
    int rc = jwt_set_alg(t, JWT_ALG_HS256, j->key, (int)j->keylen);
    rc = rc ? rc : jwt_add_grant(t, "iss", j->issuer);
    rc = rc ? rc : jwt_add_grant(t, "aud", j->audience);
    rc = rc ? rc : jwt_add_grant(t, "sub", c->sub);
    rc = rc ? rc : jwt_add_grant(t, "typ", c->typ);
    rc = rc ? rc : jwt_add_grant(t, "jti", c->jti);
    rc = rc ? rc : jwt_add_grant_int(t, "uid", (long)c->uid);
    rc = rc ? rc : jwt_add_grant_int(t, "tid", (long)c->tid);
    rc = rc ? rc : jwt_add_grant_int(t, "iat", (long)c->iat);
    rc = rc ? rc : jwt_add_grant_int(t, "nbf", (long)c->nbf);
    rc = rc ? rc : jwt_add_grant_int(t, "exp", (long)c->exp);
    if (rc != 0 || jwt_get_alg(t) != JWT_ALG_HS256)
        return err_set(e, ERR_INTERNAL, "cannot build the token");
    char *s = jwt_encode_str(t);
    if (!s)
        return err_set(e, ERR_INTERNAL, "cannot sign the token");
    if (strlen(s) > AUTH_JWT_MAX_LEN) {
        free(s);
        return err_set(e, ERR_INVALID, "token would be too long");
    }
    *token_out = s;
    return 0;
}

/* ---- verifying: parsing ---- */

struct jwt_parts {
    const char *hdr, *pay, *sig;
    size_t hdrlen, paylen, siglen;
};

/* Splits a token into three parts at exactly two dots; header and payload must
 * be non-empty (an empty signature is the MAC check's to refuse). */
static int
jwt_split(const char *tok, size_t len, struct jwt_parts *p)
{
    const char *d1 = memchr(tok, '.', len);
    if (!d1)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        return -1;
    p->hdr = tok;
    p->hdrlen = (size_t)(d1 - tok);
    p->pay = d1 + 1;
    p->paylen = (size_t)(d2 - d1 - 1);
    p->sig = d2 + 1;
    p->siglen = len - (size_t)(d2 + 1 - tok);
    return p->hdrlen && p->paylen ? 0 : -1;
}

/* True when the JSON text nests no deeper than `max` (objects/arrays), so the
 * recursive parser cannot run a small thread stack out (PITFALLS: civetweb). */
static bool
jwt_depth_ok(const unsigned char *s, size_t n, int max)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_str = false;
        } else if (s[i] == '"') {
            in_str = true;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++depth > max)
                return false;
        } else if (s[i] == '}' || s[i] == ']') {
            depth--;
        }
    }
    return true;
}

/* base64url-decodes one part and parses it as a JSON object, refusing
 * duplicate keys (libjwt would let the last one win) and nesting deeper than
 * an object holding arrays ("crit": [...]). NULL on any failure. */
static json_t *
jwt_part_json(const char *part, size_t len)
{
    unsigned char buf[JWT_PART_MAX];
    size_t n;
    if (auth_b64url_decode(part, len, buf, sizeof(buf), &n) < 0 || !jwt_depth_ok(buf, n, 2))
        return NULL;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The header must be exactly {"alg":"HS256"} plus an optional "typ":"JWT".
 * Any other member is refused, `crit` by name (RFC 7515 §4.1.11: we
 * understand no extension, so a token that demands one must be rejected). */
static enum auth_jwt_reason
jwt_check_header(const struct jwt_parts *p)
{
    AUTOPTR(json_t) h = jwt_part_json(p->hdr, p->hdrlen);
    if (!h)
        return AUTH_JWT_MALFORMED;
    if (json_object_get(h, "crit"))
        return AUTH_JWT_CRIT;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    if (!alg || strcmp(alg, "HS256") != 0)
        return AUTH_JWT_BAD_ALG;
    json_t *typ = json_object_get(h, "typ");
    if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        return AUTH_JWT_BAD_HEADER;
    if (json_object_size(h) != (typ ? 2u : 1u))
        return AUTH_JWT_BAD_HEADER;
    return AUTH_JWT_OK;
}

/* Our own HMAC check, constant time, before any payload byte is parsed. */
static enum auth_jwt_reason
jwt_check_mac(struct auth_jwt *j, const char *tok, const struct jwt_parts *p)
{
    unsigned char sig[32], mac[EVP_MAX_MD_SIZE];
    size_t siglen;
    unsigned int maclen = 0;
    if (auth_b64url_decode(p->sig, p->siglen, sig, sizeof(sig), &siglen) < 0 ||
        siglen != sizeof(sig))
        return AUTH_JWT_BAD_SIGNATURE;
    size_t signed_len = p->hdrlen + 1 + p->paylen;
    if (!HMAC(EVP_sha256(), j->key, (int)j->keylen, (const unsigned char *)tok, signed_len, mac,
              &maclen) ||
        maclen != 32)
        return AUTH_JWT_INTERNAL;
    return CRYPTO_memcmp(sig, mac, 32) == 0 ? AUTH_JWT_OK : AUTH_JWT_BAD_SIGNATURE;
}

/* libjwt's own verification with our key only (never empty: init refuses
 * short keys), then the alg pin: the library must agree with us, or the token
 * is refused. */
static enum auth_jwt_reason
jwt_check_libjwt(struct auth_jwt *j, const char *tok)
{
    AUTOPTR(jwt_t) t = NULL;
    if (jwt_decode(&t, tok, j->key, (int)j->keylen) != 0 || !t)
        return AUTH_JWT_LIBJWT;
    if (jwt_get_alg(t) != JWT_ALG_HS256)
        return AUTH_JWT_BAD_ALG;
    return AUTH_JWT_OK;
}

/* ---- verifying: claims ---- */

static bool
claim_str(json_t *o, const char *k, char *dst, size_t cap)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap || memchr(json_string_value(v), '\0', n))
        return false;
    memcpy(dst, json_string_value(v), n + 1);
    return true;
}

static bool
claim_int(json_t *o, const char *k, int64_t min, int64_t *dst)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < min || x > JWT_TIME_MAX)
        return false;
    *dst = (int64_t)x;
    return true;
}

/* Our tokens carry exactly these ten claims; anything else was not made here. */
#define JWT_NCLAIMS 10

static enum auth_jwt_reason
jwt_parse_claims(struct auth_jwt *j, const struct jwt_parts *p, struct auth_jwt_claims *c)
{
    AUTOPTR(json_t) o = jwt_part_json(p->pay, p->paylen);
    if (!o)
        return AUTH_JWT_BAD_CLAIMS;
    char iss[256], aud[256];
    memset(c, 0, sizeof(*c));
    if (json_object_size(o) != JWT_NCLAIMS || !claim_str(o, "iss", iss, sizeof(iss)) ||
        !claim_str(o, "aud", aud, sizeof(aud)) || !claim_str(o, "sub", c->sub, sizeof(c->sub)) ||
        !claim_str(o, "typ", c->typ, sizeof(c->typ)) ||
        !claim_str(o, "jti", c->jti, sizeof(c->jti)) || !claim_int(o, "uid", 1, &c->uid) ||
        !claim_int(o, "tid", 0, &c->tid) || !claim_int(o, "iat", 1, &c->iat) ||
        !claim_int(o, "nbf", 1, &c->nbf) || !claim_int(o, "exp", 1, &c->exp))
        return AUTH_JWT_BAD_CLAIMS;
    if (strcmp(iss, j->issuer) != 0)
        return AUTH_JWT_BAD_ISSUER;
    if (strcmp(aud, j->audience) != 0)
        return AUTH_JWT_BAD_AUDIENCE;
    if (strcmp(c->typ, "access") != 0)
        return AUTH_JWT_BAD_TYP;
    /* A lifetime longer than ours was not issued by this configuration. */
    if (c->exp <= c->iat || c->exp - c->iat > j->ttl)
        return AUTH_JWT_BAD_CLAIMS;
    return AUTH_JWT_OK;
}

/* Time checks, also run on every cache hit. */
static enum auth_jwt_reason
jwt_check_times(struct auth_jwt *j, const struct auth_jwt_claims *c, time_t now)
{
    if ((int64_t)now >= c->exp + j->skew)
        return AUTH_JWT_EXPIRED;
    if (c->nbf > (int64_t)now + j->skew || c->iat > (int64_t)now + j->skew)
        return AUTH_JWT_NOT_YET_VALID;
    return AUTH_JWT_OK;
}

/* ---- verifying: cache ---- */

/* The set of 4 slots token hash h maps to. */
static size_t
jwt_cache_set(struct auth_jwt *j, const unsigned char h[32])
{
    size_t i;
    memcpy(&i, h, sizeof(i));
    return (i & j->cache_mask) & ~(size_t)(JWT_WAYS - 1);
}

static bool
jwt_cache_get(struct auth_jwt *j, const unsigned char h[32], struct auth_jwt_claims *out)
{
    size_t set = jwt_cache_set(j, h);
    pthread_mutex_t *lock = &j->locks[(set / JWT_WAYS) % JWT_LOCKS];
    bool hit = false;
    pthread_mutex_lock(lock);
    for (size_t w = set; w < set + JWT_WAYS && !hit; w++) {
        if (memcmp(j->cache[w].hash, h, 32) == 0) {
            *out = j->cache[w].claims;
            hit = true;
        }
    }
    pthread_mutex_unlock(lock);
    atomic_fetch_add(hit ? &j->hits : &j->misses, 1);
    return hit;
}

/* 4-way set-associative: a new token takes an empty or expired slot of its set,
 * else the one expiring first (bounded memory; only fully verified tokens ever
 * get in, so an attacker's garbage cannot evict anything). */
static void
jwt_cache_put(struct auth_jwt *j, const unsigned char h[32], const struct auth_jwt_claims *c,
              time_t now)
{
    size_t set = jwt_cache_set(j, h), victim = set;
    pthread_mutex_t *lock = &j->locks[(set / JWT_WAYS) % JWT_LOCKS];
    pthread_mutex_lock(lock);
    for (size_t w = set; w < set + JWT_WAYS; w++) {
        struct jwt_cache_entry *en = &j->cache[w];
        if (memcmp(en->hash, h, 32) == 0 || en->claims.exp + j->skew <= (int64_t)now) {
            victim = w; /* already there, empty (exp 0) or expired */
            break;
        }
        if (en->claims.exp < j->cache[victim].claims.exp)
            victim = w;
    }
    memcpy(j->cache[victim].hash, h, 32);
    j->cache[victim].claims = *c;
    pthread_mutex_unlock(lock);
}

/* ---- verifying ---- */

/* Every check but the cache; fills *c when the token is good. */
static enum auth_jwt_reason
jwt_verify_full(struct auth_jwt *j, const char *tok, size_t len, struct auth_jwt_claims *c)
{
    struct jwt_parts p;
    if (jwt_split(tok, len, &p) < 0)
        return AUTH_JWT_MALFORMED;
    enum auth_jwt_reason r = jwt_check_header(&p);
    if (r == AUTH_JWT_OK)
        r = jwt_check_mac(j, tok, &p);
    if (r == AUTH_JWT_OK)
        r = jwt_parse_claims(j, &p, c);
    /* last, as a second opinion: our checks decide the reason */
    if (r == AUTH_JWT_OK)
        r = jwt_check_libjwt(j, tok);
    return r;
}

int
auth_jwt_verify(struct auth_jwt *j, const char *token, time_t now, struct auth_jwt_claims *out,
                enum auth_jwt_reason *why, err *e)
{
    enum auth_jwt_reason r = AUTH_JWT_OK;
    struct auth_jwt_claims c;
    unsigned char h[32];
    size_t len = token ? strnlen(token, AUTH_JWT_MAX_LEN + 1) : 0;
    if (len == 0)
        r = AUTH_JWT_MALFORMED;
    else if (len > AUTH_JWT_MAX_LEN)
        r = AUTH_JWT_TOO_LONG;
    else if (j->cache && EVP_Digest(token, len, h, NULL, EVP_sha256(), NULL) != 1)
        r = AUTH_JWT_INTERNAL;
    else if (!j->cache || !jwt_cache_get(j, h, &c)) {
        r = jwt_verify_full(j, token, len, &c);
        if (r == AUTH_JWT_OK && j->cache && jwt_check_times(j, &c, now) == AUTH_JWT_OK)
            jwt_cache_put(j, h, &c, now);
    }
    if (r == AUTH_JWT_OK)
        r = jwt_check_times(j, &c, now);
    if (why)
        *why = r;
    if (r != AUTH_JWT_OK)
        return err_set(e, ERR_UNAUTHENTICATED, "invalid or expired access token");
    *out = c;
    return 0;
}
