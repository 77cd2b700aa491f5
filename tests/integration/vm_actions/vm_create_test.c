/* Creating VMs through the REST API of the real binary, with libvirt
 * test-driver hosts: a spec becomes a defined domain (task), a row in the
 * inventory and quota usage; bad input of every kind is refused at the edge
 * (400/404/409 problem+json naming the field) and nothing is defined; a
 * tenant at its limit gets 403 quota-exceeded with the refusal and a
 * ready-made quota request, and nothing is defined; 50 concurrent creates
 * for a tenant whose quota fits exactly 10 admit exactly 10.
 *
 * "Nothing is defined": the portal's test-driver connection lives in the
 * server process, so the test counts the host's VMs through the API. A
 * define would reach the cache through libvirt's event (the host's events
 * are applied in order) or through the task itself; a valid create made
 * after the bad ones shows up, and exactly one VM more is listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vat.h"

static int64_t tenant_a, host1;
static char *member_a, *tadmin_a;

static int
setup(void **state)
{
    (void)state;
    if (invt_setup_with(vat_flags) < 0)
        return -1;
    tenant_a = invt_tenant("team-a");
    const struct invt_dom d1[] = {
        {.name = "old-a",
         .state = 5,
         .vcpus = 1,
         .memory_mib = 512,
         .disk_gib = 5,
         .tenant_id = tenant_a},
    };
    host1 = invt_host("h1", invt_host_file("h1.xml", 64, 256, d1, 1));
    invt_user("member-a", tenant_a, "tenant-member");
    invt_user("tadmin-a", tenant_a, "tenant-admin");
    member_a = invt_login("member-a");
    tadmin_a = invt_login("tadmin-a");
    return 0;
}

static int
teardown(void **state)
{
    free(member_a);
    free(tadmin_a);
    return invt_teardown(state);
}

/* POST /api/v1/vms with a printf-built body; returns the status, *task when 202. */
static long create(const char *token, int64_t *task, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static long
create(const char *token, int64_t *task, const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&body, fmt, ap) >= 0);
    va_end(ap);
    struct vp_resp r;
    assert_int_equal(vp_json(&invt_p, "POST", "/api/v1/vms", token, body, &r), 0);
    free(body);
    long st = r.status;
    if (st == 202)
        *task = vat_accepted(&r, "POST /api/v1/vms");
    else
        vp_resp_free(&r);
    return st;
}

static json_t *
vm_named(const char *name)
{
    int64_t id = invt_vm_id(name);
    if (id <= 0)
        fail_msg("no VM named %s", name);
    return vat_vm(id);
}

static void
test_create_start_delete(void **state)
{
    (void)state;
    int64_t task = 0, vms = vat_used(tenant_a, "vms");
    assert_int_equal(create(member_a, &task,
                            "{\"name\":\"new-1\",\"host_id\":%lld,\"vcpus\":2,\"memory_mib\":1024,"
                            "\"disk_gib\":8,\"pool\":\"default\",\"network\":\"default\"}",
                            (long long)host1),
                     202);
    json_t *t = vat_wait(task, member_a);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "succeeded");
    assert_string_equal(json_string_value(json_object_get(t, "kind")), "vm.create");
    assert_int_equal(json_integer_value(json_object_get(t, "tenant_id")), tenant_a);
    json_decref(t);
    /* listed as soon as the task ended, in the caller's tenant, as specified */
    json_t *vm = vm_named("new-1");
    assert_int_equal(json_integer_value(json_object_get(vm, "tenant_id")), tenant_a);
    assert_int_equal(json_integer_value(json_object_get(vm, "host_id")), host1);
    assert_string_equal(json_string_value(json_object_get(vm, "state")), "shutoff");
    assert_int_equal(json_integer_value(json_object_get(vm, "vcpus")), 2);
    assert_int_equal(json_integer_value(json_object_get(vm, "memory_mib")), 1024);
    assert_int_equal(json_integer_value(json_object_get(vm, "disk_gib")), 8);
    assert_string_equal(json_string_value(json_object_get(vm, "firmware")), "bios");
    json_t *nic = json_array_get(json_object_get(vm, "nics"), 0);
    assert_string_equal(json_string_value(json_object_get(nic, "network")), "default");
    int64_t id = json_integer_value(json_object_get(vm, "id"));
    json_decref(vm);
    assert_int_equal(vat_used(tenant_a, "vms"), vms + 1);
    assert_int_equal(vat_reserved(tenant_a, "vms"), 0);
    /* the new VM works */
    vat_act_ok(id, "start", member_a);
    assert_string_equal(vat_vm_state(id), "running");
    /* a tenant member may not delete; its tenant admin may */
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms/%lld?force=true&delete_volumes=true", (long long)id);
    assert_int_equal(invt_status("DELETE", path, member_a, NULL), 403);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "DELETE", path, tadmin_a, NULL), 0);
    vat_expect(vat_accepted(&r, path), tadmin_a, "succeeded");
    assert_int_equal(invt_vm_id("new-1"), -1);
    assert_int_equal(vat_used(tenant_a, "vms"), vms);
    /* the name and its volume are free again */
    assert_int_equal(create(member_a, &task,
                            "{\"name\":\"new-1\",\"host_id\":%lld,\"vcpus\":1,\"memory_mib\":64,"
                            "\"disk_gib\":1,\"pool\":\"default\",\"firmware\":\"bios\"}",
                            (long long)host1),
                     202);
    vat_expect(task, member_a, "succeeded");
}

