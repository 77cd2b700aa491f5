/* Host facts, snapshots and live stats of a generated demo inventory,
 * compared with the model the files were generated from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virt_testutil.h"

enum { SEED = 42 };

struct world {
    char *dir;
    char **paths;
    size_t npaths;
    struct virt_demo model;
    struct recorder rec;
    virt_hosts *h;
};

static int
setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    err e = {0};
    w->dir = scratch_dir();
    if (!w->dir || virt_demo_write(w->dir, SEED, &w->paths, &w->npaths, &e) < 0 ||
        virt_demo_build(SEED, 0, 0, &w->model, &e) < 0)
        return -1;
    rec_init(&w->rec);
    struct virt_sinks sinks = {.ctx = &w->rec, .on_change = rec_change};
    w->h = virt_hosts_new(NULL, &sinks, &e);
    if (!w->h)
        return -1;
    for (size_t i = 0; i < w->npaths; i++) {
        char uri[700];
        if (virt_hosts_add(w->h, (int64_t)i + 1, test_uri(uri, sizeof(uri), w->paths[i]), &e) < 0 ||
            virt_hosts_wait(w->h, (int64_t)i + 1, VIRT_HOST_CONNECTED, 20000, &e) < 0)
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
    scratch_rm(w->dir, w->paths, w->npaths);
    virt_demo_paths_free(w->paths, w->npaths);
    free(w);
    return 0;
}

static const struct virt_domain *
find_dom(const struct virt_inventory *inv, const char *uuid)
{
    for (size_t i = 0; i < inv->ndomains; i++)
        if (strcmp(inv->domains[i].uuid, uuid) == 0)
            return &inv->domains[i];
    return NULL;
}

static void
check_vm(const struct virt_demo_vm *vm, const struct virt_domain *d)
{
    if (!d)
        fail_msg("VM %s missing from the snapshot", vm->name);
    assert_string_equal(d->name, vm->name);
    assert_int_equal(d->state, vm->state);
    assert_int_equal(d->vcpus, vm->vcpus);
    assert_int_equal(d->memory_mib, vm->memory_mib);
    assert_int_equal(d->max_memory_mib, vm->memory_mib);
    assert_int_equal(d->firmware, vm->firmware);
    assert_true(d->persistent);
    assert_string_equal(d->domain_type, "kvm");
    assert_int_equal(d->ndisks, 1);
    char path[256];
    snprintf(path, sizeof(path), "/var/lib/libvirt/images/%s.qcow2", vm->name);
    assert_string_equal(d->disks[0].source, path);
    assert_string_equal(d->disks[0].target, "vda");
    assert_int_equal(d->disks[0].capacity, vm->disk_gib << 30);
    assert_int_equal(d->nnics, 1);
    assert_string_equal(d->nics[0].mac, vm->mac);
    assert_string_equal(d->nics[0].network, vm->network);
    assert_string_equal(d->nics[0].model, "virtio");
    if (vm->tenant_id) {
        assert_non_null(d->meta);
        assert_int_equal(d->meta->tenant_id, vm->tenant_id);
        assert_int_equal(d->meta->ntags, 1);
        assert_string_equal(d->meta->tags[0], vm->tag);
    } else {
        assert_null(d->meta);
    }
}

static void
snapshot_matches_model(void **state)
{
    struct world *w = *state;
    size_t total = 0;
    for (size_t hi = 0; hi < w->model.nhosts; hi++) {
        const struct virt_demo_host *dh = &w->model.hosts[hi];
        struct virt_inventory inv;
        err e = {0};
        assert_int_equal(virt_host_snapshot(w->h, (int64_t)hi + 1, 0, &inv, &e), 0);
        assert_int_equal(inv.host_id, (int64_t)hi + 1);
        assert_int_equal(inv.ndomains, dh->nvms);
        for (size_t i = 0; i < dh->nvms; i++)
            check_vm(&dh->vms[i], find_dom(&inv, dh->vms[i].uuid));
        assert_int_equal(inv.npools, 1);
        assert_string_equal(inv.pools[0].name, "default");
        assert_true(inv.pools[0].active);
        assert_int_equal(inv.pools[0].nvolumes, dh->nvms + 1);
        assert_int_equal(inv.nnetworks, 3);
        total += inv.ndomains;
        virt_inventory_free(&inv);
    }
    assert_int_equal(total, 100);
}

static void
facts_match_model(void **state)
{
    struct world *w = *state;
    static const unsigned cpus[] = {32, 48, 64, 16};
    for (size_t hi = 0; hi < w->model.nhosts; hi++) {
        const struct virt_demo_host *dh = &w->model.hosts[hi];
        struct virt_host_facts f;
        err e = {0};
        assert_int_equal(virt_host_facts(w->h, (int64_t)hi + 1, &f, &e), 0);
        assert_int_equal(f.cpus, cpus[hi]);
        assert_int_equal(f.cpus, dh->sockets * dh->cores * dh->threads);
        assert_int_equal(f.threads_per_core, dh->threads);
        assert_int_equal(f.cores_per_socket, dh->cores);
        assert_int_equal(f.memory_total_kib, dh->memory_gib * 1024 * 1024);
        assert_string_equal(f.hypervisor, "TEST");
        assert_non_null(f.hostname);
        assert_non_null(f.cpu_model);
        assert_true(f.libvirt_version >= 9000000);
        assert_false(f.kvm);
        assert_int_equal(f.npools, 1);
        assert_int_equal(f.pools[0].nvolumes, dh->nvms + 1);
        assert_true(f.pools[0].capacity > 0);
        assert_int_equal(f.nnetworks, 3);
        for (size_t i = 0; i < f.nnetworks; i++) {
            const struct virt_network *n = &f.networks[i];
            assert_true(n->active);
            if (strcmp(n->name, "default") == 0) {
                assert_string_equal(n->forward_mode, "nat");
                assert_string_equal(n->bridge, "virbr0");
            } else if (strcmp(n->name, "prod") == 0) {
                assert_string_equal(n->forward_mode, "bridge");
                assert_string_equal(n->bridge, "br-prod");
            } else {
                assert_string_equal(n->name, "dmz");
            }
        }
        virt_host_facts_free(&f);
    }
}

static const struct virt_demo_vm *
first_in_state(const struct virt_demo_host *dh, int state)
{
    for (size_t i = 0; i < dh->nvms; i++)
        if (dh->vms[i].state == state)
            return &dh->vms[i];
    return NULL;
}

static void
cache_refetches_only_what_changed(void **state)
{
    struct world *w = *state;
    const struct virt_demo_host *dh = &w->model.hosts[1];
    struct virt_inventory inv;
    err e = {0};
    assert_int_equal(virt_host_snapshot(w->h, 2, 0, &inv, &e), 0);
    virt_inventory_free(&inv);
    /* warm: nothing to fetch */
    assert_int_equal(virt_host_snapshot(w->h, 2, 0, &inv, &e), 0);
    assert_int_equal(inv.xml_fetched, 0);
    assert_int_equal(inv.ndomains, dh->nvms);
    for (size_t i = 0; i < dh->nvms; i++)
        check_vm(&dh->vms[i], find_dom(&inv, dh->vms[i].uuid));
    virt_inventory_free(&inv);

    /* metadata change: one event, one refetch, new value visible */
    const struct virt_demo_vm *vm = first_in_state(dh, VIRT_DOM_RUNNING);
    assert_non_null(vm);
    char *tags[] = {"changed"};
    struct virt_meta m = {.tenant_id = 77, .tags = tags, .ntags = 1};
    assert_int_equal(virt_meta_set(w->h, 2, vm->uuid, &m, &e), 0);
    assert_true(rec_wait(&w->rec, 2, vm->uuid, VIRT_CHANGE_CONFIG, 5000));
    assert_int_equal(virt_host_snapshot(w->h, 2, 0, &inv, &e), 0);
    assert_int_equal(inv.xml_fetched, 1);
    const struct virt_domain *d = find_dom(&inv, vm->uuid);
    assert_non_null(d);
    assert_non_null(d->meta);
    assert_int_equal(d->meta->tenant_id, 77);
    assert_string_equal(d->meta->tags[0], "changed");
    virt_inventory_free(&inv);

    /* state change to shut off: live -> inactive config */
    assert_int_equal(virt_domain_act(w->h, 2, vm->uuid, VIRT_ACT_POWEROFF, &e), 0);
    assert_int_equal(virt_host_snapshot(w->h, 2, VIRT_SNAPSHOT_DOMAINS_ONLY, &inv, &e), 0);
    assert_true(inv.xml_fetched >= 1);
    assert_int_equal(inv.npools, 0);
    assert_int_equal(find_dom(&inv, vm->uuid)->state, VIRT_DOM_SHUTOFF);
    virt_inventory_free(&inv);

    assert_int_equal(virt_host_snapshot(w->h, 2, VIRT_SNAPSHOT_FULL, &inv, &e), 0);
    assert_int_equal(inv.xml_fetched, dh->nvms);
    virt_inventory_free(&inv);
}

