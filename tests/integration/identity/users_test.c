/* Users over REST: CRUD, validation, duplicates, filters, and tenant
 * isolation (a tenant-admin of A sees and changes only A's users; B's answer
 * 404 exactly like missing ones). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idt.h"

static int64_t ta, tb, admin_a, user_a, user_b, global_u;
static char *tok_a;

static int
setup(void **state)
{
    if (idt_setup(state) < 0)
        return -1;
    ta = idt_tenant("ua");
    tb = idt_tenant("ub");
    admin_a = idt_user("alice-admin", ta);
    idt_bind(admin_a, "tenant-admin", ta);
    user_a = idt_user("amy", ta);
    user_b = idt_user("bob", tb);
    global_u = idt_user("gina", 0);
    tok_a = idt_login("alice-admin");
    return 0;
}

static int
teardown(void **state)
{
    free(tok_a);
    return idt_teardown(state);
}

static char *
upath(int64_t id)
{
    static char p[64];
    snprintf(p, sizeof(p), "/api/v1/users/%lld", (long long)id);
    return p;
}

static void
test_create_and_get(void **state)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/users", idt_admin,
            "{\"login\":\"carol.c@example\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":%lld}",
            (long long)ta);
    assert_int_equal(r.status, 201);
    int64_t id = idt_int(&r, "id");
    char *loc = vp_header(&r, "Location");
    assert_string_equal(loc, upath(id));
    free(loc);
    assert_int_equal(idt_int(&r, "tenant_id"), ta);
    assert_false(json_is_true(json_object_get(r.json, "disabled")));
    assert_null(json_object_get(r.json, "password_hash"));
    assert_null(strstr(r.body, "argon2"));
    vp_resp_free(&r);
    idt_req(&r, "GET", upath(global_u), idt_admin, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "tenant_id")));
    assert_string_equal(json_string_value(json_object_get(r.json, "login")), "gina");
    vp_resp_free(&r);
    /* the audit row names the user, never the password or its hash */
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'user.create' AND "
                                "json_extract(details, '$.login') = 'carol.c@example'"),
                     1);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE details LIKE '%argon2%' OR "
                                "details LIKE '%" IDT_PASSWORD "%'"),
                     0);
    /* the new user can sign in */
    char *t = idt_login("carol.c@example");
    free(t);
}

static void
expect_400(const char *body, const char *field)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/users", idt_admin, "%s", body);
    if (r.status != 400 || strcmp(idt_field(&r), field))
        fprintf(stderr, "%s -> %ld %s\n", body, r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), field);
    vp_resp_free(&r);
}

