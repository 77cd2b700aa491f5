/* Quotas: /api/v1/tenants/{id}/quota (GET, PUT), /usage (GET) and
 * /quota/check (POST, a dry run of admission). See quotas.h. */
#include "quotas.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "quota_runtime.h"

/* ---- edge validation ---- */

/* A real number as thousandths, refusing more than 3 decimals. */
static int
real_scaled(const char *key, double v, int scale, int64_t max, int64_t *out, err *e)
{
    if (v != v || v - v != 0) /* NaN, infinities */
        return err_set_field(e, key, "'%s' must be a finite number.", key);
    if (v < 0)
        return err_set_field(e, key, "'%s' must not be negative.", key);
    double x = v * scale;
    if (x > (double)max)
        return err_set_field(e, key, "'%s' is larger than the maximum of %g.", key,
                             (double)max / scale);
    double r = (double)(int64_t)(x + 0.5); /* x >= 0: rounds to nearest */
    double diff = x > r ? x - r : r - x;
    if (diff > 1e-6 * (r > 1 ? r : 1))
        return err_set_field(e, key, "'%s' takes at most 3 decimals.", key);
    *out = (int64_t)r;
    return 0;
}

/* One limit value into stored units, with the resource's range. */
static int
limit_value(enum quota_res res, const char *key, const json_t *v, int64_t *out, err *e)
{
    const struct quota_res_info *ri = db_quota_res(res);
    if (json_is_null(v)) {
        *out = QUOTA_UNLIMITED;
        return 0;
    }
    if (json_is_real(v) && ri->scale > 1) {
        if (real_scaled(key, json_real_value(v), ri->scale, ri->max, out, e) < 0)
            return -1;
    } else if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0)
            return err_set_field(e, key, "'%s' must not be negative.", key);
        if (n > ri->max / ri->scale)
            return err_set_field(e, key, "'%s' is larger than the maximum of %" PRId64 ".", key,
                                 ri->max / ri->scale);
        *out = (int64_t)n * ri->scale;
    } else {
        return err_set_field(e, key, "'%s' must be %s or null (no limit).", key,
                             ri->scale > 1 ? "a number" : "an integer");
    }
    if (*out == 0 && ri->min > 0)
        return err_set_field(e, key, "'%s' cannot be 0; leave it out or use null for no limit.",
                             key);
    if (*out < ri->min)
        return err_set_field(e, key, "'%s' must be at least %g %s.", key,
                             (double)ri->min / ri->scale, ri->unit);
    return 0;
}

int
api_quotas_parse_limits(const json_t *body, struct quota_limits *out, err *e)
{
    db_quota_limits_unlimited(out);
    if (!json_is_object(body))
        return err_set(e, ERR_INVALID, "The body must be a JSON object of limits.");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        enum quota_res res = db_quota_res_find(key);
        if (res == QUOTA_RES_COUNT)
            return err_set_field(e, key, "Unknown quota resource '%.40s'.", key);
        if (limit_value(res, key, v, &out->v[res], e) < 0)
            return -1;
    }
    return 0;
}

int
api_quotas_parse_deltas(const json_t *body, struct quota_deltas *out, err *e)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(body))
        return err_set(e, ERR_INVALID, "The body must be a JSON object of deltas.");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        enum quota_res res = db_quota_res_find(key);
        if (res == QUOTA_RES_COUNT || !db_quota_res(res)->allocation)
            return err_set_field(e, key,
                                 "Unknown member '%.40s' (vms, vcpus, memory_mib, disk_gib).", key);
        int64_t max = db_quota_res(res)->max;
        if (!json_is_integer(v))
            return err_set_field(e, key, "'%s' must be an integer.", key);
        json_int_t n = json_integer_value(v);
        if (n > max || n < -max)
            return err_set_field(e, key, "'%s' must be between -%" PRId64 " and %" PRId64 ".", key,
                                 max, max);
        out->v[res] = n;
    }
    return 0;
}

/* ---- rendering ---- */

static json_t *
quota_request_json(const struct quota_refusal *why)
{
    json_t *deltas = json_object();
    char text[200];
    size_t used = (size_t)snprintf(text, sizeof(text), "Needed for a refused request: ");
    for (size_t i = 0; deltas && i < why->n; i++) {
        const struct quota_violation *v = &why->v[i];
        const char *name = db_quota_res(v->res)->name;
        json_object_set_new(deltas, name, json_integer(v->shortfall));
        if (used < sizeof(text))
            used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s +%" PRId64,
                                     i ? ", " : "", name, v->shortfall);
    }
    return json_pack("{s:I,s:o,s:s}", "tenant_id", (json_int_t)why->tenant_id, "deltas", deltas,
                     "justification", text);
}

