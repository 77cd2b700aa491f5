/* Plans: /api/v1/plans[/{id}[/export|/execute]]. See plans.h; the planning itself
 * is server/plan_exec.h (prepare, compute, export, execute). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "identity.h"
#include "plan_exec.h"
#include "plan_store.h"
#include "plans.h"
#include "router.h"
#include "tasks.h"

static const char *const body_members[] = {"kind",   "name",  "inventory",   "targets",
                                           "sizing", "drain", "constraints", NULL};
static const char *const constraint_members[] = {
    "overcommit", "headroom",  "affinity", "anti_affinity", "pinned",    "excluded", "tenant_id",
    "tenants",    "threshold", "per_host", "max_parallel",  "cpu_check", "moves",    NULL};
static const char *const upload_params[] = {"format",
                                            "name",
                                            "hosts",
                                            "sizing",
                                            "cpu_overcommit",
                                            "memory_overcommit",
                                            "disk_overcommit",
                                            "headroom",
                                            "tenant_id",
                                            "sheet",
                                            "filename",
                                            "async",
                                            NULL};
static const char *const json_params[] = {"async", NULL};

static json_t *
defer_json(struct api_req *r, json_t *j)
{
    if (j)
        arena_defer(r->a, (void (*)(void *))json_decref, j);
    return j;
}

/* The media type of the request without parameters equals `type`. */
static bool
media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct && !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int
only_members(const json_t *o, const char *const *allowed, const char *prefix, err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(allowed[i], key);
        if (!ok) {
            char field[64];
            snprintf(field, sizeof(field), "%s%s%.40s", prefix ? prefix : "", prefix ? "." : "",
                     key);
            return err_set_field(e, field, "Unknown member '%.40s'.", key);
        }
    }
    return 0;
}

