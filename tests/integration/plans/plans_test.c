/* Plans against the real binary: VMware uploads (the shared fixtures: RVTools
 * xlsx, .vmx, .ovf) as raw bodies and as the JSON form, exports in three formats
 * (the xlsx opened as a zip and its sheets named), bad input with the field at
 * fault, KVM rebalance and drain plans over libvirt test-driver hosts registered
 * through the API, and their execution — which the test driver cannot do: every
 * migration fails, cleanly, step by step, with its audit trail. One server per
 * case (tests/integration/inventory/invt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <zip.h>

#include "invt.h"

/* ---------------------------------------------------------------- helpers */

static char *
fixture(const char *rel, size_t *len)
{
    const char *dir = getenv("VP_FIXTURES");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "../shared/fixtures", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("fixture %s: cannot open (VP_FIXTURES=%s)", path, dir ? dir : "unset");
    char *buf = malloc(4 << 20);
    *len = fread(buf, 1, 4 << 20, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* POST /api/v1/plans<query> with a raw body of content type `ctype` (NULL: none). */
static void
upload(struct vp_resp *r, const char *query, const char *ctype, const char *body, size_t len)
{
    char auth[600], ct[200], path[600];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", invt_admin);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/octet-stream");
    snprintf(path, sizeof(path), "/api/v1/plans%s", query ? query : "");
    const char *headers[] = {auth, ct, NULL};
    assert_int_equal(vp_http(&invt_p, "POST", path, headers, body, len, r), 0);
}

static int64_t
created(struct vp_resp *r)
{
    if (r->status != 201)
        fail_msg("expected 201, got %ld: %s", r->status, r->body);
    int64_t id = invt_int(r, "id");
    assert_true(id > 0);
    assert_string_equal(invt_str(r, "state"), "ready");
    return id;
}

static void
expect_field(struct vp_resp *r, long status, const char *field)
{
    if (r->status != status || strcmp(invt_field(r), field))
        fail_msg("expected %ld on '%s', got %ld '%s': %s", status, field, r->status, invt_field(r),
                 r->body);
    vp_resp_free(r);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (60 s) until task `id` has ended; returns its final state (static). */
static const char *
wait_task(int64_t id, char *error, size_t n)
{
    static char state[32];
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tasks/%lld", (long long)id);
    for (int i = 0; i < 600; i++) {
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
        snprintf(state, sizeof(state), "%s", invt_str(&r, "state"));
        if (error)
            snprintf(error, n, "%s", invt_str(&r, "error"));
        vp_resp_free(&r);
        if (!strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled"))
            return state;
        sleep_ms(100);
    }
    fail_msg("task %lld did not end", (long long)id);
    return state;
}

static json_t *
get_plan(int64_t id)
{
    char path[64];
    struct vp_resp r;
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)id);
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

static void export(int64_t id, const char *fmt, struct vp_resp *r)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/export?format=%s", (long long)id, fmt);
    assert_int_equal(invt_req(r, "GET", path, invt_admin, NULL), 0);
    if (r->status != 200)
        fail_msg("GET %s: %ld %s", path, r->status, r->body);
}

/* The sheet names of an xlsx (xl/workbook.xml of the zip), as one string. */
static void
xlsx_sheets(const char *data, size_t len, char *out, size_t n)
{
    zip_error_t ze;
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    assert_non_null(z);
    zip_file_t *f = zip_fopen(z, "xl/workbook.xml", 0);
    assert_non_null(f);
    char xml[16384];
    zip_int64_t got = zip_fread(f, xml, sizeof(xml) - 1);
    assert_true(got > 0);
    xml[got] = '\0';
    zip_fclose(f);
    zip_close(z);
    out[0] = '\0';
    size_t used = 0;
    for (const char *p = strstr(xml, "<sheet name=\""); p; p = strstr(p + 1, "<sheet name=\"")) {
        const char *s = p + 13, *q = strchr(s, '"');
        if (q && used + (size_t)(q - s) + 2 < n)
            used += (size_t)snprintf(out + used, n - used, "%.*s,", (int)(q - s), s);
    }
}

static int
audit_outcome_count(const char *action, const char *outcome)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&action=%s", action);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    int n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r.json, "items"), i, row)
    {
        const char *o = json_string_value(json_object_get(row, "outcome"));
        n += !strcmp(json_string_value(json_object_get(row, "action")), action) && o &&
             !strcmp(o, outcome);
    }
    vp_resp_free(&r);
    return n;
}

