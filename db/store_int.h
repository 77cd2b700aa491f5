/* store_int: the statement and mutation plumbing db/'s stores share: reading
 * and binding text, stepping a statement that must end or must give a row
 * (ERR_NOT_FOUND otherwise), one-shot statements by id, system audit rows,
 * and running a job whose audit row carries details. For db/ only.
 *
 * The stepping helpers are macros so that an error names the store function
 * and line that raised it, as when the store called db_sqlite_err itself. */
#ifndef VP_DB_STORE_INT_H
#define VP_DB_STORE_INT_H

#include <jansson.h>

#include "db_internal.h"

/* Text column i of the current row, "" for NULL. Borrowed: valid until the
 * next step or reset of s. (db_row_text of identity.h copies it.) */
const char *db_store_text(sqlite3_stmt *s, int i);

/* Binds v (borrowed, SQLITE_STATIC) at parameter i, or NULL when v is NULL
 * or "". */
void db_store_bind_text_or_null(sqlite3_stmt *s, int i, const char *v);

/* Steps s, a statement without result rows: 0, or -1 with `e` mapped from the
 * SQLite error (raised at the caller's line). */
#define db_store_done(s, e) db_store_done_at((s), (e), __func__, __LINE__)
int db_store_done_at(sqlite3_stmt *s, err *e, const char *func, int line);

/* Steps s to its first row: 0 on a row (read it from s); -1 with `e` filled:
 * ERR_NOT_FOUND with the printf-style detail when there is none, the mapped
 * SQLite error when the step fails (both raised at the caller's line). */
#define db_store_row(s, e, ...) db_store_row_at((s), (e), __func__, __LINE__, __VA_ARGS__)
int db_store_row_at(sqlite3_stmt *s, err *e, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The first row of `sql` (a literal taking an id at ?1) for `id`, on c: the
 * statement stepped to it (borrowed, like db_conn_stmt's: hold it in a
 * DB_STMT). NULL with `e` filled like db_conn_stmt and db_store_row (the
 * printf-style detail when there is no row). */
#define db_store_get(c, sql, id, e, ...)                                                           \
    db_store_get_at((c), (sql), (id), (e), __func__, __LINE__, __VA_ARGS__)
sqlite3_stmt *db_store_get_at(db_conn *c, const char *sql, int64_t id, err *e, const char *func,
                              int line, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Runs `sql` (a literal, borrowed) once on c, without result rows, with `id`
 * at ?1 and, unless `text` is NULL, `text` (borrowed) at ?2. 0 or -1 with `e`
 * mapped from the SQLite error. */
int db_store_exec_id_text(db_conn *c, const char *sql, int64_t id, const char *text, err *e);

/* count(*) -- column 0 of the one row of `sql` (a literal taking an id at
 * ?1) for `id`, on c; -1 with `e` mapped from the SQLite error. */
int64_t db_store_count(db_conn *c, const char *sql, int64_t id, err *e);

/* Appends an audit row of the system itself (actor "system") to the chain of
 * the writer connection c, in the current transaction: action, target,
 * outcome (borrowed) and details (consumed; may be NULL). 0 or -1 like
 * db_audit_chain_append. Only on the writer thread. */
int db_store_audit_system(db_conn *c, const char *action, const char *target, int64_t tenant_id,
                          const char *outcome, json_t *details, err *e);

/* Adds {"field": {"before": before, "after": after}} to details when `after`
 * is given and differs from `before` (strings borrowed, copied). */
void db_store_detail_change(json_t *details, const char *field, const char *before,
                            const char *after);

/* db_mutate(d, fn, arg, a, e) with `details` (consumed; may be NULL) as a's
 * details: a->details points at it while the job runs (fn may add to it or
 * point a->details at it again) and is NULL again on return. */
int db_store_mutate(db *d, db_apply_fn fn, void *arg, struct db_audit *a, json_t *details, err *e);

/* The index of `name` (borrowed; NULL matches nothing) in names[0..n), or n
 * when it is not there. */
int db_store_name_index(const char *const *names, int n, const char *name);

#endif
