/* VM power actions, snapshots, delete and migration through the REST API of
 * the real binary, with libvirt test-driver hosts: every action's task is
 * polled until it ends and the cached VM must show the result as soon as the
 * task says "succeeded"; what the cached state rules out is a 409 and no
 * task; a stale cache makes the task fail with libvirt's refusal; another
 * tenant's VM is a 404 for actions too; queued tasks can be cancelled; the
 * test driver cannot migrate, so a migration task fails and the VM stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vat.h"

static int64_t tenant_a, tenant_b, host1, host2;
static int64_t run_a, off_a, pause_a, snap_a, run_b;
static char *member_a, *tadmin_a, *member_b, *oper;

static int
setup(void **state)
{
    (void)state;
    if (invt_setup_with(vat_flags) < 0)
        return -1;
    tenant_a = invt_tenant("team-a");
    tenant_b = invt_tenant("team-b");
    const struct invt_dom d1[] = {
        {.name = "run-a",
         .state = 1,
         .vcpus = 2,
         .memory_mib = 1024,
         .disk_gib = 10,
         .tenant_id = tenant_a},
        {.name = "off-a",
         .state = 5,
         .vcpus = 1,
         .memory_mib = 512,
         .disk_gib = 5,
         .tenant_id = tenant_a},
        {.name = "pause-a",
         .state = 3,
         .vcpus = 1,
         .memory_mib = 512,
         .disk_gib = 5,
         .tenant_id = tenant_a},
        {.name = "snap-a",
         .state = 1,
         .vcpus = 1,
         .memory_mib = 512,
         .disk_gib = 5,
         .tenant_id = tenant_a},
        {.name = "run-b",
         .state = 1,
         .vcpus = 1,
         .memory_mib = 512,
         .disk_gib = 5,
         .tenant_id = tenant_b},
    };
    host1 = invt_host("h1", invt_host_file("h1.xml", 16, 64, d1, 5));
    host2 = invt_host("h2", invt_host_file("h2.xml", 16, 64, NULL, 0));
    invt_user("member-a", tenant_a, "tenant-member");
    invt_user("tadmin-a", tenant_a, "tenant-admin");
    invt_user("member-b", tenant_b, "tenant-member");
    invt_user("oper", 0, "operator");
    member_a = invt_login("member-a");
    tadmin_a = invt_login("tadmin-a");
    member_b = invt_login("member-b");
    oper = invt_login("oper");
    run_a = invt_vm_id("run-a");
    off_a = invt_vm_id("off-a");
    pause_a = invt_vm_id("pause-a");
    snap_a = invt_vm_id("snap-a");
    run_b = invt_vm_id("run-b");
    return run_a > 0 && off_a > 0 && pause_a > 0 && snap_a > 0 && run_b > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    free(member_a);
    free(tadmin_a);
    free(member_b);
    free(oper);
    return invt_teardown(state);
}

/* Each step's task succeeds and the cache already shows the new state. */
static void
test_power_cycle(void **state)
{
    (void)state;
    static const struct {
        const char *action, *after;
    } steps[] = {
        {"suspend", "paused"},   {"resume", "running"},   {"reboot", "running"},
        {"reset", "running"},    {"shutdown", "shutoff"}, {"start", "running"},
        {"poweroff", "shutoff"}, {"start", "running"},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int64_t task = 0;
        assert_int_equal(vat_act(run_a, steps[i].action, member_a, &task), 202);
        json_t *t = vat_wait(task, member_a);
        char kind[32], target[32];
        snprintf(kind, sizeof(kind), "vm.%s", steps[i].action);
        snprintf(target, sizeof(target), "vm/%lld", (long long)run_a);
        assert_string_equal(json_string_value(json_object_get(t, "state")), "succeeded");
        assert_string_equal(json_string_value(json_object_get(t, "kind")), kind);
        assert_string_equal(json_string_value(json_object_get(t, "target")), target);
        assert_int_equal(json_integer_value(json_object_get(t, "tenant_id")), tenant_a);
        assert_int_equal(json_integer_value(json_object_get(t, "progress")), 100);
        json_decref(t);
        if (strcmp(vat_vm_state(run_a), steps[i].after))
            fail_msg("after %s: state %s, expected %s", steps[i].action, vat_vm_state(run_a),
                     steps[i].after);
    }
    /* each request and each task's end are audited */
    assert_true(invt_audit_count("vm.suspend", NULL) >= 1);
    assert_true(invt_audit_count("task.succeeded", NULL) >= 8);
}