/* Every query parameter is one of `allowed`. */
static int
only_params(const struct api_req *r, const char *const *allowed, err *e)
{
    for (const char *p = r->query; p && *p;) {
        size_t len = strcspn(p, "=&");
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strlen(allowed[i]) == len && !strncmp(allowed[i], p, len);
        if (!ok && len)
            return err_set(e, ERR_INVALID, "Unknown query parameter '%.*s'.",
                           (int)(len > 40 ? 40 : len), p);
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

/* ---------------------------------------------------------------- input */

static int
json_input(struct api_req *r, json_t **out, err *e)
{
    json_t *j = defer_json(r, api_json_parse(r->body, r->body_len, e));
    if (!j)
        return -1;
    if (!json_is_object(j))
        return err_set(e, ERR_INVALID, "The body must be a JSON object.");
    if (only_params(r, json_params, e) < 0 || only_members(j, body_members, NULL, e) < 0)
        return -1;
    json_t *c = json_object_get(j, "constraints");
    if (json_is_object(c) && only_members(c, constraint_members, "constraints", e) < 0)
        return -1;
    json_t *name = json_object_get(j, "name");
    if (name && !json_is_string(name))
        return err_set_field(e, "name", "'name' must be a string.");
    if (name && api_check_text("name", json_string_value(name), 200, false, e) < 0)
        return -1;
    *out = j;
    return 0;
}

struct fmt_map {
    const char *in, *format, *ext;
};

static const struct fmt_map media_formats[] = {
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "rvtools-xlsx", "xlsx"},
    {"text/csv", "rvtools-csv", "csv"},
    {"application/csv", "rvtools-csv", "csv"},
    {"application/ovf+xml", "ovf", "ovf"},
    {"application/xml", "ovf", "ovf"},
    {"text/xml", "ovf", "ovf"},
    {"application/x-vmware-vmx", "vmx", "vmx"},
};

static const struct fmt_map query_formats[] = {
    {"xlsx", "rvtools-xlsx", "xlsx"},
    {"rvtools-xlsx", "rvtools-xlsx", "xlsx"},
    {"csv", "rvtools-csv", "csv"},
    {"rvtools-csv", "rvtools-csv", "csv"},
    {"vmx", "vmx", "vmx"},
    {"ovf", "ovf", "ovf"},
};

static int
upload_format(struct api_req *r, const struct fmt_map **out, err *e)
{
    bool bad = false;
    const char *q = api_query(r, "format", &bad), *ct = api_header(r, "Content-Type");
    for (size_t i = 0; q && i < sizeof(query_formats) / sizeof(query_formats[0]); i++)
        if (!strcmp(q, query_formats[i].in))
            return *out = &query_formats[i], 0;
    if (q || bad)
        return err_set_field(e, "format", "format is xlsx, csv, vmx or ovf.");
    for (size_t i = 0; i < sizeof(media_formats) / sizeof(media_formats[0]); i++)
        if (media_is(ct, media_formats[i].in))
            return *out = &media_formats[i], 0;
    return err_set(e, ERR_UNSUPPORTED_MEDIA,
                   "Send application/json, or one file with its Content-Type (an RVTools xlsx, "
                   "text/csv, application/ovf+xml) or with ?format=xlsx|csv|vmx|ovf.");
}

static int
query_number(struct api_req *r, const char *name, json_t *obj, const char *key, bool integer,
             err *e)
{
    bool bad = false;
    const char *v = api_query(r, name, &bad);
    if (!v && !bad)
        return 0;
    char *end = NULL;
    errno = 0;
    double d = v && *v ? strtod(v, &end) : NAN;
    if (bad || errno || !end || *end || !isfinite(d) || (integer && d != floor(d)))
        return err_set_field(e, name, "'%s' must be a%s number.", name, integer ? "n integer" : "");
    json_object_set_new(obj, key, integer ? json_integer((json_int_t)d) : json_real(d));
    return 0;
}

static int
query_string(struct api_req *r, const char *name, json_t *obj, const char *key, err *e)
{
    bool bad = false;
    const char *v = api_query(r, name, &bad);
    if (bad || (v && api_check_text(name, v, 1000, false, e) < 0))
        return err_set_field(e, name, "'%s' must be 1 to 1000 characters.", name);
    if (v)
        json_object_set_new(obj, key, json_string(v));
    return 0;
}

/* The file's name: ?filename, else from ?sheet (csv), else "upload.<ext>". */
static const char *
upload_name(struct api_req *r, const struct fmt_map *f)
{
    const char *name = api_query(r, "filename", NULL), *sheet = api_query(r, "sheet", NULL);
    if (name && *name)
        return name;
    if (sheet && *sheet && !strcmp(f->ext, "csv"))
        return arena_printf(r->a, "RVTools_tab%s.csv", sheet);
    return arena_printf(r->a, "upload.%s", f->ext);
}

/* One uploaded file and its query become the JSON form of an import. */
static int
upload_input(struct api_req *r, json_t **out, err *e)
{
    const struct fmt_map *f = NULL;
    if (only_params(r, upload_params, e) < 0 || upload_format(r, &f, e) < 0)
        return -1;
    if (r->body_len == 0)
        return err_set_field(e, "inventory", "The upload is empty.");
    json_t *in = defer_json(
        r, json_pack("{s:s,s:{s:s,s:[{s:s,s:o}]},s:{s:{}}}", "kind", "vmware-import", "inventory",
                     "format", f->format, "files", "name", upload_name(r, f), "content_base64",
                     plan_exec_base64(r->body, r->body_len), "constraints", "overcommit"));
    if (!in)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    json_t *c = json_object_get(in, "constraints"), *oc = json_object_get(c, "overcommit");
    if (query_string(r, "name", in, "name", e) < 0 ||
        query_string(r, "hosts", in, "targets", e) < 0 ||
        query_string(r, "sizing", in, "sizing", e) < 0 ||
        query_number(r, "cpu_overcommit", oc, "cpu", false, e) < 0 ||
        query_number(r, "memory_overcommit", oc, "memory", false, e) < 0 ||
        query_number(r, "disk_overcommit", oc, "disk", false, e) < 0 ||
        query_number(r, "headroom", c, "headroom", false, e) < 0 ||
        query_number(r, "tenant_id", c, "tenant_id", true, e) < 0)
        return -1;
    *out = in;
    return 0;
}

static int
plan_input(struct api_req *r, json_t **out, err *e)
{
    if (media_is(api_header(r, "Content-Type"), "application/json"))
        return json_input(r, out, e);
    return upload_input(r, out, e);
}

/* ---------------------------------------------------------------- rendering */

static json_t *
member_or_null(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v ? json_incref(v) : json_null();
}

/* The API's plan: identity, state, summary, and (full) the whole result. */
static json_t *
plan_json(const struct db_plan *pl, bool full)
{
    json_t *result = pl->result ? json_loads(pl->result, 0, NULL) : NULL;
    bool kvm = strcmp(pl->kind, "vmware-import") != 0;
    long long id = (long long)pl->id;
    char self[48], export[64], execute[64];
    snprintf(self, sizeof(self), "/api/v1/plans/%lld", id);
    snprintf(export, sizeof(export), "%s/export", self);
    snprintf(execute, sizeof(execute), "%s/execute", self);
    json_t *j =
        json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:{s:s,s:s,s:s?}}", "id",
                  (json_int_t)pl->id, "kind", pl->kind, "state", db_plan_state_name(pl->state),
                  "name", pl->name ? json_string(pl->name) : json_null(), "created_by",
                  pl->created_by ? json_integer(pl->created_by) : json_null(), "created_at",
                  pl->created_at, "summary", member_or_null(result, "summary"), "error",
                  member_or_null(result, "error"), "execution", member_or_null(result, "execution"),
                  "links", "self", self, "export", export, "execute", kvm ? execute : NULL);
    if (j && full)
        json_object_set(j, "result", result ? result : json_null());
    json_decref(result);
    return j;
}

