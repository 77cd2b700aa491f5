/* The quota API against the real binary: GET/PUT /api/v1/tenants/{id}/quota,
 * GET .../usage, POST .../quota/check; validation (400 naming the key), a
 * quota lowered below usage (allowed, reported, audited, nothing removed),
 * the dry run, and tenant scoping (a member sees its own tenant's quota and
 * gets 404 for another tenant's).
 *
 * There is no tenant or VM API to build the world with yet, so the test seeds
 * it while the server is stopped: tenants, a host and VM rows in plain SQL
 * (the inventory keeps the vm table in production), users with
 * `virtportal user add`. Then it restarts the server on the same data dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PW "Quota-Test-Passw0rd-42!"

static struct vp_proc srv;
static char *admin, *alice, *carol; /* access tokens */

static int
seed_sql(void)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", srv.dir);
    sqlite3 *s = NULL;
    int rc = sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(
            s,
            "INSERT INTO tenant(id, slug, name) VALUES (10, 'acme', 'Acme'), "
            "(20, 'globex', 'Globex');"
            "INSERT INTO host(id, name, uri) VALUES (1, 'h1', 'test:///h1');"
            "INSERT INTO vm(uuid, host_id, name, tenant_id, state, vcpus, memory_mib, disk_gib) "
            "VALUES ('00000000-0000-0000-0000-000000000001', 1, 'a1', 10, 'running', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000002', 1, 'a2', 10, 'shutoff', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000003', 1, 'a3', 10, 'shutoff', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000004', 1, 'g1', 20, 'running', 8, 8192, 80);",
            NULL, NULL, NULL);
    sqlite3_close(s);
    return rc == SQLITE_OK ? 0 : -1;
}

static int
user_add(const char *login, const char *tenant, const char *role)
{
    char *const argv[] = {(char *)vp_binary(), "user",         "add",    (char *)login,
                          "--tenant",          (char *)tenant, "--role", (char *)role,
                          "--data-dir",        srv.dir,        NULL};
    return vp_run(argv, PW "\n");
}

static int
setup(void **state)
{
    if (vp_start(&srv, NULL) < 0 || vp_term(&srv) != 0 || seed_sql() < 0 ||
        user_add("alice", "acme", "tenant-member") != 0 ||
        user_add("carol", "acme", "tenant-admin") != 0 || vp_restart(&srv, NULL) < 0)
        return -1;
    admin = vp_login(&srv, "admin", srv.admin_password);
    alice = vp_login(&srv, "alice", PW);
    carol = vp_login(&srv, "carol", PW);
    return admin && alice && carol ? 0 : -1;
}

static int
teardown(void **state)
{
    free(admin);
    free(alice);
    free(carol);
    vp_stop(&srv);
    return 0;
}

/* ---- helpers ---- */

static void
call(const char *method, const char *path, const char *token, const char *body, long want,
     struct vp_resp *r)
{
    assert_int_equal(vp_json(&srv, method, path, token, body, r), 0);
    if (r->status != want)
        fail_msg("%s %s -> %ld, wanted %ld: %s", method, path, r->status, want, r->body);
}

static void
expect_400_field(const char *path, const char *body, const char *field)
{
    struct vp_resp r;
    call(strstr(path, "check") ? "POST" : "PUT", path, admin, body, 400, &r);
    char *ct = vp_header(&r, "Content-Type");
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    json_t *err0 = json_array_get(json_object_get(r.json, "errors"), 0);
    const char *f = json_string_value(json_object_get(err0, "field"));
    if (!f || strcmp(f, field))
        fail_msg("%s: field %s, wanted %s: %s", body, f ? f : "(none)", field, r.body);
    vp_resp_free(&r);
}

static json_int_t
jint(json_t *j, const char *path)
{
    /* "a.b.c" through objects */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf, *dot; j; p = dot + 1) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        j = json_object_get(j, p);
        if (!dot)
            break;
    }
    if (!json_is_integer(j))
        fail_msg("%s is not an integer", path);
    return json_integer_value(j);
}

static json_t *
violation(json_t *arr, const char *res)
{
    size_t i;
    json_t *v;
    json_array_foreach(
        arr, i, v) if (!strcmp(json_string_value(json_object_get(v, "resource")), res)) return v;
    return NULL;
}

static void
put_quota(const char *body)
{
    struct vp_resp r;
    call("PUT", "/api/v1/tenants/10/quota", admin, body, 200, &r);
    vp_resp_free(&r);
}

/* ---- tests ---- */

static void
test_get_default_is_unlimited(void **state)
{
    struct vp_resp r;
    call("GET", "/api/v1/tenants/20/quota", admin, NULL, 200, &r);
    assert_int_equal(jint(r.json, "tenant_id"), 20);
    assert_int_equal(json_object_size(json_object_get(r.json, "limits")), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "over_quota")), 0);
    assert_true(json_is_null(json_object_get(r.json, "updated_at")));
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/999/quota", admin, NULL, 404, &r);
    vp_resp_free(&r);
}

