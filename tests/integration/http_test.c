/* The HTTPS front door and the dispatch pipeline, against the real binary:
 * TLS, security headers, exact routing, request-smuggling and size guards,
 * problem+json everywhere, the embedded UI, sessions, graceful signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

static struct vp_proc srv;

static int
setup(void **state)
{
    return vp_start(&srv, NULL);
}

static int
teardown(void **state)
{
    vp_stop(&srv);
    return 0;
}

static void
assert_problem(struct vp_resp *r, long status)
{
    if (r->status != status)
        fail_msg("status %ld, wanted %ld: %s", r->status, status, r->body);
    char *ct = vp_header(r, "Content-Type");
    assert_non_null(ct);
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    assert_non_null(r->json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), status);
    assert_non_null(json_object_get(r->json, "title"));
    assert_non_null(json_object_get(r->json, "type"));
    const char *inst = json_string_value(json_object_get(r->json, "instance"));
    assert_non_null(inst);
    char *rid = vp_header(r, "X-Request-Id");
    assert_non_null(rid);
    assert_non_null(strstr(inst, rid)); /* instance names the request id */
    free(rid);
}

static void
expect_problem(const char *method, const char *path, long status)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, method, path, NULL, NULL, 0, &r), 0);
    assert_problem(&r, status);
    vp_resp_free(&r);
}

static void
assert_alive(void)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
}

/* TLS 1.3 works; nothing below TLS 1.2 is accepted. */
static long
tls_get(long min_version, long max_version)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", srv.base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, srv.cert);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, min_version | max_version);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? status : -1;
}

static void
test_tls_versions(void **state)
{
    assert_int_equal(tls_get(CURL_SSLVERSION_TLSv1_3, CURL_SSLVERSION_MAX_DEFAULT), 200);
    assert_int_equal(tls_get(CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_2), 200);
    assert_int_equal(tls_get(CURL_SSLVERSION_TLSv1, CURL_SSLVERSION_MAX_TLSv1_1), -1);
}

/* Fails the test unless header `name` of r contains `want`. */
static void
expect_header(struct vp_resp *r, const char *path, const char *name, const char *want)
{
    char *v = vp_header(r, name);
    if (!v || !strstr(v, want))
        fail_msg("%s %s: '%s' lacks '%s'", path, name, v ? v : "(absent)", want);
    free(v);
}

/* API answers carry OWASP's REST set (no document ever loads from them); the
 * UI's HTML carries the full strict set, with no inline script. */
static void
test_security_headers(void **state)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "GET", "/api/v1/version", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    static const char *const api[][2] = {
        {"Strict-Transport-Security", "max-age="},
        {"Content-Security-Policy", "default-src 'none'"},
        {"Content-Security-Policy", "frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Cache-Control", "no-store"},
    };
    for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++)
        expect_header(&r, "/api/v1/version", api[i][0], api[i][1]);
    char *acao = vp_header(&r, "Access-Control-Allow-Origin");
    assert_null(acao); /* no CORS unless configured */
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "virtportal");
    vp_resp_free(&r);

    assert_int_equal(vp_http(&srv, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    static const char *const ui[][2] = {
        {"Strict-Transport-Security", "max-age="},
        {"Content-Security-Policy", "default-src 'self'"},
        {"Content-Security-Policy", "script-src 'self'"},
        {"Content-Security-Policy", "frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
    };
    for (size_t i = 0; i < sizeof(ui) / sizeof(ui[0]); i++)
        expect_header(&r, "/", ui[i][0], ui[i][1]);
    char *csp = vp_header(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_null(strstr(csp, "unsafe-inline"));
    free(csp);
    vp_resp_free(&r);
}

static void
test_exact_routing(void **state)
{
    expect_problem("GET", "/API/v1/version", 404);
    expect_problem("GET", "/api/v1/versionX", 404);
    expect_problem("GET", "/api//v1/version", 404);
    expect_problem("GET", "/api/v1/version%00x", 400);
    expect_problem("GET", "/api/v1/x%2F..%2Fversion", 400);
    expect_problem("GET", "/api/v1/x/../version", 400);
    expect_problem("GET", "/api/v1/%5cversion", 400);
    expect_problem("GET", "/.env", 404);
    expect_problem("GET", "/x.php", 404);
    assert_alive();
}

static void
test_method_not_allowed(void **state)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "DELETE", "/api/v1/version", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 405);
    char *allow = vp_header(&r, "Allow");
    assert_non_null(allow);
    assert_string_equal(allow, "GET, HEAD");
    free(allow);
    vp_resp_free(&r);
}

static void
test_body_too_large(void **state)
{
    size_t n = 2u << 20;
    char *big = malloc(n);
    memset(big, ' ', n);
    const char *h[] = {"Content-Type: application/json", NULL};
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "POST", "/api/v1/auth/login", h, big, n, &r), 0);
    assert_problem(&r, 413);
    vp_resp_free(&r);
    free(big);
    assert_alive();
}