static int
reply_plan(struct api_req *r, struct api_resp *w, int64_t id, int status, int64_t task_id, err *e)
{
    struct db_plan pl;
    if (db_plan_get(r->app->db, id, false, r->a, &pl, e) < 0)
        return -1;
    json_t *j = defer_json(r, plan_json(&pl, status != 202));
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    const char *self = arena_printf(r->a, "/api/v1/plans/%lld", (long long)id);
    if (status == 202) {
        struct task_view v = {0};
        err te = {0};
        if (!r->app->tasks || !task_peek(r->app->tasks, task_id, &v))
            db_task_get(r->app->db, task_id, &v.row, &te); /* the plan's id matters most */
        json_object_set_new(j, "task", api_task_json(&v));
        api_add_header(w, "Location", arena_printf(r->a, "/api/v1/tasks/%lld", (long long)task_id));
        api_add_header(w, "Content-Location", self);
        return api_reply_json(r, w, 202, j);
    }
    if (status == 201)
        api_add_header(w, "Location", self);
    return api_reply_json(r, w, status, j);
}

/* ---------------------------------------------------------------- create */

static char *
dump(struct api_req *r, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        arena_defer(r->a, free, s);
    return s;
}

static struct plan_exec_who
who_of(const struct api_req *r)
{
    return (struct plan_exec_who){
        r->who.user_id, r->who.login,  r->who.token_prefix[0] ? r->who.token_prefix : NULL,
        r->source_ip,   r->user_agent, r->request_id};
}

static int
store_plan(struct api_req *r, json_t *input, const char *result, enum db_plan_state st, size_t vms,
           int64_t *id, err *e)
{
    const char *kind = json_string_value(json_object_get(input, "kind")), *text = dump(r, input);
    if (!text || (st == DB_PLAN_READY && !result))
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    struct db_audit a;
    api_audit_init(r, &a, "plan.create", NULL, 0);
    a.details = json_pack("{s:s,s:I,s:b}", "kind", kind, "vms", (json_int_t)vms, "async",
                          st == DB_PLAN_DRAFT);
    int rc = db_plan_create(r->app->db, kind, text, result, st, r->who.user_id, &a, id, e);
    json_decref(a.details);
    return rc;
}

static int
create_now(struct api_req *r, struct api_resp *w, struct plan_prep *p, json_t *input, err *e)
{
    json_t *result = defer_json(r, plan_exec_compute(r->app, p, e));
    int64_t id = 0;
    if (!result ||
        store_plan(r, input, dump(r, result), DB_PLAN_READY, plan_exec_prep_vms(p), &id, e) < 0)
        return -1;
    return reply_plan(r, w, id, 201, 0, e);
}

