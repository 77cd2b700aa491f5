/* jwt: every token-level rejection of issue 3's "Must show" list, plus the
 * checks behind them. Tokens are forged here by hand (header and payload JSON,
 * HMAC with OpenSSL) so each test reaches the check it is about: e.g. an
 * alg:none token correctly MACed with the real key must still be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "secret.h"

#define NOW 1700000000
#define ISS "https://portal.example"
#define AUD "virtportal"
#define TTL 900
#define SKEW 30

static unsigned char key[32];

static struct auth_jwt_config
config(int cache)
{
    return (struct auth_jwt_config){.key = key,
                                    .keylen = sizeof(key),
                                    .issuer = ISS,
                                    .audience = AUD,
                                    .access_ttl_s = TTL,
                                    .skew_s = SKEW,
                                    .cache_entries = cache};
}

static struct auth_jwt *
new_jwt(int cache)
{
    err e = {0};
    struct auth_jwt_config c = config(cache);
    struct auth_jwt *j = auth_jwt_init(&c, &e);
    if (!j)
        fail_msg("init: %s", e.detail);
    return j;
}

static int
setup(void **state)
{
    if (auth_random_bytes(key, sizeof(key), NULL) < 0)
        return -1;
    *state = new_jwt(0);
    return 0;
}

static int
teardown(void **state)
{
    auth_jwt_free(*state);
    return 0;
}

/* "b64(header).b64(payload).sig" where sig is the HMAC-SHA256 with mac_key,
 * or empty when mac_key is NULL. Caller frees. */
static char *
forge(const char *header, const char *payload, const void *mac_key, size_t mac_keylen)
{
    char *h = auth_b64url_encode(header, strlen(header));
    char *p = auth_b64url_encode(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 64;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s.", h, p);
    if (mac_key) {
        unsigned char mac[32];
        unsigned int maclen;
        HMAC(EVP_sha256(), mac_key, (int)mac_keylen, (unsigned char *)out, strlen(out) - 1, mac,
             &maclen);
        char *s = auth_b64url_encode(mac, maclen);
        snprintf(out, n, "%s.%s.%s", h, p, s);
        free(s);
    }
    free(h);
    free(p);
    return out;
}

/* A payload like ours, with overrides. */
static char *
payload(const char *iss, const char *aud, const char *typ, long iat, long nbf, long exp)
{
    char *out = malloc(512);
    snprintf(out, 512,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\",\"typ\":\"%s\",\"jti\":\"j1\","
             "\"uid\":42,\"tid\":7,\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld}",
             iss, aud, typ, iat, nbf, exp);
    return out;
}

static char *
good_payload(void)
{
    return payload(ISS, AUD, "access", NOW, NOW, NOW + TTL);
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* Verifies tok at NOW and expects refusal with `why` (AUTH_JWT_OK = any reason). */
static void
expect_reject(struct auth_jwt *j, const char *tok, time_t now, enum auth_jwt_reason want)
{
    struct auth_jwt_claims c;
    enum auth_jwt_reason why = AUTH_JWT_OK;
    err e = {0};
    assert_int_equal(auth_jwt_verify(j, tok, now, &c, &why, &e), -1);
    assert_int_equal(e.kind, ERR_UNAUTHENTICATED);
    /* generic for the client, whatever the reason */
    assert_string_equal(e.detail, "invalid or expired access token");
    assert_int_not_equal(why, AUTH_JWT_OK);
    if (want != AUTH_JWT_OK && why != want)
        fail_msg("refused for %s, expected %s", auth_jwt_reason_name(why),
                 auth_jwt_reason_name(want));
}

static void
expect_accept(struct auth_jwt *j, const char *tok, time_t now)
{
    struct auth_jwt_claims c;
    enum auth_jwt_reason why;
    err e = {0};
    if (auth_jwt_verify(j, tok, now, &c, &why, &e) != 0)
        fail_msg("refused: %s", auth_jwt_reason_name(why));
}

/* ---- init ---- */

static void
test_init_refuses_bad_keys(void **state)
{
    err e = {0};
    struct auth_jwt_config c = config(0);
    c.key = NULL;
    assert_null(auth_jwt_init(&c, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    c = config(0);
    c.keylen = 0; /* libjwt would accept anything with this */
    assert_null(auth_jwt_init(&c, &e));
    c.key = (const unsigned char *)"";
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    c.keylen = 31;
    assert_null(auth_jwt_init(&c, &e));
    unsigned char zeros[64] = {0};
    c = config(0);
    c.key = zeros;
    c.keylen = sizeof(zeros);
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    c.issuer = "";
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    c.audience = NULL;
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    c.access_ttl_s = 0;
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    c.skew_s = -1;
    assert_null(auth_jwt_init(&c, &e));
    c = config(-1);
    assert_null(auth_jwt_init(&c, &e));
    c = config(0);
    struct auth_jwt *j = auth_jwt_init(&c, &e);
    assert_non_null(j);
    auth_jwt_free(j);
}

/* ---- the accepted path ---- */

static void
test_issue_and_verify(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42, .tid = 7};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), 0);
    assert_string_equal(c.typ, "access");
    assert_int_equal(c.iat, NOW);
    assert_int_equal(c.nbf, NOW);
    assert_int_equal(c.exp, NOW + TTL);
    assert_true(strlen(c.jti) >= 20);

    struct auth_jwt_claims out;
    enum auth_jwt_reason why = AUTH_JWT_INTERNAL;
    assert_int_equal(auth_jwt_verify(j, tok, NOW + 10, &out, &why, &e), 0);
    assert_int_equal(why, AUTH_JWT_OK);
    assert_string_equal(out.sub, "alice");
    assert_int_equal(out.uid, 42);
    assert_int_equal(out.tid, 7);
    assert_string_equal(out.jti, c.jti);
    assert_int_equal(out.exp, c.exp);

    /* a second token has another jti */
    struct auth_jwt_claims c2 = {.uid = 42};
    memcpy(c2.sub, "alice", 6);
    char *tok2 = NULL;
    assert_int_equal(auth_jwt_issue(j, &c2, NOW, &tok2, &e), 0);
    assert_string_not_equal(c.jti, c2.jti);
    free(tok);
    free(tok2);

    /* hand-made token in our exact shape is accepted too (the forge helper is sound) */
    char *p = good_payload();
    tok = forge(HS256, p, key, sizeof(key));
    expect_accept(j, tok, NOW);
    free(tok);
    tok = forge("{\"alg\":\"HS256\"}", p, key, sizeof(key)); /* typ is optional */
    expect_accept(j, tok, NOW);
    free(tok);
    free(p);
}

static void
test_issue_refuses_bad_claims(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    char *tok = NULL;
    struct auth_jwt_claims c = {.uid = 0};
    memcpy(c.sub, "alice", 6);
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), -1); /* uid 0 */
    struct auth_jwt_claims d = {.uid = 1};
    assert_int_equal(auth_jwt_issue(j, &d, NOW, &tok, &e), -1); /* no sub */
    struct auth_jwt_claims f = {.uid = 1};
    memcpy(f.sub, "alice", 6);
    memcpy(f.typ, "Bad!", 5);
    assert_int_equal(auth_jwt_issue(j, &f, NOW, &tok, &e), -1);
    assert_null(tok);
}

