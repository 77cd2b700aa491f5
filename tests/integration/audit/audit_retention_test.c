/* Retention: rows older than audit.retention_days are pruned at start (and
 * daily), leaving a signed prune anchor so the rest still verifies, and the
 * prune is itself audited. Time is moved with server.clock_offset_s (a
 * test-only key read at start), not slept: every row written so far is "now"
 * in real time, so an offset beyond the retention makes all of them old.
 * Run one case: audit_retention_test <name>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "at.h"

#define DAY 86400L

static int
setup(void **state)
{
    return at_start(NULL);
}

static int
teardown(void **state)
{
    at_stop();
    return 0;
}

static const char *
offset_flag(long seconds)
{
    static char buf[64];
    snprintf(buf, sizeof(buf), "server.clock_offset_s=%ld", seconds);
    return buf;
}

static int64_t
db_int(const char *sql)
{
    return at_sql_int(at_path("virtportal.db"), sql);
}

/* Waits (up to 10 s) for an audit.prune row; returns it (new ref) or NULL. */
static json_t *
wait_prune(void)
{
    for (int i = 0; i < 100; i++) {
        json_t *j = at_get("/api/v1/audit?action=audit.prune&limit=1");
        json_t *it = json_array_get(json_object_get(j, "items"), 0);
        if (it) {
            json_incref(it);
            json_decref(j);
            return it;
        }
        json_decref(j);
        usleep(100000);
    }
    return NULL;
}

static int
cli_verify(char *out, size_t n, const char *db)
{
    const char *argv[] = {"audit", "verify", "--db", db, "--data-dir", at_p.dir, NULL};
    int rc = at_cli(out, n, argv);
    print_message("verify %s: %s", db, out);
    return rc;
}

static void
make_tenants(const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char slug[32];
        snprintf(slug, sizeof(slug), "%s-%d", prefix, i);
        at_tenant(slug, NULL);
    }
}

/* Before the due date nothing goes; past it, everything before the prune does,
 * and the chain still verifies (API, CLI, external file). */
static void
test_prune_at_start(void **state)
{
    char out[4096], pre[700];
    make_tenants("old", 12);
    assert_int_equal(vp_term(&at_p), 0);
    int64_t head = db_int("SELECT max(seq) FROM audit");
    snprintf(pre, sizeof(pre), "%s", at_path("before-prune.db"));
    assert_int_equal(at_copy(at_path("virtportal.db"), pre), 0);

    const char *early[] = {"--set", offset_flag(179 * DAY), NULL};
    assert_int_equal(at_restart(early), 0);
    sleep(2); /* the retention run at start had its chance */
    json_t *none = at_get("/api/v1/audit?action=audit.prune");
    assert_int_equal(json_array_size(json_object_get(none, "items")), 0);
    json_decref(none);
    assert_int_equal(db_int("SELECT min(seq) FROM audit"), 1);
    assert_int_equal(vp_term(&at_p), 0);

    const char *late[] = {"--set", offset_flag(181 * DAY), NULL};
    assert_int_equal(at_restart(late), 0);
    json_t *p = wait_prune();
    assert_non_null(p);
    json_t *d = json_object_get(p, "details");
    int64_t last = json_integer_value(json_object_get(d, "last_seq"));
    assert_string_equal(json_string_value(json_object_get(p, "actor")), "system");
    assert_int_equal(json_integer_value(json_object_get(d, "first_seq")), 1);
    assert_true(last >= head);
    assert_int_equal(json_integer_value(json_object_get(d, "rows")), last);
    /* the anchor is the last pruned row's seq and hash, as it was */
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit_checkpoint WHERE seq = %lld AND "
             "hash = '%s'",
             (long long)last, json_string_value(json_object_get(d, "anchor_hash")));
    assert_true(db_int(sql) >= 1); /* the prune anchor (and the head signed at the stop) */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE seq = %lld AND hash = '%s'",
             (long long)head, json_string_value(json_object_get(d, "anchor_hash")));
    assert_int_equal(at_sql_int(pre, sql), last == head ? 1 : 0);
    assert_int_equal(db_int("SELECT min(seq) FROM audit"), last + 1);
    json_decref(p);

    make_tenants("new", 5); /* the chain goes on from the anchor */
    json_t *v = at_get("/api/v1/audit/verify");
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_true(json_integer_value(json_object_get(v, "external_checkpoints")) >= 2);
    json_decref(v);
    assert_int_equal(vp_term(&at_p), 0);
    assert_int_equal(cli_verify(out, sizeof(out), at_path("virtportal.db")), 0);
    char *file = at_slurp(at_path("audit-checkpoints.log"), NULL);
    assert_non_null(file);
    assert_non_null(strstr(file, "\"kind\":\"prune\""));
    free(file);
    assert_int_equal(at_restart(NULL), 0); /* for teardown's clean stop */
}

