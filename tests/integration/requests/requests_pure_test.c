/* The pure parts of issue 7, without I/O: the auto-approval policy, webhook
 * target validation and the private-address rule, the retry backoff and the
 * signature (RFC 4231 test vector). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "quota_request.h"
#include "requests.h"
#include "webhook.h"

static struct quota_limits
limits(int64_t vcpus, int64_t memory)
{
    struct quota_limits l;
    db_quota_limits_unlimited(&l);
    l.v[QUOTA_VCPUS] = vcpus;
    l.v[QUOTA_MEMORY_MIB] = memory;
    return l;
}

static void
test_policy(void **state)
{
    struct db_quota_policy off = {0},
                           p = {.max_vcpus = 4, .cpu_overcommit_pct = 200, .max_memory_pct = 50};
    struct quota_limits l = limits(8, 8192);
    struct db_quota_cluster k = {
        .hosts = 1, .cores = 8, .memory_mib = 32768, .vcpus = 12, .vm_memory_mib = 16384};
    struct db_qreq_amounts d = {{0}};
    const char *why = NULL;
    d.v[QUOTA_VCPUS] = 4;
    assert_false(db_quota_policy_enabled(&off));
    assert_false(db_quota_policy_allows(&off, &d, &l, &k, &why));
    assert_non_null(why);
    assert_true(db_quota_policy_allows(&p, &d, &l, &k, NULL)); /* 12 + 4 <= 8 * 2 */
    d.v[QUOTA_VCPUS] = 5;
    assert_false(db_quota_policy_allows(&p, &d, &l, &k, NULL)); /* above the rule */
    k.vcpus = 13;
    d.v[QUOTA_VCPUS] = 4;
    assert_false(db_quota_policy_allows(&p, &d, &l, &k, &why)); /* no room */
    assert_non_null(strstr(why, "room"));
    d.v[QUOTA_VCPUS] = 0;
    d.v[QUOTA_MEMORY_MIB] = 4096; /* 50% of 8192, and it fits */
    assert_true(db_quota_policy_allows(&p, &d, &l, &k, NULL));
    d.v[QUOTA_MEMORY_MIB] = 4097;
    assert_false(db_quota_policy_allows(&p, &d, &l, &k, NULL));
    d.v[QUOTA_MEMORY_MIB] = 0;
    d.v[QUOTA_DISK_GIB] = 1; /* no rule for disk */
    assert_false(db_quota_policy_allows(&p, &d, &l, &k, NULL));
    struct db_qreq_amounts none = {{0}};
    assert_false(db_quota_policy_allows(&p, &none, &l, &k, NULL));
}

static void
test_urls(void **state)
{
    err e = {0};
    const char *good[] = {"https://hooks.example.com/x", "http://hooks.example.com:8080/a?b=c",
                          "https://[2001:db8::1]:8443/x", "https://93.184.216.34/x",
                          "HTTPS://Example.COM"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (api_webhooks_check_url("url", good[i], false, &e) < 0)
            fail_msg("%s refused: %s", good[i], e.detail);
    const char *bad[] = {"",
                         "hooks.example.com",
                         "ftp://x.org/",
                         "https://u:p@x.org/",
                         "https://x.org/#f",
                         "https://x.org:/",
                         "https://x.org:65536/",
                         "https://x_y.org/",
                         "https://[::1/",
                         "https://[zz::1]/",
                         "https://x.org/\x7f",
                         "http://127.0.0.1/",
                         "http://localhost:1/",
                         "http://foo.localhost/",
                         "http://[::1]/",
                         "http://[fe80::1]/",
                         "http://100.64.0.1/",
                         "http://0.0.0.0/",
                         "http://224.0.0.1/",
                         "http://1.2.3/",
                         "http://0x7f.1/",
                         "http://017700000001/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        if (api_webhooks_check_url("url", bad[i], false, &e) == 0)
            fail_msg("%s accepted", bad[i]);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, "url");
    }
    /* lab mode lets loopback and private targets through, nothing else */
    assert_int_equal(api_webhooks_check_url("url", "http://127.0.0.1:9/", true, &e), 0);
    assert_int_equal(api_webhooks_check_url("url", "http://localhost:9/", true, &e), 0);
    assert_int_equal(api_webhooks_check_url("url", "https://u:p@127.0.0.1/", true, &e), -1);
    char big[2100] = "https://x.org/";
    memset(big + 14, 'a', 2000);
    big[2014] = '\0';
    assert_int_equal(api_webhooks_check_url("url", big, true, &e), -1);
}

static void
test_private_addresses(void **state)
{
    const char *priv4[] = {"127.0.0.1",   "10.0.0.1",        "172.16.0.1", "172.31.255.255",
                           "192.168.1.1", "169.254.169.254", "0.0.0.0",    "100.64.0.1",
                           "224.0.0.1",   "255.255.255.255"};
    const char *pub4[] = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "93.184.216.34"};
    unsigned char a[16];
    for (size_t i = 0; i < sizeof(priv4) / sizeof(priv4[0]); i++) {
        inet_pton(AF_INET, priv4[i], a);
        if (!api_webhooks_private_addr(AF_INET, a))
            fail_msg("%s not private", priv4[i]);
    }
    for (size_t i = 0; i < sizeof(pub4) / sizeof(pub4[0]); i++) {
        inet_pton(AF_INET, pub4[i], a);
        if (api_webhooks_private_addr(AF_INET, a))
            fail_msg("%s private", pub4[i]);
    }
    const char *priv6[] = {"::1",     "::",      "fc00::1",        "fd12::1",
                           "fe80::1", "ff02::1", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(priv6) / sizeof(priv6[0]); i++) {
        inet_pton(AF_INET6, priv6[i], a);
        if (!api_webhooks_private_addr(AF_INET6, a))
            fail_msg("%s not private", priv6[i]);
    }
    inet_pton(AF_INET6, "2001:db8::1", a);
    assert_false(api_webhooks_private_addr(AF_INET6, a));
    inet_pton(AF_INET6, "::ffff:8.8.8.8", a);
    assert_false(api_webhooks_private_addr(AF_INET6, a));
    assert_true(api_webhooks_private_addr(AF_UNIX, a));
}

static void
test_backoff_and_signature(void **state)
{
    assert_int_equal(webhook_backoff_ms(5000, 1), 5000);
    assert_int_equal(webhook_backoff_ms(5000, 2), 10000);
    assert_int_equal(webhook_backoff_ms(5000, 4), 40000);
    assert_int_equal(webhook_backoff_ms(5000, 30), 3600 * 1000);
    assert_int_equal(webhook_backoff_ms(0, 1), 1);
    char sig[72];
    const char *data = "what do ya want for nothing?";
    webhook_sign("Jefe", data, strlen(data), sig); /* RFC 4231, test case 2 */
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_private_addresses),
        cmocka_unit_test(test_backoff_and_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
