/* The audit trail over HTTP: list (newest first, cursor pages), export
 * (streamed JSONL or CSV, oldest first) and verification.
 *
 * Tenant scope: audit.read held globally sees every row; held only in some
 * tenants, the rows of those tenants (rows without a tenant are global events
 * and stay hidden). Exports are themselves audited ("audit.export"): taking a
 * copy of the trail is a security event. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "app.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "secret.h"

#include "../db/audit.h"

enum {
    FILTER_MAX_LEN = 256,
    EXPORT_CHUNK_ROWS = 1000,         /* rows per read transaction */
    EXPORT_CHUNK_BYTES = 1024 * 1024, /* or this much text, whichever first */
};

/* ---- query parameters ---- */

/* 400 naming the first query parameter not in `allowed` (NULL-terminated). */
static int
only_params(const struct api_req *r, const char *const *allowed, err *e)
{
    for (const char *p = r->query; p && *p;) {
        size_t len = strcspn(p, "&"), name = strcspn(p, "=&");
        bool known = name == 0; /* "&&" */
        for (int i = 0; allowed[i] && !known; i++)
            known = strlen(allowed[i]) == name && !strncmp(allowed[i], p, name);
        if (!known)
            return err_set_field(e, "query", "Unknown query parameter '%.*s'.",
                                 (int)(name > 40 ? 40 : name), p);
        p += len + (p[len] == '&');
    }
    return 0;
}

/* n decimal digits at s into *out; -1 when any is not a digit. */
static int
digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "+HH:MM" / "-HH:MM" / "Z" (a '+' that arrived unencoded is a space) into
 * seconds east of UTC. */
static int
parse_offset(const char *p, long *off)
{
    int h, m;
    if ((p[0] == 'Z' || p[0] == 'z') && !p[1]) {
        *off = 0;
        return 0;
    }
    if ((p[0] != '+' && p[0] != '-' && p[0] != ' ') || digits(p + 1, 2, &h) < 0 || p[3] != ':' ||
        digits(p + 4, 2, &m) < 0 || p[6] || h > 23 || m > 59)
        return -1;
    *off = (p[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    return 0;
}

/* RFC 3339 date-time (or a bare full-date, meaning its midnight UTC) into the
 * stored form "YYYY-MM-DDTHH:MM:SS.mmmZ", so that text order is time order. */
static int
parse_time(const char *s, char out[32])
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    long off = 0;
    if (strlen(s) < 10 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
        s[7] != '-' || digits(s + 8, 2, &d) < 0)
        return -1;
    const char *p = s + 10;
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || digits(p + 1, 2, &h) < 0 || p[3] != ':' ||
            digits(p + 4, 2, &mi) < 0 || p[6] != ':' || digits(p + 7, 2, &sec) < 0)
            return -1;
        p += 9;
        if (*p == '.') {
            int nd = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, nd++)
                if (nd < 3)
                    ms = ms * 10 + (*p - '0');
            if (nd == 0)
                return -1;
            for (; nd < 3; nd++)
                ms *= 10;
        }
        if (parse_offset(p, &off) < 0)
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm = (struct tm){.tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec > 59 ? 59 : sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* 2024-02-31 normalized into March */
        return -1;
    t -= off;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        return -1;
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", ms);
    return 0;
}

static int
text_param(struct api_req *r, const char *name, const char **out, err *e)
{
    bool bad = false;
    *out = api_query(r, name, &bad);
    if (bad || (*out && strlen(*out) > FILTER_MAX_LEN))
        return err_set_field(e, name, "Query parameter '%s' is malformed or longer than %d bytes.",
                             name, FILTER_MAX_LEN);
    if (*out && !**out)
        *out = NULL; /* "?actor=" filters nothing */
    return 0;
}

static int
time_param(struct api_req *r, const char *name, const char **out, err *e)
{
    const char *v;
    if (text_param(r, name, &v, e) < 0)
        return -1;
    *out = NULL;
    if (!v)
        return 0;
    char *t = arena_alloc(r->a, 32);
    if (!t || parse_time(v, t) < 0)
        return err_set_field(e, name, "'%s' must be an RFC 3339 date-time (2024-05-01T12:00:00Z).",
                             name);
    *out = t;
    return 0;
}

