/* VMs through the REST API of the real binary: the list with its filters,
 * sorts and cursor pages, one VM with disks, NICs and live stats, tenant
 * scoping (a tenant member sees only its tenant's VMs and gets the same 404
 * for another tenant's VM as for a missing one), assignment to tenants and
 * tags by administrators, and ids that survive a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invt.h"

static int64_t tenant_a, tenant_b, host1, host2;
static char *member_a, *tadmin_a, *member_b;

/* Tenants first (ids 1 and 2 in a fresh server), then the hosts whose VMs name them. */
static int
setup(void **state)
{
    if (invt_setup(state) < 0)
        return -1;
    tenant_a = invt_tenant("team-a");
    tenant_b = invt_tenant("team-b");
    const struct invt_dom d1[] = {
        {.name = "web-1",
         .state = 1,
         .vcpus = 2,
         .memory_mib = 2048,
         .disk_gib = 10,
         .tenant_id = tenant_a,
         .tags = {"prod", "web"}},
        {.name = "web-2",
         .state = 1,
         .vcpus = 2,
         .memory_mib = 2048,
         .disk_gib = 10,
         .tenant_id = tenant_a,
         .tags = {"staging"}},
        {.name = "db-1",
         .state = 5,
         .vcpus = 8,
         .memory_mib = 16384,
         .disk_gib = 200,
         .tenant_id = tenant_a,
         .tags = {"prod"},
         .uefi = true},
        {.name = "orphan-1", .state = 3, .vcpus = 1, .memory_mib = 512, .disk_gib = 2},
    };
    const struct invt_dom d2[] = {
        {.name = "ci-1",
         .state = 1,
         .vcpus = 4,
         .memory_mib = 4096,
         .disk_gib = 40,
         .tenant_id = tenant_b,
         .tags = {"ci"}},
        {.name = "ci-2",
         .state = 5,
         .vcpus = 4,
         .memory_mib = 4096,
         .disk_gib = 40,
         .tenant_id = tenant_b},
        {.name = "Orphan-2", .state = 1, .vcpus = 1, .memory_mib = 512, .disk_gib = 2},
    };
    host1 = invt_host("h1", invt_host_file("h1.xml", 16, 64, d1, 4));
    host2 = invt_host("h2", invt_host_file("h2.xml", 16, 64, d2, 3));
    invt_user("member-a", tenant_a, "tenant-member");
    invt_user("tadmin-a", tenant_a, "tenant-admin");
    invt_user("member-b", tenant_b, "tenant-member");
    member_a = invt_login("member-a");
    tadmin_a = invt_login("tadmin-a");
    member_b = invt_login("member-b");
    return 0;
}

static int
teardown(void **state)
{
    free(member_a);
    free(tadmin_a);
    free(member_b);
    return invt_teardown(state);
}

/* The names of every VM `path` lists for `token`, comma-joined in order. */
static char *
names(const char *path, const char *token)
{
    json_t *all = invt_list_all(path, token);
    char *out = calloc(1, 4096);
    size_t i, used = 0;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        used += (size_t)snprintf(out + used, 4096 - used, "%s%s", i ? "," : "",
                                 json_string_value(json_object_get(v, "name")));
        assert_true(used < 4096);
    }
    json_decref(all);
    return out;
}

static void
expect_names(const char *path, const char *token, const char *want)
{
    char *got = names(path, token);
    if (strcmp(got, want))
        fail_msg("GET %s: got [%s], wanted [%s]", path, got, want);
    free(got);
}

