/* task store: rows of the `task` table and the audit rows of their states. */
#include "db_internal.h"
#include "identity.h" /* db_row_text */
#include "page_int.h"
#include "store_int.h"
#include "task_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[DB_TASK_STATE_COUNT] = {
    [DB_TASK_QUEUED] = "queued",       [DB_TASK_RUNNING] = "running",
    [DB_TASK_SUCCEEDED] = "succeeded", [DB_TASK_FAILED] = "failed",
    [DB_TASK_CANCELLED] = "cancelled",
};

const char *
db_task_state_name(enum db_task_state s)
{
    return (unsigned)s < DB_TASK_STATE_COUNT ? state_names[s] : "invalid";
}

int
db_task_state_parse(const char *name, enum db_task_state *out)
{
    int i = db_store_name_index(state_names, DB_TASK_STATE_COUNT, name);
    if (i == DB_TASK_STATE_COUNT)
        return -1;
    *out = (enum db_task_state)i;
    return 0;
}

bool
db_task_state_final(enum db_task_state s)
{
    return s == DB_TASK_SUCCEEDED || s == DB_TASK_FAILED || s == DB_TASK_CANCELLED;
}

void
db_task_now(char *buf, size_t n)
{
    db_now_rfc3339(buf, n);
}

static void
bind_id_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

#define TASK_COLUMNS                                                                               \
    "id, kind, target, ifnull(tenant_id, 0), state, progress, error, ifnull(created_by, 0), "      \
    "created_at, started_at, finished_at"

static void
task_from_row(sqlite3_stmt *s, struct db_task *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(s, 0);
    db_row_text(s, 1, t->kind, sizeof(t->kind));
    db_row_text(s, 2, t->target, sizeof(t->target));
    t->tenant_id = sqlite3_column_int64(s, 3);
    if (db_task_state_parse((const char *)sqlite3_column_text(s, 4), &t->state) < 0)
        t->state = DB_TASK_FAILED; /* the CHECK constraint makes this unreachable */
    t->progress = sqlite3_column_int(s, 5);
    db_row_text(s, 6, t->error, sizeof(t->error));
    t->created_by = sqlite3_column_int64(s, 7);
    db_row_text(s, 8, t->created_at, sizeof(t->created_at));
    db_row_text(s, 9, t->started_at, sizeof(t->started_at));
    db_row_text(s, 10, t->finished_at, sizeof(t->finished_at));
}

/* ---- insert ---- */

struct insert {
    struct db_task *t;
    json_t *details; /* the audit details with task_id, owned here */
};

