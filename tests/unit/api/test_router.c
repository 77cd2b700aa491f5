/* The pure front of the pipeline: raw-path checks, exact matching, query
 * decoding and JSON body validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static int
handler(struct api_req *r, struct api_resp *w, err *e)
{
    return 0;
}

static const struct api_route routes[] = {
    {"GET", "/api/v1/vms", PERM_VM_READ, API_SCOPE_ANY, 0, handler},
    {"POST", "/api/v1/vms", PERM_VM_CREATE, API_SCOPE_ANY, API_F_JSON_BODY, handler},
    {"GET", "/api/v1/vms/{id}", PERM_VM_READ, API_SCOPE_OBJECT, 0, handler},
    {"POST", "/api/v1/vms/{id}/actions/{action}", PERM_VM_POWER, API_SCOPE_OBJECT, 0, handler},
};

static void
test_path_check(void **state)
{
    static const char *const bad[] = {
        "/api/v1/version%00x",
        "/api/v1/x%2F..%2Fversion",
        "/api/v1/x%2f",
        "/api/%5cx",
        "/api/../x",
        "/api/./x",
        "/api/%2e%2e/x",
        "/api/x/..",
        "api/x",
        "/api/x%zz",
        "/api/x%4",
        "/api/\x01",
        "/api\\x",
        "/api/%0a",
    };
    static const char *const good[] = {
        "/",           "/api/v1/version", "/api/v1/vms/12", "/api/v1/a..b",
        "/api/v1/%41", "/assets/app.1.js"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err e = {0};
        assert_int_equal(api_path_check(bad[i], &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err e = {0};
        assert_int_equal(api_path_check(good[i], &e), 0);
    }
}

static const struct api_route *
match(arena *a, const char *method, const char *path, const char **params, char *allow, err *e)
{
    return api_route_match(routes, sizeof(routes) / sizeof(routes[0]), method, path, a, params,
                           allow, 64, e);
}

static void
test_match_exact(void **state)
{
    arena *a = arena_new();
    const char *params[API_MAX_PARAMS] = {0};
    char allow[64];
    err e = {0};
    const struct api_route *rt =
        match(a, "POST", "/api/v1/vms/42/actions/start", params, allow, &e);
    assert_non_null(rt);
    assert_ptr_equal(rt, &routes[3]);
    assert_string_equal(params[0], "42");
    assert_string_equal(params[1], "start");
    /* case-sensitive, no prefix matching, no trailing segments, no empty params */
    static const char *const misses[] = {
        "/API/v1/vms",  "/api/v1/vmsX",           "/api/v1/vms/",
        "/api//v1/vms", "/api/v1/vms/1/actions/", "/api/v1/vms/1/x"};
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        err me = {0};
        assert_null(match(a, "GET", misses[i], params, allow, &me));
        assert_int_equal(me.kind, ERR_NOT_FOUND);
    }
    arena_destroy(a);
}

static void
test_method_not_allowed(void **state)
{
    arena *a = arena_new();
    const char *params[API_MAX_PARAMS] = {0};
    char allow[64];
    err e = {0};
    assert_null(match(a, "DELETE", "/api/v1/vms", params, allow, &e));
    assert_int_equal(e.kind, ERR_METHOD);
    assert_string_equal(allow, "GET, HEAD, POST");
    /* HEAD is GET without a body */
    assert_ptr_equal(match(a, "HEAD", "/api/v1/vms", params, allow, &e), &routes[0]);
    arena_destroy(a);
}

static void
test_params_decoded(void **state)
{
    arena *a = arena_new();
    const char *params[API_MAX_PARAMS] = {0};
    char allow[64];
    err e = {0};
    assert_non_null(match(a, "GET", "/api/v1/vms/a%20b", params, allow, &e));
    assert_string_equal(params[0], "a b");
    arena_destroy(a);
}

static void
test_url_decode(void **state)
{
    arena *a = arena_new();
    assert_string_equal(api_url_decode(a, "a+b%2Cc", 7, 1), "a b,c");
    assert_string_equal(api_url_decode(a, "a+b", 3, 0), "a+b");
    assert_null(api_url_decode(a, "%0", 2, 1));
    assert_null(api_url_decode(a, "%00", 3, 1));
    assert_null(api_url_decode(a, "%g1", 3, 1));
    arena_destroy(a);
}

static void
test_json_depth(void **state)
{
    char deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    assert_int_equal(api_json_depth(deep, 2000, 32), 33);
    assert_int_equal(api_json_depth("{\"a\":[1,{\"b\":2}]}", 17, 32), 3);
    /* brackets inside strings do not count, escaped quotes do not end strings */
    const char *s = "{\"a\":\"[[[[\\\"[[[[\"}";
    assert_int_equal(api_json_depth(s, strlen(s), 32), 1);
}

static void
test_json_parse(void **state)
{
    err e = {0};
    json_t *j = api_json_parse("{\"a\":1}", 7, &e);
    assert_non_null(j);
    json_decref(j);
    static const char *const bad[] = {"{\"a\":1,\"a\":2}", "[1]", "{", "", "nul", "{\"a\":1} x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err be = {0};
        assert_null(api_json_parse(bad[i], strlen(bad[i]), &be));
        assert_int_equal(be.kind, ERR_INVALID);
    }
    char deep[80];
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    char body[100];
    snprintf(body, sizeof(body), "{\"a\":%.*s}", 66, deep);
    assert_null(api_json_parse(body, strlen(body), &e));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_check),         cmocka_unit_test(test_match_exact),
        cmocka_unit_test(test_method_not_allowed), cmocka_unit_test(test_params_decoded),
        cmocka_unit_test(test_url_decode),         cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
