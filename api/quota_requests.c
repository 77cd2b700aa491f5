/* Quota requests: /api/v1/quota-requests[/{id}], .../withdraw, .../approve,
 * .../deny, and the test hook /api/v1/test/clock. See requests.h.
 *
 * Amounts in the API are the quota API's units (cpu_cores in cores with up
 * to 3 decimals, the rest integers); a request gives either `deltas` (how
 * much to add per resource) or `targets` (the limits wanted), never both. */
#include "requests.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "identity.h"
#include "timefmt.h"
#include "quota_request.h"
#include "session.h"

enum { MAX_AHEAD_S = 10 * 366 * 86400 /* an end date at most ~10 years ahead */ };

/* ---- edge validation ---- */

/* Member `key`: absent -> *set false; null -> *set true, out ""; else an
 * RFC 3339 time in the future (portal clock), canonical into out[32]. */
static int
body_future_time(struct api_req *r, const char *key, bool *set, char *out, err *e)
{
    json_t *v = json_object_get(r->json, key);
    int64_t t = 0, now = app_now(r->app);
    *set = v != NULL;
    out[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || time_rfc3339_parse(json_string_value(v), &t) < 0)
        return err_set_field(e, key, "'%s' must be an RFC 3339 time, e.g. 2026-06-30T00:00:00Z.",
                             key);
    if (t <= now)
        return err_set_field(e, key, "'%s' must be in the future.", key);
    if (t > now + MAX_AHEAD_S)
        return err_set_field(e, key, "'%s' must be at most 10 years ahead.", key);
    db_time_format(t, out, 32);
    return 0;
}

/* Text of 1..2000 code points; line breaks and tabs allowed, other control
 * characters not. */
static int
check_long_text(const char *field, const char *s, err *e)
{
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i]; i++) {
        bool ctl =
            p[i] < 0x20 || p[i] == 0x7f || (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f);
        if (ctl && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return err_set_field(e, field, "'%s' must not contain control characters.", field);
        chars += (p[i] & 0xc0) != 0x80;
    }
    if (chars == 0 || chars > DB_QREQ_TEXT_CHARS)
        return err_set_field(e, field, "'%s' must be 1 to %d characters long.", field,
                             DB_QREQ_TEXT_CHARS);
    return 0;
}

static int
body_text(struct api_req *r, const char *key, const char **out, err *e)
{
    if (api_body_string(r, key, true, false, out, e) < 0)
        return -1;
    return check_long_text(key, *out, e);
}

/* One amount in API units into stored units: > 0 (>= 0 with allow_zero),
 * at most the resource's maximum, cpu_cores with up to 3 decimals. */
static int
amount_value(enum quota_res res, const char *field, const json_t *v, bool allow_zero, int64_t *out,
             err *e)
{
    const struct quota_res_info *ri = db_quota_res(res);
    double x;
    if (json_is_integer(v))
        x = (double)json_integer_value(v) * ri->scale;
    else if (json_is_real(v) && ri->scale > 1)
        x = json_real_value(v) * ri->scale;
    else
        return err_set_field(e, field, "'%s' must be %s.", field,
                             ri->scale > 1 ? "a number" : "an integer");
    if (x != x || x < 0 || (x == 0 && !allow_zero))
        return err_set_field(e, field, "'%s' must be %s.", field,
                             allow_zero ? "zero or more" : "more than zero");
    if (x > (double)ri->max)
        return err_set_field(e, field, "'%s' must be at most %g.", field,
                             (double)ri->max / ri->scale);
    int64_t n = (int64_t)(x + 0.5);
    if (n - x > 1e-6 || x - n > 1e-6)
        return err_set_field(e, field, "'%s' takes at most 3 decimals.", field);
    *out = n;
    return 0;
}

