/* The writer on real SQLite files: group commit under 64 threads, per-job
 * rollback inside a batch, audit failures that must undo the change, a failed
 * COMMIT, migrations on reopen, readers. Run one case: db_writer_test <name>. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db_internal.h"
#include "db_test_util.h"

struct fixture {
    char *dir, *path;
    db *d;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = dbt_tmpdir();
    assert_non_null(f->dir);
    f->path = dbt_path(f->dir, "vp.db");
    f->d = dbt_open(f->path, DB_COMMIT_GROUP);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    db_close(f->d);
    dbt_rmtree(f->dir);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- a mutation: insert a tenant, name its id as the audit target ---- */

struct tenant_arg {
    char slug[64];
    char target[40];
    const char *second_slug; /* when set, a second insert (may violate UNIQUE) */
};

static int
insert_tenant(db_conn *c, const char *slug, err *e)
{
    DB_STMT s = db_conn_stmt(c, "INSERT INTO tenant(slug, name) VALUES (?1, ?1)", e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, slug, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_tenant(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    struct tenant_arg *t = arg;
    if (insert_tenant(c, t->slug, e) < 0)
        return -1;
    snprintf(t->target, sizeof(t->target), "tenant/%lld",
             (long long)sqlite3_last_insert_rowid(db_conn_sqlite(c)));
    if (audit)
        audit->target = t->target;
    return t->second_slug ? insert_tenant(c, t->second_slug, e) : 0;
}

static int
mutate_tenant(db *d, struct tenant_arg *t, err *e)
{
    struct db_audit a = {.actor = "tester",
                         .user_id = 7,
                         .source_ip = "127.0.0.1",
                         .request_id = t->slug,
                         .action = "tenant.create"};
    return db_mutate(d, apply_tenant, t, &a, e);
}

static int64_t
tenants_with_slug(db *d, const char *slug)
{
    return dbt_count_s(d, "SELECT count(*) FROM tenant WHERE slug = ?1", slug);
}

static int64_t
audits_with_request(db *d, const char *rid)
{
    return dbt_count_s(d, "SELECT count(*) FROM audit WHERE request_id = ?1", rid);
}

static void
assert_chain_ok(db *d, int64_t rows)
{
    struct db_audit_verify_result r;
    err e = {0};
    assert_int_equal(db_audit_verify_live(d, 0, &r, &e), 0);
    if (r.problem != DB_AUDIT_OK)
        fail_msg("chain: %s at %lld", db_audit_problem_name(r.problem), (long long)r.seq);
    assert_int_equal(r.rows, rows);
}

/* ---- 64 threads ---- */

enum { THREADS = 64, PER_THREAD = 30 };

struct worker {
    db *d;
    int id;
    bool acked[PER_THREAD];
};

static void *
worker_main(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < PER_THREAD; i++) {
        struct tenant_arg t = {0};
        snprintf(t.slug, sizeof(t.slug), "c-%d-%d", w->id, i);
        err e = {0};
        w->acked[i] = mutate_tenant(w->d, &t, &e) == 0;
    }
    return NULL;
}

static void
test_concurrent_group_commit(void **state)
{
    struct fixture *f = *state;
    static struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.d = f->d, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int64_t acked = 0;
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++) {
            if (!w[i].acked[j])
                continue;
            acked++;
            char slug[64];
            snprintf(slug, sizeof(slug), "c-%d-%d", i, j);
            assert_int_equal(tenants_with_slug(f->d, slug), 1);
            assert_int_equal(audits_with_request(f->d, slug), 1);
        }
    assert_int_equal(acked, THREADS * PER_THREAD); /* nothing should fail here */
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM tenant"), acked);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM audit"), acked);
    assert_chain_ok(f->d, acked);
    struct db_stats st;
    db_stats(f->d, &st);
    assert_int_equal(st.jobs, (uint64_t)acked);
    assert_int_equal(st.jobs_failed, 0);
    print_message("commits %llu jobs %llu max batch %llu checkpoints %llu\n",
                  (unsigned long long)st.commits, (unsigned long long)st.jobs,
                  (unsigned long long)st.max_batch_seen, (unsigned long long)st.wal_checkpoints);
    assert_true(st.jobs > st.commits); /* average batch size > 1 */
    assert_true(st.max_batch_seen > 1);
}

/* ---- a gate: holds the writer so that the next jobs form one batch ---- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, released;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};

static int
apply_gate(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    pthread_mutex_lock(&gate.mu);
    gate.entered = true;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.released)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
    return 0;
}

static void *
gate_thread(void *p)
{
    err e = {0};
    db_mutate(p, apply_gate, NULL, NULL, &e);
    return NULL;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the gate job and waits until the writer is inside it. */
