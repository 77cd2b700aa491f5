/* The demo inventory: deterministic, realistic, and loadable by libvirt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virt_testutil.h"

static bool
same_model(const struct virt_demo *a, const struct virt_demo *b)
{
    if (a->nhosts != b->nhosts)
        return false;
    for (size_t i = 0; i < a->nhosts; i++) {
        const struct virt_demo_host *x = &a->hosts[i], *y = &b->hosts[i];
        if (x->nvms != y->nvms || strcmp(x->name, y->name) != 0)
            return false;
        for (size_t j = 0; j < x->nvms; j++)
            if (strcmp(x->vms[j].uuid, y->vms[j].uuid) != 0 ||
                strcmp(x->vms[j].name, y->vms[j].name) != 0 || x->vms[j].state != y->vms[j].state ||
                x->vms[j].memory_mib != y->vms[j].memory_mib)
                return false;
    }
    return true;
}

static void
same_seed_same_model(void **state)
{
    (void)state;
    struct virt_demo a, b, c;
    err e = {0};
    assert_int_equal(virt_demo_build(7, 0, 0, &a, &e), 0);
    assert_int_equal(virt_demo_build(7, 0, 0, &b, &e), 0);
    assert_int_equal(virt_demo_build(8, 0, 0, &c, &e), 0);
    assert_true(same_model(&a, &b));
    assert_false(same_model(&a, &c));
    virt_demo_free(&a);
    virt_demo_free(&b);
    virt_demo_free(&c);
}

static void
model_is_realistic(void **state)
{
    (void)state;
    struct virt_demo d;
    err e = {0};
    assert_int_equal(virt_demo_build(1, 0, 0, &d, &e), 0);
    assert_int_equal(d.nhosts, 4);
    static const unsigned cpus[] = {32, 48, 64, 16};
    static const uint64_t mem[] = {256, 384, 512, 128};
    size_t total = 0, by_state[8] = {0}, tenants[4] = {0}, uefi = 0;
    char names[200][VIRT_NAME_MAX + 1], uuids[200][VIRT_UUID_LEN + 1];
    for (size_t i = 0; i < d.nhosts; i++) {
        const struct virt_demo_host *h = &d.hosts[i];
        assert_int_equal(h->sockets * h->cores * h->threads, cpus[i]);
        assert_int_equal(h->memory_gib, mem[i]);
        uint64_t used = 0;
        for (size_t j = 0; j < h->nvms; j++) {
            const struct virt_demo_vm *vm = &h->vms[j];
            assert_true(total < 200);
            memcpy(names[total], vm->name, sizeof(names[0]));
            memcpy(uuids[total], vm->uuid, sizeof(uuids[0]));
            total++;
            by_state[vm->state]++;
            assert_true(vm->tenant_id >= 0 && vm->tenant_id <= 3);
            tenants[vm->tenant_id]++;
            uefi += vm->firmware == VIRT_FW_UEFI;
            used += vm->memory_mib;
            assert_true(vm->vcpus >= 1 && vm->vcpus <= 64);
        }
        assert_true(used <= h->memory_gib * 1024); /* spread by size, no overcommit */
    }
    assert_int_equal(total, 100);
    for (size_t i = 0; i < total; i++)
        for (size_t j = i + 1; j < total; j++) {
            assert_string_not_equal(names[i], names[j]);
            assert_string_not_equal(uuids[i], uuids[j]);
        }
    assert_true(by_state[VIRT_DOM_RUNNING] > 40);
    assert_true(by_state[VIRT_DOM_PAUSED] > 0);
    assert_true(by_state[VIRT_DOM_SHUTOFF] > 0);
    assert_true(tenants[0] > 0 && tenants[1] > 0 && tenants[2] > 0 && tenants[3] > 0);
    assert_true(uefi > 0 && uefi < total);
    virt_demo_free(&d);
}

static void
files_open_in_libvirt(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    char **paths = NULL;
    size_t n = 0;
    err e = {0};
    if (virt_demo_write(dir, 3, &paths, &n, &e) < 0)
        fail_msg("demo write: %s", e.detail);
    assert_int_equal(n, 4);
    virt_hosts *h = virt_hosts_new(NULL, NULL, &e);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(strstr(paths[i], dir));
        char uri[700];
        assert_int_equal(virt_hosts_add(h, (int64_t)i, test_uri(uri, sizeof(uri), paths[i]), &e),
                         0);
        assert_int_equal(virt_hosts_wait(h, (int64_t)i, VIRT_HOST_CONNECTED, 20000, &e), 0);
    }
    virt_hosts_free(h);
    scratch_rm(dir, paths, n);
    virt_demo_paths_free(paths, n);

    assert_int_equal(virt_demo_write("/nonexistent/dir", 3, &paths, &n, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_null(paths);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_model),
        cmocka_unit_test(model_is_realistic),
        cmocka_unit_test(files_open_in_libvirt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