static int
apply_insert(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct insert *in = arg;
    struct db_task *t = in->t;
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO task(kind, target, tenant_id, state, progress, "
                             "created_by, created_at) VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, t->kind, -1, SQLITE_STATIC);
    db_store_bind_text_or_null(s, 2, t->target);
    bind_id_or_null(s, 3, t->tenant_id);
    bind_id_or_null(s, 4, t->created_by);
    sqlite3_bind_text(s, 5, t->created_at, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    t->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    /* the caller's details stay untouched: the row gets a copy with the id */
    in->details = a->details ? json_deep_copy(a->details) : json_object();
    if (!in->details || json_object_set_new(in->details, "task_id", json_integer(t->id)) < 0)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    a->details = in->details;
    return 0;
}

int
db_task_insert(db *d, struct db_task *t, struct db_audit *a, err *e)
{
    if (!a)
        return err_set(e, ERR_INTERNAL, "a task is queued by an audited request");
    if (!t->kind[0] || !t->created_at[0])
        return err_set(e, ERR_INTERNAL, "a task needs a kind and a creation time");
    struct insert in = {t, NULL};
    json_t *caller_details = a->details;
    int rc = db_mutate(d, apply_insert, &in, a, e);
    a->details = caller_details;
    json_decref(in.details);
    if (rc == 0)
        t->state = DB_TASK_QUEUED;
    return rc;
}

/* ---- state changes ---- */

struct running {
    int64_t id;
    const char *started_at;
};

static int
apply_running(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct running *r = arg;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE task SET state = 'running', started_at = ?2 "
                             "WHERE id = ?1 AND state = 'queued'",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_text(s, 2, r->started_at, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    if (sqlite3_changes(db_conn_sqlite(c)) != 1)
        return err_set(e, ERR_CONFLICT, "The task is not queued any more.");
    return 0;
}

int
db_task_set_running(db *d, int64_t id, const char *started_at, err *e)
{
    struct running r = {id, started_at};
    return db_mutate(d, apply_running, &r, NULL, e);
}

struct progress {
    const struct db_task_progress *p;
    size_t n;
};

static int
apply_progress(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct progress *pr = arg;
    for (size_t i = 0; i < pr->n; i++) {
        DB_STMT s =
            db_conn_stmt(c, "UPDATE task SET progress = ?2 WHERE id = ?1 AND state = 'running'", e);
        if (!s)
            return -1;
        sqlite3_bind_int64(s, 1, pr->p[i].id);
        sqlite3_bind_int(s, 2, pr->p[i].progress);
        if (db_store_done(s, e) < 0)
            return -1;
    }
    return 0;
}

int
db_task_set_progress(db *d, const struct db_task_progress *p, size_t n, err *e)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].progress < 0 || p[i].progress > 100)
            return err_set(e, ERR_INTERNAL, "progress out of range");
    struct progress pr = {p, n};
    return n ? db_mutate(d, apply_progress, &pr, NULL, e) : 0;
}

struct finish {
    int64_t id;
    enum db_task_state state;
    int progress;
    const char *error, *finished_at;
    struct db_audit *request;
};

/* Tells a missing row from one that already ended. */
static int
finish_refused(db_conn *c, int64_t id, err *e)
{
    DB_STMT s = db_store_get(c, "SELECT state FROM task WHERE id = ?1", id, e, "No such task.");
    if (!s)
        return -1;
    return err_set(e, ERR_CONFLICT, "The task has already finished.");
}

static int
apply_finish(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct finish *f = arg;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE task SET state = ?2, progress = ?3, error = ?4, "
                             "finished_at = ?5 WHERE id = ?1 AND state IN ('queued', 'running')",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, f->id);
    sqlite3_bind_text(s, 2, db_task_state_name(f->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, f->progress);
    db_store_bind_text_or_null(s, 4, f->error);
    sqlite3_bind_text(s, 5, f->finished_at, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    if (sqlite3_changes(db_conn_sqlite(c)) != 1)
        return finish_refused(c, f->id, e);
    /* The request row goes first, in this transaction; db_mutate appends the
     * final-state row after this function (the writer restores the chain head
     * if anything later fails). */
    if (f->request && db_audit_chain_append(c, db_conn_chain(c), f->request, e) < 0)
        return -1;
    return 0;
}

int
db_task_finish(db *d, int64_t id, enum db_task_state state, int progress, const char *error,
               const char *finished_at, struct db_audit *final, struct db_audit *request, err *e)
{
    if (!db_task_state_final(state) || progress < 0 || progress > 100 || !final || !finished_at)
        return err_set(e, ERR_INTERNAL, "invalid final task state");
    if (request && (!request->action || !request->action[0]))
        return err_set(e, ERR_INTERNAL, "audit row without an action");
    struct finish f = {id, state, progress, error, finished_at, request};
    return db_mutate(d, apply_finish, &f, final, e);
}

/* ---- reconciliation at start ---- */

struct reconcile {
    const char *error, *finished_at;
    int64_t n;
};

static int
reconcile_audit(db_conn *c, const struct reconcile *r, sqlite3_stmt *row, err *e)
{
    char target[48];
    snprintf(target, sizeof(target), "task/%lld", (long long)sqlite3_column_int64(row, 0));
    json_t *d =
        json_pack("{s:s,s:s,s:s}", "kind", (const char *)sqlite3_column_text(row, 1),
                  "previous_state", (const char *)sqlite3_column_text(row, 2), "reason", r->error);
    if (!d)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    return db_store_audit_system(c, "task.failed", target, sqlite3_column_int64(row, 3), "failed",
                                 d, e);
}

static int
apply_reconcile(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct reconcile *r = arg;
    DB_STMT s = db_conn_stmt(c,
                             "SELECT id, kind, state, ifnull(tenant_id, 0) FROM task "
                             "WHERE state IN ('queued', 'running') ORDER BY id",
                             e);
    if (!s)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (reconcile_audit(c, r, s, e) < 0)
            return -1;
        r->n++;
    }
    if (rc != SQLITE_DONE)
        return db_sqlite_err(e, rc);
    DB_STMT u = db_conn_stmt(c,
                             "UPDATE task SET state = 'failed', error = ?1, finished_at = ?2 "
                             "WHERE state IN ('queued', 'running')",
                             e);
    if (!u)
        return -1;
    sqlite3_bind_text(u, 1, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 2, r->finished_at, -1, SQLITE_STATIC);
    return db_store_done(u, e);
}

