#include "http.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <openssl/rand.h>

#include "app.h"
#include "dispatch.h"
#include "embedded.h"
#include "log.h"
#include "router.h"
#include "tls.h"

extern const struct embedded_file web_assets[];

enum { CONN_SLOTS = 1024 };

/* Open connections per client address, to cap what one client can hold
 * (each keep-alive connection pins a worker thread in civetweb). */
struct conn_slot {
    char ip[48];
    int count;
};

struct ui_file {
    const struct embedded_file *f;
    atomic_bool etag_ready; /* etag is written once, under ui_lock */
    char etag[24];
    const char *type;
};

struct http_server {
    struct mg_context *ctx;
    struct tls_server *tls;
    struct vp_app *app;
    int port;
    pthread_mutex_t conns_lock; /* guards conns */
    struct conn_slot conns[CONN_SLOTS];
    struct ui_file *ui; /* immutable after start, but for the lazy ETags */
    size_t nui;
    pthread_mutex_t ui_lock; /* guards writing an ETag */
    char rid_prefix[9];
    atomic_ulong rid_counter;
};

/* Sent on the browser UI (HTML, scripts, styles, images): the full strict set.
 * The CSP has no inline script or style. */
static const char ui_security_headers[] =
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n";

/* Sent on API answers (JSON, problem+json, metrics): the set OWASP's REST
 * Security Cheat Sheet lists for every API response (HSTS, nosniff, framing
 * denied twice, Cache-Control: no-store added by put_head), with the CSP made
 * "default-src 'none'" so a JSON body rendered as a document loads nothing.
 * The HTML-only headers (script/style sources, Referrer-Policy, COOP/CORP)
 * protect documents, which the API never returns; leaving them out halves
 * the header bytes of every API response. */
static const char api_security_headers[] =
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n";

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Unknown";
    }
}

/* ---- per-client connection accounting ---- */

