/* page: keyset pagination of the stores' lists. See page_int.h (and
 * identity.h for db_page_bind and db_page_step). */
#include "page_int.h"

sqlite3_stmt *
db_page_stmt(db *d, const char *const sql[][2], int nsorts, const struct db_page *p, err *e)
{
    if (p->sort < 0 || p->sort >= nsorts) {
        err_set(e, ERR_INTERNAL, "bad sort");
        return NULL;
    }
    db_conn *c = db_reader(d, e);
    return c ? db_conn_stmt(c, sql[p->sort][p->desc], e) : NULL;
}

int
db_page_next(sqlite3_stmt *s, int limit, int *n, bool *more, err *e)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && *n == limit) {
        *more = true;
        return 0;
    }
    if (rc == SQLITE_ROW) {
        (*n)++;
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

void
db_page_bind(sqlite3_stmt *s, const struct db_page *p, int first)
{
    if (p->after_key) {
        sqlite3_bind_text(s, first, p->after_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, first + 1, p->after_id);
    }
    sqlite3_bind_int(s, first + 2, p->limit + 1);
}

int
db_page_step(sqlite3_stmt *s, struct db_page *p,
             int (*row)(sqlite3_stmt *s, const char *key, void *arg, err *e), void *arg, err *e)
{
    int n = 0, rc;
    p->more = false;
    while ((rc = db_page_next(s, p->limit, &n, &p->more, e)) > 0) {
        const unsigned char *key = sqlite3_column_text(s, sqlite3_column_count(s) - 1);
        if (row(s, key ? (const char *)key : "", arg, e) < 0)
            return -1;
    }
    return rc;
}