/* Every body: the status, the field named, and nothing defined. */
static void
test_bad_input_defines_nothing(void **state)
{
    (void)state;
    char long_name[301];
    memset(long_name, 'a', 300);
    long_name[300] = '\0';
    char h[32];
    snprintf(h, sizeof(h), "%lld", (long long)host1);
    const struct {
        const char *name, *vcpus, *mem, *disk, *host, *extra;
        long status;
        const char *field;
    } cases[] = {
        {"\"a<b\"", "1", "64", "1", h, "", 400, "name"},
        {"\"a\\\"b\"", "1", "64", "1", h, "", 400, "name"},
        {"\"a'b\"", "1", "64", "1", h, "", 400, "name"},
        {"\"\"", "1", "64", "1", h, "", 400, "name"},
        {"\"-x\"", "1", "64", "1", h, "", 400, "name"},
        {"\"a/b\"", "1", "64", "1", h, "", 400, "name"},
        {"12", "1", "64", "1", h, "", 400, "name"},
        {"\"ok\"", "-1", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "0", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "100000", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "\"2\"", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "1.5", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "1e30", "64", "1", h, "", 400, "vcpus"},
        {"\"ok\"", "1", "-64", "1", h, "", 400, "memory_mib"},
        {"\"ok\"", "1", "4611686018427387904", "1", h, "", 400, "memory_mib"},
        {"\"ok\"", "1", "63", "1", h, "", 400, "memory_mib"},
        {"\"ok\"", "1", "64", "0", h, "", 400, "disk_gib"},
        {"\"ok\"", "1", "64", "-5", h, "", 400, "disk_gib"},
        {"\"ok\"", "1", "64", "9999999", h, "", 400, "disk_gib"},
        {"\"ok\"", "1", "64", "1", "999", "", 404, "host_id"},
        {"\"ok\"", "1", "64", "1", "-1", "", 400, "host_id"},
        {"\"ok\"", "1", "64", "1", h, ",\"tenant_id\":999", 404, "tenant_id"},
        {"\"ok\"", "1", "64", "1", h, ",\"network\":\"nope\"", 400, "network"},
        {"\"ok\"", "1", "64", "1", h, ",\"network\":\"<net>\"", 400, "network"},
        {"\"ok\"", "1", "64", "1", h, ",\"firmware\":\"coreboot\"", 400, "firmware"},
        {"\"ok\"", "1", "64", "1", h, ",\"base_image\":\"../../etc/passwd\"", 400, "base_image"},
        {"\"ok\"", "1", "64", "1", h, ",\"base_image\":\"nopool/vol\"", 400, "base_image"},
        {"\"ok\"", "1", "64", "1", h, ",\"xml\":\"<domain/>\"", 400, "xml"},
        {"\"old-a\"", "1", "64", "1", h, "", 409, "name"},
    };
    size_t before = vat_vm_count(host1), tasks = vat_task_count("kind=vm.create");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vp_resp r;
        char *body = NULL;
        assert_true(asprintf(&body,
                             "{\"name\":%s,\"vcpus\":%s,\"memory_mib\":%s,\"disk_gib\":%s,"
                             "\"host_id\":%s,\"pool\":\"default\"%s}",
                             cases[i].name, cases[i].vcpus, cases[i].mem, cases[i].disk,
                             cases[i].host, cases[i].extra) >= 0);
        assert_int_equal(vp_json(&invt_p, "POST", "/api/v1/vms", tadmin_a, body, &r), 0);
        char *ct = vp_header(&r, "Content-Type");
        if (r.status != cases[i].status || strcmp(invt_field(&r), cases[i].field) || !ct ||
            strncmp(ct, "application/problem+json", 24))
            fail_msg("case %zu %s: %ld %s", i, body, r.status, r.body);
        free(ct);
        free(body);
        vp_resp_free(&r);
    }
    /* a 300-character name, a missing pool, an unknown pool, no body at all */
    char *body = NULL;
    assert_true(asprintf(&body,
                         "{\"name\":\"%s\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1,"
                         "\"host_id\":%s,\"pool\":\"default\"}",
                         long_name, h) >= 0);
    struct vp_resp r;
    assert_int_equal(vp_json(&invt_p, "POST", "/api/v1/vms", tadmin_a, body, &r), 0);
    assert_int_equal(r.status, 400);
    assert_string_equal(invt_field(&r), "name");
    vp_resp_free(&r);
    free(body);
    int64_t task = 0;
    assert_int_equal(create(tadmin_a, &task,
                            "{\"name\":\"ok\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1,"
                            "\"host_id\":%s}",
                            h),
                     400);
    assert_int_equal(create(tadmin_a, &task,
                            "{\"name\":\"ok\",\"vcpus\":1,\"memory_mib\":64,\"disk_gib\":1,"
                            "\"host_id\":%s,\"pool\":\"nopool\"}",
                            h),
                     400);
    assert_int_equal(invt_status("POST", "/api/v1/vms", tadmin_a, NULL), 400); /* no body */
    /* nothing was queued, reserved or defined */
    assert_int_equal(vat_task_count("kind=vm.create"), tasks);
    assert_int_equal(vat_reserved(tenant_a, "vms"), 0);
    assert_int_equal(vat_vm_count(host1), before);
    assert_int_equal(create(tadmin_a, &task,
                            "{\"name\":\"after-bad\",\"vcpus\":1,\"memory_mib\":64,"
                            "\"disk_gib\":1,\"host_id\":%s,\"pool\":\"default\"}",
                            h),
                     202);
    vat_expect(task, tadmin_a, "succeeded");
    assert_int_equal(vat_vm_count(host1), before + 1);
    assert_true(invt_vm_id("after-bad") > 0);
}

