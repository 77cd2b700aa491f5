/* quota_runtime_test: runtime enforcement end to end against the real binary
 * (server/quota/runtime.c) with libvirt test-driver hosts: the per-host mode
 * and budget in GET /tenants/{id}/usage and GET /hosts/{id}, the split over
 * two hosts, usage samples from the test driver's stats, re-application
 * after an approved quota request, and the startup release of stale
 * reservations. Polls with deadlines (the runtime works in the background);
 * never asserts timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invt.h"

enum { DEADLINE_S = 30 };

static const char *const flags[] = {"--set", "quota.sample_interval_s=1", NULL};

static int
setup(void **state)
{
    (void)state;
    return invt_setup_with(flags);
}

/* GET `path` as the admin; the parsed body (caller decrefs), fails unless 200. */
static json_t *
get_json(const char *path)
{
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

static json_t *
usage_of(int64_t tenant)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld/usage", (long long)tenant);
    return get_json(path);
}

/* runtime.enforcement[] entry of host_id in a usage body (borrowed), or NULL. */
static json_t *
enforcement_of(json_t *usage, int64_t host_id)
{
    json_t *arr = json_object_get(json_object_get(usage, "runtime"), "enforcement");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_integer_value(json_object_get(v, "host_id")) == host_id)
            return v;
    }
    return NULL;
}

static double
budget_num(json_t *enf, const char *key)
{
    json_t *v = json_object_get(json_object_get(enf, "budget"), key);
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* Polls the usage of `tenant` until host_id's entry has cpu_cores == cores
 * (and, when given, io_read_bps == rbps); returns the usage (caller decrefs). */
static json_t *
wait_budget(int64_t tenant, int64_t host_id, double cores, double rbps)
{
    time_t end = time(NULL) + DEADLINE_S;
    for (;;) {
        json_t *u = usage_of(tenant);
        json_t *e = enforcement_of(u, host_id);
        if (e && budget_num(e, "cpu_cores") == cores &&
            (rbps < 0 || budget_num(e, "io_read_bps") == rbps))
            return u;
        if (time(NULL) > end) {
            char *txt = json_dumps(u, JSON_COMPACT);
            fail_msg("host/%lld never got cpu_cores %g: %s", (long long)host_id, cores, txt);
        }
        json_decref(u);
        usleep(200 * 1000);
    }
}

static void
put_quota(int64_t tenant, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld/quota", (long long)tenant);
    assert_int_equal(invt_status("PUT", path, invt_admin, "%s", body), 200);
}

/* A test-driver host "rt<tenant>-<k>" with `n` running VMs of `tenant`
 * (2 vCPUs, 1 GiB, 10 GiB disk each); returns its id. */
static int64_t
host_with(int64_t tenant, int k, int n)
{
    static char names[4][48], uuids[4][64];
    struct invt_dom d[4];
    for (int i = 0; i < n && i < 4; i++) {
        snprintf(names[i], sizeof(names[i]), "rt%lld-%d-%d", (long long)tenant, k, i);
        snprintf(uuids[i], sizeof(uuids[i]), "6b3c9f52-0000-4000-8000-%012lld",
                 (long long)(tenant * 100 + k * 10 + i));
        d[i] = (struct invt_dom){.name = names[i],
                                 .uuid = uuids[i],
                                 .state = 1,
                                 .vcpus = 2,
                                 .memory_mib = 1024,
                                 .disk_gib = 10,
                                 .tenant_id = tenant};
    }
    char file[64], name[64];
    snprintf(file, sizeof(file), "rt%lld-%d.xml", (long long)tenant, k);
    snprintf(name, sizeof(name), "rt%lld-%d", (long long)tenant, k);
    char *path = strdup(invt_host_file(file, 16, 64, d, (size_t)n));
    int64_t id = invt_host(name, path);
    free(path);
    return id;
}

/* h1 with 2 VMs (4 vCPUs, 20 GiB) and, when h2 is given, h2 with 1 VM
 * (2 vCPUs, 10 GiB) of `tenant`, so budgets split 2:1. */
static void
two_hosts(int64_t tenant, int64_t *h1, int64_t *h2)
{
    *h1 = host_with(tenant, 1, 2);
    if (h2)
        *h2 = host_with(tenant, 2, 1);
}

/* One host: the whole budget there, mode "none" with a reason, and the host
 * object says the same. A second host: the budget splits 2:1. */
static void
test_mode_none_and_split(void **state)
{
    (void)state;
    int64_t t = invt_tenant("rt-acme"), h1, h2;
    two_hosts(t, &h1, NULL);
    put_quota(t, "{\"cpu_cores\": 3, \"io_read_bps\": 3000000, \"vcpus\": 100}");
    json_t *u = wait_budget(t, h1, 3, 3000000);
    json_t *e = enforcement_of(u, h1);
    assert_string_equal(json_string_value(json_object_get(e, "mode")), "none");
    assert_non_null(strstr(json_string_value(json_object_get(e, "detail")), "test driver"));
    char hname[64];
    snprintf(hname, sizeof(hname), "rt%lld-1", (long long)t);
    assert_string_equal(json_string_value(json_object_get(e, "host_name")), hname);
    assert_true(json_is_string(json_object_get(e, "applied_at")));
    assert_true(json_is_null(json_object_get(e, "error")));
    assert_null(json_object_get(json_object_get(e, "budget"), "vcpus")); /* runtime only */
    json_decref(u);

    char path[64];
    snprintf(path, sizeof(path), "/api/v1/hosts/%lld", (long long)h1);
    json_t *h = get_json(path);
    json_t *qe = json_object_get(h, "quota_enforcement");
    assert_string_equal(json_string_value(json_object_get(qe, "mode")), "none");
    assert_true(json_is_string(json_object_get(qe, "checked_at")));
    assert_true(strlen(json_string_value(json_object_get(qe, "detail"))) > 10);
    json_decref(h);

    h2 = host_with(t, 2, 1);
    json_decref(wait_budget(t, h1, 2, 2000000));
    u = wait_budget(t, h2, 1, 1000000);
    assert_string_equal(json_string_value(json_object_get(enforcement_of(u, h2), "mode")), "none");
    json_decref(u);

    /* the list shows the field too */
    json_t *all = invt_list_all("/api/v1/hosts", invt_admin);
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        assert_true(json_is_object(json_object_get(v, "quota_enforcement")));
    }
    json_decref(all);
}

