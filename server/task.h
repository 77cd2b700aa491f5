/* task: the runner every long action uses (VM start/stop, define, migrate,
 * plan execution): requests never wait on a hypervisor, they queue a task and
 * answer 202 with its URL.
 *
 * A task is a function run on one of a bounded pool of worker threads. Tasks
 * that share a concurrency key ("host/3") run at most `per_key` at once and
 * start in the order they were queued (FIFO within a key); a task held back by
 * its key never holds back tasks of other keys. Every state lives in the
 * `task` table (db/task_store.h): queued with the request's audit row, the
 * final state (succeeded / failed with a client-safe error / cancelled) with
 * an audit row "task.<state>" whose actor is the task's creator, in the same
 * transaction.
 *
 * Restart: tasks a previous process left queued or running are marked failed
 * "interrupted by a restart" at start (audited, actor "system"). They are not
 * run again: libvirt actions are not idempotent in general (a start that got
 * through before the crash would fail, a define or migrate half done needs a
 * look first), and nobody asked for the action to happen at a later time. A
 * later change may re-queue kinds that are known to be safe.
 *
 * Threads: every function here is thread-safe. Task functions run on worker
 * threads and may block on a hypervisor, but must look at task_cancelled()
 * (or use task_sleep) often enough for cancellation and shutdown: the runner
 * waits for running tasks when it stops. */
#ifndef VP_TASK_H
#define VP_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "task_store.h"

struct task_runner;
struct task_ctx; /* the running task, as its function sees it */

enum { TASK_MESSAGE_MAX = 160, TASK_KEY_MAX = 64, TASK_ACTOR_MAX = 64 };

struct task_runner_opts {
    int workers;         /* tasks running at once in all (1..256), default 8 */
    int per_key;         /* tasks running at once per concurrency key (1..256), default 2 */
    int max_subscribers; /* event streams at once (1..4096), default 32 */
    int progress_ms;     /* progress is stored at most this often per task, default 500 */
    /* Optional sink for what the runner cannot tell anyone else (a final state
     * that could not be stored). Called from runner threads; `msg` borrowed. */
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
};

/* Reconciles what a previous process left behind (see above), then starts
 * the workers. `d` is borrowed and must outlive the runner; `o` may be NULL
 * (defaults) and is copied. NULL with `e` filled on failure. */
struct task_runner *task_runner_start(db *d, const struct task_runner_opts *o, err *e);

/* Ends every event stream now and refuses new ones (call it before stopping
 * the HTTP server, whose shutdown waits for the requests that stream). */
void task_runner_close_streams(struct task_runner *tr);

/* Stops taking work, asks running tasks to cancel, waits for them, ends
 * still-queued tasks as cancelled ("the server stopped before the task
 * ran"), and frees the runner. NULL is fine. No other call may be running
 * or made afterwards. */
void task_runner_stop(struct task_runner *tr);

/* A task's work. Returns 0 when done, or -1 with `e` filled (the detail must
 * be client-safe: it becomes the task's error; ERR_INTERNAL shows a generic
 * sentence). When cancellation was asked for, -1 ends the task "cancelled". */
typedef int (*task_fn)(struct task_ctx *t, void *arg, err *e);

/* What to run; strings borrowed (copied by task_submit). */
struct task_spec {
    const char *kind;   /* "vm.start": [a-z][a-z0-9_-]*(.[a-z0-9_-]+)+, at most 64 bytes */
    const char *target; /* "vm/12", may be NULL; at most 128 bytes */
    int64_t tenant_id;  /* the tenant whose members may see it; 0 = none (global readers) */
    int64_t created_by; /* user id, 0 = the system */
    const char *actor;  /* the creator's login for the final audit row (NULL: "system") */
    const char *key;    /* concurrency key ("host/3"), NULL or "" = only the pool limit */
    bool cancellable;   /* may be cancelled while running (queued tasks always may) */
};

/* Queues fn(arg) as a new task. The queued row and the request's audit row
 * `a` (borrowed, required) are written in one transaction. On success *id is
 * the task's id and the runner owns arg: free_arg(arg) (may be NULL) is called
 * once the task has ended. On failure nothing is stored and arg stays the
 * caller's: ERR_INVALID (bad spec), ERR_UNAVAILABLE (storage, or the runner
 * is stopping), ERR_CONFLICT (no such tenant or user). */