/* 409 with a clear reason, and no task queued. */
static void
test_wrong_state_refused(void **state)
{
    (void)state;
    static const struct {
        int64_t *vm;
        const char *action, *detail;
    } cases[] = {
        {&off_a, "suspend", "The VM is not running."},
        {&off_a, "shutdown", "The VM is not running."},
        {&off_a, "reboot", "The VM is not running."},
        {&off_a, "reset", "The VM is not running."},
        {&off_a, "poweroff", "The VM is not running."},
        {&off_a, "resume", "The VM is not paused."},
        {&run_a, "start", "The VM is already running."},
        {&run_a, "resume", "The VM is not paused."},
        {&pause_a, "start", "The VM is already running (paused: resume it)."},
        {&pause_a, "suspend", "The VM is already paused."},
        {&pause_a, "shutdown", "The VM is paused: resume it first."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/vms/%lld/actions/%s", (long long)*cases[i].vm,
                 cases[i].action);
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "POST", path, member_a, NULL), 0);
        if (r.status != 409 || strcmp(invt_str(&r, "detail"), cases[i].detail))
            fail_msg("case %zu (%s): %ld %s", i, path, r.status, r.body);
        vp_resp_free(&r);
    }
    assert_int_equal(invt_status("POST", "/api/v1/vms/1/actions/explode", member_a, NULL), 404);
    char q[64];
    snprintf(q, sizeof(q), "target=vm/%lld", (long long)off_a);
    assert_int_equal(vat_task_count(q), 0);
    assert_string_equal(vat_vm_state(off_a), "shutoff");
}

/* The cache says "running" for both requests, so both are queued; the
 * second runs after the first (FIFO per host, one free slot) and libvirt's
 * refusal becomes its error. */
static void
test_stale_state_fails_task(void **state)
{
    (void)state;
    int64_t s1 = vat_sleeper(host1, 300), s2 = vat_sleeper(host1, 3000);
    int64_t t1 = 0, t2 = 0;
    assert_int_equal(vat_act(snap_a, "suspend", member_a, &t1), 202);
    assert_int_equal(vat_act(snap_a, "suspend", member_a, &t2), 202);
    vat_expect(t1, member_a, "succeeded");
    const char *why = vat_expect(t2, member_a, "failed");
    if (!strstr(why, "already paused"))
        fail_msg("second suspend failed with: %s", why);
    assert_string_equal(vat_vm_state(snap_a), "paused");
    vat_expect(s1, invt_admin, "succeeded");
    vat_expect(s2, invt_admin, "succeeded");
    vat_act_ok(snap_a, "resume", member_a);
}

/* Another tenant's VM answers exactly like a missing one, for every route. */
static void
test_tenant_scoping(void **state)
{
    (void)state;
    char path[160];
    static const char *const posts[] = {"actions/start", "actions/poweroff", "snapshots/s1/revert"};
    for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/vms/%lld/%s", (long long)run_a, posts[i]);
        assert_int_equal(invt_status("POST", path, member_b, NULL), 404);
        snprintf(path, sizeof(path), "/api/v1/vms/%lld/%s", (long long)run_b, posts[i]);
        assert_int_equal(invt_status("POST", path, member_a, NULL), 404);
    }
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/snapshots", (long long)run_a);
    assert_int_equal(invt_status("GET", path, member_b, NULL), 404);
    assert_int_equal(invt_status("POST", path, member_b, "{\"name\":\"x\"}"), 404);
    /* without vm.delete anywhere: 403 before any VM is looked at (leaks nothing);
     * with vm.delete in its own tenant only: another tenant's VM is 404 */
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)run_a);
    assert_int_equal(invt_status("DELETE", path, member_b, NULL), 403);
    snprintf(path, sizeof(path), "/api/v1/vms/%lld?force=true", (long long)run_b);
    assert_int_equal(invt_status("DELETE", path, tadmin_a, NULL), 404);
    /* the same body as a VM that does not exist */
    struct vp_resp foreign, missing;
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/actions/start", (long long)run_b);
    assert_int_equal(invt_req(&foreign, "POST", path, member_a, NULL), 0);
    assert_int_equal(invt_req(&missing, "POST", "/api/v1/vms/9999/actions/start", member_a, NULL),
                     0);
    assert_int_equal(foreign.status, 404);
    assert_string_equal(invt_str(&foreign, "detail"), invt_str(&missing, "detail"));
    vp_resp_free(&foreign);
    vp_resp_free(&missing);
    /* visible, but no vm.delete (tenant-member) / no global rights (migrate) */
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)off_a);
    assert_int_equal(invt_status("DELETE", path, member_a, NULL), 403);
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/actions/migrate", (long long)run_a);
    assert_int_equal(
        invt_status("POST", path, member_a, "{\"target_host_id\":%lld}", (long long)host2), 403);
    char q[64];
    snprintf(q, sizeof(q), "target=vm/%lld", (long long)run_b);
    assert_int_equal(vat_task_count(q), 0);
    assert_string_equal(vat_vm_state(run_b), "running");
}

