/* rq: the quota-request tests' world, SQL reads and webhook receiver. */
#include "rq.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct vp_proc rq_srv;
char *rq_tok[RQ_NUSERS];
int64_t rq_uid[RQ_NUSERS];

static const char *const logins[RQ_NUSERS] = {"admin", "admin2", "alice", "carol", "dave", "bob"};

/* ---- world ---- */

static int
seed_sql(void)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", rq_srv.dir);
    sqlite3 *s = NULL;
    int rc = sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(
            s,
            "INSERT INTO tenant(id, slug, name) VALUES (10, 'acme', 'Acme'), "
            "(20, 'globex', 'Globex');"
            "INSERT INTO host(id, name, uri, cores, memory_mib) "
            "VALUES (1, 'h1', 'test:///h1', 16, 65536);"
            "INSERT INTO vm(uuid, host_id, name, tenant_id, state, vcpus, memory_mib, disk_gib) "
            "VALUES ('00000000-0000-0000-0000-000000000001', 1, 'a1', 10, 'running', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000002', 1, 'a2', 10, 'shutoff', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000003', 1, 'a3', 10, 'shutoff', 2, 2048, 20),"
            "('00000000-0000-0000-0000-000000000004', 1, 'g1', 20, 'running', 8, 8192, 80);"
            "INSERT INTO quota(tenant_id, resource, limit_value) VALUES (10, 'vms', 10), "
            "(10, 'vcpus', 8), (10, 'memory_mib', 16384), (20, 'vcpus', 16);",
            NULL, NULL, NULL);
    sqlite3_close(s);
    return rc == SQLITE_OK ? 0 : -1;
}

static int
user_add(const char *login, const char *tenant, const char *role)
{
    const char *argv[12] = {vp_binary(), "user", "add", login, "--data-dir", rq_srv.dir};
    int n = 6;
    if (tenant) {
        argv[n++] = "--tenant";
        argv[n++] = tenant;
    }
    if (role) {
        argv[n++] = "--role";
        argv[n++] = role;
    }
    argv[n] = NULL;
    return vp_run((char *const *)argv, RQ_PW "\n");
}

/* The always-added flags, then `extra`. */
static const char *const *
flags(const char *const *extra)
{
    static const char *argv[64];
    static const char *const base[] = {
        "--set", "server.test_hooks=1",  "--set", "requests.expiry_interval_s=1",
        "--set", "webhooks.poll_ms=100", NULL};
    int n = 0;
    for (int i = 0; base[i]; i++)
        argv[n++] = base[i];
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return argv;
}

int
rq_relogin(void)
{
    for (int u = 0; u < RQ_NUSERS; u++) {
        free(rq_tok[u]);
        rq_tok[u] = vp_login(&rq_srv, logins[u], u == RQ_ADMIN ? rq_srv.admin_password : RQ_PW);
        if (!rq_tok[u])
            return -1;
        rq_uid[u] = rq_sql_int("SELECT id FROM user WHERE login = '%s'", logins[u]);
    }
    return 0;
}

/* dave: a tenant user who may both ask and approve in acme (custom role). */
static int
steward(void)
{
    json_t *j = NULL;
    long st = rq_try(RQ_ADMIN, "POST", "/api/v1/roles",
                     "{\"name\":\"quota-steward\",\"permissions\":[\"quota.read\","
                     "\"quota.request\",\"quota.approve\",\"tenant.read\"]}",
                     &j);
    json_decref(j);
    if (st != 201)
        return -1;
    char body[200];
    snprintf(body, sizeof(body),
             "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"quota-steward\","
             "\"scope\":\"tenant\",\"tenant_id\":10}",
             (long long)rq_uid[RQ_DAVE]);
    st = rq_try(RQ_ADMIN, "POST", "/api/v1/role-bindings", body, &j);
    json_decref(j);
    return st == 201 ? 0 : -1;
}

int
rq_world(const char *const *extra)
{
    memset(rq_tok, 0, sizeof(rq_tok));
    if (vp_start(&rq_srv, flags(NULL)) < 0 || vp_term(&rq_srv) != 0 || seed_sql() < 0 ||
        user_add("admin2", NULL, "admin") != 0 || user_add("alice", "acme", "tenant-member") ||
        user_add("carol", "acme", "tenant-admin") || user_add("dave", "acme", NULL) ||
        user_add("bob", "globex", "tenant-member") || vp_restart(&rq_srv, flags(extra)) < 0 ||
        rq_relogin() < 0)
        return -1;
    if (steward() < 0)
        return -1;
    free(rq_tok[RQ_DAVE]); /* rights are read per request, but keep it simple */
    rq_tok[RQ_DAVE] = vp_login(&rq_srv, "dave", RQ_PW);
    return rq_tok[RQ_DAVE] ? 0 : -1;
}