/* An object of amounts per resource (API names), non-empty. */
static int
amounts_parse(const json_t *obj, const char *group, bool allow_zero, struct db_qreq_amounts *out,
              err *e)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return err_set_field(e, group,
                             "'%s' must be an object of amounts per resource, e.g. "
                             "{\"vcpus\": 8}.",
                             group);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char field[64];
        snprintf(field, sizeof(field), "%s.%.40s", group, key);
        enum quota_res res = db_quota_res_find(key);
        if (res == QUOTA_RES_COUNT)
            return err_set_field(e, field, "Unknown quota resource '%.40s'.", key);
        if (amount_value(res, field, v, allow_zero, &out->v[res], e) < 0)
            return -1;
    }
    return 0;
}

static void
now_text(struct api_req *r, char *buf)
{
    db_time_format(app_now(r->app), buf, 32);
}

/* ---- rendering ---- */

static json_t *
amounts_json(const struct db_qreq_amounts *a)
{
    struct quota_limits l;
    for (int res = 0; res < QUOTA_RES_COUNT; res++)
        l.v[res] = a->v[res] ? a->v[res] : QUOTA_UNLIMITED;
    return db_quota_limits_json(&l);
}

static json_t *
text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *
who_json(int64_t id, const char *login)
{
    return json_pack("{s:o,s:s}", "id", id ? json_integer(id) : json_null(), "login", login);
}

static json_t *
grant_json(const struct db_quota_request *q)
{
    if (!q->has_grant)
        return json_null();
    const char *state = q->reverted_at[0]        ? "reverted"
                        : q->grant_expires_at[0] ? "active"
                                                 : "permanent";
    return json_pack("{s:o,s:o,s:o,s:s,s:o,s:o}", "granted", amounts_json(&q->granted), "applied",
                     amounts_json(&q->applied), "expires_at", text_or_null(q->grant_expires_at),
                     "state", state, "reverted",
                     q->reverted_at[0] ? amounts_json(&q->reverted) : json_null(), "reverted_at",
                     text_or_null(q->reverted_at));
}

static json_t *
request_json(const struct db_quota_request *q)
{
    bool denied = q->state == DB_QREQ_DENIED, decided = q->decided_login[0] != '\0';
    json_t *ctx = q->decision_context[0] ? json_loads(q->decision_context, 0, NULL) : NULL;
    return json_pack(
        "{s:I,s:I,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
        (json_int_t)q->id, "tenant_id", (json_int_t)q->tenant_id, "tenant", q->tenant_slug, "state",
        db_quota_request_state_name(q->state), "deltas", amounts_json(&q->deltas), "targets",
        q->by_target ? amounts_json(&q->targets) : json_null(), "justification", q->justification,
        "ends_at", text_or_null(q->ends_at), "requested_by",
        who_json(q->requested_by, q->requested_login), "created_at", q->created_at, "decided_by",
        decided ? who_json(q->decided_by, q->decided_login) : json_null(), "decided_at",
        text_or_null(q->decided_at), "comment",
        !denied && decided ? text_or_null(q->reason) : json_null(), "reason",
        denied ? text_or_null(q->reason) : json_null(), "grant", grant_json(q), "decision_context",
        ctx ? ctx : json_null());
}

/* What a handler wants of one request: its JSON (and its tenant, requester). */
struct one {
    json_t *j; /* owned */
    int64_t tenant_id, requested_by;
    enum db_qreq_state state;
};

