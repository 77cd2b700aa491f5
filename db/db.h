/* db: the portal's state in one SQLite file (WAL), behind one writer thread.
 *
 * Reads: every thread gets its own read-only connection (db_reader) and never
 * waits for the writer. Writes: callers hand a function to db_mutate; the one
 * writer thread runs it inside a shared transaction together with whatever
 * else is queued (group commit), appends the caller's audit row in the same
 * transaction, commits once with synchronous=FULL and only then answers.
 * Each job runs in its own SAVEPOINT, so one failing job rolls back alone.
 *
 * Why one writer: durable throughput comes from batching many requests into
 * one fsync (PITFALLS: ~600 commits/s one-by-one, far more grouped), and
 * Debian's SQLite 3.40 has a WAL-reset bug when two connections write or
 * checkpoint at once. The writer also runs WAL checkpoints itself so the WAL
 * stays bounded under sustained writes.
 *
 * Nothing outside db/ sees sqlite3.h: stores inside db/ (db_internal.h) get the
 * SQLite handle from a db_conn. */
#ifndef VP_DB_H
#define VP_DB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct db db;           /* opaque; thread-safe */
typedef struct db_conn db_conn; /* one SQLite connection, used by one thread */

enum db_commit_mode {
    DB_COMMIT_GROUP,  /* many queued jobs per transaction (default) */
    DB_COMMIT_SINGLE, /* one job per transaction: the benchmark baseline */
};

enum db_sync { DB_SYNC_FULL, DB_SYNC_NORMAL, DB_SYNC_OFF };

enum { DB_AUDIT_KEY_MIN = 32, DB_AUDIT_KEY_MAX = 64, DB_DEFAULT_MAX_BATCH = 256 };

struct db_options {
    const char *path;               /* database file; created when missing */
    const unsigned char *audit_key; /* HMAC key of the audit chain, kept outside the DB */
    size_t audit_key_len;           /* DB_AUDIT_KEY_MIN .. DB_AUDIT_KEY_MAX */
    enum db_commit_mode commit_mode;
    enum db_sync sync; /* DB_SYNC_FULL (0) unless benchmarking */
    int max_batch;     /* jobs per transaction; 0 = DB_DEFAULT_MAX_BATCH */
};

/* Opens (creating if needed) the database: WAL mode, applies the embedded
 * migrations, loads the audit chain head and starts the writer thread.
 * `o` and its strings are borrowed (copied). Returns NULL with `e` filled
 * (ERR_INVALID for bad options, ERR_UNAVAILABLE when the file cannot be
 * opened or migrated). Caller closes with db_close. */
db *db_open(const struct db_options *o, err *e);

/* Answers every queued mutation, stops the writer, truncates the WAL and
 * closes all connections, including other threads' readers: no thread may use
 * `d` or a reader from it any more, and threads that used db_reader must not
 * exit concurrently with db_close. NULL is fine. */
void db_close(db *d);

/* One audit row. Strings are borrowed and may be NULL; ids may be 0 (stored as
 * NULL). `action` is required ("tenant.create"); `outcome` is "ok", "denied"
 * or "failed" (NULL means "ok"). `details` (borrowed, may be NULL) must be a
 * JSON object and must never contain secrets. */
struct db_audit {
    const char *actor; /* login or "system" */
    int64_t user_id;
    const char *token_id; /* API token lookup id, when one was used */
    int64_t tenant_id;    /* the tenant the event belongs to */
    const char *source_ip;
    const char *user_agent;
    const char *request_id;
    const char *action;
    const char *target; /* "tenant/42" */
    const char *outcome;
    json_t *details;
};

/* A mutation, run on the writer thread inside a transaction and a SAVEPOINT.
 * It must only use `c` (a store function of db/ takes it), must not block on
 * anything but the database, and must not call db_mutate. It may fill in
 * `audit` (e.g. the target id it just created); strings it sets must stay
 * valid until db_mutate returns. Returns 0, or -1 with `e` filled: then
 * everything it did is rolled back and db_mutate fails with that error.
 * It must not end the transaction or defer constraints (defer_foreign_keys):
 * a violation found only at COMMIT fails every job of the batch. */
typedef int (*db_apply_fn)(db_conn *c, void *arg, struct db_audit *audit, err *e);

