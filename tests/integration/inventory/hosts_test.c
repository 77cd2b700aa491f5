/* Hosts, pools and networks through the REST API of the real binary, with
 * libvirt test-driver hosts written into the test's scratch directory:
 * register, list, get, rename, re-point, remove; bad input; an unreachable
 * host; VM ids that survive a host's removal and return. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invt.h"

static const struct invt_dom small[] = {
    {.name = "alpha", .state = 1, .vcpus = 2, .memory_mib = 2048, .disk_gib = 10},
    {.name = "beta", .state = 5, .vcpus = 4, .memory_mib = 4096, .disk_gib = 20},
    {.name = "gamma", .state = 3, .vcpus = 1, .memory_mib = 1024, .disk_gib = 5, .uefi = true},
};

static const struct invt_dom other[] = {
    {.name = "delta", .state = 1, .vcpus = 2, .memory_mib = 512, .disk_gib = 3},
};

static json_t *
get_json(const char *path)
{
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

static int64_t
jint(json_t *o, const char *path)
{
    /* "a.b" walks objects */
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    json_t *v = json_object_get(o, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void
test_register_list_get(void **state)
{
    const char *path = invt_host_file("h1.xml", 16, 64, small, 3);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "POST", "/api/v1/hosts", invt_admin,
                              "{\"name\":\"h1\",\"uri\":\"test://%s\"}", path),
                     0);
    assert_int_equal(r.status, 201);
    int64_t id = invt_int(&r, "id");
    char *loc = vp_header(&r, "Location");
    char want[64];
    snprintf(want, sizeof(want), "/api/v1/hosts/%lld", (long long)id);
    assert_string_equal(loc, want);
    free(loc);
    /* it answers at once: the connection is opened off the request thread */
    assert_true(!strcmp(invt_str(&r, "state"), "connecting") ||
                !strcmp(invt_str(&r, "state"), "connected"));
    vp_resp_free(&r);
    invt_host_wait(id, "connected", true);

    json_t *h = get_json(want);
    assert_int_equal(jint(h, "capacity.threads"), 16);
    assert_int_equal(jint(h, "capacity.cores"), 16);
    assert_int_equal(jint(h, "capacity.memory_mib"), 64 * 1024);
    assert_int_equal(jint(h, "allocation.vms"), 3);
    assert_int_equal(jint(h, "allocation.active"), 2); /* running + paused */
    assert_int_equal(jint(h, "allocation.vcpus"), 7);
    assert_int_equal(jint(h, "allocation.memory_mib"), 7168);
    assert_int_equal(jint(h, "allocation.disk_gib"), 35);
    assert_int_equal(jint(h, "allocation.active_vcpus"), 3);
    assert_true(json_is_null(json_object_get(h, "last_error")));
    assert_true(json_is_array(json_object_get(json_object_get(h, "capacity"), "cpu_features")));
    json_decref(h);

    json_t *list = get_json("/api/v1/hosts");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_t *first = json_array_get(json_object_get(list, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "h1");
    assert_string_equal(json_string_value(json_object_get(first, "state")), "connected");
    json_decref(list);
    char target[32];
    snprintf(target, sizeof(target), "host/%lld", (long long)id);
    assert_int_equal(invt_audit_count("host.create", target), 1);
    assert_int_equal(invt_audit_count("host.inventory_imported", target), 1);
}

