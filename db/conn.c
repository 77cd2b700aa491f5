/* conn: one SQLite connection with its pragmas and a prepared-statement cache. */
#include "db_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Readers get a small page cache: 64 request threads with the default cache
 * cost ~145 MB (PITFALLS). The writer keeps a larger one: it is alone. */
enum {
    READER_CACHE_KIB = 512,
    WRITER_CACHE_KIB = 8192,
    BUSY_TIMEOUT_MS = 5000,
    STMT_CACHE_MIN = 32,
    /* The WAL file is cut back to this size whenever it is reset. */
    WAL_SIZE_LIMIT = 16 * 1024 * 1024,
};

struct stmt_slot {
    const char *sql; /* key: the pointer, not the text */
    sqlite3_stmt *stmt;
};

struct db_conn {
    sqlite3 *s;
    struct stmt_slot *slots; /* open addressing, power-of-two size */
    size_t nslots, nused;
    struct db_audit_chain *chain; /* writer only */
    bool identity_changed;        /* writer only: an identity table changed in this batch */
};

/* Tables whose rows decide who a caller is and what they may do: a change to
 * any of them invalidates the principals cached by api/authz.c. */
static const char *const identity_tables[] = {"user",      "role",          "role_binding",
                                              "api_token", "refresh_token", "tenant"};

static void
identity_update_hook(void *arg, int op, const char *dbname, const char *table, sqlite3_int64 rowid)
{
    db_conn *c = arg;
    for (size_t i = 0; i < sizeof(identity_tables) / sizeof(identity_tables[0]); i++)
        if (!strcmp(table, identity_tables[i]))
            c->identity_changed = true;
}

void
db_conn_watch_identity(db_conn *c)
{
    sqlite3_update_hook(c->s, identity_update_hook, c);
}

void
db_conn_identity_changed(db_conn *c)
{
    c->identity_changed = true;
}

bool
db_conn_take_identity_changed(db_conn *c)
{
    bool was = c->identity_changed;
    c->identity_changed = false;
    return was;
}

sqlite3 *
db_conn_sqlite(db_conn *c)
{
    return c->s;
}

struct db_audit_chain *
db_conn_chain(db_conn *c)
{
    return c->chain;
}

void
db_conn_set_chain(db_conn *c, struct db_audit_chain *ch)
{
    c->chain = ch;
}

enum err_kind
db_sqlite_err_kind(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return ERR_CONFLICT;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
        return ERR_UNAVAILABLE;
    default:
        return ERR_INTERNAL;
    }
}

int
db_sqlite_err_at(err *e, int rc, const char *func, int line)
{
    enum err_kind k = db_sqlite_err_kind(rc);
    const char *msg = k == ERR_CONFLICT      ? "conflicts with an existing object"
                      : k == ERR_UNAVAILABLE ? "storage is unavailable"
                                             : "storage error";
    /* The code helps the logs; the SQL and SQLite's message never leave db/. */
    return err_set_at(e, k, func, line, "%s (code %d)", msg, rc);
}

static size_t
slot_index(const char *sql, size_t nslots)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (nslots - 1);
}

static struct stmt_slot *
slot_find(struct stmt_slot *slots, size_t nslots, const char *sql)
{
    size_t i = slot_index(sql, nslots);
    while (slots[i].sql && slots[i].sql != sql)
        i = (i + 1) & (nslots - 1);
    return &slots[i];
}

/* Keeps the table at most half full so probes stay short. */
static int
slots_grow(db_conn *c)
{
    size_t n = c->nslots ? c->nslots * 2 : STMT_CACHE_MIN;
    struct stmt_slot *t = calloc(n, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].sql)
            *slot_find(t, n, c->slots[i].sql) = c->slots[i];
    free(c->slots);
    c->slots = t;
    c->nslots = n;
    return 0;
}

