/* The whole pipeline: plan_run, waves, estimates, TCO, host specs, virt-v2v lines, the
 * JSON / CSV / xlsx exports and the CLI. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <zip.h>

#include "arena.h"
#include "check_plan.h"
#include "fixture_io.h"
#include "plan.h"

static struct plan_vm *
add_vm(plan_inventory *inv, const char *name, int cpus, int mem_gib, int used_gib)
{
    struct plan_vm *vm = plan_inv_add_vm(inv, name);
    vm->source = "rvtools";
    vm->vcpus = cpus;
    vm->memory_mib = (uint64_t)mem_gib * 1024;
    vm->firmware = PLAN_FW_BIOS;
    vm->guest_name = "Red Hat Enterprise Linux 8 (64-bit)";
    vm->cbt = PLAN_YES;
    vm->snapshots = 0;
    vm->power = PLAN_POWER_ON;
    struct plan_disk *d = plan_vm_add_disk(inv, vm);
    d->capacity_mib = (uint64_t)used_gib * 2048;
    d->capacity_known = true;
    d->used_mib = (uint64_t)used_gib * 1024;
    d->controller = "pvscsi";
    d->bus = PLAN_BUS_SCSI;
    struct plan_nic *n = plan_vm_add_nic(inv, vm);
    n->model = "vmxnet3";
    struct plan_partition *p = plan_vm_add_partition(inv, vm);
    p->path = "/";
    p->capacity_mib = 10000;
    p->free_mib = 5000;
    return vm;
}

static void
test_estimates_and_waves(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vm%02d", i);
        add_vm(inv, name, 2, 4, 10 + i * 40);
    }
    inv->vms[3]->passthrough = true; /* not ready: no wave */
    plan_vm_add_rule(inv, inv->vms[10], false, "app");
    plan_vm_add_rule(inv, inv->vms[20], false, "app");
    inv->vms[5]->cbt = PLAN_NO;
    struct plan_request req;
    plan_request_defaults(&req);
    req.inv = inv;
    req.waves.window_hours = 4;
    err e = {0};
    plan_result *r = plan_run(&req, &e);
    assert_non_null(r);
    /* 100 GiB used at 620 Mbps: 100 × 2^30 × 8 / 620e6 s */
    const struct plan_vm_estimate *e0 = &r->estimates[0];
    assert_true(fabs(e0->transfer_hours - 10 * 8589934592.0 / 620e6 / 3600) < 1e-9);
    assert_true(fabs(e0->downtime_cold_hours - e0->transfer_hours - 0.25) < 1e-9);
    assert_true(e0->warm_possible);
    assert_true(e0->downtime_warm_hours < e0->downtime_cold_hours);
    assert_false(r->estimates[5].warm_possible);
    assert_int_equal(r->estimates[3].wave, -1);
    assert_int_equal(r->estimates[10].wave, r->estimates[20].wave); /* moved together */
    assert_true(r->nwaves >= 3);
    assert_string_equal(r->waves[0].kind, "pilot");
    assert_true(r->waves[0].nvms <= 5 && r->waves[0].nvms > 0);
    size_t in_waves = 0;
    for (size_t w = 0; w < r->nwaves; w++) {
        in_waves += r->waves[w].nvms;
        /* a wave may overrun its window only when it holds a single move group */
        if (r->waves[w].hours > 4 && w > 0)
            assert_true(r->waves[w].nvms <= 2);
        for (size_t k = 0; w == 0 && k < r->waves[w].nvms; k++)
            assert_int_equal(r->estimates[r->waves[w].vms[k]].risk, PLAN_RISK_LOW);
    }
    assert_int_equal(in_waves, 29);
    plan_result_free(r);
    plan_inv_free(inv);
}