static void
test_list_filters(void **state)
{
    expect_names("/api/v1/vms", invt_admin, "ci-1,ci-2,db-1,orphan-1,Orphan-2,web-1,web-2");
    char q[128];
    snprintf(q, sizeof(q), "/api/v1/vms?host_id=%lld", (long long)host2);
    expect_names(q, invt_admin, "ci-1,ci-2,Orphan-2");
    snprintf(q, sizeof(q), "/api/v1/vms?tenant_id=%lld", (long long)tenant_a);
    expect_names(q, invt_admin, "db-1,web-1,web-2");
    expect_names("/api/v1/vms?tenant_id=0", invt_admin, "orphan-1,Orphan-2");
    expect_names("/api/v1/vms?state=running", invt_admin, "ci-1,Orphan-2,web-1,web-2");
    expect_names("/api/v1/vms?state=paused", invt_admin, "orphan-1");
    expect_names("/api/v1/vms?q=ORPHAN", invt_admin, "orphan-1,Orphan-2");
    expect_names("/api/v1/vms?tag=prod", invt_admin, "db-1,web-1");
    expect_names("/api/v1/vms?tag=prod&state=running", invt_admin, "web-1");
    expect_names("/api/v1/vms?q=zzz", invt_admin, "");
    expect_names("/api/v1/vms?sort=-name", invt_admin,
                 "web-2,web-1,Orphan-2,orphan-1,db-1,ci-2,ci-1");
    /* bad filters: 400 naming the parameter */
    const char *bad[] = {"/api/v1/vms?state=sleeping", "/api/v1/vms?tag=a%20b",
                         "/api/v1/vms?sort=size",      "/api/v1/vms?host_id=x",
                         "/api/v1/vms?tenant_id=-1",   "/api/v1/vms?limit=0",
                         "/api/v1/vms?cursor=%21%21"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "GET", bad[i], invt_admin, NULL), 0);
        if (r.status != 400)
            fail_msg("GET %s: %ld, wanted 400", bad[i], r.status);
        vp_resp_free(&r);
    }
}

static void
test_pagination(void **state)
{
    /* every sort, pages of 2: all VMs once each, in order */
    const char *sorts[] = {"name", "-name", "state", "-state", "created", "-created", "id", "-id"};
    for (size_t s = 0; s < sizeof(sorts) / sizeof(sorts[0]); s++) {
        char p[96];
        snprintf(p, sizeof(p), "/api/v1/vms?limit=2&sort=%s", sorts[s]);
        json_t *paged = invt_list_all(p, invt_admin);
        snprintf(p, sizeof(p), "/api/v1/vms?limit=1000&sort=%s", sorts[s]);
        json_t *whole = invt_list_all(p, invt_admin);
        assert_int_equal(json_array_size(paged), 7);
        assert_true(json_equal(paged, whole));
        json_decref(paged);
        json_decref(whole);
    }
    /* a cursor made for another sort is refused */
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", "/api/v1/vms?limit=2&sort=state", invt_admin, NULL), 0);
    char p[600];
    snprintf(p, sizeof(p), "/api/v1/vms?sort=name&cursor=%s", invt_str(&r, "next_cursor"));
    vp_resp_free(&r);
    assert_int_equal(invt_req(&r, "GET", p, invt_admin, NULL), 0);
    assert_int_equal(r.status, 400);
    assert_string_equal(invt_field(&r), "cursor");
    vp_resp_free(&r);
}

static void
test_get_detail(void **state)
{
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/vms/%lld", (long long)invt_vm_id("db-1"));
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", p, invt_admin, NULL), 0);
    assert_int_equal(r.status, 200);
    json_t *j = r.json;
    assert_string_equal(invt_str(&r, "firmware"), "uefi");
    assert_string_equal(invt_str(&r, "state"), "shutoff");
    assert_int_equal(invt_int(&r, "tenant_id"), tenant_a);
    assert_int_equal(invt_int(&r, "host_id"), host1);
    assert_int_equal(invt_int(&r, "vcpus"), 8);
    assert_int_equal(invt_int(&r, "memory_mib"), 16384);
    assert_int_equal(invt_int(&r, "disk_gib"), 200);
    json_t *disk = json_array_get(json_object_get(j, "disks"), 0);
    assert_string_equal(json_string_value(json_object_get(disk, "target")), "vda");
    assert_int_equal(json_integer_value(json_object_get(disk, "capacity_bytes")), 200LL << 30);
    json_t *nic = json_array_get(json_object_get(j, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "network")), "default");
    json_t *tags = json_object_get(j, "tags");
    assert_int_equal(json_array_size(tags), 1);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "prod");
    /* live stats from the host (the test driver answers) */
    json_t *stats = json_object_get(j, "stats");
    assert_true(json_is_object(stats));
    assert_string_equal(json_string_value(json_object_get(stats, "state")), "shutoff");
    assert_null(json_object_get(j, "stats_error"));
    vp_resp_free(&r);
    assert_int_equal(invt_status("GET", "/api/v1/vms/0", invt_admin, NULL), 404);
    assert_int_equal(invt_status("GET", "/api/v1/vms/x1", invt_admin, NULL), 404);
}