static void
test_bad_input(void **state)
{
    const char *path = invt_host_file("h1.xml", 4, 8, small, 1);
    int64_t id = invt_host("h1", path);
    struct vp_resp r;
    /* an unsupported transport: 400 naming it, nothing stored */
    assert_int_equal(invt_req(&r, "POST", "/api/v1/hosts", invt_admin,
                              "{\"name\":\"x\",\"uri\":\"xen:///system\"}"),
                     0);
    assert_int_equal(r.status, 400);
    assert_string_equal(invt_field(&r), "uri");
    assert_non_null(strstr(invt_str(&r, "detail"), "xen"));
    char *ct = vp_header(&r, "Content-Type");
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    vp_resp_free(&r);
    /* libvirt URI parameters that run commands are refused */
    assert_int_equal(invt_status("POST", "/api/v1/hosts", invt_admin,
                                 "{\"name\":\"y\",\"uri\":\"qemu+ssh://h/system?command=sh\"}"),
                     400);
    assert_int_equal(invt_status("POST", "/api/v1/hosts", invt_admin,
                                 "{\"name\":\"<b>\",\"uri\":\"test:///default\"}"),
                     400);
    assert_int_equal(invt_status("POST", "/api/v1/hosts", invt_admin, "{\"name\":\"z\"}"), 400);
    assert_int_equal(invt_status("POST", "/api/v1/hosts", invt_admin,
                                 "{\"name\":\"z\",\"uri\":\"test:///default\",\"x\":1}"),
                     400);
    /* duplicates: 409 naming the field */
    assert_int_equal(invt_req(&r, "POST", "/api/v1/hosts", invt_admin,
                              "{\"name\":\"h1\",\"uri\":\"test:///default\"}"),
                     0);
    assert_int_equal(r.status, 409);
    assert_string_equal(invt_field(&r), "name");
    vp_resp_free(&r);
    assert_int_equal(invt_req(&r, "POST", "/api/v1/hosts", invt_admin,
                              "{\"name\":\"h2\",\"uri\":\"test://%s\"}", path),
                     0);
    assert_int_equal(r.status, 409);
    assert_string_equal(invt_field(&r), "uri");
    vp_resp_free(&r);
    /* unknown ids */
    assert_int_equal(invt_status("GET", "/api/v1/hosts/999", invt_admin, NULL), 404);
    assert_int_equal(invt_status("PATCH", "/api/v1/hosts/999", invt_admin, "{\"name\":\"q\"}"),
                     404);
    assert_int_equal(invt_status("DELETE", "/api/v1/hosts/999", invt_admin, NULL), 404);
    assert_int_equal(invt_status("GET", "/api/v1/hosts/abc", invt_admin, NULL), 404);
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/hosts/%lld", (long long)id);
    assert_int_equal(invt_status("PATCH", p, invt_admin, "{}"), 400);
    assert_int_equal(invt_status("PATCH", p, invt_admin, "{\"uri\":\"vbox:///session\"}"), 400);
    assert_int_equal(invt_status("DELETE", "/api/v1/hosts/1?force=maybe", invt_admin, NULL), 400);
    /* only the one good host exists */
    json_t *list = get_json("/api/v1/hosts");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
}

static void
test_update(void **state)
{
    int64_t id = invt_host("h1", invt_host_file("h1.xml", 4, 8, small, 3));
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/hosts/%lld", (long long)id);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "PATCH", p, invt_admin, "{\"name\":\"renamed\"}"), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(invt_str(&r, "name"), "renamed");
    vp_resp_free(&r);
    char htarget[32];
    snprintf(htarget, sizeof(htarget), "host/%lld", (long long)id);
    assert_int_equal(invt_audit_count("host.update", htarget), 1);

    /* re-pointed to another inventory: the VMs follow the new connection */
    int64_t alpha = invt_vm_id("alpha");
    assert_true(alpha > 0);
    const char *path2 = invt_host_file("h2.xml", 8, 16, other, 1);
    assert_int_equal(invt_req(&r, "PATCH", p, invt_admin, "{\"uri\":\"test://%s\"}", path2), 0);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    invt_host_wait(id, "connected", true);
    for (int i = 0; i < 300 && invt_vm_id("alpha") > 0; i++)
        usleep(100000);
    assert_int_equal(invt_vm_id("alpha"), -1);
    assert_true(invt_vm_id("delta") > 0);
    json_t *h = get_json(p);
    assert_int_equal(jint(h, "capacity.threads"), 8);
    assert_int_equal(jint(h, "allocation.vms"), 1);
    json_decref(h);
    char target[32];
    snprintf(target, sizeof(target), "vm/%lld", (long long)alpha);
    assert_int_equal(invt_audit_count("vm.vanished", target), 1);
    assert_true(invt_audit_count("vm.discovered", NULL) >= 1);
}