static void
test_deep_json(void **state)
{
    char body[2100];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"login\":");
    memset(body + n, '[', 1000);
    memset(body + n + 1000, ']', 1000);
    body[n + 2000] = '}';
    const char *h[] = {"Content-Type: application/json", NULL};
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "POST", "/api/v1/auth/login", h, body, n + 2001, &r), 0);
    assert_problem(&r, 400);
    vp_resp_free(&r);
    /* duplicate keys, wrong media type, unknown members */
    const char *dup = "{\"login\":\"a\",\"login\":\"b\",\"password\":\"x\"}";
    assert_int_equal(vp_http(&srv, "POST", "/api/v1/auth/login", h, dup, strlen(dup), &r), 0);
    assert_problem(&r, 400);
    vp_resp_free(&r);
    const char *text[] = {"Content-Type: text/plain", NULL};
    assert_int_equal(vp_http(&srv, "POST", "/api/v1/auth/login", text, "{}", 2, &r), 0);
    assert_problem(&r, 415);
    vp_resp_free(&r);
    assert_int_equal(vp_json(&srv, "POST", "/api/v1/auth/login", NULL,
                             "{\"login\":\"a\",\"password\":\"b\",\"admin\":true}", &r),
                     0);
    assert_problem(&r, 400);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r.json, "errors"), 0), "field")),
                        "admin");
    vp_resp_free(&r);
    assert_alive();
}

static void
expect_raw_400(const char *raw)
{
    char out[8192];
    long n = vp_raw(&srv, raw, strlen(raw), out, sizeof(out));
    assert_true(n > 0);
    if (strncmp(out, "HTTP/1.1 400", 12))
        fail_msg("wanted 400, got: %.80s", out);
    assert_non_null(strstr(out, "application/problem+json"));
}

