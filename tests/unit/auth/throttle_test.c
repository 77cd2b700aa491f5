/* throttle: 5 failures a minute per key, Retry-After, bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "throttle.h"

#define T0 1700000000

static struct auth_throttle *
new_throttle(size_t slots)
{
    err e = {0};
    struct auth_throttle *t =
        auth_throttle_new(slots, AUTH_THROTTLE_FAILURES, AUTH_THROTTLE_WINDOW, &e);
    assert_non_null(t);
    return t;
}

static void
test_five_failures_block(void **state)
{
    struct auth_throttle *t = new_throttle(1024);
    int ra = -1;
    for (int i = 0; i < 4; i++) {
        auth_throttle_fail(t, "acct:alice", T0 + i);
        assert_int_equal(auth_throttle_check(t, "acct:alice", T0 + i, &ra), 0);
    }
    auth_throttle_fail(t, "acct:alice", T0 + 4);
    assert_int_equal(auth_throttle_check(t, "acct:alice", T0 + 4, &ra), 1);
    assert_int_equal(ra, 56); /* the first failure (T0) leaves the window at T0 + 60 */
    assert_int_equal(auth_throttle_check(t, "acct:alice", T0 + 59, &ra), 1);
    assert_int_equal(ra, 1);
    assert_int_equal(auth_throttle_check(t, "acct:alice", T0 + 60, &ra), 0);
    /* other keys are untouched */
    assert_int_equal(auth_throttle_check(t, "acct:bob", T0 + 4, &ra), 0);
    assert_int_equal(auth_throttle_check(t, "ip:192.0.2.1", T0 + 4, &ra), 0);
    assert_int_equal(auth_throttle_check(t, "acct:alice", T0 + 4, NULL), 1);
    auth_throttle_free(t);
}

static void
test_sliding_window(void **state)
{
    struct auth_throttle *t = new_throttle(1024);
    int ra;
    for (int i = 0; i < 5; i++)
        auth_throttle_fail(t, "ip:198.51.100.7", T0 + 10 * i); /* 0,10,20,30,40 */
    assert_int_equal(auth_throttle_check(t, "ip:198.51.100.7", T0 + 45, &ra), 1);
    assert_int_equal(ra, 15);
    /* at +60 the first one is gone: one more try allowed ... */
    assert_int_equal(auth_throttle_check(t, "ip:198.51.100.7", T0 + 60, &ra), 0);
    auth_throttle_fail(t, "ip:198.51.100.7", T0 + 60);
    /* ... and a failure blocks again until the +10 one leaves */
    assert_int_equal(auth_throttle_check(t, "ip:198.51.100.7", T0 + 61, &ra), 1);
    assert_int_equal(ra, 9);
    /* 5 failures spread over a full minute never block */
    struct auth_throttle *u = new_throttle(1024);
    for (int i = 0; i < 50; i++) {
        auth_throttle_fail(u, "acct:slow", T0 + 15 * i);
        assert_int_equal(auth_throttle_check(u, "acct:slow", T0 + 15 * i, &ra), 0);
    }
    auth_throttle_free(u);
    auth_throttle_free(t);
}

static void
test_ok_clears(void **state)
{
    struct auth_throttle *t = new_throttle(1024);
    for (int i = 0; i < 5; i++)
        auth_throttle_fail(t, "acct:carol", T0);
    assert_int_equal(auth_throttle_check(t, "acct:carol", T0, NULL), 1);
    auth_throttle_ok(t, "acct:carol");
    assert_int_equal(auth_throttle_check(t, "acct:carol", T0, NULL), 0);
    auth_throttle_ok(t, "acct:nobody"); /* unknown key: no effect */
    auth_throttle_free(t);
}

static void
test_bounded_and_eviction_policy(void **state)
{
    /* 64 slots, 10,000 keys: memory stays fixed; a blocked key whose failures
     * are the most recent survives a flood of keys with older failures */
    struct auth_throttle *t = new_throttle(64);
    for (int i = 0; i < 5; i++)
        auth_throttle_fail(t, "acct:victim", T0 + 100);
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "ip:10.0.%d.%d", i / 256, i % 256);
        auth_throttle_fail(t, key, T0 + 50);
    }
    assert_int_equal(auth_throttle_check(t, "acct:victim", T0 + 101, NULL), 1);
    /* stale entries are reused first: a key failing now is tracked */
    for (int i = 0; i < 5; i++)
        auth_throttle_fail(t, "acct:late", T0 + 200);
    assert_int_equal(auth_throttle_check(t, "acct:late", T0 + 200, NULL), 1);
    auth_throttle_free(t);
}

static void
test_limits(void **state)
{
    err e = {0};
    assert_null(auth_throttle_new(64, 0, 60, &e));
    assert_null(auth_throttle_new(64, AUTH_THROTTLE_MAX_FAILURES + 1, 60, &e));
    assert_null(auth_throttle_new(64, 5, 0, &e));
    struct auth_throttle *t = auth_throttle_new(0, 1, 1, &e); /* rounded up to the minimum */
    assert_non_null(t);
    auth_throttle_fail(t, "k", T0);
    assert_int_equal(auth_throttle_check(t, "k", T0, NULL), 1);
    assert_int_equal(auth_throttle_check(t, "k", T0 + 1, NULL), 0);
    auth_throttle_free(t);
    auth_throttle_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_failures_block),
        cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_ok_clears),
        cmocka_unit_test(test_bounded_and_eviction_policy),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