int task_submit(struct task_runner *tr, const struct task_spec *spec, task_fn fn, void *arg,
                void (*free_arg)(void *), struct db_audit *a, int64_t *id, err *e);

/* ---- inside a task function ---- */

/* Reports progress (pct clamped to 0..100) and what is happening now (printf
 * format, may be NULL; truncated to TASK_MESSAGE_MAX). Never waits on the
 * database: the value is stored and published at most every progress_ms. */
void task_progress(struct task_ctx *t, int pct, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Has cancellation been asked for (by a user, or by shutdown)? */
bool task_cancelled(struct task_ctx *t);

/* Sleeps ms milliseconds or until cancellation is asked for; true when it was. */
bool task_sleep(struct task_ctx *t, int ms);

/* The task's id. */
int64_t task_id(const struct task_ctx *t);

/* ---- cancellation ---- */

enum task_cancel_result {
    TASK_CANCEL_DONE,      /* it was queued: it is cancelled now */
    TASK_CANCEL_REQUESTED, /* it is running: its function was asked to stop */
};

/* Cancels task `id` on behalf of the request audited by `request` (borrowed,
 * required; action "task.cancel"): a queued task ends "cancelled" at once
 * (request row and final row in one transaction); a running cancellable one
 * is asked to stop (the request row is written first). ERR_CONFLICT when it
 * has already finished or cannot be cancelled while running, ERR_NOT_FOUND
 * when there is no such task, ERR_UNAVAILABLE when storage fails. The caller
 * checks permissions first. */
int task_cancel(struct task_runner *tr, int64_t id, struct db_audit *request,
                enum task_cancel_result *out, err *e);

/* ---- reading live state ---- */

/* A task as the API shows it: the row plus what only the runner knows. */
struct task_view {
    struct db_task row;
    char message[TASK_MESSAGE_MAX + 1]; /* "" when none */
    bool cancel_requested;
};

/* When task `id` is queued or running in this process, copies its live state
 * (fresher than the stored progress) into *out and returns true. */
bool task_peek(struct task_runner *tr, int64_t id, struct task_view *out);

/* ---- events (for Server-Sent Events) ---- */

/* One change of one task: immutable, reference-counted. */
struct task_event {
    uint64_t seq; /* increases by one per event in this process */
    struct task_view v;
};

struct task_sub;

/* Which tenants' tasks a subscriber may see (tenant_id 0 = tasks without a
 * tenant). Called by publishing threads while the runner holds its event
 * lock: it must be quick, must not block and must not call the runner. */
typedef bool (*task_may_see_fn)(void *ctx, int64_t tenant_id);

/* Subscribes to task changes the caller may see. `last_event_id` (borrowed,
 * may be NULL) is the SSE Last-Event-ID: events after it that are still in
 * the runner's recent history are replayed; if they are not, the first
 * thing the subscriber gets is TASK_SUB_RESYNC. NULL with ERR_RATE_LIMITED
 * when max_subscribers streams are open, ERR_UNAVAILABLE once streams are
 * closed. Caller ends it with task_unsubscribe. */
struct task_sub *task_subscribe(struct task_runner *tr, task_may_see_fn may_see, void *ctx,
                                const char *last_event_id, err *e);

enum task_sub_wait {
    TASK_SUB_EVENT,   /* *ev is the next event (release it with task_event_release) */
    TASK_SUB_RESYNC,  /* events were lost (the subscriber was too slow): reload the list */
    TASK_SUB_TIMEOUT, /* nothing within timeout_ms */
    TASK_SUB_CLOSED,  /* streams are closed (server stopping): end the stream */
};

/* Waits up to timeout_ms for the next thing for subscriber s. Each
 * subscriber holds a bounded queue: a publisher never waits for a slow
 * subscriber, it drops that subscriber's queue and flags a resync. */
enum task_sub_wait task_sub_next(struct task_sub *s, int timeout_ms, struct task_event **ev);

/* Drops one reference. NULL is fine. */
void task_event_release(struct task_event *ev);

/* Ends a subscription and frees it. NULL is fine. */
void task_unsubscribe(struct task_sub *s);

/* ---- counters ---- */

struct task_stats {
    uint64_t submitted, succeeded, failed, cancelled; /* since start */
    uint64_t queued, running, subscribers;            /* now */
    uint64_t store_failures; /* final states or progress that could not be stored */
};

void task_runner_stats(struct task_runner *tr, struct task_stats *out);

#endif
