/* Tasks: list, get, cancel, and live changes as Server-Sent Events.
 *
 * Reads come from SQLite; a task that is queued or running in this process
 * is overlaid with the runner's live view (fresher progress, the progress
 * message, whether cancellation was asked), which only the runner knows.
 *
 * Event stream (GET /api/v1/tasks/events, text/event-stream):
 *   retry: 3000                        first, once
 *   id: <n> / event: task / data: {…}  one per change of a task the caller
 *                                      may see (the same JSON as GET)
 *   event: resync / data: {}           events were lost (slow client, or a
 *                                      Last-Event-ID too old): reload the list
 *   : keep-alive                       a comment every 15 s of silence
 * The stream ends when the client goes away, when the server stops, and
 * after SSE_LIFETIME_S: the client reconnects (with Last-Event-ID) and is
 * authenticated and authorized again, so a revoked grant or an expired token
 * does not keep a stream alive. Browsers: EventSource cannot send an
 * Authorization header; read the stream with fetch() instead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "tasks.h"

enum {
    SSE_HEARTBEAT_MS = 15000,
    SSE_LIFETIME_S = 300,
    SLEEP_MAX_STEPS = 100000,
    SLEEP_MAX_STEP_MS = 60000,
};

/* ---- JSON ---- */

static json_t *
text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *
id_or_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

json_t *
api_task_json(const struct task_view *v)
{
    const struct db_task *t = &v->row;
    json_t *j = json_pack(
        "{s:I,s:s,s:o,s:o,s:s,s:i,s:o,s:o,s:s,s:o,s:o,s:b}", "id", (json_int_t)t->id, "kind",
        t->kind, "target", text_or_null(t->target), "tenant_id", id_or_null(t->tenant_id), "state",
        db_task_state_name(t->state), "progress", t->progress, "error", text_or_null(t->error),
        "created_by", id_or_null(t->created_by), "created_at", t->created_at, "started_at",
        text_or_null(t->started_at), "finished_at", text_or_null(t->finished_at),
        "cancel_requested", v->cancel_requested);
    if (j && v->message[0])
        json_object_set_new(j, "message", json_string(v->message));
    return j;
}

/* The row, overlaid with the runner's live view when the task is live here. */
static void
task_view_of(struct api_req *r, const struct db_task *row, struct task_view *v)
{
    if (!db_task_state_final(row->state) && r->app->tasks && task_peek(r->app->tasks, row->id, v))
        return;
    memset(v, 0, sizeof(*v));
    v->row = *row;
}

static int
reply_task(struct api_req *r, struct api_resp *w, int status, const struct db_task *row, err *e)
{
    struct task_view v;
    task_view_of(r, row, &v);
    json_t *j = api_task_json(&v);
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, status, j);
    json_decref(j);
    return 0;
}

/* ---- permissions ---- */

enum perm
api_task_kind_perm(const char *kind)
{
    static const struct {
        const char *kind; /* exact, or a prefix ending in '.' */
        enum perm perm;
    } table[] = {
        {"vm.create", PERM_VM_CREATE}, {"vm.delete", PERM_VM_DELETE}, {"vm.", PERM_VM_POWER},
        {"host.", PERM_HOST_ADMIN},    {"plan.", PERM_PLAN_WRITE},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        size_t n = strlen(table[i].kind);
        bool prefix = table[i].kind[n - 1] == '.';
        if (prefix ? !strncmp(kind, table[i].kind, n) : !strcmp(kind, table[i].kind))
            return table[i].perm;
    }
    return PERM_HOST_ADMIN;
}

/* Loads task {id} if the caller may see it (404 otherwise, like a missing one). */
static int
load_visible(struct api_req *r, struct db_task *t, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0 || db_task_get(r->app->db, id, t, e) < 0)
        return -1;
    return api_require(r, PERM_TASK_READ, t->tenant_id, "task", e);
}