/* The problem body minus its request id: what a client can compare. */
static char *
problem_of(const char *path, const char *token)
{
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, token, NULL), 0);
    json_object_del(r.json, "instance");
    char *s = json_dumps(r.json, JSON_SORT_KEYS | JSON_COMPACT);
    long status = r.status;
    vp_resp_free(&r);
    assert_int_equal(status, 404);
    return s;
}

static void
test_tenant_scope(void **state)
{
    expect_names("/api/v1/vms", member_a, "db-1,web-1,web-2");
    expect_names("/api/v1/vms", member_b, "ci-1,ci-2");
    expect_names("/api/v1/vms?tenant_id=0", member_a, "");
    char q[96];
    snprintf(q, sizeof(q), "/api/v1/vms?tenant_id=%lld", (long long)tenant_b);
    expect_names(q, member_a, "");
    /* own VM: 200; another tenant's and an unassigned one: the 404 of a missing VM */
    char own[64], foreign[64], orphan[64];
    snprintf(own, sizeof(own), "/api/v1/vms/%lld", (long long)invt_vm_id("web-1"));
    snprintf(foreign, sizeof(foreign), "/api/v1/vms/%lld", (long long)invt_vm_id("ci-1"));
    snprintf(orphan, sizeof(orphan), "/api/v1/vms/%lld", (long long)invt_vm_id("orphan-1"));
    assert_int_equal(invt_status("GET", own, member_a, NULL), 200);
    char *missing = problem_of("/api/v1/vms/999999", member_a);
    char *other = problem_of(foreign, member_a);
    char *unassigned = problem_of(orphan, member_a);
    assert_string_equal(other, missing);
    assert_string_equal(unassigned, missing);
    free(missing);
    free(other);
    free(unassigned);
    /* not even through PATCH */
    assert_int_equal(invt_status("PATCH", foreign, member_a, "{\"tags\":[\"x\"]}"), 404);
    /* hosts are not theirs to see */
    assert_int_equal(invt_status("GET", "/api/v1/hosts", member_a, NULL), 403);
}