/* ---- Must show: token-level rejections ---- */

static void
test_alg_none(void **state)
{
    struct auth_jwt *j = *state;
    char *p = good_payload();
    /* the classic: unsigned */
    char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, 0);
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
    free(t);
    t = forge("{\"alg\":\"none\"}", p, NULL, 0);
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
    free(t);
    /* even with a valid MAC under our key, "none" is refused by the header check */
    t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
    free(t);
    /* other spellings and algorithms */
    static const char *const hdrs[] = {
        "{\"alg\":\"None\"}",  "{\"alg\":\"hs256\"}", "{\"alg\":\"HS512\"}",
        "{\"alg\":\"RS256\"}", "{\"alg\":\"ES256\"}", "{\"alg\":\"\"}",
        "{\"alg\":null}",      "{\"alg\":256}",       "{\"typ\":\"JWT\"}"};
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        t = forge(hdrs[i], p, key, sizeof(key));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
        free(t);
    }
    /* two-part token (no signature segment at all) */
    t = forge(HS256, p, NULL, 0);
    t[strlen(t) - 1] = '\0';
    expect_reject(j, t, NOW, AUTH_JWT_MALFORMED);
    free(t);
    free(p);
}

static void
test_empty_signature(void **state)
{
    struct auth_jwt *j = *state;
    char *p = good_payload();
    char *t = forge(HS256, p, NULL, 0); /* "h.p." */
    expect_reject(j, t, NOW, AUTH_JWT_BAD_SIGNATURE);
    free(t);
    /* a signature of the wrong size, or not canonical base64url */
    t = forge(HS256, p, key, sizeof(key));
    size_t n = strlen(t);
    t[n - 1] = t[n - 1] == 'A' ? 'B' : 'A'; /* changes the last char's unused bits or more */
    expect_reject(j, t, NOW, AUTH_JWT_BAD_SIGNATURE);
    t[n - 5] = '\0';
    expect_reject(j, t, NOW, AUTH_JWT_BAD_SIGNATURE);
    free(t);
    free(p);
}