static pthread_t
gate_close(db *d)
{
    gate.entered = gate.released = false;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, gate_thread, d), 0);
    pthread_mutex_lock(&gate.mu);
    while (!gate.entered)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
    return t;
}

/* Waits (bounded) until n jobs are queued behind the gate, then opens it. */
static void
gate_open_when_queued(db *d, pthread_t t, uint64_t n)
{
    struct db_stats st;
    for (int i = 0; i < 10000; i++) {
        db_stats(d, &st);
        if (st.queued >= n)
            break;
        sleep_ms(1);
    }
    assert_int_equal(st.queued, n);
    pthread_mutex_lock(&gate.mu);
    gate.released = true;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    pthread_join(t, NULL);
}

struct job_thread {
    db *d;
    db_apply_fn fn;
    struct tenant_arg t;
    struct db_audit a;
    int rc;
    err e;
    pthread_t th;
};

static void *
job_thread_main(void *p)
{
    struct job_thread *j = p;
    j->rc = db_mutate(j->d, j->fn, &j->t, &j->a, &j->e);
    return NULL;
}

static void
job_start(struct job_thread *j, db *d, db_apply_fn fn, const char *slug, const char *second)
{
    memset(j, 0, sizeof(*j));
    j->d = d;
    j->fn = fn;
    snprintf(j->t.slug, sizeof(j->t.slug), "%s", slug);
    j->t.second_slug = second;
    j->a = (struct db_audit){.actor = "tester", .request_id = j->t.slug, .action = "tenant.create"};
    assert_int_equal(pthread_create(&j->th, NULL, job_thread_main, j), 0);
}

static void
test_failing_job_rolls_back_alone(void **state)
{
    struct fixture *f = *state;
    struct tenant_arg first = {.slug = "taken"};
    err e = {0};
    assert_int_equal(mutate_tenant(f->d, &first, &e), 0);

    pthread_t g = gate_close(f->d);
    struct job_thread j[3];
    job_start(&j[0], f->d, apply_tenant, "b-ok", NULL);
    /* inserts "c-partial", then violates UNIQUE: both must vanish */
    job_start(&j[1], f->d, apply_tenant, "c-partial", "taken");
    job_start(&j[2], f->d, apply_tenant, "d-ok", NULL);
    gate_open_when_queued(f->d, g, 3);
    for (int i = 0; i < 3; i++)
        pthread_join(j[i].th, NULL);

    struct db_stats st;
    db_stats(f->d, &st);
    assert_true(st.max_batch_seen >= 3); /* the three shared one transaction */
    assert_int_equal(j[0].rc, 0);
    assert_int_equal(j[2].rc, 0);
    assert_int_equal(j[1].rc, -1);
    assert_int_equal(j[1].e.kind, ERR_CONFLICT); /* fn's own error */
    assert_int_equal(tenants_with_slug(f->d, "b-ok"), 1);
    assert_int_equal(tenants_with_slug(f->d, "d-ok"), 1);
    assert_int_equal(tenants_with_slug(f->d, "c-partial"), 0);
    assert_int_equal(audits_with_request(f->d, "c-partial"), 0);
    assert_int_equal(audits_with_request(f->d, "b-ok"), 1);
    assert_int_equal(audits_with_request(f->d, "d-ok"), 1);
    /* the rolled-back job's seq was given to the next job: no gap */
    assert_int_equal(dbt_count(f->d, "SELECT max(seq) FROM audit"), 3);
    assert_chain_ok(f->d, 3);
}

/* ---- the audit row cannot be written: the change must not happen ---- */

static void
test_audit_details_not_object(void **state)
{
    struct fixture *f = *state;
    struct tenant_arg t = {.slug = "never"};
    struct db_audit a = {.actor = "tester", .action = "tenant.create", .details = json_string("x")};
    err e = {0};
    assert_int_equal(db_mutate(f->d, apply_tenant, &t, &a, &e), -1);
    json_decref(a.details);
    assert_int_equal(e.kind, ERR_INTERNAL);
    assert_int_equal(tenants_with_slug(f->d, "never"), 0);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM audit"), 0);
    /* and the writer is fine afterwards */
    struct tenant_arg ok = {.slug = "after"};
    assert_int_equal(mutate_tenant(f->d, &ok, &e), 0);
    assert_chain_ok(f->d, 1);
}

/* A trigger makes the audit table refuse one action: the storage refusing the
 * audit row, as a broken disk or a full table would. */
