/* idt: helpers of the identity integration tests (see idt.h). */
#include "idt.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

struct vp_proc idt_p;
char *idt_admin;

int
idt_setup(void **state)
{
    if (vp_start(&idt_p, NULL) < 0)
        return -1;
    idt_admin = vp_login(&idt_p, "admin", idt_p.admin_password);
    return idt_admin ? 0 : -1;
}

int
idt_teardown(void **state)
{
    free(idt_admin);
    idt_admin = NULL;
    vp_stop(&idt_p);
    return 0;
}

static int
req_v(struct vp_resp *r, const char *method, const char *path, const char *token, const char *fmt,
      va_list ap)
{
    char *body = NULL;
    if (fmt && vasprintf(&body, fmt, ap) < 0)
        return -1;
    int rc = vp_json(&idt_p, method, path, token, body, r);
    free(body);
    return rc;
}

int
idt_req(struct vp_resp *r, const char *method, const char *path, const char *token, const char *fmt,
        ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(r, method, path, token, fmt, ap);
    va_end(ap);
    return rc;
}

int64_t
idt_create(const char *path, const char *token, const char *fmt, ...)
{
    struct vp_resp r;
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(&r, "POST", path, token, fmt, ap);
    va_end(ap);
    if (rc != 0 || r.status != 201)
        fprintf(stderr, "idt_create %s: %ld %s\n", path, r.status, r.body);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 201);
    int64_t id = idt_int(&r, "id");
    vp_resp_free(&r);
    assert_true(id > 0);
    return id;
}

int64_t
idt_tenant(const char *slug)
{
    return idt_create("/api/v1/tenants", idt_admin, "{\"slug\":\"%s\",\"name\":\"Tenant %s\"}",
                      slug, slug);
}

int64_t
idt_user(const char *login, int64_t tenant_id)
{
    char tid[32] = "null";
    if (tenant_id)
        snprintf(tid, sizeof(tid), "%lld", (long long)tenant_id);
    return idt_create("/api/v1/users", idt_admin,
                      "{\"login\":\"%s\",\"password\":\"" IDT_PASSWORD "\",\"tenant_id\":%s}",
                      login, tid);
}

int64_t
idt_bind(int64_t user_id, const char *role, int64_t tenant_id)
{
    if (!tenant_id)
        return idt_create("/api/v1/role-bindings", idt_admin,
                          "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                          "\"scope\":\"global\"}",
                          (long long)user_id, role);
    return idt_create("/api/v1/role-bindings", idt_admin,
                      "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                      "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                      (long long)user_id, role, (long long)tenant_id);
}

char *
idt_login(const char *login)
{
    char *tok = vp_login(&idt_p, login, IDT_PASSWORD);
    assert_non_null(tok);
    return tok;
}

const char *
idt_field(const struct vp_resp *r)
{
    json_t *errs = json_object_get(r->json, "errors");
    const char *f = json_string_value(json_object_get(json_array_get(errs, 0), "field"));
    return f ? f : "";
}

int64_t
idt_int(const struct vp_resp *r, const char *key)
{
    json_t *v = json_object_get(r->json, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

int
idt_list_has(const struct vp_resp *r, const char *key, int64_t id)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r->json, "items"), i, it)
    {
        if (json_integer_value(json_object_get(it, key)) == id)
            return 1;
    }
    return 0;
}

int64_t
idt_db_int(const char *sql)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/virtportal.db", idt_p.dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

int
idt_run(const char *const *argv, const char *input)
{
    const char *full[32] = {vp_binary()};
    for (int i = 0; argv[i] && i < 30; i++)
        full[i + 1] = argv[i];
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execv(full[0], (char *const *)full);
        _exit(127);
    }
    close(fds[0]);
    if (input && write(fds[1], input, strlen(input)) < 0)
        perror("write");
    close(fds[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