/* ---------------------------------------------------------------- imports */

static void
test_rvtools_upload_and_exports(void **state)
{
    (void)state;
    size_t len;
    char *x = fixture("rvtools/example1.xlsx", &len);
    struct vp_resp r;
    upload(&r, "?hosts=4x32c/256g/10t&name=example1&headroom=10",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x, len);
    int64_t id = created(&r);
    assert_string_equal(invt_str(&r, "kind"), "vmware-import");
    assert_string_equal(invt_str(&r, "name"), "example1");
    json_t *res = json_object_get(r.json, "result");
    size_t nvms = json_array_size(json_object_get(res, "vms"));
    assert_true(nvms > 0);
    /* the fixture's inconsistencies come back as warnings, not as a failure */
    size_t warnings = json_array_size(json_object_get(res, "warnings")), i;
    json_t *vm;
    json_array_foreach(json_object_get(res, "vms"), i, vm) warnings +=
        json_array_size(json_object_get(vm, "warnings"));
    assert_true(warnings > 0);
    assert_non_null(json_object_get(res, "placement"));
    vp_resp_free(&r);
    free(x);

    export(id, "json", &r);
    char *disp = vp_header(&r, "Content-Disposition");
    assert_non_null(disp);
    assert_non_null(strstr(disp, "attachment; filename=\"plan-"));
    free(disp);
    assert_int_equal(json_array_size(json_object_get(r.json, "vms")), nvms);
    vp_resp_free(&r);
    export(id, "csv", &r);
    assert_memory_equal(r.body, "vm,source,", 10);
    assert_non_null(strstr(r.body, "virt-v2v "));
    size_t lines = 0;
    for (size_t k = 0; k < r.len; k++)
        lines += r.body[k] == '\n';
    assert_int_equal(lines, nvms + 1);
    vp_resp_free(&r);
    export(id, "xlsx", &r);
    assert_memory_equal(r.body, "PK\x03\x04", 4);
    char sheets[512];
    xlsx_sheets(r.body, r.len, sheets, sizeof(sheets));
    assert_string_equal(sheets, "Summary,VMs,Findings,Hosts,Unplaced,Waves,");
    vp_resp_free(&r);
    assert_int_equal(invt_status("GET", "/api/v1/plans/999/export?format=csv", invt_admin, NULL),
                     404);
}

static void
test_vmx_ovf_uploads_and_json_form(void **state)
{
    (void)state;
    size_t len;
    char *v = fixture("vmx/test-i-vmx-1.vmx", &len);
    struct vp_resp r;
    upload(&r, "?format=vmx&filename=test-i-vmx-1.vmx", NULL, v, len);
    created(&r);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "result"), "vms")), 1);
    vp_resp_free(&r);
    free(v);
    char *o = fixture("ovf/test-i-ova-two-disks.ovf", &len);
    upload(&r, "?sizing=64c/1t/20t", "application/ovf+xml", o, len);
    int64_t id = created(&r);
    json_t *res = json_object_get(r.json, "result");
    assert_true(json_array_size(json_object_get(res, "vms")) >= 1);
    assert_int_equal(json_array_size(json_object_get(res, "sizing")), 1);
    vp_resp_free(&r);
    free(o);
    export(id, "csv", &r);
    vp_resp_free(&r);
    /* the JSON form: every .vmx fixture inline, with rules by VM name */
    json_t *files = json_array();
    for (int k = 1; k <= 7; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "vmx/test-i-vmx-%d.vmx", k);
        char *text = fixture(rel, &len);
        json_array_append_new(files, json_pack("{s:s,s:s%}", "name", rel, "content", text, len));
        free(text);
    }
    json_t *body =
        json_pack("{s:s,s:{s:s,s:o},s:s,s:{s:f,s:{s:f,s:f}}}", "kind", "vmware-import", "inventory",
                  "format", "vmx", "files", files, "targets", "2x16c/64g", "constraints",
                  "headroom", 20.0, "overcommit", "cpu", 4.0, "memory", 1.5);
    char *text = json_dumps(body, JSON_COMPACT);
    assert_int_equal(invt_req(&r, "POST", "/api/v1/plans", invt_admin, "%s", text), 0);
    created(&r);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r.json, "result"), "vms")), 7);
    vp_resp_free(&r);
    free(text);
    json_decref(body);
}

