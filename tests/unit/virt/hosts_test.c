/* virt_hosts: registration, connection states, reconnect with backoff, and
 * events for changes made through another connection to the same driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virt_testutil.h"

static void
registers_and_connects(void **state)
{
    (void)state;
    struct recorder rec;
    rec_init(&rec);
    struct virt_sinks sinks = {.ctx = &rec, .on_host_state = rec_state};
    err e = {0};
    virt_hosts *h = virt_hosts_new(NULL, &sinks, &e);
    assert_non_null(h);
    assert_int_equal(virt_hosts_add(h, 1, "test:///default", &e), 0);
    assert_int_equal(virt_hosts_wait(h, 1, VIRT_HOST_CONNECTED, 10000, &e), 0);
    struct virt_host_status st;
    assert_int_equal(virt_hosts_status(h, 1, &st, &e), 0);
    assert_int_equal(st.state, VIRT_HOST_CONNECTED);
    assert_string_equal(st.last_error, "");
    assert_int_equal(st.reconnects, 0);
    assert_true(st.since_ms > 0);
    /* the sink runs right after waiters are released */
    assert_true(rec_wait_state(&rec, 1, VIRT_HOST_CONNECTED, 5000));

    assert_int_equal(virt_hosts_add(h, 1, "test:///default", &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    assert_int_equal(virt_hosts_add(h, 2, "xen:///system", &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(virt_hosts_status(h, 2, &st, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_hosts_remove(h, 99, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);

    assert_int_equal(virt_hosts_remove(h, 1, &e), 0);
    assert_int_equal(virt_hosts_status(h, 1, &st, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    struct virt_inventory inv;
    assert_int_equal(virt_host_snapshot(h, 1, 0, &inv, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    /* the id can be registered again */
    assert_int_equal(virt_hosts_add(h, 1, "test:///default", &e), 0);
    assert_int_equal(virt_hosts_wait(h, 1, VIRT_HOST_CONNECTED, 10000, &e), 0);
    virt_hosts_free(h); /* with a host still registered */
}

static void
unreachable_then_recovers(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    assert_non_null(dir);
    char path[600], uri[700];
    snprintf(path, sizeof(path), "%s/late.xml", dir);
    struct virt_options opt = {.backoff_min_ms = 20, .backoff_max_ms = 80};
    err e = {0};
    virt_hosts *h = virt_hosts_new(&opt, NULL, &e);
    assert_non_null(h);
    assert_int_equal(virt_hosts_add(h, 7, test_uri(uri, sizeof(uri), path), &e), 0);
    assert_int_equal(virt_hosts_wait(h, 7, VIRT_HOST_UNREACHABLE, 10000, &e), 0);
    struct virt_host_status st;
    assert_int_equal(virt_hosts_status(h, 7, &st, &e), 0);
    assert_int_equal(st.state, VIRT_HOST_UNREACHABLE);
    assert_true(strlen(st.last_error) > 0);
    assert_null(strstr(st.last_error, dir)); /* client-safe: no path */
    /* calls on it fail cleanly */
    struct virt_host_facts f;
    assert_int_equal(virt_host_facts(h, 7, &f, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);

    /* the inventory appears: the retry loop picks it up */
    struct virt_demo d;
    assert_int_equal(virt_demo_build(5, 1, 3, &d, &e), 0);
    assert_int_equal(virt_demo_write_host(&d.hosts[0], path, &e), 0);
    virt_demo_free(&d);
    assert_int_equal(virt_hosts_wait(h, 7, VIRT_HOST_CONNECTED, 10000, &e), 0);
    assert_int_equal(virt_hosts_status(h, 7, &st, &e), 0);
    assert_string_equal(st.last_error, "");
    struct virt_inventory inv;
    assert_int_equal(virt_host_snapshot(h, 7, 0, &inv, &e), 0);
    assert_int_equal(inv.ndomains, 3);
    virt_inventory_free(&inv);
    virt_hosts_free(h);
    char *paths[] = {path};
    scratch_rm(dir, paths, 1);
}

static const char *
find_running(virt_hosts *h, int64_t id, struct virt_inventory *inv)
{
    err e = {0};
    assert_int_equal(virt_host_snapshot(h, id, 0, inv, &e), 0);
    for (size_t i = 0; i < inv->ndomains; i++)
        if (inv->domains[i].state == VIRT_DOM_RUNNING)
            return inv->domains[i].uuid;
    fail_msg("no running domain on test:///default");
    return NULL;
}

static void
events_from_another_connection(void **state)
{
    (void)state;
    struct recorder rec;
    rec_init(&rec);
    struct virt_sinks sinks = {.ctx = &rec, .on_change = rec_change};
    err e = {0};
    virt_hosts *a = virt_hosts_new(NULL, &sinks, &e);
    virt_hosts *b = virt_hosts_new(NULL, NULL, &e); /* its own connection */
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(virt_hosts_add(a, 1, "test:///default", &e), 0);
    assert_int_equal(virt_hosts_add(b, 2, "test:///default", &e), 0);
    assert_int_equal(virt_hosts_wait(a, 1, VIRT_HOST_CONNECTED, 10000, &e), 0);
    assert_int_equal(virt_hosts_wait(b, 2, VIRT_HOST_CONNECTED, 10000, &e), 0);

    struct virt_inventory inv;
    const char *uuid = find_running(b, 2, &inv);
    assert_int_equal(virt_domain_act(b, 2, uuid, VIRT_ACT_SUSPEND, &e), 0);
    assert_true(rec_wait(&rec, 1, uuid, VIRT_CHANGE_SUSPENDED, 5000));
    assert_int_equal(virt_domain_act(b, 2, uuid, VIRT_ACT_RESUME, &e), 0);
    assert_true(rec_wait(&rec, 1, uuid, VIRT_CHANGE_RESUMED, 5000));
    char *tags[] = {"ev"};
    struct virt_meta m = {.tenant_id = 9, .tags = tags, .ntags = 1};
    assert_int_equal(virt_meta_set(b, 2, uuid, &m, &e), 0);
    assert_true(rec_wait(&rec, 1, uuid, VIRT_CHANGE_CONFIG, 5000));

    struct virt_spec s = {.name = "ev-new",
                          .vcpus = 1,
                          .memory_mib = 256,
                          .disk_gib = 1,
                          .pool = "default-pool",
                          .network = "default",
                          .domtype = VIRT_DOMTYPE_QEMU};
    char nu[VIRT_UUID_LEN + 1];
    assert_int_equal(virt_domain_define(b, 2, &s, nu, &e), 0);
    assert_true(rec_wait(&rec, 1, nu, VIRT_CHANGE_DEFINED, 5000));
    struct virt_undefine_opts uo = {.delete_volumes = true};
    assert_int_equal(virt_domain_undefine(b, 2, nu, &uo, NULL, &e), 0);
    assert_true(rec_wait(&rec, 1, nu, VIRT_CHANGE_UNDEFINED, 5000));
    virt_inventory_free(&inv);

    /* after removal no event reaches the sink */
    assert_int_equal(virt_hosts_remove(a, 1, &e), 0);
    size_t before;
    pthread_mutex_lock(&rec.lock);
    before = rec.nev;
    pthread_mutex_unlock(&rec.lock);
    const char *u2 = find_running(b, 2, &inv);
    assert_int_equal(virt_domain_act(b, 2, u2, VIRT_ACT_SUSPEND, &e), 0);
    assert_int_equal(virt_domain_act(b, 2, u2, VIRT_ACT_RESUME, &e), 0);
    usleep(300 * 1000);
    pthread_mutex_lock(&rec.lock);
    assert_int_equal(rec.nev, before);
    pthread_mutex_unlock(&rec.lock);
    virt_inventory_free(&inv);
    virt_hosts_free(a);
    virt_hosts_free(b);
}

static void
two_managers_share_the_loop(void **state)
{
    (void)state;
    err e = {0};
    for (int round = 0; round < 3; round++) {
        virt_hosts *h = virt_hosts_new(NULL, NULL, &e);
        assert_non_null(h);
        assert_int_equal(virt_hosts_add(h, 1, "test:///default", &e), 0);
        assert_int_equal(virt_hosts_wait(h, 1, VIRT_HOST_CONNECTED, 10000, &e), 0);
        virt_hosts_free(h); /* stops the loop thread each round */
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registers_and_connects),
        cmocka_unit_test(unreachable_then_recovers),
        cmocka_unit_test(events_from_another_connection),
        cmocka_unit_test(two_managers_share_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