static void
test_put_then_get(void **state)
{
    const char *body = "{\"vms\":10,\"vcpus\":16,\"memory_mib\":65536,\"disk_gib\":500,"
                       "\"cpu_cores\":2.5,\"memory_max_mib\":8192,\"io_read_bps\":104857600,"
                       "\"io_write_bps\":52428800,\"io_read_iops\":1000,\"io_write_iops\":500,"
                       "\"io_weight\":200,\"pids_max\":4096}";
    struct vp_resp r;
    call("PUT", "/api/v1/tenants/10/quota", admin, body, 200, &r);
    json_t *want = json_loads(body, 0, NULL);
    assert_true(json_equal(json_object_get(r.json, "limits"), want));
    assert_int_equal(json_array_size(json_object_get(r.json, "over_quota")), 0);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/quota", admin, NULL, 200, &r);
    assert_true(json_equal(json_object_get(r.json, "limits"), want));
    assert_true(json_is_string(json_object_get(r.json, "updated_at")));
    vp_resp_free(&r);
    json_decref(want);
    /* absent = unlimited: PUT replaces the whole object */
    put_quota("{\"vcpus\":32,\"cpu_cores\":null}");
    call("GET", "/api/v1/tenants/10/quota", admin, NULL, 200, &r);
    assert_int_equal(json_object_size(json_object_get(r.json, "limits")), 1);
    assert_int_equal(jint(r.json, "limits.vcpus"), 32);
    vp_resp_free(&r);
}

static void
test_put_validation(void **state)
{
    put_quota("{\"vms\":7}");
    const char *q = "/api/v1/tenants/10/quota";
    expect_400_field(q, "{\"vms\":-1}", "vms");
    expect_400_field(q, "{\"vms\":5,\"cpu_cores\":0}", "cpu_cores");
    expect_400_field(q, "{\"memory_max_mib\":0}", "memory_max_mib");
    expect_400_field(q, "{\"pids_max\":0}", "pids_max");
    expect_400_field(q, "{\"vcpus\":\"8\"}", "vcpus");
    expect_400_field(q, "{\"vcpus\":true}", "vcpus");
    expect_400_field(q, "{\"vcpus\":8.5}", "vcpus");
    expect_400_field(q, "{\"vcpus\":2000000}", "vcpus");
    expect_400_field(q, "{\"memory_mib\":1125899906842624}", "memory_mib");
    expect_400_field(q, "{\"cpu_cores\":1e12}", "cpu_cores");
    expect_400_field(q, "{\"cpu_cores\":1.23456}", "cpu_cores");
    expect_400_field(q, "{\"gpus\":1}", "gpus");
    struct vp_resp r;
    call("PUT", q, admin, "[1,2]", 400, &r);
    vp_resp_free(&r);
    call("PUT", q, admin, "{\"vms\":", 400, &r);
    vp_resp_free(&r);
    /* nothing of the refused bodies was stored */
    call("GET", q, admin, NULL, 200, &r);
    assert_int_equal(json_object_size(json_object_get(r.json, "limits")), 1);
    assert_int_equal(jint(r.json, "limits.vms"), 7);
    vp_resp_free(&r);
}

static int64_t
audit_count(const char *sql)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", srv.dir);
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return n;
}

/* acme has 3 VMs (6 vCPUs). Lowering below that is allowed and reported,
 * the VMs stay, and admissions are refused until usage fits. */
static void
test_lower_below_usage_reported(void **state)
{
    struct vp_resp r;
    call("PUT", "/api/v1/tenants/10/quota", admin, "{\"vms\":2,\"vcpus\":4,\"disk_gib\":100}", 200,
         &r);
    json_t *over = json_object_get(r.json, "over_quota");
    assert_int_equal(json_array_size(over), 2);
    assert_int_equal(jint(violation(over, "vms"), "used"), 3);
    assert_int_equal(jint(violation(over, "vms"), "limit"), 2);
    assert_int_equal(jint(violation(over, "vcpus"), "shortfall"), 2);
    assert_null(violation(over, "disk_gib"));
    vp_resp_free(&r);
    assert_true(audit_count("SELECT count(*) FROM audit WHERE action = 'quota.update' AND "
                            "tenant_id = 10 AND actor = 'admin' AND "
                            "json_array_length(details, '$.over_quota') = 2") >= 1);
    call("GET", "/api/v1/tenants/10/usage", alice, NULL, 200, &r);
    assert_int_equal(jint(r.json, "allocation.vms.used"), 3); /* nothing was removed */
    assert_int_equal(json_array_size(json_object_get(r.json, "over_quota")), 2);
    vp_resp_free(&r);
    call("POST", "/api/v1/tenants/10/quota/check", alice, "{\"vms\":1,\"vcpus\":2}", 200, &r);
    assert_false(json_is_true(json_object_get(r.json, "admitted")));
    assert_int_equal(jint(violation(json_object_get(r.json, "violations"), "vms"), "shortfall"), 2);
    assert_int_equal(jint(r.json, "quota_request.deltas.vcpus"), 4);
    assert_int_equal(jint(r.json, "quota_request.tenant_id"), 10);
    vp_resp_free(&r);
    call("POST", "/api/v1/tenants/10/quota/check", alice, "{\"vcpus\":-2,\"memory_mib\":-1024}",
         200, &r);
    assert_true(json_is_true(json_object_get(r.json, "admitted"))); /* giving back */
    assert_true(json_is_null(json_object_get(r.json, "quota_request")));
    vp_resp_free(&r);
}