static void
test_async_planning(void **state)
{
    (void)state;
    size_t len;
    char *v = fixture("vmx/test-i-vmx-2.vmx", &len);
    struct vp_resp r;
    upload(&r, "?format=vmx&async=true&hosts=1x8c/32g", NULL, v, len);
    free(v);
    assert_int_equal(r.status, 202);
    char *loc = vp_header(&r, "Location");
    assert_non_null(strstr(loc, "/api/v1/tasks/"));
    int64_t id = invt_int(&r, "id");
    assert_string_equal(invt_str(&r, "state"), "draft");
    int64_t task = json_integer_value(json_object_get(json_object_get(r.json, "task"), "id"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "task"), "kind")),
                        "plan.compute");
    free(loc);
    vp_resp_free(&r);
    assert_string_equal(wait_task(task, NULL, 0), "succeeded");
    json_t *p = get_plan(id);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "ready");
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "result"), "vms")), 1);
    json_decref(p);
    assert_true(invt_audit_count("plan.create", NULL) >= 1);
    assert_true(invt_audit_count("plan.compute", NULL) >= 1);
}

static void
test_bad_input(void **state)
{
    (void)state;
    struct vp_resp r;
    static const char junk[] = "PK\x03\x04 this is no spreadsheet at all";
    upload(&r, NULL, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", junk,
           sizeof(junk) - 1);
    expect_field(&r, 400, "inventory.files[0]");
    upload(&r, NULL, "image/png", junk, sizeof(junk) - 1);
    assert_int_equal(r.status, 415);
    vp_resp_free(&r);
    upload(&r, "?format=vmx", NULL, "", 0);
    expect_field(&r, 400, "inventory");
    upload(&r, "?format=vmx&headroom=abc", NULL, "displayName = \"x\"\n", 18);
    expect_field(&r, 400, "headroom");
    upload(&r, "?format=vmx&bogus=1", NULL, "displayName = \"x\"\n", 18);
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);
    upload(&r, "?format=exe", NULL, "x", 1);
    expect_field(&r, 400, "format");
    static const char *const cases[][2] = {
        {"{\"kind\":\"rebalance\",\"constraints\":{\"overcommit\":{\"cpu\":0}}}",
         "constraints.overcommit.cpu"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"overcommit\":{\"memory\":-2}}}",
         "constraints.overcommit.memory"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"overcommit\":1000}}",
         "constraints.overcommit"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"headroom\":95}}", "constraints.headroom"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"headroom\":-1}}", "constraints.headroom"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"threshold\":9}}", "constraints.threshold"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"cpu_check\":\"maybe\"}}",
         "constraints.cpu_check"},
        {"{\"kind\":\"rebalance\",\"constraints\":{\"colour\":1}}", "constraints.colour"},
        {"{\"kind\":\"drain\",\"drain\":{\"host_ids\":[4242]}}", "drain.host_ids[0]"},
        {"{\"kind\":\"drain\"}", "drain.host_ids"},
        {"{\"kind\":\"rebalance\",\"targets\":{\"host_ids\":[77]}}", "targets.host_ids[0]"},
        {"{\"kind\":\"teleport\"}", "kind"},
        {"{\"kind\":\"rebalance\",\"extra\":true}", "extra"},
        {"{\"kind\":\"vmware-import\"}", "inventory.format"},
        {"{\"kind\":\"vmware-import\",\"inventory\":{\"format\":\"vmx\",\"files\":[{\"name\":"
         "\"a.vmx\",\"content_base64\":\"!!!\"}]}}",
         "inventory.files[0]"},
        {"{\"kind\":\"vmware-import\",\"inventory\":{\"format\":\"vmx\",\"files\":[{\"content\":"
         "\"displayName = \\\"a\\\"\"}]},\"targets\":\"lots of hosts\"}",
         "targets"},
        {"{\"kind\":\"vmware-import\",\"inventory\":{\"format\":\"vmx\",\"files\":[{\"content\":"
         "\"displayName = "
         "\\\"a\\\"\"}]},\"targets\":\"2x8c/16g\",\"constraints\":{\"anti_affinity\""
         ":[{\"name\":\"x\",\"vms\":[\"a\",\"nope\"]}]}}",
         "constraints.anti_affinity[0].vms[1]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(invt_req(&r, "POST", "/api/v1/plans", invt_admin, "%s", cases[i][0]), 0);
        if (r.status != 400 || strcmp(invt_field(&r), cases[i][1]))
            fail_msg("%s: expected 400 on '%s', got %ld: %s", cases[i][0], cases[i][1], r.status,
                     r.body);
        assert_non_null(strstr(r.headers, "application/problem+json"));
        vp_resp_free(&r);
    }
    assert_int_equal(invt_status("GET", "/api/v1/plans/1", invt_admin, NULL), 404);
    assert_int_equal(invt_status("GET", "/api/v1/plans?state=odd", invt_admin, NULL), 400);
}

