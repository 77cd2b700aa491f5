/* task: the runner — a bounded worker pool with per-key limits, durable task
 * states with their audit rows, cooperative cancellation, rate-limited
 * progress, restart reconciliation. See task.h for the contract.
 *
 * Threads: `workers` workers run tasks; one flusher stores progress (so a
 * task reporting progress never waits for an fsync) and publishes it. One
 * mutex (tr->mu) guards the queue, the running list and every live task's
 * view; events are published while holding it, so subscribers see a task's
 * changes in the order they happened. Nothing blocks on the database while
 * holding tr->mu. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "task_int.h"

/* A live task (queued or running). task_ctx is what its function sees. */
struct task_ctx {
    struct task_runner *tr;
    int64_t id;
    struct task_view v; /* tr->mu */
    char key[TASK_KEY_MAX + 1];
    char actor[TASK_ACTOR_MAX + 1];
    char cancel_reason[96];                /* tr->mu: why cancellation was asked, for the error */
    char cancelled_by[TASK_ACTOR_MAX + 1]; /* tr->mu: "" = the system */
    bool cancellable;
    atomic_bool cancel;
    bool dirty; /* tr->mu: progress not yet stored and published */
    task_fn fn;
    void *arg;
    void (*free_arg)(void *);
    struct task_ctx *prev, *next; /* tr->mu: in tr->queued (by id) or tr->running */
};

struct task_runner {
    db *d;
    struct task_runner_opts o;
    pthread_mutex_t mu;
    pthread_cond_t work;                   /* the queue changed, a key slot freed, or stopping */
    pthread_cond_t cancel_cv;              /* a cancellation was asked (task_sleep) */
    pthread_cond_t flush_cv;               /* progress became dirty, or the flusher stops */
    struct task_ctx *queued, *queued_tail; /* tr->mu, ascending id */
    struct task_ctx *running;              /* tr->mu */
    size_t ndirty;                         /* tr->mu */
    bool stopping, flusher_stop;           /* tr->mu */
    struct task_stats stats;               /* tr->mu (subscribers: from the hub) */
    pthread_t *workers;
    int nworkers;
    pthread_t flusher;
    bool flusher_started;
    struct task_hub hub;
};

enum { STORE_TRIES = 5, STORE_BACKOFF_MS = 100 };

struct task_hub *
task_runner_hub(struct task_runner *tr)
{
    return &tr->hub;
}