static int
one_row(void *arg, const struct db_quota_request *q, err *e)
{
    struct one *o = arg;
    o->tenant_id = q->tenant_id;
    o->requested_by = q->requested_by;
    o->state = q->state;
    o->j = request_json(q);
    return o->j ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

/* Loads request `id` into o (o->j freed with the request). */
static int
one_load(struct api_req *r, int64_t id, struct one *o, err *e)
{
    memset(o, 0, sizeof(*o));
    if (db_quota_request_get(r->app->db, id, one_row, o, e) < 0)
        return -1;
    arena_defer(r->a, (void (*)(void *))json_decref, o->j);
    return 0;
}

/* Replies with request `id` as stored now, with the tenant's context now. */
static int
reply_request(struct api_req *r, struct api_resp *w, int64_t id, int status, err *e)
{
    struct one o;
    if (one_load(r, id, &o, e) < 0)
        return -1;
    json_t *ctx = db_quota_request_context(r->app->db, o.tenant_id, e);
    if (!ctx)
        return -1;
    json_object_set_new(o.j, "context", ctx);
    if (status == 201)
        return api_reply_created(r, w, "/api/v1/quota-requests", id, o.j);
    return api_reply_json(r, w, status, o.j);
}

/* api_require, with an audit row when it is a refusal (403). */
static int
require(struct api_req *r, enum perm p, int64_t tenant_id, const char *action, const char *target,
        err *e)
{
    const char *what = strcmp(action, "quota_request.create") ? "quota request" : "tenant";
    if (api_require(r, p, tenant_id, what, e) == 0)
        return 0;
    if (e->kind == ERR_FORBIDDEN)
        api_audit_denied(r, action, target, tenant_id, e);
    return -1;
}

/* ---- create ---- */

static int
create_body(struct api_req *r, struct db_quota_request_new *q, char *ends, err *e)
{
    static const char *const members[] = {"tenant_id",     "deltas",  "targets",
                                          "justification", "ends_at", NULL};
    json_t *deltas = json_object_get(r->json, "deltas");
    json_t *targets = json_object_get(r->json, "targets");
    bool set = false;
    if (deltas && targets)
        return err_set_field(e, "targets", "Give either 'deltas' or 'targets', not both.");
    if (!deltas && !targets)
        return err_set_field(e, "deltas", "'deltas' (or 'targets') is required.");
    q->by_target = targets != NULL;
    if (api_body_only(r, members, e) < 0 ||
        amounts_parse(targets ? targets : deltas, targets ? "targets" : "deltas", false,
                      &q->amounts, e) < 0 ||
        body_text(r, "justification", &q->justification, e) < 0 ||
        body_future_time(r, "ends_at", &set, ends, e) < 0)
        return -1;
    q->ends_at = ends[0] ? ends : NULL;
    return 0;
}

/* The configured auto-approval rules, applied to the new request. */
static int
create_auto(struct api_req *r, int64_t id, int64_t tenant_id, const char *now, err *e)
{
    const struct vp_config *c = &r->app->cfg;
    struct db_quota_policy p = {c->requests_auto_max_vms, c->requests_auto_max_vcpus,
                                c->requests_auto_cpu_overcommit_pct,
                                c->requests_auto_max_memory_pct};
    struct db_quota_decision dec;
    struct db_audit a;
    bool approved = false;
    api_audit_init(r, &a, "quota_request.approve", NULL, tenant_id);
    if (db_quota_request_auto(r->app->db, id, &p, now, &a, &approved, &dec, e) < 0)
        return -1;
    if (approved && dec.runtime_changed && r->app->quota_runtime_push)
        r->app->quota_runtime_push(r->app, tenant_id);
    return 0;
}

int
api_quota_requests_create(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_quota_request_new q = {.requested_by = r->who.user_id,
                                     .requested_login = r->who.login};
    char ends[32], now[32];
    int64_t id = 0;
    if (api_body_id(r, "tenant_id", false, &q.tenant_id, e) < 0)
        return -1;
    if (!q.tenant_id)
        return err_set_field(e, "tenant_id", "'tenant_id' is required.");
    /* a tenant that is not the caller's answers like a missing one */
    if (require(r, PERM_QUOTA_REQUEST, q.tenant_id, "quota_request.create", "quota-request", e) <
            0 ||
        create_body(r, &q, ends, e) < 0)
        return -1;
    now_text(r, now);
    q.now = now;
    struct db_audit a;
    api_audit_init(r, &a, "quota_request.create", NULL, q.tenant_id);
    if (db_quota_request_create(r->app->db, &q, &a, &id, e) < 0)
        return -1;
    err pe = {0}; /* the request stands even if the policy could not run */
    create_auto(r, id, q.tenant_id, now, &pe);
    return reply_request(r, w, id, 201, e);
}

/* ---- list and get ---- */

struct list_ctx {
    json_t *items;
    int64_t last_id;
};

static int
list_row(void *arg, const struct db_quota_request *q, err *e)
{
    struct list_ctx *l = arg;
    json_t *j = request_json(q);
    if (!j || json_array_append_new(l->items, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    l->last_id = q->id;
    return 0;
}

/* Each item's context, read once the list's statement is done (a context
 * is its own read snapshot on the same connection). */
static int
list_contexts(struct api_req *r, json_t *items, err *e)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        json_t *ctx = db_quota_request_context(
            r->app->db, json_integer_value(json_object_get(item, "tenant_id")), e);
        if (!ctx)
            return -1;
        json_object_set_new(item, "context", ctx);
    }
    return 0;
}

static int
list_filter(struct api_req *r, struct db_quota_request_filter *f, bool *context, err *e)
{
    bool bad = false;
    const char *state = api_query(r, "state", &bad), *cursor = NULL;
    int ctx = -1;
    f->state = -1;
    if (bad ||
        (state && (f->state = (int)db_quota_request_state_find(state)) == DB_QREQ_STATE_COUNT))
        return err_set_field(e, "state",
                             "state must be one of pending, approved, denied, "
                             "withdrawn, expired.");
    if (api_query_int(r, "tenant_id", 1, INT64_MAX, 0, &f->tenant_id, e) < 0 ||
        api_query_bool(r, "context", &ctx, e) < 0 || api_page(r, &f->limit, &cursor, e) < 0)
        return -1;
    *context = ctx == 1;
    char *end = NULL;
    f->before_id = cursor ? strtoll(cursor, &end, 10) : 0;
    if (cursor && (f->before_id <= 0 || *end))
        return err_set_field(e, "cursor", "The cursor is malformed.");
    f->visible = api_visible_tenants(r, PERM_QUOTA_READ);
    return 0;
}

int
api_quota_requests_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_quota_request_filter f = {0};
    struct list_ctx l = {.items = json_array()};
    bool context = false;
    if (!l.items || arena_defer(r->a, (void (*)(void *))json_decref, l.items) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (list_filter(r, &f, &context, e) < 0 ||
        db_quota_request_list(r->app->db, &f, list_row, &l, e) < 0 ||
        (context && list_contexts(r, l.items, e) < 0))
        return -1;
    return api_reply_list(r, w, l.items, f.more ? arena_printf(r->a, "%" PRId64, l.last_id) : NULL);
}

int
api_quota_requests_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    struct one o;
    if (api_param_id(r, 0, &id, e) < 0 || one_load(r, id, &o, e) < 0 ||
        api_require(r, PERM_QUOTA_READ, o.tenant_id, "quota request", e) < 0)
        return -1;
    return reply_request(r, w, id, 200, e);
}