/* ---------------------------------------------------------------- KVM plans */

/* host-a: 3 running VMs and a shut-off one; host-b: 1 VM; host-c: empty, small. */
static void
kvm_hosts(int64_t ids[3])
{
    struct invt_dom a[4] = {{"web1", NULL, 1, 2, 8192, 10, 0, {0}, false},
                            {"web2", NULL, 1, 2, 8192, 10, 0, {0}, false},
                            {"db1", NULL, 1, 4, 16384, 20, 0, {0}, false},
                            {"old", NULL, 5, 1, 1024, 5, 0, {0}, false}};
    struct invt_dom b[1] = {{"app1", NULL, 1, 2, 8192, 10, 0, {0}, false}};
    ids[0] = invt_host("host-a", invt_host_file("a.xml", 16, 64, a, 4));
    ids[1] = invt_host("host-b", invt_host_file("b.xml", 16, 64, b, 1));
    ids[2] = invt_host("host-c", invt_host_file("c.xml", 8, 16, NULL, 0));
}

static int64_t kvm_plan(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int64_t
kvm_plan(const char *fmt, ...)
{
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", "/api/v1/plans", invt_admin, "%s", body), 0);
    int64_t id = created(&r);
    vp_resp_free(&r);
    return id;
}

static size_t
count_moves(const json_t *result, const char *vm, const char *from)
{
    size_t n = 0, k, i;
    json_t *step, *m;
    json_array_foreach(json_object_get(result, "steps"), k, step)
        json_array_foreach(json_object_get(step, "moves"), i, m)
    {
        n += (!vm || !strcmp(json_string_value(json_object_get(m, "vm")), vm)) &&
             (!from || !strcmp(json_string_value(json_object_get(m, "from")), from));
    }
    return n;
}

static void
test_drain_plan_and_failed_execution(void **state)
{
    (void)state;
    int64_t h[3];
    kvm_hosts(h);
    int64_t id =
        kvm_plan("{\"kind\":\"drain\",\"name\":\"maint a\",\"drain\":{\"host_ids\":[%lld]},"
                 "\"constraints\":{\"per_host\":2}}",
                 (long long)h[0]);
    json_t *p = get_plan(id), *res = json_object_get(p, "result");
    json_t *sum = json_object_get(p, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "migrations")), 3);
    assert_int_equal(count_moves(res, NULL, "host-a"), 3);
    assert_true(json_integer_value(json_object_get(sum, "steps")) >= 2); /* 2 per host */
    /* the shut-off VM cannot move live: explained */
    json_t *stuck = json_array_get(json_object_get(res, "stuck"), 0);
    assert_string_equal(json_string_value(json_object_get(stuck, "vm")), "old");
    assert_non_null(strstr(json_string_value(json_object_get(stuck, "reason")), "not running"));
    json_decref(p);
    struct vp_resp r;
    export(id, "csv", &r);
    assert_memory_equal(r.body, "step,vm,from,to,", 16);
    vp_resp_free(&r);
    export(id, "xlsx", &r);
    char sheets[256];
    xlsx_sheets(r.body, r.len, sheets, sizeof(sheets));
    assert_string_equal(sheets, "Summary,Moves,Hosts,Stuck,");
    vp_resp_free(&r);

    /* plan.write without host.admin: refused and audited */
    invt_user("ops", 0, "operator");
    char *ops = invt_login("ops"), path[64], err[256];
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/execute", (long long)id);
    assert_int_equal(invt_status("POST", path, ops, NULL), 403);
    free(ops);
    assert_true(audit_outcome_count("plan.execute", "denied") >= 1);

    /* the test driver cannot migrate: the first step fails, the plan stops there */
    assert_int_equal(invt_req(&r, "POST", path, invt_admin, "{\"tunnelled\":true}"), 0);
    assert_int_equal(r.status, 202);
    int64_t task = invt_int(&r, "id");
    assert_string_equal(invt_str(&r, "kind"), "plan.execute");
    vp_resp_free(&r);
    assert_string_equal(wait_task(task, err, sizeof(err)), "failed");
    assert_non_null(strstr(err, "did not succeed"));
    p = get_plan(id);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "failed");
    json_t *ex = json_object_get(p, "execution");
    assert_string_equal(json_string_value(json_object_get(ex, "state")), "failed");
    size_t i, failed = 0, pending = 0;
    json_t *m;
    json_array_foreach(json_object_get(ex, "moves"), i, m)
    {
        const char *st = json_string_value(json_object_get(m, "state"));
        failed += !strcmp(st, "failed");
        pending += !strcmp(st, "pending");
        if (!strcmp(st, "failed"))
            assert_true(json_string_length(json_object_get(m, "error")) > 0);
    }
    assert_true(failed >= 1);
    assert_true(pending >= 1); /* later steps never started */
    json_decref(p);
    assert_true(audit_outcome_count("plan.execute", "ok") >= 1);
    assert_true(invt_audit_count("vm.migrate", NULL) >= (int)failed);
    assert_true(audit_outcome_count("plan.executed", "failed") == 1);
    assert_true(invt_audit_count("task.failed", NULL) >= (int)failed + 1);
    /* the VMs did not move; a failed plan is not executed again */
    assert_int_equal(invt_status("POST", path, invt_admin, NULL), 409);
    char vmpath[64];
    snprintf(vmpath, sizeof(vmpath), "/api/v1/vms/%lld", (long long)invt_vm_id("web1"));
    assert_int_equal(invt_req(&r, "GET", vmpath, invt_admin, NULL), 0);
    assert_int_equal(invt_int(&r, "host_id"), h[0]);
    vp_resp_free(&r);
}

