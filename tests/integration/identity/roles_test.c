/* Roles and role bindings over REST: built-ins listed and immutable, custom
 * roles, and the grant rules — role.admin in the scope, nobody grants what
 * they do not hold, built-ins only where they may be bound, a tenant user
 * only within its tenant. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idt.h"

static int64_t ta, tb, admin_a, member_a, user_b;
static char *tok_a;

static int
setup(void **state)
{
    if (idt_setup(state) < 0)
        return -1;
    ta = idt_tenant("ra");
    tb = idt_tenant("rb");
    admin_a = idt_user("ra-admin", ta);
    idt_bind(admin_a, "tenant-admin", ta);
    member_a = idt_user("ra-member", ta);
    user_b = idt_user("rb-user", tb);
    tok_a = idt_login("ra-admin");
    return 0;
}

static int
teardown(void **state)
{
    free(tok_a);
    return idt_teardown(state);
}

static json_t *
find_role(const struct vp_resp *r, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r->json, "items"), i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "name")), name))
            return it;
    }
    return NULL;
}

static int
has_perm(json_t *role, const char *perm)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(role, "permissions"), i, p)
    {
        if (!strcmp(json_string_value(p), perm))
            return 1;
    }
    return 0;
}

static int64_t
role_id(const char *name)
{
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/roles?limit=1000", idt_admin, NULL);
    json_t *ro = find_role(&r, name);
    int64_t id = ro ? json_integer_value(json_object_get(ro, "id")) : -1;
    vp_resp_free(&r);
    return id;
}

static void
test_builtins_listed_and_immutable(void **state)
{
    struct vp_resp r;
    /* any signed-in user may read roles */
    idt_req(&r, "GET", "/api/v1/roles?limit=1000", tok_a, NULL);
    assert_int_equal(r.status, 200);
    const char *names[] = {"admin",        "operator",      "auditor",
                           "tenant-admin", "tenant-member", "viewer"};
    for (int i = 0; i < 6; i++) {
        json_t *ro = find_role(&r, names[i]);
        assert_non_null(ro);
        assert_true(json_is_true(json_object_get(ro, "builtin")));
    }
    assert_true(has_perm(find_role(&r, "admin"), "host.admin"));
    assert_true(has_perm(find_role(&r, "tenant-admin"), "role.admin"));
    assert_false(has_perm(find_role(&r, "viewer"), "audit.read"));
    vp_resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/roles/%lld", (long long)role_id("viewer"));
    idt_req(&r, "PATCH", path, idt_admin, "{\"permissions\":[\"audit.read\"]}");
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "PATCH", path, idt_admin, "{}");
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/roles?limit=1000", idt_admin, NULL);
    assert_false(has_perm(find_role(&r, "viewer"), "audit.read"));
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/roles", NULL, NULL);
    assert_int_equal(r.status, 401);
    vp_resp_free(&r);
}

