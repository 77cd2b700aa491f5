/* Content rules: the audit log records who, what and the outcome, and never a
 * password, token or other secret. Every audited route that takes or returns
 * a secret is driven with recognizable values (logins ok and failed, user
 * create and password change, API token creation and use, refresh-cookie
 * rotation and reuse, logout), then the whole audit table, the access log and
 * every other file of the data dir are scanned for them.
 * Run one case: audit_secrets_test <name>. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "at.h"

enum { MAX_SECRETS = 32 };

static char *secrets[MAX_SECRETS];
static int nsecrets;

static void
secret(const char *s)
{
    assert_true(s && strlen(s) >= 12);
    assert_true(nsecrets < MAX_SECRETS);
    secrets[nsecrets++] = strdup(s);
}

static int
setup(void **state)
{
    return at_start(NULL);
}

static int
teardown(void **state)
{
    for (int i = 0; i < nsecrets; i++)
        free(secrets[i]);
    at_stop();
    return 0;
}

/* The value of cookie vp_refresh in a Set-Cookie header (malloc'd) or NULL. */
static char *
refresh_cookie(const struct vp_resp *r)
{
    char *h = vp_header(r, "Set-Cookie");
    char *out = NULL;
    if (h && !strncmp(h, "vp_refresh=", 11))
        out = strndup(h + 11, strcspn(h + 11, ";"));
    free(h);
    return out;
}

static char *
login(const char *user, const char *password, long want, char **cookie)
{
    struct vp_resp r;
    at_req(&r, "POST", "/api/v1/auth/login", NULL,
           "{\"login\":\"%s\",\"password\":\"%s\",\"totp\":\"TotpSecret-775533\"}", user, password);
    assert_int_equal(r.status, want);
    char *tok =
        want == 200 ? strdup(json_string_value(json_object_get(r.json, "access_token"))) : NULL;
    if (cookie)
        *cookie = refresh_cookie(&r);
    vp_resp_free(&r);
    return tok;
}

/* POST /api/v1/auth/refresh (or logout) with the cookie and the CSRF header. */
static long
with_cookie(const char *path, const char *cookie, char **next)
{
    char hdr[300];
    snprintf(hdr, sizeof(hdr), "Cookie: vp_refresh=%s", cookie);
    const char *headers[] = {hdr, "X-VP-CSRF: 1", NULL};
    struct vp_resp r;
    vp_http(&at_p, "POST", path, headers, NULL, 0, &r);
    long st = r.status;
    if (next)
        *next = refresh_cookie(&r);
    vp_resp_free(&r);
    return st;
}

static void
drive_routes(void)
{
    const char *pw1 = "Sapphire-Pw-Alpha-90210", *pw2 = "Sapphire-Pw-Bravo-31337",
               *wrong = "Sapphire-Wrong-Guess-4242";
    secret(pw1), secret(pw2), secret(wrong), secret("TotpSecret-775533");
    struct vp_resp r;
    /* user create and password change */
    int64_t uid = at_create("/api/v1/users",
                            "{\"login\":\"sam\",\"password\":\"%s\",\"tenant_id\":null}", pw1);
    at_create("/api/v1/role-bindings",
              "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"viewer\","
              "\"scope\":\"global\"}",
              (long long)uid);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/users/%lld", (long long)uid);
    at_req(&r, "PATCH", path, at_admin, "{\"password\":\"%s\"}", pw2);
    assert_int_equal(r.status, 200);
    vp_resp_free(&r);
    /* logins: failed (wrong and old password), then ok with a refresh cookie */
    login("sam", wrong, 401, NULL);
    login("sam", pw1, 401, NULL);
    login("no-such-user-Sapphire", wrong, 401, NULL);
    char *cookie = NULL, *next = NULL, *third = NULL;
    char *jwt = login("sam", pw2, 200, &cookie);
    secret(jwt), secret(cookie);
    /* API token: created (the secret is in the response), used, and a forged one refused */
    at_req(&r, "POST", "/api/v1/tokens", jwt, "{\"name\":\"ci-token\"}");
    assert_int_equal(r.status, 201);
    const char *tok = json_string_value(json_object_get(r.json, "secret"));
    assert_non_null(tok);
    secret(tok);
    char forged[128];
    snprintf(forged, sizeof(forged), "%.*sXXXXXXXXXXXX", (int)strlen(tok) - 12, tok);
    secret(forged);
    struct vp_resp u;
    at_req(&u, "GET", "/api/v1/me", tok, NULL);
    assert_int_equal(u.status, 200);
    vp_resp_free(&u);
    at_req(&u, "GET", "/api/v1/audit", tok, NULL); /* a viewer's token: denied, audited */
    assert_int_equal(u.status, 403);
    vp_resp_free(&u);
    at_req(&u, "GET", "/api/v1/me", forged, NULL);
    assert_int_equal(u.status, 401);
    vp_resp_free(&u);
    at_req(&u, "GET", "/api/v1/me", "eyJhbGciOiJIUzI1NiJ9.Forged-Jwt-Sapphire.sig", NULL);
    assert_int_equal(u.status, 401);
    vp_resp_free(&u);
    secret("eyJhbGciOiJIUzI1NiJ9.Forged-Jwt-Sapphire.sig");
    vp_resp_free(&r);
    /* refresh rotation, then reuse of the old cookie (revokes the family) */
    assert_int_equal(with_cookie("/api/v1/auth/refresh", cookie, &next), 200);
    secret(next);
    assert_int_equal(with_cookie("/api/v1/auth/refresh", cookie, NULL), 401);
    char *jwt2 = login("sam", pw2, 200, &third);
    secret(jwt2), secret(third);
    assert_int_equal(with_cookie("/api/v1/auth/logout", third, NULL), 204);
    free(jwt), free(jwt2), free(cookie), free(next), free(third);
}