static json_t *
snapshots(int64_t vm, const char *token)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/snapshots", (long long)vm);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, token, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *items = json_incref(json_object_get(r.json, "items"));
    vp_resp_free(&r);
    return items;
}

static int64_t
snap_req(const char *method, int64_t vm, const char *suffix, const char *body, long want)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/snapshots%s", (long long)vm, suffix);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, method, path, member_a, body ? "%s" : NULL, body), 0);
    if (r.status != want)
        fail_msg("%s %s: %ld %s", method, path, r.status, r.body);
    if (want == 202)
        return vat_accepted(&r, path);
    vp_resp_free(&r);
    return 0;
}

static void
test_snapshots(void **state)
{
    (void)state;
    json_t *l = snapshots(snap_a, member_a);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    int64_t t = snap_req("POST", snap_a, "", "{\"name\":\"s1\",\"description\":\"before\"}", 202);
    vat_expect(t, member_a, "succeeded");
    l = snapshots(snap_a, member_a);
    assert_int_equal(json_array_size(l), 1);
    json_t *s = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(s, "name")), "s1");
    assert_string_equal(json_string_value(json_object_get(s, "description")), "before");
    assert_string_equal(json_string_value(json_object_get(s, "state")), "running");
    assert_true(json_is_true(json_object_get(s, "current")));
    json_decref(l);
    /* a second s1: the task fails with the reason */
    t = snap_req("POST", snap_a, "", "{\"name\":\"s1\"}", 202);
    assert_non_null(strstr(vat_expect(t, member_a, "failed"), "already exists"));
    /* revert after a state change brings the running state back */
    vat_act_ok(snap_a, "poweroff", member_a);
    vat_expect(snap_req("POST", snap_a, "/s1/revert", NULL, 202), member_a, "succeeded");
    assert_string_equal(vat_vm_state(snap_a), "running");
    vat_expect(snap_req("POST", snap_a, "", "{\"name\":\"s2\"}", 202), member_a, "succeeded");
    vat_expect(snap_req("DELETE", snap_a, "/s1", NULL, 202), member_a, "succeeded");
    l = snapshots(snap_a, member_a);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "name")), "s2");
    json_decref(l);
    vat_expect(snap_req("POST", snap_a, "/nope/revert", NULL, 202), member_a, "failed");
    /* bad input at the edge */
    snap_req("POST", snap_a, "", "{\"name\":\"<x>\"}", 400);
    snap_req("POST", snap_a, "", "{\"name\":\"ok\",\"extra\":1}", 400);
    snap_req("POST", snap_a, "", "{}", 400);
    snap_req("POST", snap_a, "/-bad/revert", NULL, 404);
    vat_expect(snap_req("DELETE", snap_a, "/s2", NULL, 202), member_a, "succeeded");
}

static void
test_delete(void **state)
{
    (void)state;
    int64_t vms = vat_used(tenant_a, "vms"), vcpus = vat_used(tenant_a, "vcpus");
    char path[96];
    /* running: refused unless forced */
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)pause_a);
    assert_int_equal(invt_status("DELETE", path, tadmin_a, NULL), 409);
    struct vp_resp r;
    snprintf(path, sizeof(path), "/api/v1/vms/%lld?force=true&delete_volumes=true",
             (long long)pause_a);
    assert_int_equal(invt_req(&r, "DELETE", path, tadmin_a, NULL), 0);
    vat_expect(vat_accepted(&r, path), tadmin_a, "succeeded");
    snprintf(path, sizeof(path), "/api/v1/vms/%lld", (long long)pause_a);
    assert_int_equal(invt_status("GET", path, invt_admin, NULL), 404);
    assert_int_equal(vat_used(tenant_a, "vms"), vms - 1);
    assert_int_equal(vat_used(tenant_a, "vcpus"), vcpus - 1);
    assert_int_equal(invt_vm_id("pause-a"), -1);
    assert_int_equal(invt_status("DELETE", "/api/v1/vms/1?force=maybe", tadmin_a, NULL), 400);
}