static void
test_validation(void **state)
{
    expect_400("{\"login\":\"has space\",\"password\":\"" IDT_PASSWORD "\"}", "login");
    expect_400("{\"login\":\"\",\"password\":\"" IDT_PASSWORD "\"}", "login");
    expect_400("{\"login\":\"x/y\",\"password\":\"" IDT_PASSWORD "\"}", "login");
    expect_400("{\"login\":\"okname\",\"password\":\"short\"}", "password");
    expect_400("{\"login\":\"okname\",\"password\":\"password1234567\"}", "password");
    expect_400("{\"login\":\"okname\",\"password\":\"okname-okname-okname\"}", "password");
    expect_400("{\"login\":\"okname\"}", "password");
    expect_400("{\"login\":\"okname\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":\"1\"}",
               "tenant_id");
    expect_400("{\"login\":\"okname\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":99999}",
               "tenant_id");
    expect_400("{\"login\":\"okname\",\"password\":\"" IDT_PASSWORD "\",\"admin\":true}", "admin");
    expect_400("{\"login\":true,\"password\":\"" IDT_PASSWORD "\"}", "login");
    struct vp_resp r;
    idt_req(&r, "PATCH", upath(user_a), idt_admin, "{\"disabled\":\"yes\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "disabled");
    vp_resp_free(&r);
    idt_req(&r, "PATCH", upath(user_a), idt_admin, "{\"password\":\"tooshort\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "password");
    vp_resp_free(&r);
}

static void
test_duplicate_login(void **state)
{
    struct vp_resp r;
    /* logins compare case-insensitively */
    idt_req(&r, "POST", "/api/v1/users", idt_admin,
            "{\"login\":\"AMY\",\"password\":\"" IDT_PASSWORD "\"}");
    assert_int_equal(r.status, 409);
    assert_string_equal(idt_field(&r), "login");
    vp_resp_free(&r);
}

static void
test_filters_and_sort(void **state)
{
    struct vp_resp r;
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/users?tenant_id=%lld&limit=1000", (long long)ta);
    idt_req(&r, "GET", path, idt_admin, NULL);
    assert_int_equal(r.status, 200);
    assert_true(idt_list_has(&r, "id", user_a));
    assert_false(idt_list_has(&r, "id", user_b));
    assert_false(idt_list_has(&r, "id", global_u));
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users?tenant_id=0&limit=1000", idt_admin, NULL);
    assert_true(idt_list_has(&r, "id", global_u));
    assert_false(idt_list_has(&r, "id", user_a));
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users?login=AM", idt_admin, NULL);
    assert_true(idt_list_has(&r, "id", user_a));
    assert_false(idt_list_has(&r, "id", user_b));
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users?sort=-login&limit=1000", idt_admin, NULL);
    json_t *items = json_object_get(r.json, "items");
    for (size_t i = 1; i < json_array_size(items); i++) {
        const char *prev =
            json_string_value(json_object_get(json_array_get(items, i - 1), "login"));
        const char *cur = json_string_value(json_object_get(json_array_get(items, i), "login"));
        assert_true(strcasecmp(prev, cur) > 0);
    }
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users?disabled=maybe", idt_admin, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "disabled");
    vp_resp_free(&r);
}

static void
test_tenant_admin_isolation(void **state)
{
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/users?limit=1000", tok_a, NULL);
    assert_int_equal(r.status, 200);
    assert_true(idt_list_has(&r, "id", user_a));
    assert_false(idt_list_has(&r, "id", user_b));
    assert_false(idt_list_has(&r, "id", global_u));
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(r.json, "items"), i, it)
        assert_int_equal(json_integer_value(json_object_get(it, "tenant_id")), ta);
    vp_resp_free(&r);
    /* B's user and a global user look exactly like a missing one */
    struct vp_resp missing;
    idt_req(&missing, "GET", upath(987654), tok_a, NULL);
    assert_int_equal(missing.status, 404);
    const int64_t foreign[] = {user_b, global_u};
    for (int k = 0; k < 2; k++) {
        idt_req(&r, "GET", upath(foreign[k]), tok_a, NULL);
        assert_int_equal(r.status, 404);
        assert_string_equal(json_string_value(json_object_get(r.json, "detail")),
                            json_string_value(json_object_get(missing.json, "detail")));
        vp_resp_free(&r);
        idt_req(&r, "PATCH", upath(foreign[k]), tok_a, "{\"disabled\":true}");
        assert_int_equal(r.status, 404);
        vp_resp_free(&r);
        idt_req(&r, "DELETE", upath(foreign[k]), tok_a, NULL);
        assert_int_equal(r.status, 404);
        vp_resp_free(&r);
    }
    vp_resp_free(&missing);
    /* creating in B or globally is refused; in A it works */
    idt_req(&r, "POST", "/api/v1/users", tok_a,
            "{\"login\":\"sneaky\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":%lld}",
            (long long)tb);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "tenant_id");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/users", tok_a,
            "{\"login\":\"sneaky\",\"password\":\"" IDT_PASSWORD "\"}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    int64_t mine = idt_create(
        "/api/v1/users", tok_a,
        "{\"login\":\"andy\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":%lld}", (long long)ta);
    idt_req(&r, "PATCH", upath(mine), tok_a, "{\"disabled\":true}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "disabled")));
    vp_resp_free(&r);
    /* B's user is untouched */
    idt_req(&r, "GET", upath(user_b), idt_admin, NULL);
    assert_false(json_is_true(json_object_get(r.json, "disabled")));
    vp_resp_free(&r);
}

static void
test_no_takeover_of_stronger_account(void **state)
{
    /* an auditor within A holds audit rights the tenant-admin lacks (host.read):
     * the tenant-admin must not be able to reset that account's password */
    int64_t aud = idt_user("arthur-auditor", ta);
    idt_bind(aud, "auditor", ta);
    struct vp_resp r;
    idt_req(&r, "PATCH", upath(aud), tok_a, "{\"password\":\"Another-Long-Passphrase-99\"}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", upath(aud), tok_a, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE outcome = 'denied' AND "
                                "actor = 'alice-admin' AND action IN ('user.update', "
                                "'user.delete')"),
                     2);
    /* the global admin may */
    idt_req(&r, "PATCH", upath(aud), idt_admin, "{\"password\":\"Another-Long-Passphrase-99\"}");
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
}

static void
test_disable_and_delete(void **state)
{
    int64_t u = idt_user("dora", ta);
    char *t = idt_login("dora");
    struct vp_resp r;
    idt_req(&r, "PATCH", upath(u), idt_admin, "{\"disabled\":true}");
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    /* disabled: the session ends and a new login fails */
    idt_req(&r, "GET", "/api/v1/me", t, NULL);
    assert_int_equal(r.status, 401);
    vp_resp_free(&r);
    char *again = vp_login(&idt_p, "dora", IDT_PASSWORD);
    assert_null(again);
    idt_req(&r, "PATCH", upath(u), idt_admin, "{\"disabled\":false}");
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    free(t);
    t = idt_login("dora");
    free(t);
    idt_req(&r, "DELETE", upath(u), idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "GET", upath(u), idt_admin, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    /* nobody deletes or disables themselves */
    idt_req(&r, "DELETE", upath(admin_a), tok_a, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "PATCH", upath(admin_a), tok_a, "{\"disabled\":true}");
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);
}

static void
test_member_cannot_read_users(void **state)
{
    int64_t m = idt_user("mona", ta);
    idt_bind(m, "tenant-member", ta);
    char *t = idt_login("mona");
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/users", t, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "GET", upath(user_a), t, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    free(t);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_get),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_duplicate_login),
        cmocka_unit_test(test_filters_and_sort),
        cmocka_unit_test(test_tenant_admin_isolation),
        cmocka_unit_test(test_no_takeover_of_stronger_account),
        cmocka_unit_test(test_disable_and_delete),
        cmocka_unit_test(test_member_cannot_read_users),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