/* ---- withdraw and decide ---- */

int
api_quota_requests_withdraw(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    struct one o;
    char now[32];
    if (api_param_id(r, 0, &id, e) < 0 || one_load(r, id, &o, e) < 0)
        return -1;
    const char *target = arena_printf(r->a, "quota-request/%" PRId64, id);
    if (require(r, PERM_QUOTA_REQUEST, o.tenant_id, "quota_request.withdraw", target, e) < 0)
        return -1;
    now_text(r, now);
    struct db_audit a;
    api_audit_init(r, &a, "quota_request.withdraw", NULL, o.tenant_id);
    if (db_quota_request_withdraw(r->app->db, id, r->who.user_id, now, &a, e) < 0) {
        if (e->kind == ERR_FORBIDDEN)
            api_audit_denied(r, "quota_request.withdraw", target, o.tenant_id, e);
        return -1;
    }
    return reply_request(r, w, id, 200, e);
}

static int
approve_body(struct api_req *r, struct db_quota_decision *dec, char *expires, err *e)
{
    static const char *const members[] = {"resources", "expires_at", "comment", NULL};
    json_t *res = json_object_get(r->json, "resources");
    bool set = false;
    if (api_body_only(r, members, e) < 0 ||
        (res && amounts_parse(res, "resources", true, &dec->grant, e) < 0) ||
        body_future_time(r, "expires_at", &set, expires, e) < 0 ||
        body_text(r, "comment", &dec->comment, e) < 0)
        return -1;
    dec->has_grant = res != NULL;
    dec->keep_ends_at = !set;
    dec->expires_at = expires[0] ? expires : NULL;
    return 0;
}

