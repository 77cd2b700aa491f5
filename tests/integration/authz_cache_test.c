/* Principals are cached between requests (api/principal_cache.c) only until
 * an identity change commits: demotion, disabling, token revocation and
 * logout must take effect at the very next request, cache or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct vp_proc srv;
static char *admin;
static const char *const pw = "Cache-pw-90210-Quartz";

static int
setup(void **state)
{
    if (vp_start(&srv, NULL) < 0)
        return -1;
    admin = vp_login(&srv, "admin", srv.admin_password);
    return admin ? 0 : -1;
}

static int
teardown(void **state)
{
    free(admin);
    vp_stop(&srv);
    return 0;
}

static long
status_of(const char *method, const char *path, const char *token, const char *body, json_t **out)
{
    struct vp_resp r;
    vp_json(&srv, method, path, token, body, &r);
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    vp_resp_free(&r);
    return st;
}

/* A global operator: returns its user id and binding id. */
static void
make_operator(const char *login, int64_t *uid, int64_t *bid)
{
    char body[256];
    json_t *j = NULL;
    snprintf(body, sizeof(body), "{\"login\":\"%s\",\"password\":\"%s\"}", login, pw);
    assert_int_equal(status_of("POST", "/api/v1/users", admin, body, &j), 201);
    *uid = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"operator\","
             "\"scope\":\"global\"}",
             (long long)*uid);
    assert_int_equal(status_of("POST", "/api/v1/role-bindings", admin, body, &j), 201);
    *bid = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
}

static void
test_demotion_takes_effect_at_once(void **state)
{
    int64_t uid, bid;
    make_operator("cache-op", &uid, &bid);
    char *tok = vp_login(&srv, "cache-op", pw);
    assert_non_null(tok);
    for (int i = 0; i < 3; i++) /* warm the cache */
        assert_int_equal(status_of("GET", "/api/v1/users", tok, NULL, NULL), 200);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/role-bindings/%lld", (long long)bid);
    assert_int_equal(status_of("DELETE", path, admin, NULL, NULL), 204);
    assert_int_equal(status_of("GET", "/api/v1/users", tok, NULL, NULL), 403);
    free(tok);
}

static void
test_disable_and_token_revoke_take_effect_at_once(void **state)
{
    int64_t uid, bid;
    make_operator("cache-op2", &uid, &bid);
    char *tok = vp_login(&srv, "cache-op2", pw);
    json_t *j = NULL;
    assert_int_equal(status_of("POST", "/api/v1/tokens", tok, "{\"name\":\"t\"}", &j), 201);
    char *api_tok = strdup(json_string_value(json_object_get(j, "secret")));
    int64_t tid = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_int_equal(status_of("GET", "/api/v1/me", api_tok, NULL, NULL), 200);
    assert_int_equal(status_of("GET", "/api/v1/me", api_tok, NULL, NULL), 200);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tokens/%lld", (long long)tid);
    assert_int_equal(status_of("DELETE", path, tok, NULL, NULL), 204);
    assert_int_equal(status_of("GET", "/api/v1/me", api_tok, NULL, NULL), 401);
    assert_int_equal(status_of("GET", "/api/v1/me", tok, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/api/v1/users/%lld", (long long)uid);
    assert_int_equal(status_of("PATCH", path, admin, "{\"disabled\":true}", NULL), 200);
    assert_int_equal(status_of("GET", "/api/v1/me", tok, NULL, NULL), 401);
    free(api_tok);
    free(tok);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demotion_takes_effect_at_once),
        cmocka_unit_test(test_disable_and_token_revoke_take_effect_at_once),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