static void
test_check_dry_run(void **state)
{
    put_quota("{\"vms\":5,\"vcpus\":8,\"memory_mib\":8192}");
    struct vp_resp r;
    call("POST", "/api/v1/tenants/10/quota/check", admin, "{\"vms\":1,\"vcpus\":2}", 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "admitted")));
    assert_int_equal(json_array_size(json_object_get(r.json, "violations")), 0);
    assert_int_equal(jint(r.json, "allocation.vcpus.used"), 6);
    vp_resp_free(&r);
    call("POST", "/api/v1/tenants/10/quota/check", admin,
         "{\"vms\":1,\"vcpus\":3,\"memory_mib\":4096,\"disk_gib\":1000}", 200, &r);
    assert_false(json_is_true(json_object_get(r.json, "admitted")));
    json_t *v = json_object_get(r.json, "violations");
    assert_int_equal(json_array_size(v), 2); /* vcpus and memory; disk is unlimited */
    json_t *mem = violation(v, "memory_mib");
    assert_int_equal(jint(mem, "limit"), 8192);
    assert_int_equal(jint(mem, "used"), 6144);
    assert_int_equal(jint(mem, "requested"), 4096);
    assert_int_equal(jint(mem, "shortfall"), 2048);
    vp_resp_free(&r);
    expect_400_field("/api/v1/tenants/10/quota/check", "{\"vms\":\"1\"}", "vms");
    expect_400_field("/api/v1/tenants/10/quota/check", "{\"cpu_cores\":1}", "cpu_cores");
    expect_400_field("/api/v1/tenants/10/quota/check", "{\"vcpus\":1e9}", "vcpus");
    call("GET", "/api/v1/tenants/10/usage", admin, NULL, 200, &r);
    assert_int_equal(jint(r.json, "reservations"), 0); /* a dry run holds nothing */
    vp_resp_free(&r);
}

static void
test_usage_shape(void **state)
{
    put_quota("{\"vms\":5,\"cpu_cores\":1.5,\"pids_max\":500}");
    struct vp_resp r;
    call("GET", "/api/v1/tenants/10/usage", admin, NULL, 200, &r);
    assert_int_equal(jint(r.json, "allocation.vms.used"), 3);
    assert_int_equal(jint(r.json, "allocation.vms.limit"), 5);
    assert_int_equal(jint(r.json, "allocation.memory_mib.used"), 6144);
    assert_true(json_is_null(json_object_get(
        json_object_get(json_object_get(r.json, "allocation"), "memory_mib"), "limit")));
    json_t *rt = json_object_get(r.json, "runtime");
    assert_true(json_is_array(json_object_get(rt, "hosts")));
    assert_int_equal(jint(rt, "limits.pids_max"), 500);
    assert_null(json_object_get(json_object_get(rt, "limits"), "vms"));
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/20/usage", admin, NULL, 200, &r);
    assert_int_equal(jint(r.json, "allocation.vcpus.used"), 8);
    vp_resp_free(&r);
}

/* A member sees its own tenant's quota; another tenant's answers 404 like a
 * missing one; writing needs quota.write, which tenant roles do not have. */
static void
test_tenant_scoping(void **state)
{
    struct vp_resp r;
    call("GET", "/api/v1/tenants/10/quota", alice, NULL, 200, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/usage", alice, NULL, 200, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/20/quota", alice, NULL, 404, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/20/usage", alice, NULL, 404, &r);
    vp_resp_free(&r);
    call("POST", "/api/v1/tenants/20/quota/check", alice, "{\"vms\":1}", 404, &r);
    vp_resp_free(&r);
    call("PUT", "/api/v1/tenants/20/quota", alice, "{\"vms\":100}", 404, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/999/quota", alice, NULL, 404, &r);
    vp_resp_free(&r);
    call("PUT", "/api/v1/tenants/10/quota", alice, "{\"vms\":100}", 403, &r);
    vp_resp_free(&r);
    call("PUT", "/api/v1/tenants/10/quota", carol, "{\"vms\":100}", 403, &r); /* tenant-admin */
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/quota", NULL, NULL, 401, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/abc/quota", admin, NULL, 404, &r);
    vp_resp_free(&r);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_default_is_unlimited),
        cmocka_unit_test(test_put_then_get),
        cmocka_unit_test(test_put_validation),
        cmocka_unit_test(test_lower_below_usage_reported),
        cmocka_unit_test(test_check_dry_run),
        cmocka_unit_test(test_usage_shape),
        cmocka_unit_test(test_tenant_scoping),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
