/* GET /api/v1/audit, /audit/export and /audit/verify against the real server:
 * filters, newest-first cursor pages, tenant scoping, streamed exports that
 * verify offline (and fail to when tampered with), the verify endpoint.
 * Run one case: audit_api_test <name>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "at.h"

static int64_t tenant_a, tenant_b;
static char rid_a[64];
static char *tok_alice, *tok_bob, *tok_vera; /* tenant-admin of A, global auditor, viewer */

static int64_t
user(const char *login, int64_t tenant, const char *role)
{
    char tid[24] = "null";
    if (tenant)
        snprintf(tid, sizeof(tid), "%lld", (long long)tenant);
    int64_t id = at_create("/api/v1/users",
                           "{\"login\":\"%s\",\"password\":\"" AT_PASSWORD "\",\"tenant_id\":%s}",
                           login, tid);
    if (tenant)
        at_create("/api/v1/role-bindings",
                  "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                  "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                  (long long)id, role, (long long)tenant);
    else
        at_create("/api/v1/role-bindings",
                  "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                  "\"scope\":\"global\"}",
                  (long long)id, role);
    return id;
}

static int
setup(void **state)
{
    if (at_start(NULL) < 0)
        return -1;
    tenant_a = at_tenant("alpha", rid_a);
    tenant_b = at_tenant("beta", NULL);
    for (int i = 0; i < 5; i++) {
        char slug[32];
        snprintf(slug, sizeof(slug), "extra-%d", i);
        at_tenant(slug, NULL);
    }
    user("alice", tenant_a, "tenant-admin");
    user("bruno", tenant_b, "tenant-admin");
    user("bob", 0, "auditor");
    user("vera", 0, "viewer");
    tok_alice = vp_login(&at_p, "alice", AT_PASSWORD);
    tok_bob = vp_login(&at_p, "bob", AT_PASSWORD);
    tok_vera = vp_login(&at_p, "vera", AT_PASSWORD);
    struct vp_resp r; /* a failed login: outcome "failed" */
    at_req(&r, "POST", "/api/v1/auth/login", NULL, "{\"login\":\"bob\",\"password\":\"wrong\"}");
    vp_resp_free(&r);
    return tok_alice && tok_bob && tok_vera ? 0 : -1;
}

static int
teardown(void **state)
{
    free(tok_alice);
    free(tok_bob);
    free(tok_vera);
    at_stop();
    return 0;
}

static int64_t
db_int(const char *sql)
{
    return at_sql_int(at_path("virtportal.db"), sql);
}

/* GET path with token; returns the status and the items (new reference). */
static long
list(const char *path, const char *token, json_t **items)
{
    struct vp_resp r;
    at_req(&r, "GET", path, token, NULL);
    long st = r.status;
    if (items)
        *items = json_incref(at_items(&r));
    vp_resp_free(&r);
    return st;
}

static void
test_pages_newest_first(void **state)
{
    int64_t head = db_int("SELECT max(seq) FROM audit"), want = head;
    char path[128] = "/api/v1/audit?limit=3";
    int pages = 0;
    for (;;) {
        json_t *j = at_get(path);
        json_t *it;
        size_t i;
        json_array_foreach(json_object_get(j, "items"), i, it)
        {
            assert_int_equal(json_integer_value(json_object_get(it, "seq")), want);
            assert_non_null(json_string_value(json_object_get(it, "hash")));
            assert_non_null(json_object_get(it, "prev_hash"));
            want--;
        }
        pages++;
        const char *next = json_string_value(json_object_get(j, "next_cursor"));
        if (next)
            snprintf(path, sizeof(path), "/api/v1/audit?limit=3&cursor=%s", next);
        json_decref(j);
        if (!next)
            break;
    }
    assert_int_equal(want, 0); /* every row, each once, newest first */
    assert_int_equal(pages, (head + 2) / 3);
}

