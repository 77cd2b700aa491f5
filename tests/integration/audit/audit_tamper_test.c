/* Must show: tamper with copies of a real database made through the API and
 * `virtportal audit verify` names each case with the right seq and exits
 * non-zero; the untouched copy exits 0.
 *
 * The database: tenants created, failed logins and exports through the API,
 * then a clean stop (which signs the head into the database and into the
 * external checkpoint file). Each case copies it and tampers with plain SQL,
 * the way someone with the file would (dropping the append-only trigger
 * first). Run one case: audit_tamper_test <name>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "at.h"

static char golden[600];
static int64_t last_seq;

static void
make_events(void)
{
    char slug[32];
    for (int i = 0; i < 30; i++) {
        snprintf(slug, sizeof(slug), "tamper-%02d", i);
        at_tenant(slug, NULL);
        if (i % 10 == 3) { /* other kinds of rows in between */
            struct vp_resp r;
            at_req(&r, "POST", "/api/v1/auth/login", NULL,
                   "{\"login\":\"admin\",\"password\":\"not-the-password\"}");
            vp_resp_free(&r);
            at_req(&r, "GET", "/api/v1/audit/export?action=tenant.", at_admin, NULL);
            vp_resp_free(&r);
        }
    }
}

static int
setup(void **state)
{
    if (at_start(NULL) < 0)
        return -1;
    make_events();
    if (vp_term(&at_p) != 0) /* clean stop: the head is signed on the way out */
        return -1;
    snprintf(golden, sizeof(golden), "%s", at_path("virtportal.db"));
    last_seq = at_sql_int(golden, "SELECT max(seq) FROM audit");
    mkdir(at_path("copies"), 0700);
    return last_seq >= 30 ? 0 : -1;
}

static int
teardown(void **state)
{
    at_stop();
    return 0;
}

/* A copy of the golden database, tampered with `sql` (NULL: untouched). */
static const char *
tampered(const char *name, const char *sql)
{
    static char path[700];
    snprintf(path, sizeof(path), "%s/copies/%s", at_p.dir, name);
    assert_int_equal(at_copy(golden, path), 0);
    if (sql) {
        assert_int_equal(at_sql(path, "DROP TRIGGER audit_no_update"), 0);
        assert_int_equal(at_sql(path, sql), 0);
    }
    return path;
}

/* Runs `virtportal audit verify --db path` against the server's key and
 * external checkpoint file; checks the exit status and the verdict line. */
static void
expect_broken(const char *path, const char *problem, int64_t seq)
{
    char out[4096], want[128];
    const char *argv[] = {"audit", "verify", "--db", path, "--data-dir", at_p.dir, NULL};
    int rc = at_cli(out, sizeof(out), argv);
    snprintf(want, sizeof(want), "BROKEN at seq %lld: %s", (long long)seq, problem);
    print_message("%s", out);
    if (rc != 1 || !strstr(out, want))
        fail_msg("expected exit 1 and '%s', got %d: %s", want, rc, out);
}

/* The seq of the k-th tenant.create row (0-based). */
static int64_t
tenant_row(const char *path, int k)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT seq FROM audit WHERE action = 'tenant.create' ORDER BY seq LIMIT 1 OFFSET %d",
             k);
    int64_t seq = at_sql_int(path, sql);
    assert_true(seq > 1);
    return seq;
}

static void
test_untouched(void **state)
{
    char out[4096];
    const char *path = tampered("untouched.db", NULL);
    const char *argv[] = {"audit", "verify", "--db", path, "--data-dir", at_p.dir, NULL};
    int rc = at_cli(out, sizeof(out), argv);
    print_message("%s", out);
    char want[96];
    snprintf(want, sizeof(want), "audit chain ok: %lld rows, last seq %lld", (long long)last_seq,
             (long long)last_seq);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, want));
    assert_null(strstr(out, " 0 external checkpoints")); /* the file was checked too */
}

static void
test_edited_details(void **state)
{
    int64_t k = tenant_row(golden, 12);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE audit SET details = ifnull(json_set(details, '$.name', 'Evil Corp'),"
             " '{\"name\":\"Evil Corp\"}') WHERE seq = %lld",
             (long long)k);
    expect_broken(tampered("edited.db", sql), "edited", k);
}

static void
test_deleted_row(void **state)
{
    int64_t k = tenant_row(golden, 7);
    char sql[96];
    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq = %lld", (long long)k);
    expect_broken(tampered("deleted.db", sql), "deleted", k);
}

static void
test_swapped_rows(void **state)
{
    int64_t a = tenant_row(golden, 5), b = tenant_row(golden, 20);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE audit SET seq = -1 WHERE seq = %lld; UPDATE audit SET seq = %lld WHERE seq = "
             "%lld; UPDATE audit SET seq = %lld WHERE seq = -1",
             (long long)a, (long long)a, (long long)b, (long long)b);
    expect_broken(tampered("swapped.db", sql), "reordered", a);
}

static void
test_truncated_tail(void **state)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq > %lld", (long long)(last_seq - 10));
    expect_broken(tampered("truncated.db", sql), "truncated", last_seq - 9);
}

/* The checkpoints inside the database go with the tail: the external file
 * still knows the head. */
static void
test_truncated_tail_and_checkpoints(void **state)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq > %lld; DELETE FROM audit_checkpoint",
             (long long)(last_seq - 10));
    expect_broken(tampered("truncated-all.db", sql), "truncated", last_seq - 9);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched),
        cmocka_unit_test(test_edited_details),
        cmocka_unit_test(test_deleted_row),
        cmocka_unit_test(test_swapped_rows),
        cmocka_unit_test(test_truncated_tail),
        cmocka_unit_test(test_truncated_tail_and_checkpoints),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
