/* db_internal: what the stores inside db/ (and db's own tests) see.
 *
 * The only header that includes sqlite3.h. A store function takes a db_conn
 * (the writer's inside db_apply_fn, or db_reader's), gets cached prepared
 * statements from it and maps SQLite result codes to err kinds:
 *
 *     DB_STMT s = db_conn_stmt(c, "SELECT name FROM tenant WHERE id = ?1", e);
 *     if (!s) return -1;
 *     sqlite3_bind_int64(s, 1, id);
 *     int rc = sqlite3_step(s);
 *     if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? err_set(e, ERR_NOT_FOUND, …)
 *                                                   : db_sqlite_err(e, rc);
 *
 * DB_STMT resets the statement at scope exit: a SELECT left un-reset holds a
 * read snapshot open, which pins the WAL and keeps it from being checkpointed. */
#ifndef VP_DB_INTERNAL_H
#define VP_DB_INTERNAL_H

#ifndef VP_DB_INTERNAL
#error "db_internal.h is for db/ and its tests only: use db.h"
#endif

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "db.h"

/* The SQLite handle of c (borrowed). */
sqlite3 *db_conn_sqlite(db_conn *c);

/* A prepared statement for `sql` from c's cache, reset and with cleared
 * bindings. The cache is keyed by the pointer: `sql` must be a string literal
 * (or live as long as c). Borrowed: never finalize it; reset it when done
 * (DB_STMT does). NULL with `e` filled when it does not prepare. */
sqlite3_stmt *db_conn_stmt(db_conn *c, const char *sql, err *e);

/* Runs one or more statements without results (DDL, BEGIN, pragmas).
 * `sql` borrowed. Returns 0 or -1 with `e` mapped from the SQLite error. */
int db_conn_exec(db_conn *c, const char *sql, err *e);

static inline void
db_stmt_reset_cleanup(sqlite3_stmt **s)
{
    if (*s)
        sqlite3_reset(*s);
}
#define DB_STMT __attribute__((cleanup(db_stmt_reset_cleanup))) sqlite3_stmt *

/* Fills `e` from an SQLite result code and returns -1. UNIQUE / PRIMARY KEY /
 * FOREIGN KEY constraints give ERR_CONFLICT; BUSY, LOCKED, IOERR, FULL,
 * CANTOPEN, NOMEM give ERR_UNAVAILABLE; anything else ERR_INTERNAL. The
 * detail is a fixed sentence, never SQL text or a path. */
#define db_sqlite_err(e, rc) db_sqlite_err_at((e), (rc), __func__, __LINE__)
int db_sqlite_err_at(err *e, int rc, const char *func, int line);

/* The err kind db_sqlite_err gives for rc. */
enum err_kind db_sqlite_err_kind(int rc);

/* ---- connections (conn.c) ---- */

enum db_conn_role { DB_CONN_WRITER, DB_CONN_READER, DB_CONN_VERIFY };

/* Opens `path` (borrowed) for `role` with the pragmas of that role: WAL,
 * busy_timeout, foreign_keys, `sync` for the writer; read-only with a small
 * cache for readers and the verifier. Caller closes with db_conn_close. */
db_conn *db_conn_open(const char *path, enum db_conn_role role, enum db_sync sync, err *e);

/* Finalizes the cached statements and closes. NULL is fine. */
void db_conn_close(db_conn *c);

/* Identity changes (users, roles, bindings, tokens, sessions) bump an epoch
 * after their commit, so caches of principals know they are stale. The writer
 * watches its connection with an update hook; WITHOUT ROWID tables escape the
 * hook, so their writers (role_permission) call db_conn_identity_changed. */
void db_conn_watch_identity(db_conn *c);
void db_conn_identity_changed(db_conn *c);
bool db_conn_take_identity_changed(db_conn *c); /* and clears it */

/* ---- audit chain (audit_chain.c) ---- */

#define DB_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* The writer's view of the chain: the key and the head (last seq and hash).
 * Owned by the writer thread; no lock. */
struct db_audit_chain {
    unsigned char key[DB_AUDIT_KEY_MAX];
    size_t keylen;
    int64_t seq;   /* last appended seq, 0 for an empty chain */
    char hash[65]; /* its hash, DB_AUDIT_GENESIS for an empty chain */
};

/* Loads the head from the table (after a failed commit, and at open). */
int db_audit_chain_load(db_conn *c, struct db_audit_chain *ch, err *e);

/* Appends `a` (borrowed) as the next row of the chain on the writer
 * connection and advances ch's head. The caller rolls back and restores the
 * head when this fails (ERR_UNAVAILABLE, or ERR_INTERNAL for a malformed row). */
int db_audit_chain_append(db_conn *c, struct db_audit_chain *ch, const struct db_audit *a, err *e);

/* Writes a checkpoint row for ch's head, signed with ch's key; fills *out. */
int db_audit_chain_checkpoint(db_conn *c, const struct db_audit_chain *ch,
                              struct db_audit_checkpoint *out, err *e);

/* Verifies the chain on an open connection, in one read snapshot (it opens
 * and ends its own read transaction). ERR_INVALID when the file is not a
 * virtportal database. */
int db_audit_chain_verify(db_conn *c, const unsigned char *key, size_t keylen, int64_t from_seq,
                          struct db_audit_verify_result *r, err *e);

/* The chain of the writer connection, or NULL for a reader. Only valid on
 * the writer thread (inside a db_apply_fn). */
struct db_audit_chain *db_conn_chain(db_conn *c);
void db_conn_set_chain(db_conn *c, struct db_audit_chain *ch);

/* ---- migrations (migrate.c) ---- */

/* Applies every embedded migration newer than PRAGMA user_version, each in
 * its own transaction. ERR_UNAVAILABLE when the database is newer than this
 * binary or a migration fails. */
int db_migrate(db_conn *c, err *e);

/* The highest migration number embedded in this binary. */
int db_migrate_latest(void);

/* Current time as RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.123Z")
 * into buf (>= 25 bytes). */
void db_now_rfc3339(char *buf, size_t n);

#endif