static void
test_custom_role_crud(void **state)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/roles", idt_admin,
            "{\"name\":\"vm-watcher\",\"description\":\"Looks at VMs\","
            "\"permissions\":[\"vm.read\",\"task.read\"]}");
    assert_int_equal(r.status, 201);
    int64_t id = idt_int(&r, "id");
    assert_false(json_is_true(json_object_get(r.json, "builtin")));
    assert_int_equal(json_array_size(json_object_get(r.json, "permissions")), 2);
    char *loc = vp_header(&r, "Location");
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/roles/%lld", (long long)id);
    assert_string_equal(loc, path);
    free(loc);
    vp_resp_free(&r);

    idt_req(&r, "POST", "/api/v1/roles", idt_admin, "{\"name\":\"vm-watcher\",\"permissions\":[]}");
    assert_int_equal(r.status, 409);
    assert_string_equal(idt_field(&r), "name");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/roles", idt_admin,
            "{\"name\":\"x\",\"permissions\":[\"vm.fly\"]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "permissions");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/roles", idt_admin, "{\"name\":\"x\",\"permissions\":\"vm.read\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "permissions");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/roles", idt_admin, "{\"name\":\"x\"}");
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);

    idt_req(&r, "PATCH", path, idt_admin, "{\"permissions\":[\"vm.read\"],\"name\":\"vm-peeker\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "vm-peeker");
    assert_int_equal(json_array_size(json_object_get(r.json, "permissions")), 1);
    vp_resp_free(&r);

    /* in use: 409 until the binding goes */
    int64_t b = idt_create("/api/v1/role-bindings", idt_admin,
                           "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role_id\":%lld,"
                           "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                           (long long)member_a, (long long)id, (long long)ta);
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    char bpath[64];
    snprintf(bpath, sizeof(bpath), "/api/v1/role-bindings/%lld", (long long)b);
    idt_req(&r, "DELETE", bpath, idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "GET", path, idt_admin, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    /* a tenant-admin may read but not define roles */
    idt_req(&r, "POST", "/api/v1/roles", tok_a, "{\"name\":\"mine\",\"permissions\":[]}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
}

static long
grant(const char *token, int64_t subject, const char *role, int64_t tenant, struct vp_resp *out)
{
    struct vp_resp r;
    if (tenant)
        idt_req(&r, "POST", "/api/v1/role-bindings", token,
                "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                (long long)subject, role, (long long)tenant);
    else
        idt_req(&r, "POST", "/api/v1/role-bindings", token,
                "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                "\"scope\":\"global\"}",
                (long long)subject, role);
    long st = r.status;
    if (out)
        *out = r;
    else
        vp_resp_free(&r);
    return st;
}

static void
test_binding_rules(void **state)
{
    struct vp_resp r;
    /* the tenant-admin grants within A what it holds */
    assert_int_equal(grant(tok_a, member_a, "tenant-member", ta, &r), 201);
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "tenant-member");
    assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "tenant");
    assert_int_equal(idt_int(&r, "tenant_id"), ta);
    int64_t bid = idt_int(&r, "id");
    vp_resp_free(&r);
    assert_int_equal(grant(tok_a, member_a, "tenant-member", ta, &r), 409); /* again */
    vp_resp_free(&r);
    /* nobody grants what they do not hold: auditor needs host.read */
    assert_int_equal(grant(tok_a, member_a, "auditor", ta, NULL), 403);
    assert_true(idt_db_int("SELECT count(*) FROM audit WHERE action = 'role_binding.create' "
                           "AND outcome = 'denied' AND actor = 'ra-admin'") >= 1);
    /* not globally, not in B (which it cannot even see), not to B's user */
    assert_int_equal(grant(tok_a, member_a, "viewer", 0, NULL), 403);
    assert_int_equal(grant(tok_a, member_a, "tenant-member", tb, &r), 400);
    assert_string_equal(idt_field(&r), "tenant_id");
    vp_resp_free(&r);
    assert_int_equal(grant(tok_a, user_b, "tenant-member", ta, &r), 400);
    assert_string_equal(idt_field(&r), "subject_id");
    vp_resp_free(&r);
    /* built-ins only in the scopes they allow; tenant users only in their tenant */
    assert_int_equal(grant(idt_admin, member_a, "admin", ta, &r), 400);
    assert_string_equal(idt_field(&r), "scope");
    vp_resp_free(&r);
    assert_int_equal(grant(idt_admin, member_a, "viewer", 0, &r), 400);
    assert_string_equal(idt_field(&r), "scope");
    vp_resp_free(&r);
    assert_int_equal(grant(idt_admin, member_a, "no-such-role", ta, &r), 400);
    assert_string_equal(idt_field(&r), "role");
    vp_resp_free(&r);
    /* the tenant-admin sees A's bindings only, and can remove what it granted */
    idt_req(&r, "GET", "/api/v1/role-bindings?limit=1000", tok_a, NULL);
    assert_int_equal(r.status, 200);
    assert_true(idt_list_has(&r, "id", bid));
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.json, "items"), i, it)
        assert_int_equal(json_integer_value(json_object_get(it, "tenant_id")), ta);
    vp_resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/role-bindings/%lld", (long long)bid);
    idt_req(&r, "DELETE", path, tok_a, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
}

static void
test_binding_validation(void **state)
{
    struct vp_resp r;
    const char *bodies[][2] = {
        {"{\"subject_kind\":\"group\",\"subject_id\":1,\"role\":\"viewer\",\"scope\":\"global\"}",
         "subject_kind"},
        {"{\"subject_kind\":\"user\",\"role\":\"viewer\",\"scope\":\"global\"}", "subject_id"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"scope\":\"global\"}", "role"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"viewer\",\"role_id\":2,"
         "\"scope\":\"global\"}",
         "role"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"viewer\",\"scope\":\"world\"}",
         "scope"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"viewer\",\"scope\":\"tenant\"}",
         "tenant_id"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"viewer\",\"scope\":\"global\","
         "\"tenant_id\":1}",
         "tenant_id"},
        {"{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"viewer\",\"scope\":\"global\","
         "\"extra\":1}",
         "extra"},
        {"{\"subject_kind\":\"user\",\"subject_id\":999999,\"role\":\"viewer\","
         "\"scope\":\"global\"}",
         "subject_id"},
    };
    for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
        idt_req(&r, "POST", "/api/v1/role-bindings", idt_admin, "%s", bodies[k][0]);
        if (r.status != 400 || strcmp(idt_field(&r), bodies[k][1]))
            fprintf(stderr, "%s -> %ld %s\n", bodies[k][0], r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_string_equal(idt_field(&r), bodies[k][1]);
        vp_resp_free(&r);
    }
}

static void
test_no_escalation_by_role_edit(void **state)
{
    /* a global delegator: role.admin plus vm.read, bound globally */
    int64_t del_role = idt_create("/api/v1/roles", idt_admin,
                                  "{\"name\":\"delegator\",\"permissions\":[\"role.admin\","
                                  "\"vm.read\",\"user.read\"]}");
    int64_t d = idt_user("dave-delegator", 0);
    idt_create("/api/v1/role-bindings", idt_admin,
               "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role_id\":%lld,"
               "\"scope\":\"global\"}",
               (long long)d, (long long)del_role);
    char *t = idt_login("dave-delegator");
    struct vp_resp r;
    /* cannot widen its own role, nor define a stronger one */
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/roles/%lld", (long long)del_role);
    idt_req(&r, "PATCH", path, t, "{\"permissions\":[\"role.admin\",\"vm.read\",\"host.admin\"]}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/roles", t, "{\"name\":\"root\",\"permissions\":[\"host.admin\"]}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE outcome = 'denied' AND "
                                "actor = 'dave-delegator' AND action IN ('role.update', "
                                "'role.create')"),
                     2);
    /* can define and grant what it holds */
    idt_req(&r, "POST", "/api/v1/roles", t, "{\"name\":\"peek\",\"permissions\":[\"vm.read\"]}");
    assert_int_equal(r.status, 201);
    vp_resp_free(&r);
    int64_t g = idt_user("gus", 0);
    assert_int_equal(grant(t, g, "peek", 0, NULL), 201);
    assert_int_equal(grant(t, g, "viewer", 0, NULL), 403);
    assert_int_equal(grant(t, g, "admin", 0, NULL), 403);
    /* nor grant itself more */
    assert_int_equal(grant(t, d, "operator", 0, NULL), 403);
    /* a global user may get a role within a tenant from a granter who sees global users */
    assert_int_equal(grant(idt_admin, g, "tenant-member", ta, NULL), 201);
    /* but the tenant-admin of A cannot even name a global user */
    assert_int_equal(grant(tok_a, g, "tenant-admin", ta, &r), 400);
    assert_string_equal(idt_field(&r), "subject_id");
    vp_resp_free(&r);
    free(t);
}

