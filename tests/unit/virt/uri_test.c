/* virt_uri_validate: what the portal accepts as a libvirt URI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "virt.h"

static void
accepts_supported_transports(void **state)
{
    (void)state;
    static const char *const good[] = {
        "qemu:///system",
        "qemu:///session",
        "test:///default",
        "test:///var/lib/virtportal/demo/kvm01.xml",
        "qemu+ssh://root@kvm1.example.com/system",
        "qemu+ssh://kvm1/system?keyfile=/etc/virtportal/id_ed25519&no_tty=1",
        "qemu+ssh://admin@10.0.0.5:2222/system",
        "qemu+tls://kvm2.example.com/system",
        "qemu+tls://kvm2.example.com:16514/system?pkipath=/etc/pki/vp",
        "qemu+tcp://127.0.0.1:16509/system",
        "qemu+tcp://[::1]:16509/system",
        "qemu+ssh://user@host/session",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err e = {0};
        if (virt_uri_validate(good[i], &e) != 0)
            fail_msg("refused %s: %s", good[i], e.detail);
    }
}

struct bad {
    const char *uri;
    const char *detail_has; /* a word the message must contain */
};

static void
refuses_with_a_reason(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"", "empty"},
        {"xen:///system", "unsupported transport 'xen'"},
        {"vbox:///session", "unsupported transport"},
        {"qemu+unix:///system", "unsupported transport"},
        {"lxc:///", "unsupported transport"},
        {"http://kvm1/system", "unsupported transport"},
        {"qemu://kvm1/system", "needs a transport"},
        {"qemu:///embed?root=/tmp", "qemu:///system"},
        {"qemu+ssh:///system", "host name"},
        {"qemu+ssh://kvm1/", "/system or /session"},
        {"qemu+ssh://kvm1", "/system or /session"},
        {"qemu+ssh://kvm1/system?command=rm", "unsupported URI parameter 'command'"},
        {"qemu+ssh://kvm1/system?netcat=/bin/sh", "unsupported URI parameter 'netcat'"},
        {"qemu+tls://kvm1/system?no_verify=1", "no_verify"},
        {"qemu+tcp://kvm1:0/system", "port"},
        {"qemu+tcp://kvm1:99999/system", "port"},
        {"qemu+tcp://kvm1:http/system", "port"},
        {"qemu+ssh://ro ot@kvm1/system", "spaces"},
        {"qemu+ssh://kvm1/system#x", "fragment"},
        {"qemu+ssh://-kvm1/system", "host name"},
        {"qemu+ssh://a;b/system", "host name"},
        {"test://relative.xml", "absolute"},
        {"test://default", "test:///default"},
        {"test:///etc/passwd", "test:///absolute/path.xml"},
        {"test:///tmp/../etc/x.xml", "normalised"},
        {"test:///tmp/a b.xml", "spaces"},
        {"test:///tmp/$(id).xml", "letters"},
        {"no-scheme", "transport://"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err e = {0};
        if (virt_uri_validate(bad[i].uri, &e) == 0)
            fail_msg("accepted %s", bad[i].uri);
        assert_int_equal(e.kind, ERR_INVALID);
        if (!strstr(e.detail, bad[i].detail_has))
            fail_msg("%s: detail '%s' lacks '%s'", bad[i].uri, e.detail, bad[i].detail_has);
    }
}

static void
refuses_null_and_oversized(void **state)
{
    (void)state;
    err e = {0};
    assert_int_equal(virt_uri_validate(NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    char big[1100];
    memset(big, 'a', sizeof(big));
    memcpy(big, "qemu+ssh://", 11);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(virt_uri_validate(big, &e), -1);
    assert_non_null(strstr(e.detail, "longer"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_supported_transports),
        cmocka_unit_test(refuses_with_a_reason),
        cmocka_unit_test(refuses_null_and_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
