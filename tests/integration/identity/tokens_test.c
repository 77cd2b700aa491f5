/* API tokens over REST: the secret is shown once and works as a Bearer
 * credential; revoked → 401; expiry validated; a narrowed token cannot
 * exceed its roles; a token never outlives its owner's rights; tokens are
 * private to their owner. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "idt.h"

static char *
tpath(int64_t id)
{
    static char p[64];
    snprintf(p, sizeof(p), "/api/v1/tokens/%lld", (long long)id);
    return p;
}

/* Creates a token with body; returns its secret (malloc'd) and id. */
static char *
new_token(const char *owner_tok, const char *body, int64_t *id)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tokens", owner_tok, "%s", body);
    if (r.status != 201)
        fprintf(stderr, "%s -> %ld %s\n", body, r.status, r.body);
    assert_int_equal(r.status, 201);
    const char *s = json_string_value(json_object_get(r.json, "secret"));
    assert_non_null(s);
    char *secret = strdup(s);
    *id = idt_int(&r, "id");
    vp_resp_free(&r);
    return secret;
}

static void
test_secret_once_and_works(void **state)
{
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"ci-deploy\"}");
    assert_int_equal(r.status, 201);
    int64_t id = idt_int(&r, "id");
    const char *secret = json_string_value(json_object_get(r.json, "secret"));
    const char *prefix = json_string_value(json_object_get(r.json, "prefix"));
    assert_non_null(secret);
    assert_non_null(prefix);
    assert_int_equal(strncmp(secret, "vpt_", 4), 0);
    assert_non_null(strstr(secret, prefix));
    assert_true(json_is_null(json_object_get(r.json, "expires_at")));
    assert_true(json_is_null(json_object_get(r.json, "revoked_at")));
    char *cc = vp_header(&r, "Cache-Control"), *loc = vp_header(&r, "Location");
    assert_string_equal(cc, "no-store");
    assert_string_equal(loc, tpath(id));
    free(cc);
    free(loc);
    char *sec = strdup(secret);
    vp_resp_free(&r);

    /* never again: not by GET, not in the list, not in the database or audit */
    idt_req(&r, "GET", tpath(id), idt_admin, NULL);
    assert_int_equal(r.status, 200);
    assert_null(json_object_get(r.json, "secret"));
    assert_null(strstr(r.body, sec + 21));
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tokens", idt_admin, NULL);
    assert_true(idt_list_has(&r, "id", id));
    assert_null(strstr(r.body, sec + 21));
    vp_resp_free(&r);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE instr(ifnull(details, ''), '%s') > 0", sec + 21);
    assert_int_equal(idt_db_int(sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_token WHERE instr(hash, '%s') > 0",
             sec + 21);
    assert_int_equal(idt_db_int(sql), 0);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'token.create' AND "
                                "json_extract(details, '$.name') = 'ci-deploy'"),
                     1);

    /* it authenticates, as its owner */
    idt_req(&r, "GET", "/api/v1/me", sec, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "login")), "admin");
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tenants", sec, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);

    /* same name again: 409 */
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"ci-deploy\"}");
    assert_int_equal(r.status, 409);
    assert_string_equal(idt_field(&r), "name");
    vp_resp_free(&r);

    /* a token cannot mint tokens (it could otherwise shed its narrowing) */
    idt_req(&r, "POST", "/api/v1/tokens", sec, "{\"name\":\"child\"}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'token.create' AND "
                                "outcome = 'denied'"),
                     1);

    free(sec);
}

static void
test_revoke(void **state)
{
    int64_t id;
    char *sec = new_token(idt_admin, "{\"name\":\"to-revoke\"}", &id);
    struct vp_resp r;
    idt_req(&r, "GET", "/api/v1/me", sec, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    /* revoked: 401 from then on */
    idt_req(&r, "DELETE", tpath(id), idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/me", sec, NULL);
    assert_int_equal(r.status, 401);
    vp_resp_free(&r);
    idt_req(&r, "GET", tpath(id), idt_admin, NULL);
    assert_false(json_is_null(json_object_get(r.json, "revoked_at")));
    vp_resp_free(&r);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'token.revoke'"), 1);
    /* revoking again changes nothing */
    idt_req(&r, "DELETE", tpath(id), idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    assert_int_equal(idt_db_int("SELECT count(*) FROM audit WHERE action = 'token.revoke'"), 1);
    free(sec);
}

static void
iso_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
test_expiry_validation(void **state)
{
    char past[32], far[32], ok[32];
    time_t now = time(NULL);
    iso_time(now - 3600, past, sizeof(past));
    iso_time(now + 400L * 86400, far, sizeof(far));
    iso_time(now + 30L * 86400, ok, sizeof(ok));
    const char *bad[] = {past, far, "tomorrow", "2030-02-30T00:00:00Z", "2030-01-01 00:00:00"};
    struct vp_resp r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        idt_req(&r, "POST", "/api/v1/tokens", idt_admin,
                "{\"name\":\"exp-%zu\",\"expires_at\":\"%s\"}", i, bad[i]);
        assert_int_equal(r.status, 400);
        assert_string_equal(idt_field(&r), "expires_at");
        vp_resp_free(&r);
    }
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"exp-ok\",\"expires_at\":\"%s\"}",
            ok);
    assert_int_equal(r.status, 201);
    const char *stored = json_string_value(json_object_get(r.json, "expires_at"));
    assert_non_null(stored);
    assert_int_equal(strncmp(stored, ok, 19), 0);
    vp_resp_free(&r);
    /* an offset is understood */
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin,
            "{\"name\":\"exp-off\",\"expires_at\":\"%.19s+02:00\"}", ok);
    assert_int_equal(r.status, 201);
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "name");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"r\",\"roles\":[]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "roles");
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"r\",\"secret\":\"mine\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "secret");
    vp_resp_free(&r);
}