/* Samples of every host appear (mode "libvirt": the test driver's stats). */
static void
test_samples_from_test_driver(void **state)
{
    (void)state;
    int64_t t = invt_tenant("rt-samples"), h1, h2;
    two_hosts(t, &h1, &h2);
    time_t end = time(NULL) + DEADLINE_S;
    for (;;) {
        json_t *u = usage_of(t);
        json_t *hosts = json_object_get(json_object_get(u, "runtime"), "hosts");
        int seen = 0;
        size_t i;
        json_t *s;
        json_array_foreach(hosts, i, s)
        {
            int64_t hid = json_integer_value(json_object_get(s, "host_id"));
            if ((hid == h1 || hid == h2) &&
                !strcmp(json_string_value(json_object_get(s, "mode")), "libvirt"))
                seen++;
        }
        json_decref(u);
        if (seen == 2)
            break;
        if (time(NULL) > end)
            fail_msg("no libvirt samples of both hosts");
        usleep(200 * 1000);
    }
}

/* An approved request that raises cpu_cores applies the new budget. */
static void
test_approval_reapplies(void **state)
{
    (void)state;
    int64_t t = invt_tenant("rt-grant"), h1;
    two_hosts(t, &h1, NULL);
    put_quota(t, "{\"cpu_cores\": 1}");
    json_t *u = wait_budget(t, h1, 1, -1);
    char before[64];
    snprintf(before, sizeof(before), "%s",
             json_string_value(json_object_get(enforcement_of(u, h1), "applied_at")));
    json_decref(u);
    /* a tenant member asks (nobody approves their own request), the admin approves */
    invt_user("rt-member", t, "tenant-member");
    char *member = invt_login("rt-member");
    assert_non_null(member);
    int64_t id = invt_create("/api/v1/quota-requests", member,
                             "{\"tenant_id\":%lld,\"deltas\":{\"cpu_cores\":1.5},"
                             "\"justification\":\"load test\"}",
                             (long long)t);
    free(member);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/quota-requests/%lld/approve", (long long)id);
    assert_int_equal(invt_status("POST", path, invt_admin, "{\"comment\":\"ok\"}"), 200);
    u = wait_budget(t, h1, 2.5, -1);
    const char *after = json_string_value(json_object_get(enforcement_of(u, h1), "applied_at"));
    assert_non_null(after);
    assert_true(strcmp(after, before) >= 0);
    json_decref(u);
}

/* Unlimited again: the budget is reset (empty), the row stays. */
static void
test_unlimited_resets(void **state)
{
    (void)state;
    int64_t t = invt_tenant("rt-reset"), h1;
    two_hosts(t, &h1, NULL);
    put_quota(t, "{\"cpu_cores\": 2, \"pids_max\": 500}");
    json_decref(wait_budget(t, h1, 2, -1));
    put_quota(t, "{}");
    time_t end = time(NULL) + DEADLINE_S;
    for (;;) {
        json_t *u = usage_of(t);
        json_t *e = enforcement_of(u, h1);
        bool reset = e && json_object_size(json_object_get(e, "budget")) == 0;
        json_decref(u);
        if (reset)
            break;
        if (time(NULL) > end)
            fail_msg("budget not reset");
        usleep(200 * 1000);
    }
}

static int64_t
sql_int(const char *sql)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", invt_p.dir);
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

/* A reservation older than 15 minutes left by a crash is released at start;
 * a fresh one stays. */
static void
test_startup_reconcile(void **state)
{
    (void)state;
    int64_t t = invt_tenant("rt-stale");
    vp_kill(&invt_p);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO quota_reservation(tenant_id, vcpus, purpose, created_at) VALUES "
             "(%lld, 4, 'stale', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-1 hour')), "
             "(%lld, 2, 'fresh', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'))",
             (long long)t, (long long)t);
    assert_int_equal(sql_int(sql), 0);
    assert_int_equal(vp_restart(&invt_p, flags), 0);
    json_t *u = usage_of(t);
    assert_int_equal(json_integer_value(json_object_get(u, "reservations")), 1);
    json_decref(u);
    assert_int_equal(sql_int("SELECT count(*) FROM quota_reservation WHERE purpose = 'stale'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM audit WHERE action = 'quota.reconcile'"), 1);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_none_and_split, setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_samples_from_test_driver, setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_approval_reapplies, setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_unlimited_resets, setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_startup_reconcile, setup, invt_teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
