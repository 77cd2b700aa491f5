/* Actions on a generated test-driver host: power, snapshots, metadata,
 * define/undefine from a spec, tunables, migration refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virt_testutil.h"

struct world {
    char *dir;
    char *paths[2];
    struct virt_demo model;
    virt_hosts *h;
};

/* libvirt's own messages, for reading a failure (never asserted on) */
static void
log_stderr(void *ctx, int64_t host, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "[host %lld] %s\n", (long long)host, msg);
}

static int
setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    err e = {0};
    w->dir = scratch_dir();
    if (!w->dir || virt_demo_build(11, 2, 20, &w->model, &e) < 0)
        return -1;
    struct virt_sinks sinks = {.on_log = log_stderr};
    w->h = virt_hosts_new(NULL, &sinks, &e);
    for (int i = 0; i < 2; i++) {
        char path[600], uri[700];
        snprintf(path, sizeof(path), "%s/h%d.xml", w->dir, i + 1);
        w->paths[i] = strdup(path);
        if (virt_demo_write_host(&w->model.hosts[i], path, &e) < 0 ||
            virt_hosts_add(w->h, i + 1, test_uri(uri, sizeof(uri), path), &e) < 0 ||
            virt_hosts_wait(w->h, i + 1, VIRT_HOST_CONNECTED, 20000, &e) < 0)
            return -1;
    }
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    struct world *w = *state;
    virt_hosts_free(w->h);
    virt_demo_free(&w->model);
    scratch_rm(w->dir, w->paths, 2);
    free(w->paths[0]);
    free(w->paths[1]);
    free(w);
    return 0;
}

static const struct virt_demo_vm *
vm_in(struct world *w, int host, int state)
{
    const struct virt_demo_host *dh = &w->model.hosts[host - 1];
    for (size_t i = 0; i < dh->nvms; i++)
        if (dh->vms[i].state == state)
            return &dh->vms[i];
    fail_msg("no VM in state %d on host %d", state, host);
    return NULL;
}

static int
state_of(struct world *w, int host, const char *uuid)
{
    arena *a = arena_new();
    struct virt_domain d;
    err e = {0};
    int rc = virt_domain_get(w->h, host, uuid, a, &d, &e);
    arena_destroy(a);
    if (rc < 0)
        return -1;
    return d.state;
}

static void
act_ok(struct world *w, const char *uuid, enum virt_action a, int want_state)
{
    err e = {0};
    if (virt_domain_act(w->h, 1, uuid, a, &e) < 0)
        fail_msg("%s: %s", virt_action_name(a), e.detail);
    assert_int_equal(state_of(w, 1, uuid), want_state);
}

