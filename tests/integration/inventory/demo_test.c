/* `virtportal demo` registers a realistic inventory with no daemon (4
 * test-driver hosts, about 100 VMs, pools, networks, 3 tenants owning some
 * VMs), and running it again on the same data dir duplicates nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "invt.h"

/* The port in "virtportal demo ready: https://127.0.0.1:PORT/", or 0. */
static int
ready_port(const char *line)
{
    const char *p = strstr(line, "ready: https://127.0.0.1:");
    if (!p)
        return 0;
    long v = strtol(p + strlen("ready: https://127.0.0.1:"), NULL, 10);
    return v > 0 && v < 65536 ? (int)v : 0;
}

/* Starts `virtportal demo --dir <dir> --port 0` and reads what it prints
 * until it is ready: the port, and the password when it made one. */
static void
demo_start(char *password, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(vp_binary(), vp_binary(), "demo", "--dir", invt_p.dir, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512];
    invt_p.pid = pid;
    invt_p.port = 0;
    while (fgets(line, sizeof(line), out)) {
        if (ready_port(line))
            invt_p.port = ready_port(line);
        if (!strncmp(line, "password: ", 10)) {
            line[strcspn(line, "\n")] = '\0';
            if (line[10] != '(') /* "(set at first start; ...)" the second time */
                snprintf(password, n, "%.63s", line + 10);
            break;
        }
    }
    fclose(out);
    assert_true(invt_p.port > 0);
    snprintf(invt_p.base, sizeof(invt_p.base), "https://127.0.0.1:%d", invt_p.port);
    snprintf(invt_p.cert, sizeof(invt_p.cert), "%s/tls/cert.pem", invt_p.dir);
}

/* Waits until every host is connected and reconciled; returns how many. */
static size_t
hosts_ready(void)
{
    json_t *hosts = invt_list_all("/api/v1/hosts", invt_admin);
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
        invt_host_wait(json_integer_value(json_object_get(h, "id")), "connected", true);
    size_t n = json_array_size(hosts);
    json_decref(hosts);
    return n;
}

struct seen {
    size_t vms, owned[4];
    json_t *ids; /* uuid -> id */
};

static void
look(struct seen *s)
{
    json_t *vms = invt_list_all("/api/v1/vms?limit=1000", invt_admin);
    memset(s, 0, sizeof(*s));
    s->ids = json_object();
    s->vms = json_array_size(vms);
    size_t i;
    json_t *v;
    json_array_foreach(vms, i, v)
    {
        json_int_t t = json_integer_value(json_object_get(v, "tenant_id"));
        if (t >= 1 && t <= 3)
            s->owned[t]++;
        json_object_set(s->ids, json_string_value(json_object_get(v, "uuid")),
                        json_object_get(v, "id"));
    }
    json_decref(vms);
}

static void
test_demo_inventory(void **state)
{
    memset(&invt_p, 0, sizeof(invt_p));
    snprintf(invt_p.dir, sizeof(invt_p.dir), "%s/vp-demo-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(invt_p.dir));
    char password[64] = "";
    demo_start(password, sizeof(password));
    assert_true(password[0]);
    invt_admin = vp_login(&invt_p, "admin", password);
    assert_non_null(invt_admin);
    assert_int_equal(hosts_ready(), 4);
    struct seen first;
    look(&first);
    assert_true(first.vms >= 80 && first.vms <= 120);
    for (int t = 1; t <= 3; t++)
        assert_true(first.owned[t] > 0);
    json_t *tenants = invt_list_all("/api/v1/tenants?sort=id", invt_admin);
    assert_int_equal(json_array_size(tenants), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tenants, 0), "slug")),
                        "research");
    json_decref(tenants);
    json_t *pools = invt_list_all("/api/v1/pools", invt_admin);
    json_t *nets = invt_list_all("/api/v1/networks", invt_admin);
    assert_int_equal(json_array_size(pools), 4);
    assert_int_equal(json_array_size(nets), 12);
    json_decref(pools);
    json_decref(nets);

    /* again on the same data dir: nothing new */
    assert_int_equal(vp_term(&invt_p), 0);
    free(invt_admin);
    char again[64] = "";
    demo_start(again, sizeof(again));
    assert_false(again[0]); /* the admin exists already */
    invt_admin = vp_login(&invt_p, "admin", password);
    assert_non_null(invt_admin);
    assert_int_equal(hosts_ready(), 4);
    struct seen second;
    look(&second);
    assert_int_equal(second.vms, first.vms);
    assert_true(json_equal(first.ids, second.ids));
    tenants = invt_list_all("/api/v1/tenants", invt_admin);
    assert_int_equal(json_array_size(tenants), 3);
    json_decref(tenants);
    json_decref(first.ids);
    json_decref(second.ids);
    free(invt_admin);
    invt_admin = NULL;
    vp_stop(&invt_p);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_demo_inventory)};
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