/* Fails the test when any secret occurs in buf[n] (named `what`). */
static void
scan(const char *what, const char *buf, size_t n)
{
    for (int i = 0; i < nsecrets; i++)
        if (memmem(buf, n, secrets[i], strlen(secrets[i])))
            fail_msg("secret %d (%.6s...) found in %s", i, secrets[i], what);
}

/* Every column of every audit row (read as the database holds it). */
static size_t
scan_audit_table(void)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(at_path("virtportal.db"), &s, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT * FROM audit", -1, &st, NULL), SQLITE_OK);
    size_t rows = 0, control = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const void *b = sqlite3_column_blob(st, c);
            size_t n = (size_t)sqlite3_column_bytes(st, c);
            scan("the audit table", b ? b : "", n);
            /* the scanner does see what is there: sam's login is recorded */
            control += b && memmem(b, n, "sam", 3) != NULL;
        }
        rows++;
    }
    assert_true(control >= 6);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return rows;
}

/* Every regular file of the data dir (database, WAL, logs, checkpoints). */
static int
scan_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    int files = 0;
    while (d && (ent = readdir(d))) {
        char p[700];
        struct stat sb;
        if (ent->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, ent->d_name);
        if (lstat(p, &sb) < 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            files += scan_dir(p);
        } else if (S_ISREG(sb.st_mode)) {
            size_t n = 0;
            char *data = at_slurp(p, &n);
            scan(p, data ? data : "", n);
            free(data);
            files++;
        }
    }
    if (d)
        closedir(d);
    return files;
}

static void
test_no_secret_is_recorded(void **state)
{
    drive_routes();
    /* the events are there, with who / what / outcome */
    json_t *j = at_get("/api/v1/audit?actor=sam&limit=1000");
    size_t n = json_array_size(json_object_get(j, "items"));
    print_message("audit rows by sam: %zu\n", n);
    assert_true(n >= 6);
    json_decref(j);
    j = at_get("/api/v1/audit?action=auth.login&outcome=failed");
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    assert_non_null(it);
    assert_non_null(json_string_value(json_object_get(it, "source_ip")));
    assert_non_null(json_object_get(json_object_get(it, "details"), "reason"));
    json_decref(j);
    j = at_get("/api/v1/audit?action=token.create");
    it = json_array_get(json_object_get(j, "items"), 0);
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "actor")), "sam");
    json_decref(j);
    /* stop cleanly: whatever is in memory reaches the files that are scanned */
    assert_int_equal(vp_term(&at_p), 0);
    size_t rows = scan_audit_table();
    size_t loglen = 0;
    char *log = at_slurp(at_path("server.log"), &loglen);
    assert_non_null(log);
    scan("the access log", log, loglen);
    free(log);
    int files = scan_dir(at_p.dir);
    print_message("%d secrets, %zu audit rows, %d files scanned: none found\n", nsecrets, rows,
                  files);
    assert_int_equal(at_restart(NULL), 0);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_secret_is_recorded),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, setup, teardown);
}
