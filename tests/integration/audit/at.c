#include "at.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

struct vp_proc at_p;
char *at_admin;

int
at_start(const char *const *extra)
{
    if (vp_start(&at_p, extra) < 0)
        return -1;
    at_admin = vp_login(&at_p, "admin", at_p.admin_password);
    return at_admin ? 0 : -1;
}

int
at_restart(const char *const *extra)
{
    if (vp_restart(&at_p, extra) < 0)
        return -1;
    free(at_admin);
    at_admin = vp_login(&at_p, "admin", at_p.admin_password);
    return at_admin ? 0 : -1;
}

void
at_stop(void)
{
    vp_stop(&at_p);
    free(at_admin);
    at_admin = NULL;
}

static int
req_v(struct vp_resp *r, const char *method, const char *path, const char *token, const char *fmt,
      va_list ap)
{
    char *body = NULL;
    if (fmt && vasprintf(&body, fmt, ap) < 0)
        return -1;
    int rc = vp_json(&at_p, method, path, token, body, r);
    free(body);
    return rc;
}

int
at_req(struct vp_resp *r, const char *method, const char *path, const char *token, const char *fmt,
       ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(r, method, path, token, fmt, ap);
    va_end(ap);
    return rc;
}

json_t *
at_get(const char *path)
{
    struct vp_resp r;
    at_req(&r, "GET", path, at_admin, NULL);
    if (r.status != 200 || !r.json)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

int64_t
at_create(const char *path, const char *fmt, ...)
{
    struct vp_resp r;
    va_list ap;
    va_start(ap, fmt);
    req_v(&r, "POST", path, at_admin, fmt, ap);
    va_end(ap);
    if (r.status != 201)
        fail_msg("POST %s: %ld %s", path, r.status, r.body);
    int64_t id = json_integer_value(json_object_get(r.json, "id"));
    vp_resp_free(&r);
    return id;
}

int64_t
at_tenant(const char *slug, char rid[64])
{
    struct vp_resp r;
    at_req(&r, "POST", "/api/v1/tenants", at_admin, "{\"slug\":\"%s\",\"name\":\"Tenant %s\"}",
           slug, slug);
    if (r.status != 201)
        fail_msg("POST /api/v1/tenants %s: %ld %s", slug, r.status, r.body);
    int64_t id = json_integer_value(json_object_get(r.json, "id"));
    char *h = vp_header(&r, "X-Request-Id");
    if (rid)
        snprintf(rid, 64, "%s", h ? h : "");
    free(h);
    vp_resp_free(&r);
    return id;
}

int
at_cli(char *out, size_t n, const char *const *argv)
{
    const char *args[32] = {vp_binary()};
    int k = 1;
    for (; argv[k - 1] && k < 31; k++)
        args[k] = argv[k - 1];
    args[k] = NULL;
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fds[0], out + got, n - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    char sink[256];
    while (read(fds[0], sink, sizeof(sink)) > 0)
        ;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
at_sql(const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    int rc = sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "at_sql: %s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    sqlite3_close(s);
    return rc == SQLITE_OK ? 0 : -1;
}

int64_t
at_sql_int(const char *path, const char *sql)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return v;
}

int
at_copy(const char *src, const char *dst)
{
    size_t n = 0;
    char *data = at_slurp(src, &n);
    FILE *f = data ? fopen(dst, "wb") : NULL;
    int rc = f && fwrite(data, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(data);
    return rc;
}

char *
at_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

const char *
at_path(const char *name)
{
    static char buf[600];
    snprintf(buf, sizeof(buf), "%s/%s", at_p.dir, name);
    return buf;
}

json_t *
at_items(const struct vp_resp *r)
{
    return json_object_get(r->json, "items");
}