static struct conn_slot *
conn_slot_find(struct http_server *s, const char *ip, int create)
{
    uint32_t h = 2166136261u;
    for (const char *p = ip; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (int i = 0; i < CONN_SLOTS; i++) {
        struct conn_slot *slot = &s->conns[(h + (uint32_t)i) % CONN_SLOTS];
        if (!strcmp(slot->ip, ip))
            return slot;
        if (!slot->ip[0] || (create && slot->count == 0)) {
            if (!create)
                return NULL;
            snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
            return slot;
        }
    }
    return NULL;
}

/* A connection is counted at its first request (civetweb's init_connection
 * callback runs before the client address is filled in). */
static struct conn_slot *
conn_register(struct http_server *s, struct mg_connection *conn)
{
    struct conn_slot *slot = mg_get_user_connection_data(conn);
    if (slot)
        return slot;
    pthread_mutex_lock(&s->conns_lock);
    slot = conn_slot_find(s, mg_get_request_info(conn)->remote_addr, 1);
    if (slot)
        slot->count++;
    pthread_mutex_unlock(&s->conns_lock);
    mg_set_user_connection_data(conn, slot);
    return slot;
}

static void
on_connection_close(const struct mg_connection *conn)
{
    struct http_server *s = mg_get_user_data(mg_get_context(conn));
    struct conn_slot *slot = mg_get_user_connection_data(conn);
    if (!slot)
        return;
    pthread_mutex_lock(&s->conns_lock);
    if (slot->count > 0)
        slot->count--;
    pthread_mutex_unlock(&s->conns_lock);
}

static int
conn_over_cap(struct http_server *s, struct mg_connection *conn)
{
    struct conn_slot *slot = conn_register(s, conn);
    if (!slot)
        return 0;
    pthread_mutex_lock(&s->conns_lock);
    int over = slot->count > s->app->cfg.max_conns_per_client;
    pthread_mutex_unlock(&s->conns_lock);
    return over;
}

/* ---- response writing: one buffer, one write (PITFALLS: 4x throughput) ---- */

/* Grows inside the request arena: no malloc/free per response. */
struct buf {
    arena *a;
    char *p;
    size_t len, cap;
};

static void
buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2 > 4096 ? (b->len + n + 1) * 2 : 4096;
        char *p = arena_alloc(b->a, cap);
        if (!p)
            return;
        if (b->len)
            memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Appends "name: value\r\n" (pieces, no formatting: this runs per response). */
static void
buf_header(struct buf *b, const char *name, const char *value)
{
    buf_put(b, name, strlen(name));
    buf_put(b, ": ", 2);
    buf_put(b, value, strlen(value));
    buf_put(b, "\r\n", 2);
}

static int
header_value_ok(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

/* Writes n in decimal into out (at least 20 bytes, no terminator); returns
 * the length. Per response, so no printf machinery. */
static size_t
fmt_dec(char *out, uint64_t n)
{
    char tmp[20];
    size_t len = 0;
    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (size_t i = 0; i < len; i++)
        out[i] = tmp[len - 1 - i];
    return len;
}

static void
put_head(struct buf *b, const struct api_req *r, const struct api_resp *w, int api, int keep)
{
    char num[20];
    const char *reason = reason_phrase(w->status);
    buf_put(b, "HTTP/1.1 ", 9);
    buf_put(b, num, fmt_dec(num, (uint64_t)(w->status > 0 ? w->status : 0)));
    buf_put(b, " ", 1);
    buf_put(b, reason, strlen(reason));
    buf_put(b, "\r\n", 2);
    if (w->content_type)
        buf_header(b, "Content-Type", w->content_type);
    if (w->stream) {
        buf_header(b, "Transfer-Encoding", "chunked");
    } else if (w->status != 304) {
        buf_put(b, "Content-Length: ", 16);
        buf_put(b, num, fmt_dec(num, w->body_len));
        buf_put(b, "\r\n", 2);
    }
    if (api)
        buf_put(b, api_security_headers, sizeof(api_security_headers) - 1);
    else
        buf_put(b, ui_security_headers, sizeof(ui_security_headers) - 1);
    buf_header(b, "X-Request-Id", r->request_id);
    int has_cache = 0;
    for (size_t i = 0; i < w->nheaders; i++) {
        if (!header_value_ok(w->headers[i].value))
            continue;
        has_cache |= !strcasecmp(w->headers[i].name, "Cache-Control");
        buf_header(b, w->headers[i].name, w->headers[i].value);
    }
    if (!has_cache)
        buf_header(b, "Cache-Control", "no-store");
    if (!keep)
        buf_header(b, "Connection", "close");
    buf_put(b, "\r\n", 2);
}

static int
chunk_writer(void *wctx, const void *data, size_t n)
{
    return mg_send_chunk(wctx, data, (unsigned)n) < 0 ? -1 : 0;
}

/* Returns the number of body bytes sent. api: the API's header set, else the
 * UI's. */
static size_t
write_response(struct mg_connection *conn, const struct api_req *r, const struct api_resp *w,
               int api, int head_only, int keep)
{
    struct buf b = {.a = r->a};
    put_head(&b, r, w, api, keep);
    size_t sent = 0;
    if (!w->stream && !head_only && w->body_len) {
        buf_put(&b, w->body, w->body_len);
        sent = w->body_len;
    }
    if (b.p)
        mg_write(conn, b.p, b.len);
    if (w->stream && !head_only) {
        w->stream(w->stream_arg, chunk_writer, conn);
        mg_send_chunk(conn, "", 0);
    }
    return sent;
}

/* ---- the embedded UI ---- */

static const char *
content_type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".woff2", "font/woff2"},
        {".json", "application/json"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static void
ui_index(struct http_server *s)
{
    size_t n = 0;
    while (web_assets[n].name)
        n++;
    s->ui = calloc(n + 1, sizeof(*s->ui));
    for (size_t i = 0; s->ui && i < n; i++) {
        s->ui[i].f = &web_assets[i];
        s->ui[i].type = content_type_of(web_assets[i].name);
    }
    s->nui = s->ui ? n : 0;
}

static struct ui_file *
ui_lookup(const struct http_server *s, const char *name)
{
    for (size_t i = 0; i < s->nui; i++)
        if (!strcmp(s->ui[i].f->name, name))
            return &s->ui[i];
    return NULL;
}

/* The ETag of a file, hashed at its first request rather than at start: an
 * idle portal never reads the embedded UI (a few hundred KiB resident). */
static const char *
ui_etag(struct http_server *s, struct ui_file *f)
{
    if (atomic_load_explicit(&f->etag_ready, memory_order_acquire))
        return f->etag;
    pthread_mutex_lock(&s->ui_lock);
    if (!atomic_load_explicit(&f->etag_ready, memory_order_relaxed)) {
        uint64_t h = 1469598103934665603ull;
        for (size_t k = 0; k < f->f->len; k++)
            h = (h ^ f->f->data[k]) * 1099511628211ull;
        snprintf(f->etag, sizeof(f->etag), "\"%016" PRIx64 "\"", h);
        atomic_store_explicit(&f->etag_ready, true, memory_order_release);
    }
    pthread_mutex_unlock(&s->ui_lock);
    return f->etag;
}

/* Client-side routes ("/vms/12", "/tenants") get index.html; anything that
 * looks like a file ("/.env", "/x.php") does not exist. */
static int
is_app_route(const char *path)
{
    for (const char *p = path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' || *p == '-'))
            return 0;
    return 1;
}

static void
serve_ui(struct http_server *s, struct api_req *r, struct api_resp *w)
{
    err e = {0};
    struct ui_file *f = NULL;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
        err_set(&e, ERR_METHOD, "%s is not allowed on this resource.", r->method);
        api_reply_problem(r, w, &e, NULL);
        api_add_header(w, "Allow", "GET, HEAD");
        return;
    }
    if (!strncmp(r->path, "/assets/", 8))
        f = ui_lookup(s, r->path + 1);
    else if (is_app_route(r->path))
        f = ui_lookup(s, "index.html");
    if (!f) {
        err_set(&e, ERR_NOT_FOUND, "No such resource.");
        api_reply_problem(r, w, &e, NULL);
        return;
    }
    const char *inm = api_header(r, "If-None-Match"), *etag = ui_etag(s, f);
    w->status = (inm && !strcmp(inm, etag)) ? 304 : 200;
    w->content_type = f->type;
    w->body = (const char *)f->f->data;
    w->body_len = w->status == 200 ? f->f->len : 0;
    api_add_header(w, "ETag", etag);
    /* asset names carry a content hash: cache forever; index.html revalidates */
    api_add_header(w, "Cache-Control",
                   strncmp(r->path, "/assets/", 8) ? "no-cache"
                                                   : "public, max-age=31536000, immutable");
}

/* ---- the request handler ---- */

static long
body_reader(void *conn, char *buf, size_t n)
{
    return mg_read(conn, buf, n);
}

/* Request smuggling guards (civetweb accepts all of these). */
static int
framing_check(const struct mg_request_info *ri, err *e)
{
    int ncl = 0, nte = 0;
    const char *te = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        if (!strcasecmp(ri->http_headers[i].name, "Content-Length"))
            ncl++;
        if (!strcasecmp(ri->http_headers[i].name, "Transfer-Encoding"))
            nte++, te = ri->http_headers[i].value;
    }
    if (ncl > 1)
        return err_set(e, ERR_INVALID, "More than one Content-Length header.");
    if (nte && ncl)
        return err_set(e, ERR_INVALID, "Both Transfer-Encoding and Content-Length are present.");
    if (nte > 1 || (te && strcasecmp(te, "chunked")))
        return err_set(e, ERR_INVALID, "Only 'Transfer-Encoding: chunked' is accepted.");
    return 0;
}

/* "<8 hex of the process>-<counter, at least 8 hex>" into out (40 bytes):
 * what snprintf("%s-%08lx") wrote, without printf on every request. */
static void
next_request_id(struct http_server *s, char out[40])
{
    static const char hex[] = "0123456789abcdef";
    unsigned long n = atomic_fetch_add(&s->rid_counter, 1);
    char digits[2 * sizeof(n)];
    size_t len = 0;
    do {
        digits[len++] = hex[n & 15];
        n >>= 4;
    } while (n || len < 8);
    memcpy(out, s->rid_prefix, 8);
    out[8] = '-';
    for (size_t i = 0; i < len; i++)
        out[9 + i] = digits[len - 1 - i];
    out[9 + len] = '\0';
}

static void
fill_request(struct http_server *s, struct mg_connection *conn, struct api_req *r)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct api_header *h = arena_alloc(r->a, sizeof(*h) * (size_t)(ri->num_headers + 1));
    for (int i = 0; h && i < ri->num_headers; i++)
        h[i] = (struct api_header){ri->http_headers[i].name, ri->http_headers[i].value};
    r->headers = h;
    r->nheaders = h ? (size_t)ri->num_headers : 0;
    r->app = s->app;
    r->method = ri->request_method;
    r->path = ri->local_uri_raw ? ri->local_uri_raw : "";
    r->query = ri->query_string;
    r->source_ip = ri->remote_addr;
    r->user_agent = api_header(r, "User-Agent");
    r->read_body = body_reader;
    r->conn = conn;
    r->content_length = ri->content_length;
    next_request_id(s, r->request_id);
}