json_t *
api_quotas_refusal_json(const struct quota_refusal *why)
{
    return json_pack("{s:I,s:o,s:o}", "tenant_id", (json_int_t)why->tenant_id, "violations",
                     db_quota_violations_json(why), "quota_request", quota_request_json(why));
}

int
api_quotas_reply_refusal(struct api_req *r, struct api_resp *w, const err *e,
                         const struct quota_refusal *why)
{
    json_t *extra = api_quotas_refusal_json(why);
    api_reply_problem(r, w, e, extra);
    json_decref(extra);
    return 0;
}

/* A limit value for output: null when unlimited. */
static json_t *
limit_json(enum quota_res res, int64_t v)
{
    return v == QUOTA_UNLIMITED ? json_null() : json_integer(v / db_quota_res(res)->scale);
}

/* {"vms": {"used", "reserved", "limit"}, ...} for the allocation resources. */
static json_t *
allocation_json(const struct quota_usage *u)
{
    json_t *j = json_object();
    for (int res = 0; j && res < QUOTA_ALLOC_COUNT; res++)
        json_object_set_new(j, db_quota_res((enum quota_res)res)->name,
                            json_pack("{s:I,s:I,s:o}", "used", (json_int_t)u->used.v[res],
                                      "reserved", (json_int_t)u->reserved.v[res], "limit",
                                      limit_json((enum quota_res)res, u->limits.v[res])));
    return j;
}

static json_t *
quota_set_json(int64_t tenant_id, const struct quota_limits *l, const struct quota_refusal *over,
               const char *updated_at)
{
    return json_pack("{s:I,s:o,s:o,s:o}", "tenant_id", (json_int_t)tenant_id, "limits",
                     db_quota_limits_json(l), "over_quota", db_quota_violations_json(over),
                     "updated_at",
                     updated_at && *updated_at ? json_string(updated_at) : json_null());
}

static int
reply_owned(struct api_req *r, struct api_resp *w, int status, json_t *j, err *e)
{
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, status, j);
    json_decref(j);
    return 0;
}

/* ---- handlers ---- */

int
api_quotas_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t tid;
    struct quota_usage u;
    char updated[32];
    struct quota_refusal over = {0};
    if (api_param_id(r, 0, &tid, e) < 0 || db_quota_usage(r->app->db, tid, &u, e) < 0 ||
        db_quota_get(r->app->db, tid, &u.limits, updated, e) < 0)
        return -1;
    over.tenant_id = tid;
    db_quota_over(&u.limits, &u.used, &over);
    return reply_owned(r, w, 200, quota_set_json(tid, &u.limits, &over, updated), e);
}

