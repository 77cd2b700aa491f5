/* The task routes against the real binary: list / get / cancel, tenant
 * scoping, restart reconciliation (also after SIGKILL), and the Server-Sent
 * Events stream read with libcurl.
 *
 * Tasks come from POST /api/v1/tasks/test-sleep, which answers only when the
 * server runs with server.test_hooks=1 (no production route creates tasks
 * yet). Tenants, and tasks "left behind by a crash", are seeded through the C
 * API into the database file while the server is stopped (the database
 * admits one process at a time); tenant users come from `virtportal user add`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "harness.h"
#include "identity.h"
#include "secret.h"
#include "task_store.h"

static struct vp_proc srv;
static const char *const hooks[] = {"--set", "server.test_hooks=1", NULL};
static const char *const member_pw = "Tasks-member-pw-2718281828";
static int64_t acme, globex, leftover_queued, leftover_running;
static char *admin, *alice, *gary; /* alice: acme tenant-member, gary: globex tenant-member */

/* ---- seeding while the server is stopped ---- */

static db *
open_server_db(void)
{
    char path[400], keyfile[400];
    snprintf(path, sizeof(path), "%s/virtportal.db", srv.dir);
    snprintf(keyfile, sizeof(keyfile), "%s/secrets/audit.key", srv.dir);
    unsigned char key[64];
    size_t len = 0;
    err e = {0};
    if (auth_secret_file_load_or_create(keyfile, sizeof(key), key, &len, &e) < 0)
        return NULL;
    struct db_options o = {.path = path, .audit_key = key, .audit_key_len = len};
    return db_open(&o, &e);
}

/* Two tenants, and two tasks a crashed server left queued and running. */
static int
seed(void)
{
    db *d = open_server_db();
    if (!d)
        return -1;
    err e = {0};
    struct db_audit a = {.actor = "test", .action = "tenant.create"};
    int rc = db_tenant_create(d, "acme", "Acme", &a, &acme, &e) |
             db_tenant_create(d, "globex", "Globex", &a, &globex, &e);
    struct db_task t = {.tenant_id = acme};
    snprintf(t.kind, sizeof(t.kind), "vm.start");
    db_task_now(t.created_at, sizeof(t.created_at));
    struct db_task u = t;
    struct db_audit ta = {.actor = "test", .action = "vm.start"};
    rc |= db_task_insert(d, &t, &ta, &e) | db_task_insert(d, &u, &ta, &e);
    rc |= db_task_set_running(d, u.id, u.created_at, &e);
    leftover_queued = t.id;
    leftover_running = u.id;
    db_close(d);
    return rc ? -1 : 0;
}

static int
add_member(const char *login, const char *tenant)
{
    char input[64];
    snprintf(input, sizeof(input), "%s\n", member_pw);
    char *const argv[] = {(char *)vp_binary(), "user",         "add",    (char *)login,
                          "--tenant",          (char *)tenant, "--role", "tenant-member",
                          "--data-dir",        srv.dir,        NULL};
    return vp_run(argv, input);
}

static int
setup(void **state)
{
    if (vp_start(&srv, hooks) < 0 || vp_term(&srv) != 0 || seed() < 0 ||
        add_member("alice", "acme") != 0 || add_member("gary", "globex") != 0 ||
        vp_restart(&srv, hooks) < 0)
        return -1;
    admin = vp_login(&srv, "admin", srv.admin_password);
    alice = vp_login(&srv, "alice", member_pw);
    gary = vp_login(&srv, "gary", member_pw);
    return admin && alice && gary ? 0 : -1;
}

static int
teardown(void **state)
{
    free(admin);
    free(alice);
    free(gary);
    vp_stop(&srv);
    return 0;
}

/* ---- requests ---- */

