/* api: what a handler sees. Handlers never touch the socket (no civetweb here):
 * they get an authenticated, authorized request with a validated body and fill
 * a response. The dispatcher (dispatch.c) runs the fixed pipeline
 *   path check -> match -> authenticate -> authorize -> read body -> validate
 *   -> handler -> render (problem+json on error) -> access log
 * and owns the request arena. */
#ifndef VP_API_H
#define VP_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "perms.h"
#include "roles.h"

struct vp_app;

enum { API_MAX_PARAMS = 4, API_MAX_RESP_HEADERS = 8 };

struct api_header {
    const char *name, *value;
};

/* Who is calling: resolved by authentication from the database at each request
 * (roles are never trusted from a token). */
struct api_principal {
    bool authenticated;
    int64_t user_id;
    const char *login;
    int64_t tenant_id;             /* the user's own tenant, 0 for a global user */
    int64_t token_id;              /* API token in use, 0 for a session */
    bool via_cookie;               /* authenticated by the refresh cookie (needs CSRF header) */
    char token_prefix[24];         /* API token lookup id ("" for sessions), for the audit */
    char session[48];              /* refresh-token family of a session ("" for tokens) */
    struct auth_binding *bindings; /* the user's grants, folded per scope (arena) */
    size_t nbindings;
    struct auth_binding *token_bindings; /* a narrowed token's own grants (arena) */
    size_t ntoken_bindings;
    bool narrowed;
};

struct api_route;

/* Reads up to n body bytes; returns bytes read, 0 at end, -1 on error. */
typedef long (*api_body_reader)(void *conn, char *buf, size_t n);

struct api_req {
    arena *a;
    struct vp_app *app;
    const char *method;
    const char *path;  /* raw, undecoded, without the query */
    const char *query; /* raw query string or NULL */
    const struct api_header *headers;
    size_t nheaders;
    const char *source_ip;
    const char *user_agent;
    char request_id[40];
    const struct api_route *route;
    const char *params[API_MAX_PARAMS]; /* {param} segments, in pattern order */
    /* body: read by the dispatcher after authorization, size-limited */
    api_body_reader read_body;
    void *conn;
    long long content_length; /* -1 when unknown (chunked) */
    const char *body;
    size_t body_len;
    json_t *json; /* parsed body for routes with API_F_JSON_BODY; owned by the arena */
    struct api_principal who;
};

/* A streamed body: called with a writer until it returns 0 (done) or -1. */
typedef int (*api_write_fn)(void *wctx, const void *buf, size_t n);
typedef int (*api_stream_fn)(void *arg, api_write_fn write, void *wctx);

struct api_resp {
    int status;
    const char *content_type;
    const char *body; /* owned by the request arena */
    size_t body_len;
    struct api_header headers[API_MAX_RESP_HEADERS];
    size_t nheaders;
    api_stream_fn stream; /* when set, body is ignored and the response is chunked */
    void *stream_arg;
};

typedef int (*api_handler)(struct api_req *r, struct api_resp *w, err *e);

/* How the tenant scope of a route is found (authorization, STYLE rule 11). */
enum api_scope {
    API_SCOPE_GLOBAL,       /* the permission must be held globally */
    API_SCOPE_ANY,          /* held globally or in some tenant; handler filters by tenant */
    API_SCOPE_TENANT_PARAM, /* tenant id is the first path parameter */
    API_SCOPE_OBJECT,       /* handler resolves the object's tenant, then api_require() */
    API_SCOPE_NONE,         /* PERM_PUBLIC / PERM_AUTHENTICATED routes */
};

enum api_flags {
    API_F_JSON_BODY = 1u << 0, /* requires an application/json body */
    API_F_COOKIE = 1u << 1,    /* may authenticate with the refresh cookie (+ CSRF header) */
    API_F_ASYNC = 1u << 2,     /* answers 202 + Location of a task */
    API_F_RAW_BODY = 1u << 3,  /* body read but not parsed (uploads) */
};

struct api_route {
    const char *method;
    const char *pattern; /* exact, case-sensitive; "{name}" matches one segment */
    enum perm perm;      /* PERM_NONE is a bug caught by a unit test */
    enum api_scope scope;
    unsigned flags;
    api_handler fn;
};

/* The route table (api/routes.c): the only list of endpoints. */
extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* --- helpers for handlers (api/reply.c) --- */

/* The value of request header `name` (case-insensitive), or NULL. Borrowed. */
const char *api_header(const struct api_req *r, const char *name);

/* The percent-decoded value of query parameter `name`, or NULL. Arena-owned.
 * Returns NULL and sets *bad when the raw value is malformed (if bad != NULL). */
const char *api_query(struct api_req *r, const char *name, bool *bad);

/* Parses ?limit (1..1000, default 100) and ?cursor. */
int api_page(struct api_req *r, int *limit, const char **cursor, err *e);

/* Parses query parameter `name` as an int64 in [lo, hi]; absent -> *out = def. */
int api_query_int(struct api_req *r, const char *name, int64_t lo, int64_t hi, int64_t def,
                  int64_t *out, err *e);

/* Adds a response header; both strings must outlive the response (arena). */
void api_add_header(struct api_resp *w, const char *name, const char *value);

/* Renders `j` (borrowed) as the JSON body with `status`. Returns 0. */
int api_reply_json(struct api_req *r, struct api_resp *w, int status, json_t *j);

/* {"items": items, "next_cursor": next or null}; items borrowed. */
int api_reply_list(struct api_req *r, struct api_resp *w, json_t *items, const char *next_cursor);

/* 204 No Content. */
int api_reply_empty(struct api_resp *w);

/* Renders `e` as RFC 9457 problem+json (type, title, status, detail, instance =
 * request id, errors[] when e->field is set, plus `extra` members if given). */
void api_reply_problem(struct api_req *r, struct api_resp *w, const err *e, json_t *extra);

/* The HTTP status of an error kind. */
int api_status_of(enum err_kind kind);

/* The caller's effective permissions on an object of tenant_id (0 = global). */
perm_set api_perms(const struct api_req *r, int64_t tenant_id);

/* Does the caller hold `perm` globally or in at least one tenant? */
bool api_can_somewhere(const struct api_req *r, enum perm perm);

/* An audit row describing this request (actor, ids, address, request id);
 * strings are borrowed from the request. */
struct db_audit;
void api_audit_init(const struct api_req *r, struct db_audit *a, const char *action,
                    const char *target, int64_t tenant_id);

/* May the caller use `perm` on an object of tenant_id (0 = global object)? */
bool api_can(const struct api_req *r, enum perm perm, int64_t tenant_id);

/* Like api_can, but fills e: NOT_FOUND when the caller cannot even see the
 * tenant's objects (another tenant's object answers like a missing one),
 * FORBIDDEN when it can see but not act. */
int api_require(const struct api_req *r, enum perm perm, int64_t tenant_id, const char *what,
                err *e);

/* The value of cookie `name` (arena copy) or NULL. */
const char *api_cookie(const struct api_req *r, const char *name);

/* 0 when the request carries the CSRF header (X-VP-CSRF: 1), else FORBIDDEN. */
int api_csrf_check(const struct api_req *r, err *e);

/* The {param} at index i parsed as a positive int64 id; NOT_FOUND otherwise. */
int api_param_id(const struct api_req *r, int i, int64_t *out, err *e);

#endif
