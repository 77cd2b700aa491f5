/* GET /api/v1/tenants/{id}/usage/history against the real binary: samples
 * are written into the test's SQLite file while the server is stopped (as the
 * sampler would have written them two hours ago), then the buckets' derived
 * values are checked numerically: 2 cores of CPU time per second read as
 * cpu_cores 2.0, a counter reset skips its interval, the total sums the
 * hosts; bad parameters answer 400 naming the parameter; another tenant's
 * history answers 404 like its /usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define PW "History-Test-Passw0rd-42!"
#define STEP 300
#define MIB (1024LL * 1024)
#define GIB (1024 * MIB)

static struct vp_proc srv;
static char *admin, *alice, *gina; /* access tokens */
static int64_t base;               /* start of the first seeded bucket, 2 h ago */

static void
ts_text(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
insert_sample(sqlite3 *s, int64_t host, const char *mode, int64_t t, int64_t cpu, int64_t thr,
              int64_t mem, int64_t oom, int64_t rb, int64_t wb, int64_t rio, int64_t wio,
              int64_t pids)
{
    char ts[40], sql[600];
    ts_text(t, ts);
    if (host == 1) /* milliseconds, as the sampler stores them: ".123Z" */
        snprintf(ts + 19, sizeof(ts) - 19, ".123Z");
    snprintf(sql, sizeof(sql),
             "INSERT INTO quota_usage_sample(tenant_id, host_id, mode, ts, cpu_usage_usec, "
             "cpu_throttled_usec, memory_bytes, oom_kills, io_read_bytes, io_write_bytes, "
             "io_read_ios, io_write_ios, pids) VALUES (10, %lld, '%s', '%s', %lld, %lld, %lld, "
             "%lld, %lld, %lld, %lld, %lld, %lld)",
             (long long)host, mode, ts, (long long)cpu, (long long)thr, (long long)mem,
             (long long)oom, (long long)rb, (long long)wb, (long long)rio, (long long)wio,
             (long long)pids);
    return sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Host 1: a sample a minute from base + 0.123 s to base + 600.123 s, using 2 cores (plus
 * 0.667 throttled: 25 % of what it wanted), reading 100 kB/s in 10 IOPS,
 * writing 50 kB/s in 5 IOPS; memory grows 1 MiB a minute; one OOM kill at
 * base + 180. Host 2: 1 core, its counters reset at base + 120. */
static int
seed_samples(sqlite3 *s)
{
    int rc = 0;
    for (int i = 0; i <= 10 && !rc; i++)
        rc = insert_sample(s, 1, "cgroup", base + 60 * i, 120000000LL * i, 40000000LL * i,
                           GIB + i * MIB, i >= 3, 6000000LL * i, 3000000LL * i, 600LL * i,
                           300LL * i, 5 + i);
    const int64_t cpu2[] = {0, 60000000, 10000000, 70000000, 130000000};
    const int64_t rb2[] = {0, 60000, 0, 60000, 120000};
    for (int i = 0; i < 5 && !rc; i++)
        rc = insert_sample(s, 2, "libvirt", base + 60 * i, cpu2[i], 0, 512 * MIB, 0, rb2[i], 0, 0,
                           0, 3);
    return rc;
}

static int
seed_sql(void)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", srv.dir);
    sqlite3 *s = NULL;
    int rc = sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s,
                          "INSERT INTO tenant(id, slug, name) VALUES (10, 'acme', 'Acme'), "
                          "(20, 'globex', 'Globex');"
                          "INSERT INTO host(id, name, uri) VALUES (1, 'h1', 'test:///h1'), "
                          "(2, 'h2', 'test:///h2');",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK && seed_samples(s) < 0)
        rc = SQLITE_ERROR;
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
    (void)state;
    base = ((int64_t)time(NULL) - 7200) / STEP * STEP;
    if (vp_start(&srv, NULL) < 0 || vp_term(&srv) != 0 || seed_sql() < 0 ||
        user_add("alice", "acme", "tenant-member") != 0 ||
        user_add("gina", "globex", "tenant-member") != 0 || vp_restart(&srv, NULL) < 0)
        return -1;
    admin = vp_login(&srv, "admin", srv.admin_password);
    alice = vp_login(&srv, "alice", PW);
    gina = vp_login(&srv, "gina", PW);
    return admin && alice && gina ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    free(admin);
    free(alice);
    free(gina);
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

/* The history of tenant 10 from 1 min before base, 5-min buckets. */
static void
history(const char *token, struct vp_resp *r)
{
    char since[32], path[160];
    ts_text(base - 60, since);
    snprintf(path, sizeof(path), "/api/v1/tenants/10/usage/history?since=%s&step=%d", since, STEP);
    call("GET", path, token, NULL, 200, r);
}

/* The point of bucket `t` in points (an array), or fail. */
static json_t *
point_at(json_t *points, int64_t t)
{
    char want[32];
    ts_text(t, want);
    size_t i;
    json_t *p;
    json_array_foreach(points, i, p)
    {
        const char *ts = json_string_value(json_object_get(p, "t"));
        if (ts && !strcmp(ts, want))
            return p;
    }
    fail_msg("no point at %s", want);
    return NULL;
}

static json_t *
host_points(json_t *body, int64_t host_id)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(body, "hosts"), i, h)
    {
        if (json_integer_value(json_object_get(h, "host_id")) == host_id)
            return json_object_get(h, "points");
    }
    fail_msg("no host %lld in the history", (long long)host_id);
    return NULL;
}

