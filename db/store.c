/* store: statement and mutation plumbing shared by the stores. See
 * store_int.h (and identity.h for db_row_text). */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"

const char *
db_store_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

void
db_row_text(sqlite3_stmt *s, int i, char *buf, size_t n)
{
    snprintf(buf, n, "%s", db_store_text(s, i));
}

void
db_store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

int
db_store_done_at(sqlite3_stmt *s, err *e, const char *func, int line)
{
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err_at(e, rc, func, line);
}

static int store_row_v(sqlite3_stmt *s, err *e, const char *func, int line, const char *fmt,
                       va_list ap) __attribute__((format(printf, 5, 0)));

static int
store_row_v(sqlite3_stmt *s, err *e, const char *func, int line, const char *fmt, va_list ap)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return db_sqlite_err_at(e, rc, func, line);
    char msg[sizeof(e->detail)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return err_set_at(e, ERR_NOT_FOUND, func, line, "%s", msg);
}

int
db_store_row_at(sqlite3_stmt *s, err *e, const char *func, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = store_row_v(s, e, func, line, fmt, ap);
    va_end(ap);
    return rc;
}

sqlite3_stmt *
db_store_get_at(db_conn *c, const char *sql, int64_t id, err *e, const char *func, int line,
                const char *fmt, ...)
{
    sqlite3_stmt *s = db_conn_stmt(c, sql, e);
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    va_list ap;
    va_start(ap, fmt);
    int rc = store_row_v(s, e, func, line, fmt, ap);
    va_end(ap);
    if (rc == 0)
        return s;
    sqlite3_reset(s); /* the caller's DB_STMT gets NULL: reset it here */
    return NULL;
}

int
db_store_exec_id_text(db_conn *c, const char *sql, int64_t id, const char *text, err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

int64_t
db_store_count(db_conn *c, const char *sql, int64_t id, err *e)
{
    DB_STMT s = db_conn_stmt(c, sql, e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    return sqlite3_column_int64(s, 0);
}

int
db_store_audit_system(db_conn *c, const char *action, const char *target, int64_t tenant_id,
                      const char *outcome, json_t *details, err *e)
{
    struct db_audit a = {.actor = "system",
                         .action = action,
                         .target = target,
                         .tenant_id = tenant_id,
                         .outcome = outcome,
                         .details = details};
    int rc = db_audit_chain_append(c, db_conn_chain(c), &a, e);
    json_decref(details);
    return rc;
}

void
db_store_detail_change(json_t *details, const char *field, const char *before, const char *after)
{
    if (after && strcmp(before, after) != 0)
        json_object_set_new(details, field,
                            json_pack("{s:s,s:s}", "before", before, "after", after));
}

int
db_store_mutate(db *d, db_apply_fn fn, void *arg, struct db_audit *a, json_t *details, err *e)
{
    a->details = details;
    int rc = db_mutate(d, fn, arg, a, e);
    a->details = NULL;
    json_decref(details);
    return rc;
}

int
db_store_name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return n;
}