/* The tenants whose rows the caller may read, as a JSON array for the
 * query; NULL when it holds audit.read globally. */
static const char *
visible_tenants(struct api_req *r)
{
    if (api_can(r, PERM_AUDIT_READ, 0))
        return NULL;
    size_t cap = 2 + r->who.nbindings * 21, n = 0;
    char *s = arena_alloc(r->a, cap + 1);
    if (!s)
        return "[]";
    s[n++] = '[';
    for (size_t i = 0; i < r->who.nbindings; i++) {
        int64_t t = r->who.bindings[i].tenant_id;
        if (t && api_can(r, PERM_AUDIT_READ, t))
            n += (size_t)snprintf(s + n, cap - n, "%s%lld", n > 1 ? "," : "", (long long)t);
    }
    s[n++] = ']';
    s[n] = '\0';
    return s;
}

static int
outcome_param(struct api_req *r, const char **out, err *e)
{
    if (text_param(r, "outcome", out, e) < 0)
        return -1;
    if (*out && strcmp(*out, "ok") && strcmp(*out, "denied") && strcmp(*out, "failed"))
        return err_set_field(e, "outcome", "'outcome' must be ok, denied or failed.");
    return 0;
}

static int
filter_parse(struct api_req *r, struct db_audit_filter *f, err *e)
{
    memset(f, 0, sizeof(*f));
    if (time_param(r, "from", &f->from, e) < 0 || time_param(r, "to", &f->to, e) < 0 ||
        text_param(r, "actor", &f->actor, e) < 0 ||
        text_param(r, "action", &f->action_prefix, e) < 0 ||
        text_param(r, "target", &f->target, e) < 0 || outcome_param(r, &f->outcome, e) < 0 ||
        text_param(r, "source_ip", &f->source_ip, e) < 0 ||
        text_param(r, "request_id", &f->request_id, e) < 0 ||
        api_query_int(r, "tenant_id", 1, INT64_MAX, 0, &f->tenant_id, e) < 0)
        return -1;
    f->tenants = visible_tenants(r);
    return 0;
}

/* Our cursors are the last seq of a page, in decimal. */
static int
cursor_parse(const char *c, int64_t *before, err *e)
{
    *before = 0;
    if (!c)
        return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(c, &end, 10);
    if (errno || !end || *end || v < 1 || *c < '1' || *c > '9')
        return err_set_field(e, "cursor", "The cursor is malformed.");
    *before = v;
    return 0;
}

/* ---- GET /api/v1/audit ---- */

struct list_acc {
    json_t *items;
    int limit, n;
    int64_t last_seq;
    bool more;
};

static int
list_row(void *arg, const struct db_audit_rec *rec, err *e)
{
    struct list_acc *l = arg;
    if (l->n == l->limit) {
        l->more = true;
        return 1;
    }
    json_t *j = db_audit_rec_json(rec);
    if (!j || json_array_append_new(l->items, j) < 0)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    l->n++;
    l->last_seq = rec->seq;
    return 0;
}

static const char *const list_params[] = {"from",       "to",     "actor",   "tenant_id",
                                          "action",     "target", "outcome", "source_ip",
                                          "request_id", "limit",  "cursor",  NULL};

int
api_audit_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_audit_filter f;
    int limit;
    const char *cursor;
    if (only_params(r, list_params, e) < 0 || filter_parse(r, &f, e) < 0 ||
        api_page(r, &limit, &cursor, e) < 0 || cursor_parse(cursor, &f.before_seq, e) < 0)
        return -1;
    struct list_acc l = {.items = json_array(), .limit = limit};
    if (!l.items)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    arena_defer(r->a, (void (*)(void *))json_decref, l.items);
    if (db_audit_query(r->app->db, &f, DB_AUDIT_NEWEST_FIRST, limit + 1, list_row, &l, e) < 0)
        return -1;
    return api_reply_list(r, w, l.items,
                          l.more ? arena_printf(r->a, "%lld", (long long)l.last_seq) : NULL);
}