/* Every item of GET path has member key equal to the string (or int) v. */
static size_t
all_match(const char *path, const char *key, const char *s, int64_t v)
{
    json_t *items = NULL;
    assert_int_equal(list(path, at_admin, &items), 200);
    json_t *it;
    size_t i;
    json_array_foreach(items, i, it)
    {
        json_t *m = json_object_get(it, key);
        if (s && (!json_is_string(m) || strcmp(json_string_value(m), s)))
            fail_msg("%s: item %zu has %s != %s", path, i, key, s);
        if (!s && json_integer_value(m) != v)
            fail_msg("%s: item %zu has %s != %lld", path, i, key, (long long)v);
    }
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

static void
test_filters(void **state)
{
    char path[256];
    assert_int_equal(
        all_match("/api/v1/audit?action=tenant.create&limit=1000", "action", "tenant.create", 0),
        db_int("SELECT count(*) FROM audit WHERE action = 'tenant.create'"));
    json_t *items = NULL;
    assert_int_equal(list("/api/v1/audit?action=tenant.&limit=1000", at_admin, &items), 200);
    assert_int_equal(json_array_size(items),
                     db_int("SELECT count(*) FROM audit WHERE action LIKE 'tenant.%'"));
    json_decref(items);
    assert_true(all_match("/api/v1/audit?outcome=failed", "outcome", "failed", 0) >= 1);
    assert_true(all_match("/api/v1/audit?actor=alice", "actor", "alice", 0) >= 1);
    snprintf(path, sizeof(path), "/api/v1/audit?request_id=%s", rid_a);
    assert_int_equal(all_match(path, "request_id", rid_a, 0), 1);
    snprintf(path, sizeof(path), "/api/v1/audit?target=tenant/%lld", (long long)tenant_a);
    assert_true(all_match(path, "target", path + strlen("/api/v1/audit?target="), 0) >= 1);
    snprintf(path, sizeof(path), "/api/v1/audit?tenant_id=%lld", (long long)tenant_b);
    assert_true(all_match(path, "tenant_id", NULL, tenant_b) >= 1);
    assert_true(all_match("/api/v1/audit?source_ip=127.0.0.1", "source_ip", "127.0.0.1", 0) > 3);
    assert_int_equal(all_match("/api/v1/audit?source_ip=192.0.2.7", "source_ip", "x", 0), 0);
}

/* The ts of row seq, from a list response j (borrowed), or NULL. */
static const char *
ts_of(json_t *j, int64_t seq)
{
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        if (json_integer_value(json_object_get(it, "seq")) == seq)
            return json_string_value(json_object_get(it, "ts"));
    }
    return NULL;
}

/* Items of GET path whose ts compares to `ts` as `sign` (>= 0 or < 0). */
static size_t
count_ts(const char *path, const char *ts, int sign)
{
    json_t *j = at_get(path), *it;
    size_t i, n = 0;
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        int c = strcmp(json_string_value(json_object_get(it, "ts")), ts);
        if (sign >= 0 ? c < 0 : c >= 0)
            fail_msg("%s: item ts %s on the wrong side of %s", path,
                     json_string_value(json_object_get(it, "ts")), ts);
        n++;
    }
    json_decref(j);
    return n;
}

static void
test_time_range(void **state)
{
    int64_t mid = db_int("SELECT max(seq) FROM audit") / 2;
    json_t *all = at_get("/api/v1/audit?limit=1000");
    const char *ts = ts_of(all, mid);
    if (!ts) {
        fail_msg("no row %lld in the list", (long long)mid);
        return;
    }
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&from=%s", ts);
    size_t after = count_ts(path, ts, 1);
    snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&to=%s", ts);
    size_t before = count_ts(path, ts, -1);
    assert_true(after >= 1 && before >= 1);
    assert_int_equal(before + after, json_array_size(json_object_get(all, "items")));
    /* the same instant two hours east ("+" percent-encoded) */
    int h = (ts[11] - '0') * 10 + (ts[12] - '0');
    if (h < 22) {
        snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&from=%.11s%02d%.10s%%2B02:00", ts,
                 h + 2, ts + 13);
        assert_int_equal(count_ts(path, ts, 1), after);
    }
    json_decref(all);
}

static void
expect_400(const char *path, const char *field)
{
    struct vp_resp r;
    at_req(&r, "GET", path, at_admin, NULL);
    assert_int_equal(r.status, 400);
    const char *f = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "errors"), 0), "field"));
    if (!f || strcmp(f, field))
        fail_msg("%s: expected field %s, got %s", path, field, r.body);
    vp_resp_free(&r);
}