static void
set_quota(int64_t tenant, const char *limits)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld/quota", (long long)tenant);
    assert_int_equal(invt_status("PUT", path, invt_admin, "%s", limits), 200);
}

static void
test_quota_refusal(void **state)
{
    (void)state;
    int64_t tenant_c = invt_tenant("team-quota");
    set_quota(tenant_c, "{\"vms\":5,\"vcpus\":4}");
    int64_t task = 0;
    assert_int_equal(create(invt_admin, &task,
                            "{\"name\":\"c-1\",\"tenant_id\":%lld,\"host_id\":%lld,\"vcpus\":3,"
                            "\"memory_mib\":64,\"disk_gib\":1,\"pool\":\"default\"}",
                            (long long)tenant_c, (long long)host1),
                     202);
    vat_expect(task, invt_admin, "succeeded");
    size_t before = vat_vm_count(host1);
    struct vp_resp r;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"c-2\",\"tenant_id\":%lld,\"host_id\":%lld,\"vcpus\":2,"
             "\"memory_mib\":64,\"disk_gib\":1,\"pool\":\"default\"}",
             (long long)tenant_c, (long long)host1);
    assert_int_equal(vp_json(&invt_p, "POST", "/api/v1/vms", invt_admin, body, &r), 0);
    if (r.status != 403)
        fail_msg("expected 403: %ld %s", r.status, r.body);
    assert_non_null(strstr(invt_str(&r, "type"), "quota-exceeded"));
    json_t *v = json_array_get(json_object_get(r.json, "violations"), 0);
    assert_int_equal(json_array_size(json_object_get(r.json, "violations")), 1);
    assert_string_equal(json_string_value(json_object_get(v, "resource")), "vcpus");
    assert_int_equal(json_integer_value(json_object_get(v, "limit")), 4);
    assert_int_equal(json_integer_value(json_object_get(v, "used")), 3);
    assert_int_equal(json_integer_value(json_object_get(v, "requested")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "shortfall")), 1);
    json_t *qr = json_object_get(r.json, "quota_request");
    assert_int_equal(json_integer_value(json_object_get(qr, "tenant_id")), tenant_c);
    assert_true(json_integer_value(json_object_get(json_object_get(qr, "deltas"), "vcpus")) >= 1);
    vp_resp_free(&r);
    char q[96];
    snprintf(q, sizeof(q), "kind=vm.create&target=host/%lld/vms/c-2", (long long)host1);
    assert_int_equal(vat_task_count(q), 0);
    assert_int_equal(vat_vm_count(host1), before);
    assert_int_equal(vat_used(tenant_c, "vcpus"), 3);
    assert_int_equal(vat_reserved(tenant_c, "vcpus"), 0);
    assert_true(invt_audit_count("quota.reserve", NULL) >= 2); /* one ok, one denied */
}