static int
deny_body(struct api_req *r, struct db_quota_decision *dec, err *e)
{
    static const char *const members[] = {"reason", NULL};
    return api_body_only(r, members, e) < 0 ? -1 : body_text(r, "reason", &dec->comment, e);
}

static int
decide(struct api_req *r, struct api_resp *w, bool approve, err *e)
{
    int64_t id;
    struct one o;
    char now[32], expires[32] = "";
    const char *action = approve ? "quota_request.approve" : "quota_request.deny";
    if (api_param_id(r, 0, &id, e) < 0 || one_load(r, id, &o, e) < 0)
        return -1;
    const char *target = arena_printf(r->a, "quota-request/%" PRId64, id);
    struct db_quota_decision dec = {
        .id = id, .approve = approve, .actor = api_actor(r), .actor_login = r->who.login};
    if (require(r, PERM_QUOTA_APPROVE, o.tenant_id, action, target, e) < 0 ||
        (approve ? approve_body(r, &dec, expires, e) : deny_body(r, &dec, e)) < 0)
        return -1;
    now_text(r, now);
    dec.now = now;
    struct db_audit a;
    api_audit_init(r, &a, action, NULL, o.tenant_id);
    if (db_quota_request_decide(r->app->db, &dec, &a, e) < 0) {
        if (e->kind == ERR_FORBIDDEN)
            api_audit_denied(r, action, target, o.tenant_id, e);
        return -1;
    }
    if (dec.runtime_changed && r->app->quota_runtime_push)
        r->app->quota_runtime_push(r->app, o.tenant_id);
    return reply_request(r, w, id, 200, e);
}

int
api_quota_requests_approve(struct api_req *r, struct api_resp *w, err *e)
{
    return decide(r, w, true, e);
}

int
api_quota_requests_deny(struct api_req *r, struct api_resp *w, err *e)
{
    return decide(r, w, false, e);
}

/* ---- test hook ---- */

/* Moves the portal's clock: {"offset_s": N} seconds ahead of the wall clock
 * (negative: behind). Only with server.test_hooks=1, which must never be set
 * in production; audited. */
int
api_quota_requests_clock(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const members[] = {"offset_s", NULL};
    if (!r->app->cfg.test_hooks)
        return err_set(e, ERR_NOT_FOUND, "No such resource.");
    json_t *v = json_object_get(r->json, "offset_s");
    if (api_body_only(r, members, e) < 0)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < -315360000 ||
        json_integer_value(v) > 315360000)
        return err_set_field(e, "offset_s", "'offset_s' must be an integer of at most 10 years.");
    long before = atomic_load(&r->app->clock_offset_s);
    struct db_audit a;
    json_t *d = json_pack("{s:I,s:I}", "before", (json_int_t)before, "after",
                          (json_int_t)json_integer_value(v));
    api_audit_init(r, &a, "test.clock", "clock", 0);
    a.details = d;
    int rc = db_audit_event(r->app->db, &a, e);
    json_decref(d);
    if (rc < 0)
        return -1;
    atomic_store(&r->app->clock_offset_s, (long)json_integer_value(v));
    char now[32];
    now_text(r, now);
    json_t *j = json_pack("{s:I,s:s}", "offset_s", (json_int_t)json_integer_value(v), "now", now);
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}