static void
test_bad_parameters(void **state)
{
    expect_400("/api/v1/audit?from=yesterday", "from");
    expect_400("/api/v1/audit?to=2024-02-30T00:00:00Z", "to");
    expect_400("/api/v1/audit?outcome=maybe", "outcome");
    expect_400("/api/v1/audit?cursor=abc", "cursor");
    expect_400("/api/v1/audit?limit=0", "limit");
    expect_400("/api/v1/audit?tenant_id=0", "tenant_id");
    expect_400("/api/v1/audit?acter=admin", "query");
    expect_400("/api/v1/audit/export?format=xml", "format");
    expect_400("/api/v1/audit/export?cursor=5", "query");
}

static void
test_tenant_scope(void **state)
{
    json_t *items = NULL;
    assert_int_equal(list("/api/v1/audit?limit=1000", tok_alice, &items), 200);
    assert_true(json_array_size(items) >= 2); /* alpha's creation and alice's binding */
    json_t *it;
    size_t i;
    json_array_foreach(items, i, it)
        assert_int_equal(json_integer_value(json_object_get(it, "tenant_id")), tenant_a);
    json_decref(items);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/audit?tenant_id=%lld", (long long)tenant_b);
    assert_int_equal(list(path, tok_alice, &items), 200);
    assert_int_equal(json_array_size(items), 0); /* beta's rows exist, alice sees none */
    json_decref(items);
    assert_int_equal(list("/api/v1/audit/verify", tok_alice, NULL), 403);
    struct vp_resp r;
    at_req(&r, "GET", "/api/v1/audit/export", tok_alice, NULL);
    assert_int_equal(r.status, 200);
    char tid[40];
    snprintf(tid, sizeof(tid), "\"tenant_id\":%lld,", (long long)tenant_a);
    int lines = 0;
    for (char *l = r.body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL, lines++)
        assert_true(strncmp(strstr(l, "\"tenant_id\":"), tid, strlen(tid)) == 0);
    assert_true(lines >= 2);
    vp_resp_free(&r);
    /* viewer: no audit.read at all; auditor: everything, global rows too */
    assert_int_equal(list("/api/v1/audit", tok_vera, NULL), 403);
    assert_int_equal(list("/api/v1/audit/export", tok_vera, NULL), 403);
    assert_int_equal(list("/api/v1/audit?outcome=failed", tok_bob, &items), 200);
    assert_true(json_array_size(items) >= 1);
    json_decref(items);
    assert_int_equal(list("/api/v1/audit/verify", tok_bob, NULL), 200);
}

/* Downloads an export to data-dir/name; returns the number of lines. */
static int
export_to(const char *query, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit/export%s", query);
    struct vp_resp r;
    at_req(&r, "GET", path, at_admin, NULL);
    assert_int_equal(r.status, 200);
    char *te = vp_header(&r, "Transfer-Encoding");
    assert_non_null(te); /* streamed, not buffered */
    free(te);
    FILE *f = fopen(at_path(name), "w");
    assert_non_null(f);
    fwrite(r.body, 1, r.len, f);
    fclose(f);
    int n = 0;
    for (const char *p = r.body; *p; p++)
        n += *p == '\n';
    vp_resp_free(&r);
    return n;
}

static int
verify_export(const char *name, bool allow_gaps, char *out, size_t n)
{
    char file[600];
    snprintf(file, sizeof(file), "%s", at_path(name));
    const char *argv[] = {"audit",
                          "verify",
                          "--export",
                          file,
                          "--data-dir",
                          at_p.dir,
                          allow_gaps ? "--allow-gaps" : NULL,
                          NULL};
    int rc = at_cli(out, n, argv);
    print_message("%s: %s", name, out);
    return rc;
}

