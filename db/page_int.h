/* page_int: keyset pagination shared by the list functions of db/'s stores.
 *
 * A list is read with LIMIT limit + 1: the extra row only says that another
 * page follows. Sorted lists page by (sort key, id) after the cursor of the
 * last row seen (struct db_page of identity.h: after_key, after_id); lists
 * newest-first page by id alone (`before_id`). For db/ only. */
#ifndef VP_DB_PAGE_INT_H
#define VP_DB_PAGE_INT_H

#include <stdbool.h>

#include "db_internal.h"
#include "identity.h" /* struct db_page, db_page_bind, db_page_step */

/* The keyset condition and order of a list sorted by (key, id), `key` and `id`
 * being SQL expressions, with the cursor at parameters ?K (after key, NULL =
 * from the start) and ?I (after id) and the limit at ?L (bare numbers):
 *     (?K IS NULL OR (key, id) > (?K, ?I)) ORDER BY key ASC, id ASC LIMIT ?L
 * with cmp "<" and dir "DESC" for the descending order. */
#define DB_PAGE_KEYSET(key, id, cmp, dir, K, I, L)                                                 \
    "(?" #K " IS NULL OR (" key ", " id ") " cmp " (?" #K ", ?" #I ")) ORDER BY " key " " dir      \
    ", " id " " dir " LIMIT ?" #L

/* One row of a [sort][desc] statement table: LIST(key, cmp, dir) in both
 * directions, ascending first. The statement cache is keyed by the literal,
 * so each (sort, direction) is a statement of its own. */
#define DB_PAGE_SORT(LIST, key)                                                                    \
    {                                                                                              \
        LIST(key, ">", "ASC"), LIST(key, "<", "DESC")                                              \
    }

/* The calling thread's reader's statement for page p, out of a table
 * sql[nsorts][2] indexed by [p->sort][p->desc] (literals). Borrowed, like
 * db_conn_stmt's: hold it in a DB_STMT. NULL with `e` filled: ERR_INTERNAL
 * for a sort out of range, else db_reader's or db_conn_stmt's error. */
sqlite3_stmt *db_page_stmt(db *d, const char *const sql[][2], int nsorts, const struct db_page *p,
                           err *e);

/* Steps s, a statement bound with LIMIT limit + 1, for the next row to emit;
 * *n (start at 0) counts the rows seen. Returns 1 when the current row is one
 * of the first `limit`; 0 at the end, with *more set to true when the extra
 * row was there (left as it is otherwise: the caller clears it first); -1 with
 * `e` filled when the step fails. */
int db_page_next(sqlite3_stmt *s, int limit, int *n, bool *more, err *e);

#endif
