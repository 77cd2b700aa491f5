/* The task runner (server/task.c, server/task_events.c) on a real SQLite file
 * with real threads: concurrency limits, FIFO within a key, cancellation of
 * queued and running tasks, failures, progress, restart reconciliation,
 * shutdown, and the event hub behind Server-Sent Events.
 *
 * Waits are bounded (a test fails instead of hanging) but nothing asserts how
 * long anything took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "identity.h"
#include "task.h"

static const unsigned char test_key[32] = "task-runner-test-key-0123456789";

/* ---- fixture: a temp dir, a database, a runner ---- */

struct fx {
    char dir[256];
    char path[300];
    db *d;
    struct task_runner *tr;
    int64_t alice;        /* a user who creates tasks */
    int64_t acme, globex; /* tenants */
};

static db *
open_db(const char *path)
{
    struct db_options o = {.path = path, .audit_key = test_key, .audit_key_len = sizeof(test_key)};
    err e = {0};
    db *d = db_open(&o, &e);
    if (!d)
        fail_msg("db_open: %s", e.detail);
    return d;
}

static struct task_runner *
start_runner(struct fx *f, int workers, int per_key, int max_subs)
{
    struct task_runner_opts o = {
        .workers = workers, .per_key = per_key, .max_subscribers = max_subs, .progress_ms = 20};
    err e = {0};
    struct task_runner *tr = task_runner_start(f->d, &o, &e);
    if (!tr)
        fail_msg("task_runner_start: %s", e.detail);
    return tr;
}

static void
seed_identity(struct fx *f)
{
    err e = {0};
    struct db_audit a = {.actor = "test", .action = "tenant.create"};
    assert_int_equal(db_tenant_create(f->d, "acme", "Acme", &a, &f->acme, &e), 0);
    assert_int_equal(db_tenant_create(f->d, "globex", "Globex", &a, &f->globex, &e), 0);
    struct db_audit u = {.actor = "test", .action = "user.create"};
    assert_int_equal(
        db_user_create(f->d, "alice", "$argon2id$v=19$m=8,t=1,p=1$x$y", f->acme, &u, &f->alice, &e),
        0);
}

static struct fx *
fx_new(int workers, int per_key, int max_subs)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->dir, sizeof(f->dir), "%s/vp-task-XXXXXX", tmp);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    f->d = open_db(f->path);
    seed_identity(f);
    f->tr = start_runner(f, workers, per_key, max_subs);
    return f;
}

static int
rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(p);
}

static void
fx_free(struct fx *f)
{
    task_runner_stop(f->tr);
    db_close(f->d);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
}

/* The integer answer of `sql` on a separate read-only connection. */
static int64_t
sql_int(const struct fx *f, const char *sql)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(f->path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the stored row until it reaches `want` (fails after 20 s). */
static struct db_task
wait_stored(struct fx *f, int64_t id, enum db_task_state want)
{
    struct db_task t = {0};
    for (int i = 0; i < 2000; i++) {
        err e = {0};
        if (db_task_get(f->d, id, &t, &e) < 0)
            fail_msg("db_task_get(%lld): %s", (long long)id, e.detail);
        if (t.state == want)
            return t;
        sleep_ms(10);
    }
    fail_msg("task %lld is %s, wanted %s", (long long)id, db_task_state_name(t.state),
             db_task_state_name(want));
    return t;
}

static int64_t
submit_as(struct fx *f, const char *actor, const struct task_spec *s, task_fn fn, void *arg,
          void (*free_arg)(void *))
{
    struct db_audit a = {
        .actor = actor, .user_id = f->alice, .action = "vm.start", .target = s->target};
    int64_t id = 0;
    err e = {0};
    if (task_submit(f->tr, s, fn, arg, free_arg, &a, &id, &e) < 0)
        fail_msg("task_submit: %s", e.detail);
    assert_true(id > 0);
    return id;
}

static int64_t
submit(struct fx *f, const char *key, bool cancellable, task_fn fn, void *arg)
{
    struct task_spec s = {.kind = "vm.start",
                          .target = "vm/1",
                          .tenant_id = f->acme,
                          .created_by = f->alice,
                          .actor = "alice",
                          .key = key,
                          .cancellable = cancellable};
    return submit_as(f, "alice", &s, fn, arg, NULL);
}

/* ---- a gate: task functions that wait until the test lets them finish ---- */

enum { MAX_JOBS = 64 };

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int tokens[4]; /* per key: tasks allowed to finish */
    int started, done;
    int64_t order[MAX_JOBS]; /* task ids in the order they started */
    int running, max_running;
    int per_key[4], max_per_key[4];
    int progress_at; /* > 0: report this progress before waiting */
    int fail_kind;   /* an err kind to fail with, 0 = succeed */
};