/* Rewrites data-dir/src into dst through fn(lines, n); a NULL line is dropped. */
static void
rewrite(const char *src, const char *dst, void (*fn)(char **lines, int n))
{
    char *data = at_slurp(at_path(src), NULL);
    assert_non_null(data);
    char *lines[4096];
    int n = 0;
    for (char *l = data; *l && n < 4096;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        lines[n++] = l;
        l = nl ? nl + 1 : l + strlen(l);
    }
    fn(lines, n);
    FILE *f = fopen(at_path(dst), "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        if (lines[i])
            fprintf(f, "%s\n", lines[i]);
    fclose(f);
    free(data);
}

static char edited_line[8192];

static void
edit_line(char **lines, int n)
{
    /* the actor of record 5 changes: its HMAC no longer matches */
    char *p = strstr(lines[4], "\"actor\":\"");
    assert_non_null(p);
    snprintf(edited_line, sizeof(edited_line), "%.*s\"actor\":\"mallory\",%s", (int)(p - lines[4]),
             lines[4], strchr(p + 9, ',') + 1);
    lines[4] = edited_line;
}

static void
drop_line(char **lines, int n)
{
    lines[6] = NULL; /* record seq 7 */
}

static void
swap_lines(char **lines, int n)
{
    char *t = lines[3]; /* records 4 and 9 change places */
    lines[3] = lines[8];
    lines[8] = t;
}

static void
test_export_verifies_offline(void **state)
{
    char out[4096];
    int64_t head = db_int("SELECT max(seq) FROM audit");
    assert_int_equal(export_to("", "all.jsonl"), head); /* up to the export's own row */
    assert_int_equal(db_int("SELECT count(*) FROM audit WHERE action = 'audit.export'"), 1);
    assert_int_equal(verify_export("all.jsonl", false, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "export ok"));
    rewrite("all.jsonl", "edited.jsonl", edit_line);
    assert_int_equal(verify_export("edited.jsonl", false, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "BROKEN at seq 5 (line 5): edited"));
    rewrite("all.jsonl", "dropped.jsonl", drop_line);
    assert_int_equal(verify_export("dropped.jsonl", false, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "BROKEN at seq 7 (line 7): deleted"));
    rewrite("all.jsonl", "swapped.jsonl", swap_lines);
    assert_int_equal(verify_export("swapped.jsonl", false, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "BROKEN at seq 4 (line 4): reordered"));
    /* a filtered export has gaps by design (user.create rows in between) */
    assert_true(export_to("?action=role_binding.", "bindings.jsonl") >= 4);
    assert_int_equal(verify_export("bindings.jsonl", false, out, sizeof(out)), 1);
    assert_int_equal(verify_export("bindings.jsonl", true, out, sizeof(out)), 0);
}

static void
test_export_csv(void **state)
{
    struct vp_resp r;
    at_req(&r, "GET", "/api/v1/audit/export?format=csv&action=tenant.create", at_admin, NULL);
    assert_int_equal(r.status, 200);
    char *ct = vp_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "text/csv"));
    free(ct);
    assert_int_equal(strncmp(r.body, "seq,ts,actor,user_id,", 21), 0);
    int rows = -1; /* the header */
    for (const char *p = r.body; *p; p++)
        rows += *p == '\n';
    assert_int_equal(rows, db_int("SELECT count(*) FROM audit WHERE action = 'tenant.create'"));
    assert_non_null(strstr(r.body, ",tenant.create,tenant/")); /* details JSON is quoted */
    assert_non_null(strstr(r.body, "\"{\"\""));
    vp_resp_free(&r);
}

static void
test_verify_endpoint(void **state)
{
    json_t *j = at_get("/api/v1/audit/verify");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "problem")), "ok");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 0);
    int64_t last = json_integer_value(json_object_get(j, "last_seq"));
    assert_true(last >= db_int("SELECT max(seq) FROM audit") - 1);
    assert_int_equal(json_integer_value(json_object_get(j, "rows")), last);
    assert_true(json_integer_value(json_object_get(j, "checkpoints")) >= 1); /* at start */
    assert_true(json_is_true(json_object_get(j, "external_file")));
    json_decref(j);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_newest_first), cmocka_unit_test(test_filters),
        cmocka_unit_test(test_time_range),         cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_tenant_scope),       cmocka_unit_test(test_export_verifies_offline),
        cmocka_unit_test(test_export_csv),         cmocka_unit_test(test_verify_endpoint),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