static void
expect_num(json_t *point, const char *key, double want)
{
    json_t *v = json_object_get(point, key);
    if (!json_is_number(v))
        fail_msg("%s is not a number", key);
    double got = json_number_value(v);
    if (fabs(got - want) > 1e-3 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("%s = %g, wanted %g", key, got, want);
}

static void
expect_400(const char *query, const char *field)
{
    char path[200];
    struct vp_resp r;
    snprintf(path, sizeof(path), "/api/v1/tenants/10/usage/history?%s", query);
    call("GET", path, admin, NULL, 400, &r);
    char *ct = vp_header(&r, "Content-Type");
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    json_t *err0 = json_array_get(json_object_get(r.json, "errors"), 0);
    const char *f = json_string_value(json_object_get(err0, "field"));
    if (!f || strcmp(f, field))
        fail_msg("?%s: field %s, wanted %s: %s", query, f ? f : "(none)", field, r.body);
    vp_resp_free(&r);
}

/* ---- cases ---- */

/* 2 cores over each interval read as 2.0, throttling as 25 %, I/O as its
 * rates; memory and tasks are the bucket's largest sample. */
static void
test_history_rates(void **state)
{
    (void)state;
    struct vp_resp r;
    history(alice, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "step_s")), STEP);
    json_t *h1 = host_points(r.json, 1);
    for (int b = 0; b < 3; b++) {
        json_t *p = point_at(h1, base + b * STEP);
        expect_num(p, "cpu_cores", 2.0);
        expect_num(p, "cpu_throttled_pct", 25.0);
        expect_num(p, "io_read_bps", 100000.0);
        expect_num(p, "io_write_bps", 50000.0);
        expect_num(p, "io_read_iops", 10.0);
        expect_num(p, "io_write_iops", 5.0);
    }
    json_t *p0 = point_at(h1, base);
    assert_int_equal(json_integer_value(json_object_get(p0, "memory_bytes")), GIB + 4 * MIB);
    assert_int_equal(json_integer_value(json_object_get(p0, "pids")), 9);
    assert_int_equal(json_integer_value(json_object_get(p0, "oom_kills")), 1);
    assert_int_equal(json_integer_value(json_object_get(point_at(h1, base + STEP), "oom_kills")),
                     0);
    const char *name = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "hosts"), 0), "host_name"));
    assert_non_null(name);
    assert_string_equal(name, "h1");
    vp_resp_free(&r);
}

/* Host 2's counters went down at base + 120: that interval is skipped, the
 * other three minutes read 1 core (not 0.75, nor less). The total adds the
 * hosts: 3 cores, 1.5 GiB. */
