/* Tenants over REST: CRUD, validation (400 naming the field), duplicates
 * (409), delete refused while users remain, keyset pagination. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idt.h"

static void
test_create_get_patch(void **state)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tenants", idt_admin,
            "{\"slug\":\"physics\",\"name\":\"Physics\"}");
    assert_int_equal(r.status, 201);
    int64_t id = idt_int(&r, "id");
    char *loc = vp_header(&r, "Location");
    char want[64];
    snprintf(want, sizeof(want), "/api/v1/tenants/%lld", (long long)id);
    assert_non_null(loc);
    assert_string_equal(loc, want);
    free(loc);
    assert_string_equal(json_string_value(json_object_get(r.json, "slug")), "physics");
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Physics");
    assert_non_null(json_string_value(json_object_get(r.json, "created_at")));
    vp_resp_free(&r);

    idt_req(&r, "PATCH", want, idt_admin, "{\"name\":\"Physics Lab\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Physics Lab");
    assert_string_equal(json_string_value(json_object_get(r.json, "slug")), "physics");
    vp_resp_free(&r);

    idt_req(&r, "GET", want, idt_admin, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Physics Lab");
    vp_resp_free(&r);
    /* the change is audited with before/after */
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'tenant.update' AND "
                                "json_extract(details, '$.name.before') = 'Physics' AND "
                                "json_extract(details, '$.name.after') = 'Physics Lab' AND "
                                "actor = 'admin' AND outcome = 'ok'"),
                     1);
}

static void
expect_400(const char *body, const char *field)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tenants", idt_admin, "%s", body);
    if (r.status != 400 || strcmp(idt_field(&r), field))
        fprintf(stderr, "body %s -> %ld %s\n", body, r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), field);
    vp_resp_free(&r);
}

static void
test_validation(void **state)
{
    expect_400("{\"slug\":\"-bad\",\"name\":\"x\"}", "slug");
    expect_400("{\"slug\":\"bad-\",\"name\":\"x\"}", "slug");
    expect_400("{\"slug\":\"Upper\",\"name\":\"x\"}", "slug");
    expect_400("{\"slug\":\"a_b\",\"name\":\"x\"}", "slug");
    expect_400("{\"slug\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
               "\"name\":\"x\"}",
               "slug");
    expect_400("{\"slug\":\"ok\",\"name\":\"\"}", "name");
    expect_400("{\"slug\":\"ok\",\"name\":\"tab\\there\"}", "name");
    expect_400("{\"slug\":\"ok\",\"name\":5}", "name");
    expect_400("{\"slug\":7,\"name\":\"x\"}", "slug");
    expect_400("{\"name\":\"x\"}", "slug");
    expect_400("{\"slug\":\"ok\",\"name\":\"x\",\"colour\":\"red\"}", "colour");
    /* 200 characters (multi-byte) are fine, 201 are not */
    char name[1024] = "";
    size_t n = 0;
    for (int i = 0; i < 200; i++, n += 2)
        memcpy(name + n, "\xc3\xa9", 2); /* é */
    name[n] = '\0';
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tenants", idt_admin, "{\"slug\":\"long-name\",\"name\":\"%s\"}",
            name);
    assert_int_equal(r.status, 201);
    vp_resp_free(&r);
    name[n] = 'e';
    name[n + 1] = '\0';
    char body[1200];
    snprintf(body, sizeof(body), "{\"slug\":\"long-name2\",\"name\":\"%s\"}", name);
    expect_400(body, "name");
    /* the unknown member is named in the detail */
    idt_req(&r, "POST", "/api/v1/tenants", idt_admin, "{\"slug\":\"x\",\"name\":\"x\",\"zz\":1}");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "zz"));
    vp_resp_free(&r);
}

static void
test_duplicate(void **state)
{
    idt_tenant("dup");
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tenants", idt_admin, "{\"slug\":\"dup\",\"name\":\"Again\"}");
    assert_int_equal(r.status, 409);
    assert_string_equal(idt_field(&r), "slug");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "dup"));
    vp_resp_free(&r);
    /* renaming another tenant onto a taken slug is a conflict too */
    int64_t other = idt_tenant("dup-other");
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld", (long long)other);
    idt_req(&r, "PATCH", path, idt_admin, "{\"slug\":\"dup\"}");
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
}

