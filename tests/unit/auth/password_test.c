/* password: Argon2id hash/verify, the hashing cap, and the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "password.h"

static void
test_hash_verify(void **state)
{
    err e = {0};
    char *h1 = NULL, *h2 = NULL;
    assert_int_equal(auth_password_hash("correct horse battery staple", &h1, &e), 0);
    assert_int_equal(auth_password_hash("correct horse battery staple", &h2, &e), 0);
    assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_string_not_equal(h1, h2); /* random salt */
    assert_int_equal(auth_password_verify(h1, "correct horse battery staple"), 1);
    assert_int_equal(auth_password_verify(h2, "correct horse battery staple"), 1);
    assert_int_equal(auth_password_verify(h1, "correct horse battery stapl"), 0);
    assert_int_equal(auth_password_verify(h1, ""), 0);
    assert_false(auth_password_needs_rehash(h1));
    free(h1);
    free(h2);
}

static void
test_verify_refuses_foreign_hashes(void **state)
{
    /* not argon2id, or parameters that would be a denial of service */
    assert_int_equal(auth_password_verify("", "x"), -1);
    assert_int_equal(auth_password_verify("plaintext", "plaintext"), -1);
    assert_int_equal(auth_password_verify("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x"),
                     -1);
    assert_int_equal(
        auth_password_verify("$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "x"), -1);
    assert_int_equal(
        auth_password_verify("$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "x"), -1);
    assert_int_equal(auth_password_verify("$argon2id$v=19$m=19456,t=2,p=1$!!$!!", "x"), -1);
    assert_true(auth_password_needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"));
    assert_true(auth_password_needs_rehash("garbage"));
}

static void
test_length_limits(void **state)
{
    err e = {0};
    char *big = malloc(AUTH_PASSWORD_MAX_BYTES + 2), *h = NULL;
    memset(big, 'k', AUTH_PASSWORD_MAX_BYTES + 1);
    big[AUTH_PASSWORD_MAX_BYTES + 1] = '\0';
    assert_int_equal(auth_password_hash(big, &h, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_null(h);
    big[AUTH_PASSWORD_MAX_BYTES] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(auth_password_hash(big, &h, &e), 0);
    assert_int_equal(auth_password_verify(h, big), 1);
    free(h);
    free(big);
}

static void
test_dummy_verify(void **state)
{
    /* must not crash and must really cost a verification: it uses today's
     * parameters, so it cannot need a rehash */
    auth_password_dummy_verify("anything at all");
    auth_password_dummy_verify("");
}

/* ---- the concurrency cap: 8 threads hash at once, a sampler watches ---- */

static atomic_int stop_sampler;
static atomic_int max_seen;

static void *
sampler(void *arg)
{
    while (!atomic_load(&stop_sampler)) {
        int n = auth_password_slots_in_use();
        int m = atomic_load(&max_seen);
        if (n > m)
            atomic_store(&max_seen, n);
        usleep(200);
    }
    return NULL;
}

static void *
hasher(void *arg)
{
    err e;
    char *h = NULL;
    if (auth_password_hash("a long enough test password", &h, &e) == 0)
        free(h);
    return h ? (void *)1 : NULL;
}

static void
test_hashing_is_capped(void **state)
{
    pthread_t s, th[8];
    atomic_store(&stop_sampler, 0);
    atomic_store(&max_seen, 0);
    pthread_create(&s, NULL, sampler, NULL);
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hasher, NULL);
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        ok += r != NULL;
    }
    atomic_store(&stop_sampler, 1);
    pthread_join(s, NULL);
    assert_int_equal(ok, 8);
    assert_true(atomic_load(&max_seen) <= AUTH_PASSWORD_MAX_CONCURRENT);
    assert_true(atomic_load(&max_seen) >= 1);
    assert_int_equal(auth_password_slots_in_use(), 0);
}

/* ---- policy ---- */

static void
expect_refused(const char *pw, const char *login, const char *detail_part)
{
    err e = {0};
    if (auth_password_policy(pw, login, &e) != -1)
        fail_msg("accepted: \"%s\"", pw);
    assert_int_equal(e.kind, ERR_INVALID);
    if (!strstr(e.detail, detail_part))
        fail_msg("\"%s\": detail \"%s\" lacks \"%s\"", pw, e.detail, detail_part);
}

static void
expect_accepted(const char *pw, const char *login)
{
    err e = {0};
    if (auth_password_policy(pw, login, &e) != 0)
        fail_msg("refused: \"%s\": %s", pw, e.detail);
}

static void
test_policy_length_and_text(void **state)
{
    expect_refused("short", NULL, "at least 12");
    expect_refused("elevenchars", NULL, "at least 12");
    /* 11 code points, 33 bytes: characters count, not bytes */
    expect_refused("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x91\xe3\x82\xb9"
                   "\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89\xe3\x81\xa7\xe3\x81\x99",
                   NULL, "at least 12");
    expect_accepted("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x91\xe3\x82\xb9"
                    "\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89\xe3\x81\xa7\xe3\x81\x99\xe3\x81\xad",
                    NULL);
    expect_refused("valid length but \xff bad", NULL, "UTF-8");
    expect_refused("overlong \xc0\xaf slash here", NULL, "UTF-8");
    expect_refused("tab\there is control", NULL, "control");
    char big[AUTH_PASSWORD_MAX_BYTES + 2];
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    big[sizeof(big) - 1] = '\0';
    expect_refused(big, NULL, "at most 1024");
    err e = {0};
    assert_int_equal(auth_password_policy(NULL, NULL, &e), -1);
}

static void
test_policy_trivial(void **state)
{
    expect_refused("aaaaaaaaaaaaaaaa", NULL, "repeated");
    expect_refused("abcabcabcabcabc", NULL, "repeated");
    expect_refused("XyXyXyXyXyXyXy", NULL, "repeated");
    expect_refused("alice-has-a-long-password", "Alice", "login");
    expect_refused("xxALICExx-and-more", "alice", "login");
    expect_refused("123456789012", NULL, "predictable");
    expect_refused("abcdefghijklmnop", NULL, "predictable");
    expect_refused("qwertyuiop123", NULL, "predictable");
    expect_refused("QWERTYasdfgh", NULL, "predictable");
    expect_refused("Password1234", NULL, "predictable");
    expect_refused("Password123!", NULL, "predictable");
    expect_refused("P@ssw0rd2024!", NULL, "predictable");
    expect_refused("iloveyou1234", NULL, "predictable");
    expect_refused("Summer2024!!", NULL, "predictable");
    expect_refused("1q2w3e4r5t6y", NULL, "predictable");
    expect_refused("zyxwvutsrqpo9876", NULL, "predictable");
    expect_refused("dragonmonkey12", NULL, "predictable");
}

static void
test_policy_accepts_reasonable(void **state)
{
    expect_accepted("correct horse battery staple", "alice");
    expect_accepted("Tr0ub4dor&3-xk", "bob");
    expect_accepted("MyDog!123456789Rex", NULL); /* a sequence inside is fine */
    expect_accepted("v8#Lq2!zR0@wPm", "al");     /* a 2-letter login is not searched */
    expect_accepted("gl\xc3\xbchwein am kamin", "root");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_verify_refuses_foreign_hashes),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_dummy_verify),
        cmocka_unit_test(test_hashing_is_capped),
        cmocka_unit_test(test_policy_length_and_text),
        cmocka_unit_test(test_policy_trivial),
        cmocka_unit_test(test_policy_accepts_reasonable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
