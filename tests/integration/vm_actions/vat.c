/* vat: helpers of the VM-action integration tests (see vat.h). */
#include "vat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

const char *const vat_flags[] = {"--set", "server.test_hooks=1", "--set",
                                 "inventory.reconcile_s=3600", NULL};

void
vat_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int64_t
vat_accepted(struct vp_resp *r, const char *what)
{
    if (r->status != 202)
        fail_msg("%s: expected 202, got %ld %s", what, r->status, r->body ? r->body : "");
    char *loc = vp_header(r, "Location");
    int64_t id = invt_int(r, "id");
    char want[64];
    snprintf(want, sizeof(want), "/api/v1/tasks/%lld", (long long)id);
    if (!loc || id <= 0 || strcmp(loc, want))
        fail_msg("%s: 202 without a task Location (%s): %s", what, loc ? loc : "none", r->body);
    free(loc);
    vp_resp_free(r);
    return id;
}

static bool
final(const char *state)
{
    return !strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
}

json_t *
vat_wait(int64_t task, const char *token)
{
    char path[64], last[512] = "";
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld", (long long)task);
    for (int i = 0; i < 1200; i++) {
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "GET", path, token, NULL), 0);
        if (r.status == 200 && final(invt_str(&r, "state"))) {
            json_t *j = json_incref(r.json);
            vp_resp_free(&r);
            return j;
        }
        snprintf(last, sizeof(last), "%ld %s", r.status, r.body ? r.body : "");
        vp_resp_free(&r);
        vat_sleep_ms(50);
    }
    fail_msg("task %lld never ended: %s", (long long)task, last);
    return NULL;
}

const char *
vat_expect(int64_t task, const char *token, const char *state)
{
    static char error[512];
    json_t *t = vat_wait(task, token);
    const char *st = json_string_value(json_object_get(t, "state"));
    const char *er = json_string_value(json_object_get(t, "error"));
    snprintf(error, sizeof(error), "%s", er ? er : "");
    if (strcmp(st, state)) {
        char *dump = json_dumps(t, JSON_COMPACT);
        fail_msg("task %lld: expected %s: %s", (long long)task, state, dump);
    }
    json_decref(t);
    return error;
}

long
vat_act(int64_t vm, const char *action, const char *token, int64_t *task)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/actions/%s", (long long)vm, action);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", path, token, NULL), 0);
    long st = r.status;
    if (st == 202) {
        int64_t id = vat_accepted(&r, path);
        if (task)
            *task = id;
        return st;
    }
    vp_resp_free(&r);
    return st;
}

void
vat_act_ok(int64_t vm, const char *action, const char *token)
{
    int64_t task = 0;
    long st = vat_act(vm, action, token, &task);
    if (st != 202)
        fail_msg("%s on vm %lld: %ld", action, (long long)vm, st);
    vat_expect(task, token, "succeeded");
}

json_t *
vat_vm(int64_t vm)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)vm);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

const char *
vat_vm_state(int64_t vm)
{
    static char st[32];
    json_t *j = vat_vm(vm);
    snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(j, "state")));
    json_decref(j);
    return st;
}

size_t
vat_vm_count(int64_t host_id)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms?host_id=%lld&limit=1000", (long long)host_id);
    json_t *all = invt_list_all(path, invt_admin);
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

static int64_t
usage_member(int64_t tenant, const char *res, const char *member)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld/usage", (long long)tenant);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *v =
        json_object_get(json_object_get(json_object_get(r.json, "allocation"), res), member);
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    vp_resp_free(&r);
    return n;
}

int64_t
vat_used(int64_t tenant, const char *res)
{
    return usage_member(tenant, res, "used");
}

int64_t
vat_reserved(int64_t tenant, const char *res)
{
    return usage_member(tenant, res, "reserved");
}

int64_t
vat_sleeper(int64_t host_id, int ms)
{
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", "/api/v1/tasks/test-sleep", invt_admin,
                              "{\"key\":\"host/%lld\",\"steps\":%d,\"step_ms\":50}",
                              (long long)host_id, ms / 50 > 0 ? ms / 50 : 1),
                     0);
    return vat_accepted(&r, "test-sleep");
}

size_t
vat_task_count(const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/tasks?limit=1000&%s", query);
    json_t *all = invt_list_all(path, invt_admin);
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}