static json_t *
call(const char *method, const char *path, const char *token, const char *body, long want)
{
    struct vp_resp r;
    vp_json(&srv, method, path, token, body, &r);
    if (r.status != want)
        fail_msg("%s %s: %ld, wanted %ld: %s", method, path, r.status, want, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

static int64_t
jint(json_t *j, const char *name)
{
    return json_integer_value(json_object_get(j, name));
}

static const char *
jstr(json_t *j, const char *name)
{
    return json_string_value(json_object_get(j, name));
}

/* Queues a sleeping task through the test hook; returns its id. */
static int64_t
sleep_task(const char *fmt, ...)
{
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    struct vp_resp r;
    vp_json(&srv, "POST", "/api/v1/tasks/test-sleep", admin, body, &r);
    if (r.status != 202)
        fail_msg("test-sleep %s: %ld %s", body, r.status, r.body);
    int64_t id = jint(r.json, "id");
    char *loc = vp_header(&r, "Location");
    char want[64];
    snprintf(want, sizeof(want), "/api/v1/tasks/%lld", (long long)id);
    assert_non_null(loc);
    assert_string_equal(loc, want);
    free(loc);
    vp_resp_free(&r);
    return id;
}

static json_t *
get_task(int64_t id, const char *token, long want)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld", (long long)id);
    return call("GET", path, token, NULL, want);
}

/* Polls until the task is in `state` (fails after 30 s); returns it. */
static json_t *
wait_state(int64_t id, const char *state)
{
    for (int i = 0; i < 600; i++) {
        json_t *t = get_task(id, admin, 200);
        if (!strcmp(jstr(t, "state"), state))
            return t;
        json_decref(t);
        usleep(50000);
    }
    fail_msg("task %lld never became %s", (long long)id, state);
    return NULL;
}

static long
cancel(int64_t id, const char *token, json_t **body)
{
    char path[80];
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld/cancel", (long long)id);
    struct vp_resp r;
    vp_json(&srv, "POST", path, token, NULL, &r);
    long status = r.status;
    if (body)
        *body = json_incref(r.json);
    vp_resp_free(&r);
    return status;
}

/* The ids of a list answer. */
static int
list_ids(const char *path, const char *token, int64_t *ids, int cap, const char **next)
{
    json_t *j = call("GET", path, token, NULL, 200);
    size_t i;
    json_t *item;
    int n = 0;
    json_array_foreach(json_object_get(j, "items"), i, item) if (n < cap) ids[n++] =
        jint(item, "id");
    static char cursor[64];
    const char *c = jstr(j, "next_cursor");
    snprintf(cursor, sizeof(cursor), "%s", c ? c : "");
    if (next)
        *next = c ? cursor : NULL;
    json_decref(j);
    return n;
}

static bool
has_id(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* ---- tests ---- */

static void
test_restart_reconciled(void **state)
{
    int64_t ids[2] = {leftover_queued, leftover_running};
    for (int i = 0; i < 2; i++) {
        json_t *t = get_task(ids[i], admin, 200);
        assert_string_equal(jstr(t, "state"), "failed");
        assert_string_equal(jstr(t, "error"), "Interrupted by a restart of the server.");
        assert_true(json_is_string(json_object_get(t, "finished_at")));
        json_decref(t);
    }
}

static void
test_crash_while_running(void **state)
{
    int64_t id =
        sleep_task("{\"steps\":100000,\"step_ms\":100,\"tenant_id\":%lld}", (long long)acme);
    json_decref(wait_state(id, "running"));
    vp_kill(&srv);
    assert_int_equal(vp_restart(&srv, hooks), 0);
    json_t *t = get_task(id, admin, 200);
    assert_string_equal(jstr(t, "state"), "failed");
    assert_string_equal(jstr(t, "error"), "Interrupted by a restart of the server.");
    json_decref(t);
}

static void
test_get_and_tenant_scope(void **state)
{
    int64_t mine = sleep_task("{\"kind\":\"vm.sleep\",\"target\":\"vm/1\",\"steps\":1,"
                              "\"step_ms\":0,\"tenant_id\":%lld}",
                              (long long)acme);
    int64_t theirs = sleep_task("{\"kind\":\"vm.sleep\",\"steps\":1,\"step_ms\":0,"
                                "\"tenant_id\":%lld}",
                                (long long)globex);
    int64_t global = sleep_task("{\"kind\":\"host.sleep\",\"steps\":1,\"step_ms\":0}");
    json_t *t = wait_state(mine, "succeeded");
    assert_int_equal(jint(t, "tenant_id"), acme);
    assert_string_equal(jstr(t, "kind"), "vm.sleep");
    assert_string_equal(jstr(t, "target"), "vm/1");
    assert_int_equal(jint(t, "progress"), 100);
    assert_true(json_is_null(json_object_get(t, "error")));
    assert_true(jint(t, "created_by") > 0);
    json_decref(t);
    json_decref(wait_state(theirs, "succeeded"));
    json_decref(wait_state(global, "succeeded"));
    /* alice sees her tenant's task; another tenant's and a global one are 404 */
    json_decref(get_task(mine, alice, 200));
    json_decref(get_task(theirs, alice, 404));
    json_decref(get_task(global, alice, 404));
    json_decref(get_task(theirs, gary, 200));
    json_decref(get_task(999999, admin, 404));
    json_decref(call("GET", "/api/v1/tasks/abc", admin, NULL, 404));
    /* lists: alice only ever gets acme's tasks */
    int64_t ids[200];
    int n = list_ids("/api/v1/tasks?limit=200", alice, ids, 200, NULL);
    assert_true(has_id(ids, n, mine));
    assert_false(has_id(ids, n, theirs));
    assert_false(has_id(ids, n, global));
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/tasks?tenant_id=%lld", (long long)globex);
    assert_int_equal(list_ids(path, alice, ids, 200, NULL), 0);
    json_t *all = call("GET", "/api/v1/tasks?limit=200", alice, NULL, 200);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(all, "items"), i, item)
        assert_int_equal(jint(item, "tenant_id"), acme);
    json_decref(all);
}

static void
test_list_filters_and_pages(void **state)
{
    int64_t a = sleep_task("{\"kind\":\"vm.sleep\",\"target\":\"vm/42\",\"steps\":1,"
                           "\"step_ms\":0,\"tenant_id\":%lld}",
                           (long long)globex);
    int64_t b = sleep_task("{\"kind\":\"host.sleep\",\"steps\":1,\"step_ms\":0,\"fail_at\":1}");
    json_decref(wait_state(a, "succeeded"));
    json_t *failed = wait_state(b, "failed");
    assert_string_equal(jstr(failed, "error"), "Step 1 failed (test hook).");
    json_decref(failed);
    int64_t ids[200];
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/tasks?tenant_id=%lld&target=vm/42&kind=vm.sleep",
             (long long)globex);
    assert_int_equal(list_ids(path, admin, ids, 200, NULL), 1);
    assert_int_equal(ids[0], a);
    assert_int_equal(list_ids("/api/v1/tasks?state=failed&kind=host.sleep", admin, ids, 200, NULL),
                     1);
    assert_int_equal(ids[0], b);
    json_t *me = call("GET", "/api/v1/me", admin, NULL, 200);
    int64_t admin_id = jint(me, "id");
    json_decref(me);
    snprintf(path, sizeof(path), "/api/v1/tasks?created_by=%lld&limit=200", (long long)admin_id);
    json_t *by = call("GET", path, admin, NULL, 200);
    size_t k;
    json_t *item;
    int found = 0;
    json_array_foreach(json_object_get(by, "items"), k, item)
    {
        assert_int_equal(jint(item, "created_by"), admin_id);
        found += jint(item, "id") == a || jint(item, "id") == b;
    }
    assert_int_equal(found, 2);
    json_decref(by);
    /* pages of one, newest first, together equal to the whole list */
    int64_t whole[200];
    int total = list_ids("/api/v1/tasks?limit=200", admin, whole, 200, NULL);
    assert_true(total >= 4); /* two left over by the "crash", two made here */
    const char *next = NULL;
    int seen = 0;
    list_ids("/api/v1/tasks?limit=1", admin, ids, 1, &next);
    assert_int_equal(ids[0], whole[seen++]);
    while (next) {
        snprintf(path, sizeof(path), "/api/v1/tasks?limit=1&cursor=%s", next);
        assert_int_equal(list_ids(path, admin, ids, 1, &next), 1);
        assert_true(seen < total);
        assert_int_equal(ids[0], whole[seen++]);
    }
    assert_int_equal(seen, total);
    for (int i = 1; i < total; i++)
        assert_true(whole[i] < whole[i - 1]);
    /* bad filters are 400 problems naming the parameter */
    static const char *const bad[] = {"state=bogus", "tenant_id=abc", "tenant_id=0", "cursor=abc",
                                      "cursor=-1",   "limit=0",       "kind="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/tasks?%s", bad[i]);
        json_decref(call("GET", path, admin, NULL, 400));
    }
}