int
api_quotas_put(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t tid;
    struct quota_limits l;
    struct quota_refusal over = {0};
    if (api_param_id(r, 0, &tid, e) < 0 || api_quotas_parse_limits(r->json, &l, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "quota.update", arena_printf(r->a, "tenant/%" PRId64 "/quota", tid), tid);
    char updated[32];
    if (db_quota_set(r->app->db, tid, &l, &a, &over, e) < 0 ||
        db_quota_get(r->app->db, tid, &l, updated, e) < 0)
        return -1;
    if (r->app->quota_runtime_push) /* new runtime limits: applied in the background */
        r->app->quota_runtime_push(r->app, tid);
    return reply_owned(r, w, 200, quota_set_json(tid, &l, &over, updated), e);
}

static int
sample_push(void *arg, const struct quota_sample *s, err *e)
{
    json_t *j = json_pack(
        "{s:o,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "host_id",
        s->host_id ? json_integer(s->host_id) : json_null(), "mode", db_quota_mode_name(s->mode),
        "sampled_at", s->ts, "cpu_usage_usec", (json_int_t)s->cpu_usage_usec, "cpu_throttled_usec",
        (json_int_t)s->cpu_throttled_usec, "memory_bytes", (json_int_t)s->memory_bytes, "oom_kills",
        (json_int_t)s->oom_kills, "io_read_bytes", (json_int_t)s->io_read_bytes, "io_write_bytes",
        (json_int_t)s->io_write_bytes, "io_read_ios", (json_int_t)s->io_read_ios, "io_write_ios",
        (json_int_t)s->io_write_ios, "pids", (json_int_t)s->pids);
    if (!j || json_array_append_new(arg, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* One host of runtime.enforcement: mode, why, the budget there (API units),
 * when it was last applied and the last attempt's error (null when none). */
static int
enforcement_push(void *arg, const struct db_quota_enforcement *q, err *e)
{
    json_t *budget = json_loads(q->budget_json, 0, NULL);
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:o}", "host_id", (json_int_t)q->host_id,
                          "host_name", q->host_name, "mode", db_quota_mode_name(q->mode), "detail",
                          q->detail, "budget", json_is_object(budget) ? budget : json_object(),
                          "applied_at", q->applied_at[0] ? json_string(q->applied_at) : json_null(),
                          "error", q->error[0] ? json_string(q->error) : json_null());
    if (!json_is_object(budget))
        json_decref(budget);
    if (!j || json_array_append_new(arg, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* The runtime limits (API units) beside the newest sample of each host and
 * how they are enforced there. */
static json_t *
runtime_json(struct api_req *r, int64_t tid, const struct quota_limits *l, err *e)
{
    struct quota_limits rt = *l;
    for (int res = 0; res < QUOTA_ALLOC_COUNT; res++)
        rt.v[res] = QUOTA_UNLIMITED; /* db_quota_limits_json prints set ones only */
    json_t *hosts = json_array(), *enf = json_array();
    if (!hosts || !enf || db_quota_samples_latest(r->app->db, tid, sample_push, hosts, e) < 0 ||
        db_quota_runtime_list(r->app->db, tid, enforcement_push, enf, e) < 0) {
        json_decref(hosts);
        json_decref(enf);
        return NULL;
    }
    return json_pack("{s:o,s:o,s:o}", "limits", db_quota_limits_json(&rt), "hosts", hosts,
                     "enforcement", enf);
}

int
api_quotas_usage(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t tid;
    struct quota_usage u;
    struct quota_refusal over = {0};
    if (api_param_id(r, 0, &tid, e) < 0 || db_quota_usage(r->app->db, tid, &u, e) < 0)
        return -1;
    over.tenant_id = tid;
    db_quota_over(&u.limits, &u.used, &over);
    json_t *runtime = runtime_json(r, tid, &u.limits, e);
    if (!runtime)
        return -1;
    return reply_owned(r, w, 200,
                       json_pack("{s:I,s:o,s:I,s:o,s:o}", "tenant_id", (json_int_t)tid,
                                 "allocation", allocation_json(&u), "reservations",
                                 (json_int_t)u.reservations, "over_quota",
                                 db_quota_violations_json(&over), "runtime", runtime),
                       e);
}

int
api_quotas_check(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t tid;
    struct quota_deltas d;
    struct quota_refusal why = {0};
    struct quota_usage u;
    if (api_param_id(r, 0, &tid, e) < 0 || api_quotas_parse_deltas(r->json, &d, e) < 0 ||
        db_quota_check(r->app->db, tid, &d, &why, &u, e) < 0)
        return -1;
    json_t *j = json_pack(
        "{s:I,s:b,s:o,s:o,s:o,s:o}", "tenant_id", (json_int_t)tid, "admitted", why.n == 0, "deltas",
        db_quota_deltas_json(&d), "violations", db_quota_violations_json(&why), "quota_request",
        why.n ? quota_request_json(&why) : json_null(), "allocation", allocation_json(&u));
    return reply_owned(r, w, 200, j, e);
}

/* ---- admission for handlers that create or resize VMs ---- */

static void
hold_release(void *arg)
{
    struct api_quota_hold *h = arg;
    if (!h->done) /* the handler failed before commit: give the quota back */
        db_quota_release(h->d, h->id, NULL, NULL);
    h->done = true;
}

int
api_quotas_reserve(struct api_req *r, struct api_resp *w, int64_t tenant_id,
                   const struct quota_deltas *deltas, const char *action, const char *target,
                   struct api_quota_hold **out, err *e)
{
    struct db_audit a;
    struct quota_refusal why = {0};
    int64_t id = 0;
    api_audit_init(r, &a, action, target, tenant_id);
    struct api_quota_hold *h = arena_alloc(r->a, sizeof(*h));
    if (!h)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (db_quota_reserve(r->app->db, tenant_id, deltas, &a, &id, &why, e) < 0)
        return e->kind == ERR_QUOTA ? (api_quotas_reply_refusal(r, w, e, &why), 1) : -1;
    *h = (struct api_quota_hold){r->app->db, id, false};
    if (arena_defer(r->a, hold_release, h) < 0) /* released at once by arena_defer */
        return err_set(e, ERR_INTERNAL, "out of memory");
    *out = h;
    return 0;
}

int
api_quotas_commit(struct api_quota_hold *h, err *e)
{
    if (h->done)
        return err_set(e, ERR_INTERNAL, "quota reservation already ended");
    h->done = true;
    return db_quota_commit(h->d, h->id, NULL, e);
}
