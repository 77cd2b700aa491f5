/* Response helpers and the one table mapping error kinds to RFC 9457 problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>

#include "api.h"
#include "router.h"

static const struct {
    int status;
    const char *title;
} problem_table[ERR_KIND_COUNT] = {
    [ERR_NONE] = {500, "Internal Server Error"},
    [ERR_INVALID] = {400, "Bad Request"},
    [ERR_UNAUTHENTICATED] = {401, "Unauthorized"},
    [ERR_FORBIDDEN] = {403, "Forbidden"},
    [ERR_NOT_FOUND] = {404, "Not Found"},
    [ERR_METHOD] = {405, "Method Not Allowed"},
    [ERR_CONFLICT] = {409, "Conflict"},
    [ERR_TOO_LARGE] = {413, "Content Too Large"},
    [ERR_UNSUPPORTED_MEDIA] = {415, "Unsupported Media Type"},
    [ERR_QUOTA] = {403, "Quota Exceeded"},
    [ERR_RATE_LIMITED] = {429, "Too Many Requests"},
    [ERR_UNAVAILABLE] = {503, "Service Unavailable"},
    [ERR_INTERNAL] = {500, "Internal Server Error"},
};

int
api_status_of(enum err_kind kind)
{
    if ((unsigned)kind >= ERR_KIND_COUNT || !problem_table[kind].status)
        return 500;
    return problem_table[kind].status;
}

const char *
api_header(const struct api_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

const char *
api_query(struct api_req *r, const char *name, bool *bad)
{
    size_t nlen = strlen(name);
    for (const char *p = r->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        if (plen > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
            char *v = api_url_decode(r->a, p + nlen + 1, plen - nlen - 1, 1);
            if (!v && bad)
                *bad = true;
            return v;
        }
        if (plen == nlen && !strncmp(p, name, nlen))
            return "";
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int
api_query_int(struct api_req *r, const char *name, int64_t lo, int64_t hi, int64_t def,
              int64_t *out, err *e)
{
    bool bad = false;
    const char *v = api_query(r, name, &bad);
    if (!v && !bad) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (bad || !v || !*v || errno || *end || n < lo || n > hi)
        return err_set_field(e, name, "Query parameter '%s' must be an integer from %lld to %lld.",
                             name, (long long)lo, (long long)hi);
    *out = n;
    return 0;
}

int
api_page(struct api_req *r, int *limit, const char **cursor, err *e)
{
    int64_t l;
    if (api_query_int(r, "limit", 1, 1000, 100, &l, e) < 0)
        return -1;
    *limit = (int)l;
    bool bad = false;
    *cursor = api_query(r, "cursor", &bad);
    if (bad || (*cursor && strlen(*cursor) > 512))
        return err_set_field(e, "cursor", "The cursor is malformed.");
    if (*cursor && !**cursor)
        *cursor = NULL;
    return 0;
}

void
api_add_header(struct api_resp *w, const char *name, const char *value)
{
    if (w->nheaders < API_MAX_RESP_HEADERS)
        w->headers[w->nheaders++] = (struct api_header){name, value};
}

static int
set_json_body(struct api_req *r, struct api_resp *w, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return -1;
    w->body = arena_strdup(r->a, s);
    w->body_len = w->body ? strlen(w->body) : 0;
    free(s);
    return w->body ? 0 : -1;
}

int
api_reply_json(struct api_req *r, struct api_resp *w, int status, json_t *j)
{
    w->status = status;
    w->content_type = "application/json";
    if (set_json_body(r, w, j) < 0) {
        w->status = 500;
        w->body = "{}";
        w->body_len = 2;
    }
    return 0;
}

int
api_reply_list(struct api_req *r, struct api_resp *w, json_t *items, const char *next_cursor)
{
    json_t *j = json_pack("{s:O,s:s?}", "items", items, "next_cursor", next_cursor);
    if (!j)
        return -1;
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

int
api_reply_empty(struct api_resp *w)
{
    w->status = 204;
    w->content_type = NULL;
    w->body = NULL;
    w->body_len = 0;
    return 0;
}

void
api_reply_problem(struct api_req *r, struct api_resp *w, const err *e, json_t *extra)
{
    enum err_kind kind = (unsigned)e->kind < ERR_KIND_COUNT ? e->kind : ERR_INTERNAL;
    if (kind == ERR_NONE)
        kind = ERR_INTERNAL;
    int status = api_status_of(kind);
    /* Internal details never reach the client: only e->detail, written for it. */
    const char *detail =
        (kind == ERR_INTERNAL || !e->detail[0]) ? problem_table[kind].title : e->detail;
    json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type",
                          arena_printf(r->a, "/problems/%s", err_kind_slug(kind)), "title",
                          problem_table[kind].title, "status", status, "detail", detail, "instance",
                          arena_printf(r->a, "urn:request:%s", r->request_id));
    if (j && e->field[0])
        json_object_set_new(j, "errors",
                            json_pack("[{s:s,s:s}]", "field", e->field, "message", detail));
    if (j && extra)
        json_object_update_missing(j, extra);
    w->status = status;
    w->content_type = "application/problem+json";
    if (!j || set_json_body(r, w, j) < 0) {
        w->body = "{\"status\":500}";
        w->body_len = strlen(w->body);
    }
    json_decref(j);
}

int
api_param_id(const struct api_req *r, int i, int64_t *out, err *e)
{
    const char *s = r->params[i];
    char *end = NULL;
    errno = 0;
    long long v = s && *s >= '1' && *s <= '9' ? strtoll(s, &end, 10) : 0;
    if (!s || errno || !end || *end || v <= 0)
        return err_set(e, ERR_NOT_FOUND, "No such resource.");
    *out = v;
    return 0;
}
