/* plan store: rows of the `plan` table (see plan_store.h). */
#include "db_internal.h"
#include "plan_store.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[DB_PLAN_STATE_COUNT] = {
    [DB_PLAN_DRAFT] = "draft", [DB_PLAN_READY] = "ready",   [DB_PLAN_EXECUTING] = "executing",
    [DB_PLAN_DONE] = "done",   [DB_PLAN_FAILED] = "failed",
};

const char *
db_plan_state_name(enum db_plan_state s)
{
    return (unsigned)s < DB_PLAN_STATE_COUNT ? state_names[s] : "invalid";
}

int
db_plan_state_parse(const char *name, enum db_plan_state *out)
{
    for (int i = 0; name && i < DB_PLAN_STATE_COUNT; i++)
        if (!strcmp(name, state_names[i])) {
            *out = (enum db_plan_state)i;
            return 0;
        }
    return -1;
}

bool
db_plan_kind_valid(const char *kind)
{
    return kind &&
           (!strcmp(kind, "vmware-import") || !strcmp(kind, "rebalance") || !strcmp(kind, "drain"));
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : NULL;
}

static enum db_plan_state
col_state(sqlite3_stmt *s, int i)
{
    enum db_plan_state st = DB_PLAN_FAILED; /* the CHECK constraint makes this a default only */
    db_plan_state_parse(col_text(s, i), &st);
    return st;
}

/* ---- create ---- */

struct create_job {
    const char *kind, *input, *result;
    enum db_plan_state state;
    int64_t created_by, id;
    char target[40];
    json_t *details;
};

static int
apply_create(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct create_job *j = arg;
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO plan(kind, input, result, state, created_by) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->input, -1, SQLITE_STATIC);
    if (j->result)
        sqlite3_bind_text(s, 3, j->result, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, db_plan_state_name(j->state), -1, SQLITE_STATIC);
    if (j->created_by)
        sqlite3_bind_int64(s, 5, j->created_by);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_CONSTRAINT ? err_set(e, ERR_INVALID, "The plan is not valid JSON.")
                                       : db_sqlite_err(e, rc);
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "plan/%lld", (long long)j->id);
    a->target = j->target;
    if (j->details && json_object_set_new(j->details, "plan_id", json_integer(j->id)) < 0)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    a->details = j->details;
    return 0;
}

int
db_plan_create(db *d, const char *kind, const char *input, const char *result,
               enum db_plan_state state, int64_t created_by, struct db_audit *a, int64_t *id_out,
               err *e)
{
    if (!a || !db_plan_kind_valid(kind) || !input || (unsigned)state >= DB_PLAN_STATE_COUNT)
        return err_set(e, ERR_INTERNAL, "a plan needs a kind, an input and an audited request");
    struct create_job j = {kind, input, result, state, created_by, 0, "", NULL};
    json_t *caller = a->details;
    j.details = caller ? json_deep_copy(caller) : json_object();
    int rc = j.details ? db_mutate(d, apply_create, &j, a, e)
                       : err_set(e, ERR_UNAVAILABLE, "out of memory");
    a->details = caller;
    json_decref(j.details);
    if (rc == 0 && id_out)
        *id_out = j.id;
    return rc;
}

/* ---- read ---- */

int
db_plan_get(db *d, int64_t id, bool with_input, arena *a, struct db_plan *out, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id, kind, state, ifnull(created_by, 0), created_at, "
                                 "CASE WHEN ?2 THEN input END, result, "
                                 "json_extract(input, '$.name') FROM plan WHERE id = ?1",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, with_input);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOT_FOUND, "No such plan.");
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(s, 0);
    snprintf(out->kind, sizeof(out->kind), "%s", col_text(s, 1) ? col_text(s, 1) : "");
    out->state = col_state(s, 2);
    out->created_by = sqlite3_column_int64(s, 3);
    snprintf(out->created_at, sizeof(out->created_at), "%s", col_text(s, 4) ? col_text(s, 4) : "");
    out->input = arena_strdup(a, col_text(s, 5));
    out->result = arena_strdup(a, col_text(s, 6));
    out->name = arena_strdup(a, col_text(s, 7));
    if ((col_text(s, 5) && !out->input) || (col_text(s, 6) && !out->result) ||
        (col_text(s, 7) && !out->name))
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    return 0;
}