/* NULL when the caller sees every task; else a JSON array of its tenants. */
static const char *
visible_tenants(struct api_req *r)
{
    if (api_can(r, PERM_TASK_READ, 0))
        return NULL;
    size_t cap = 3 + r->who.nbindings * 21, n = 0;
    char *out = arena_alloc(r->a, cap);
    if (!out)
        return "[]";
    out[n++] = '[';
    for (size_t i = 0; i < r->who.nbindings; i++) {
        int64_t tid = r->who.bindings[i].tenant_id;
        if (tid && api_can(r, PERM_TASK_READ, tid))
            n += (size_t)snprintf(out + n, cap - n, "%s%lld", n > 1 ? "," : "", (long long)tid);
    }
    snprintf(out + n, cap - n, "]");
    return out;
}

/* ---- list ---- */

struct list_ctx {
    struct api_req *r;
    json_t *items;
    int64_t last_id;
};

static int
list_row(void *arg, const struct db_task *t, err *e)
{
    struct list_ctx *c = arg;
    struct task_view v;
    task_view_of(c->r, t, &v);
    if (json_array_append_new(c->items, api_task_json(&v)) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    c->last_id = t->id;
    return 0;
}

static int
query_text(struct api_req *r, const char *name, size_t max, const char **out, err *e)
{
    bool bad = false;
    *out = api_query(r, name, &bad);
    if (bad || (*out && (!**out || strlen(*out) > max)))
        return err_set_field(e, name, "Query parameter '%s' must be 1 to %zu characters.", name,
                             max);
    return 0;
}

static int
parse_cursor(const char *cursor, int64_t *before, err *e)
{
    *before = 0;
    if (!cursor)
        return 0;
    char *end = NULL;
    errno = 0;
    long long v = *cursor >= '1' && *cursor <= '9' ? strtoll(cursor, &end, 10) : 0;
    if (errno || !end || *end || v <= 0)
        return err_set_field(e, "cursor", "The cursor is malformed.");
    *before = v;
    return 0;
}

static int
parse_filter(struct api_req *r, struct db_task_filter *f, err *e)
{
    const char *state = NULL;
    enum db_task_state st;
    *f = (struct db_task_filter){.state = -1};
    if (query_text(r, "state", 16, &state, e) < 0 ||
        query_text(r, "kind", DB_TASK_KIND_MAX, &f->kind, e) < 0 ||
        query_text(r, "target", DB_TASK_TARGET_MAX, &f->target, e) < 0 ||
        api_query_int(r, "tenant_id", 1, INT64_MAX, 0, &f->tenant_id, e) < 0 ||
        api_query_int(r, "created_by", 1, INT64_MAX, 0, &f->created_by, e) < 0)
        return -1;
    if (state && db_task_state_parse(state, &st) < 0)
        return err_set_field(e, "state", "Unknown task state '%s'.", state);
    f->state = state ? (int)st : -1;
    f->visible = visible_tenants(r);
    return 0;
}

int
api_tasks_list(struct api_req *r, struct api_resp *w, err *e)
{
    int limit;
    const char *cursor;
    struct db_task_filter f;
    if (api_page(r, &limit, &cursor, e) < 0 || parse_filter(r, &f, e) < 0 ||
        parse_cursor(cursor, &f.before_id, e) < 0)
        return -1;
    struct list_ctx c = {r, json_array(), 0};
    if (!c.items)
        return err_set(e, ERR_INTERNAL, "out of memory");
    arena_defer(r->a, (void (*)(void *))json_decref, c.items);
    bool more = false;
    if (db_task_list(r->app->db, &f, limit, &more, list_row, &c, e) < 0)
        return -1;
    const char *next = more ? arena_printf(r->a, "%lld", (long long)c.last_id) : NULL;
    return api_reply_list(r, w, c.items, next) < 0 ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

/* ---- get, cancel ---- */

int
api_tasks_get(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_task t;
    if (load_visible(r, &t, e) < 0)
        return -1;
    return reply_task(r, w, 200, &t, e);
}

int
api_tasks_cancel(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_task t;
    struct task_view v;
    if (load_visible(r, &t, e) < 0 ||
        api_require(r, api_task_kind_perm(t.kind), t.tenant_id, "task", e) < 0)
        return -1;
    task_view_of(r, &t, &v);
    if (db_task_state_final(v.row.state))
        return err_set(e, ERR_CONFLICT, "The task has already finished (%s).",
                       db_task_state_name(v.row.state));
    if (!r->app->tasks)
        return err_set(e, ERR_UNAVAILABLE, "Tasks are not available.");
    struct db_audit a;
    api_audit_init(r, &a, "task.cancel", arena_printf(r->a, "task/%lld", (long long)t.id),
                   t.tenant_id);
    enum task_cancel_result res;
    if (task_cancel(r->app->tasks, t.id, &a, &res, e) < 0)
        return -1;
    if (db_task_get(r->app->db, t.id, &t, e) < 0)
        return -1;
    return reply_task(r, w, 202, &t, e);
}

int
api_tasks_accepted(struct api_req *r, struct api_resp *w, int64_t id, err *e)
{
    struct task_view v;
    if (!r->app->tasks || !task_peek(r->app->tasks, id, &v)) {
        memset(&v, 0, sizeof(v));
        if (db_task_get(r->app->db, id, &v.row, e) < 0)
            return -1;
    }
    json_t *j = api_task_json(&v);
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_add_header(w, "Location", arena_printf(r->a, "/api/v1/tasks/%lld", (long long)id));
    api_reply_json(r, w, 202, j);
    json_decref(j);
    return 0;
}

/* ---- Server-Sent Events ---- */

struct sse {
    struct api_req *r; /* lives until the response is written */
    struct task_sub *sub;
};

static bool
sse_may_see(void *ctx, int64_t tenant_id)
{
    return api_can(ctx, PERM_TASK_READ, tenant_id);
}

static int
sse_puts(api_write_fn write, void *wctx, const char *s)
{
    return write(wctx, s, strlen(s));
}

/* One event in one write (one chunk on the wire). */
static int
sse_send(api_write_fn write, void *wctx, const struct task_event *ev)
{
    json_t *j = api_task_json(&ev->v);
    char *data = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (!data)
        return sse_puts(write, wctx, "event: resync\ndata: {}\n\n");
    size_t n = strlen(data) + 64;
    char *buf = malloc(n);
    int rc = -1;
    if (buf) {
        int len = snprintf(buf, n, "id: %llu\nevent: task\ndata: %s\n\n",
                           (unsigned long long)ev->seq, data);
        rc = write(wctx, buf, (size_t)len);
    }
    free(buf);
    free(data);
    return rc;
}

static time_t
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int
sse_run(void *arg, api_write_fn write, void *wctx)
{
    struct sse *st = arg;
    time_t end = mono_now() + SSE_LIFETIME_S;
    if (sse_puts(write, wctx, "retry: 3000\n\n") < 0)
        return -1;
    for (time_t now; (now = mono_now()) < end;) {
        long left_ms = (long)(end - now) * 1000;
        struct task_event *ev = NULL;
        int rc = 0;
        switch (task_sub_next(st->sub, left_ms < SSE_HEARTBEAT_MS ? (int)left_ms : SSE_HEARTBEAT_MS,
                              &ev)) {
        case TASK_SUB_EVENT:
            rc = sse_send(write, wctx, ev);
            task_event_release(ev);
            break;
        case TASK_SUB_RESYNC:
            rc = sse_puts(write, wctx, "event: resync\ndata: {}\n\n");
            break;
        case TASK_SUB_TIMEOUT:
            rc = sse_puts(write, wctx, ": keep-alive\n\n");
            break;
        case TASK_SUB_CLOSED:
            return 0;
        }
        if (rc < 0)
            return -1; /* the client went away */
    }
    return 0;
}

static void
sse_end(void *arg)
{
    task_unsubscribe(arg);
}

int
api_tasks_events(struct api_req *r, struct api_resp *w, err *e)
{
    /* Only clients that ask for a stream get one: a generic client (a crawler,
     * a contract tester that accepts anything) would otherwise hang on it. */
    const char *accept = api_header(r, "Accept");
    if (!accept || !strstr(accept, "text/event-stream"))
        return err_set(e, ERR_INVALID,
                       "This is an event stream: send 'Accept: text/event-stream'.");
    if (!r->app->tasks)
        return err_set(e, ERR_UNAVAILABLE, "Tasks are not available.");
    struct sse *st = arena_alloc(r->a, sizeof(*st));
    if (!st)
        return err_set(e, ERR_INTERNAL, "out of memory");
    st->r = r;
    st->sub = task_subscribe(r->app->tasks, sse_may_see, r, api_header(r, "Last-Event-ID"), e);
    if (!st->sub)
        return -1;
    if (arena_defer(r->a, sse_end, st->sub) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    w->status = 200;
    w->content_type = "text/event-stream";
    api_add_header(w, "X-Accel-Buffering", "no"); /* a proxy must not hold events back */
    w->stream = sse_run;
    w->stream_arg = st;
    return 0;
}

/* ---- the test hook ---- */

struct sleep_arg {
    int steps, step_ms, fail_at;
};

/* Sleeps `steps` times, reporting progress; fails at step fail_at (if > 0). */
static int
sleep_task(struct task_ctx *t, void *arg, err *e)
{
    const struct sleep_arg *s = arg;
    for (int i = 1; i <= s->steps; i++) {
        if (task_sleep(t, s->step_ms))
            return err_set(e, ERR_CONFLICT, "Stopped at step %d of %d.", i, s->steps);
        if (i == s->fail_at)
            return err_set(e, ERR_CONFLICT, "Step %d failed (test hook).", i);
        task_progress(t, i * 100 / s->steps, "step %d of %d", i, s->steps);
    }
    return 0;
}

static int
get_int(json_t *j, const char *name, int lo, int hi, int def, int *out, err *e)
{
    json_t *v = json_object_get(j, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_set_field(e, name, "'%s' must be an integer from %d to %d.", name, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int
get_str(json_t *j, const char *name, const char *def, const char **out, err *e)
{
    json_t *v = json_object_get(j, name);
    *out = v ? json_string_value(v) : def;
    if (v && !*out)
        return err_set_field(e, name, "'%s' must be a string.", name);
    return 0;
}

static int
parse_sleep(json_t *j, struct task_spec *s, struct sleep_arg *a, err *e)
{
    static const char *const known[] = {"kind",    "target",  "tenant_id",   "key", "steps",
                                        "step_ms", "fail_at", "cancellable", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i])
            return err_set_field(e, k, "Unknown member '%s'.", k);
    }
    int tenant = 0;
    json_t *c = json_object_get(j, "cancellable");
    if (c && !json_is_boolean(c))
        return err_set_field(e, "cancellable", "'cancellable' must be a boolean.");
    s->cancellable = !c || json_is_true(c);
    if (get_str(j, "kind", "test.sleep", &s->kind, e) < 0 ||
        get_str(j, "target", NULL, &s->target, e) < 0 || get_str(j, "key", NULL, &s->key, e) < 0 ||
        get_int(j, "tenant_id", 0, INT32_MAX, 0, &tenant, e) < 0 ||
        get_int(j, "steps", 1, SLEEP_MAX_STEPS, 10, &a->steps, e) < 0 ||
        get_int(j, "step_ms", 0, SLEEP_MAX_STEP_MS, 100, &a->step_ms, e) < 0 ||
        get_int(j, "fail_at", 0, SLEEP_MAX_STEPS, 0, &a->fail_at, e) < 0)
        return -1;
    s->tenant_id = tenant;
    return 0;
}

int
api_tasks_test_sleep(struct api_req *r, struct api_resp *w, err *e)
{
    if (!r->app->cfg.test_hooks || !r->app->tasks)
        return err_set(e, ERR_NOT_FOUND, "No such resource.");
    struct task_spec s = {.created_by = r->who.user_id, .actor = r->who.login};
    struct sleep_arg *a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (parse_sleep(r->json, &s, a, e) < 0) {
        free(a);
        return -1;
    }
    struct db_audit au;
    api_audit_init(r, &au, "task.test_sleep", s.target, s.tenant_id);
    int64_t id = 0;
    if (task_submit(r->app->tasks, &s, sleep_task, a, free, &au, &id, e) < 0) {
        free(a);
        return e->kind == ERR_CONFLICT ? err_set_field(e, "tenant_id", "No such tenant.") : -1;
    }
    return api_tasks_accepted(r, w, id, e);
}