static void
test_rebalance_plans(void **state)
{
    (void)state;
    struct invt_dom a[6];
    static const char *names[6] = {"r1", "r2", "r3", "r4", "r5", "r6"};
    for (int i = 0; i < 6; i++)
        a[i] = (struct invt_dom){names[i], NULL, 1, 2, 8192, 10, 0, {0}, false};
    int64_t ha = invt_host("busy", invt_host_file("busy.xml", 16, 64, a, 6));
    invt_host("idle1", invt_host_file("idle1.xml", 16, 64, NULL, 0));
    invt_host("idle2", invt_host_file("idle2.xml", 16, 64, NULL, 0));
    int64_t id = kvm_plan("{\"kind\":\"rebalance\",\"constraints\":{\"threshold\":3,"
                          "\"anti_affinity\":[{\"name\":\"pair\",\"vms\":[\"r1\",\"r2\"]}]}}");
    json_t *p = get_plan(id), *sum = json_object_get(p, "summary");
    double before = json_number_value(json_object_get(sum, "imbalance_before"));
    double after = json_number_value(json_object_get(sum, "imbalance_after"));
    assert_true(json_integer_value(json_object_get(sum, "migrations")) >= 2);
    assert_true(after < before);
    assert_true(json_is_true(json_object_get(sum, "balanced")));
    json_decref(p);
    /* threshold 1: only mandatory moves, none here; executing it is done at once */
    id = kvm_plan("{\"kind\":\"rebalance\",\"targets\":{\"host_ids\":[%lld]},"
                  "\"constraints\":{\"threshold\":1}}",
                  (long long)ha);
    p = get_plan(id);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(p, "summary"), "migrations")), 0);
    json_decref(p);
    char path[64];
    struct vp_resp r;
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/execute", (long long)id);
    assert_int_equal(invt_req(&r, "POST", path, invt_admin, NULL), 0);
    assert_int_equal(r.status, 202);
    assert_string_equal(wait_task(invt_int(&r, "id"), NULL, 0), "succeeded");
    vp_resp_free(&r);
    p = get_plan(id);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "done");
    json_decref(p);
    assert_int_equal(invt_status("POST", path, invt_admin, NULL), 409);
    /* list and filters */
    json_t *all = invt_list_all("/api/v1/plans?kind=rebalance&limit=1", invt_admin);
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
}