struct job {
    struct gate *g;
    int key; /* index into per_key */
};

static struct gate *
gate_new(void)
{
    struct gate *g = calloc(1, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    return g;
}

static void
gate_free(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void
gate_enter(struct gate *g, struct job *j, int64_t id)
{
    pthread_mutex_lock(&g->mu);
    g->order[g->started++ % MAX_JOBS] = id;
    if (++g->running > g->max_running)
        g->max_running = g->running;
    if (++g->per_key[j->key] > g->max_per_key[j->key])
        g->max_per_key[j->key] = g->per_key[j->key];
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int
gate_fn(struct task_ctx *t, void *arg, err *e)
{
    struct job *j = arg;
    struct gate *g = j->g;
    gate_enter(g, j, task_id(t));
    if (g->progress_at)
        task_progress(t, g->progress_at, "copying %d%%", g->progress_at);
    pthread_mutex_lock(&g->mu);
    while (!g->tokens[j->key] && !task_cancelled(t)) {
        pthread_mutex_unlock(&g->mu);
        task_sleep(t, 5); /* wakes at once on cancellation */
        pthread_mutex_lock(&g->mu);
    }
    bool cancelled = !g->tokens[j->key];
    if (!cancelled)
        g->tokens[j->key]--;
    g->running--;
    g->per_key[j->key]--;
    g->done++;
    pthread_cond_broadcast(&g->cv);
    int kind = g->fail_kind;
    pthread_mutex_unlock(&g->mu);
    if (cancelled)
        return err_set(e, ERR_CONFLICT, "stopped");
    if (kind)
        return err_set(e, (enum err_kind)kind, "The VM is already running.");
    return 0;
}

/* Waits until `cond` (an expression over g) holds; fails after 20 s. */
#define GATE_WAIT(g, cond)                                                                         \
    do {                                                                                           \
        struct timespec until_;                                                                    \
        clock_gettime(CLOCK_REALTIME, &until_);                                                    \
        until_.tv_sec += 20;                                                                       \
        pthread_mutex_lock(&(g)->mu);                                                              \
        int rc_ = 0;                                                                               \
        while (!(cond) && rc_ == 0)                                                                \
            rc_ = pthread_cond_timedwait(&(g)->cv, &(g)->mu, &until_);                             \
        bool ok_ = (cond);                                                                         \
        pthread_mutex_unlock(&(g)->mu);                                                            \
        if (!ok_)                                                                                  \
            fail_msg("timed out waiting for %s", #cond);                                           \
    } while (0)

/* Lets n tasks of key `key` finish. */
static void
gate_release(struct gate *g, int key, int n)
{
    pthread_mutex_lock(&g->mu);
    g->tokens[key] += n;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static struct job *
job(struct gate *g, int key)
{
    struct job *j = calloc(1, sizeof(*j));
    j->g = g;
    j->key = key;
    return j;
}

static int64_t
submit_gated(struct fx *f, struct gate *g, int key, bool cancellable)
{
    static const char *const keys[] = {"host/0", "host/1", "host/2", "host/3"};
    struct task_spec s = {.kind = "vm.start",
                          .target = "vm/1",
                          .tenant_id = f->acme,
                          .created_by = f->alice,
                          .actor = "alice",
                          .key = keys[key],
                          .cancellable = cancellable};
    return submit_as(f, "alice", &s, gate_fn, job(g, key), free);
}

static enum db_task_state
live_state(struct fx *f, int64_t id)
{
    struct task_view v;
    return task_peek(f->tr, id, &v) ? v.row.state : DB_TASK_STATE_COUNT;
}

/* ---- tests ---- */

static int
quick_fn(struct task_ctx *t, void *arg, err *e)
{
    return 0;
}

static void
test_runs_and_audits(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    int64_t id = submit(f, "host/1", true, quick_fn, NULL);
    struct db_task t = wait_stored(f, id, DB_TASK_SUCCEEDED);
    assert_int_equal(t.progress, 100);
    assert_string_equal(t.kind, "vm.start");
    assert_int_equal(t.tenant_id, f->acme);
    assert_int_equal(t.created_by, f->alice);
    assert_true(t.started_at[0] && t.finished_at[0]);
    assert_true(strcmp(t.created_at, t.started_at) <= 0);
    /* the request's row (with the task id) and the final row, actor = creator */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE action = 'vm.start' AND "
             "json_extract(details, '$.task_id') = %lld",
             (long long)id);
    assert_int_equal(sql_int(f, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE action = 'task.succeeded' AND actor = 'alice' "
             "AND target = 'task/%lld' AND outcome = 'ok'",
             (long long)id);
    assert_int_equal(sql_int(f, sql), 1);
    struct db_audit_verify_result vr;
    err e = {0};
    assert_int_equal(db_audit_verify_live(f->d, 0, &vr, &e), 0);
    assert_int_equal(vr.problem, DB_AUDIT_OK);
    struct task_stats st;
    task_runner_stats(f->tr, &st);
    assert_int_equal(st.submitted, 1);
    assert_int_equal(st.succeeded, 1);
    assert_int_equal(st.queued + st.running + st.failed + st.store_failures, 0);
    fx_free(f);
}

static void
test_per_key_limit_fifo(void **state)
{
    struct fx *f = fx_new(4, 2, 4);
    struct gate *g = gate_new();
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = submit_gated(f, g, 1, true);
    GATE_WAIT(g, g->started == 2);
    /* the two oldest run, the others wait for their key */
    assert_int_equal(live_state(f, ids[0]), DB_TASK_RUNNING);
    assert_int_equal(live_state(f, ids[1]), DB_TASK_RUNNING);
    for (int i = 2; i < 5; i++)
        assert_int_equal(live_state(f, ids[i]), DB_TASK_QUEUED);
    /* a full key does not hold back another key */
    int64_t other = submit_gated(f, g, 2, true);
    GATE_WAIT(g, g->started == 3);
    assert_int_equal(live_state(f, other), DB_TASK_RUNNING);
    assert_int_equal(g->order[2], other);
    /* each finished task lets exactly the next one of its key start */
    for (int k = 0; k < 3; k++) {
        gate_release(g, 1, 1);
        GATE_WAIT(g, g->done == k + 1 && g->started == 4 + k);
        assert_int_equal(g->order[3 + k], ids[2 + k]);
    }
    gate_release(g, 1, 2);
    gate_release(g, 2, 1);
    for (int i = 0; i < 5; i++)
        wait_stored(f, ids[i], DB_TASK_SUCCEEDED);
    wait_stored(f, other, DB_TASK_SUCCEEDED);
    /* FIFO within the key: host/1 tasks started in the order they were queued */
    int64_t seen[5], n = 0;
    for (int i = 0; i < g->started; i++)
        if (g->order[i] != other)
            seen[n++] = g->order[i];
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen[i], ids[i]);
    assert_int_equal(g->max_per_key[1], 2);
    fx_free(f);
    gate_free(g);
}

static void
test_worker_pool_bound(void **state)
{
    struct fx *f = fx_new(2, 4, 4);
    struct gate *g = gate_new();
    int64_t ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = submit_gated(f, g, i, true); /* four keys: only the pool limits */
    GATE_WAIT(g, g->started == 2);
    assert_int_equal(live_state(f, ids[2]), DB_TASK_QUEUED);
    assert_int_equal(live_state(f, ids[3]), DB_TASK_QUEUED);
    for (int k = 0; k < 4; k++)
        gate_release(g, k, 1);
    for (int i = 0; i < 4; i++)
        wait_stored(f, ids[i], DB_TASK_SUCCEEDED);
    assert_int_equal(g->max_running, 2);
    fx_free(f);
    gate_free(g);
}

static struct db_audit
cancel_audit(const char *actor, int64_t id, char *target, size_t n)
{
    snprintf(target, n, "task/%lld", (long long)id);
    return (struct db_audit){.actor = actor, .action = "task.cancel", .target = target};
}

static void
test_cancel_queued(void **state)
{
    struct fx *f = fx_new(2, 1, 4);
    struct gate *g = gate_new();
    int64_t first = submit_gated(f, g, 1, true);
    int64_t second = submit_gated(f, g, 1, false); /* queued: cancellable anyway */
    GATE_WAIT(g, g->started == 1);
    char target[32];
    struct db_audit a = cancel_audit("bob", second, target, sizeof(target));
    enum task_cancel_result res;
    err e = {0};
    assert_int_equal(task_cancel(f->tr, second, &a, &res, &e), 0);
    assert_int_equal(res, TASK_CANCEL_DONE);
    /* done at once: stored before task_cancel returned */
    struct db_task t;
    assert_int_equal(db_task_get(f->d, second, &t, &e), 0);
    assert_int_equal(t.state, DB_TASK_CANCELLED);
    assert_string_equal(t.error, "Cancelled before it started.");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT group_concat(action || ':' || actor, ',') = "
             "'task.cancel:bob,task.cancelled:alice' FROM (SELECT action, actor FROM audit "
             "WHERE target = 'task/%lld' ORDER BY seq)",
             (long long)second);
    assert_int_equal(sql_int(f, sql), 1);
    /* cancelling it again: it has finished */
    assert_int_equal(task_cancel(f->tr, second, &a, &res, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    gate_release(g, 1, 1);
    wait_stored(f, first, DB_TASK_SUCCEEDED);
    assert_int_equal(g->started, 1); /* the cancelled task never ran */
    fx_free(f);
    gate_free(g);
}

static void
test_cancel_running(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    struct gate *g = gate_new();
    int64_t id = submit_gated(f, g, 1, true);
    GATE_WAIT(g, g->started == 1);
    char target[32];
    struct db_audit a = cancel_audit("bob", id, target, sizeof(target));
    enum task_cancel_result res;
    err e = {0};
    assert_int_equal(task_cancel(f->tr, id, &a, &res, &e), 0);
    assert_int_equal(res, TASK_CANCEL_REQUESTED);
    struct db_task t = wait_stored(f, id, DB_TASK_CANCELLED);
    assert_string_equal(t.error, "Cancelled by bob.");
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE target = 'task/%lld' AND action = "
             "'task.cancelled' AND json_extract(details, '$.cancelled_by') = 'bob'",
             (long long)id);
    assert_int_equal(sql_int(f, sql), 1);
    fx_free(f);
    gate_free(g);
}

static void
test_cancel_refused(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    struct gate *g = gate_new();
    int64_t id = submit_gated(f, g, 1, false);
    GATE_WAIT(g, g->started == 1);
    char target[32];
    struct db_audit a = cancel_audit("bob", id, target, sizeof(target));
    enum task_cancel_result res;
    err e = {0};
    assert_int_equal(task_cancel(f->tr, id, &a, &res, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    gate_release(g, 1, 1);
    wait_stored(f, id, DB_TASK_SUCCEEDED);
    err_clear(&e);
    assert_int_equal(task_cancel(f->tr, id, &a, &res, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(task_cancel(f->tr, 999999, &a, &res, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    fx_free(f);
    gate_free(g);
}

static int
fail_conflict(struct task_ctx *t, void *arg, err *e)
{
    return err_set(e, ERR_CONFLICT, "The VM is already running.");
}

static int
fail_internal(struct task_ctx *t, void *arg, err *e)
{
    return err_set(e, ERR_INTERNAL, "virDomainCreate: /var/lib/secret path leaked");
}

static void
test_failure_is_client_safe(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    int64_t a = submit(f, NULL, true, fail_conflict, NULL);
    int64_t b = submit(f, NULL, true, fail_internal, NULL);
    struct db_task t = wait_stored(f, a, DB_TASK_FAILED);
    assert_string_equal(t.error, "The VM is already running.");
    t = wait_stored(f, b, DB_TASK_FAILED);
    assert_string_equal(t.error, "The task failed because of an internal error.");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE action = 'task.failed' AND "
                                "outcome = 'failed' AND details NOT LIKE '%secret%'"),
                     2);
    fx_free(f);
}

static void
test_progress_persisted(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    struct gate *g = gate_new();
    g->progress_at = 42;
    int64_t id = submit_gated(f, g, 1, true);
    struct db_task t = {0};
    for (int i = 0; i < 2000 && t.progress != 42; i++) {
        err e = {0};
        assert_int_equal(db_task_get(f->d, id, &t, &e), 0);
        if (t.progress != 42)
            sleep_ms(10);
    }
    assert_int_equal(t.progress, 42);
    assert_int_equal(t.state, DB_TASK_RUNNING);
    struct task_view v;
    assert_true(task_peek(f->tr, id, &v));
    assert_string_equal(v.message, "copying 42%");
    gate_release(g, 1, 1);
    t = wait_stored(f, id, DB_TASK_SUCCEEDED);
    assert_int_equal(t.progress, 100);
    assert_false(task_peek(f->tr, id, &v)); /* not live any more */
    fx_free(f);
    gate_free(g);
}

static void
test_restart_reconciles(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    task_runner_stop(f->tr);
    f->tr = NULL;
    /* what a crashed process leaves: rows queued and running */
    struct db_task q = {.tenant_id = f->acme, .created_by = f->alice};
    snprintf(q.kind, sizeof(q.kind), "vm.start");
    db_task_now(q.created_at, sizeof(q.created_at));
    struct db_task r = q;
    struct db_audit a = {.actor = "alice", .action = "vm.start"};
    err e = {0};
    assert_int_equal(db_task_insert(f->d, &q, &a, &e), 0);
    assert_int_equal(db_task_insert(f->d, &r, &a, &e), 0);
    assert_int_equal(db_task_set_running(f->d, r.id, r.created_at, &e), 0);
    db_close(f->d); /* "crash" */
    f->d = open_db(f->path);
    f->tr = start_runner(f, 2, 2, 4);
    struct db_task t;
    int64_t ids[2] = {q.id, r.id};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(db_task_get(f->d, ids[i], &t, &e), 0);
        assert_int_equal(t.state, DB_TASK_FAILED);
        assert_string_equal(t.error, "Interrupted by a restart of the server.");
        assert_true(t.finished_at[0]);
    }
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE action = 'task.failed' AND "
                                "actor = 'system' AND json_extract(details, '$.previous_state') "
                                "IN ('queued', 'running')"),
                     2);
    /* a second start finds nothing left to reconcile */
    task_runner_stop(f->tr);
    f->tr = start_runner(f, 2, 2, 4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE actor = 'system' AND action = "
                                "'task.failed'"),
                     2);
    struct db_audit_verify_result vr;
    assert_int_equal(db_audit_verify_live(f->d, 0, &vr, &e), 0);
    assert_int_equal(vr.problem, DB_AUDIT_OK);
    fx_free(f);
}

static int frees;

static void
count_free(void *p)
{
    __atomic_fetch_add(&frees, 1, __ATOMIC_SEQ_CST);
    free(p);
}

static void
test_stop_ends_running_and_queued(void **state)
{
    struct fx *f = fx_new(2, 1, 4);
    struct gate *g = gate_new();
    static const struct task_spec s = {.kind = "vm.migrate", .key = "host/1", .cancellable = true};
    frees = 0;
    int64_t running = submit_as(f, "alice", &s, gate_fn, job(g, 1), count_free);
    int64_t queued = submit_as(f, "alice", &s, gate_fn, job(g, 1), count_free);
    GATE_WAIT(g, g->started == 1);
    task_runner_stop(f->tr);
    f->tr = NULL;
    assert_int_equal(frees, 2);
    err e = {0};
    struct db_task t;
    assert_int_equal(db_task_get(f->d, running, &t, &e), 0);
    assert_int_equal(t.state, DB_TASK_CANCELLED);
    assert_string_equal(t.error, "Cancelled: the server is shutting down.");
    assert_int_equal(db_task_get(f->d, queued, &t, &e), 0);
    assert_int_equal(t.state, DB_TASK_CANCELLED);
    assert_string_equal(t.error, "The server stopped before the task ran.");
    f->tr = start_runner(f, 1, 1, 1); /* for fx_free */
    fx_free(f);
    gate_free(g);
}

static void
test_submit_validation(void **state)
{
    struct fx *f = fx_new(1, 1, 1);
    struct db_audit a = {.actor = "alice", .action = "vm.start"};
    int64_t id = 0;
    err e = {0};
    frees = 0;
    static const char *const bad_kinds[] = {"",          "vm",  "VM.start", "vm..start",
                                            "vm.start.", ".vm", "vm.st art"};
    for (size_t i = 0; i < sizeof(bad_kinds) / sizeof(bad_kinds[0]); i++) {
        struct task_spec s = {.kind = bad_kinds[i]};
        err_clear(&e);
        assert_int_equal(task_submit(f->tr, &s, quick_fn, NULL, count_free, &a, &id, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
    }
    struct task_spec s = {.kind = "vm.start", .tenant_id = 424242};
    void *arg = malloc(8);
    err_clear(&e);
    assert_int_equal(task_submit(f->tr, &s, quick_fn, arg, count_free, &a, &id, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    assert_int_equal(frees, 0); /* the caller keeps arg on failure */
    free(arg);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM task"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE action = 'vm.start'"), 0);
    fx_free(f);
}

/* ---- events ---- */

static bool
see_tenant(void *ctx, int64_t tenant_id)
{
    return tenant_id == *(int64_t *)ctx;
}

static bool
see_all(void *ctx, int64_t tenant_id)
{
    return true;
}

/* The next event (fails on anything else). Caller releases. */
static struct task_event *
next_event(struct task_sub *s)
{
    struct task_event *ev = NULL;
    enum task_sub_wait w = task_sub_next(s, 20000, &ev);
    if (w != TASK_SUB_EVENT)
        fail_msg("expected an event, got %d", (int)w);
    return ev;
}

static void
expect_event(struct task_sub *s, int64_t id, enum db_task_state st, uint64_t *seq)
{
    struct task_event *ev = next_event(s);
    assert_int_equal(ev->v.row.id, id);
    assert_int_equal(ev->v.row.state, st);
    if (seq) {
        assert_true(ev->seq > *seq);
        *seq = ev->seq;
    }
    task_event_release(ev);
}

static void
test_events_in_order_and_scoped(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    err e = {0};
    struct task_sub *acme = task_subscribe(f->tr, see_tenant, &f->acme, NULL, &e);
    assert_non_null(acme);
    struct task_spec other = {.kind = "vm.start", .tenant_id = f->globex};
    int64_t hidden = submit_as(f, "alice", &other, quick_fn, NULL, NULL);
    wait_stored(f, hidden, DB_TASK_SUCCEEDED);
    int64_t id = submit(f, NULL, true, quick_fn, NULL);
    uint64_t seq = 0;
    expect_event(acme, id, DB_TASK_QUEUED, &seq); /* the other tenant's task is not there */
    expect_event(acme, id, DB_TASK_RUNNING, &seq);
    expect_event(acme, id, DB_TASK_SUCCEEDED, &seq);
    struct task_event *ev = NULL;
    assert_int_equal(task_sub_next(acme, 0, &ev), TASK_SUB_TIMEOUT);
    task_unsubscribe(acme);
    fx_free(f);
}

static void
test_events_progress_then_final(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    struct gate *g = gate_new();
    g->progress_at = 30;
    err e = {0};
    struct task_sub *s = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    int64_t id = submit_gated(f, g, 1, true);
    expect_event(s, id, DB_TASK_QUEUED, NULL);
    expect_event(s, id, DB_TASK_RUNNING, NULL);
    struct task_event *ev = next_event(s);
    assert_int_equal(ev->v.row.state, DB_TASK_RUNNING);
    assert_int_equal(ev->v.row.progress, 30);
    assert_string_equal(ev->v.message, "copying 30%");
    task_event_release(ev);
    gate_release(g, 1, 1);
    ev = next_event(s);
    assert_int_equal(ev->v.row.state, DB_TASK_SUCCEEDED);
    assert_int_equal(ev->v.row.progress, 100);
    assert_string_equal(ev->v.message, "");
    task_event_release(ev);
    task_unsubscribe(s);
    fx_free(f);
    gate_free(g);
}

static void
test_slow_subscriber_resyncs(void **state)
{
    struct fx *f = fx_new(4, 4, 4);
    err e = {0};
    struct task_sub *slow = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    int64_t last = 0;
    for (int i = 0; i < 40; i++) /* 3 events each: more than a queue holds */
        last = submit(f, NULL, true, quick_fn, NULL);
    wait_stored(f, last, DB_TASK_SUCCEEDED);
    for (int i = 0; i < 39; i++) /* tasks run in parallel: wait for all of them */
        wait_stored(f, last - 39 + i, DB_TASK_SUCCEEDED);
    struct task_event *ev = NULL;
    /* the tasks did not wait for the subscriber that read nothing */
    assert_int_equal(task_sub_next(slow, 20000, &ev), TASK_SUB_RESYNC);
    /* after the resync, events flow again */
    int64_t id = submit(f, NULL, true, quick_fn, NULL);
    expect_event(slow, id, DB_TASK_QUEUED, NULL);
    task_unsubscribe(slow);
    fx_free(f);
}

static void
test_last_event_id_replay(void **state)
{
    struct fx *f = fx_new(2, 2, 4);
    err e = {0};
    struct task_sub *a = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    int64_t id = submit(f, NULL, true, quick_fn, NULL);
    struct task_event *first = next_event(a);
    expect_event(a, id, DB_TASK_RUNNING, NULL);
    expect_event(a, id, DB_TASK_SUCCEEDED, NULL);
    char last[32];
    snprintf(last, sizeof(last), "%llu", (unsigned long long)first->seq);
    task_event_release(first);
    /* a reconnecting client gets what it missed after its last id */
    struct task_sub *b = task_subscribe(f->tr, see_all, NULL, last, &e);
    expect_event(b, id, DB_TASK_RUNNING, NULL);
    expect_event(b, id, DB_TASK_SUCCEEDED, NULL);
    /* an id older than the history, from the future, or not a number: resync */
    static const char *const stale[] = {"1", "99999999999999999999", "12x", ""};
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        struct task_sub *c = task_subscribe(f->tr, see_all, NULL, stale[i], &e);
        struct task_event *ev = NULL;
        assert_int_equal(task_sub_next(c, 20000, &ev), TASK_SUB_RESYNC);
        task_unsubscribe(c);
    }
    task_unsubscribe(a);
    task_unsubscribe(b);
    fx_free(f);
}

static void
test_subscriber_cap_and_close(void **state)
{
    struct fx *f = fx_new(1, 1, 2);
    err e = {0};
    struct task_sub *a = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    struct task_sub *b = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(task_subscribe(f->tr, see_all, NULL, NULL, &e));
    assert_int_equal(e.kind, ERR_RATE_LIMITED);
    task_unsubscribe(b);
    b = task_subscribe(f->tr, see_all, NULL, NULL, &e);
    assert_non_null(b);
    task_runner_close_streams(f->tr);
    struct task_event *ev = NULL;
    assert_int_equal(task_sub_next(a, 20000, &ev), TASK_SUB_CLOSED);
    assert_int_equal(task_sub_next(b, 20000, &ev), TASK_SUB_CLOSED);
    err_clear(&e);
    assert_null(task_subscribe(f->tr, see_all, NULL, NULL, &e));
    assert_int_equal(e.kind, ERR_UNAVAILABLE);
    task_unsubscribe(a);
    task_unsubscribe(b);
    fx_free(f);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_and_audits),
        cmocka_unit_test(test_per_key_limit_fifo),
        cmocka_unit_test(test_worker_pool_bound),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_cancel_running),
        cmocka_unit_test(test_cancel_refused),
        cmocka_unit_test(test_failure_is_client_safe),
        cmocka_unit_test(test_progress_persisted),
        cmocka_unit_test(test_restart_reconciles),
        cmocka_unit_test(test_stop_ends_running_and_queued),
        cmocka_unit_test(test_submit_validation),
        cmocka_unit_test(test_events_in_order_and_scoped),
        cmocka_unit_test(test_events_progress_then_final),
        cmocka_unit_test(test_slow_subscriber_resyncs),
        cmocka_unit_test(test_last_event_id_replay),
        cmocka_unit_test(test_subscriber_cap_and_close),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