/* ---- GET /api/v1/audit/export ---- */

struct export
{
    db *d;
    struct db_audit_filter f;
    bool csv;
    char *buf; /* one chunk of output */
    size_t len, cap;
    int rows;
    bool full;
};

static int
buf_put(struct export *x, const char *s, size_t n)
{
    if (x->len + n > x->cap) {
        size_t cap = (x->len + n) * 2;
        char *p = realloc(x->buf, cap);
        if (!p)
            return -1;
        x->buf = p;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, s, n);
    x->len += n;
    return 0;
}

/* One CSV field: quoted when needed; a leading = + - @ (a formula to a
 * spreadsheet) is neutralised with a quote character (OWASP CSV injection). */
static int
csv_field(struct export *x, const char *s, bool last)
{
    int rc = 0;
    if (s && *s) {
        bool quote = strpbrk(s, ",\"\r\n") != NULL;
        rc |= quote ? buf_put(x, "\"", 1) : 0;
        if (strchr("=+-@\t\r", *s))
            rc |= buf_put(x, "'", 1);
        for (const char *p = s; *p; p++)
            rc |= *p == '"' ? buf_put(x, "\"\"", 2) : buf_put(x, p, 1);
        rc |= quote ? buf_put(x, "\"", 1) : 0;
    }
    return rc | buf_put(x, last ? "\r\n" : ",", last ? 2 : 1);
}

#define CSV_HEADER                                                                                 \
    "seq,ts,actor,user_id,token_id,tenant_id,source_ip,user_agent,request_id,action,target,"       \
    "outcome,details,hash,prev_hash\r\n"

static int
csv_row(struct export *x, const struct db_audit_rec *r)
{
    char seq[24];
    snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
    const char *f[] = {seq,          r->ts,        r->actor,      r->user_id,    r->token_id,
                       r->tenant_id, r->source_ip, r->user_agent, r->request_id, r->action,
                       r->target,    r->outcome,   r->details,    r->hash,       r->prev_hash};
    int rc = 0;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        rc |= csv_field(x, f[i], i + 1 == sizeof(f) / sizeof(f[0]));
    return rc;
}

static int
export_row(void *arg, const struct db_audit_rec *rec, err *e)
{
    struct export *x = arg;
    int rc;
    if (x->csv) {
        rc = csv_row(x, rec);
    } else {
        json_t *j = db_audit_rec_json(rec);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        rc = s ? buf_put(x, s, strlen(s)) | buf_put(x, "\n", 1) : -1;
        free(s);
        json_decref(j);
    }
    if (rc)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    x->rows++;
    x->f.after_seq = rec->seq;
    if (x->len >= EXPORT_CHUNK_BYTES) {
        x->full = true;
        return 1;
    }
    return 0;
}

/* A failure after the headers went out cannot change the status any more:
 * the file ends with a line saying so, which no reader mistakes for a record. */
static void
export_failed(struct export *x, api_write_fn write, void *wctx, const err *e)
{
    log_event(LOG_ERROR, "audit export interrupted", json_pack("{s:s}", "detail", e->detail));
    const char *line = x->csv ? "# export interrupted: the file is incomplete\r\n"
                              : "{\"error\":\"export interrupted: the file is incomplete\"}\n";
    write(wctx, line, strlen(line));
}

/* Chunk by chunk: each query is its own short read transaction, finished
 * before the (possibly slow) client is written to, so a slow download never
 * pins the WAL. Memory: one chunk. */
static int
export_stream(void *arg, api_write_fn write, void *wctx)
{
    struct export *x = arg;
    int rc = x->csv ? write(wctx, CSV_HEADER, strlen(CSV_HEADER)) : 0;
    while (rc == 0) {
        err e = {0};
        x->len = 0;
        x->rows = 0;
        x->full = false;
        if (db_audit_query(x->d, &x->f, DB_AUDIT_OLDEST_FIRST, EXPORT_CHUNK_ROWS, export_row, x,
                           &e) < 0) {
            export_failed(x, write, wctx, &e);
            rc = -1;
            break;
        }
        if (x->len && write(wctx, x->buf, x->len) < 0)
            rc = -1; /* the client went away */
        if (x->rows < EXPORT_CHUNK_ROWS && !x->full)
            break;
    }
    free(x->buf);
    x->buf = NULL;
    return rc;
}