/* A create queued behind a busy host and cancelled gives its reservation back. */
static void
test_cancelled_create_releases(void **state)
{
    (void)state;
    int64_t tenant_c = invt_tenant("team-held");
    set_quota(tenant_c, "{\"vms\":1}");
    int64_t s1 = vat_sleeper(host1, 60000), s2 = vat_sleeper(host1, 60000), task = 0;
    assert_int_equal(create(invt_admin, &task,
                            "{\"name\":\"held\",\"tenant_id\":%lld,\"host_id\":%lld,\"vcpus\":1,"
                            "\"memory_mib\":64,\"disk_gib\":1,\"pool\":\"default\"}",
                            (long long)tenant_c, (long long)host1),
                     202);
    assert_int_equal(vat_reserved(tenant_c, "vms"), 1);
    char path[64];
    int64_t ids[] = {task, s1, s2};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/v1/tasks/%lld/cancel", (long long)ids[i]);
        assert_int_equal(invt_status("POST", path, invt_admin, NULL), 202);
        vat_expect(ids[i], invt_admin, "cancelled");
    }
    assert_int_equal(vat_reserved(tenant_c, "vms"), 0);
    assert_int_equal(vat_used(tenant_c, "vms"), 0);
    assert_int_equal(invt_vm_id("held"), -1);
}

/* ---- 50 concurrent creates, quota for exactly 10, 20 rounds (issue 6) ---- */

enum { RACERS = 50, FITS = 10, ROUNDS = 20 };

struct racer {
    int round, i;
    int64_t tenant;
    long status;
    int64_t task;
    pthread_barrier_t *go;
};

static void *
race_one(void *arg)
{
    struct racer *rc = arg;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"name\":\"race%02d-%02d\",\"tenant_id\":%lld,\"host_id\":%lld,\"vcpus\":1,"
             "\"memory_mib\":128,\"disk_gib\":2,\"pool\":\"default\"}",
             rc->round, rc->i, (long long)rc->tenant, (long long)host1);
    pthread_barrier_wait(rc->go);
    struct vp_resp r;
    if (vp_json(&invt_p, "POST", "/api/v1/vms", invt_admin, body, &r) == 0) {
        rc->status = r.status;
        rc->task = r.status == 202 ? invt_int(&r, "id") : 0;
        vp_resp_free(&r);
    }
    return NULL;
}

/* One round: a fresh tenant whose quota fits exactly FITS of the VMs. */
static void
race_round(int round)
{
    char slug[32];
    snprintf(slug, sizeof(slug), "race-%02d", round);
    int64_t tenant = invt_tenant(slug);
    set_quota(tenant, "{\"vms\":10,\"vcpus\":1000,\"memory_mib\":1000000,\"disk_gib\":1000}");
    /* The host's task slots are held while the requests race, so no create
     * task runs before every request was answered: between a new VM's row and
     * the end of its reservation the VM counts twice (conservative: it can
     * refuse, never over-admit), and that window is not what this measures. */
    int64_t hold[2] = {vat_sleeper(host1, 60000), vat_sleeper(host1, 60000)};
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    pthread_t th[RACERS];
    struct racer rs[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){.round = round, .i = i, .tenant = tenant, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, race_one, &rs[i]), 0);
    }
    int admitted = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        admitted += rs[i].status == 202;
        refused += rs[i].status == 403;
    }
    pthread_barrier_destroy(&go);
    if (admitted != FITS || refused != RACERS - FITS)
        fail_msg("round %d: admitted %d, refused %d", round, admitted, refused);
    assert_int_equal(vat_reserved(tenant, "vms"), FITS);
    for (int i = 0; i < 2; i++) {
        char cancel[64];
        snprintf(cancel, sizeof(cancel), "/api/v1/tasks/%lld/cancel", (long long)hold[i]);
        assert_int_equal(invt_status("POST", cancel, invt_admin, NULL), 202);
    }
    for (int i = 0; i < RACERS; i++)
        if (rs[i].task)
            vat_expect(rs[i].task, invt_admin, "succeeded");
    /* usage is the sum of the admitted VMs, nothing stays reserved */
    assert_int_equal(vat_used(tenant, "vms"), FITS);
    assert_int_equal(vat_used(tenant, "vcpus"), FITS * 1);
    assert_int_equal(vat_used(tenant, "memory_mib"), FITS * 128);
    assert_int_equal(vat_used(tenant, "disk_gib"), FITS * 2);
    assert_int_equal(vat_reserved(tenant, "vms"), 0);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/vms?tenant_id=%lld&limit=1000", (long long)tenant);
    json_t *all = invt_list_all(path, invt_admin);
    assert_int_equal(json_array_size(all), FITS);
    json_decref(all);
}

static void
test_race_50_creates_admit_10(void **state)
{
    (void)state;
    for (int round = 0; round < ROUNDS; round++)
        race_round(round);
}

int
main(int argc, char **argv)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_start_delete),
        cmocka_unit_test(test_bad_input_defines_nothing),
        cmocka_unit_test(test_quota_refusal),
        cmocka_unit_test(test_cancelled_create_releases),
        cmocka_unit_test(test_race_50_creates_admit_10),
    };
    /* clang-format on */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