static void
test_cancel_running_and_scope(void **state)
{
    int64_t id = sleep_task("{\"kind\":\"vm.sleep\",\"steps\":100000,\"step_ms\":50,"
                            "\"tenant_id\":%lld}",
                            (long long)acme);
    json_decref(wait_state(id, "running"));
    assert_int_equal(cancel(id, gary, NULL), 404); /* another tenant's: like a missing one */
    json_t *body = NULL;
    assert_int_equal(cancel(id, alice, &body), 202); /* vm.* needs vm.power: she has it */
    const char *st = jstr(body, "state");
    assert_true(
        !strcmp(st, "cancelled") ||
        (!strcmp(st, "running") && json_is_true(json_object_get(body, "cancel_requested"))));
    json_decref(body);
    json_t *t = wait_state(id, "cancelled");
    assert_string_equal(jstr(t, "error"), "Cancelled by alice.");
    json_decref(t);
    assert_int_equal(cancel(id, alice, NULL), 409); /* finished */
    assert_int_equal(cancel(999999, admin, NULL), 404);
    /* a host.* task needs host.admin, which a tenant member lacks */
    int64_t host = sleep_task("{\"kind\":\"host.sleep\",\"steps\":100000,\"step_ms\":50,"
                              "\"tenant_id\":%lld}",
                              (long long)acme);
    assert_int_equal(cancel(host, alice, NULL), 403);
    assert_int_equal(cancel(host, admin, NULL), 202);
    json_decref(wait_state(host, "cancelled"));
}