static int
export_audit(struct api_req *r, const struct db_audit_filter *f, bool csv, err *e)
{
    struct db_audit a;
    api_audit_init(r, &a, "audit.export", "audit", f->tenant_id);
    json_t *d = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I}", "format",
                          csv ? "csv" : "jsonl", "from", f->from, "to", f->to, "actor", f->actor,
                          "action", f->action_prefix, "target", f->target, "outcome", f->outcome,
                          "source_ip", f->source_ip, "request_id", f->request_id, "up_to_seq",
                          (json_int_t)(f->before_seq - 1));
    a.details = d;
    int rc = db_audit_event(r->app->db, &a, e);
    json_decref(d);
    return rc;
}

static const char *const export_params[] = {"from",       "to",     "actor",   "tenant_id",
                                            "action",     "target", "outcome", "source_ip",
                                            "request_id", "format", NULL};

int
api_audit_export(struct api_req *r, struct api_resp *w, err *e)
{
    struct export *x = arena_alloc(r->a, sizeof(*x));
    const char *fmt;
    int64_t head = 0;
    if (!x)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (only_params(r, export_params, e) < 0 || filter_parse(r, &x->f, e) < 0 ||
        text_param(r, "format", &fmt, e) < 0)
        return -1;
    if (fmt && strcmp(fmt, "jsonl") && strcmp(fmt, "csv"))
        return err_set_field(e, "format", "'format' must be jsonl or csv.");
    x->csv = fmt && !strcmp(fmt, "csv");
    x->d = r->app->db;
    /* the export is the chain up to here: rows appended meanwhile are not in it */
    if (db_audit_head(x->d, &head, e) < 0)
        return -1;
    x->f.before_seq = head + 1;
    if (export_audit(r, &x->f, x->csv, e) < 0)
        return -1;
    w->status = 200;
    w->content_type = x->csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
    api_add_header(w, "Content-Disposition",
                   arena_printf(r->a, "attachment; filename=\"audit-%lld.%s\"",
                                (long long)app_now(r->app), x->csv ? "csv" : "jsonl"));
    w->stream = export_stream;
    w->stream_arg = x;
    return 0;
}

/* ---- GET /api/v1/audit/verify ---- */

/* The audit key from its file (never created here: the server made it). */
static int
load_audit_key(struct api_req *r, unsigned char *key, size_t cap, size_t *len, err *e)
{
    const char *path = r->app->cfg.audit_key_file;
    if (access(path, R_OK) != 0 || auth_secret_file_load_or_create(path, cap, key, len, e) < 0)
        return err_set(e, ERR_UNAVAILABLE, "The audit key cannot be read.");
    return 0;
}

int
api_audit_verify(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const params[] = {"from", NULL};
    unsigned char key[DB_AUDIT_KEY_MAX];
    size_t keylen = 0;
    int64_t from;
    struct db_audit_check c;
    if (only_params(r, params, e) < 0 || api_query_int(r, "from", 1, INT64_MAX, 1, &from, e) < 0 ||
        load_audit_key(r, key, sizeof(key), &keylen, e) < 0)
        return -1;
    int rc = db_audit_check_live(r->app->db, r->app->cfg.audit_checkpoint_file, key, keylen, from,
                                 &c, e);
    explicit_bzero(key, sizeof(key));
    if (rc < 0)
        return -1;
    const struct db_audit_verify_result *v = &c.chain;
    json_t *j = json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "ok", v->problem == DB_AUDIT_OK,
                          "problem", db_audit_problem_name(v->problem), "seq", (json_int_t)v->seq,
                          "rows", (json_int_t)v->rows, "last_seq", (json_int_t)v->last_seq,
                          "checkpoints", (json_int_t)v->checkpoints, "external_checkpoints",
                          (json_int_t)c.external, "external_file", !c.external_missing);
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}