/* A queued task is cancelled at once and never runs. */
static void
test_cancel_queued(void **state)
{
    (void)state;
    int64_t s1 = vat_sleeper(host1, 60000), s2 = vat_sleeper(host1, 60000);
    int64_t task = 0;
    assert_int_equal(vat_act(off_a, "start", member_a, &task), 202);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld/cancel", (long long)task);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", path, member_a, NULL), 0);
    assert_int_equal(r.status, 202);
    vp_resp_free(&r);
    vat_expect(task, member_a, "cancelled");
    assert_int_equal(invt_status("POST", path, member_a, NULL), 409); /* already ended */
    /* another tenant cannot even see it */
    assert_int_equal(invt_status("POST", path, member_b, NULL), 404);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/api/v1/tasks/%lld/cancel", (long long)(i ? s2 : s1));
        assert_int_equal(invt_status("POST", path, invt_admin, NULL), 202);
        vat_expect(i ? s2 : s1, invt_admin, "cancelled");
    }
    assert_string_equal(vat_vm_state(off_a), "shutoff");
}

static long
migrate(int64_t vm, const char *token, const char *body, int64_t *task)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld/actions/migrate", (long long)vm);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", path, token, "%s", body), 0);
    long st = r.status;
    if (st == 202)
        *task = vat_accepted(&r, path);
    else
        vp_resp_free(&r);
    return st;
}

/* The test driver has no migration: everything before the task is checked
 * here (the CPU check answers "unknown" and proceeds), the task fails and
 * the VM stays where it was. */
static void
test_migrate(void **state)
{
    (void)state;
    int64_t task = 0;
    char body[128];
    snprintf(body, sizeof(body), "{\"target_host_id\":%lld}", (long long)host2);
    assert_int_equal(migrate(run_a, oper, "{}", &task), 400);
    assert_int_equal(migrate(run_a, oper, "{\"target_host_id\":99}", &task), 404);
    snprintf(body, sizeof(body), "{\"target_host_id\":%lld}", (long long)host1);
    assert_int_equal(migrate(run_a, oper, body, &task), 400); /* already there */
    snprintf(body, sizeof(body), "{\"target_host_id\":%lld,\"speed\":1}", (long long)host2);
    assert_int_equal(migrate(run_a, oper, body, &task), 400);
    snprintf(body, sizeof(body), "{\"target_host_id\":%lld}", (long long)host2);
    assert_int_equal(migrate(off_a, oper, body, &task), 409);
    assert_int_equal(migrate(run_a, member_a, body, &task), 403);
    assert_int_equal(migrate(run_a, oper, body, &task), 202);
    const char *why = vat_expect(task, oper, "failed");
    assert_true(strlen(why) > 0);
    json_t *vm = vat_vm(run_a);
    assert_int_equal(json_integer_value(json_object_get(vm, "host_id")), host1);
    assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
    json_decref(vm);
    /* a VM with a snapshot: refused by the task with the reason */
    vat_expect(snap_req("POST", run_a, "", "{\"name\":\"keep\"}", 202), member_a, "succeeded");
    assert_int_equal(migrate(run_a, oper, body, &task), 202);
    assert_non_null(strstr(vat_expect(task, oper, "failed"), "snapshot"));
    vat_expect(snap_req("DELETE", run_a, "/keep", NULL, 202), member_a, "succeeded");
}

int
main(int argc, char **argv)
{
    /* clang-format off: one case per line (tests/testing.cmake finds them by line) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_cycle),
        cmocka_unit_test(test_wrong_state_refused),
        cmocka_unit_test(test_stale_state_fails_task),
        cmocka_unit_test(test_tenant_scoping),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_migrate),
    };
    /* clang-format on */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