/* A .vmx file of a VM with `vcpus` and 1 GiB of memory, annotated. */
static json_t *
vmx_file(const char *name, int vcpus, const char *annotation)
{
    char text[512];
    snprintf(text, sizeof(text),
             "displayName = \"%s\"\nnumvcpus = \"%d\"\nmemsize = \"1024\"\n"
             "guestOS = \"rhel8-64\"\nannotation = \"%s\"\n",
             name, vcpus, annotation);
    char file[64];
    snprintf(file, sizeof(file), "%s.vmx", name);
    return json_pack("{s:s,s:s}", "name", file, "content", text);
}

static void
put_quota(int64_t tenant, const char *limits)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld/quota", (long long)tenant);
    assert_int_equal(invt_status("PUT", path, invt_admin, "%s", limits), 200);
}

/* The entry of result.unplaced for VM `vm`, or NULL. */
static json_t *
unplaced_of(json_t *res, const char *vm)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(res, "unplaced"), i, u)
    {
        if (!strcmp(json_string_value(json_object_get(u, "vm")), vm))
            return u;
    }
    return NULL;
}

/* Tenant budgets through the API: constraints.tenant_id for every VM, constraints.tenants
 * by annotation; the VMs over a tenant's quota are unplaced with reason tenant_budget,
 * and an export computes the same plan. */
static void
test_tenant_budgets(void **state)
{
    (void)state;
    int64_t acme = invt_tenant("acme"), globex = invt_tenant("globex");
    put_quota(acme, "{\"vcpus\":5}");
    put_quota(globex, "{\"vms\":1}");
    json_t *files = json_array();
    for (int k = 1; k <= 4; k++) {
        char name[16];
        snprintf(name, sizeof(name), "web-%d", k);
        json_array_append_new(files, vmx_file(name, 2, "app web"));
    }
    json_array_append_new(files, vmx_file("db-1", 1, "owner: Globex"));
    json_array_append_new(files, vmx_file("db-2", 1, "owner: globex"));
    json_t *body =
        json_pack("{s:s,s:s,s:{s:s,s:o},s:s,s:{s:I,s:[{s:I,s:s}]}}", "kind", "vmware-import",
                  "name", "budgets", "inventory", "format", "vmx", "files", files, "targets",
                  "2x16c/64g", "constraints", "tenant_id", (json_int_t)acme, "tenants", "tenant_id",
                  (json_int_t)globex, "annotation", "GLOBEX");
    char *text = json_dumps(body, JSON_COMPACT);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", "/api/v1/plans", invt_admin, "%s", text), 0);
    int64_t id = created(&r);
    json_t *res = json_object_get(r.json, "result");
    /* acme: 5 vCPUs left, 4 VMs of 2: two placed; globex: 1 VM of 2 */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(res, "placement"), "placed")), 3);
    size_t i, refused = 0;
    json_t *vm;
    json_array_foreach(json_object_get(res, "vms"), i, vm)
    {
        const char *name = json_string_value(json_object_get(vm, "name"));
        int64_t t = json_integer_value(json_object_get(vm, "tenant_id"));
        assert_int_equal(t, !strncmp(name, "db-", 3) ? globex : acme);
        json_t *u = unplaced_of(res, name);
        if (json_is_null(json_object_get(vm, "target_host"))) {
            assert_non_null(u);
            assert_string_equal(json_string_value(json_object_get(u, "constraint")),
                                "tenant_budget");
            const char *binding = json_string_value(json_object_get(u, "binding"));
            assert_string_equal(binding, t == acme ? "vcpus" : "vms");
            assert_true(json_number_value(json_object_get(u, "shortfall")) == 1);
            assert_non_null(strstr(json_string_value(json_object_get(u, "reason")),
                                   t == acme ? "vcpus short by 1" : "vms short by 1"));
            refused++;
        } else {
            assert_null(u);
        }
    }
    assert_int_equal(refused, 3);
    json_t *budget = json_object_get(res, "budget");
    assert_true(json_is_true(json_object_get(budget, "fits")));
    assert_int_equal(json_integer_value(json_object_get(budget, "refused")), 3);
    json_t *tb = json_array_get(json_object_get(budget, "tenants"), 0);
    assert_int_equal(json_integer_value(json_object_get(tb, "tenant_id")), acme);
    assert_int_equal(json_integer_value(json_object_get(tb, "placed")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(tb, "remaining"), "vcpus")),
                     5);
    assert_true(json_is_null(json_object_get(json_object_get(tb, "remaining"), "vms")));
    vp_resp_free(&r);
    /* the export computes again with the recorded budgets: same refusals */
    put_quota(acme, "{\"vcpus\":100}");
    export(id, "csv", &r);
    size_t n = 0;
    for (const char *p = r.body; (p = strstr(p, "short by 1")); p++)
        n++;
    assert_int_equal(n, 3);
    vp_resp_free(&r);
    /* an unknown tenant names its field */
    json_object_set_new(json_object_get(body, "constraints"), "tenants",
                        json_pack("[{s:i,s:[s]}]", "tenant_id", 424242, "vms", "web-1"));
    free(text);
    text = json_dumps(body, JSON_COMPACT);
    assert_int_equal(invt_req(&r, "POST", "/api/v1/plans", invt_admin, "%s", text), 0);
    expect_field(&r, 400, "constraints.tenants[0].tenant_id");
    free(text);
    json_decref(body);
}