static void
test_cancel_queued_and_refused(void **state)
{
    /* at most two tasks of one key run at once: the third waits */
    const char *fmt = "{\"key\":\"host/8\",\"steps\":100000,\"step_ms\":50}";
    int64_t r1 = sleep_task(fmt), r2 = sleep_task(fmt), q = sleep_task(fmt);
    json_decref(wait_state(r1, "running"));
    json_decref(wait_state(r2, "running"));
    json_t *t = get_task(q, admin, 200);
    assert_string_equal(jstr(t, "state"), "queued");
    json_decref(t);
    json_t *body = NULL;
    assert_int_equal(cancel(q, admin, &body), 202);
    assert_string_equal(jstr(body, "state"), "cancelled"); /* a queued task ends at once */
    assert_string_equal(jstr(body, "error"), "Cancelled before it started.");
    json_decref(body);
    assert_int_equal(cancel(r1, admin, NULL), 202);
    assert_int_equal(cancel(r2, admin, NULL), 202);
    json_decref(wait_state(r1, "cancelled"));
    json_decref(wait_state(r2, "cancelled"));
    /* a task that cannot be cancelled while it runs */
    int64_t nc = sleep_task("{\"steps\":100000,\"step_ms\":50,\"cancellable\":false}");
    json_decref(wait_state(nc, "running"));
    assert_int_equal(cancel(nc, admin, &body), 409);
    assert_string_equal(jstr(body, "type"), "/problems/conflict");
    json_decref(body);
}

static void
test_hook_needs_setting(void **state)
{
    struct vp_proc plain;
    assert_int_equal(vp_start(&plain, NULL), 0);
    char *tok = vp_login(&plain, "admin", plain.admin_password);
    struct vp_resp r;
    vp_json(&plain, "POST", "/api/v1/tasks/test-sleep", tok, "{}", &r);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    vp_json(&plain, "GET", "/api/v1/tasks", tok, NULL, &r);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    free(tok);
    vp_stop(&plain);
}

/* ---- Server-Sent Events ---- */

struct sse_event {
    char id[32], event[16];
    json_t *data;
};