int
db_task_reconcile(db *d, const char *error, const char *finished_at, int64_t *n, err *e)
{
    struct reconcile r = {error, finished_at, 0};
    int rc = db_mutate(d, apply_reconcile, &r, NULL, e);
    if (n)
        *n = rc == 0 ? r.n : 0;
    return rc;
}

/* ---- reads ---- */

int
db_task_get(db *d, int64_t id, struct db_task *out, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_store_get(c, "SELECT " TASK_COLUMNS " FROM task WHERE id = ?1", id, e,
                                 "No such task.")
                  : NULL;
    if (!s)
        return -1;
    task_from_row(s, out);
    return 0;
}

#define TASK_LIST_SQL                                                                              \
    "SELECT " TASK_COLUMNS " FROM task"                                                            \
    " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)"                              \
    " AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR tenant_id = ?4)"                          \
    " AND (?5 IS NULL OR created_by = ?5)"                                                         \
    " AND (?6 IS NULL OR tenant_id IN (SELECT value FROM json_each(?6)))"                          \
    " AND (?7 IS NULL OR id < ?7)"                                                                 \
    " ORDER BY id DESC LIMIT ?8"

static void
list_bind(sqlite3_stmt *s, const struct db_task_filter *f, int limit)
{
    if (f->state >= 0 && f->state < DB_TASK_STATE_COUNT)
        sqlite3_bind_text(s, 1, db_task_state_name((enum db_task_state)f->state), -1,
                          SQLITE_STATIC);
    db_store_bind_text_or_null(s, 2, f->kind);
    db_store_bind_text_or_null(s, 3, f->target);
    bind_id_or_null(s, 4, f->tenant_id);
    bind_id_or_null(s, 5, f->created_by);
    db_store_bind_text_or_null(s, 6, f->visible);
    bind_id_or_null(s, 7, f->before_id);
    sqlite3_bind_int(s, 8, limit + 1); /* one more says whether there is a next page */
}

int
db_task_list(db *d, const struct db_task_filter *f, int limit, bool *more, db_task_row_fn fn,
             void *arg, err *e)
{
    *more = false;
    if (limit < 1)
        return err_set(e, ERR_INTERNAL, "list limit below 1");
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, TASK_LIST_SQL, e) : NULL;
    if (!s)
        return -1;
    list_bind(s, f, limit);
    int rc, n = 0;
    struct db_task t;
    while ((rc = db_page_next(s, limit, &n, more, e)) > 0) {
        task_from_row(s, &t);
        if (fn(arg, &t, e) < 0)
            return -1;
    }
    return rc;
}