/* Runs fn(c, arg, audit, e) in the next batch and appends `audit` (borrowed)
 * to the audit chain in the same transaction; blocks until the batch is
 * durable. Returns 0 only when both the change and its audit row are
 * committed. On -1 nothing of this job is stored: fn's error, ERR_UNAVAILABLE
 * when the audit row or the commit failed, ERR_INTERNAL for a programming
 * error (audit without action, called from the writer thread).
 * `audit` may be NULL only for bookkeeping that is nobody's action (a cache
 * refresh from libvirt); every user-visible change passes one. */
int db_mutate(db *d, db_apply_fn fn, void *arg, struct db_audit *audit, err *e);

/* Appends an audit row alone (login failed, permission denied), durably.
 * `audit` is borrowed and required. Returns 0 or -1 like db_mutate. */
int db_audit_event(db *d, struct db_audit *audit, err *e);

/* The calling thread's read-only connection to `d`: opened on first use with
 * a small page cache, closed when the thread exits or at db_close. Borrowed:
 * never close it, never hand it to another thread. NULL with ERR_UNAVAILABLE
 * when it cannot be opened. */
db_conn *db_reader(db *d, err *e);

/* A counter that grows after every commit that changed users, roles,
 * bindings, API tokens, sessions or tenants. A cache of principals built
 * while it read E is valid exactly while it still reads E. Any thread. */
uint64_t db_identity_epoch(db *d);

/* Writer counters since db_open (a snapshot). */
struct db_stats {
    uint64_t commits;         /* transactions committed */
    uint64_t failed_commits;  /* transactions that failed at BEGIN or COMMIT */
    uint64_t jobs;            /* jobs answered */
    uint64_t jobs_failed;     /* jobs answered with an error */
    uint64_t max_batch_seen;  /* largest number of jobs in one transaction */
    uint64_t wal_checkpoints; /* checkpoints run by the writer */
    uint64_t wal_truncates;   /* of which TRUNCATE that succeeded */
    uint64_t queued;          /* jobs waiting for the writer right now */
};

/* Copies the counters into *out. */
void db_stats(db *d, struct db_stats *out);

/* ---- audit chain (audit_chain.c) ---- */

enum db_audit_problem {
    DB_AUDIT_OK,
    DB_AUDIT_EDITED,         /* a row's HMAC does not match its content */
    DB_AUDIT_DELETED,        /* a row is missing (gap, or a link to a row that is gone) */
    DB_AUDIT_REORDERED,      /* intact rows whose links point elsewhere in the chain */
    DB_AUDIT_TRUNCATED,      /* rows missing after the last signed checkpoint */
    DB_AUDIT_BAD_CHECKPOINT, /* a checkpoint's signature or hash does not match */
};

struct db_audit_verify_result {
    enum db_audit_problem problem; /* DB_AUDIT_OK when the chain verifies */
    int64_t seq;                   /* first broken sequence number, 0 when OK */
    int64_t rows;                  /* rows checked */
    int64_t last_seq;              /* last sequence number seen */
    int64_t checkpoints;           /* checkpoints checked */
};

/* "ok", "edited", "deleted", "reordered", "truncated", "bad-checkpoint". */
const char *db_audit_problem_name(enum db_audit_problem p);

/* Verifies the audit chain of the database file at `path` (opened read-only,
 * borrowed) from `from_seq` (<= 1: from the start) with `key` (borrowed).
 * Returns 0 when the check ran (the verdict is in *r), -1 with `e` filled when
 * it could not (file unreadable, not a virtportal database). */
int db_audit_verify(const char *path, const unsigned char *key, size_t keylen, int64_t from_seq,
                    struct db_audit_verify_result *r, err *e);

/* The same on a live database, through the calling thread's reader and the
 * key `d` was opened with, in one read snapshot. */
int db_audit_verify_live(db *d, int64_t from_seq, struct db_audit_verify_result *r, err *e);

/* A signed checkpoint of the chain head. */
struct db_audit_checkpoint {
    int64_t id, seq;
    char hash[65];
    char ts[32];
    char signature[65];
};

/* Durably records the current chain head (seq, hash) in audit_checkpoint,
 * signed with the audit key, so a later truncation of the tail is detected.
 * Fills *out (may be NULL). Returns 0 or -1 (ERR_UNAVAILABLE). */
int db_audit_checkpoint(db *d, struct db_audit_checkpoint *out, err *e);

#endif