static void
test_delete_and_return(void **state)
{
    const char *path = invt_host_file("h1.xml", 4, 8, small, 3);
    char uri[600];
    snprintf(uri, sizeof(uri), "test://%s", path);
    int64_t id = invt_host("h1", path);
    int64_t beta = invt_vm_id("beta");
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/hosts/%lld", (long long)id);
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "DELETE", p, invt_admin, NULL), 0);
    assert_int_equal(r.status, 409); /* it still has VMs */
    assert_non_null(strstr(invt_str(&r, "detail"), "force"));
    vp_resp_free(&r);
    char pf[80];
    snprintf(pf, sizeof(pf), "%s?force=true", p);
    assert_int_equal(invt_status("DELETE", pf, invt_admin, NULL), 204);
    assert_int_equal(invt_status("GET", p, invt_admin, NULL), 404);
    assert_int_equal(invt_vm_id("beta"), -1);
    json_t *pools = get_json("/api/v1/pools");
    assert_int_equal(json_array_size(json_object_get(pools, "items")), 0);
    json_decref(pools);
    char htarget[32];
    snprintf(htarget, sizeof(htarget), "host/%lld", (long long)id);
    assert_int_equal(invt_audit_count("host.delete", htarget), 1);
    /* registered again: the same VM gets its old id back */
    invt_host("h1-again", path);
    assert_int_equal(invt_vm_id("beta"), beta);
}

static void
test_unreachable(void **state)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/missing/none.xml", invt_dir);
    int64_t id = invt_create("/api/v1/hosts", invt_admin,
                             "{\"name\":\"ghost\",\"uri\":\"test://%s\"}", path);
    invt_host_wait(id, "unreachable", false);
    char p[64];
    snprintf(p, sizeof(p), "/api/v1/hosts/%lld", (long long)id);
    json_t *h = get_json(p);
    const char *why = json_string_value(json_object_get(h, "last_error"));
    assert_non_null(why);
    assert_null(strstr(why, "missing")); /* client-safe: no path, no libvirt text */
    assert_true(json_is_null(json_object_get(json_object_get(h, "capacity"), "threads")));
    json_decref(h);
    /* an unreachable host without VMs is removed without force */
    assert_int_equal(invt_status("DELETE", p, invt_admin, NULL), 204);
}

static void
test_pools_networks(void **state)
{
    int64_t h1 = invt_host("h1", invt_host_file("h1.xml", 4, 8, small, 3));
    int64_t h2 = invt_host("h2", invt_host_file("h2.xml", 4, 8, other, 1));
    json_t *pools = invt_list_all("/api/v1/pools?limit=1", invt_admin);
    assert_int_equal(json_array_size(pools), 2);
    json_t *p0 = json_array_get(pools, 0);
    assert_int_equal(jint(p0, "host_id"), h1); /* ordered by host, then name */
    assert_int_equal(jint(p0, "volumes"), 3);
    assert_string_equal(json_string_value(json_object_get(p0, "name")), "default");
    assert_true(json_is_true(json_object_get(p0, "active")));
    json_decref(pools);
    char q[64];
    snprintf(q, sizeof(q), "/api/v1/networks?host_id=%lld", (long long)h2);
    json_t *nets = get_json(q);
    json_t *items = json_object_get(nets, "items");
    assert_int_equal(json_array_size(items), 2);
    size_t i;
    json_t *n;
    json_array_foreach(items, i, n)
    {
        assert_int_equal(jint(n, "host_id"), h2);
        const char *name = json_string_value(json_object_get(n, "name"));
        const char *mode = json_string_value(json_object_get(n, "forward_mode"));
        assert_string_equal(mode, !strcmp(name, "default") ? "nat" : "bridge");
    }
    json_decref(nets);
    assert_int_equal(invt_status("GET", "/api/v1/pools?host_id=0", invt_admin, NULL), 400);
    assert_int_equal(invt_status("GET", "/api/v1/networks?cursor=zzz", invt_admin, NULL), 400);
}

static void
test_permissions(void **state)
{
    int64_t t = invt_tenant("acme");
    invt_user("member", t, "tenant-member");
    invt_user("watcher", 0, "viewer");
    char *member = invt_login("member"), *viewer = invt_login("watcher");
    assert_int_equal(invt_status("GET", "/api/v1/hosts", member, NULL), 403);
    assert_int_equal(invt_status("GET", "/api/v1/pools", member, NULL), 403);
    assert_int_equal(invt_status("GET", "/api/v1/hosts", viewer, NULL), 200);
    assert_int_equal(invt_status("GET", "/api/v1/networks", viewer, NULL), 200);
    assert_int_equal(invt_status("POST", "/api/v1/hosts", viewer,
                                 "{\"name\":\"v\",\"uri\":\"test:///default\"}"),
                     403);
    assert_int_equal(invt_status("GET", "/api/v1/hosts", NULL, NULL), 401);
    free(member);
    free(viewer);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_list_get, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_update, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_return, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_pools_networks, invt_setup, invt_teardown),
        cmocka_unit_test_setup_teardown(test_permissions, invt_setup, invt_teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