#define PLAN_LIST_SQL                                                                              \
    "SELECT id, kind, state, ifnull(created_by, 0), created_at, json_extract(input, '$.name'), "   \
    "json_extract(result, '$.summary'), json_extract(result, '$.error.detail') FROM plan"          \
    " WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state = ?2)"                              \
    " AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"

int
db_plan_list(db *d, const struct db_plan_filter *f, int limit, bool *more, db_plan_row_fn fn,
             void *arg, err *e)
{
    *more = false;
    if (limit < 1)
        return err_set(e, ERR_INTERNAL, "list limit below 1");
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c, PLAN_LIST_SQL, e) : NULL;
    if (!s)
        return -1;
    if (f->kind)
        sqlite3_bind_text(s, 1, f->kind, -1, SQLITE_STATIC);
    if (f->state >= 0 && f->state < DB_PLAN_STATE_COUNT)
        sqlite3_bind_text(s, 2, state_names[f->state], -1, SQLITE_STATIC);
    if (f->before_id > 0)
        sqlite3_bind_int64(s, 3, f->before_id);
    sqlite3_bind_int(s, 4, limit + 1);
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            *more = true;
            return 0;
        }
        struct db_plan_row p = {
            sqlite3_column_int64(s, 0),
            col_text(s, 1),
            col_state(s, 2),
            sqlite3_column_int64(s, 3),
            col_text(s, 4),
            col_text(s, 5),
            col_text(s, 6),
            col_text(s, 7),
        };
        if (fn(arg, &p, e) < 0)
            return -1;
        n++;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* ---- state changes ---- */

struct change_job {
    int64_t id;
    int from, to; /* -1: any / unchanged */
    const char *result, *execution;
    char target[40];
};

/* Tells a missing plan from one in another state. */
static int
change_refused(db_conn *c, int64_t id, err *e)
{
    DB_STMT s = db_conn_stmt(c, "SELECT state FROM plan WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOT_FOUND, "No such plan.");
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    return err_set(e, ERR_CONFLICT, "The plan is %s.", col_text(s, 0) ? col_text(s, 0) : "busy");
}

static int
apply_change(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct change_job *j = arg;
    DB_STMT s = db_conn_stmt(
        c,
        "UPDATE plan SET state = ifnull(?3, state), result = CASE"
        " WHEN ?4 IS NOT NULL THEN ?4"
        " WHEN ?5 IS NOT NULL THEN json_set(ifnull(result, '{}'), '$.execution', json(?5))"
        " ELSE result END WHERE id = ?1 AND (?2 IS NULL OR state = ?2)",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    if (j->from >= 0)
        sqlite3_bind_text(s, 2, state_names[j->from], -1, SQLITE_STATIC);
    if (j->to >= 0)
        sqlite3_bind_text(s, 3, state_names[j->to], -1, SQLITE_STATIC);
    if (j->result)
        sqlite3_bind_text(s, 4, j->result, -1, SQLITE_STATIC);
    if (j->execution)
        sqlite3_bind_text(s, 5, j->execution, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_CONSTRAINT ? err_set(e, ERR_INTERNAL, "The plan result is not JSON.")
                                       : db_sqlite_err(e, rc);
    if (sqlite3_changes(db_conn_sqlite(c)) != 1)
        return change_refused(c, j->id, e);
    if (a && !a->target) {
        snprintf(j->target, sizeof(j->target), "plan/%lld", (long long)j->id);
        a->target = j->target;
    }
    return 0;
}

static bool
state_ok(int s, bool any)
{
    return (any && s == -1) || (s >= 0 && s < DB_PLAN_STATE_COUNT);
}

int
db_plan_transition(db *d, int64_t id, enum db_plan_state from, enum db_plan_state to,
                   const char *result, struct db_audit *a, err *e)
{
    if (!state_ok((int)from, false) || !state_ok((int)to, false))
        return err_set(e, ERR_INTERNAL, "invalid plan state");
    struct change_job j = {id, (int)from, (int)to, result, NULL, ""};
    return db_mutate(d, apply_change, &j, a, e);
}

int
db_plan_set_execution(db *d, int64_t id, const char *execution, int from, int to,
                      struct db_audit *a, err *e)
{
    if (!execution || !state_ok(from, true) || !state_ok(to, true))
        return err_set(e, ERR_INTERNAL, "invalid plan execution update");
    struct change_job j = {id, from, to, NULL, execution, ""};
    return db_mutate(d, apply_change, &j, a, e);
}
