/* Forwarding to syslog (audit.syslog): RFC 5424 with structured data, sent
 * after commit by a background thread; a receiver that goes away makes
 * /readyz say "degraded" (still 200) and /metrics count failures, the events
 * stay stored and arrive once the receiver is back. Real receivers: a UDP
 * socket on 127.0.0.1 and a unix datagram socket in the data dir.
 * Run one case: audit_forward_test <name>. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "at.h"

static int rx = -1; /* the receiver */
static int port;
static char unix_path[100];

static int
udp_receiver(int want_port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)want_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    return fd;
}

static int
unix_receiver(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, unix_path, sizeof(unix_path));
    unlink(unix_path);
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    return bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? fd : -1;
}

static int
teardown(void **state)
{
    if (rx >= 0)
        close(rx);
    rx = -1;
    at_stop();
    return 0;
}

/* Receives datagrams until one contains `needle` (up to timeout_ms); copies
 * it to out. Returns 0 when found. */
static int
recv_until(const char *needle, char *out, size_t n, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms;) {
        struct pollfd p = {.fd = rx, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        ssize_t got = recv(rx, out, n - 1, 0);
        if (got <= 0)
            continue;
        out[got] = '\0';
        if (strstr(out, needle))
            return 0;
    }
    return -1;
}

/* /readyz's audit_forwarding check; also checks the status code is 200. */
static char *
forwarding(void)
{
    struct vp_resp r;
    at_req(&r, "GET", "/readyz", NULL, NULL);
    assert_int_equal(r.status, 200);
    const char *f =
        json_string_value(json_object_get(json_object_get(r.json, "checks"), "audit_forwarding"));
    char *out = strdup(f ? f : "?");
    vp_resp_free(&r);
    return out;
}

static bool
wait_forwarding(const char *want)
{
    for (int i = 0; i < 100; i++) {
        char *f = forwarding();
        bool ok = !strcmp(f, want);
        free(f);
        if (ok)
            return true;
        usleep(100000);
    }
    return false;
}

static long
metric(const char *name)
{
    struct vp_resp r;
    at_req(&r, "GET", "/metrics", NULL, NULL);
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(r.body, key);
    long v = p ? strtol(p + strlen(key), NULL, 10) : -1;
    vp_resp_free(&r);
    return v;
}

/* One event as forwarded: header, structured data, the JSON record whose hash
 * is the stored row's. */
static void
check_message(const char *msg, const char *rid)
{
    print_message("%s\n", msg);
    assert_int_equal(strncmp(msg, "<109>1 ", 7), 0); /* facility 13 (log audit), notice */
    assert_non_null(strstr(msg, " virtportal "));
    assert_non_null(strstr(msg, " audit [audit@32473 seq=\""));
    assert_non_null(strstr(msg, "action=\"tenant.create\""));
    assert_non_null(strstr(msg, "outcome=\"ok\""));
    const char *js = strstr(msg, "] {");
    assert_non_null(js);
    json_t *j = json_loads(js + 2, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), rid);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE seq = %lld AND hash = '%s'",
             (long long)json_integer_value(json_object_get(j, "seq")),
             json_string_value(json_object_get(j, "hash")));
    assert_int_equal(at_sql_int(at_path("virtportal.db"), sql), 1);
    json_decref(j);
}

static void
tenant_forwarded(const char *slug, char rid[64])
{
    char msg[65536], needle[300];
    at_tenant(slug, rid);
    snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", rid);
    if (recv_until(needle, msg, sizeof(msg), 10000) < 0)
        fail_msg("the event of %s (%s) was not forwarded", slug, rid);
    check_message(msg, rid);
}