/* The PEM text of a fresh public key of the given type ("EC" or "RSA"). */
static char *
public_pem(const char *type)
{
    EVP_PKEY *k = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                          : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

static void
test_hs256_with_public_key_pem(void **state)
{
    struct auth_jwt *j = *state;
    char *p = good_payload();
    static const char *const types[] = {"EC", "RSA"};
    for (int i = 0; i < 2; i++) {
        char *pem = public_pem(types[i]);
        assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
        char *t = forge(HS256, p, pem, strlen(pem));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_SIGNATURE);
        free(t);
        /* and announced as the asymmetric algorithm: refused before any MAC */
        t = forge(i == 0 ? "{\"alg\":\"ES256\",\"typ\":\"JWT\"}" : "{\"alg\":\"RS256\"}", p, pem,
                  strlen(pem));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
        free(t);
        free(pem);
    }
    /* any other key: refused */
    unsigned char other[32];
    assert_int_equal(auth_random_bytes(other, sizeof(other), NULL), 0);
    char *t = forge(HS256, p, other, sizeof(other));
    expect_reject(j, t, NOW, AUTH_JWT_BAD_SIGNATURE);
    free(t);
    free(p);
}

static void
test_expired(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW - 2000, &tok, &e), 0);
    expect_reject(j, tok, NOW, AUTH_JWT_EXPIRED);
    /* the boundary: valid until exp + skew (exclusive) */
    expect_accept(j, tok, (time_t)(c.exp + SKEW - 1));
    expect_reject(j, tok, (time_t)(c.exp + SKEW), AUTH_JWT_EXPIRED);
    free(tok);
    /* hand-made expired token */
    char *p = payload(ISS, AUD, "access", NOW - TTL - 100, NOW - TTL - 100, NOW - 100);
    char *t = forge(HS256, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_EXPIRED);
    free(t);
    free(p);
}

static void
test_future_nbf_and_iat(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42, .nbf = NOW + 600};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), 0);
    expect_reject(j, tok, NOW, AUTH_JWT_NOT_YET_VALID);
    expect_accept(j, tok, NOW + 600 - SKEW);
    free(tok);
    /* issued in the future (beyond skew) */
    char *p = payload(ISS, AUD, "access", NOW + 300, NOW, NOW + 600);
    char *t = forge(HS256, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_NOT_YET_VALID);
    free(t);
    free(p);
}

static void
test_wrong_iss_aud(void **state)
{
    struct auth_jwt *j = *state;
    char *p = payload("https://evil.example", AUD, "access", NOW, NOW, NOW + TTL);
    char *t = forge(HS256, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ISSUER);
    free(t);
    free(p);
    p = payload(ISS, "other-service", "access", NOW, NOW, NOW + TTL);
    t = forge(HS256, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_BAD_AUDIENCE);
    free(t);
    free(p);
    /* aud as an array is not our shape */
    p = strdup("{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\"],\"sub\":\"alice\",\"typ\":\"access\","
               "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
               "\"exp\":1700000900}");
    t = forge(HS256, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_BAD_CLAIMS);
    free(t);
    free(p);

    /* a token issued by a verifier with the same key but another issuer */
    err e = {0};
    struct auth_jwt_config cfg = config(0);
    cfg.issuer = "https://staging.example";
    struct auth_jwt *other = auth_jwt_init(&cfg, &e);
    struct auth_jwt_claims c = {.uid = 42};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(other, &c, NOW, &tok, &e), 0);
    expect_accept(other, tok, NOW);
    expect_reject(j, tok, NOW, AUTH_JWT_BAD_ISSUER);
    free(tok);
    auth_jwt_free(other);
}

static void
test_refresh_used_as_access(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42};
    memcpy(c.sub, "alice", 6);
    memcpy(c.typ, "refresh", 8);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), 0);
    expect_reject(j, tok, NOW, AUTH_JWT_BAD_TYP);
    free(tok);
    static const char *const typs[] = {"refresh", "id", "Access", "access "};
    for (size_t i = 0; i < 4; i++) {
        char *p = payload(ISS, AUD, typs[i], NOW, NOW, NOW + TTL);
        char *t = forge(HS256, p, key, sizeof(key));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_TYP);
        free(t);
        free(p);
    }
}