sqlite3_stmt *
db_conn_stmt(db_conn *c, const char *sql, err *e)
{
    if (c->nslots) {
        struct stmt_slot *sl = slot_find(c->slots, c->nslots, sql);
        if (sl->sql) {
            sqlite3_reset(sl->stmt);
            sqlite3_clear_bindings(sl->stmt);
            return sl->stmt;
        }
    }
    if ((c->nused + 1) * 2 > c->nslots && slots_grow(c) < 0) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->s, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        db_sqlite_err(e, rc);
        return NULL;
    }
    struct stmt_slot *sl = slot_find(c->slots, c->nslots, sql);
    sl->sql = sql;
    sl->stmt = st;
    c->nused++;
    return st;
}

int
db_conn_exec(db_conn *c, const char *sql, err *e)
{
    int rc = sqlite3_exec(c->s, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_sqlite_err(e, rc);
}

static const char *
sync_pragma(enum db_sync s)
{
    switch (s) {
    case DB_SYNC_NORMAL:
        return "PRAGMA synchronous=NORMAL";
    case DB_SYNC_OFF:
        return "PRAGMA synchronous=OFF";
    default:
        return "PRAGMA synchronous=FULL";
    }
}

/* The writer creates the file and sets WAL (persistent in the file); it does
 * its own checkpoints, so SQLite's automatic ones are off (wal_autocheckpoint=0;
 * the writer's wal_hook replaces them anyway). */
static int
conn_setup_writer(db_conn *c, enum db_sync sync, err *e)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
             " PRAGMA journal_size_limit=%d; PRAGMA cache_size=-%d;",
             WAL_SIZE_LIMIT, WRITER_CACHE_KIB);
    if (db_conn_exec(c, sql, e) < 0 || db_conn_exec(c, sync_pragma(sync), e) < 0)
        return -1;
    /* journal_mode answers the mode it got: make sure it really is WAL. */
    DB_STMT s = db_conn_stmt(c, "PRAGMA journal_mode", e);
    if (!s)
        return -1;
    if (sqlite3_step(s) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0)
        return err_set(e, ERR_UNAVAILABLE, "storage cannot use WAL mode");
    return 0;
}

static int
conn_setup(db_conn *c, enum db_conn_role role, enum db_sync sync, err *e)
{
    sqlite3_extended_result_codes(c->s, 1);
    sqlite3_busy_timeout(c->s, BUSY_TIMEOUT_MS);
    if (db_conn_exec(c, "PRAGMA foreign_keys=ON", e) < 0)
        return -1;
    if (role == DB_CONN_WRITER)
        return conn_setup_writer(c, sync, e);
    char sql[96];
    snprintf(sql, sizeof(sql), "PRAGMA query_only=1; PRAGMA cache_size=-%d;", READER_CACHE_KIB);
    return db_conn_exec(c, sql, e);
}

/* SQLite gives every connection a bulk page-cache allocation (20 pages,
 * ~52 KB resident) at its first read, used or not; the portal keeps a reader
 * per thread, most of them nearly idle. Pages are then allocated one by one as
 * the cache fills (its cache_size limit is unchanged). Must run before
 * SQLite's initialisation; if something initialised it first, the call is
 * refused and the default simply stays. */
static void
sqlite_memory_once(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

db_conn *
db_conn_open(const char *path, enum db_conn_role role, enum db_sync sync, err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_memory_once);
    db_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    /* NOMUTEX: a connection is only ever used by one thread at a time. */
    int flags =
        SQLITE_OPEN_NOMUTEX | (role == DB_CONN_WRITER ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                      : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, &c->s, flags, NULL);
    if (rc != SQLITE_OK) {
        err_set(e, ERR_UNAVAILABLE, "cannot open the database (code %d)", rc);
        db_conn_close(c);
        return NULL;
    }
    if (conn_setup(c, role, sync, e) < 0) {
        db_conn_close(c);
        return NULL;
    }
    return c;
}

void
db_conn_close(db_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].sql)
            sqlite3_finalize(c->slots[i].stmt);
    free(c->slots);
    sqlite3_close_v2(c->s);
    free(c);
}

void
db_now_rfc3339(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char day[24];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
}
