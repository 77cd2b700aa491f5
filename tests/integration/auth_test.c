/* Issue 3's token rejections at the HTTP level: every forged or stale
 * credential answers 401 problem+json. Tokens are forged with the server's
 * own key (read from its data dir), so a rejection proves a claim check, not
 * a signature mismatch; a positive control re-signs a valid token. Also the
 * TOTP second factor end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static struct vp_proc srv;
static unsigned char key[128];
static size_t keylen;
static char *admin_token;

static int
setup(void **state)
{
    if (vp_start(&srv, NULL) < 0)
        return -1;
    admin_token = vp_login(&srv, "admin", srv.admin_password);
    char path[400];
    snprintf(path, sizeof(path), "%s/secrets/jwt.key", srv.dir);
    FILE *f = fopen(path, "rb");
    if (!f || !admin_token)
        return -1;
    keylen = fread(key, 1, sizeof(key), f);
    fclose(f);
    return keylen >= 32 ? 0 : -1;
}

static int
teardown(void **state)
{
    free(admin_token);
    vp_stop(&srv);
    return 0;
}

static char *
b64url(const unsigned char *in, size_t n)
{
    char *out = calloc(1, n * 2 + 8);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    return out;
}

static json_t *
payload_of(const char *jwt)
{
    const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    if (!b || b - a - 1 <= 0 || b - a > 4096)
        fail_msg("not a JWT: %s", jwt);
    size_t n = (size_t)(b - a - 1);
    char *s = calloc(1, n + 4);
    memcpy(s, a + 1, n);
    for (size_t i = 0; i < n; i++)
        s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (n % 4)
        s[n++] = '=';
    unsigned char *raw = calloc(1, n);
    int len = EVP_DecodeBlock(raw, (unsigned char *)s, (int)n);
    json_t *j = json_loadb((char *)raw, (size_t)len, JSON_DISABLE_EOF_CHECK, NULL);
    free(s);
    free(raw);
    assert_non_null(j);
    return j;
}

/* header.payload signed with HMAC-SHA256 under k (NULL = no signature). */
static char *
sign(const char *header, json_t *payload, const unsigned char *k, size_t klen)
{
    char *p = json_dumps(payload, JSON_COMPACT);
    char *h64 = b64url((const unsigned char *)header, strlen(header));
    char *p64 = b64url((const unsigned char *)p, strlen(p));
    char *input = NULL;
    assert_true(asprintf(&input, "%s.%s", h64, p64) > 0);
    char *sig = strdup("");
    if (k) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), k, (int)klen, (unsigned char *)input, strlen(input), mac, &maclen);
        free(sig);
        sig = b64url(mac, maclen);
    }
    char *out = NULL;
    assert_true(asprintf(&out, "%s.%s", input, sig) > 0);
    free(p);
    free(h64);
    free(p64);
    free(input);
    free(sig);
    return out;
}

static long
me_with(const char *token)
{
    struct vp_resp r;
    vp_json(&srv, "GET", "/api/v1/me", token, NULL, &r);
    long st = r.status;
    if (st == 401) {
        char *ct = vp_header(&r, "Content-Type");
        assert_string_equal(ct, "application/problem+json");
        free(ct);
    }
    vp_resp_free(&r);
    return st;
}

static const char *const hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* The valid token's claims with one member changed (value consumed). */
static long
forged(const char *header, const char *claim, json_t *value)
{
    json_t *p = payload_of(admin_token);
    if (claim)
        json_object_set_new(p, claim, value);
    char *t = sign(header, p, key, keylen);
    long st = me_with(t);
    free(t);
    json_decref(p);
    return st;
}

static void
test_positive_control(void **state)
{
    assert_int_equal(me_with(admin_token), 200);
    assert_int_equal(forged(hs256, NULL, NULL), 200); /* our forging is faithful */
}

static void
test_forged_tokens_are_rejected(void **state)
{
    int64_t now = time(NULL);
    assert_int_equal(forged("{\"alg\":\"none\",\"typ\":\"JWT\"}", NULL, NULL), 401);
    assert_int_equal(forged(hs256, "exp", json_integer(now - 120)), 401);
    assert_int_equal(forged(hs256, "nbf", json_integer(now + 3600)), 401);
    assert_int_equal(forged(hs256, "iss", json_string("someone-else")), 401);
    assert_int_equal(forged(hs256, "aud", json_string("another-api")), 401);
    assert_int_equal(forged(hs256, "typ", json_string("refresh")), 401);
    assert_int_equal(forged("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", NULL, NULL),
                     401);
    char pad[5200];
    memset(pad, 'a', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    assert_int_equal(forged(hs256, "pad", json_string(pad)), 401); /* > 4 KiB */
}

static void
test_bad_signatures_are_rejected(void **state)
{
    json_t *p = payload_of(admin_token);
    char *t = sign(hs256, p, NULL, 0); /* HS256 with an empty signature */
    assert_int_equal(me_with(t), 401);
    free(t);
    EVP_PKEY *k = EVP_EC_gen("P-256"); /* algorithm confusion: MAC with a public key PEM */
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    char *pem = NULL;
    long pemlen = BIO_get_mem_data(bio, &pem);
    t = sign(hs256, p, (const unsigned char *)pem, (size_t)pemlen);
    assert_int_equal(me_with(t), 401);
    free(t);
    BIO_free(bio);
    EVP_PKEY_free(k);
    json_decref(p);
}

static void
test_refresh_token_is_no_access_token(void **state)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"login\":\"admin\",\"password\":\"%s\"}", srv.admin_password);
    struct vp_resp r;
    vp_json(&srv, "POST", "/api/v1/auth/login", NULL, body, &r);
    char *sc = vp_header(&r, "Set-Cookie");
    assert_non_null(sc);
    char *v = strchr(sc, '=') + 1;
    *strchr(v, ';') = '\0';
    assert_int_equal(me_with(v), 401);
    free(sc);
    vp_resp_free(&r);
}