static void
test_delete(void **state)
{
    int64_t t = idt_tenant("doomed");
    int64_t u = idt_user("doomed-user", t);
    char path[64], upath[64];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld", (long long)t);
    snprintf(upath, sizeof(upath), "/api/v1/users/%lld", (long long)u);
    struct vp_resp r;
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 409);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", upath, idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "GET", path, idt_admin, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", path, idt_admin, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
}

/* Walks every page of `query` and returns the slugs in order, comma-joined. */
static void
walk(const char *query, char *out, size_t n)
{
    char path[1024];
    const char *cursor = NULL;
    char *cur = NULL;
    out[0] = '\0';
    for (int pages = 0; pages < 50; pages++) {
        snprintf(path, sizeof(path), "/api/v1/tenants?%s&limit=2%s%s", query,
                 cursor ? "&cursor=" : "", cursor ? cursor : "");
        struct vp_resp r;
        idt_req(&r, "GET", path, idt_admin, NULL);
        assert_int_equal(r.status, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) <= 2);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *slug = json_string_value(json_object_get(it, "slug"));
            if (!strncmp(slug, "pg-", 3)) {
                strncat(out, slug, n - strlen(out) - 1);
                strncat(out, ",", n - strlen(out) - 1);
            }
        }
        free(cur);
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        cur = next ? strdup(next) : NULL;
        cursor = cur;
        vp_resp_free(&r);
        if (!cursor)
            return;
    }
    fail_msg("pagination did not end");
}

static void
test_pagination(void **state)
{
    const char *slugs[] = {"pg-c", "pg-a", "pg-e", "pg-b", "pg-d"};
    for (int i = 0; i < 5; i++)
        idt_tenant(slugs[i]);
    char got[512];
    walk("sort=slug&q=pg-", got, sizeof(got));
    assert_string_equal(got, "pg-a,pg-b,pg-c,pg-d,pg-e,");
    walk("sort=-slug&q=pg-", got, sizeof(got));
    assert_string_equal(got, "pg-e,pg-d,pg-c,pg-b,pg-a,");
    walk("sort=id&q=pg-", got, sizeof(got));
    assert_string_equal(got, "pg-c,pg-a,pg-e,pg-b,pg-d,");

    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/tenants?sort=colour", idt_admin, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "sort");
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tenants?cursor=not-a-cursor", idt_admin, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "cursor");
    vp_resp_free(&r);
    /* a cursor of one sort order is refused by another */
    idt_req(&r, "GET", "/api/v1/tenants?sort=slug&limit=1", idt_admin, NULL);
    char path[700];
    snprintf(path, sizeof(path), "/api/v1/tenants?sort=name&cursor=%s",
             json_string_value(json_object_get(r.json, "next_cursor")));
    vp_resp_free(&r);
    idt_req(&r, "GET", path, idt_admin, NULL);
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tenants?limit=0", idt_admin, NULL);
    assert_int_equal(r.status, 400);
    vp_resp_free(&r);
}

static void
test_visibility(void **state)
{
    int64_t a = idt_tenant("vis-a"), b = idt_tenant("vis-b");
    int64_t u = idt_user("vis-member", a);
    idt_bind(u, "tenant-admin", a);
    char *tok = idt_login("vis-member");
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/tenants?limit=1000", tok, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_true(idt_list_has(&r, "id", a));
    vp_resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld", (long long)b);
    idt_req(&r, "GET", path, tok, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/tenants/%lld", (long long)a);
    idt_req(&r, "GET", path, tok, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    idt_req(&r, "PATCH", path, tok, "{\"name\":\"mine now\"}");
    assert_int_equal(r.status, 403); /* tenant-admin does not hold tenant.admin */
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/tenants", tok, "{\"slug\":\"nope\",\"name\":\"x\"}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tenants", NULL, NULL);
    assert_int_equal(r.status, 401);
    vp_resp_free(&r);
    free(tok);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_patch), cmocka_unit_test(test_validation),
        cmocka_unit_test(test_duplicate),        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_pagination),       cmocka_unit_test(test_visibility),
    };
    return cmocka_run_group_tests(tests, idt_setup, idt_teardown);
}