static void
test_history_counter_reset_and_total(void **state)
{
    (void)state;
    struct vp_resp r;
    history(admin, &r);
    json_t *p = point_at(host_points(r.json, 2), base);
    expect_num(p, "cpu_cores", 1.0);
    expect_num(p, "io_read_bps", 1000.0);
    expect_num(p, "cpu_throttled_pct", 0.0);
    json_t *t = point_at(json_object_get(r.json, "total"), base);
    expect_num(t, "cpu_cores", 3.0);
    assert_int_equal(json_integer_value(json_object_get(t, "memory_bytes")),
                     GIB + 4 * MIB + 512 * MIB);
    /* base + 600: host 1 only */
    expect_num(point_at(json_object_get(r.json, "total"), base + 2 * STEP), "cpu_cores", 2.0);
    vp_resp_free(&r);
}

/* The runtime limits ride along, in API units; defaults are 24 h and 300 s. */
static void
test_history_limits_and_defaults(void **state)
{
    (void)state;
    struct vp_resp r;
    call("PUT", "/api/v1/tenants/10/quota", admin, "{\"vms\": 5, \"cpu_cores\": 4}", 200, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/usage/history", alice, NULL, 200, &r);
    json_t *limits = json_object_get(r.json, "limits");
    expect_num(limits, "cpu_cores", 4.0);
    assert_null(json_object_get(limits, "vms")); /* allocation is not a runtime limit */
    assert_int_equal(json_integer_value(json_object_get(r.json, "step_s")), 300);
    int64_t since = 0;
    const char *s = json_string_value(json_object_get(r.json, "since"));
    assert_non_null(s);
    struct tm tm = {0};
    assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    since = (int64_t)timegm(&tm);
    int64_t age = (int64_t)time(NULL) - since;
    if (age < 86400 - 120 || age > 86400 + 120)
        fail_msg("default since is %lld s ago", (long long)age);
    expect_num(point_at(host_points(r.json, 1), base), "cpu_cores", 2.0);
    vp_resp_free(&r);
}

static void
test_history_bad_parameters(void **state)
{
    (void)state;
    char q[100], t[32];
    expect_400("step=5", "step");
    expect_400("step=86401", "step");
    expect_400("step=abc", "step");
    expect_400("step=", "step");
    expect_400("step=10", "step"); /* 24 h in 10 s buckets: too many */
    expect_400("since=yesterday", "since");
    expect_400("since=2025-02-30T00:00:00Z", "since");
    ts_text((int64_t)time(NULL) + 3600, t);
    snprintf(q, sizeof(q), "since=%s", t);
    expect_400(q, "since"); /* in the future */
    ts_text((int64_t)time(NULL) - 40 * 86400, t);
    snprintf(q, sizeof(q), "since=%s&step=86400", t);
    expect_400(q, "since"); /* older than 31 days */
    struct vp_resp r;
    call("GET", "/api/v1/tenants/10/usage/history?step=60", admin, NULL, 200, &r);
    vp_resp_free(&r);
    ts_text(base, t); /* an offset with its '+' encoded */
    snprintf(q, sizeof(q), "/api/v1/tenants/10/usage/history?since=%.19s%%2B00:00&step=600", t);
    call("GET", q, admin, NULL, 200, &r);
    vp_resp_free(&r);
}

/* The usage route's scoping: another tenant's history answers 404 like a
 * missing tenant; without a token 401. */
static void
test_history_tenant_scope(void **state)
{
    (void)state;
    struct vp_resp r;
    call("GET", "/api/v1/tenants/10/usage", gina, NULL, 404, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/usage/history", gina, NULL, 404, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/20/usage/history", gina, NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "hosts")), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "total")), 0);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/999/usage/history", admin, NULL, 404, &r);
    vp_resp_free(&r);
    call("GET", "/api/v1/tenants/10/usage/history", NULL, NULL, 401, &r);
    vp_resp_free(&r);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_rates),
        cmocka_unit_test(test_history_counter_reset_and_total),
        cmocka_unit_test(test_history_limits_and_defaults),
        cmocka_unit_test(test_history_bad_parameters),
        cmocka_unit_test(test_history_tenant_scope),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