/* While the receiver is gone: stored, degraded, counted; back: delivered. */
static void
outage(int (*reopen)(void))
{
    char rids[3][64], slug[32], msg[65536], needle[300];
    close(rx);
    rx = -1;
    for (int i = 0; i < 3; i++) {
        snprintf(slug, sizeof(slug), "during-outage-%d", i);
        at_tenant(slug, rids[i]); /* 201: stored whatever syslog does */
    }
    assert_true(wait_forwarding("degraded"));
    struct vp_resp r;
    at_req(&r, "GET", "/readyz", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "degraded");
    vp_resp_free(&r);
    assert_true(metric("virtportal_audit_forward_failed_total") > 0);
    assert_int_equal(metric("virtportal_audit_forwarding_degraded"), 1);
    json_t *l = at_get("/api/v1/audit?action=tenant.create&limit=3");
    assert_int_equal(json_array_size(json_object_get(l, "items")), 3);
    json_decref(l);

    rx = reopen();
    assert_true(rx >= 0);
    for (int i = 0; i < 3; i++) { /* retried, in order, none lost */
        snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", rids[i]);
        if (recv_until(needle, msg, sizeof(msg), 15000) < 0)
            fail_msg("event %d of the outage never arrived", i);
        check_message(msg, rids[i]);
    }
    assert_true(wait_forwarding("ok"));
    assert_int_equal(metric("virtportal_audit_forward_dropped_total"), 0);
}

static int
reopen_udp(void)
{
    return udp_receiver(port);
}

static int
reopen_unix(void)
{
    return unix_receiver();
}

static void
test_udp(void **state)
{
    char msg[65536], rid[64], dest[64];
    rx = udp_receiver(0);
    assert_true(rx >= 0);
    snprintf(dest, sizeof(dest), "audit.syslog=udp:127.0.0.1:%d", port);
    const char *flags[] = {"--set", dest, NULL};
    assert_int_equal(at_start(flags), 0);
    /* the head signed at start goes out too */
    assert_int_equal(recv_until("[checkpoint@32473 kind=\"head\" seq=\"", msg, sizeof(msg), 5000),
                     0);
    char *f = forwarding();
    assert_string_equal(f, "ok");
    free(f);
    tenant_forwarded("fwd-one", rid);
    tenant_forwarded("fwd-two", rid);
    assert_true(metric("virtportal_audit_forwarded_total") >= 2);
    outage(reopen_udp);
}

static void
test_unix_socket(void **state)
{
    char rid[64], dest[400];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(unix_path, sizeof(unix_path), "%s/vp-syslog-%d.sock", tmp, (int)getpid());
    rx = unix_receiver();
    assert_true(rx >= 0);
    snprintf(dest, sizeof(dest), "audit.syslog=unix:%s", unix_path);
    const char *flags[] = {"--set", dest, NULL};
    assert_int_equal(at_start(flags), 0);
    tenant_forwarded("unix-one", rid);
    unlink(unix_path); /* the listener is gone: sends fail at once */
    outage(reopen_unix);
    unlink(unix_path);
}

/* Too far behind: the forwarder skips ahead (counted), readiness holds. */
static void
test_queue_bound(void **state)
{
    char dest[64], msg[65536];
    rx = udp_receiver(0);
    snprintf(dest, sizeof(dest), "audit.syslog=udp:127.0.0.1:%d", port);
    const char *flags[] = {"--set", dest, "--set", "audit.syslog_queue=100", NULL};
    assert_int_equal(at_start(flags), 0);
    close(rx);
    rx = -1;
    for (int i = 0; i < 130; i++) {
        char slug[32];
        snprintf(slug, sizeof(slug), "burst-%d", i);
        at_tenant(slug, NULL);
    }
    assert_true(wait_forwarding("degraded"));
    rx = reopen_udp();
    assert_true(wait_forwarding("ok"));
    assert_true(metric("virtportal_audit_forward_dropped_total") > 0);
    assert_int_equal(recv_until("burst-129", msg, sizeof(msg), 10000), 0);
}

static void
test_bad_destination_refuses_start(void **state)
{
    struct vp_proc p;
    const char *flags[] = {"--set", "audit.syslog=tcp:127.0.0.1:514", NULL};
    assert_int_equal(vp_start(&p, flags), -1); /* exits with the reason instead */
    vp_stop(&p);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_udp, teardown),
        cmocka_unit_test_teardown(test_unix_socket, teardown),
        cmocka_unit_test_teardown(test_queue_bound, teardown),
        cmocka_unit_test(test_bad_destination_refuses_start),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