static int
create_later(struct api_req *r, struct api_resp *w, struct plan_prep *p, json_t *input, err *e)
{
    int64_t id = 0, tid = 0;
    if (store_plan(r, input, NULL, DB_PLAN_DRAFT, plan_exec_prep_vms(p), &id, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "plan.compute", arena_printf(r->a, "plan/%lld", (long long)id), 0);
    struct plan_exec_who who = who_of(r);
    if (plan_exec_submit_compute(r->app, id, &who, &a, &tid, e) < 0) {
        err ignored = {0};
        db_plan_transition(r->app->db, id, DB_PLAN_DRAFT, DB_PLAN_FAILED,
                           "{\"error\":{\"detail\":\"The planning could not be queued.\"}}", NULL,
                           &ignored);
        return -1;
    }
    return reply_plan(r, w, id, 202, tid, e);
}

int
api_plans_create(struct api_req *r, struct api_resp *w, err *e)
{
    json_t *input = NULL;
    int async = -1;
    struct plan_prep *p = NULL;
    if (plan_input(r, &input, e) < 0 || api_query_bool(r, "async", &async, e) < 0 ||
        plan_exec_prepare(r->app, input, NULL, &p, e) < 0)
        return -1;
    arena_defer(r->a, (void (*)(void *))plan_exec_prep_free, p);
    if (async == 1 || plan_exec_prep_live(p) || plan_exec_prep_vms(p) > API_PLANS_SYNC_VMS)
        return create_later(r, w, p, input, e);
    return create_now(r, w, p, input, e);
}

/* ---------------------------------------------------------------- read */

struct list_ctx {
    json_t *items;
    int64_t last_id;
};

static int
list_row(void *arg, const struct db_plan_row *p, err *e)
{
    struct list_ctx *c = arg;
    json_t *summary = p->summary ? json_loads(p->summary, JSON_DECODE_ANY, NULL) : NULL;
    json_t *j =
        json_pack("{s:I,s:s,s:s,s:s?,s:o,s:s,s:o,s:s?}", "id", (json_int_t)p->id, "kind", p->kind,
                  "state", db_plan_state_name(p->state), "name", p->name, "created_by",
                  p->created_by ? json_integer(p->created_by) : json_null(), "created_at",
                  p->created_at, "summary", summary ? summary : json_null(), "error", p->error);
    if (!j || json_array_append_new(c->items, j) < 0)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    c->last_id = p->id;
    return 0;
}

static int
list_filter(struct api_req *r, struct db_plan_filter *f, int *limit, err *e)
{
    const char *cursor = NULL, *state = NULL;
    bool bad = false;
    enum db_plan_state st;
    *f = (struct db_plan_filter){.state = -1};
    if (api_page(r, limit, &cursor, e) < 0)
        return -1;
    char *end = NULL;
    errno = 0;
    long long before = cursor && *cursor >= '1' && *cursor <= '9' ? strtoll(cursor, &end, 10) : 0;
    if (cursor && (errno || !end || *end || before <= 0))
        return err_set_field(e, "cursor", "The cursor is malformed.");
    f->before_id = before;
    f->kind = api_query(r, "kind", &bad);
    if (bad || (f->kind && !db_plan_kind_valid(f->kind)))
        return err_set_field(e, "kind", "kind is vmware-import, rebalance or drain.");
    state = api_query(r, "state", &bad);
    if (bad || (state && db_plan_state_parse(state, &st) < 0))
        return err_set_field(e, "state", "state is draft, ready, executing, done or failed.");
    f->state = state ? (int)st : -1;
    return 0;
}

int
api_plans_list(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const params[] = {"limit", "cursor", "kind", "state", NULL};
    struct db_plan_filter f;
    int limit = 0;
    bool more = false;
    if (only_params(r, params, e) < 0 || list_filter(r, &f, &limit, e) < 0)
        return -1;
    struct list_ctx c = {defer_json(r, json_array()), 0};
    if (!c.items)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (db_plan_list(r->app->db, &f, limit, &more, list_row, &c, e) < 0)
        return -1;
    const char *next = more ? arena_printf(r->a, "%lld", (long long)c.last_id) : NULL;
    return api_reply_list(r, w, c.items, next) < 0 ? err_set(e, ERR_UNAVAILABLE, "Out of memory.")
                                                   : 0;
}

int
api_plans_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    err ignored = {0};
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    plan_exec_reconcile(r->app, id, &ignored); /* a plan a stopped process left behind */
    return reply_plan(r, w, id, 200, 0, e);
}

/* ---------------------------------------------------------------- export */

static int
reply_file(struct api_req *r, struct api_resp *w, const void *body, size_t len, const char *ctype,
           int64_t id, const char *ext)
{
    w->status = 200;
    w->content_type = ctype;
    w->body = body;
    w->body_len = len;
    api_add_header(w, "Content-Disposition",
                   arena_printf(r->a, "attachment; filename=\"plan-%lld.%s\"", (long long)id, ext));
    return 0;
}

/* CSV and xlsx: the plan is computed again from its stored input (and the CPU
 * verdicts of its result), which gives the same plan. */