static void
test_assign(void **state)
{
    int64_t id = invt_vm_id("orphan-1");
    char p[64], target[32];
    snprintf(p, sizeof(p), "/api/v1/vms/%lld", (long long)id);
    snprintf(target, sizeof(target), "vm/%lld", (long long)id);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "PATCH", p, invt_admin,
                              "{\"tenant_id\":%lld,\"tags\":[\"blue\",\"team:x\"]}",
                              (long long)tenant_a),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(invt_int(&r, "tenant_id"), tenant_a);
    assert_int_equal(json_array_size(json_object_get(r.json, "tags")), 2);
    vp_resp_free(&r);
    expect_names("/api/v1/vms", member_a, "db-1,orphan-1,web-1,web-2");
    expect_names("/api/v1/vms?tag=team:x", invt_admin, "orphan-1");
    assert_int_equal(invt_audit_count("vm.update", target), 1);
    /* the domain really carries it: the host's next full read keeps it */
    char h[64];
    snprintf(h, sizeof(h), "/api/v1/hosts/%lld", (long long)host1);
    assert_int_equal(invt_status("GET", h, invt_admin, NULL), 200);
    /* unassigned again */
    assert_int_equal(invt_status("PATCH", p, invt_admin, "{\"tenant_id\":null,\"tags\":[]}"), 200);
    expect_names("/api/v1/vms", member_a, "db-1,web-1,web-2");
    expect_names("/api/v1/vms?tenant_id=0", invt_admin, "orphan-1,Orphan-2");
    assert_int_equal(invt_audit_count("vm.update", target), 2);
    /* who may: not a tenant's own admin, not a member */
    char own[64];
    snprintf(own, sizeof(own), "/api/v1/vms/%lld", (long long)invt_vm_id("web-1"));
    assert_int_equal(invt_status("PATCH", own, tadmin_a, "{\"tags\":[\"x\"]}"), 403);
    assert_int_equal(invt_status("PATCH", own, member_a, "{\"tags\":[\"x\"]}"), 403);
    assert_int_equal(invt_status("PATCH", p, member_a, "{\"tags\":[\"x\"]}"), 404);
    /* bad input */
    assert_int_equal(invt_req(&r, "PATCH", own, invt_admin, "{\"tenant_id\":999}"), 0);
    assert_int_equal(r.status, 400);
    assert_string_equal(invt_field(&r), "tenant_id");
    vp_resp_free(&r);
    const char *bad[] = {"{}",
                         "{\"name\":\"x\"}",
                         "{\"tags\":\"prod\"}",
                         "{\"tags\":[\"a b\"]}",
                         "{\"tags\":[\"x\",\"x\"]}",
                         "{\"tenant_id\":-3}",
                         "{\"tenant_id\":\"1\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (invt_status("PATCH", own, invt_admin, "%s", bad[i]) != 400)
            fail_msg("PATCH %s: not 400", bad[i]);
    assert_int_equal(invt_status("PATCH", "/api/v1/vms/999999", invt_admin, "{\"tags\":[]}"), 404);
}

/* Pages are kept per worker thread while no VM row changes: after a change,
 * every request (whichever thread serves it) shows it. */
static void
test_list_follows_changes(void **state)
{
    for (int i = 0; i < 20; i++)
        expect_names("/api/v1/vms?tag=green", invt_admin, "");
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/vms/%lld", (long long)invt_vm_id("ci-2"));
    assert_int_equal(invt_status("PATCH", p, invt_admin, "{\"tags\":[\"green\"]}"), 200);
    for (int i = 0; i < 20; i++)
        expect_names("/api/v1/vms?tag=green", invt_admin, "ci-2");
    char h[64];
    snprintf(h, sizeof(h), "/api/v1/hosts/%lld", (long long)host2);
    assert_int_equal(invt_status("PATCH", h, invt_admin, "{\"name\":\"h2-renamed\"}"), 200);
    for (int i = 0; i < 20; i++) {
        json_t *all = invt_list_all("/api/v1/vms?tag=green", invt_admin);
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "host")),
                            "h2-renamed");
        json_decref(all);
    }
}

static void
test_restart_keeps_ids(void **state)
{
    json_t *before = invt_list_all("/api/v1/vms?sort=id", invt_admin);
    assert_int_equal(vp_term(&invt_p), 0);
    assert_int_equal(vp_restart(&invt_p, NULL), 0);
    free(invt_admin);
    invt_admin = vp_login(&invt_p, "admin", invt_p.admin_password);
    invt_host_wait(host1, "connected", true);
    invt_host_wait(host2, "connected", true);
    json_t *after = invt_list_all("/api/v1/vms?sort=id", invt_admin);
    assert_int_equal(json_array_size(after), json_array_size(before));
    size_t i;
    json_t *v;
    json_array_foreach(before, i, v)
    {
        json_t *w = json_array_get(after, i);
        assert_int_equal(json_integer_value(json_object_get(v, "id")),
                         json_integer_value(json_object_get(w, "id")));
        assert_string_equal(json_string_value(json_object_get(v, "uuid")),
                            json_string_value(json_object_get(w, "uuid")));
    }
    json_decref(before);
    json_decref(after);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        /* one per line: tests/testing.cmake registers one ctest case per line */
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_pagination),
        cmocka_unit_test(test_get_detail),
        cmocka_unit_test(test_tenant_scope),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_list_follows_changes),
        cmocka_unit_test(test_restart_keeps_ids),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