static void
test_request_smuggling(void **state)
{
    expect_raw_400(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    expect_raw_400(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
    expect_raw_400(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    assert_alive();
}

/* 40 slowloris connections (TLS up, headers never finished) must not starve
 * the server: a normal request still gets its answer, and once the request
 * timeout passes the slow connections are closed. */
static void
test_slow_clients(void **state)
{
    enum { SLOW = 40 };
    int fds[SLOW];
    SSL *ssls[SLOW];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    for (int i = 0; i < SLOW; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
        ssls[i] = SSL_new(ctx);
        SSL_set_fd(ssls[i], fds[i]);
        assert_int_equal(SSL_connect(ssls[i]), 1);
        const char *partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        assert_true(SSL_write(ssls[i], partial, (int)strlen(partial)) > 0);
    }
    assert_alive();
    /* the server hangs up on them after server.request_timeout_ms (5 s) */
    int closed = 0;
    for (int i = 0; i < SLOW; i++) {
        struct timeval tv = {.tv_sec = 15};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[512];
        int n;
        errno = 0;
        while ((n = SSL_read(ssls[i], buf, sizeof(buf))) > 0)
            ;
        int why = SSL_get_error(ssls[i], n);
        /* closed by the server: close_notify, or EOF; not our receive timeout */
        closed += why == SSL_ERROR_ZERO_RETURN ||
                  (why == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK);
        SSL_free(ssls[i]);
        close(fds[i]);
    }
    SSL_CTX_free(ctx);
    assert_int_equal(closed, SLOW);
    assert_alive();
}

/* CORS is off unless one origin is configured; then only that origin. */
static void
test_cors_only_for_the_configured_origin(void **state)
{
    struct vp_proc p;
    const char *const flags[] = {"--set", "server.cors_origin=https://console.example", NULL};
    assert_int_equal(vp_start(&p, flags), 0);
    struct vp_resp r;
    const char *good[] = {"Origin: https://console.example", "Access-Control-Request-Method: POST",
                          NULL};
    assert_int_equal(vp_http(&p, "OPTIONS", "/api/v1/me", good, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    char *acao = vp_header(&r, "Access-Control-Allow-Origin");
    assert_non_null(acao);
    assert_string_equal(acao, "https://console.example");
    free(acao);
    vp_resp_free(&r);
    const char *evil[] = {"Origin: https://evil.example", NULL};
    assert_int_equal(vp_http(&p, "GET", "/api/v1/version", evil, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(vp_header(&r, "Access-Control-Allow-Origin"));
    vp_resp_free(&r);
    vp_stop(&p);
}

static void
test_ui_is_embedded(void **state)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "GET", "/", NULL, NULL, 0, &r), 0);
    if (r.status == 404) { /* a build without the UI bundle */
        vp_resp_free(&r);
        skip();
    }
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<html"));
    char *etag = vp_header(&r, "ETag");
    assert_non_null(etag);
    vp_resp_free(&r);
    char inm[128];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    const char *h[] = {inm, NULL};
    assert_int_equal(vp_http(&srv, "GET", "/tenants", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 304); /* client-side route, same index.html */
    vp_resp_free(&r);
    free(etag);
    expect_problem("GET", "/assets/nope.js", 404);
    expect_problem("POST", "/", 405);
}

static void
test_health_and_metrics(void **state)
{
    struct vp_resp r;
    assert_int_equal(vp_http(&srv, "GET", "/readyz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
    vp_resp_free(&r);
    assert_int_equal(vp_http(&srv, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "virtportal_http_requests_total "));
    vp_resp_free(&r);
    assert_int_equal(vp_http(&srv, "GET", "/api/v1/openapi.json", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    vp_resp_free(&r);
}

static void
test_login_me_logout(void **state)
{
    struct vp_resp r;
    expect_problem("GET", "/api/v1/me", 401);
    char *tok = vp_login(&srv, "admin", srv.admin_password);
    assert_non_null(tok);
    assert_int_equal(vp_json(&srv, "GET", "/api/v1/me", tok, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "login")), "admin");
    assert_true(json_array_size(json_object_get(r.json, "permissions")) > 10);
    vp_resp_free(&r);
    assert_int_equal(vp_json(&srv, "POST", "/api/v1/auth/logout", tok, NULL, &r), 0);
    assert_int_equal(r.status, 204);
    vp_resp_free(&r);
    assert_int_equal(vp_json(&srv, "GET", "/api/v1/me", tok, NULL, &r), 0);
    assert_problem(&r, 401); /* the access token died with its session */
    vp_resp_free(&r);
    free(tok);
    assert_int_equal(vp_json(&srv, "GET", "/api/v1/me", "not.a.token", NULL, &r), 0);
    assert_problem(&r, 401);
    vp_resp_free(&r);
}

/* The refresh cookie rotates; a reused one ends the whole session. */
static char *
cookie_of(const struct vp_resp *r)
{
    char *sc = vp_header(r, "Set-Cookie");
    assert_non_null(sc);
    assert_non_null(strstr(sc, "HttpOnly"));
    assert_non_null(strstr(sc, "Secure"));
    assert_non_null(strstr(sc, "SameSite=Strict"));
    char *semi = strchr(sc, ';');
    *semi = '\0';
    char *out = NULL;
    assert_true(asprintf(&out, "Cookie: %s", sc) > 0);
    free(sc);
    return out;
}

static long
refresh(const char *cookie, int csrf, struct vp_resp *r)
{
    const char *h[] = {cookie, csrf ? "X-VP-CSRF: 1" : NULL, NULL};
    vp_http(&srv, "POST", "/api/v1/auth/refresh", h, NULL, 0, r);
    return r->status;
}

static void
test_refresh_rotation(void **state)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"login\":\"admin\",\"password\":\"%s\"}", srv.admin_password);
    struct vp_resp r, r2;
    assert_int_equal(vp_json(&srv, "POST", "/api/v1/auth/login", NULL, body, &r), 0);
    assert_int_equal(r.status, 200);
    char *c1 = cookie_of(&r);
    vp_resp_free(&r);
    assert_int_equal(refresh(c1, 0, &r), 403); /* CSRF header required */
    vp_resp_free(&r);
    assert_int_equal(refresh(c1, 1, &r), 200);
    char *c2 = cookie_of(&r);
    const char *tok = json_string_value(json_object_get(r.json, "access_token"));
    assert_non_null(tok);
    assert_int_equal(refresh(c1, 1, &r2), 401); /* reuse: the family is revoked */
    vp_resp_free(&r2);
    assert_int_equal(refresh(c2, 1, &r2), 401); /* ... including the newest token */
    vp_resp_free(&r2);
    assert_int_equal(vp_json(&srv, "GET", "/api/v1/me", tok, NULL, &r2), 0);
    assert_int_equal(r2.status, 401); /* and its access tokens */
    vp_resp_free(&r2);
    vp_resp_free(&r);
    free(c1);
    free(c2);
}

static void
test_login_throttled(void **state)
{
    struct vp_resp r;
    for (int i = 0; i < 5; i++) {
        vp_json(&srv, "POST", "/api/v1/auth/login", NULL,
                "{\"login\":\"nobody\",\"password\":\"wrong-password\"}", &r);
        assert_problem(&r, 401);
        assert_string_equal(json_string_value(json_object_get(r.json, "detail")),
                            "Invalid login or password.");
        vp_resp_free(&r);
    }
    vp_json(&srv, "POST", "/api/v1/auth/login", NULL,
            "{\"login\":\"nobody\",\"password\":\"wrong-password\"}", &r);
    assert_problem(&r, 429);
    char *ra = vp_header(&r, "Retry-After");
    assert_non_null(ra);
    assert_true(strtol(ra, NULL, 10) >= 1);
    free(ra);
    vp_resp_free(&r);
}

static void
test_sighup_reloads_certificate(void **state)
{
    /* replace the certificate with a new one, then SIGHUP */
    char key[300], cert[300];
    snprintf(key, sizeof(key), "%s/tls/key.pem", srv.dir);
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", srv.dir);
    char *const argv[] = {"/usr/bin/openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:P-256",
                          "-nodes",
                          "-days",
                          "2",
                          "-subj",
                          "/CN=reloaded",
                          "-addext",
                          "subjectAltName=IP:127.0.0.1",
                          "-keyout",
                          key,
                          "-out",
                          cert,
                          NULL};
    assert_int_equal(vp_run(argv, NULL), 0);
    kill(srv.pid, SIGHUP);
    usleep(300000);
    assert_alive(); /* vp_http trusts the cert file, which is now the new one */
}

static void
test_sigterm_is_graceful(void **state)
{
    assert_int_equal(vp_term(&srv), 0);
    assert_int_equal(vp_restart(&srv, NULL), 0);
    assert_alive();
}

static void
test_refuses_short_secret(void **state)
{
    char dir[300], path[360];
    snprintf(dir, sizeof(dir), "%s/short", srv.dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/secrets", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/secrets/jwt.key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("0123456789", f);
    fclose(f);
    chmod(path, 0600);
    char *const argv[] = {(char *)vp_binary(), "serve", "--data-dir", dir, "--port", "0", NULL};
    int rc = vp_run(argv, NULL);
    assert_true(rc > 0); /* refused to start, with an error naming the file */
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_versions),
        cmocka_unit_test(test_security_headers),
        cmocka_unit_test(test_exact_routing),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_deep_json),
        cmocka_unit_test(test_request_smuggling),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_cors_only_for_the_configured_origin),
        cmocka_unit_test(test_ui_is_embedded),
        cmocka_unit_test(test_health_and_metrics),
        cmocka_unit_test(test_login_me_logout),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_login_throttled),
        cmocka_unit_test(test_sighup_reloads_certificate),
        cmocka_unit_test(test_sigterm_is_graceful),
        cmocka_unit_test(test_refuses_short_secret),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
