/* task store: the `task` table (db/task_store.c), written by the task runner
 * (server/task.c) and read by the task routes (api/tasks.c).
 *
 * A task row goes queued -> running -> succeeded | failed | cancelled, or
 * queued -> cancelled. The final state is written together with its audit
 * row(s) in one transaction; a row that already reached a final state is
 * never changed again (the UPDATEs say "WHERE state IN (queued, running)").
 *
 * The progress message of a running task is not stored (the 0001 schema has
 * no column for it): the runner keeps it in memory and serves it live.
 *
 * Timestamps are RFC 3339 UTC text with milliseconds, made by the caller;
 * "" in a struct stands for NULL. Ids 0 stand for NULL (no tenant, no user). */
#ifndef VP_DB_TASK_STORE_H
#define VP_DB_TASK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum db_task_state {
    DB_TASK_QUEUED,
    DB_TASK_RUNNING,
    DB_TASK_SUCCEEDED,
    DB_TASK_FAILED,
    DB_TASK_CANCELLED,
    DB_TASK_STATE_COUNT
};

/* Sizes in bytes (without the NUL). Longer input is refused by the callers. */
enum { DB_TASK_KIND_MAX = 64, DB_TASK_TARGET_MAX = 128, DB_TASK_ERROR_MAX = 255 };

struct db_task {
    int64_t id;
    char kind[DB_TASK_KIND_MAX + 1];     /* "vm.start" */
    char target[DB_TASK_TARGET_MAX + 1]; /* "vm/12", "" when none */
    int64_t tenant_id;                   /* 0 = not a tenant's task */
    enum db_task_state state;
    int progress;                      /* 0..100 */
    char error[DB_TASK_ERROR_MAX + 1]; /* client-safe sentence, "" when none */
    int64_t created_by;                /* user id, 0 = none (deleted, or the system) */
    char created_at[32], started_at[32], finished_at[32];
};

/* "queued", "running", …; "invalid" for anything else. Static string. */
const char *db_task_state_name(enum db_task_state s);

/* The state called `name` (borrowed) into *out; -1 when unknown. */
int db_task_state_parse(const char *name, enum db_task_state *out);

/* True for succeeded, failed and cancelled. */
bool db_task_state_final(enum db_task_state s);

/* The current time as the task table stores it ("2024-05-01T12:00:00.123Z")
 * into buf (n >= 25). */
void db_task_now(char *buf, size_t n);

/* Inserts `t` (borrowed: kind, target, tenant_id, created_by, created_at) as
 * a queued task with progress 0, and the caller's audit row `a` (borrowed,
 * required: the request that made the task) in the same transaction; `a`'s
 * details get "task_id" added (on a copy: the caller's object is untouched).
 * Fills t->id and t->state. ERR_CONFLICT when tenant_id or created_by name
 * no row. */
int db_task_insert(db *d, struct db_task *t, struct db_audit *a, err *e);

/* queued -> running with started_at (borrowed). Bookkeeping, not audited: the
 * request that queued the task and its final state are. ERR_CONFLICT when
 * the row is not queued any more. */
int db_task_set_running(db *d, int64_t id, const char *started_at, err *e);

struct db_task_progress {
    int64_t id;
    int progress; /* 0..100 */
};

/* Stores the progress of n tasks in one transaction (one fsync for all);
 * rows that are no longer running are left alone. Not audited. */
int db_task_set_progress(db *d, const struct db_task_progress *p, size_t n, err *e);

/* Ends task `id` in final state `state` with `progress`, `error` (borrowed,
 * may be NULL or "") and finished_at (borrowed), only if it is still queued
 * or running (ERR_CONFLICT otherwise, ERR_NOT_FOUND when there is no such
 * row). `final` (borrowed, required) is the audit row of the final state;
 * `request` (borrowed, may be NULL) is the audit row of a request that caused
 * it (a cancel), appended just before it in the same transaction. */
int db_task_finish(db *d, int64_t id, enum db_task_state state, int progress, const char *error,
                   const char *finished_at, struct db_audit *final, struct db_audit *request,
                   err *e);

/* Marks every queued or running task failed with `error` (borrowed) at
 * finished_at, each with an audit row "task.failed" by actor "system"
 * (details: kind, the state it was in, the reason), all in one transaction.
 * *n (may be NULL) gets the number of tasks changed. Used at start, when no
 * task of this process exists yet. */
int db_task_reconcile(db *d, const char *error, const char *finished_at, int64_t *n, err *e);

/* Task `id` into *out through the calling thread's reader; ERR_NOT_FOUND. */
int db_task_get(db *d, int64_t id, struct db_task *out, err *e);

/* A list query. NULL / 0 / -1 members do not filter. */
struct db_task_filter {
    int state;           /* enum db_task_state, or -1 */
    const char *kind;    /* exact */
    const char *target;  /* exact */
    int64_t tenant_id;   /* 0 = any */
    int64_t created_by;  /* 0 = any */
    const char *visible; /* JSON array of the tenant ids the caller may see; NULL = all.
                            A task without a tenant is never in a visible list. */
    int64_t before_id;   /* cursor: only ids below it; 0 = from the newest */
};

/* Called for each row (borrowed, valid during the call). Return 0, or -1
 * with `e` filled to stop the list. */
typedef int (*db_task_row_fn)(void *arg, const struct db_task *t, err *e);

/* Lists tasks matching f, newest first (by id), at most `limit` rows into
 * fn; *more says whether rows remain after the last one. */
int db_task_list(db *d, const struct db_task_filter *f, int limit, bool *more, db_task_row_fn fn,
                 void *arg, err *e);

#endif