static void
test_crit_and_other_header_members(void **state)
{
    struct auth_jwt *j = *state;
    char *p = good_payload();
    char *t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_CRIT);
    free(t);
    t = forge("{\"alg\":\"HS256\",\"crit\":[]}", p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_CRIT);
    free(t);
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\",\"kid\":\"../../etc/passwd\"}",
        "{\"alg\":\"HS256\",\"jku\":\"https://evil.example/k\"}",
        "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
        "{\"alg\":\"HS256\",\"typ\":1}",
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        t = forge(hdrs[i], p, key, sizeof(key));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_HEADER);
        free(t);
    }
    /* duplicate alg: jansson refuses, libjwt would have taken the last */
    t = forge("{\"alg\":\"none\",\"alg\":\"HS256\"}", p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_MALFORMED);
    free(t);
    /* deep nesting in the header never reaches the parser */
    char deep[600] = "{\"alg\":\"HS256\",\"x\":";
    size_t n = strlen(deep);
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    for (int i = 0; i < 200; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    t = forge(deep, p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_MALFORMED);
    free(t);
    /* not JSON / not an object */
    t = forge("[\"HS256\"]", p, key, sizeof(key));
    expect_reject(j, t, NOW, AUTH_JWT_MALFORMED);
    free(t);
    free(p);
}

static void
test_size_cap(void **state)
{
    struct auth_jwt *j = *state;
    /* 5 KiB, correctly signed: refused before anything is decoded */
    char *big = malloc(4000);
    memset(big, 'a', 3999);
    big[3999] = '\0';
    char *p = malloc(5000);
    snprintf(p, 5000,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"typ\":\"access\",\"jti\":\"j1\","
             "\"uid\":42,\"tid\":7,\"iat\":%d,\"nbf\":%d,\"exp\":%d}",
             ISS, AUD, big, NOW, NOW, NOW + TTL);
    char *t = forge(HS256, p, key, sizeof(key));
    assert_true(strlen(t) > 5000);
    expect_reject(j, t, NOW, AUTH_JWT_TOO_LONG);
    free(t);
    /* exactly one byte over the cap */
    char *over = malloc(AUTH_JWT_MAX_LEN + 2);
    memset(over, 'A', AUTH_JWT_MAX_LEN + 1);
    over[AUTH_JWT_MAX_LEN + 1] = '\0';
    expect_reject(j, over, NOW, AUTH_JWT_TOO_LONG);
    over[AUTH_JWT_MAX_LEN] = '\0'; /* at the cap: read, and refused as malformed */
    expect_reject(j, over, NOW, AUTH_JWT_MALFORMED);
    free(over);
    expect_reject(j, "", NOW, AUTH_JWT_MALFORMED);
    expect_reject(j, NULL, NOW, AUTH_JWT_MALFORMED);
    expect_reject(j, "a.b.c.d", NOW, AUTH_JWT_MALFORMED);
    expect_reject(j, "..", NOW, AUTH_JWT_MALFORMED);
    free(big);
    free(p);
}

static void
test_claims_shape(void **state)
{
    struct auth_jwt *j = *state;
    static const char *const bad[] = {
        /* duplicate sub: libjwt lets the last one win, we refuse */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"sub\":\"admin\","
        "\"typ\":\"access\",\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,"
        "\"nbf\":1700000000,\"exp\":1700000900}",
        /* unknown claim (roles are never taken from a token) */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900,\"roles\":[\"admin\"]}",
        /* uid as a string */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":\"42\",\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900}",
        /* exp as a real */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900.5}",
        /* missing exp */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"x\":1}",
        /* lifetime longer than our TTL */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1800000000}",
        /* negative tenant, zero uid */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":0,\"tid\":-1,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900}",
        /* empty sub, NUL inside a string */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900}",
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"al\\u0000ice\",\"typ\":\"access\","
        "\"jti\":\"j1\",\"uid\":42,\"tid\":7,\"iat\":1700000000,\"nbf\":1700000000,"
        "\"exp\":1700000900}",
        "[1,2,3]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t = forge(HS256, bad[i], key, sizeof(key));
        expect_reject(j, t, NOW, AUTH_JWT_BAD_CLAIMS);
        free(t);
    }
}

static void
test_tampering(void **state)
{
    struct auth_jwt *j = *state;
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), 0);
    char *dot = strchr(tok, '.');
    /* flip one payload character */
    dot[3] = dot[3] == 'x' ? 'y' : 'x';
    expect_reject(j, tok, NOW, AUTH_JWT_OK);
    free(tok);
    /* a token from another key */
    struct auth_jwt_config cfg = config(0);
    unsigned char k2[32];
    assert_int_equal(auth_random_bytes(k2, sizeof(k2), NULL), 0);
    cfg.key = k2;
    struct auth_jwt *other = auth_jwt_init(&cfg, &e);
    assert_int_equal(auth_jwt_issue(other, &c, NOW, &tok, &e), 0);
    expect_reject(j, tok, NOW, AUTH_JWT_BAD_SIGNATURE);
    free(tok);
    auth_jwt_free(other);
}