static int
is_api_path(const char *p)
{
    return !strncmp(p, "/api/", 5) || !strcmp(p, "/healthz") || !strcmp(p, "/readyz") ||
           !strcmp(p, "/metrics");
}

/* Refuses what must never reach the router: smuggling-prone framing, bodies
 * over the limit, a client holding too many connections. */
static int
front_door_check(struct http_server *s, struct mg_connection *conn, const struct api_req *r, err *e)
{
    if (framing_check(mg_get_request_info(conn), e) < 0)
        return -1;
    if (r->content_length > s->app->cfg.max_body_bytes)
        return err_set(e, ERR_TOO_LARGE, "The body is larger than %ld bytes.",
                       s->app->cfg.max_body_bytes);
    if (conn_over_cap(s, conn))
        return err_set(e, ERR_RATE_LIMITED, "Too many connections from your address.");
    return 0;
}

/* CORS, only for the one configured origin (none by default): the browser UI
 * is same-origin; this is for a separate front end the operator trusts.
 * Returns 1 when the request was a preflight and has been answered. */
static int
cors(const struct http_server *s, struct api_req *r, struct api_resp *w)
{
    const char *allowed = s->app->cfg.cors_origin, *origin = api_header(r, "Origin");
    if (!allowed[0] || !origin || strcmp(origin, allowed) || strncmp(r->path, "/api/", 5))
        return 0;
    api_add_header(w, "Access-Control-Allow-Origin", allowed);
    api_add_header(w, "Vary", "Origin");
    if (strcmp(r->method, "OPTIONS") || !api_header(r, "Access-Control-Request-Method"))
        return 0;
    api_add_header(w, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
    api_add_header(w, "Access-Control-Allow-Headers", "Authorization, Content-Type, X-VP-CSRF");
    api_add_header(w, "Access-Control-Max-Age", "600");
    w->status = 204;
    return 1;
}

static void
route_request(struct http_server *s, struct mg_connection *conn, struct api_req *r,
              struct api_resp *w)
{
    err e = {0};
    if (front_door_check(s, conn, r, &e) < 0) {
        mg_disable_connection_keep_alive(conn); /* never read an unwanted body */
        api_reply_problem(r, w, &e, NULL);
        return;
    }
    if (cors(s, r, w))
        return;
    if (is_api_path(r->path))
        api_dispatch(r, w, s->app->cfg.max_body_bytes);
    else if (api_path_check(r->path, &e) < 0)
        api_reply_problem(r, w, &e, NULL);
    else
        serve_ui(s, r, w);
}

static int
client_keeps_alive(const struct mg_connection *conn)
{
    const char *c = mg_get_header(conn, "Connection");
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (c)
        return strcasestr(c, "keep-alive") != NULL;
    return ri->http_version && !strcmp(ri->http_version, "1.1");
}

static void
access_log(const struct api_req *r, int status, size_t bytes, double ms)
{
    if (!log_enabled())
        return;
    log_event(LOG_INFO, "access",
              json_pack("{s:s,s:s?,s:s,s:s,s:i,s:I,s:f,s:s}", "request_id", r->request_id, "user",
                        r->who.login, "method", r->method, "path", r->path, "status", status,
                        "bytes", (json_int_t)bytes, "duration_ms", ms, "ip", r->source_ip));
}

/* Each worker thread keeps one arena for all its requests (reset, not freed). */
static void *
on_init_thread(const struct mg_context *ctx, int thread_type)
{
    return thread_type == 1 ? arena_new() : NULL; /* 1: a worker thread */
}

static void
on_exit_thread(const struct mg_context *ctx, int thread_type, void *thread_pointer)
{
    arena_destroy(thread_pointer);
}

static int
on_request(struct mg_connection *conn, void *cbdata)
{
    struct http_server *s = cbdata;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct api_req r = {0};
    struct api_resp w = {0};
    r.a = mg_get_thread_pointer(conn);
    if (!r.a)
        return 500;
    fill_request(s, conn, &r);
    route_request(s, conn, &r, &w);
    int keep = client_keeps_alive(conn);
    if (!keep)
        mg_disable_connection_keep_alive(conn);
    size_t sent =
        write_response(conn, &r, &w, is_api_path(r.path), !strcmp(r.method, "HEAD"), keep);
    atomic_fetch_add(&s->app->requests_total, 1);
    if (w.status >= 500)
        atomic_fetch_add(&s->app->responses_5xx, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    access_log(&r, w.status, sent,
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    arena_reset(r.a);
    return w.status;
}

/* Authentication is ours (api/): without an auth handler civetweb probes the
 * file system for "/.htpasswd" on every request (a stat per request) and
 * would demand Digest credentials if such a file existed. */
static int
on_authorize(struct mg_connection *conn, void *cbdata)
{
    return 1;
}

/* Errors civetweb raises itself (unparseable request line, bad
 * Transfer-Encoding, header too large, timeouts) get a problem+json body and
 * our headers too, instead of its HTML page. */
static int
on_http_error(struct mg_connection *conn, int status, const char *msg)
{
    struct http_server *s = mg_get_user_data(mg_get_context(conn));
    struct api_req r = {0};
    struct api_resp w = {0};
    r.a = arena_new();
    if (!r.a)
        return 1;
    next_request_id(s, r.request_id);
    const char *title = reason_phrase(status);
    w.status = status;
    w.content_type = "application/problem+json";
    w.body = arena_printf(r.a,
                          "{\"type\":\"/problems/http-%d\",\"title\":\"%s\",\"status\":%d,"
                          "\"detail\":\"The request could not be processed (%s).\","
                          "\"instance\":\"urn:request:%s\"}",
                          status, title, status, title, r.request_id);
    w.body_len = w.body ? strlen(w.body) : 0;
    mg_disable_connection_keep_alive(conn);
    write_response(conn, &r, &w, 0, 0, 0); /* which client this was is unknown: the full set */
    log_event(LOG_INFO, "access",
              json_pack("{s:s,s:i,s:s}", "request_id", r.request_id, "status", status, "error",
                        "rejected by the HTTP parser"));
    arena_destroy(r.a);
    return 0;
}

/* ---- lifecycle ---- */

static int
on_external_ssl_ctx(void **ssl_ctx, void *user_data)
{
    struct http_server *s = user_data;
    if (*ssl_ctx == NULL)
        *ssl_ctx = tls_server_ctx(s->tls);
    return 1; /* ours: civetweb neither configures nor frees it */
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
    log_event(LOG_WARN, "civetweb", json_pack("{s:s}", "detail", message));
    return 1;
}

static struct mg_context *
start_civetweb(struct http_server *s, err *e)
{
    const struct vp_config *c = &s->app->cfg;
    char ports[96], threads[16], timeout[16];
    snprintf(ports, sizeof(ports), "%s:%ds", c->listen_addr, c->port);
    snprintf(threads, sizeof(threads), "%d", c->threads);
    snprintf(timeout, sizeof(timeout), "%d", c->request_timeout_ms);
    /* clang-format off */
    const char *options[] = {
        "listening_ports", ports,
        "num_threads", threads,
        "request_timeout_ms", timeout,
        "keep_alive_timeout_ms", "30000",
        "enable_keep_alive", "yes",
        "tcp_nodelay", "1",
        "decode_url", "no", /* we route on the raw path */
        "max_request_size", "16384",
        "connection_queue", "256",
        "listen_backlog", "512",
        "enable_directory_listing", "no",
        "ssl_protocol_version", "4",
        /* civetweb answers CORS preflights itself with "*" by default: never */
        "access_control_allow_origin", "",
        "access_control_allow_methods", "",
        "access_control_allow_headers", "",
        NULL};
    /* clang-format on */
    struct mg_callbacks cb = {0};
    cb.external_ssl_ctx = on_external_ssl_ctx;
    cb.connection_close = on_connection_close;
    cb.log_message = on_log_message;
    cb.http_error = on_http_error;
    cb.init_thread = on_init_thread;
    cb.exit_thread = on_exit_thread;
    struct mg_context *ctx = mg_start(&cb, s, options);
    if (!ctx)
        err_set(e, ERR_UNAVAILABLE, "cannot listen on %s:%d (in use, or no permission)",
                c->listen_addr, c->port);
    return ctx;
}

struct http_server *
http_start(struct vp_app *app, err *e)
{
    if (!(mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS))
        return err_set(e, ERR_INTERNAL, "civetweb was built without TLS"), NULL;
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, ERR_INTERNAL, "out of memory"), NULL;
    s->app = app;
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_mutex_init(&s->ui_lock, NULL);
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof(rnd));
    snprintf(s->rid_prefix, sizeof(s->rid_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3]);
    ui_index(s);
    s->tls = tls_server_new(app->cfg.tls_cert, app->cfg.tls_key, e);
    s->ctx = s->tls ? start_civetweb(s, e) : NULL;
    if (!s->ctx) {
        http_stop(s);
        return NULL;
    }
    mg_set_auth_handler(s->ctx, "/", on_authorize, NULL);
    mg_set_request_handler(s->ctx, "/", on_request, s);
    struct mg_server_port port;
    if (mg_get_server_ports(s->ctx, 1, &port) == 1)
        s->port = port.port;
    return s;
}

int
http_port(const struct http_server *s)
{
    return s->port;
}

int
http_reload_tls(struct http_server *s, err *e)
{
    return tls_server_reload(s->tls, e);
}

void
http_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->ctx)
        mg_stop(s->ctx); /* joins the workers: in-flight requests finish first */
    tls_server_free(s->tls);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_mutex_destroy(&s->ui_lock);
    free(s->ui);
    free(s);
}
