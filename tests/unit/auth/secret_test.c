/* secret: base64url, token strings, hashing, constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "secret.h"

static void
test_b64url_vectors(void **state)
{
    /* RFC 4648 §10, without padding */
    static const char *const v[][2] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *s = auth_b64url_encode(v[i][0], strlen(v[i][0]));
        assert_string_equal(s, v[i][1]);
        free(s);
        unsigned char out[16];
        size_t n = 99;
        assert_int_equal(auth_b64url_decode(v[i][1], strlen(v[i][1]), out, sizeof(out), &n), 0);
        assert_int_equal(n, strlen(v[i][0]));
        assert_memory_equal(out, v[i][0], n);
    }
    /* the url alphabet: 0xfb 0xff -> "-_8" (standard base64 would be "+/8=") */
    const unsigned char b[] = {0xfb, 0xff};
    char *s = auth_b64url_encode(b, 2);
    assert_string_equal(s, "-_8");
    free(s);
}

static void
test_b64url_round_trips(void **state)
{
    unsigned char in[97], out[97];
    for (size_t len = 0; len <= sizeof(in); len++) {
        assert_int_equal(auth_random_bytes(in, len ? len : 1, NULL), 0);
        char *s = auth_b64url_encode(in, len);
        assert_non_null(s);
        assert_null(strpbrk(s, "+/="));
        size_t n = 0;
        assert_int_equal(auth_b64url_decode(s, strlen(s), out, sizeof(out), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(in, out, len);
        if (len > 0) /* one byte short of room */
            assert_int_equal(auth_b64url_decode(s, strlen(s), out, len - 1, &n), -1);
        free(s);
    }
}

static void
test_b64url_strict(void **state)
{
    unsigned char out[16];
    size_t n;
    /* padding, bad length, other alphabets, whitespace; "Zh" and "Zm9" have non-zero
     * trailing bits: second spellings of "f" and "fo" */
    static const char *const bad[] = {"Zg==", "Zg=", "Z",   "Zm9v!", "Zm9+",
                                      "Zm9/", "Zh",  "Zm9", "Zm 9v", "Zm9\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (auth_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(auth_b64url_decode("Zm8B", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
}

static void
test_api_token(void **state)
{
    err e = {0};
    char *tok = NULL, *lookup = NULL, *tok2 = NULL, *lookup2 = NULL;
    assert_int_equal(auth_token_new("vpt", &tok, &lookup, &e), 0);
    assert_int_equal(strlen(lookup), AUTH_TOKEN_LOOKUP_LEN);
    assert_int_equal(strlen(tok), 4 + AUTH_TOKEN_LOOKUP_LEN + 1 + AUTH_TOKEN_SECRET_LEN);
    assert_int_equal(strncmp(tok, "vpt_", 4), 0);
    assert_memory_equal(tok + 4, lookup, AUTH_TOKEN_LOOKUP_LEN);
    char lk[AUTH_TOKEN_LOOKUP_LEN + 1];
    assert_int_equal(auth_token_parse(tok, "vpt", lk), 0);
    assert_string_equal(lk, lookup);
    assert_int_equal(auth_token_new("vpt", &tok2, &lookup2, &e), 0);
    assert_string_not_equal(tok, tok2);
    assert_string_not_equal(lookup, lookup2);

    /* malformed tokens */
    assert_int_equal(auth_token_parse(tok, "vpx", lk), -1);
    char *t = strdup(tok);
    t[strlen(t) - 1] = '\0'; /* secret one char short */
    assert_int_equal(auth_token_parse(t, "vpt", lk), -1);
    memcpy(t, tok, strlen(tok) + 1);
    t[5] = 'G'; /* lookup not hex */
    assert_int_equal(auth_token_parse(t, "vpt", lk), -1);
    memcpy(t, tok, strlen(tok) + 1);
    t[4 + AUTH_TOKEN_LOOKUP_LEN] = '-';
    assert_int_equal(auth_token_parse(t, "vpt", lk), -1);
    assert_int_equal(auth_token_parse("vpt_", "vpt", lk), -1);
    assert_int_equal(auth_token_parse("", "vpt", lk), -1);
    free(t);

    assert_int_equal(auth_token_new("VPT", &t, &lookup2, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(auth_token_new("", &t, &lookup2, &e), -1);
    assert_int_equal(auth_token_new("toolongprefix", &t, &lookup2, &e), -1);
    free(tok);
    free(tok2);
    free(lookup);
    free(lookup2);
}

static void
test_refresh_token(void **state)
{
    err e = {0};
    char *a = NULL, *b = NULL, *lk = (char *)"sentinel";
    assert_int_equal(auth_token_new(NULL, &a, &lk, &e), 0);
    assert_null(lk);
    assert_int_equal(auth_token_new(NULL, &b, NULL, &e), 0);
    assert_int_equal(strlen(a), AUTH_TOKEN_SECRET_LEN);
    assert_string_not_equal(a, b);
    unsigned char raw[32];
    size_t n;
    assert_int_equal(auth_b64url_decode(a, strlen(a), raw, sizeof(raw), &n), 0);
    assert_int_equal(n, 32);
    free(a);
    free(b);
}

static void
test_hash_and_compare(void **state)
{
    char h[AUTH_TOKEN_HASH_LEN + 1];
    auth_token_hash("abc", h); /* FIPS 180-2 example */
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auth_token_hash("", h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_true(auth_secret_equal("abc", 3, "abc", 3));
    assert_false(auth_secret_equal("abc", 3, "abd", 3));
    assert_false(auth_secret_equal("abc", 3, "abcd", 4));
    assert_true(auth_secret_equal("", 0, "", 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_vectors), cmocka_unit_test(test_b64url_round_trips),
        cmocka_unit_test(test_b64url_strict),  cmocka_unit_test(test_api_token),
        cmocka_unit_test(test_refresh_token),  cmocka_unit_test(test_hash_and_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
