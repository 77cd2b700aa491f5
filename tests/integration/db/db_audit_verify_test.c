/* Tamper detection: a database with N audit rows written through db_mutate,
 * copied, each copy tampered with plain SQL the way someone with the file
 * would, then db_audit_verify must name the first broken seq and the reason.
 * Run one case: db_audit_verify_test <name>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db_internal.h"
#include "db_test_util.h"

enum { N = 40 };

static char *dir, *golden;

static int
apply_tenant(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    DB_STMT s = db_conn_stmt(c, "INSERT INTO tenant(slug, name) VALUES (?1, ?1)", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Rows alternate between mutations and audit events alone, with varied
 * fields; checkpoints at 20 and at N. */
static void
write_row(db *d, int i)
{
    char slug[32], rid[32];
    snprintf(slug, sizeof(slug), "tenant-%d", i);
    snprintf(rid, sizeof(rid), "req-%d", i);
    json_t *details = json_pack("{s:i,s:s}", "n", i, "slug", slug);
    struct db_audit a = {.actor = i % 3 ? "admin" : "alice",
                         .user_id = i % 3 ? 1 : 2,
                         .tenant_id = i % 2 ? 0 : 1,
                         .source_ip = "192.0.2.1",
                         .user_agent = "test",
                         .request_id = rid,
                         .details = details};
    err e = {0};
    int rc;
    if (i % 2) {
        a.action = "tenant.create";
        rc = db_mutate(d, apply_tenant, slug, &a, &e);
    } else {
        a.action = "auth.login";
        a.outcome = "denied";
        rc = db_audit_event(d, &a, &e);
    }
    json_decref(details);
    if (rc != 0)
        fail_msg("row %d: %s", i, e.detail);
}

static int
make_golden(void **state)
{
    dir = dbt_tmpdir();
    assert_non_null(dir);
    golden = dbt_path(dir, "golden.db");
    db *d = dbt_open(golden, DB_COMMIT_GROUP);
    err e = {0};
    struct db_audit_checkpoint cp;
    for (int i = 1; i <= N; i++) {
        write_row(d, i);
        if (i == 20 || i == N) {
            assert_int_equal(db_audit_checkpoint(d, &cp, &e), 0);
            assert_int_equal(cp.seq, i);
        }
    }
    db_close(d); /* last connection: WAL checkpointed and removed */
    return 0;
}

static int
drop_golden(void **state)
{
    dbt_rmtree(dir);
    free(golden);
    free(dir);
    return 0;
}

/* A fresh copy of the golden file, tampered with `sql` (may be NULL). */
static char *
tampered(const char *name, const char *sql)
{
    char *p = dbt_path(dir, name);
    assert_int_equal(dbt_copy(golden, p), 0);
    /* the append-only trigger guards against our own bugs; an attacker
     * with the file simply drops it */
    if (sql)
        assert_int_equal(dbt_exec(p, "DROP TRIGGER audit_no_update"), 0);
    if (sql)
        assert_int_equal(dbt_exec(p, sql), 0);
    return p;
}

static void
expect(const char *path, int64_t from, enum db_audit_problem p, int64_t seq)
{
    struct db_audit_verify_result r;
    err e = {0};
    if (db_audit_verify(path, dbt_key, sizeof(dbt_key), from, &r, &e) != 0)
        fail_msg("verify failed to run: %s", e.detail);
    if (r.problem != p || r.seq != seq)
        fail_msg("expected %s at %lld, got %s at %lld", db_audit_problem_name(p), (long long)seq,
                 db_audit_problem_name(r.problem), (long long)r.seq);
}

static void
check(const char *name, const char *sql, enum db_audit_problem p, int64_t seq)
{
    char *path = tampered(name, sql);
    expect(path, 0, p, seq);
    free(path);
}

static void
test_untouched(void **state)
{
    char *p = tampered("untouched.db", NULL);
    struct db_audit_verify_result r;
    err e = {0};
    assert_int_equal(db_audit_verify(p, dbt_key, sizeof(dbt_key), 0, &r, &e), 0);
    assert_int_equal(r.problem, DB_AUDIT_OK);
    assert_int_equal(r.rows, N);
    assert_int_equal(r.last_seq, N);
    assert_int_equal(r.checkpoints, 2);
    assert_int_equal(db_audit_verify(p, dbt_key, sizeof(dbt_key), 25, &r, &e), 0);
    assert_int_equal(r.problem, DB_AUDIT_OK);
    assert_int_equal(r.rows, N - 24);
    free(p);
}

static void
test_edited_details(void **state)
{
    char *p = tampered("edited.db", "UPDATE audit SET details = '{\"n\":17,\"slug\":\"x\"}'"
                                    " WHERE seq = 17");
    expect(p, 0, DB_AUDIT_EDITED, 17);
    expect(p, 10, DB_AUDIT_EDITED, 17);
    expect(p, 18, DB_AUDIT_OK, 0); /* the check from 18 on does not look at 17 */
    free(p);
}