static void
single_domain_and_stats(void **state)
{
    struct world *w = *state;
    const struct virt_demo_host *dh = &w->model.hosts[0];
    const struct virt_demo_vm *vm = first_in_state(dh, VIRT_DOM_RUNNING);
    assert_non_null(vm);
    arena *a = arena_new();
    struct virt_domain d;
    err e = {0};
    assert_int_equal(virt_domain_get(w->h, 1, vm->uuid, a, &d, &e), 0);
    check_vm(vm, &d);
    arena_destroy(a);

    struct virt_domain_stats st;
    assert_int_equal(virt_domain_stats(w->h, 1, vm->uuid, &st, &e), 0);
    assert_string_equal(st.uuid, vm->uuid);
    assert_int_equal(st.state, VIRT_DOM_RUNNING);
    assert_true(st.have & VIRT_STATS_CPU);
    assert_true(st.have & VIRT_STATS_BALLOON);
    assert_int_equal(st.mem_current_kib, vm->memory_mib * 1024);
    assert_int_equal(st.vcpus, vm->vcpus);
    assert_true(st.sampled_ms > 0);

    struct virt_domain_stats *all = NULL;
    size_t n = 0;
    assert_int_equal(virt_host_stats(w->h, 1, &all, &n, &e), 0);
    assert_int_equal(n, dh->nvms);
    free(all);

    assert_int_equal(virt_domain_stats(w->h, 1, "00000000-0000-4000-8000-000000000000", &st, &e),
                     -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_int_equal(virt_domain_stats(w->h, 1, "not-a-uuid", &st, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_int_equal(virt_domain_stats(w->h, 99, vm->uuid, &st, &e), -1);
    assert_int_equal(e.kind, ERR_NOT_FOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_matches_model),
        cmocka_unit_test(facts_match_model),
        cmocka_unit_test(cache_refetches_only_what_changed),
        cmocka_unit_test(single_domain_and_stats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