void
rq_world_end(void)
{
    for (int u = 0; u < RQ_NUSERS; u++) {
        free(rq_tok[u]);
        rq_tok[u] = NULL;
    }
    vp_stop(&rq_srv);
}

int
rq_restart(const char *const *extra)
{
    if (vp_term(&rq_srv) != 0 || vp_restart(&rq_srv, flags(extra)) < 0)
        return -1;
    return rq_relogin();
}

/* ---- calls ---- */

long
rq_try(enum rq_user who, const char *method, const char *path, const char *body, json_t **out)
{
    struct vp_resp r;
    const char *tok = who < RQ_NUSERS ? rq_tok[who] : NULL;
    if (vp_json(&rq_srv, method, path, tok, body, &r) != 0)
        return -1;
    long st = r.status;
    if (out)
        *out = json_incref(r.json);
    vp_resp_free(&r);
    return st;
}

json_t *
rq_call(enum rq_user who, const char *method, const char *path, long want, const char *fmt, ...)
{
    char body[8192];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof(body), fmt, ap);
        va_end(ap);
    }
    struct vp_resp r;
    const char *tok = who < RQ_NUSERS ? rq_tok[who] : NULL;
    assert_int_equal(vp_json(&rq_srv, method, path, tok, fmt ? body : NULL, &r), 0);
    if (r.status != want)
        fail_msg("%s %s as %s -> %ld, wanted %ld: %s", method, path,
                 who < RQ_NUSERS ? logins[who] : "anonymous", r.status, want, r.body);
    json_t *j = json_incref(r.json);
    vp_resp_free(&r);
    return j;
}

void
rq_expect_problem(enum rq_user who, const char *method, const char *path, const char *body,
                  long status, const char *field)
{
    struct vp_resp r;
    assert_int_equal(vp_json(&rq_srv, method, path, rq_tok[who], body, &r), 0);
    if (r.status != status)
        fail_msg("%s %s %s -> %ld, wanted %ld: %s", method, path, body ? body : "", r.status,
                 status, r.body);
    char *ct = vp_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_string_equal(ct, "application/problem+json");
    free(ct);
    assert_int_equal(json_integer_value(json_object_get(r.json, "status")), status);
    if (field) {
        json_t *e0 = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *f = json_string_value(json_object_get(e0, "field"));
        if (!f || strcmp(f, field))
            fail_msg("%s: field %s, wanted %s: %s", body, f ? f : "(none)", field, r.body);
    }
    vp_resp_free(&r);
}

/* ---- SQL ---- */

static char *
sql_text(const char *sql)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/virtportal.db", rq_srv.dir);
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(s, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        out = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
    sqlite3_close(s);
    return out;
}

int64_t
rq_sql_int(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    char *t = sql_text(sql);
    int64_t v = t && *t ? strtoll(t, NULL, 10) : -1;
    free(t);
    return v;
}

char *
rq_snapshot(void)
{
    return sql_text(
        "SELECT (SELECT ifnull(group_concat(x, ','), '') FROM (SELECT tenant_id || ':' || "
        "resource || '=' || limit_value || '@' || updated_at AS x FROM quota "
        "ORDER BY tenant_id, resource)) || '|' || (SELECT ifnull(group_concat(x, ','), '') FROM "
        "(SELECT id || ':' || state AS x FROM quota_request ORDER BY id)) || '|' || "
        "(SELECT count(*) FROM notification) || '|' || (SELECT count(*) FROM webhook_delivery) "
        "|| '|' || (SELECT count(*) FROM audit WHERE outcome = 'ok' AND (action LIKE 'quota%' "
        "OR action LIKE 'webhook%'))");
}

/* ---- JSON ---- */

json_t *
rq_get(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf, *dot; j; p = dot + 1) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        j = json_object_get(j, p);
        if (!dot)
            break;
    }
    return j;
}