struct sse {
    const char *token;
    char last_id[32];
    int64_t stop_task;      /* stop once this task... */
    const char *stop_state; /* ...is seen in this state (NULL: run until the server stops) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;
    size_t len;
    bool connected, finished;
    long status;
};

/* Parses the complete events in buf ("\n\n"-terminated blocks). */
static int
sse_parse(const char *buf, struct sse_event *out, int cap)
{
    int n = 0;
    const char *p = buf, *end;
    while (n < cap && (end = strstr(p, "\n\n"))) {
        struct sse_event ev = {0};
        for (const char *l = p; l < end;) {
            const char *eol = memchr(l, '\n', (size_t)(end - l));
            size_t len = eol ? (size_t)(eol - l) : (size_t)(end - l);
            if (len > 4 && !strncmp(l, "id: ", 4))
                snprintf(ev.id, sizeof(ev.id), "%.*s", (int)len - 4, l + 4);
            else if (len > 7 && !strncmp(l, "event: ", 7))
                snprintf(ev.event, sizeof(ev.event), "%.*s", (int)len - 7, l + 7);
            else if (len > 6 && !strncmp(l, "data: ", 6))
                ev.data = json_loadb(l + 6, len - 6, 0, NULL);
            l += len + 1;
        }
        if (ev.event[0])
            out[n++] = ev;
        else
            json_decref(ev.data);
        p = end + 2;
    }
    return n;
}

static void
sse_free_events(struct sse_event *ev, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(ev[i].data);
}

static bool
sse_seen(const char *buf, int64_t task, const char *state)
{
    static struct sse_event ev[512];
    int n = sse_parse(buf, ev, 512);
    bool seen = false;
    for (int i = 0; i < n; i++)
        seen |= ev[i].data && jint(ev[i].data, "id") == task &&
                !strcmp(jstr(ev[i].data, "state"), state);
    sse_free_events(ev, n);
    return seen;
}

static size_t
sse_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sse *s = arg;
    size_t n = size * nmemb;
    pthread_mutex_lock(&s->mu);
    s->buf = realloc(s->buf, s->len + n + 1);
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    s->connected = s->connected || strstr(s->buf, "retry: 3000\n\n") != NULL;
    bool stop = s->stop_state && sse_seen(s->buf, s->stop_task, s->stop_state);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return stop ? 0 : n; /* 0 ends the transfer */
}

/* Also called about once a second while the stream is idle: ends the
 * transfer once the awaited event has arrived. */
static int
sse_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct sse *s = arg;
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop_state && sse_seen(s->buf, s->stop_task, s->stop_state);
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *
sse_main(void *arg)
{
    struct sse *s = arg;
    CURL *c = curl_easy_init();
    char url[128], auth[4200], last[64];
    snprintf(url, sizeof(url), "%s/api/v1/tasks/events", srv.base);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
    snprintf(last, sizeof(last), "Last-Event-ID: %s", s->last_id);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Accept: text/event-stream");
    if (s->last_id[0])
        h = curl_slist_append(h, last);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, srv.cert);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L); /* a bound, not an expectation */
    curl_easy_perform(c);
    pthread_mutex_lock(&s->mu);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
    s->finished = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* Opens a stream and waits until the server has subscribed it. */
static struct sse *
sse_open(const char *token, const char *last_id)
{
    struct sse *s = calloc(1, sizeof(*s));
    s->token = token;
    snprintf(s->last_id, sizeof(s->last_id), "%s", last_id ? last_id : "");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->buf = strdup("");
    pthread_create(&s->thread, NULL, sse_main, s);
    pthread_mutex_lock(&s->mu);
    while (!s->connected && !s->finished)
        pthread_cond_wait(&s->cv, &s->mu);
    bool ok = s->connected;
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        fail_msg("the event stream did not open (status %ld): %s", s->status, s->buf);
    return s;
}

/* Sets what ends the stream (NULL state: the server ends it), then waits
 * for the end. */
static void
sse_finish(struct sse *s, int64_t task, const char *state)
{
    pthread_mutex_lock(&s->mu);
    s->stop_task = task;
    s->stop_state = state;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
}

static void
sse_free(struct sse *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->buf);
    free(s);
}

/* The events of `task`, in order, as "state:progress" words. */
static int
task_events(const struct sse *s, int64_t task, struct sse_event *out, int cap)
{
    static struct sse_event all[512];
    int n = sse_parse(s->buf, all, 512), m = 0;
    for (int i = 0; i < n; i++) {
        if (all[i].data && jint(all[i].data, "id") == task && m < cap) {
            out[m++] = all[i];
            all[i].data = NULL;
        }
    }
    sse_free_events(all, n);
    return m;
}