static void
test_narrowed_token(void **state)
{
    int64_t id;
    char *viewer = new_token(idt_admin,
                             "{\"name\":\"read-only\",\"roles\":[{\"role\":\"viewer\","
                             "\"scope\":\"global\"}]}",
                             &id);
    struct vp_resp r;
    idt_req(&r, "GET", tpath(id), idt_admin, NULL);
    assert_true(json_is_true(json_object_get(r.json, "narrowed")));
    json_t *roles = json_object_get(r.json, "roles");
    assert_int_equal(json_array_size(roles), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 0), "role")),
                        "viewer");
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tenants", viewer, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users", viewer, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    /* the admin could; the viewer-narrowed token cannot */
    idt_req(&r, "POST", "/api/v1/tenants", viewer, "{\"slug\":\"by-token\",\"name\":\"x\"}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "POST", "/api/v1/roles", viewer, "{\"name\":\"by-token\",\"permissions\":[]}");
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    int64_t u = idt_user("tok-target", 0);
    idt_req(&r, "POST", "/api/v1/role-bindings", viewer,
            "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"viewer\","
            "\"scope\":\"global\"}",
            (long long)u);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    /* narrowing by role name takes the owner's own bindings of that role */
    int64_t id2;
    char *adm = new_token(idt_admin, "{\"name\":\"as-admin\",\"roles\":[\"admin\"]}", &id2);
    idt_req(&r, "POST", "/api/v1/tenants", adm, "{\"slug\":\"by-token\",\"name\":\"x\"}");
    assert_int_equal(r.status, 201);
    vp_resp_free(&r);
    /* a role the owner does not hold cannot be named */
    idt_req(&r, "POST", "/api/v1/tokens", idt_admin, "{\"name\":\"nope\",\"roles\":[\"auditor\"]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "roles");
    vp_resp_free(&r);
    free(viewer);
    free(adm);
}

static void
test_token_follows_owner(void **state)
{
    int64_t t = idt_tenant("tk");
    int64_t u = idt_user("tina", t);
    int64_t b = idt_bind(u, "tenant-admin", t);
    char *sess = idt_login("tina");
    int64_t id;
    char *tok = new_token(sess, "{\"name\":\"tina-full\"}", &id);
    /* a narrowed token of a tenant user: only what the owner holds there */
    struct vp_resp r;
    idt_req(&r, "POST", "/api/v1/tokens", sess,
            "{\"name\":\"too-much\",\"roles\":[{\"role\":\"viewer\",\"scope\":\"global\"}]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(idt_field(&r), "roles");
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users", tok, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    /* demoting the owner demotes the token at once */
    char bpath[64];
    snprintf(bpath, sizeof(bpath), "/api/v1/role-bindings/%lld", (long long)b);
    idt_req(&r, "DELETE", bpath, idt_admin, NULL);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/users", tok, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    /* tokens are private: another user sees 404, the global admin sees it */
    idt_bind(u, "tenant-member", t);
    int64_t v = idt_user("vic", t);
    idt_bind(v, "tenant-member", t);
    char *vs = idt_login("vic");
    idt_req(&r, "GET", tpath(id), vs, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    idt_req(&r, "DELETE", tpath(id), vs, NULL);
    assert_int_equal(r.status, 404);
    vp_resp_free(&r);
    idt_req(&r, "GET", "/api/v1/tokens", vs, NULL);
    assert_int_equal(r.status, 200);
    assert_false(idt_list_has(&r, "id", id));
    vp_resp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/tokens?user_id=%lld", (long long)u);
    idt_req(&r, "GET", path, vs, NULL);
    assert_int_equal(r.status, 403);
    vp_resp_free(&r);
    idt_req(&r, "GET", path, idt_admin, NULL);
    assert_int_equal(r.status, 200);
    assert_true(idt_list_has(&r, "id", id));
    vp_resp_free(&r);
    idt_req(&r, "GET", tpath(id), idt_admin, NULL);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    free(vs);
    free(tok);
    free(sess);
}

int
main(int argc, char **argv)
{
    if (argc > 1) /* ctest runs one case per process */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_once_and_works), cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_expiry_validation),     cmocka_unit_test(test_narrowed_token),
        cmocka_unit_test(test_token_follows_owner),
    };
    return cmocka_run_group_tests(tests, idt_setup, idt_teardown);
}
