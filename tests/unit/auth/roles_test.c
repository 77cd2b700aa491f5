/* roles: built-in roles, effective permissions, token intersection, granting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "roles.h"

#define TA 7 /* tenant A */
#define TB 9 /* tenant B */

static perm_set
role(const char *name)
{
    const struct auth_builtin_role *r = auth_builtin_role_find(name);
    assert_non_null(r);
    return r->perms;
}

static void
test_builtin_table(void **state)
{
    static const char *const names[] = {"admin",        "operator",      "auditor",
                                        "tenant-admin", "tenant-member", "viewer"};
    size_t n = 0;
    const struct auth_builtin_role *rs = auth_builtin_roles(&n);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++) {
        const struct auth_builtin_role *r = auth_builtin_role_find(names[i]);
        assert_non_null(r);
        assert_true(r >= rs && r < rs + n);
        assert_true(strlen(r->description) > 0);
        assert_true(r->global_ok || r->tenant_ok);
        assert_int_equal(r->perms & ~PERM_SET_ALL, 0);
    }
    assert_null(auth_builtin_role_find("root"));
    assert_null(auth_builtin_role_find(NULL));
}

static void
test_builtin_contents(void **state)
{
    assert_int_equal(role("admin"), PERM_SET_ALL);
    /* viewer: every read but audit, nothing that changes the world */
    perm_set v = role("viewer");
    for (int p = PERM_FIRST_GRANTABLE; p < PERM_COUNT; p++) {
        const char *nm = perm_name((enum perm)p);
        size_t l = strlen(nm);
        bool is_read = l > 5 && strcmp(nm + l - 5, ".read") == 0;
        if (is_read && p != PERM_AUDIT_READ)
            assert_true(perm_set_has(v, (enum perm)p));
        else if (p != PERM_TOKEN_SELF)
            assert_false(perm_set_has(v, (enum perm)p));
        /* auditor: every read including audit */
        if (is_read)
            assert_true(perm_set_has(role("auditor"), (enum perm)p));
    }
    assert_false(perm_set_has(role("auditor"), PERM_VM_POWER));
    perm_set op = role("operator");
    assert_true(perm_set_has(op, PERM_VM_DELETE));
    assert_true(perm_set_has(op, PERM_PLAN_WRITE));
    assert_false(perm_set_has(op, PERM_HOST_ADMIN));
    assert_false(perm_set_has(op, PERM_ROLE_ADMIN));
    assert_false(perm_set_has(op, PERM_QUOTA_APPROVE));
    /* a member is a strict subset of a tenant admin; neither touches hosts or quotas' limits */
    perm_set m = role("tenant-member"), ta = role("tenant-admin");
    assert_int_equal(m & ~ta, 0);
    assert_int_not_equal(m, ta);
    assert_false(perm_set_has(m, PERM_VM_DELETE));
    assert_true(perm_set_has(ta, PERM_ROLE_ADMIN));
    assert_false(perm_set_has(ta, PERM_HOST_READ) || perm_set_has(ta, PERM_QUOTA_WRITE) ||
                 perm_set_has(ta, PERM_QUOTA_APPROVE) || perm_set_has(ta, PERM_TENANT_ADMIN));
}

static void
test_bindable_scopes(void **state)
{
    assert_true(auth_builtin_role_bindable(auth_builtin_role_find("admin"), 0));
    assert_false(auth_builtin_role_bindable(auth_builtin_role_find("admin"), TA));
    assert_false(auth_builtin_role_bindable(auth_builtin_role_find("operator"), TA));
    assert_false(auth_builtin_role_bindable(auth_builtin_role_find("tenant-admin"), 0));
    assert_true(auth_builtin_role_bindable(auth_builtin_role_find("tenant-admin"), TA));
    assert_false(auth_builtin_role_bindable(auth_builtin_role_find("tenant-member"), 0));
    assert_true(auth_builtin_role_bindable(auth_builtin_role_find("viewer"), 0));
    assert_true(auth_builtin_role_bindable(auth_builtin_role_find("viewer"), TB));
    assert_false(auth_builtin_role_bindable(auth_builtin_role_find("viewer"), -1));
}