/* RFC 6238 code for base32 secret at time t (SHA-1, 30 s, 6 digits). */
static void
totp_code(const char *b32, time_t t, char out[7])
{
    unsigned char k[64];
    size_t n = 0;
    unsigned buf = 0;
    int bits = 0;
    for (const char *c = b32; *c; c++) {
        const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *pos = strchr(alpha, *c);
        if (!pos)
            continue;
        buf = (buf << 5) | (unsigned)(pos - alpha);
        if ((bits += 5) >= 8)
            k[n++] = (unsigned char)(buf >> (bits -= 8));
    }
    unsigned char msg[8], mac[20];
    uint64_t step = (uint64_t)t / 30;
    for (int i = 7; i >= 0; i--, step >>= 8)
        msg[i] = (unsigned char)step;
    unsigned int maclen = 0;
    HMAC(EVP_sha1(), k, (int)n, msg, 8, mac, &maclen);
    int off = mac[19] & 0xf;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    snprintf(out, 7, "%06u", bin % 1000000);
}

static long
login_with(const char *totp)
{
    char body[256];
    if (totp)
        snprintf(body, sizeof(body), "{\"login\":\"admin\",\"password\":\"%s\",\"totp\":\"%s\"}",
                 srv.admin_password, totp);
    else
        snprintf(body, sizeof(body), "{\"login\":\"admin\",\"password\":\"%s\"}",
                 srv.admin_password);
    struct vp_resp r;
    vp_json(&srv, "POST", "/api/v1/auth/login", NULL, body, &r);
    long st = r.status;
    vp_resp_free(&r);
    return st;
}

static void
test_totp_second_factor(void **state)
{
    json_t *j = NULL;
    struct vp_resp r;
    vp_json(&srv, "POST", "/api/v1/me/totp", admin_token, NULL, &r);
    assert_int_equal(r.status, 200);
    char *secret = strdup(json_string_value(json_object_get(r.json, "secret")));
    assert_non_null(
        strstr(json_string_value(json_object_get(r.json, "otpauth_uri")), "otpauth://"));
    vp_resp_free(&r);
    char code[7], body[256];
    snprintf(body, sizeof(body), "{\"secret\":\"%s\",\"code\":\"000000\"}", secret);
    vp_json(&srv, "POST", "/api/v1/me/totp/confirm", admin_token, body, &r);
    assert_int_equal(r.status, 400); /* a wrong code stores nothing */
    vp_resp_free(&r);
    assert_int_equal(login_with(NULL), 200);
    totp_code(secret, time(NULL), code);
    snprintf(body, sizeof(body), "{\"secret\":\"%s\",\"code\":\"%s\"}", secret, code);
    vp_json(&srv, "POST", "/api/v1/me/totp/confirm", admin_token, body, &r);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    assert_int_equal(login_with(NULL), 401);     /* the factor is now required */
    assert_int_equal(login_with("123456"), 401); /* (a 1-in-a-million collision aside) */
    totp_code(secret, time(NULL), code);
    assert_int_equal(login_with(code), 200);
    (void)j;
    free(secret);
}

/* A change that failed (here: bad input) leaves a "failed" audit row. */
static void
test_failed_change_is_audited(void **state)
{
    struct vp_resp r;
    vp_json(&srv, "POST", "/api/v1/tenants", admin_token,
            "{\"slug\":\"Not A Slug\",\"name\":\"x\"}", &r);
    assert_int_equal(r.status, 400);
    char *rid = vp_header(&r, "X-Request-Id");
    vp_resp_free(&r);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit?request_id=%s", rid);
    vp_json(&srv, "GET", path, admin_token, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *row = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "outcome")), "failed");
    assert_string_equal(json_string_value(json_object_get(row, "action")), "api.request_failed");
    assert_string_equal(json_string_value(json_object_get(row, "actor")), "admin");
    vp_resp_free(&r);
    free(rid);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive_control),
        cmocka_unit_test(test_forged_tokens_are_rejected),
        cmocka_unit_test(test_bad_signatures_are_rejected),
        cmocka_unit_test(test_refresh_token_is_no_access_token),
        cmocka_unit_test(test_failed_change_is_audited),
        cmocka_unit_test(test_totp_second_factor),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