static void
act_conflict(struct world *w, const char *uuid, enum virt_action a)
{
    err e = {0};
    assert_int_equal(virt_domain_act(w->h, 1, uuid, a, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
}

static void
power_actions_change_state(void **state)
{
    struct world *w = *state;
    const char *u = vm_in(w, 1, VIRT_DOM_RUNNING)->uuid;
    act_conflict(w, u, VIRT_ACT_START);
    act_conflict(w, u, VIRT_ACT_RESUME);
    act_ok(w, u, VIRT_ACT_SUSPEND, VIRT_DOM_PAUSED);
    act_conflict(w, u, VIRT_ACT_SUSPEND);
    act_ok(w, u, VIRT_ACT_RESUME, VIRT_DOM_RUNNING);
    act_ok(w, u, VIRT_ACT_REBOOT, VIRT_DOM_RUNNING);
    act_ok(w, u, VIRT_ACT_RESET, VIRT_DOM_RUNNING);
    act_ok(w, u, VIRT_ACT_SHUTDOWN, VIRT_DOM_SHUTOFF);
    act_conflict(w, u, VIRT_ACT_SHUTDOWN);
    act_conflict(w, u, VIRT_ACT_SUSPEND);
    act_conflict(w, u, VIRT_ACT_POWEROFF);
    act_ok(w, u, VIRT_ACT_START, VIRT_DOM_RUNNING);
    act_ok(w, u, VIRT_ACT_POWEROFF, VIRT_DOM_SHUTOFF);
    act_ok(w, u, VIRT_ACT_START, VIRT_DOM_RUNNING);

    err e = {0};
    assert_int_equal(
        virt_domain_act(w->h, 1, "6695eb01-f6a4-8304-79aa-000000000000", VIRT_ACT_START, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_domain_act(w->h, 1, "../etc", VIRT_ACT_START, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(virt_domain_act(w->h, 1, u, (enum virt_action)42, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);

    enum virt_action a;
    assert_int_equal(virt_action_parse("poweroff", &a), 0);
    assert_int_equal(a, VIRT_ACT_POWEROFF);
    assert_int_equal(virt_action_parse("destroy", &a), -1);
    assert_string_equal(virt_action_name(VIRT_ACT_RESET), "reset");
}

static void
snapshots_lifecycle(void **state)
{
    struct world *w = *state;
    const char *u = vm_in(w, 1, VIRT_DOM_SHUTOFF)->uuid;
    err e = {0};
    assert_int_equal(virt_snapshot_create(w->h, 1, u, "s1", "before <upgrade> & \"x\"", &e), 0);
    assert_int_equal(virt_snapshot_create(w->h, 1, u, "s2", NULL, &e), 0);
    assert_int_equal(virt_snapshot_create(w->h, 1, u, "s2", NULL, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    assert_int_equal(virt_snapshot_create(w->h, 1, u, "bad name", NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(virt_snapshot_create(w->h, 1, u, "<x>", NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);

    struct virt_snapshot_list l;
    assert_int_equal(virt_snapshot_list(w->h, 1, u, &l, &e), 0);
    assert_int_equal(l.n, 2);
    int s1 = strcmp(l.items[0].name, "s1") == 0 ? 0 : 1;
    assert_string_equal(l.items[s1].name, "s1");
    assert_string_equal(l.items[s1].description, "before <upgrade> & \"x\"");
    assert_string_equal(l.items[s1].state, "shutoff");
    assert_null(l.items[s1].parent);
    assert_string_equal(l.items[1 - s1].parent, "s1");
    assert_true(l.items[1 - s1].current);
    assert_true(l.items[s1].created > 1600000000);
    virt_snapshot_list_free(&l);

    assert_int_equal(virt_snapshot_revert(w->h, 1, u, "s1", &e), 0);
    assert_int_equal(virt_snapshot_revert(w->h, 1, u, "nope", &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_snapshot_delete(w->h, 1, u, "s2", &e), 0);
    assert_int_equal(virt_snapshot_delete(w->h, 1, u, "s2", &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_snapshot_list(w->h, 1, u, &l, &e), 0);
    assert_int_equal(l.n, 1);
    assert_true(l.items[0].current);
    virt_snapshot_list_free(&l);
    assert_int_equal(virt_snapshot_delete(w->h, 1, u, "s1", &e), 0);
}

static void
metadata_get_set(void **state)
{
    struct world *w = *state;
    const struct virt_demo_host *dh = &w->model.hosts[0];
    const struct virt_demo_vm *with = NULL, *without = NULL;
    for (size_t i = 0; i < dh->nvms; i++) {
        if (dh->vms[i].tenant_id && !with)
            with = &dh->vms[i];
        if (!dh->vms[i].tenant_id && !without)
            without = &dh->vms[i];
    }
    assert_non_null(with);
    assert_non_null(without);
    arena *a = arena_new();
    struct virt_meta m;
    err e = {0};
    assert_int_equal(virt_meta_get(w->h, 1, with->uuid, a, &m, &e), 0);
    assert_int_equal(m.tenant_id, with->tenant_id);
    assert_int_equal(m.ntags, 1);
    assert_string_equal(m.tags[0], with->tag);
    assert_int_equal(virt_meta_get(w->h, 1, without->uuid, a, &m, &e), 0);
    assert_int_equal(m.tenant_id, 0);
    assert_int_equal(m.ntags, 0);

    char *tags[] = {"db", "prod", "owner:alice"};
    struct virt_meta set = {.tenant_id = 2, .tags = tags, .ntags = 3};
    assert_int_equal(virt_meta_set(w->h, 1, without->uuid, &set, &e), 0);
    assert_int_equal(virt_meta_get(w->h, 1, without->uuid, a, &m, &e), 0);
    assert_int_equal(m.tenant_id, 2);
    assert_int_equal(m.ntags, 3);
    assert_string_equal(m.tags[2], "owner:alice");

    struct virt_meta clear = {0};
    assert_int_equal(virt_meta_set(w->h, 1, without->uuid, &clear, &e), 0);
    assert_int_equal(virt_meta_get(w->h, 1, without->uuid, a, &m, &e), 0);
    assert_int_equal(m.tenant_id, 0);
    assert_int_equal(m.ntags, 0);

    char *bad[] = {"ok", "<script>"};
    struct virt_meta b = {.tenant_id = 1, .tags = bad, .ntags = 2};
    assert_int_equal(virt_meta_set(w->h, 1, without->uuid, &b, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    b.tenant_id = -1;
    b.ntags = 0;
    assert_int_equal(virt_meta_set(w->h, 1, without->uuid, &b, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    arena_destroy(a);
}

static void
counts(struct world *w, size_t *ndom, size_t *nvol)
{
    struct virt_inventory inv;
    err e = {0};
    assert_int_equal(virt_host_snapshot(w->h, 1, 0, &inv, &e), 0);
    *ndom = inv.ndomains;
    *nvol = inv.pools[0].nvolumes;
    virt_inventory_free(&inv);
}

static struct virt_spec
spec(const char *name)
{
    static const char *const tags[] = {"created"};
    return (struct virt_spec){.name = name,
                              .vcpus = 2,
                              .memory_mib = 2048,
                              .disk_gib = 30,
                              .pool = "default",
                              .network = "prod",
                              .firmware = VIRT_FW_UEFI,
                              .partition = "/machine/virtportal-1.slice",
                              .tenant_id = 1,
                              .tags = tags,
                              .ntags = 1,
                              .domtype = VIRT_DOMTYPE_AUTO};
}

static void
define_round_trip_and_undefine(void **state)
{
    struct world *w = *state;
    size_t d0, v0, d1, v1;
    counts(w, &d0, &v0);
    struct virt_spec s = spec("new-01");
    char uuid[VIRT_UUID_LEN + 1];
    err e = {0};
    if (virt_domain_define(w->h, 1, &s, uuid, &e) < 0)
        fail_msg("define: %s", e.detail);
    counts(w, &d1, &v1);
    assert_int_equal(d1, d0 + 1);
    assert_int_equal(v1, v0 + 1);

    arena *a = arena_new();
    struct virt_domain d;
    assert_int_equal(virt_domain_get(w->h, 1, uuid, a, &d, &e), 0);
    assert_string_equal(d.name, "new-01");
    assert_string_equal(d.domain_type, "qemu"); /* AUTO: no kvm in these capabilities */
    assert_int_equal(d.state, VIRT_DOM_SHUTOFF);
    assert_true(d.persistent);
    assert_int_equal(d.vcpus, 2);
    assert_int_equal(d.memory_mib, 2048);
    assert_int_equal(d.firmware, VIRT_FW_UEFI);
    assert_string_equal(d.partition, "/machine/virtportal-1.slice");
    assert_string_equal(d.disks[0].source, "/var/lib/libvirt/images/new-01.qcow2");
    assert_string_equal(d.nics[0].network, "prod");
    assert_int_equal(d.meta->tenant_id, 1);
    arena_destroy(a);

    struct virt_inventory inv;
    assert_int_equal(virt_host_snapshot(w->h, 1, 0, &inv, &e), 0);
    for (size_t i = 0; i < inv.ndomains; i++)
        if (strcmp(inv.domains[i].uuid, uuid) == 0)
            assert_int_equal(inv.domains[i].disks[0].capacity, 30ULL << 30);
    virt_inventory_free(&inv);

    /* same name again: refused, nothing new */
    char u2[VIRT_UUID_LEN + 1];
    assert_int_equal(virt_domain_define(w->h, 1, &s, u2, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    counts(w, &d1, &v1);
    assert_int_equal(d1, d0 + 1);
    assert_int_equal(v1, v0 + 1);

    /* running: refused without force; forced with volumes */
    assert_int_equal(virt_domain_act(w->h, 1, uuid, VIRT_ACT_START, &e), 0);
    struct virt_undefine_opts o = {.delete_volumes = true};
    unsigned deleted = 0;
    assert_int_equal(virt_domain_undefine(w->h, 1, uuid, &o, &deleted, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    o.force = true;
    if (virt_domain_undefine(w->h, 1, uuid, &o, &deleted, &e) < 0)
        fail_msg("undefine: %s", e.detail);
    assert_int_equal(deleted, 1);
    counts(w, &d1, &v1);
    assert_int_equal(d1, d0);
    assert_int_equal(v1, v0);
    assert_int_equal(state_of(w, 1, uuid), -1);
}

static void
define_from_base_image(void **state)
{
    struct world *w = *state;
    struct virt_spec s = spec("from-base");
    s.pool = NULL;
    s.base_image = "default/debian-12-base.qcow2";
    s.domtype = VIRT_DOMTYPE_KVM;
    char uuid[VIRT_UUID_LEN + 1];
    err e = {0};
    if (virt_domain_define(w->h, 1, &s, uuid, &e) < 0)
        fail_msg("define from base: %s", e.detail);
    arena *a = arena_new();
    struct virt_domain d;
    assert_int_equal(virt_domain_get(w->h, 1, uuid, a, &d, &e), 0);
    assert_string_equal(d.domain_type, "kvm");
    assert_string_equal(d.disks[0].source, "/var/lib/libvirt/images/from-base.qcow2");
    arena_destroy(a);
    struct virt_undefine_opts o = {.delete_volumes = true};
    unsigned deleted = 0;
    assert_int_equal(virt_domain_undefine(w->h, 1, uuid, &o, &deleted, &e), 0);
    assert_int_equal(deleted, 1);

    s.disk_gib = 4; /* the base image is 8 GiB */
    assert_int_equal(virt_domain_define(w->h, 1, &s, uuid, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    s.disk_gib = 30;
    s.base_image = "default/missing.qcow2";
    assert_int_equal(virt_domain_define(w->h, 1, &s, uuid, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    s.base_image = "/var/lib/libvirt/images/debian-12-base.qcow2";
    if (virt_domain_define(w->h, 1, &s, uuid, &e) < 0)
        fail_msg("define from base path: %s", e.detail);
    assert_int_equal(virt_domain_undefine(w->h, 1, uuid, &o, &deleted, &e), 0);
}

static void
bad_specs_define_nothing(void **state)
{
    struct world *w = *state;
    size_t d0, v0, d1, v1;
    counts(w, &d0, &v0);
    char big[301];
    memset(big, 'n', 300);
    big[300] = '\0';
    struct {
        const char *name;
        int64_t vcpus, mem, disk;
        const char *pool, *net;
        enum err_kind kind;
        const char *detail_has;
    } cases[] = {
        {"a<b", 1, 512, 1, "default", NULL, ERR_INVALID, "name"},
        {"a\"b", 1, 512, 1, "default", NULL, ERR_INVALID, "name"},
        {"a'b", 1, 512, 1, "default", NULL, ERR_INVALID, "name"},
        {big, 1, 512, 1, "default", NULL, ERR_INVALID, "name"},
        {"neg", -2, 512, 1, "default", NULL, ERR_INVALID, "vcpus"},
        {"neg", 1, -512, 1, "default", NULL, ERR_INVALID, "memory"},
        {"neg", 1, 512, -1, "default", NULL, ERR_INVALID, "disk"},
        {"huge", 100000, 512, 1, "default", NULL, ERR_INVALID, "vcpus"},
        {"huge", 1, INT64_MAX, 1, "default", NULL, ERR_INVALID, "memory"},
        {"huge", 1, 512, INT64_MAX, "default", NULL, ERR_INVALID, "disk"},
        {"nopool", 1, 512, 1, "nope", NULL, ERR_INVALID, "pool 'nope'"},
        {"nonet", 1, 512, 1, "default", "nope", ERR_INVALID, "network 'nope'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct virt_spec s = {.name = cases[i].name,
                              .vcpus = cases[i].vcpus,
                              .memory_mib = cases[i].mem,
                              .disk_gib = cases[i].disk,
                              .pool = cases[i].pool,
                              .network = cases[i].net};
        char uuid[VIRT_UUID_LEN + 1];
        err e = {0};
        if (virt_domain_define(w->h, 1, &s, uuid, &e) == 0)
            fail_msg("case %zu defined", i);
        assert_int_equal(e.kind, cases[i].kind);
        if (!strstr(e.detail, cases[i].detail_has))
            fail_msg("case %zu: '%s' lacks '%s'", i, e.detail, cases[i].detail_has);
        assert_string_equal(uuid, "");
    }
    counts(w, &d1, &v1);
    assert_int_equal(d1, d0);
    assert_int_equal(v1, v0);
    struct virt_spec s = spec("nohost");
    char uuid[VIRT_UUID_LEN + 1];
    err e = {0};
    assert_int_equal(virt_domain_define(w->h, 42, &s, uuid, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
}

static void
tunables(void **state)
{
    struct world *w = *state;
    const char *u = vm_in(w, 1, VIRT_DOM_RUNNING)->uuid;
    err e = {0};
    struct virt_io_tune io = {
        .read_bps = 50 << 20, .write_bps = 20 << 20, .read_iops = 500, .write_iops = 200};
    if (virt_domain_set_io_tune(w->h, 1, u, &io, &e) < 0)
        fail_msg("io tune: %s", e.detail);
    struct virt_io_tune off = {0};
    assert_int_equal(virt_domain_set_io_tune(w->h, 1, u, &off, &e), 0);
    io.read_bps = UINT64_MAX;
    assert_int_equal(virt_domain_set_io_tune(w->h, 1, u, &io, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);

    struct virt_cpu_tune cpu = {.period_us = 100000, .quota_us = 50000, .per_vcpu = true};
    /* the test driver only knows "weight": a clean refusal, not a crash */
    int rc = virt_domain_set_cpu_tune(w->h, 1, u, &cpu, &e);
    if (rc < 0)
        assert_int_equal(e.kind, ERR_INVALID);
    cpu.period_us = 10;
    assert_int_equal(virt_domain_set_cpu_tune(w->h, 1, u, &cpu, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_non_null(strstr(e.detail, "period"));
    cpu.period_us = 100000;
    cpu.quota_us = 5;
    assert_int_equal(virt_domain_set_cpu_tune(w->h, 1, u, &cpu, &e), -1);
    assert_non_null(strstr(e.detail, "quota"));
}

static int
count_progress(void *ctx, const struct virt_job_progress *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static void
migration_refusals(void **state)
{
    struct world *w = *state;
    const char *run = vm_in(w, 1, VIRT_DOM_RUNNING)->uuid;
    const char *off = vm_in(w, 1, VIRT_DOM_SHUTOFF)->uuid;
    err e = {0};
    enum virt_cpu_compat c = VIRT_CPU_COMPAT_INCOMPATIBLE;
    assert_int_equal(virt_migrate_check(w->h, 1, run, 2, &c, &e), 0);
    assert_int_equal(c, VIRT_CPU_COMPAT_UNKNOWN); /* the test driver cannot compare */
    assert_string_equal(virt_cpu_compat_name(c), "unknown");

    int calls = 0;
    struct virt_migrate_opts o = {.progress = count_progress, .ctx = &calls, .poll_ms = 10};
    assert_int_equal(virt_migrate(w->h, 1, run, 1, &o, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(virt_migrate(w->h, 1, off, 2, &o, &e), -1);
    assert_int_equal(e.kind, ERR_CONFLICT);
    o.migrate_uri = "tcp://x'; rm -rf /";
    assert_int_equal(virt_migrate(w->h, 1, run, 2, &o, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    o.migrate_uri = NULL;
    o.dest_uri = "xen:///system";
    assert_int_equal(virt_migrate(w->h, 1, run, 2, &o, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    o.dest_uri = NULL;
    /* the test driver has no migration: refused as unsupported, VM untouched */
    assert_int_equal(virt_migrate(w->h, 1, run, 2, &o, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(state_of(w, 1, run), VIRT_DOM_RUNNING);
    assert_int_equal(virt_migrate(w->h, 1, run, 9, &o, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_migrate_cancel(w->h, 1, run, &e), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(power_actions_change_state),
        cmocka_unit_test(snapshots_lifecycle),
        cmocka_unit_test(metadata_get_set),
        cmocka_unit_test(define_round_trip_and_undefine),
        cmocka_unit_test(define_from_base_image),
        cmocka_unit_test(bad_specs_define_nothing),
        cmocka_unit_test(tunables),
        cmocka_unit_test(migration_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