static void
test_edited_other_fields(void **state)
{
    check("actor.db", "UPDATE audit SET actor = 'bob' WHERE seq = 5", DB_AUDIT_EDITED, 5);
    check("outcome.db", "UPDATE audit SET outcome = 'ok' WHERE seq = 8", DB_AUDIT_EDITED, 8);
    check("null.db", "UPDATE audit SET user_agent = NULL WHERE seq = 9", DB_AUDIT_EDITED, 9);
    check("empty.db", "UPDATE audit SET target = '' WHERE seq = 12", DB_AUDIT_EDITED, 12);
    check("tenant.db", "UPDATE audit SET tenant_id = 2 WHERE seq = 14", DB_AUDIT_EDITED, 14);
}

static void
test_deleted(void **state)
{
    check("deleted.db", "DELETE FROM audit WHERE seq = 23", DB_AUDIT_DELETED, 23);
    check("first.db", "DELETE FROM audit WHERE seq = 1", DB_AUDIT_DELETED, 1);
    /* deleted and renumbered so that there is no gap: the row now at 23
     * still links to the deleted one */
    check("renumbered.db",
          "DELETE FROM audit WHERE seq = 23; UPDATE audit SET seq = seq - 1 WHERE seq > 23",
          DB_AUDIT_DELETED, 23);
}

static void
test_swapped(void **state)
{
    check("swapped.db",
          "UPDATE audit SET seq = -1 WHERE seq = 10; UPDATE audit SET seq = 10 WHERE seq = 30;"
          " UPDATE audit SET seq = 30 WHERE seq = -1",
          DB_AUDIT_REORDERED, 10);
    check("adjacent.db",
          "UPDATE audit SET seq = -1 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 6;"
          " UPDATE audit SET seq = 6 WHERE seq = -1",
          DB_AUDIT_REORDERED, 5);
}

static void
test_truncated(void **state)
{
    check("truncated.db", "DELETE FROM audit WHERE seq > 30", DB_AUDIT_TRUNCATED, 31);
    check("emptied.db", "DELETE FROM audit", DB_AUDIT_TRUNCATED, 1);
}

/* Truncated, then the server appends again past the checkpoint: the chain
 * is valid on its own but no longer reaches the signed head. */
static void
test_truncated_then_appended(void **state)
{
    char *p = tampered("regrown.db", "DELETE FROM audit WHERE seq > 30");
    db *d = dbt_open(p, DB_COMMIT_GROUP);
    for (int i = 31; i <= N + 5; i++)
        write_row(d, 1000 + i);
    db_close(d);
    expect(p, 0, DB_AUDIT_BAD_CHECKPOINT, N);
    free(p);
}

static void
test_bad_checkpoint(void **state)
{
    /* moving the signed head back to 39 without the key breaks the signature */
    check("ckpt.db",
          "UPDATE audit_checkpoint SET seq = 39, hash = (SELECT hash FROM audit WHERE seq = 39)"
          " WHERE seq = 40",
          DB_AUDIT_BAD_CHECKPOINT, 39);
}

static void
test_wrong_key(void **state)
{
    char *p = tampered("key.db", NULL);
    unsigned char other[32];
    memcpy(other, dbt_key, sizeof(other));
    other[31] ^= 1;
    struct db_audit_verify_result r;
    err e = {0};
    assert_int_equal(db_audit_verify(p, other, sizeof(other), 0, &r, &e), 0);
    assert_int_equal(r.problem, DB_AUDIT_EDITED);
    assert_int_equal(r.seq, 1);
    free(p);
}

static void
test_not_a_database(void **state)
{
    struct db_audit_verify_result r;
    err e = {0};
    char *missing = dbt_path(dir, "missing.db");
    assert_int_equal(db_audit_verify(missing, dbt_key, sizeof(dbt_key), 0, &r, &e), -1);
    char *other = dbt_path(dir, "other.db");
    assert_int_equal(dbt_copy(golden, other), 0);
    assert_int_equal(dbt_exec(other, "DROP TABLE audit_checkpoint"), 0);
    e = (err){0};
    assert_int_equal(db_audit_verify(other, dbt_key, sizeof(dbt_key), 0, &r, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(db_audit_verify(golden, dbt_key, 8, 0, &r, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    free(missing);
    free(other);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched),
        cmocka_unit_test(test_edited_details),
        cmocka_unit_test(test_edited_other_fields),
        cmocka_unit_test(test_deleted),
        cmocka_unit_test(test_swapped),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_then_appended),
        cmocka_unit_test(test_bad_checkpoint),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_not_a_database),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, make_golden, drop_golden);
}
