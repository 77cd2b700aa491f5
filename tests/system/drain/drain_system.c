/* drain_system: the REST half of the drain system test (run.sh starts the two
 * libvirtd instances and the guest). Starts the real virtportal, registers both
 * hosts, makes a drain plan for A (CPU compatibility asked of libvirt, so it is
 * computed in a task), executes it as live migrations and checks through the API
 * that the guest's row moved to B, that A holds no VM, and the audit trail. Then
 * a drain of B back to A, throttled, cancelled while the guest migrates: the
 * migration is aborted and the guest stays on B.
 * Environment: VP_BINARY, VP_DRAIN_URI_A, VP_DRAIN_URI_B, VP_DRAIN_GUEST.
 * Prints "ok: …" per step; exits 1 at the first failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"

static struct vp_proc srv;
static char *token;
static struct timespec t0;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("drain_system: FAIL: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    vp_stop(&srv);
    exit(1);
}

static double
elapsed(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void
ok(const char *what)
{
    printf("ok: %-52s %6.1f s\n", what, elapsed());
    fflush(stdout);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A request whose answer must have `status`; returns the JSON body (caller decrefs). */
static json_t *
call(const char *method, const char *path, const char *body, long status)
{
    struct vp_resp r;
    if (vp_json(&srv, method, path, token, body, &r) < 0)
        die("%s %s: no answer", method, path);
    if (r.status != status)
        die("%s %s: %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j ? j : json_object();
}

static int64_t
int_of(const json_t *j, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(j, key));
}

static const char *
str_of(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

static int64_t
add_host(const char *name, const char *uri)
{
    char body[512], path[64];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"uri\":\"%s\"}", name, uri);
    json_t *h = call("POST", "/api/v1/hosts", body, 201);
    int64_t id = int_of(h, "id");
    json_decref(h);
    snprintf(path, sizeof(path), "/api/v1/hosts/%lld", (long long)id);
    for (int i = 0; i < 600; i++) {
        h = call("GET", path, NULL, 200);
        bool ready = !strcmp(str_of(h, "state"), "connected") && *str_of(h, "reconciled_at");
        json_decref(h);
        if (ready)
            return id;
        sleep_ms(100);
    }
    die("host %s never became connected and reconciled", name);
}

/* The guest's row: waits until the cache shows it running on `host`. */
static int64_t
guest_on(const char *guest, int64_t host)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/vms?q=%s", guest);
    for (int i = 0; i < 300; i++) {
        json_t *l = call("GET", path, NULL, 200), *v;
        size_t k;
        int64_t id = 0;
        json_array_foreach(json_object_get(l, "items"), k, v)
        {
            if (!strcmp(str_of(v, "name"), guest) && int_of(v, "host_id") == host &&
                !strcmp(str_of(v, "state"), "running"))
                id = int_of(v, "id");
        }
        json_decref(l);
        if (id)
            return id;
        sleep_ms(100);
    }
    die("the cache never showed %s running on host %lld", guest, (long long)host);
}

/* Waits for task `id` to end in state `want` ("succeeded" or "cancelled"). */
static const char *
wait_task_as(int64_t id, int seconds, const char *want)
{
    static char state[32], error[256];
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld", (long long)id);
    for (int i = 0; i < seconds * 5; i++) {
        json_t *t = call("GET", path, NULL, 200);
        snprintf(state, sizeof(state), "%s", str_of(t, "state"));
        snprintf(error, sizeof(error), "%s", str_of(t, "error"));
        json_decref(t);
        if (!strcmp(state, want))
            return state;
        if (!strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled"))
            die("task %lld %s: %s", (long long)id, state, error);
        sleep_ms(200);
    }
    die("task %lld did not end in %d s", (long long)id, seconds);
}

static const char *
wait_task(int64_t id, int seconds)
{
    return wait_task_as(id, seconds, "succeeded");
}

static int
audit_count(const char *action, const char *outcome)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&action=%s", action);
    json_t *l = call("GET", path, NULL, 200), *row;
    size_t k;
    int n = 0;
    json_array_foreach(json_object_get(l, "items"), k, row) n +=
        !strcmp(str_of(row, "action"), action) && !strcmp(str_of(row, "outcome"), outcome);
    json_decref(l);
    return n;
}

/* A drain plan of host a: 202 (libvirt is asked), then ready with one move to b. */
static int64_t
make_plan(int64_t a, int64_t b, const char *guest)
{
    char body[512], path[64];
    snprintf(body, sizeof(body),
             "{\"kind\":\"drain\",\"name\":\"maintenance of A\",\"drain\":{\"host_ids\":[%lld]},"
             "\"constraints\":{\"cpu_check\":\"libvirt\",\"per_host\":2}}",
             (long long)a);
    json_t *p = call("POST", "/api/v1/plans", body, 202);
    int64_t id = int_of(p, "id");
    wait_task(int_of(json_object_get(p, "task"), "id"), 120);
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)id);
    p = call("GET", path, NULL, 200);
    json_t *sum = json_object_get(p, "summary"), *res = json_object_get(p, "result");
    json_t *move = json_array_get(
        json_object_get(json_array_get(json_object_get(res, "steps"), 0), "moves"), 0);
    if (strcmp(str_of(p, "state"), "ready") || int_of(sum, "migrations") != 1 ||
        int_of(sum, "stuck") != 0 || strcmp(str_of(move, "vm"), guest) ||
        int_of(move, "to_host_id") != b ||
        strcmp(str_of(json_object_get(res, "cpu_checks"), "mode"), "libvirt"))
        die("unexpected plan: %s", json_dumps(p, JSON_COMPACT));
    json_decref(p);
    return id;
}