static void
test_audit_insert_refused(void **state)
{
    struct fixture *f = *state;
    struct tenant_arg before = {.slug = "before"};
    err e = {0};
    assert_int_equal(mutate_tenant(f->d, &before, &e), 0);
    db_close(f->d);
    assert_int_equal(dbt_exec(f->path, "CREATE TRIGGER refuse BEFORE INSERT ON audit"
                                       " WHEN NEW.action = 'test.refused'"
                                       " BEGIN SELECT RAISE(ABORT, 'refused'); END;"),
                     0);
    f->d = dbt_open(f->path, DB_COMMIT_GROUP);

    struct tenant_arg t = {.slug = "refused"};
    struct db_audit a = {.actor = "tester", .action = "test.refused", .request_id = "refused"};
    assert_int_equal(db_mutate(f->d, apply_tenant, &t, &a, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    assert_int_equal(tenants_with_slug(f->d, "refused"), 0);
    assert_int_equal(db_audit_event(f->d, &a, &e), -1);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM audit"), 1);

    struct tenant_arg after = {.slug = "after"};
    assert_int_equal(mutate_tenant(f->d, &after, &e), 0);
    assert_chain_ok(f->d, 2);
}

static int
apply_page_limit(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    char sql[64];
    int64_t pages = 0;
    DB_STMT s = db_conn_stmt(c, "PRAGMA page_count", e);
    if (s && sqlite3_step(s) == SQLITE_ROW)
        pages = sqlite3_column_int64(s, 0);
    /* 0 lifts the limit again */
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", arg ? (long long)pages : 4294967294LL);
    return db_conn_exec(c, sql, e);
}

/* The disk fills up while the audit row is written: the row (with a large
 * details object) needs new pages, the tenant insert before it does not. */
static void
test_audit_disk_full(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    struct tenant_arg t0 = {.slug = "t0"};
    assert_int_equal(mutate_tenant(f->d, &t0, &e), 0);

    static char big[200000];
    memset(big, 'x', sizeof(big) - 1);
    json_t *details = json_pack("{s:s}", "blob", big);
    struct tenant_arg t = {.slug = "full"};
    struct db_audit a = {.actor = "tester", .action = "tenant.create", .details = details};
    int limit = 1;
    assert_int_equal(db_mutate(f->d, apply_page_limit, &limit, NULL, &e), 0);
    assert_int_equal(db_mutate(f->d, apply_tenant, &t, &a, &e), -1);
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    assert_int_equal(db_mutate(f->d, apply_page_limit, NULL, NULL, &e), 0);
    json_decref(details);

    assert_int_equal(tenants_with_slug(f->d, "full"), 0);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM audit"), 1);
    struct tenant_arg t2 = {.slug = "t2"};
    assert_int_equal(mutate_tenant(f->d, &t2, &e), 0);
    assert_chain_ok(f->d, 2);
}

/* A deferred foreign key violation makes COMMIT itself fail: every job of
 * that batch fails, nothing of it is visible, and the chain goes on. */
static int
apply_deferred_violation(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    if (db_conn_exec(c, "PRAGMA defer_foreign_keys=ON", e) < 0)
        return -1;
    return db_conn_exec(c,
                        "INSERT INTO user(login, password_hash, tenant_id)"
                        " VALUES ('ghost', 'x', 999999)",
                        e);
}

static void
test_commit_failure_fails_batch(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    struct tenant_arg t0 = {.slug = "t0"};
    assert_int_equal(mutate_tenant(f->d, &t0, &e), 0);

    pthread_t g = gate_close(f->d);
    struct job_thread j[3];
    job_start(&j[0], f->d, apply_tenant, "good-1", NULL);
    job_start(&j[1], f->d, apply_deferred_violation, "bad", NULL);
    job_start(&j[2], f->d, apply_tenant, "good-2", NULL);
    gate_open_when_queued(f->d, g, 3);
    for (int i = 0; i < 3; i++) {
        pthread_join(j[i].th, NULL);
        assert_int_equal(j[i].rc, -1);
        assert_int_equal(j[i].e.kind, ERR_UNAVAILABLE);
    }
    assert_int_equal(tenants_with_slug(f->d, "good-1"), 0);
    assert_int_equal(tenants_with_slug(f->d, "good-2"), 0);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM user"), 0);
    assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM audit"), 1);
    struct db_stats st;
    db_stats(f->d, &st);
    assert_int_equal(st.failed_commits, 1);

    struct tenant_arg t3 = {.slug = "t3"};
    assert_int_equal(mutate_tenant(f->d, &t3, &e), 0);
    assert_int_equal(dbt_count(f->d, "SELECT max(seq) FROM audit"), 2);
    assert_chain_ok(f->d, 2);
}

/* ---- migrations, readers, misuse ---- */

static void
test_migrations_idempotent(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    struct tenant_arg t = {.slug = "kept"};
    assert_int_equal(mutate_tenant(f->d, &t, &e), 0);
    int64_t objects = dbt_count(f->d, "SELECT count(*) FROM sqlite_schema");
    assert_int_equal(dbt_count(f->d, "PRAGMA user_version"), db_migrate_latest());
    for (int i = 0; i < 2; i++) {
        db_close(f->d);
        f->d = dbt_open(f->path, DB_COMMIT_GROUP);
        assert_int_equal(dbt_count(f->d, "SELECT count(*) FROM sqlite_schema"), objects);
        assert_int_equal(dbt_count(f->d, "PRAGMA user_version"), db_migrate_latest());
        assert_int_equal(tenants_with_slug(f->d, "kept"), 1);
    }
    struct tenant_arg t2 = {.slug = "later"};
    assert_int_equal(mutate_tenant(f->d, &t2, &e), 0);
    assert_chain_ok(f->d, 2); /* the chain continues across reopen */

    /* a database from a newer program is refused, not "migrated" */
    db_close(f->d);
    f->d = NULL;
    assert_int_equal(dbt_exec(f->path, "PRAGMA user_version = 999"), 0);
    struct db_options o = {.path = f->path, .audit_key = dbt_key, .audit_key_len = 32};
    assert_null(db_open(&o, &e));
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
}

static void
test_open_rejects_bad_options(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    struct db_options o = {.path = f->path, .audit_key = dbt_key, .audit_key_len = 16};
    assert_null(db_open(&o, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    o = (struct db_options){
        .path = "/nonexistent-dir/x.db", .audit_key = dbt_key, .audit_key_len = 32};
    assert_null(db_open(&o, &e));
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
}

/* One writing process per database: a second db_open (a CLI run while the
 * server is up) is refused instead of becoming a second writer. */
static void
test_second_writer_refused(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    struct db_options o = {.path = f->path, .audit_key = dbt_key, .audit_key_len = 32};
    assert_null(db_open(&o, &e));
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    db_close(f->d);
    f->d = db_open(&o, &e);
    assert_non_null(f->d);
}

static int
apply_nested(db_conn *c, void *arg, struct db_audit *audit, err *e)
{
    return db_mutate(arg, apply_nested, arg, NULL, e);
}

static void
test_nested_mutate_refused(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    assert_int_equal(db_mutate(f->d, apply_nested, f->d, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INTERNAL);
    struct db_audit no_action = {.actor = "x"};
    assert_int_equal(db_audit_event(f->d, &no_action, &e), -1);
    assert_int_equal(e.kind, ERR_INTERNAL);
}

static void *
reader_thread(void *p)
{
    err e = {0};
    return db_reader(p, &e);
}

static void
test_readers_per_thread(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    db_conn *mine = db_reader(f->d, &e);
    assert_non_null(mine);
    assert_ptr_equal(db_reader(f->d, &e), mine);
    void *other = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_thread, f->d), 0);
    pthread_join(t, &other); /* that thread's reader is closed at its exit */
    assert_non_null(other);
    assert_ptr_not_equal(other, mine);
    /* a reader cannot write */
    assert_int_equal(db_conn_exec(mine, "INSERT INTO tenant(slug, name) VALUES ('r', 'r')", &e),
                     -1);
    /* and sees what the writer committed */
    struct tenant_arg x = {.slug = "seen"};
    assert_int_equal(mutate_tenant(f->d, &x, &e), 0);
    assert_int_equal(tenants_with_slug(f->d, "seen"), 1);
}

static void
test_audit_event_alone(void **state)
{
    struct fixture *f = *state;
    err e = {0};
    json_t *details = json_pack("{s:s,s:i}", "reason", "bad password", "attempt", 3);
    struct db_audit a = {.actor = "mallory",
                         .source_ip = "10.0.0.9",
                         .user_agent = "curl/8",
                         .request_id = "r-1",
                         .action = "auth.login",
                         .outcome = "failed",
                         .details = details};
    assert_int_equal(db_audit_event(f->d, &a, &e), 0);
    json_decref(details);
    assert_int_equal(
        dbt_count_s(f->d,
                    "SELECT count(*) FROM audit WHERE outcome = 'failed' AND "
                    "details = ?1 AND user_id IS NULL AND ts LIKE '____-__-__T__:__:__.___Z'",
                    "{\"attempt\":3,\"reason\":\"bad password\"}"),
        1);
    struct db_audit bad = {.action = "auth.login", .outcome = "maybe"};
    assert_int_equal(db_audit_event(f->d, &bad, &e), -1);
    assert_chain_ok(f->d, 1);
}

static void
test_single_commit_mode(void **state)
{
    struct fixture *f = *state;
    db_close(f->d);
    f->d = dbt_open(f->path, DB_COMMIT_SINGLE);
    static struct worker w[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.d = f->d, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    struct db_stats st;
    db_stats(f->d, &st);
    assert_int_equal(st.jobs, 8 * PER_THREAD);
    assert_int_equal(st.commits, st.jobs);
    assert_int_equal(st.max_batch_seen, 1);
    assert_chain_ok(f->d, 8 * PER_THREAD);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_rolls_back_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_details_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_insert_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rejects_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_mutate_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_per_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_event_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_commit_mode, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