static void
test_last_admin_protected(void **state)
{
    /* a superuser through a custom role holds every permission, but is not
     * "an administrator": the only holder of the built-in admin role stays */
    int64_t su = idt_create("/api/v1/roles", idt_admin,
                            "{\"name\":\"superuser\",\"permissions\":[\"tenant.read\","
                            "\"tenant.admin\",\"user.read\",\"user.admin\",\"role.admin\","
                            "\"token.self\",\"vm.read\",\"vm.power\",\"vm.create\","
                            "\"vm.delete\",\"vm.console\",\"host.read\",\"host.admin\","
                            "\"quota.read\",\"quota.write\",\"quota.request\","
                            "\"quota.approve\",\"audit.read\",\"plan.read\",\"plan.write\","
                            "\"task.read\"]}");
    int64_t s = idt_user("sue", 0);
    idt_create("/api/v1/role-bindings", idt_admin,
               "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role_id\":%lld,"
               "\"scope\":\"global\"}",
               (long long)s, (long long)su);
    char *t = idt_login("sue");
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/role-bindings?subject_id=1&subject_kind=user", t, NULL);
    assert_int_equal(r.status, 200);
    int64_t admin_binding = json_integer_value(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id"));
    vp_resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/role-bindings/%lld", (long long)admin_binding);
    idt_req(&r, "DELETE", path, t, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "PATCH", "/api/v1/users/1", t, "{\"disabled\":true}");
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", "/api/v1/users/1", t, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    /* with a second administrator, the first may lose the role (and get it back) */
    idt_bind(s, "admin", 0);
    idt_req(&r, "DELETE", path, t, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/role-bindings", t,
            "{\"subject_kind\":\"user\",\"subject_id\":1,\"role\":\"admin\","
            "\"scope\":\"global\"}");
    assert_int_equal(r.status, 201);
    vp_resp_free(&r);
    free(t);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_listed_and_immutable),
        cmocka_unit_test(test_custom_role_crud),
        cmocka_unit_test(test_binding_rules),
        cmocka_unit_test(test_binding_validation),
        cmocka_unit_test(test_no_escalation_by_role_edit),
        cmocka_unit_test(test_last_admin_protected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