json_int_t
rq_int(json_t *j, const char *path)
{
    json_t *v = rq_get(j, path);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

const char *
rq_str(json_t *j, const char *path)
{
    const char *s = json_string_value(rq_get(j, path));
    if (!s)
        fail_msg("%s is not a string", path);
    return s;
}

int64_t
rq_request(enum rq_user who, int64_t tenant_id, const char *deltas)
{
    json_t *j = rq_call(who, "POST", "/api/v1/quota-requests", 201,
                        "{\"tenant_id\":%lld,\"deltas\":%s,\"justification\":\"For the course.\"}",
                        (long long)tenant_id, deltas);
    int64_t id = rq_int(j, "id");
    json_decref(j);
    return id;
}

void
rq_time(int64_t secs, char out[32])
{
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- webhook receiver ---- */

static const char *
header_value(char *head, const char *name)
{
    size_t n = strlen(name);
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (!strncasecmp(l, name, n) && l[n] == ':') {
            char *v = l + n + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

static void
copy_header(char *head, const char *name, char *out, size_t n)
{
    const char *v = header_value(head, name);
    size_t len = v ? strcspn(v, "\r") : 0;
    snprintf(out, n, "%.*s", (int)len, v ? v : "");
}

/* Reads one request (headers + Content-Length body) from fd into a hit. */
static int
read_request(int fd, struct rq_hit *h)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return -1;
    *end = '\0';
    char cl[32];
    copy_header(buf, "Content-Length", cl, sizeof(cl));
    size_t want = (size_t)strtoul(cl, NULL, 10), have = len - (size_t)(end + 4 - buf);
    h->body = calloc(1, want + 1);
    memcpy(h->body, end + 4, have < want ? have : want);
    while (have < want) {
        ssize_t n = recv(fd, h->body + have, want - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    copy_header(buf, "X-VP-Event", h->event, sizeof(h->event));
    copy_header(buf, "X-VP-Delivery", h->delivery, sizeof(h->delivery));
    copy_header(buf, "X-VP-Timestamp", h->timestamp, sizeof(h->timestamp));
    copy_header(buf, "X-VP-Signature", h->signature, sizeof(h->signature));
    return 0;
}

static void
serve_one(struct rq_receiver *rv, int fd)
{
    struct rq_hit h = {0};
    if (read_request(fd, &h) < 0) {
        free(h.body);
        return;
    }
    pthread_mutex_lock(&rv->mu);
    int i = rv->nhits < RQ_MAX_HITS ? rv->nhits : RQ_MAX_HITS - 1;
    h.status = rv->script[i] ? rv->script[i] : 200;
    if (rv->nhits < RQ_MAX_HITS)
        rv->hits[rv->nhits++] = h;
    else
        free(h.body);
    pthread_cond_broadcast(&rv->cond);
    while (rv->hold && !rv->stop)
        pthread_cond_wait(&rv->cond, &rv->mu);
    pthread_mutex_unlock(&rv->mu);
    char resp[160];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", h.status);
    if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) < 0)
        perror("receiver send");
}

static void *
receiver_main(void *arg)
{
    struct rq_receiver *rv = arg;
    for (;;) {
        pthread_mutex_lock(&rv->mu);
        bool stop = rv->stop;
        pthread_mutex_unlock(&rv->mu);
        if (stop)
            break;
        struct pollfd p = {rv->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(rv->fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(rv, fd);
        close(fd);
    }
    return NULL;
}

int
rq_receiver_start(struct rq_receiver *rv, const int *script, int nscript)
{
    memset(rv, 0, sizeof(*rv));
    for (int i = 0; i < nscript && i < RQ_MAX_HITS; i++)
        rv->script[i] = script[i];
    rv->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (rv->fd < 0 || bind(rv->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(rv->fd, 16) < 0 || getsockname(rv->fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    rv->port = ntohs(a.sin_port);
    pthread_mutex_init(&rv->mu, NULL);
    pthread_cond_init(&rv->cond, NULL);
    return pthread_create(&rv->thread, NULL, receiver_main, rv) == 0 ? 0 : -1;
}

void
rq_receiver_stop(struct rq_receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    rv->stop = true;
    pthread_cond_broadcast(&rv->cond);
    pthread_mutex_unlock(&rv->mu);
    pthread_join(rv->thread, NULL);
    close(rv->fd);
    for (int i = 0; i < rv->nhits; i++)
        free(rv->hits[i].body);
    pthread_mutex_destroy(&rv->mu);
    pthread_cond_destroy(&rv->cond);
}

bool
rq_receiver_wait(struct rq_receiver *rv, int n)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 30;
    pthread_mutex_lock(&rv->mu);
    int rc = 0;
    while (rv->nhits < n && rc == 0)
        rc = pthread_cond_timedwait(&rv->cond, &rv->mu, &t);
    bool ok = rv->nhits >= n;
    pthread_mutex_unlock(&rv->mu);
    return ok;
}

int
rq_receiver_count(struct rq_receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    int n = rv->nhits;
    pthread_mutex_unlock(&rv->mu);
    return n;
}

void
rq_receiver_hold(struct rq_receiver *rv, bool hold)
{
    pthread_mutex_lock(&rv->mu);
    rv->hold = hold;
    pthread_cond_broadcast(&rv->cond);
    pthread_mutex_unlock(&rv->mu);
}

bool
rq_signature_ok(const struct rq_hit *h, const char *secret)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)h->body, strlen(h->body),
         mac, &n);
    char want[80] = "sha256=";
    for (unsigned int i = 0; i < n; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    return n == 32 && !strcmp(want, h->signature);
}