static void runner_log(struct task_runner *tr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
runner_log(struct task_runner *tr, const char *fmt, ...)
{
    if (!tr->o.log)
        return;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tr->o.log(tr->o.log_ctx, msg);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void
deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- lists (tr->mu held) ---- */

static void
list_unlink(struct task_ctx **head, struct task_ctx **tail, struct task_ctx *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        *head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else if (tail)
        *tail = t->prev;
    t->prev = t->next = NULL;
}

/* Keeps the queue in id order: the order the tasks were queued in. */
static void
queue_insert(struct task_runner *tr, struct task_ctx *t)
{
    struct task_ctx *after = tr->queued_tail;
    while (after && after->id > t->id)
        after = after->prev;
    t->prev = after;
    t->next = after ? after->next : tr->queued;
    if (t->next)
        t->next->prev = t;
    else
        tr->queued_tail = t;
    if (after)
        after->next = t;
    else
        tr->queued = t;
    tr->stats.queued++;
}

static void
running_push(struct task_runner *tr, struct task_ctx *t)
{
    t->prev = NULL;
    t->next = tr->running;
    if (tr->running)
        tr->running->prev = t;
    tr->running = t;
    tr->stats.running++;
}

static int
key_running(const struct task_runner *tr, const char *key)
{
    int n = 0;
    for (const struct task_ctx *t = tr->running; t; t = t->next)
        n += !strcmp(t->key, key);
    return n;
}

/* The oldest queued task whose key has a free slot. Scanning in id order
 * keeps FIFO within a key, and a full key does not block the others. */
static struct task_ctx *
queue_pick(const struct task_runner *tr)
{
    for (struct task_ctx *t = tr->queued; t; t = t->next)
        if (!t->key[0] || key_running(tr, t->key) < tr->o.per_key)
            return t;
    return NULL;
}

static struct task_ctx *
live_find(struct task_runner *tr, int64_t id)
{
    for (struct task_ctx *t = tr->running; t; t = t->next)
        if (t->id == id)
            return t;
    for (struct task_ctx *t = tr->queued; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

/* ---- final states ---- */

static const char *
final_action(enum db_task_state s)
{
    return s == DB_TASK_SUCCEEDED ? "task.succeeded"
           : s == DB_TASK_FAILED  ? "task.failed"
                                  : "task.cancelled";
}

/* The final audit row of t (its view already final); details are new. */
static void
final_audit(const struct task_ctx *t, const char *actor, struct db_audit *a, char *target,
            size_t tn)
{
    snprintf(target, tn, "task/%lld", (long long)t->id);
    const struct db_task *r = &t->v.row;
    json_t *d = json_pack("{s:s,s:s?,s:i}", "kind", r->kind, "target",
                          r->target[0] ? r->target : NULL, "progress", r->progress);
    if (d && r->error[0])
        json_object_set_new(d, "error", json_string(r->error));
    if (d && r->state == DB_TASK_CANCELLED)
        json_object_set_new(d, "cancelled_by",
                            t->cancelled_by[0] ? json_string(t->cancelled_by) : json_null());
    memset(a, 0, sizeof(*a));
    a->actor = actor;
    a->user_id = strcmp(actor, "system") ? r->created_by : 0;
    a->tenant_id = r->tenant_id;
    a->action = final_action(r->state);
    a->target = target;
    a->outcome = r->state == DB_TASK_FAILED ? "failed" : "ok";
    a->details = d;
}

/* Stores t's final view with its audit row (and `request`'s, may be NULL).
 * Retries a few times: a worker must not drop a final state because of a
 * short storage hiccup. Returns 0 or -1 with e. */
static int
store_final(struct task_runner *tr, struct task_ctx *t, const char *actor, struct db_audit *request,
            int tries, err *e)
{
    struct db_audit a;
    char target[48];
    final_audit(t, actor, &a, target, sizeof(target));
    const struct db_task *r = &t->v.row;
    int rc = -1;
    for (int i = 0; i < tries && rc < 0; i++) {
        if (i)
            sleep_ms(STORE_BACKOFF_MS << (i - 1));
        err_clear(e);
        rc = db_task_finish(tr->d, t->id, r->state, r->progress, r->error, r->finished_at, &a,
                            request, e);
        if (rc < 0 && e->kind != ERR_UNAVAILABLE)
            break; /* conflict, not found: retrying changes nothing */
    }
    json_decref(a.details);
    return rc;
}

static void
count_final(struct task_runner *tr, enum db_task_state s)
{
    if (s == DB_TASK_SUCCEEDED)
        tr->stats.succeeded++;
    else if (s == DB_TASK_FAILED)
        tr->stats.failed++;
    else
        tr->stats.cancelled++;
}

static void
task_free(struct task_ctx *t)
{
    if (t->free_arg)
        t->free_arg(t->arg);
    free(t);
}

/* Sets t's final view (tr->mu held). */
static void
view_finish(struct task_runner *tr, struct task_ctx *t, enum db_task_state s, const char *error)
{
    struct db_task *r = &t->v.row;
    r->state = s;
    if (s == DB_TASK_SUCCEEDED)
        r->progress = 100;
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
    db_task_now(r->finished_at, sizeof(r->finished_at));
    t->v.message[0] = '\0';
    if (t->dirty) {
        t->dirty = false;
        tr->ndirty--;
    }
}

/* Ends a task that never ran (shutdown, or submitted while stopping): the
 * system did it, so the system is the actor. t is in no list. */
static void
end_unrun(struct task_runner *tr, struct task_ctx *t, const char *why)
{
    err e = {0};
    pthread_mutex_lock(&tr->mu);
    view_finish(tr, t, DB_TASK_CANCELLED, why);
    pthread_mutex_unlock(&tr->mu);
    if (store_final(tr, t, "system", NULL, STORE_TRIES, &e) < 0)
        runner_log(tr, "task %lld: the cancelled state could not be stored: %s", (long long)t->id,
                   e.detail);
    pthread_mutex_lock(&tr->mu);
    if (e.kind != ERR_NONE)
        tr->stats.store_failures++;
    count_final(tr, DB_TASK_CANCELLED);
    task_hub_publish(&tr->hub, &t->v);
    pthread_mutex_unlock(&tr->mu);
    task_free(t);
}

/* ---- the workers ---- */

/* The client-safe error of a failed task function. */
static const char *
failure_text(struct task_runner *tr, const struct task_ctx *t, const err *e)
{
    if (e->kind == ERR_NONE || e->kind == ERR_INTERNAL || !e->detail[0]) {
        runner_log(tr, "task %lld (%s) failed: %s (%s:%d)", (long long)t->id, t->v.row.kind,
                   e->detail[0] ? e->detail : "no detail", e->func ? e->func : "?", e->line);
        return "The task failed because of an internal error.";
    }
    return e->detail;
}

/* Runs t (in tr->running, view already "running") and ends it. */
static void
task_run(struct task_runner *tr, struct task_ctx *t)
{
    err e = {0};
    int rc = db_task_set_running(tr->d, t->id, t->v.row.started_at, &e);
    if (rc == 0)
        rc = t->fn(t, t->arg, &e);
    else
        err_set(&e, ERR_UNAVAILABLE, "The task could not be started: storage is unavailable.");
    const char *why = rc == 0 ? NULL : failure_text(tr, t, &e); /* may log: not under tr->mu */
    pthread_mutex_lock(&tr->mu);
    if (rc == 0)
        view_finish(tr, t, DB_TASK_SUCCEEDED, NULL);
    else if (atomic_load(&t->cancel) && t->cancellable)
        view_finish(tr, t, DB_TASK_CANCELLED, t->cancel_reason);
    else
        view_finish(tr, t, DB_TASK_FAILED, why);
    pthread_mutex_unlock(&tr->mu);
    err se = {0};
    int stored = store_final(tr, t, t->actor, NULL, STORE_TRIES, &se);
    if (stored < 0)
        runner_log(tr, "task %lld: the final state could not be stored: %s", (long long)t->id,
                   se.detail);
    pthread_mutex_lock(&tr->mu);
    tr->stats.store_failures += stored < 0;
    count_final(tr, t->v.row.state);
    task_hub_publish(&tr->hub, &t->v);
    list_unlink(&tr->running, NULL, t);
    tr->stats.running--;
    pthread_cond_broadcast(&tr->work); /* a key slot is free */
    pthread_mutex_unlock(&tr->mu);
    task_free(t);
}

static void *
worker_main(void *arg)
{
    struct task_runner *tr = arg;
    for (;;) {
        pthread_mutex_lock(&tr->mu);
        struct task_ctx *t = NULL;
        while (!tr->stopping && !(t = queue_pick(tr)))
            pthread_cond_wait(&tr->work, &tr->mu);
        if (tr->stopping) {
            pthread_mutex_unlock(&tr->mu);
            return NULL;
        }
        list_unlink(&tr->queued, &tr->queued_tail, t);
        tr->stats.queued--;
        running_push(tr, t);
        t->v.row.state = DB_TASK_RUNNING;
        db_task_now(t->v.row.started_at, sizeof(t->v.row.started_at));
        task_hub_publish(&tr->hub, &t->v);
        pthread_mutex_unlock(&tr->mu);
        task_run(tr, t);
    }
}

/* ---- progress ---- */

void
task_progress(struct task_ctx *t, int pct, const char *fmt, ...)
{
    char msg[TASK_MESSAGE_MAX + 1] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    struct task_runner *tr = t->tr;
    pthread_mutex_lock(&tr->mu);
    t->v.row.progress = pct < 0 ? 0 : pct > 100 ? 100 : pct;
    if (fmt)
        memcpy(t->v.message, msg, sizeof(msg));
    if (!t->dirty) {
        t->dirty = true;
        tr->ndirty++;
        pthread_cond_signal(&tr->flush_cv);
    }
    pthread_mutex_unlock(&tr->mu);
}

/* Takes the dirty tasks' progress (tr->mu held) and publishes it. */
static size_t
flush_collect(struct task_runner *tr, struct db_task_progress *out, size_t cap)
{
    size_t n = 0;
    for (struct task_ctx *t = tr->running; t && n < cap; t = t->next) {
        if (!t->dirty)
            continue;
        out[n++] = (struct db_task_progress){t->id, t->v.row.progress};
        t->dirty = false;
        tr->ndirty--;
        task_hub_publish(&tr->hub, &t->v);
    }
    return n;
}

/* Stores dirty progress at most every progress_ms, all tasks in one write. */
static void *
flusher_main(void *arg)
{
    struct task_runner *tr = arg;
    struct db_task_progress *batch = calloc((size_t)tr->o.workers, sizeof(*batch));
    pthread_mutex_lock(&tr->mu);
    for (;;) {
        while (!tr->ndirty && !tr->flusher_stop)
            pthread_cond_wait(&tr->flush_cv, &tr->mu);
        if (!tr->ndirty || !batch)
            break;
        size_t n = flush_collect(tr, batch, (size_t)tr->o.workers);
        pthread_mutex_unlock(&tr->mu);
        err e = {0};
        int rc = db_task_set_progress(tr->d, batch, n, &e);
        if (rc < 0)
            runner_log(tr, "task progress could not be stored: %s", e.detail);
        struct timespec until;
        deadline_after(&until, tr->o.progress_ms);
        pthread_mutex_lock(&tr->mu);
        tr->stats.store_failures += rc < 0;
        while (!tr->flusher_stop && pthread_cond_timedwait(&tr->flush_cv, &tr->mu, &until) == 0)
            ; /* the rate limit: new progress waits for the next round */
    }
    pthread_mutex_unlock(&tr->mu);
    free(batch);
    return NULL;
}

bool
task_cancelled(struct task_ctx *t)
{
    return atomic_load(&t->cancel);
}

bool
task_sleep(struct task_ctx *t, int ms)
{
    struct task_runner *tr = t->tr;
    struct timespec until;
    deadline_after(&until, ms > 0 ? ms : 0);
    pthread_mutex_lock(&tr->mu);
    while (!atomic_load(&t->cancel) && pthread_cond_timedwait(&tr->cancel_cv, &tr->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&tr->mu);
    return atomic_load(&t->cancel);
}

int64_t
task_id(const struct task_ctx *t)
{
    return t->id;
}

/* ---- submitting ---- */

/* kind: [a-z][a-z0-9_-]* ('.' [a-z0-9_-]+)+ — "vm.start", "plan.execute". */
static bool
kind_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > DB_TASK_KIND_MAX || k[0] < 'a' || k[0] > 'z' || k[n - 1] == '.')
        return false;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (c == '.') {
            if (k[i - 1] == '.')
                return false;
            dot = true;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return dot;
}

static bool
text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return n <= max;
}

static int
spec_check(const struct task_spec *s, task_fn fn, err *e)
{
    if (!s || !fn || !kind_ok(s->kind))
        return err_set(e, ERR_INVALID, "A task needs a function and a kind like 'vm.start'.");
    if (!text_ok(s->target, DB_TASK_TARGET_MAX) || !text_ok(s->key, TASK_KEY_MAX) ||
        !text_ok(s->actor, TASK_ACTOR_MAX))
        return err_set(e, ERR_INVALID, "A task's target, key or actor is too long or malformed.");
    if (s->tenant_id < 0 || s->created_by < 0)
        return err_set(e, ERR_INVALID, "A task's tenant or creator id is negative.");
    return 0;
}

static struct task_ctx *
task_new(struct task_runner *tr, const struct task_spec *s, task_fn fn, void *arg,
         void (*free_arg)(void *))
{
    struct task_ctx *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->tr = tr;
    struct db_task *r = &t->v.row;
    snprintf(r->kind, sizeof(r->kind), "%s", s->kind);
    snprintf(r->target, sizeof(r->target), "%s", s->target ? s->target : "");
    r->tenant_id = s->tenant_id;
    r->created_by = s->created_by;
    r->state = DB_TASK_QUEUED;
    db_task_now(r->created_at, sizeof(r->created_at));
    snprintf(t->key, sizeof(t->key), "%s", s->key ? s->key : "");
    snprintf(t->actor, sizeof(t->actor), "%s", s->actor && *s->actor ? s->actor : "system");
    t->cancellable = s->cancellable;
    atomic_init(&t->cancel, false);
    t->fn = fn;
    t->arg = arg;
    t->free_arg = free_arg;
    return t;
}

int
task_submit(struct task_runner *tr, const struct task_spec *spec, task_fn fn, void *arg,
            void (*free_arg)(void *), struct db_audit *a, int64_t *id, err *e)
{
    if (spec_check(spec, fn, e) < 0)
        return -1;
    if (!a)
        return err_set(e, ERR_INTERNAL, "a task is queued by an audited request");
    pthread_mutex_lock(&tr->mu);
    bool stopping = tr->stopping;
    pthread_mutex_unlock(&tr->mu);
    if (stopping)
        return err_set(e, ERR_UNAVAILABLE, "The server is shutting down; try again later.");
    struct task_ctx *t = task_new(tr, spec, fn, NULL, NULL);
    if (!t)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (db_task_insert(tr->d, &t->v.row, a, e) < 0) {
        free(t); /* arg is still the caller's */
        return -1;
    }
    t->id = t->v.row.id;
    t->arg = arg;
    t->free_arg = free_arg;
    *id = t->id;
    pthread_mutex_lock(&tr->mu);
    tr->stats.submitted++;
    if (tr->stopping) { /* stop began while the row was being written */
        pthread_mutex_unlock(&tr->mu);
        end_unrun(tr, t, "The server stopped before the task ran.");
        return 0;
    }
    queue_insert(tr, t);
    task_hub_publish(&tr->hub, &t->v);
    pthread_cond_broadcast(&tr->work);
    pthread_mutex_unlock(&tr->mu);
    return 0;
}

/* ---- cancelling ---- */

/* A queued task: out of the queue, ended with the request's row and the
 * final row in one transaction; back into the queue if that fails. */
static int
cancel_queued(struct task_runner *tr, struct task_ctx *t, struct db_audit *request, err *e)
{
    list_unlink(&tr->queued, &tr->queued_tail, t);
    tr->stats.queued--;
    struct task_view before = t->v;
    snprintf(t->cancelled_by, sizeof(t->cancelled_by), "%s", request->actor ? request->actor : "");
    view_finish(tr, t, DB_TASK_CANCELLED, "Cancelled before it started.");
    pthread_mutex_unlock(&tr->mu);
    int rc = store_final(tr, t, t->actor, request, 1, e);
    pthread_mutex_lock(&tr->mu);
    if (rc < 0) {
        t->v = before;
        t->cancelled_by[0] = '\0';
        queue_insert(tr, t);
        pthread_cond_broadcast(&tr->work);
        pthread_mutex_unlock(&tr->mu);
        return -1;
    }
    count_final(tr, DB_TASK_CANCELLED);
    task_hub_publish(&tr->hub, &t->v);
    pthread_mutex_unlock(&tr->mu);
    task_free(t);
    return 0;
}

/* A running task: the request is audited first (if that fails nothing
 * happens), then its function is asked to stop. tr->mu held on entry. */
static int
cancel_running(struct task_runner *tr, struct task_ctx *t, struct db_audit *request, err *e)
{
    if (!t->cancellable) {
        pthread_mutex_unlock(&tr->mu);
        return err_set(e, ERR_CONFLICT, "This task cannot be cancelled while it runs.");
    }
    int64_t id = t->id;
    pthread_mutex_unlock(&tr->mu);
    if (db_audit_event(tr->d, request, e) < 0)
        return -1;
    pthread_mutex_lock(&tr->mu);
    /* t may have ended (and been freed) meanwhile: look it up again */
    t = live_find(tr, id);
    if (t && !atomic_load(&t->cancel) && !db_task_state_final(t->v.row.state)) {
        snprintf(t->cancelled_by, sizeof(t->cancelled_by), "%s",
                 request->actor ? request->actor : "");
        snprintf(t->cancel_reason, sizeof(t->cancel_reason), "Cancelled by %s.",
                 request->actor ? request->actor : "the system");
        t->v.cancel_requested = true;
        atomic_store(&t->cancel, true);
        pthread_cond_broadcast(&tr->cancel_cv);
        task_hub_publish(&tr->hub, &t->v);
    }
    pthread_mutex_unlock(&tr->mu);
    return 0;
}

int
task_cancel(struct task_runner *tr, int64_t id, struct db_audit *request,
            enum task_cancel_result *out, err *e)
{
    if (!request)
        return err_set(e, ERR_INTERNAL, "a cancellation is an audited request");
    pthread_mutex_lock(&tr->mu);
    struct task_ctx *t = live_find(tr, id);
    if (t && db_task_state_final(t->v.row.state)) { /* its final state is being stored */
        pthread_mutex_unlock(&tr->mu);
        return err_set(e, ERR_CONFLICT, "The task has already finished (%s).",
                       db_task_state_name(t->v.row.state));
    }
    if (t && t->v.row.state == DB_TASK_QUEUED) {
        *out = TASK_CANCEL_DONE;
        return cancel_queued(tr, t, request, e);
    }
    if (t) {
        *out = TASK_CANCEL_REQUESTED;
        return cancel_running(tr, t, request, e);
    }
    pthread_mutex_unlock(&tr->mu);
    struct db_task row;
    if (db_task_get(tr->d, id, &row, e) < 0)
        return -1;
    if (db_task_state_final(row.state))
        return err_set(e, ERR_CONFLICT, "The task has already finished (%s).",
                       db_task_state_name(row.state));
    /* stored as live but not ours: only while the runner was not running it */
    return err_set(e, ERR_UNAVAILABLE, "The task is not running in this server.");
}

bool
task_peek(struct task_runner *tr, int64_t id, struct task_view *out)
{
    pthread_mutex_lock(&tr->mu);
    struct task_ctx *t = live_find(tr, id);
    if (t)
        *out = t->v;
    pthread_mutex_unlock(&tr->mu);
    return t != NULL;
}

/* ---- start and stop ---- */

static int
opts_fill(struct task_runner_opts *o, const struct task_runner_opts *in, err *e)
{
    *o = in ? *in : (struct task_runner_opts){0};
    o->workers = o->workers ? o->workers : 8;
    o->per_key = o->per_key ? o->per_key : 2;
    o->max_subscribers = o->max_subscribers ? o->max_subscribers : 32;
    o->progress_ms = o->progress_ms ? o->progress_ms : 500;
    if (o->workers < 1 || o->workers > 256 || o->per_key < 1 || o->per_key > 256 ||
        o->max_subscribers < 1 || o->max_subscribers > 4096 || o->progress_ms < 1 ||
        o->progress_ms > 60000)
        return err_set(e, ERR_INVALID, "invalid task runner options");
    return 0;
}

static int
runner_init(struct task_runner *tr, db *d, const struct task_runner_opts *o, err *e)
{
    tr->d = d;
    if (opts_fill(&tr->o, o, e) < 0)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&tr->mu, NULL);
    pthread_cond_init(&tr->work, NULL);
    pthread_cond_init(&tr->cancel_cv, &ca);
    pthread_cond_init(&tr->flush_cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Event ids must not repeat across restarts (a browser sends its last
     * one back): start after the wall clock in microseconds. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t first = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    if (task_hub_init(&tr->hub, tr->o.max_subscribers, first) < 0)
        return err_set(e, ERR_UNAVAILABLE, "cannot set up task events");
    tr->workers = calloc((size_t)tr->o.workers, sizeof(*tr->workers));
    return tr->workers ? 0 : err_set(e, ERR_UNAVAILABLE, "out of memory");
}

/* Interrupted tasks of a previous process (see task.h for why they are not
 * run again). */
static int
runner_reconcile(struct task_runner *tr, err *e)
{
    char now[32];
    db_task_now(now, sizeof(now));
    int64_t n = 0;
    if (db_task_reconcile(tr->d, "Interrupted by a restart of the server.", now, &n, e) < 0)
        return -1;
    if (n)
        runner_log(tr, "%lld task(s) interrupted by a restart were marked failed", (long long)n);
    return 0;
}

static int
threads_start(struct task_runner *tr, err *e)
{
    for (; tr->nworkers < tr->o.workers; tr->nworkers++)
        if (pthread_create(&tr->workers[tr->nworkers], NULL, worker_main, tr) != 0)
            return err_set(e, ERR_UNAVAILABLE, "cannot start the task workers");
    if (pthread_create(&tr->flusher, NULL, flusher_main, tr) != 0)
        return err_set(e, ERR_UNAVAILABLE, "cannot start the task progress writer");
    tr->flusher_started = true;
    return 0;
}

struct task_runner *
task_runner_start(db *d, const struct task_runner_opts *o, err *e)
{
    struct task_runner *tr = calloc(1, sizeof(*tr));
    if (!tr) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    if (runner_init(tr, d, o, e) < 0) {
        free(tr->workers);
        free(tr);
        return NULL;
    }
    if (runner_reconcile(tr, e) < 0 || threads_start(tr, e) < 0) {
        task_runner_stop(tr);
        return NULL;
    }
    return tr;
}

void
task_runner_close_streams(struct task_runner *tr)
{
    if (tr)
        task_hub_close(&tr->hub);
}

/* Asks every running task to stop (tr->mu held). */
static void
cancel_all_running(struct task_runner *tr)
{
    for (struct task_ctx *t = tr->running; t; t = t->next) {
        if (atomic_load(&t->cancel))
            continue;
        snprintf(t->cancel_reason, sizeof(t->cancel_reason),
                 "Cancelled: the server is shutting down.");
        t->v.cancel_requested = true;
        atomic_store(&t->cancel, true);
    }
    pthread_cond_broadcast(&tr->cancel_cv);
}

static void
threads_join(struct task_runner *tr)
{
    pthread_mutex_lock(&tr->mu);
    tr->stopping = true;
    cancel_all_running(tr);
    pthread_cond_broadcast(&tr->work);
    pthread_mutex_unlock(&tr->mu);
    for (int i = 0; i < tr->nworkers; i++)
        pthread_join(tr->workers[i], NULL);
    pthread_mutex_lock(&tr->mu);
    tr->flusher_stop = true;
    pthread_cond_signal(&tr->flush_cv);
    pthread_mutex_unlock(&tr->mu);
    if (tr->flusher_started)
        pthread_join(tr->flusher, NULL);
}

void
task_runner_stop(struct task_runner *tr)
{
    if (!tr)
        return;
    task_hub_close(&tr->hub);
    threads_join(tr);
    for (;;) { /* no worker is left: what is still queued never ran */
        pthread_mutex_lock(&tr->mu);
        struct task_ctx *t = tr->queued;
        if (t) {
            list_unlink(&tr->queued, &tr->queued_tail, t);
            tr->stats.queued--;
        }
        pthread_mutex_unlock(&tr->mu);
        if (!t)
            break;
        end_unrun(tr, t, "The server stopped before the task ran.");
    }
    task_hub_drain(&tr->hub);
    pthread_cond_destroy(&tr->work);
    pthread_cond_destroy(&tr->cancel_cv);
    pthread_cond_destroy(&tr->flush_cv);
    pthread_mutex_destroy(&tr->mu);
    free(tr->workers);
    free(tr);
}

void
task_runner_stats(struct task_runner *tr, struct task_stats *out)
{
    pthread_mutex_lock(&tr->mu);
    *out = tr->stats;
    pthread_mutex_unlock(&tr->mu);
    out->subscribers = (uint64_t)task_hub_subscribers(&tr->hub);
}