static void
test_tco(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct plan_src_host *h = plan_inv_add_host(inv, "esx1");
    h->cores = 32;
    h = plan_inv_add_host(inv, "esx2");
    h->cores = 32;
    struct plan_request req;
    plan_request_defaults(&req);
    struct plan_tco t;
    plan_tco_compute(inv, 1, &req.cost, &t);
    double kwh = 0.15 * 1.8 * 8766 / 1000;
    assert_true(fabs(t.source_per_year - (350 * 64 + 2 * (1500 + 450 * kwh + 2000))) < 1e-6);
    assert_true(fabs(t.target_per_year - (15000.0 / 3 + 1000 + 400 * kwh + 2000)) < 1e-6);
    assert_true(fabs(t.savings_total - 3 * (t.source_per_year - t.target_per_year)) < 1e-6);
    assert_int_equal(t.source_cores, 64);
    plan_inv_free(inv);
}

static void
test_host_spec(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct plan_host *h;
    size_t n;
    err e = {0};
    assert_int_equal(plan_hosts_parse_spec(inv,
                                           "4x32c/512g/10t, 2x64c/1t/20t@big,"
                                           "16c/131072m@edge:Icelake-Server",
                                           &h, &n, &e),
                     0);
    assert_int_equal(n, 7);
    assert_string_equal(h[0].name, "kvm-1");
    assert_string_equal(h[3].name, "kvm-4");
    assert_true(h[0].cpus == 32 && h[0].memory_mib == 512 * 1024 && h[0].disk_gib == 10240);
    assert_string_equal(h[5].name, "big-2");
    assert_true(h[5].memory_mib == 1024 * 1024);
    assert_string_equal(h[6].name, "edge");
    assert_string_equal(h[6].cpu_model, "Icelake-Server");
    assert_true(h[6].memory_mib == 131072 && h[6].disk_gib == 0);
    const char *bad[] = {"",       "32/512g",      "4x32c",      "0x32c/1g",        "32c/-1g",
                         "32c/1q", "32c/1g/2g/3g", "2.5x32c/1g", "32c/1g@bad name", "x32c/1g"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (plan_hosts_parse_spec(inv, bad[i], &h, &n, &e) == 0)
            fail_msg("spec '%s' was accepted", bad[i]);
    const char *json = "{\"hosts\":[{\"name\":\"a\",\"cpus\":8,\"memory_gib\":32,\"count\":2},"
                       "{\"cpus\":4,\"memory_mib\":4096,\"disk_tib\":1}]}";
    assert_int_equal(plan_hosts_parse_json(inv, json, strlen(json), &h, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(h[1].name, "a-2");
    assert_true(h[2].disk_gib == 1024);
    const char *deep =
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]";
    assert_int_equal(plan_hosts_parse_json(inv, deep, strlen(deep), &h, &n, &e), -1);
    const char *nocpu = "[{\"memory_gib\":4}]";
    assert_int_equal(plan_hosts_parse_json(inv, nocpu, strlen(nocpu), &h, &n, &e), -1);
    plan_inv_free(inv);
}

static void
test_v2v_quoting(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct plan_vm *vm = plan_inv_add_vm(inv, "it's a VM");
    vm->source = "rvtools";
    vm->datacenter = "DC 1";
    vm->host = "esx1";
    struct arena *a = arena_new();
    struct plan_v2v_opts o = {.vcenter = "vc.example.com", .bridge = "br0"};
    const char *cmd = plan_v2v_command(a, vm, &o);
    assert_string_equal(cmd, "virt-v2v -ic 'vpx://administrator%40vsphere.local@vc.example.com/"
                             "DC%201/esx1?no_verify=1' -ip PASSWORD_FILE 'it'\\''s a VM' -o "
                             "libvirt -os 'default' -of qcow2 --bridge 'br0'");
    vm->source = "vmx";
    vm->vm_id = "/vms/a b/x.vmx";
    assert_string_equal(plan_v2v_command(a, vm, NULL),
                        "virt-v2v -i vmx '/vms/a b/x.vmx' -o libvirt -os 'default' -of qcow2");
    vm->source = "ovf";
    vm->vm_id = "/exports/web/web.ovf";
    assert_string_equal(plan_v2v_command(a, vm, NULL),
                        "virt-v2v -i ova '/exports/web' -o libvirt -os 'default' -of qcow2");
    arena_destroy(a);
    plan_inv_free(inv);
}

/* The shared fixtures through the whole pipeline, every export checked. */
static plan_result *
fixture_plan(plan_inventory *inv, struct plan_request *req)
{
    size_t len;
    char *buf = fx_read_fixture("rvtools/example1.xlsx", &len);
    assert_non_null(buf);
    err e = {0};
    assert_int_equal(plan_rvtools_read_xlsx(inv, buf, len, NULL, &e), 0);
    free(buf);
    buf = fx_read_fixture("vmx/test-i-vmx-7.vmx", &len);
    assert_int_equal(plan_vmx_read(inv, buf, len, "/vms/win2019.vmx", &e), 0);
    free(buf);
    struct plan_host *hosts;
    size_t nhosts;
    assert_int_equal(
        plan_hosts_parse_spec(inv, "2x16c/64g/1t,1x8c/32g/1t@small", &hosts, &nhosts, &e), 0);
    plan_request_defaults(req);
    req->inv = inv;
    req->hosts = hosts;
    req->nhosts = nhosts;
    req->place.overcommit[PLAN_DIM_CPU] = 2;
    req->place.headroom = 0.1;
    req->shapes = hosts; /* size with the first shape too */
    req->nshapes = 1;
    plan_result *r = plan_run(req, &e);
    if (!r)
        fail_msg("plan_run: %s", e.detail);
    return r;
}

static void check_csv_xlsx(const plan_result *r);

static void
test_exports(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    struct plan_request req;
    plan_result *r = fixture_plan(inv, &req);
    assert_int_equal(inv->nvms, 10);
    /* the placement obeys every rule (independent checker) */
    struct plan_item *items = calloc(inv->nvms, sizeof(*items));
    plan_items_from_inventory(inv, &req.place, r->assess, items);
    struct check_report rep;
    struct plan_constraints cons = {.groups = r->groups, .ngroups = r->ngroups};
    assert_int_equal(check_plan(items, inv->nvms, req.hosts, req.nhosts, &cons, &req.place,
                                r->placement->host_of, r->placement, &rep),
                     0);
    free(items);
    /* JSON */
    json_t *j = plan_export_json(r);
    assert_non_null(j);
    json_t *vms = json_object_get(j, "vms");
    assert_int_equal(json_array_size(vms), 10);
    json_t *win = json_array_get(vms, 9);
    assert_string_equal(json_string_value(json_object_get(win, "name")), "win2019");
    assert_string_equal(json_string_value(json_object_get(win, "os")), "Windows Server 2019");
    assert_non_null(strstr(json_string_value(json_object_get(win, "virt_v2v")), "-i vmx"));
    json_t *pl = json_object_get(j, "placement");
    assert_true(json_integer_value(json_object_get(pl, "hosts_used")) >=
                json_integer_value(json_object_get(json_object_get(pl, "lower_bound"), "hosts")));
    assert_int_equal(json_array_size(json_object_get(j, "unplaced")), r->placement->nunplaced);
    for (size_t i = 0; i < json_array_size(json_object_get(j, "unplaced")); i++)
        assert_non_null(json_string_value(
            json_object_get(json_array_get(json_object_get(j, "unplaced"), i), "reason")));
    char *text = json_dumps(j, 0);
    assert_non_null(text);
    free(text);
    json_decref(j);
    check_csv_xlsx(r);
    plan_result_free(r);
    plan_inv_free(inv);
}

/* CSV: a header plus one CRLF line per VM; xlsx: a zip whose workbook names our sheets. */
static void
check_csv_xlsx(const plan_result *r)
{
    size_t len;
    err e = {0};
    char *csv = plan_export_csv(r, &len, &e);
    assert_non_null(csv);
    size_t lines = 0;
    for (size_t i = 0; i + 1 < len; i++)
        lines += csv[i] == '\r' && csv[i + 1] == '\n';
    assert_int_equal(lines, 11);
    assert_int_equal(strncmp(csv, "vm,source,power,vcpus", 21), 0);
    assert_non_null(strstr(csv, ",virt-v2v -ic 'vpx://"));
    free(csv);
    /* xlsx in memory: a zip whose workbook names our sheets */
    unsigned char *x = plan_export_xlsx_mem(r, &len, &e);
    if (!x)
        fail_msg("xlsx: %s", e.detail);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(x, len, 0, &ze);
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    assert_non_null(z);
    zip_file_t *f = zip_fopen(z, "xl/workbook.xml", 0);
    assert_non_null(f);
    char wb[4096] = {0};
    assert_true(zip_fread(f, wb, sizeof(wb) - 1) > 0);
    zip_fclose(f);
    assert_non_null(strstr(wb, "name=\"VMs\""));
    assert_non_null(strstr(wb, "name=\"Unplaced\""));
    zip_discard(z);
    zip_error_fini(&ze);
    free(x);
}

/* ---------------------------------------------------------------- CLI */

static int
cli(const char *out_dir, const char *out_name, const char *const *args, size_t n)
{
    char *argv[32];
    char outpath[512];
    size_t k = 0;
    argv[k++] = "virtportal";
    argv[k++] = "plan";
    for (size_t i = 0; i < n; i++)
        argv[k++] = (char *)args[i];
    if (out_name) {
        snprintf(outpath, sizeof(outpath), "%s/%s", out_dir, out_name);
        argv[k++] = "--out";
        argv[k++] = outpath;
    }
    argv[k] = NULL;
    return plan_cli_main((int)k, argv);
}

static void
test_cli(void **state)
{
    (void)state;
    char dir[] = "/tmp/plan-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char x1[1024], v7[1024], o1[1024], p[1024];
    fx_path(x1, sizeof(x1), "rvtools/example1.xlsx");
    fx_path(v7, sizeof(v7), "vmx/test-i-vmx-7.vmx");
    fx_path(o1, sizeof(o1), "ovf/test-i-ova.ovf");
    const char *ok[] = {"--rvtools",  x1,           "--vmx",           v7,
                        "--ovf",      o1,           "--hosts",         "3x32c/256g/2t",
                        "--size",     "64c/512g",   "--anti-affinity", "sep=vm-1,vm-2",
                        "--pin",      "vm-3=kvm-2", "--exclude",       "kvm-3",
                        "--headroom", "10",         "--format",        "json"};
    assert_int_equal(cli(dir, "plan.json", ok, sizeof(ok) / sizeof(*ok)), 0);
    snprintf(p, sizeof(p), "%s/plan.json", dir);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "vms")), 11);
    json_t *vm3 = json_array_get(json_object_get(j, "vms"), 2);
    assert_string_equal(json_string_value(json_object_get(vm3, "target_host")), "kvm-2");
    json_decref(j);
    unlink(p);
    const char *xl[] = {"--vmx", v7, "--size", "16c/64g", "--format", "xlsx"};
    assert_int_equal(cli(dir, "plan.xlsx", xl, 6), 0);
    snprintf(p, sizeof(p), "%s/plan.xlsx", dir);
    assert_int_equal(access(p, R_OK), 0);
    unlink(p);
    const char *csv[] = {"--ovf", o1, "--format", "csv"};
    assert_int_equal(cli(dir, "plan.csv", csv, 4), 0);
    snprintf(p, sizeof(p), "%s/plan.csv", dir);
    unlink(p);
    /* errors: usage (2) and failures (1) */
    const char *none[] = {"--format", "json"};
    assert_int_equal(cli(dir, NULL, none, 2), 2);
    const char *fmt[] = {"--vmx", v7, "--format", "yaml"};
    assert_int_equal(cli(dir, NULL, fmt, 4), 2);
    const char *missing[] = {"--vmx", "/nonexistent.vmx"};
    assert_int_equal(cli(dir, NULL, missing, 2), 1);
    const char *badspec[] = {"--vmx", v7, "--hosts", "lots"};
    assert_int_equal(cli(dir, NULL, badspec, 4), 1);
    const char *badpin[] = {"--vmx", v7, "--hosts", "1x8c/8g", "--pin", "nope=kvm-1"};
    assert_int_equal(cli(dir, NULL, badpin, 6), 1);
    const char *headroom[] = {"--vmx", v7, "--headroom", "95"};
    assert_int_equal(cli(dir, NULL, headroom, 4), 2);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimates_and_waves),
        cmocka_unit_test(test_tco),
        cmocka_unit_test(test_host_spec),
        cmocka_unit_test(test_v2v_quoting),
        cmocka_unit_test(test_exports),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