static void
test_events_stream(void **state)
{
    struct sse *s = sse_open(admin, NULL);
    int64_t id = sleep_task("{\"steps\":3,\"step_ms\":200,\"tenant_id\":%lld}", (long long)acme);
    sse_finish(s, id, "succeeded");
    assert_int_equal(s->status, 200);
    struct sse_event ev[64];
    int n = task_events(s, id, ev, 64);
    assert_true(n >= 3);
    assert_string_equal(jstr(ev[0].data, "state"), "queued");
    assert_string_equal(jstr(ev[n - 1].data, "state"), "succeeded");
    assert_int_equal(jint(ev[n - 1].data, "progress"), 100);
    unsigned long long prev = 0;
    int64_t progress = 0;
    for (int i = 0; i < n; i++) {
        assert_string_equal(ev[i].event, "task");
        unsigned long long seq = strtoull(ev[i].id, NULL, 10);
        assert_true(seq > prev); /* ids increase */
        prev = seq;
        assert_true(jint(ev[i].data, "progress") >= progress);
        progress = jint(ev[i].data, "progress");
        if (i > 0 && i < n - 1)
            assert_string_equal(jstr(ev[i].data, "state"), "running");
    }
    /* reconnecting with the first event's id replays what came after it */
    struct sse *again = sse_open(admin, ev[0].id);
    sse_finish(again, id, "succeeded");
    struct sse_event replay[64];
    int m = task_events(again, id, replay, 64);
    assert_int_equal(m, n - 1);
    for (int i = 0; i < m; i++)
        assert_string_equal(replay[i].id, ev[i + 1].id);
    sse_free_events(replay, m);
    sse_free_events(ev, n);
    sse_free(again);
    sse_free(s);
    /* a stale id: the stream says "resync" first */
    struct sse *stale = sse_open(admin, "1");
    int64_t next = sleep_task("{\"steps\":1,\"step_ms\":0}");
    sse_finish(stale, next, "succeeded");
    assert_non_null(strstr(stale->buf, "retry: 3000\n\nevent: resync\ndata: {}\n\n"));
    sse_free(stale);
}

static void
test_events_tenant_scope(void **state)
{
    struct sse *s = sse_open(alice, NULL);
    int64_t theirs =
        sleep_task("{\"steps\":2,\"step_ms\":50,\"tenant_id\":%lld}", (long long)globex);
    int64_t global = sleep_task("{\"steps\":2,\"step_ms\":50}");
    json_decref(wait_state(theirs, "succeeded"));
    json_decref(wait_state(global, "succeeded"));
    /* published after the others ended: if they were visible, they came first */
    int64_t mine = sleep_task("{\"steps\":2,\"step_ms\":50,\"tenant_id\":%lld}", (long long)acme);
    sse_finish(s, mine, "succeeded");
    struct sse_event ev[16];
    int n = task_events(s, theirs, ev, 16);
    assert_int_equal(n, 0);
    assert_int_equal(task_events(s, global, ev, 16), 0);
    n = task_events(s, mine, ev, 16);
    assert_true(n >= 2);
    sse_free_events(ev, n);
    sse_free(s);
}

static void
test_events_need_accept(void **state)
{
    char auth[4200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", admin);
    const char *h[] = {auth, NULL};
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "GET", "/api/v1/tasks/events", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);
    const char *anon[] = {"Accept: text/event-stream", NULL};
    assert_int_equal(vp_http(&srv, "GET", "/api/v1/tasks/events", anon, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    vp_resp_free(&r);
}

static void
test_events_end_at_shutdown(void **state)
{
    struct sse *s = sse_open(admin, NULL);
    int64_t id = sleep_task("{\"steps\":100000,\"step_ms\":50}");
    json_decref(wait_state(id, "running"));
    /* SIGTERM with a stream open and a task running: the server exits cleanly */
    assert_int_equal(vp_term(&srv), 0);
    sse_finish(s, 0, NULL);
    assert_true(s->finished);
    sse_free(s);
    assert_int_equal(vp_restart(&srv, hooks), 0);
    json_t *t = get_task(id, admin, 200);
    assert_string_equal(jstr(t, "state"), "cancelled");
    assert_string_equal(jstr(t, "error"), "Cancelled: the server is shutting down.");
    json_decref(t);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_reconciled),
        cmocka_unit_test(test_crash_while_running),
        cmocka_unit_test(test_get_and_tenant_scope),
        cmocka_unit_test(test_list_filters_and_pages),
        cmocka_unit_test(test_cancel_running_and_scope),
        cmocka_unit_test(test_cancel_queued_and_refused),
        cmocka_unit_test(test_hook_needs_setting),
        cmocka_unit_test(test_events_stream),
        cmocka_unit_test(test_events_tenant_scope),
        cmocka_unit_test(test_events_need_accept),
        cmocka_unit_test(test_events_end_at_shutdown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