/* A prefix deleted by hand is not a prune: only a prune anchor (signed in its
 * own domain) may stand in for the rows before the first one left. */
static void
test_hand_deleted_prefix_is_detected(void **state)
{
    char out[4096], copy[700];
    make_tenants("pre", 6);
    assert_int_equal(vp_term(&at_p), 0);
    /* a head checkpoint exists (written at start); deleting up to it must not
     * pass as a prune */
    int64_t cp = db_int("SELECT min(seq) FROM audit_checkpoint");
    assert_true(cp >= 1);
    snprintf(copy, sizeof(copy), "%s", at_path("prefix.db"));
    assert_int_equal(at_copy(at_path("virtportal.db"), copy), 0);
    char sql[96];
    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq <= %lld", (long long)cp);
    assert_int_equal(at_sql(copy, sql), 0);
    assert_int_equal(cli_verify(out, sizeof(out), copy), 1);
    assert_non_null(strstr(out, "BROKEN at seq 1: deleted"));

    /* after a real prune, removing the anchor or the first row left is caught */
    const char *late[] = {"--set", offset_flag(200 * DAY), NULL};
    assert_int_equal(at_restart(late), 0);
    json_t *p = wait_prune();
    assert_non_null(p);
    int64_t last = json_integer_value(json_object_get(json_object_get(p, "details"), "last_seq"));
    json_decref(p);
    make_tenants("post", 3);
    assert_int_equal(vp_term(&at_p), 0);
    assert_int_equal(at_copy(at_path("virtportal.db"), copy), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM audit_checkpoint WHERE seq = %lld", (long long)last);
    assert_int_equal(at_sql(copy, sql), 0);
    assert_int_equal(cli_verify(out, sizeof(out), copy), 1);
    assert_int_equal(at_copy(at_path("virtportal.db"), copy), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq = %lld", (long long)last + 1);
    assert_int_equal(at_sql(copy, sql), 0);
    char want[64];
    snprintf(want, sizeof(want), "BROKEN at seq %lld: deleted", (long long)last + 1);
    assert_int_equal(cli_verify(out, sizeof(out), copy), 1);
    assert_non_null(strstr(out, want));
    assert_int_equal(at_restart(NULL), 0);
}

static void
test_retention_off(void **state)
{
    make_tenants("keep", 3);
    assert_int_equal(vp_term(&at_p), 0);
    const char *flags[] = {"--set", offset_flag(3000 * DAY), "--set", "audit.retention_days=0",
                           NULL};
    assert_int_equal(at_restart(flags), 0);
    sleep(2);
    assert_int_equal(db_int("SELECT min(seq) FROM audit"), 1);
    assert_int_equal(db_int("SELECT count(*) FROM audit WHERE action = 'audit.prune'"), 0);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_at_start),
        cmocka_unit_test(test_hand_deleted_prefix_is_detected),
        cmocka_unit_test(test_retention_off),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
