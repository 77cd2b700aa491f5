/* totp: RFC 4226 / RFC 6238 test vectors, the window, base32, the URI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "totp.h"

static const unsigned char rfc_key[] = "12345678901234567890"; /* 20 bytes, SHA-1 vectors */
#define RFC_KEYLEN 20

static void
test_rfc4226_hotp(void **state)
{
    /* RFC 4226 Appendix D */
    static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
                                    254676, 287922, 162583, 399871, 520489};
    for (uint64_t c = 0; c < 10; c++) {
        uint32_t v;
        assert_int_equal(auth_totp_hotp(rfc_key, RFC_KEYLEN, c, 6, &v), 0);
        assert_int_equal(v, want[c]);
    }
}

static void
test_rfc6238_vectors(void **state)
{
    /* RFC 6238 Appendix B, SHA-1, 8 digits */
    static const struct {
        int64_t t;
        uint32_t code;
    } v[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
             {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint32_t got;
        assert_int_equal(auth_totp_hotp(rfc_key, RFC_KEYLEN, (uint64_t)v[i].t / 30, 8, &got), 0);
        assert_int_equal(got, v[i].code);
        /* the 6-digit code is the same value's last 6 digits */
        char code[7], want[7];
        assert_int_equal(auth_totp_code(rfc_key, RFC_KEYLEN, (time_t)v[i].t, code), 0);
        snprintf(want, sizeof(want), "%06u", (unsigned)(v[i].code % 1000000));
        assert_string_equal(code, want);
    }
    uint32_t x;
    assert_int_equal(auth_totp_hotp(rfc_key, RFC_KEYLEN, 0, 5, &x), -1);
    assert_int_equal(auth_totp_hotp(rfc_key, 0, 0, 6, &x), -1);
}

static void
test_verify_window(void **state)
{
    const time_t now = 1111111111; /* step 37037037 */
    char code[7];
    int64_t step = -1;
    assert_int_equal(auth_totp_code(rfc_key, RFC_KEYLEN, now, code), 0);
    assert_string_equal(code, "050471");
    assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, code, now, &step), 1);
    assert_int_equal(step, now / 30);
    /* previous and next steps are accepted and reported as such */
    assert_int_equal(auth_totp_code(rfc_key, RFC_KEYLEN, now - 30, code), 0);
    assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, code, now, &step), 1);
    assert_int_equal(step, now / 30 - 1);
    assert_int_equal(auth_totp_code(rfc_key, RFC_KEYLEN, now + 30, code), 0);
    assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, code, now, &step), 1);
    assert_int_equal(step, now / 30 + 1);
    /* two steps away: refused */
    assert_int_equal(auth_totp_code(rfc_key, RFC_KEYLEN, now - 60, code), 0);
    char cur[7], prev[7], next[7];
    auth_totp_code(rfc_key, RFC_KEYLEN, now, cur);
    auth_totp_code(rfc_key, RFC_KEYLEN, now - 30, prev);
    auth_totp_code(rfc_key, RFC_KEYLEN, now + 30, next);
    if (strcmp(code, cur) && strcmp(code, prev) && strcmp(code, next))
        assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, code, now, &step), 0);
    /* malformed codes */
    static const char *const bad[] = {"", "05047", "0504711", "05047a", " 50471", "-50471"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, bad[i], now, &step), 0);
    assert_int_equal(auth_totp_verify(rfc_key, RFC_KEYLEN, NULL, now, &step), 0);
    /* another key */
    assert_int_equal(
        auth_totp_verify((const unsigned char *)"another key 20 bytes", 20, cur, now, &step), 0);
}

static void
test_base32(void **state)
{
    /* RFC 4648 §10 (we omit the padding) */
    static const char *const v[][2] = {{"", ""},
                                       {"f", "MY"},
                                       {"fo", "MZXQ"},
                                       {"foo", "MZXW6"},
                                       {"foob", "MZXW6YQ"},
                                       {"fooba", "MZXW6YTB"},
                                       {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *s = auth_totp_base32_encode((const unsigned char *)v[i][0], strlen(v[i][0]));
        assert_string_equal(s, v[i][1]);
        free(s);
        unsigned char out[16];
        size_t n;
        assert_int_equal(auth_totp_base32_decode(v[i][1], out, sizeof(out), &n), 0);
        assert_int_equal(n, strlen(v[i][0]));
        assert_memory_equal(out, v[i][0], n);
    }
    char *s = auth_totp_base32_encode(rfc_key, RFC_KEYLEN);
    assert_string_equal(s, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    free(s);
    /* as users type it */
    unsigned char out[32];
    size_t n;
    assert_int_equal(auth_totp_base32_decode("mzxw 6ytb oi======", out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(auth_totp_base32_decode("MZXW1", out, sizeof(out), &n), -1);
    assert_int_equal(auth_totp_base32_decode("MY=A", out, sizeof(out), &n), -1);
    assert_int_equal(auth_totp_base32_decode("MZXW6YTBOI", out, 5, &n), -1);
}

static void
test_secret_and_uri(void **state)
{
    err e = {0};
    unsigned char raw[AUTH_TOTP_SECRET_BYTES], back[AUTH_TOTP_SECRET_BYTES + 4];
    char *b32 = NULL;
    assert_int_equal(auth_totp_secret_new(raw, &b32, &e), 0);
    assert_int_equal(strlen(b32), 32);
    size_t n;
    assert_int_equal(auth_totp_base32_decode(b32, back, sizeof(back), &n), 0);
    assert_int_equal(n, AUTH_TOTP_SECRET_BYTES);
    assert_memory_equal(raw, back, n);
    free(b32);

    char *uri = auth_totp_uri("Virt Portal", "alice@example.com", "GEZDGNBVGY3TQOJQ");
    assert_string_equal(uri, "otpauth://totp/Virt%20Portal:alice%40example.com"
                             "?secret=GEZDGNBVGY3TQOJQ&issuer=Virt%20Portal&algorithm=SHA1"
                             "&digits=6&period=30");
    free(uri);
    uri = auth_totp_uri("a&b", "x:y?z", "AB");
    assert_non_null(strstr(uri, "a%26b:x%3Ay%3Fz?"));
    free(uri);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4226_hotp),   cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_verify_window),  cmocka_unit_test(test_base32),
        cmocka_unit_test(test_secret_and_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
