/* The quota runtime's bookkeeping (db/quota_runtime_store.c) on a real SQLite
 * file, and the partition a new VM gets from it: only on a host whose mode is
 * cgroup, and then the domain XML holds <resource><partition>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "db.h"
#include "identity.h"
#include "inventory.h"
#include "quota_runtime.h"
#include "virt.h"

static char dir[64];
static db *d;
static int64_t tenant, host;

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vp-qrt-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    unsigned char key[32];
    memset(key, 7, sizeof(key));
    struct db_options o = {.path = path, .audit_key = key, .audit_key_len = sizeof(key)};
    err e = {0};
    if (!(d = db_open(&o, &e)))
        return -1;
    struct db_audit a = {.actor = "test", .action = "tenant.create"};
    struct db_audit h = {.actor = "test", .action = "host.create"};
    return db_tenant_create(d, "acme", "Acme", &a, &tenant, &e) < 0 ||
                   db_host_create(d, "h1", "qemu:///system", &h, &host, &e) < 0
               ? -1
               : 0;
}

static int
teardown(void **state)
{
    (void)state;
    db_close(d);
    char path[128];
    const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static void
partition_of(char *buf, size_t n)
{
    err e = {0};
    assert_int_equal(
        db_quota_runtime_partition(d, host, tenant, QUOTA_CGROUP_PARTITION, buf, n, &e), 0);
}

static void
test_partition_only_in_cgroup_mode(void **state)
{
    (void)state;
    char part[300];
    err e = {0};
    partition_of(part, sizeof(part));
    assert_string_equal(part, ""); /* never checked */
    assert_int_equal(db_quota_runtime_host_set(d, host, QUOTA_MODE_LIBVIRT, "remote",
                                               "2026-01-01T00:00:00.000Z", &e),
                     0);
    partition_of(part, sizeof(part));
    assert_string_equal(part, "");
    assert_int_equal(db_quota_runtime_host_set(d, host, QUOTA_MODE_CGROUP, "own tree",
                                               "2026-01-01T00:00:01.000Z", &e),
                     0);
    partition_of(part, sizeof(part));
    assert_string_equal(part, "/machine.slice/virtportal-acme.slice");
    struct db_quota_host_mode m;
    assert_int_equal(db_quota_runtime_host_get(d, host, &m, &e), 0);
    assert_int_equal(m.mode, QUOTA_MODE_CGROUP);
    assert_string_equal(m.detail, "own tree");
    assert_string_equal(m.checked_at, "2026-01-01T00:00:01.000Z");
    /* no tenant: no partition */
    assert_int_equal(
        db_quota_runtime_partition(d, host, 0, QUOTA_CGROUP_PARTITION, part, sizeof(part), &e), 0);
    assert_string_equal(part, "");
    /* the spec takes it, and the XML holds it (and not without) */
    struct virt_spec s = {.name = "vm1",
                          .vcpus = 1,
                          .memory_mib = 128,
                          .disk_gib = 1,
                          .pool = "default",
                          .tenant_id = tenant,
                          .partition = NULL};
    char *xml = NULL;
    assert_int_equal(virt_spec_xml(&s, "qemu", NULL, &xml, &e), 0);
    assert_null(strstr(xml, "<partition>"));
    free(xml);
    partition_of(part, sizeof(part));
    s.partition = part;
    assert_int_equal(virt_spec_xml(&s, "qemu", NULL, &xml, &e), 0);
    assert_non_null(strstr(xml, "<resource>"));
    assert_non_null(strstr(xml, "<partition>/machine.slice/virtportal-acme.slice</partition>"));
    free(xml);
}

static int
count(void *arg, const struct db_quota_enforcement *r, err *e)
{
    (void)e;
    json_t *b = json_loads(r->budget_json, 0, NULL);
    assert_non_null(b);
    json_decref(b);
    ++*(int *)arg;
    return 0;
}

static void
test_record_keeps_applied_at(void **state)
{
    (void)state;
    err e = {0};
    struct db_quota_enforcement r = {.tenant_id = tenant, .host_id = host, .mode = QUOTA_MODE_NONE};
    snprintf(r.budget_json, sizeof(r.budget_json), "{\"cpu_cores\":1.5}");
    assert_int_equal(db_quota_runtime_record(d, &r, true, "2026-01-01T00:00:00.000Z", &e), 0);
    snprintf(r.error, sizeof(r.error), "it failed");
    assert_int_equal(db_quota_runtime_record(d, &r, false, "2026-01-01T00:00:05.000Z", &e), 0);
    int n = 0;
    assert_int_equal(db_quota_runtime_list(d, tenant, count, &n, &e), 0);
    assert_int_equal(n, 1);
    int64_t *ids = NULL;
    size_t nids = 0;
    assert_int_equal(db_quota_runtime_tenants(d, &ids, &nids, &e), 0);
    assert_int_equal(nids, 1);
    assert_int_equal(ids[0], tenant);
    free(ids);
    /* the tenant has no VM on the host: its row goes */
    int64_t dropped = 0;
    assert_int_equal(db_quota_runtime_prune(d, tenant, &dropped, &e), 0);
    assert_int_equal(dropped, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partition_only_in_cgroup_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_keeps_applied_at, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