static void
execute(int64_t id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/execute", (long long)id);
    json_t *t = call("POST", path, "{\"tunnelled\":true,\"unsafe\":true}", 202);
    if (strcmp(str_of(t, "kind"), "plan.execute"))
        die("execute answered a task of kind %s", str_of(t, "kind"));
    wait_task(int_of(t, "id"), 180);
    json_decref(t);
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)id);
    json_t *p = call("GET", path, NULL, 200);
    json_t *m = json_array_get(json_object_get(json_object_get(p, "execution"), "moves"), 0);
    if (strcmp(str_of(p, "state"), "done") || strcmp(str_of(m, "state"), "succeeded"))
        die("plan after execution: %s", json_dumps(p, JSON_COMPACT));
    json_decref(p);
}

/* The running migration task of plan execution `parent` (waits until it runs). */
static int64_t
running_child(int64_t plan)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)plan);
    for (int i = 0; i < 300; i++) {
        json_t *p = call("GET", path, NULL, 200);
        json_t *m = json_array_get(json_object_get(json_object_get(p, "execution"), "moves"), 0);
        int64_t id = !strcmp(str_of(m, "state"), "running") ? int_of(m, "task_id") : 0;
        json_decref(p);
        if (id)
            return id;
        sleep_ms(100);
    }
    die("the migration of plan %lld never started", (long long)plan);
}

/* Drain B back to A at 1 MiB/s, cancel the plan's task while the guest migrates:
 * the migration is aborted, the guest stays on B, the plan ends failed/cancelled. */
static void
cancel_drain_back(int64_t a, int64_t b, int64_t vm)
{
    char body[256], path[96];
    snprintf(body, sizeof(body), "{\"kind\":\"drain\",\"drain\":{\"host_id\":%lld}}", (long long)b);
    json_t *p = call("POST", "/api/v1/plans", body, 201);
    int64_t plan = int_of(p, "id");
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/execute", (long long)plan);
    json_t *t = call("POST", path, "{\"unsafe\":true,\"bandwidth_mibs\":1}", 202);
    int64_t task = int_of(t, "id"), child = running_child(plan);
    json_decref(t);
    sleep_ms(1500); /* well inside the copy: 128 MiB at 1 MiB/s */
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld/cancel", (long long)task);
    json_decref(call("POST", path, NULL, 202));
    wait_task_as(task, 120, "cancelled");
    wait_task_as(child, 60, "cancelled");
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)plan);
    p = call("GET", path, NULL, 200);
    if (strcmp(str_of(p, "state"), "failed") ||
        strcmp(str_of(json_object_get(p, "execution"), "state"), "cancelled"))
        die("plan after cancel: %s", json_dumps(p, JSON_COMPACT));
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)vm);
    json_t *v = call("GET", path, NULL, 200);
    if (int_of(v, "host_id") != b || strcmp(str_of(v, "state"), "running"))
        die("after the cancelled migration the guest is on host %lld, %s",
            (long long)int_of(v, "host_id"), str_of(v, "state"));
    json_decref(v);
    (void)a;
}

int
main(void)
{
    const char *a_uri = getenv("VP_DRAIN_URI_A"), *b_uri = getenv("VP_DRAIN_URI_B");
    const char *guest = getenv("VP_DRAIN_GUEST");
    if (!a_uri || !b_uri || !guest || !getenv("VP_BINARY"))
        die("set VP_BINARY, VP_DRAIN_URI_A, VP_DRAIN_URI_B and VP_DRAIN_GUEST (run.sh does)");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (vp_start(&srv, NULL) < 0 || !(token = vp_login(&srv, "admin", srv.admin_password)))
        die("cannot start virtportal");
    ok("virtportal started");
    int64_t a = add_host("host-a", a_uri), b = add_host("host-b", b_uri);
    int64_t vm = guest_on(guest, a);
    ok("hosts registered through the API, guest seen on A");
    int64_t plan = make_plan(a, b, guest);
    ok("drain plan of A: one live migration to B");
    execute(plan);
    ok("plan executed: done");
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)vm);
    json_t *v = call("GET", path, NULL, 200);
    if (int_of(v, "host_id") != b)
        die("the guest's row says host %lld, expected B", (long long)int_of(v, "host_id"));
    json_decref(v);
    snprintf(path, sizeof(path), "/api/v1/vms?host_id=%lld", (long long)a);
    json_t *l = call("GET", path, NULL, 200);
    if (json_array_size(json_object_get(l, "items")) != 0)
        die("host A still lists VMs: %s", json_dumps(l, JSON_COMPACT));
    json_decref(l);
    ok("API: the guest is on B, A lists no VM");
    if (audit_count("plan.execute", "ok") != 1 || audit_count("vm.migrate", "ok") != 1 ||
        audit_count("plan.executed", "ok") != 1 || audit_count("task.succeeded", "ok") < 3)
        die("the audit trail lacks the execution's rows");
    ok("audit: plan.execute, vm.migrate, plan.executed, task.succeeded");
    cancel_drain_back(a, b, vm);
    ok("drain of B cancelled mid-migration: guest still on B");
    free(token);
    vp_stop(&srv);
    return 0;
}