static int
export_file(struct api_req *r, struct api_resp *w, const struct db_plan *pl, const char *fmt,
            err *e)
{
    json_t *input = defer_json(r, json_loads(pl->input ? pl->input : "", 0, NULL));
    json_t *result = defer_json(r, json_loads(pl->result, 0, NULL));
    struct plan_prep *p = NULL;
    if (!input || !result)
        return err_set(e, ERR_INTERNAL, "the stored plan is not JSON");
    if (plan_exec_prepare(r->app, input, result, &p, e) < 0)
        return e->kind == ERR_INVALID ? err_set(e, ERR_CONFLICT,
                                                "The plan can no longer be "
                                                "computed: %s",
                                                e->detail)
                                      : -1;
    arena_defer(r->a, (void (*)(void *))plan_exec_prep_free, p);
    unsigned char *buf = NULL;
    size_t len = 0;
    const char *ctype = NULL;
    if (!defer_json(r, plan_exec_compute(r->app, p, e)) ||
        plan_exec_export(p, fmt, &buf, &len, &ctype, e) < 0)
        return -1;
    arena_defer(r->a, free, buf);
    return reply_file(r, w, buf, len, ctype, pl->id, fmt);
}

int
api_plans_export(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const params[] = {"format", NULL};
    int64_t id;
    bool bad = false;
    if (api_param_id(r, 0, &id, e) < 0 || only_params(r, params, e) < 0)
        return -1;
    const char *fmt = api_query(r, "format", &bad);
    fmt = fmt ? fmt : "json";
    if (bad || (strcmp(fmt, "json") && strcmp(fmt, "csv") && strcmp(fmt, "xlsx")))
        return err_set_field(e, "format", "format is json, csv or xlsx.");
    bool json = !strcmp(fmt, "json");
    struct db_plan pl;
    if (db_plan_get(r->app->db, id, !json, r->a, &pl, e) < 0)
        return -1;
    json_t *res = defer_json(r, pl.result ? json_loads(pl.result, 0, NULL) : NULL);
    if (!res || json_object_get(res, "error"))
        return err_set(e, ERR_CONFLICT, "The plan has no result to export (it is %s).",
                       db_plan_state_name(pl.state));
    if (json)
        return reply_file(r, w, pl.result, strlen(pl.result), "application/json", id, "json");
    return export_file(r, w, &pl, fmt, e);
}

/* ---------------------------------------------------------------- execute */

static int
exec_options(struct api_req *r, struct plan_exec_opts *o, err *e)
{
    static const char *const members[] = {"tunnelled", "unsafe", "bandwidth_mibs", NULL};
    *o = (struct plan_exec_opts){.tunnelled = true};
    if (r->body_len == 0)
        return 0;
    if (!media_is(api_header(r, "Content-Type"), "application/json"))
        return err_set(e, ERR_UNSUPPORTED_MEDIA, "The body, when given, is application/json.");
    json_t *j = defer_json(r, api_json_parse(r->body, r->body_len, e));
    json_t *bw = json_object_get(j, "bandwidth_mibs");
    int tun = -1, unsafe = -1;
    if (!j || !json_is_object(j))
        return j ? err_set(e, ERR_INVALID, "The body must be a JSON object.") : -1;
    if (only_members(j, members, NULL, e) < 0)
        return -1;
    r->json = j; /* for api_body_bool */
    if (api_body_bool(r, "tunnelled", &tun, e) < 0 || api_body_bool(r, "unsafe", &unsafe, e) < 0)
        return -1;
    if (bw &&
        (!json_is_integer(bw) || json_integer_value(bw) < 0 || json_integer_value(bw) > 1000000))
        return err_set_field(e, "bandwidth_mibs", "'bandwidth_mibs' is 0 to 1000000 (MiB/s).");
    o->tunnelled = tun != 0;
    o->unsafe = unsafe == 1;
    o->bandwidth_mibs = bw ? (uint64_t)json_integer_value(bw) : 0;
    return 0;
}

int
api_plans_execute(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id, tid = 0;
    struct plan_exec_opts o;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    const char *target = arena_printf(r->a, "plan/%lld", (long long)id);
    if (!api_can(r, PERM_HOST_ADMIN, 0)) {
        err_set(e, ERR_FORBIDDEN, "Executing a plan migrates VMs: it also needs host.admin.");
        api_audit_denied(r, "plan.execute", target, 0, e);
        return -1;
    }
    if (only_params(r, (const char *const[]){NULL}, e) < 0 || exec_options(r, &o, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "plan.execute", target, 0);
    a.details = json_pack("{s:I,s:b,s:b,s:I}", "plan_id", (json_int_t)id, "tunnelled", o.tunnelled,
                          "unsafe", o.unsafe, "bandwidth_mibs", (json_int_t)o.bandwidth_mibs);
    struct plan_exec_who who = who_of(r);
    int rc = plan_exec_start(r->app, id, &o, &who, &a, &tid, e);
    json_decref(a.details);
    return rc < 0 ? -1 : api_tasks_accepted(r, w, tid, e);
}