/* ---- cache ---- */

static void
test_cache_honours_exp(void **state)
{
    struct auth_jwt *j = new_jwt(64);
    err e = {0};
    struct auth_jwt_claims c = {.uid = 42, .tid = 3};
    memcpy(c.sub, "alice", 6);
    char *tok = NULL;
    assert_int_equal(auth_jwt_issue(j, &c, NOW, &tok, &e), 0);
    uint64_t hits, misses;
    expect_accept(j, tok, NOW);
    auth_jwt_cache_stats(j, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 1);
    struct auth_jwt_claims out;
    assert_int_equal(auth_jwt_verify(j, tok, NOW + 1, &out, NULL, &e), 0);
    assert_string_equal(out.sub, "alice"); /* claims come back from the cache */
    assert_int_equal(out.tid, 3);
    assert_string_equal(out.jti, c.jti);
    auth_jwt_cache_stats(j, &hits, &misses);
    assert_int_equal(hits, 1);
    /* cached, but expired now: refused on the cache path */
    expect_reject(j, tok, (time_t)(c.exp + SKEW), AUTH_JWT_EXPIRED);
    auth_jwt_cache_stats(j, &hits, &misses);
    assert_int_equal(hits, 2);
    /* and a cached token verified at a time before its nbf is refused too */
    expect_reject(j, tok, NOW - SKEW - 1, AUTH_JWT_NOT_YET_VALID);
    free(tok);

    /* refused tokens never enter the cache: the same forged token is a miss each time */
    char *p = good_payload();
    char *t = forge("{\"alg\":\"none\"}", p, NULL, 0);
    auth_jwt_cache_stats(j, &hits, &misses);
    uint64_t h0 = hits;
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
    expect_reject(j, t, NOW, AUTH_JWT_BAD_ALG);
    auth_jwt_cache_stats(j, &hits, &misses);
    assert_int_equal(hits, h0);
    free(t);
    free(p);
    auth_jwt_free(j);
}

static void
test_cache_eviction_bounded(void **state)
{
    /* more tokens than slots: every one still verifies (evicted ones are re-verified) */
    struct auth_jwt *j = new_jwt(4);
    err e = {0};
    char *toks[32];
    for (int i = 0; i < 32; i++) {
        struct auth_jwt_claims c = {.uid = i + 1};
        snprintf(c.sub, sizeof(c.sub), "user%d", i);
        assert_int_equal(auth_jwt_issue(j, &c, NOW, &toks[i], &e), 0);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 32; i++) {
            struct auth_jwt_claims out;
            assert_int_equal(auth_jwt_verify(j, toks[i], NOW, &out, NULL, &e), 0);
            assert_int_equal(out.uid, i + 1);
        }
    }
    for (int i = 0; i < 32; i++)
        free(toks[i]);
    auth_jwt_free(j);
}

struct thread_arg {
    struct auth_jwt *j;
    char **toks;
    int ok;
};

static void *
verifier(void *p)
{
    struct thread_arg *a = p;
    for (int r = 0; r < 200; r++) {
        struct auth_jwt_claims out;
        int i = r % 8;
        if (auth_jwt_verify(a->j, a->toks[i], NOW, &out, NULL, NULL) == 0 && out.uid == i + 1)
            a->ok++;
    }
    return NULL;
}

static void
test_cache_threads(void **state)
{
    struct auth_jwt *j = new_jwt(4);
    err e = {0};
    char *toks[8];
    for (int i = 0; i < 8; i++) {
        struct auth_jwt_claims c = {.uid = i + 1};
        snprintf(c.sub, sizeof(c.sub), "user%d", i);
        assert_int_equal(auth_jwt_issue(j, &c, NOW, &toks[i], &e), 0);
    }
    pthread_t th[4];
    struct thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (struct thread_arg){j, toks, 0};
        pthread_create(&th[t], NULL, verifier, &args[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].ok, 200);
    }
    for (int i = 0; i < 8; i++)
        free(toks[i]);
    auth_jwt_free(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_refuses_bad_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_refuses_bad_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alg_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hs256_with_public_key_pem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_nbf_and_iat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_iss_aud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_used_as_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crit_and_other_header_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_honours_exp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_eviction_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
