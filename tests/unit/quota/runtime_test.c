/* The quota runtime's pure parts (server/quota/runtime.c): which hosts are
 * the portal's own machine, and the enforcement mode decided per host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime.h"

static void
test_local_uris(void **state)
{
    (void)state;
    assert_true(quota_runtime_uri_is_local("qemu:///system"));
    assert_true(quota_runtime_uri_is_local("qemu:///session"));
    assert_false(quota_runtime_uri_is_local("qemu+ssh://kvm1/system"));
    assert_false(quota_runtime_uri_is_local("qemu+tcp://127.0.0.1:16509/system"));
    assert_false(quota_runtime_uri_is_local("test:///default"));
}

static enum quota_mode
mode(const char *uri, bool connected, bool off, int probe, const char *perr, char *detail)
{
    struct quota_runtime_host_facts f = {uri, connected, off, probe, perr};
    return quota_runtime_mode_of(&f, detail, 501);
}

static void
test_modes(void **state)
{
    (void)state;
    char d[501];
    assert_int_equal(mode("qemu:///system", true, false, 0, NULL, d), QUOTA_MODE_CGROUP);
    assert_non_null(strstr(d, "cgroup v2"));
    /* the portal's machine without cgroup v2: tunables, and the probe says why */
    assert_int_equal(mode("qemu:///system", true, false, -1,
                          "/sys/fs/cgroup is not a cgroup v2 filesystem (tmpfs)", d),
                     QUOTA_MODE_LIBVIRT);
    assert_non_null(strstr(d, "(tmpfs)"));
    assert_non_null(strstr(d, "memory is not enforced"));
    /* a remote host never probes this machine's tree */
    assert_int_equal(mode("qemu+ssh://kvm1/system", true, false, 0, NULL, d), QUOTA_MODE_LIBVIRT);
    assert_non_null(strstr(d, "Remote host"));
    assert_int_equal(mode("test:///default", true, false, 0, NULL, d), QUOTA_MODE_NONE);
    assert_non_null(strstr(d, "test driver"));
    assert_int_equal(mode("qemu+ssh://kvm1/system", false, false, 0, NULL, d), QUOTA_MODE_NONE);
    assert_non_null(strstr(d, "not connected"));
    assert_int_equal(mode("qemu:///system", true, true, 0, NULL, d), QUOTA_MODE_NONE);
    assert_non_null(strstr(d, "quota.enforce = off"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_uris),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