static void
test_effective_scopes(void **state)
{
    struct auth_binding b[] = {
        {role("viewer"), 0},
        {role("tenant-member"), TA},
    };
    /* global object: only the global binding counts */
    assert_int_equal(auth_effective(b, 2, 0), role("viewer"));
    /* tenant A: union */
    assert_int_equal(auth_effective(b, 2, TA), role("viewer") | role("tenant-member"));
    /* tenant B: the A binding does not leak */
    assert_int_equal(auth_effective(b, 2, TB), role("viewer"));
    assert_false(perm_set_has(auth_effective(b, 2, TB), PERM_VM_POWER));
    assert_int_equal(auth_effective(b, 2, -5), 0);
    assert_int_equal(auth_effective(NULL, 0, TA), 0);
    /* stored garbage bits (markers, unused) never come out */
    struct auth_binding junk = {~(perm_set)0, 0};
    assert_int_equal(auth_effective(&junk, 1, 0), PERM_SET_ALL);
}

static void
test_token_intersection(void **state)
{
    struct auth_binding owner[] = {{role("tenant-admin"), TA}};
    struct auth_binding tok[] = {{role("tenant-member"), TA}};
    /* narrowed: the token's role */
    assert_int_equal(auth_token_effective(owner, 1, tok, 1, true, TA), role("tenant-member"));
    /* not narrowed: the owner's */
    assert_int_equal(auth_token_effective(owner, 1, NULL, 0, false, TA), role("tenant-admin"));
    /* narrowed but nothing left: nothing (no fallback to the owner) */
    assert_int_equal(auth_token_effective(owner, 1, NULL, 0, true, TA), 0);
    /* a token bound to more than its owner holds gets only the owner's part */
    struct auth_binding big[] = {{PERM_SET_ALL, 0}};
    assert_int_equal(auth_token_effective(owner, 1, big, 1, true, TA), role("tenant-admin"));
    assert_int_equal(auth_token_effective(owner, 1, big, 1, true, TB), 0);
    assert_int_equal(auth_token_effective(owner, 1, big, 1, true, 0), 0);
    /* demoting the owner demotes the token at once */
    struct auth_binding demoted[] = {{role("viewer"), TA}};
    assert_int_equal(auth_token_effective(demoted, 1, tok, 1, true, TA),
                     role("viewer") & role("tenant-member"));
    assert_int_equal(auth_token_effective(NULL, 0, tok, 1, true, TA), 0);
}

static void
test_can_grant(void **state)
{
    struct auth_binding admin[] = {{role("admin"), 0}};
    struct auth_binding tadmin[] = {{role("tenant-admin"), TA}};
    struct auth_binding op[] = {{role("operator"), 0}};

    assert_true(auth_can_grant(admin, 1, role("admin"), 0));
    assert_true(auth_can_grant(admin, 1, role("tenant-member"), TB));
    /* tenant admin: in its tenant, within its rights */
    assert_true(auth_can_grant(tadmin, 1, role("tenant-member"), TA));
    assert_true(auth_can_grant(tadmin, 1, role("tenant-admin"), TA));
    assert_false(auth_can_grant(tadmin, 1, role("tenant-member"), TB));
    assert_false(auth_can_grant(tadmin, 1, role("tenant-member"), 0));
    assert_false(auth_can_grant(tadmin, 1, role("viewer"), TA)); /* viewer reads hosts */
    perm_set custom = perm_set_add(perm_set_add(0, PERM_VM_READ), PERM_QUOTA_APPROVE);
    assert_false(auth_can_grant(tadmin, 1, custom, TA));
    /* no role.admin, no granting, even of less than one holds */
    assert_false(auth_can_grant(op, 1, perm_set_add(0, PERM_VM_READ), 0));
    /* marker bits are never grantable */
    assert_false(auth_can_grant(admin, 1, (perm_set)1 << PERM_PUBLIC, 0));
    assert_false(auth_can_grant(admin, 1, role("viewer"), -1));
    assert_false(auth_can_grant(NULL, 0, 0, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_table),      cmocka_unit_test(test_builtin_contents),
        cmocka_unit_test(test_bindable_scopes),    cmocka_unit_test(test_effective_scopes),
        cmocka_unit_test(test_token_intersection), cmocka_unit_test(test_can_grant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