static void
test_permissions_and_import_not_executable(void **state)
{
    (void)state;
    size_t len;
    char *v = fixture("vmx/test-i-vmx-3.vmx", &len);
    struct vp_resp r;
    upload(&r, "?format=vmx", NULL, v, len);
    int64_t id = created(&r);
    vp_resp_free(&r);
    free(v);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/plans/%lld/execute", (long long)id);
    assert_int_equal(invt_status("POST", path, invt_admin, NULL), 409);
    int64_t t = invt_tenant("acme");
    /* a tenant's budget is a placement constraint: the 2 GiB VM does not fit 1 GiB */
    char qpath[96], query[96];
    snprintf(qpath, sizeof(qpath), "/api/v1/tenants/%lld/quota", (long long)t);
    assert_int_equal(invt_status("PUT", qpath, invt_admin, "{\"memory_mib\":1024}"), 200);
    v = fixture("vmx/test-i-vmx-3.vmx", &len);
    snprintf(query, sizeof(query), "?format=vmx&hosts=1x8c/32g&tenant_id=%lld", (long long)t);
    upload(&r, query, NULL, v, len);
    created(&r);
    json_t *res = json_object_get(r.json, "result");
    json_t *budget = json_object_get(res, "budget");
    assert_true(json_is_true(json_object_get(budget, "enforced")));
    assert_true(json_is_true(json_object_get(budget, "fits")));
    assert_int_equal(json_integer_value(json_object_get(budget, "refused")), 1);
    json_t *un = json_array_get(json_object_get(res, "unplaced"), 0);
    assert_string_equal(json_string_value(json_object_get(un, "constraint")), "tenant_budget");
    assert_string_equal(json_string_value(json_object_get(un, "binding")), "memory_mib");
    assert_true(json_number_value(json_object_get(un, "shortfall")) == 1024);
    vp_resp_free(&r);
    upload(&r, "?format=vmx&tenant_id=424242", NULL, v, len);
    expect_field(&r, 400, "constraints.tenant_id");
    free(v);
    invt_user("viewer1", 0, "viewer");
    invt_user("member1", t, "tenant-member");
    char *viewer = invt_login("viewer1"), *member = invt_login("member1");
    snprintf(path, sizeof(path), "/api/v1/plans/%lld", (long long)id);
    assert_int_equal(invt_status("GET", path, viewer, NULL), 200);
    assert_int_equal(invt_status("GET", "/api/v1/plans", viewer, NULL), 200);
    assert_int_equal(invt_status("POST", "/api/v1/plans", viewer, "{\"kind\":\"rebalance\"}"), 403);
    assert_int_equal(invt_status("GET", "/api/v1/plans", member, NULL), 403);
    assert_int_equal(invt_status("GET", "/api/v1/plans", NULL, NULL), 401);
    free(viewer);
    free(member);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rvtools_upload_and_exports, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_vmx_ovf_uploads_and_json_form, invt_setup,
                                        invt_teardown),
        cmocka_unit_test_setup_teardown(test_async_planning, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_budgets, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_drain_plan_and_failed_execution, invt_setup,
                                        invt_teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_plans, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_permissions_and_import_not_executable, invt_setup,
                                        invt_teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
