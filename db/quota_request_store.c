/* quota_request_store: quota requests, decisions, grants and their expiry.
 * See quota_request.h. */
#include "quota_request.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoptr.h"
#include "db_internal.h"
#include "page_int.h"
#include "store_int.h"
#include "notify.h"

static const char *const state_names[DB_QREQ_STATE_COUNT] = {
    [DB_QREQ_PENDING] = "pending",     [DB_QREQ_APPROVED] = "approved", [DB_QREQ_DENIED] = "denied",
    [DB_QREQ_WITHDRAWN] = "withdrawn", [DB_QREQ_EXPIRED] = "expired",
};

const char *
db_quota_request_state_name(enum db_qreq_state s)
{
    return (unsigned)s < DB_QREQ_STATE_COUNT ? state_names[s] : "pending";
}

enum db_qreq_state
db_quota_request_state_find(const char *name)
{
    return (enum db_qreq_state)db_store_name_index(state_names, DB_QREQ_STATE_COUNT, name);
}

/* ---- amounts: stored as {"<quota column>": stored value} ---- */

static enum quota_res
res_by_column(const char *column)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        if (!strcmp(db_quota_res((enum quota_res)r)->column, column))
            return (enum quota_res)r;
    return QUOTA_RES_COUNT;
}

static void
amounts_parse(const char *text, struct db_qreq_amounts *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = text && *text ? json_loads(text, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        enum quota_res r = res_by_column(key);
        if (r != QUOTA_RES_COUNT && json_is_integer(v))
            out->v[r] = json_integer_value(v);
    }
    json_decref(j);
}

static bool
amounts_any(const struct db_qreq_amounts *a)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        if (a->v[r])
            return true;
    return false;
}

/* Text for the database (malloc'd): the non-zero amounts. */
static char *
amounts_text(const struct db_qreq_amounts *a)
{
    json_t *j = json_object();
    for (int r = 0; j && r < QUOTA_RES_COUNT; r++)
        if (a->v[r])
            json_object_set_new(j, db_quota_res((enum quota_res)r)->column, json_integer(a->v[r]));
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return t;
}

/* API units (new reference): {"vcpus": 8, "cpu_cores": 0.5}, non-zero only. */
static json_t *
amounts_json(const struct db_qreq_amounts *a)
{
    struct quota_limits l;
    for (int r = 0; r < QUOTA_RES_COUNT; r++)
        l.v[r] = a->v[r] ? a->v[r] : QUOTA_UNLIMITED;
    return db_quota_limits_json(&l);
}

/* "vcpus +8, cpu_cores +0.5" into buf (sign '+' or '-'). */
static void
amounts_sentence(const struct db_qreq_amounts *a, char sign, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int r = 0; r < QUOTA_RES_COUNT && used < n; r++) {
        if (!a->v[r])
            continue;
        const struct quota_res_info *ri = db_quota_res((enum quota_res)r);
        used += (size_t)snprintf(buf + used, n - used, "%s%s %c%g", used ? ", " : "", ri->name,
                                 sign, (double)a->v[r] / ri->scale);
    }
    if (!used)
        snprintf(buf, n, "nothing");
}

/* ---- limits, usage and capacity on one connection ---- */

static int
limits_read(db_conn *c, int64_t tenant_id, struct quota_limits *out, err *e)
{
    db_quota_limits_unlimited(out);
    DB_STMT s = db_conn_stmt(c, "SELECT resource, limit_value FROM quota WHERE tenant_id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum quota_res r = res_by_column(db_store_text(s, 0));
        if (r != QUOTA_RES_COUNT)
            out->v[r] = sqlite3_column_int64(s, 1);
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Writes the limits of the resources whose value differs from `before`. A
 * resource never becomes unlimited here (grants only move set limits). */
static int
limits_write(db_conn *c, int64_t tenant_id, const struct quota_limits *before,
             const struct quota_limits *after, const char *now, err *e)
{
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        if (after->v[r] == before->v[r] || after->v[r] == QUOTA_UNLIMITED)
            continue;
        DB_STMT s = db_conn_stmt(c,
                                 "INSERT INTO quota(tenant_id, resource, limit_value, updated_at) "
                                 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(tenant_id, resource) DO "
                                 "UPDATE SET limit_value = excluded.limit_value, "
                                 "updated_at = excluded.updated_at",
                                 e);
        if (!s)
            return -1;
        sqlite3_bind_int64(s, 1, tenant_id);
        sqlite3_bind_text(s, 2, db_quota_res((enum quota_res)r)->column, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, after->v[r]);
        sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
        if (db_store_done(s, e) < 0)
            return -1;
    }
    return 0;
}

/* The same sums as db/quota_store.c's usage (defined VMs; positive parts of
 * pending reservations), read on the given connection so that a decision
 * sees the state of its own transaction. */
static int
alloc_read(db_conn *c, int64_t tenant_id, struct quota_alloc *used, struct quota_alloc *reserved,
           err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT (SELECT count(*) FROM vm WHERE tenant_id = ?1), "
                             "(SELECT ifnull(sum(vcpus), 0) FROM vm WHERE tenant_id = ?1), "
                             "(SELECT ifnull(sum(memory_mib), 0) FROM vm WHERE tenant_id = ?1), "
                             "(SELECT ifnull(sum(disk_gib), 0) FROM vm WHERE tenant_id = ?1), "
                             "ifnull(sum(max(vms, 0)), 0), ifnull(sum(max(vcpus, 0)), 0), "
                             "ifnull(sum(max(memory_mib, 0)), 0), ifnull(sum(max(disk_gib, 0)), 0) "
                             "FROM quota_reservation WHERE tenant_id = ?1",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, tenant_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    for (int r = 0; r < QUOTA_ALLOC_COUNT; r++) {
        used->v[r] = sqlite3_column_int64(s, r);
        reserved->v[r] = sqlite3_column_int64(s, QUOTA_ALLOC_COUNT + r);
    }
    return 0;
}

static int
cluster_read(db_conn *c, struct db_quota_cluster *out, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT (SELECT count(*) FROM host), (SELECT ifnull(sum(cores), 0) "
                             "FROM host), (SELECT ifnull(sum(memory_mib), 0) FROM host), "
                             "count(*), ifnull(sum(vcpus), 0), ifnull(sum(memory_mib), 0), "
                             "ifnull(sum(disk_gib), 0) FROM vm",
                             e);
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return db_sqlite_err(e, rc);
    int64_t *f[] = {&out->hosts, &out->cores,         &out->memory_mib, &out->vms,
                    &out->vcpus, &out->vm_memory_mib, &out->disk_gib};
    for (int i = 0; i < 7; i++)
        *f[i] = sqlite3_column_int64(s, i);
    return 0;
}

static int
tenant_must_exist(db_conn *c, int64_t tenant_id, err *e)
{
    bool yes = false;
    if (db_tenant_exists(c, tenant_id, &yes, e) < 0)
        return -1;
    return yes ? 0 : err_set(e, ERR_NOT_FOUND, "No such tenant.");
}

static json_t *
usage_json(const struct quota_limits *l, const struct quota_alloc *used,
           const struct quota_alloc *reserved)
{
    json_t *j = json_object();
    for (int r = 0; j && r < QUOTA_ALLOC_COUNT; r++)
        json_object_set_new(
            j, db_quota_res((enum quota_res)r)->name,
            json_pack("{s:o,s:I,s:I}", "limit",
                      l->v[r] == QUOTA_UNLIMITED ? json_null() : json_integer(l->v[r]), "used",
                      (json_int_t)used->v[r], "reserved", (json_int_t)reserved->v[r]));
    return j;
}

static json_t *
cluster_json(const struct db_quota_cluster *k)
{
    return json_pack("{s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "hosts", (json_int_t)k->hosts, "cores",
                     (json_int_t)k->cores, "memory_mib", (json_int_t)k->memory_mib, "allocated",
                     "vms", (json_int_t)k->vms, "vcpus", (json_int_t)k->vcpus, "memory_mib",
                     (json_int_t)k->vm_memory_mib, "disk_gib", (json_int_t)k->disk_gib);
}

/* The decision context of tenant_id on c (see db_quota_request_context). */
static json_t *
context_read(db_conn *c, int64_t tenant_id, err *e)
{
    struct quota_limits l;
    struct quota_alloc used = {{0}}, reserved = {{0}};
    struct db_quota_cluster k;
    struct quota_refusal over = {.tenant_id = tenant_id};
    if (tenant_must_exist(c, tenant_id, e) < 0 || limits_read(c, tenant_id, &l, e) < 0 ||
        alloc_read(c, tenant_id, &used, &reserved, e) < 0 || cluster_read(c, &k, e) < 0)
        return NULL;
    db_quota_over(&l, &used, &over);
    json_t *j =
        json_pack("{s:I,s:o,s:o,s:o,s:o}", "tenant_id", (json_int_t)tenant_id, "usage",
                  usage_json(&l, &used, &reserved), "limits", db_quota_limits_json(&l),
                  "over_quota", db_quota_violations_json(&over), "cluster", cluster_json(&k));
    if (!j)
        err_set(e, ERR_INTERNAL, "out of memory");
    return j;
}

json_t *
db_quota_request_context(db *d, int64_t tenant_id, err *e)
{
    db_conn *c = db_reader(d, e);
    if (!c || db_conn_exec(c, "BEGIN", e) < 0)
        return NULL;
    json_t *j = context_read(c, tenant_id, e);
    sqlite3_exec(db_conn_sqlite(c), "COMMIT", NULL, NULL, NULL);
    return j;
}

/* ---- reads ---- */

#define QREQ_COLUMNS                                                                               \
    "SELECT r.id, r.tenant_id, r.state, r.deltas, ifnull(r.targets, ''), r.justification, "        \
    "ifnull(r.ends_at, ''), ifnull(r.requested_by, 0), r.requested_login, "                        \
    "ifnull(r.decided_by, 0), ifnull(r.decided_login, ''), ifnull(r.reason, ''), "                 \
    "ifnull(r.granted, ''), ifnull(r.applied, ''), ifnull(r.grant_expires_at, ''), "               \
    "ifnull(r.reverted, ''), ifnull(r.reverted_at, ''), ifnull(r.decision_context, ''), "          \
    "r.created_at, ifnull(r.decided_at, ''), t.slug FROM quota_request r "                         \
    "JOIN tenant t ON t.id = r.tenant_id "

static int
qreq_row(sqlite3_stmt *s, db_quota_request_row_fn fn, void *arg, err *e)
{
    struct db_quota_request q = {.id = sqlite3_column_int64(s, 0),
                                 .tenant_id = sqlite3_column_int64(s, 1),
                                 .state = db_quota_request_state_find(db_store_text(s, 2)),
                                 .by_target = *db_store_text(s, 4) != '\0',
                                 .justification = db_store_text(s, 5),
                                 .ends_at = db_store_text(s, 6),
                                 .requested_by = sqlite3_column_int64(s, 7),
                                 .requested_login = db_store_text(s, 8),
                                 .decided_by = sqlite3_column_int64(s, 9),
                                 .decided_login = db_store_text(s, 10),
                                 .reason = db_store_text(s, 11),
                                 .has_grant = *db_store_text(s, 12) != '\0',
                                 .grant_expires_at = db_store_text(s, 14),
                                 .reverted_at = db_store_text(s, 16),
                                 .decision_context = db_store_text(s, 17),
                                 .created_at = db_store_text(s, 18),
                                 .decided_at = db_store_text(s, 19),
                                 .tenant_slug = db_store_text(s, 20)};
    if (q.state == DB_QREQ_STATE_COUNT)
        q.state = DB_QREQ_PENDING;
    amounts_parse(db_store_text(s, 3), &q.deltas);
    amounts_parse(db_store_text(s, 4), &q.targets);
    amounts_parse(db_store_text(s, 12), &q.granted);
    amounts_parse(db_store_text(s, 13), &q.applied);
    amounts_parse(db_store_text(s, 15), &q.reverted);
    return fn(arg, &q, e);
}

int
db_quota_request_get(db *d, int64_t id, db_quota_request_row_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s =
        c ? db_store_get(c, QREQ_COLUMNS "WHERE r.id = ?1", id, e, "No such quota request.") : NULL;
    if (!s)
        return -1;
    return qreq_row(s, fn, arg, e);
}

int
db_quota_request_list(db *d, struct db_quota_request_filter *f, db_quota_request_row_fn fn,
                      void *arg, err *e)
{
    f->more = false;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 QREQ_COLUMNS
                                 "WHERE (?1 IS NULL OR r.state = ?1) AND (?2 = 0 OR "
                                 "r.tenant_id = ?2) AND (?3 IS NULL OR r.tenant_id IN "
                                 "(SELECT value FROM json_each(?3))) AND (?4 = 0 OR r.id < ?4) "
                                 "ORDER BY r.id DESC LIMIT ?5",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    if (f->state >= 0)
        sqlite3_bind_text(s, 1, db_quota_request_state_name(f->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, f->tenant_id);
    sqlite3_bind_text(s, 3, f->visible, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, f->before_id);
    sqlite3_bind_int(s, 5, f->limit + 1);
    int rc, n = 0;
    while ((rc = db_page_next(s, f->limit, &n, &f->more, e)) > 0) {
        if (qreq_row(s, fn, arg, e) < 0)
            return -1;
    }
    return rc;
}

/* ---- what a change needs to know of a request ---- */

struct qrow {
    int64_t id, tenant_id, requested_by;
    enum db_qreq_state state;
    struct db_qreq_amounts deltas, applied;
    char ends_at[32], grant_expires_at[32];
    char slug[DB_SLUG_MAX + 1];
};

static int
qrow_load(db_conn *c, int64_t id, struct qrow *q, err *e)
{
    DB_STMT s = db_store_get(c,
                             "SELECT r.tenant_id, r.state, ifnull(r.requested_by, 0), r.deltas, "
                             "ifnull(r.applied, ''), ifnull(r.ends_at, ''), "
                             "ifnull(r.grant_expires_at, ''), t.slug FROM quota_request r "
                             "JOIN tenant t ON t.id = r.tenant_id WHERE r.id = ?1",
                             id, e, "No such quota request.");
    if (!s)
        return -1;
    q->id = id;
    q->tenant_id = sqlite3_column_int64(s, 0);
    q->state = db_quota_request_state_find(db_store_text(s, 1));
    q->requested_by = sqlite3_column_int64(s, 2);
    amounts_parse(db_store_text(s, 3), &q->deltas);
    amounts_parse(db_store_text(s, 4), &q->applied);
    snprintf(q->ends_at, sizeof(q->ends_at), "%s", db_store_text(s, 5));
    snprintf(q->grant_expires_at, sizeof(q->grant_expires_at), "%s", db_store_text(s, 6));
    snprintf(q->slug, sizeof(q->slug), "%s", db_store_text(s, 7));
    return 0;
}

static int
not_pending(err *e, const struct qrow *q)
{
    return err_set(e, ERR_CONFLICT, "The quota request is already %s.",
                   db_quota_request_state_name(q->state));
}

/* The body of a notification / webhook about request q (new reference). */
static json_t *
event_body(const struct qrow *q, const char *state, const char *message)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:o}", "request_id", (json_int_t)q->id, "tenant_id",
                     (json_int_t)q->tenant_id, "tenant", q->slug, "state", state, "message",
                     message, "link", json_sprintf("/api/v1/quota-requests/%" PRId64, q->id));
}

static int
emit(db_conn *c, enum notify_event ev, const struct qrow *q, unsigned to, int64_t except,
     json_t *body, const char *now, err *e)
{
    if (!body)
        return err_set(e, ERR_INTERNAL, "out of memory");
    struct db_notify_event n = {ev, q->tenant_id, to, q->requested_by, except, body, now};
    int rc = db_notify_emit_in(c, &n, e);
    json_decref(body);
    return rc;
}

/* ---- create ---- */

struct create_job {
    const struct db_quota_request_new *req;
    struct db_qreq_amounts deltas;
    int64_t id;
    char target[48];
    json_t *details; /* owned */
};

/* Checks each amount against the tenant's limits now; fills j->deltas. */
static int
create_deltas(db_conn *c, struct create_job *j, err *e)
{
    const struct db_quota_request_new *q = j->req;
    struct quota_limits l;
    if (tenant_must_exist(c, q->tenant_id, e) < 0 || limits_read(c, q->tenant_id, &l, e) < 0)
        return -1;
    const char *group = q->by_target ? "targets" : "deltas";
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        int64_t v = q->amounts.v[r];
        const struct quota_res_info *ri = db_quota_res((enum quota_res)r);
        char field[64];
        snprintf(field, sizeof(field), "%s.%s", group, ri->name);
        if (v <= 0)
            continue;
        if (l.v[r] == QUOTA_UNLIMITED)
            return err_set_field(e, field, "'%s' has no limit: there is nothing to raise.",
                                 ri->name);
        if (q->by_target && v <= l.v[r])
            return err_set_field(e, field, "The target for '%s' must be above its limit of %g.",
                                 ri->name, (double)l.v[r] / ri->scale);
        j->deltas.v[r] = q->by_target ? v - l.v[r] : v;
        if (l.v[r] + j->deltas.v[r] > ri->max)
            return err_set_field(e, field, "'%s' would exceed its maximum of %g.", ri->name,
                                 (double)ri->max / ri->scale);
    }
    return 0;
}

static int
create_insert(db_conn *c, struct create_job *j, err *e)
{
    const struct db_quota_request_new *q = j->req;
    AUTOFREE char *deltas = amounts_text(&j->deltas);
    AUTOFREE char *targets = q->by_target ? amounts_text(&q->amounts) : NULL;
    if (!deltas || (q->by_target && !targets))
        return err_set(e, ERR_INTERNAL, "out of memory");
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO quota_request(tenant_id, deltas, targets, justification, "
                             "ends_at, state, requested_by, requested_login, created_at) VALUES "
                             "(?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, q->tenant_id);
    sqlite3_bind_text(s, 2, deltas, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, targets, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, q->justification, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, q->ends_at, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, q->requested_by);
    sqlite3_bind_text(s, 7, q->requested_login ? q->requested_login : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, q->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    return 0;
}

static int
apply_create(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct create_job *j = arg;
    const struct db_quota_request_new *q = j->req;
    struct qrow row;
    if (create_deltas(c, j, e) < 0 || create_insert(c, j, e) < 0 || qrow_load(c, j->id, &row, e))
        return -1;
    char what[300], msg[600];
    amounts_sentence(&j->deltas, '+', what, sizeof(what));
    snprintf(msg, sizeof(msg), "%s asks for more quota for tenant %s: %s.",
             q->requested_login ? q->requested_login : "A user", row.slug, what);
    json_t *body = event_body(&row, "pending", msg);
    json_object_set_new(body, "deltas", amounts_json(&j->deltas));
    if (emit(c, NOTIFY_QREQ_CREATED, &row, NOTIFY_TO_APPROVERS, q->requested_by, body, q->now, e))
        return -1;
    j->details = json_pack("{s:I,s:o,s:o,s:o,s:s}", "request_id", (json_int_t)j->id, "deltas",
                           amounts_json(&j->deltas), "targets",
                           q->by_target ? amounts_json(&q->amounts) : json_null(), "ends_at",
                           q->ends_at ? json_string(q->ends_at) : json_null(), "justification",
                           q->justification);
    if (!j->details)
        return err_set(e, ERR_INTERNAL, "out of memory");
    snprintf(j->target, sizeof(j->target), "quota-request/%" PRId64, j->id);
    a->target = j->target;
    a->details = j->details;
    return 0;
}

int
db_quota_request_create(db *d, const struct db_quota_request_new *req, struct db_audit *a,
                        int64_t *id_out, err *e)
{
    if (!amounts_any(&req->amounts))
        return err_set_field(e, "deltas", "Ask for at least one resource.");
    struct create_job j = {.req = req};
    int rc = db_mutate(d, apply_create, &j, a, e);
    a->target = NULL;
    a->details = NULL;
    json_decref(j.details);
    if (rc == 0)
        *id_out = j.id;
    return rc;
}

/* ---- withdraw ---- */

struct withdraw_job {
    int64_t id, user_id;
    const char *now;
    char target[48];
};

static int
apply_withdraw(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct withdraw_job *j = arg;
    struct qrow q;
    if (qrow_load(c, j->id, &q, e) < 0)
        return -1;
    if (q.requested_by != j->user_id)
        return err_set(e, ERR_FORBIDDEN, "Only the requester may withdraw a quota request.");
    if (q.state != DB_QREQ_PENDING)
        return not_pending(e, &q);
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE quota_request SET state = 'withdrawn', decided_at = ?2 "
                             "WHERE id = ?1 AND state = 'pending'",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    char msg[120];
    snprintf(msg, sizeof(msg), "Quota request #%" PRId64 " was withdrawn by its requester.", j->id);
    a->target = j->target;
    /* told to nobody in the app (the approvers' queue just shrinks); webhooks hear it */
    return emit(c, NOTIFY_QREQ_WITHDRAWN, &q, 0, 0, event_body(&q, "withdrawn", msg), j->now, e);
}

int
db_quota_request_withdraw(db *d, int64_t id, int64_t user_id, const char *now, struct db_audit *a,
                          err *e)
{
    struct withdraw_job j = {id, user_id, now, ""};
    snprintf(j.target, sizeof(j.target), "quota-request/%" PRId64, id);
    int rc = db_mutate(d, apply_withdraw, &j, a, e);
    a->target = NULL;
    return rc;
}

/* ---- decide ---- */

struct decide_job {
    struct db_quota_decision *dec;
    struct qrow q;
    struct db_qreq_amounts grant;
    const char *expires; /* NULL = permanent */
    struct quota_limits before, after;
    json_t *context; /* owned */
    json_t *details; /* owned */
    char target[48];
};

/* Who may decide: never the requester; a user must hold quota.approve for
 * the tenant at this moment (rights re-read in the transaction). */
static int
decide_allowed(db_conn *c, const struct decide_job *j, err *e)
{
    const struct db_quota_decision *dec = j->dec;
    if (!dec->actor.user_id)
        return 0; /* the policy */
    if (dec->actor.user_id == j->q.requested_by)
        return err_set(e, ERR_FORBIDDEN, "You may not decide your own quota request.");
    perm_set eff = 0;
    if (db_actor_effective(c, &dec->actor, j->q.tenant_id, &eff, e) < 0)
        return -1;
    if (!perm_set_has(eff, PERM_QUOTA_APPROVE))
        return err_set(e, ERR_FORBIDDEN, "You may not do this (needs quota.approve).");
    return 0;
}

/* The grant: all that was asked, or a part of it. */
static int
decide_grant(struct decide_job *j, err *e)
{
    const struct db_quota_decision *dec = j->dec;
    if (!dec->has_grant) {
        j->grant = j->q.deltas;
        return 0;
    }
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        int64_t g = dec->grant.v[r], asked = j->q.deltas.v[r];
        const char *name = db_quota_res((enum quota_res)r)->name;
        char field[64];
        snprintf(field, sizeof(field), "resources.%s", name);
        if (g > 0 && asked == 0)
            return err_set_field(e, field, "'%s' was not requested.", name);
        if (g < 0 || g > asked)
            return err_set_field(e, field, "'%s' must be between 0 and the %g requested.", name,
                                 (double)asked / db_quota_res((enum quota_res)r)->scale);
        j->grant.v[r] = g;
    }
    if (!amounts_any(&j->grant))
        return err_set_field(e, "resources", "The grant is empty: deny the request instead.");
    return 0;
}

/* New limits: each granted resource up by the grant (up to its maximum); a
 * resource without a limit stays without (nothing to add). */
static void
decide_limits(struct decide_job *j)
{
    j->after = j->before;
    memset(&j->dec->applied, 0, sizeof(j->dec->applied));
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        int64_t lim = j->before.v[r], g = j->grant.v[r], max = db_quota_res((enum quota_res)r)->max;
        if (!g || lim == QUOTA_UNLIMITED)
            continue;
        j->after.v[r] = lim + g > max ? max : lim + g;
        j->dec->applied.v[r] = j->after.v[r] - lim;
        if (j->dec->applied.v[r] && r >= QUOTA_ALLOC_COUNT)
            j->dec->runtime_changed = true;
    }
}

static int
decide_update(db_conn *c, struct decide_job *j, err *e)
{
    const struct db_quota_decision *dec = j->dec;
    AUTOFREE char *granted = dec->approve ? amounts_text(&j->grant) : NULL;
    AUTOFREE char *applied = dec->approve ? amounts_text(&dec->applied) : NULL;
    AUTOFREE char *context = json_dumps(j->context, JSON_COMPACT);
    if (!context || (dec->approve && (!granted || !applied)))
        return err_set(e, ERR_INTERNAL, "out of memory");
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE quota_request SET state = ?2, decided_by = nullif(?3, 0), "
                             "decided_login = ?4, reason = ?5, granted = ?6, applied = ?7, "
                             "grant_expires_at = ?8, decision_context = ?9, decided_at = ?10 "
                             "WHERE id = ?1 AND state = 'pending'",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->q.id);
    sqlite3_bind_text(s, 2, dec->approve ? "approved" : "denied", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, dec->actor.user_id);
    sqlite3_bind_text(s, 4, dec->actor_login, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, dec->comment, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, granted, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, applied, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, dec->approve ? j->expires : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, context, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, dec->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    /* the state was checked in this transaction; a miss here is a bug */
    return sqlite3_changes(db_conn_sqlite(c)) ? 0 : not_pending(e, &j->q);
}

static int
decide_notify(db_conn *c, struct decide_job *j, err *e)
{
    const struct db_quota_decision *dec = j->dec;
    char what[300], msg[500];
    amounts_sentence(&j->grant, '+', what, sizeof(what));
    if (dec->approve)
        snprintf(msg, sizeof(msg), "Quota request #%" PRId64 " was approved by %s: %s%s%s.",
                 j->q.id, dec->actor_login, what, j->expires ? " until " : "",
                 j->expires ? j->expires : "");
    else /* the reason goes whole in its own member (a cut could split a character) */
        snprintf(msg, sizeof(msg), "Quota request #%" PRId64 " was denied by %s.", j->q.id,
                 dec->actor_login);
    json_t *body = event_body(&j->q, dec->approve ? "approved" : "denied", msg);
    json_object_set_new(body, "decided_by", json_string(dec->actor_login));
    if (dec->approve) {
        json_object_set_new(body, "granted", amounts_json(&j->grant));
        json_object_set_new(body, "expires_at", j->expires ? json_string(j->expires) : json_null());
    } else {
        json_object_set_new(body, "reason", json_string(dec->comment ? dec->comment : ""));
    }
    return emit(c, dec->approve ? NOTIFY_QREQ_APPROVED : NOTIFY_QREQ_DENIED, &j->q,
                NOTIFY_TO_USER | NOTIFY_TO_TENANT_ADMINS, dec->actor.user_id, body, dec->now, e);
}

static int
decide_details(struct decide_job *j, struct db_audit *a, err *e)
{
    const struct db_quota_decision *dec = j->dec;
    j->details = json_pack("{s:I,s:s,s:O}", "request_id", (json_int_t)j->q.id, "comment",
                           dec->comment ? dec->comment : "", "context", j->context);
    if (j->details && dec->approve) {
        json_object_set_new(j->details, "granted", amounts_json(&j->grant));
        json_object_set_new(j->details, "applied", amounts_json(&dec->applied));
        json_object_set_new(j->details, "before", db_quota_limits_json(&j->before));
        json_object_set_new(j->details, "after", db_quota_limits_json(&j->after));
        json_object_set_new(j->details, "expires_at",
                            j->expires ? json_string(j->expires) : json_null());
    }
    if (!j->details)
        return err_set(e, ERR_INTERNAL, "out of memory");
    snprintf(j->target, sizeof(j->target), "quota-request/%" PRId64, j->q.id);
    a->target = j->target;
    a->tenant_id = j->q.tenant_id;
    a->details = j->details;
    return 0;
}

/* The decision, on the writer inside its transaction. */
static int
decide_in(db_conn *c, struct decide_job *j, struct db_audit *a, err *e)
{
    struct db_quota_decision *dec = j->dec;
    if (qrow_load(c, dec->id, &j->q, e) < 0)
        return -1;
    if (j->q.state != DB_QREQ_PENDING)
        return not_pending(e, &j->q);
    if (decide_allowed(c, j, e) < 0)
        return -1;
    if (!(j->context = context_read(c, j->q.tenant_id, e)))
        return -1;
    if (dec->approve) {
        j->expires = dec->keep_ends_at ? (j->q.ends_at[0] ? j->q.ends_at : NULL) : dec->expires_at;
        if (decide_grant(j, e) < 0 || limits_read(c, j->q.tenant_id, &j->before, e) < 0)
            return -1;
        decide_limits(j);
        if (limits_write(c, j->q.tenant_id, &j->before, &j->after, dec->now, e) < 0)
            return -1;
    }
    if (decide_update(c, j, e) < 0 || decide_notify(c, j, e) < 0)
        return -1;
    return decide_details(j, a, e);
}

static int
apply_decide(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    return decide_in(c, arg, a, e);
}

int
db_quota_request_decide(db *d, struct db_quota_decision *dec, struct db_audit *a, err *e)
{
    struct decide_job j = {.dec = dec};
    dec->runtime_changed = false;
    int rc = db_mutate(d, apply_decide, &j, a, e);
    a->target = NULL;
    a->details = NULL;
    json_decref(j.context);
    json_decref(j.details);
    return rc;
}

/* ---- expiry ---- */

struct expire_job {
    int64_t id;
    const char *now;
    struct qrow q;
    struct quota_limits before, after;
    struct db_qreq_amounts reverted;
    struct quota_refusal over;
    bool runtime_changed;
    json_t *details; /* owned */
    char target[48];
};

/* Each limit down by what the grant added; never below the resource's
 * minimum, a resource without a limit stays without. */
static void
expire_limits(struct expire_job *j)
{
    j->after = j->before;
    for (int r = 0; r < QUOTA_RES_COUNT; r++) {
        int64_t lim = j->before.v[r], add = j->q.applied.v[r];
        int64_t min = db_quota_res((enum quota_res)r)->min;
        if (!add || lim == QUOTA_UNLIMITED)
            continue;
        int64_t v = lim - add;
        j->after.v[r] = v < min ? (lim < min ? lim : min) : v;
        j->reverted.v[r] = lim - j->after.v[r];
        if (j->reverted.v[r] && r >= QUOTA_ALLOC_COUNT)
            j->runtime_changed = true;
    }
}

static int
expire_update(db_conn *c, struct expire_job *j, err *e)
{
    AUTOFREE char *reverted = amounts_text(&j->reverted);
    if (!reverted)
        return err_set(e, ERR_INTERNAL, "out of memory");
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE quota_request SET state = 'expired', reverted = ?2, "
                             "reverted_at = ?3 WHERE id = ?1 AND state = 'approved'",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, reverted, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->now, -1, SQLITE_STATIC);
    return db_store_done(s, e);
}

static int
expire_notify(db_conn *c, struct expire_job *j, err *e)
{
    char what[300], msg[600];
    amounts_sentence(&j->reverted, '-', what, sizeof(what));
    int n = snprintf(msg, sizeof(msg), "The grant of quota request #%" PRId64 " ended: %s.", j->id,
                     what);
    if (j->over.n && n > 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n,
                 " Tenant %s now uses more than its quota: nothing is stopped, but new VMs and "
                 "resizes are refused until usage fits.",
                 j->q.slug);
    json_t *body = event_body(&j->q, "expired", msg);
    json_object_set_new(body, "reverted", amounts_json(&j->reverted));
    json_object_set_new(body, "over_quota", db_quota_violations_json(&j->over));
    unsigned to = NOTIFY_TO_USER | NOTIFY_TO_TENANT_ADMINS | (j->over.n ? NOTIFY_TO_APPROVERS : 0);
    return emit(c, NOTIFY_GRANT_EXPIRED, &j->q, to, 0, body, j->now, e);
}

static int
apply_expire(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct expire_job *j = arg;
    struct quota_alloc used = {{0}}, reserved = {{0}};
    if (qrow_load(c, j->id, &j->q, e) < 0)
        return -1;
    if (j->q.state != DB_QREQ_APPROVED || !j->q.grant_expires_at[0] ||
        strcmp(j->q.grant_expires_at, j->now) > 0)
        return err_set(e, ERR_CONFLICT, "The grant is not due.");
    if (limits_read(c, j->q.tenant_id, &j->before, e) < 0)
        return -1;
    expire_limits(j);
    if (limits_write(c, j->q.tenant_id, &j->before, &j->after, j->now, e) < 0 ||
        alloc_read(c, j->q.tenant_id, &used, &reserved, e) < 0)
        return -1;
    j->over.tenant_id = j->q.tenant_id;
    db_quota_over(&j->after, &used, &j->over);
    if (expire_update(c, j, e) < 0 || expire_notify(c, j, e) < 0)
        return -1;
    j->details = json_pack(
        "{s:I,s:s,s:o,s:o,s:o,s:o,s:o}", "request_id", (json_int_t)j->id, "expired_at",
        j->q.grant_expires_at, "applied", amounts_json(&j->q.applied), "reverted",
        amounts_json(&j->reverted), "before", db_quota_limits_json(&j->before), "after",
        db_quota_limits_json(&j->after), "over_quota", db_quota_violations_json(&j->over));
    if (!j->details)
        return err_set(e, ERR_INTERNAL, "out of memory");
    a->tenant_id = j->q.tenant_id;
    a->details = j->details;
    return 0;
}

enum { EXPIRE_BATCH = 256 };

static int
due_ids(db *d, const char *now, int64_t *ids, size_t *n, err *e)
{
    *n = 0;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id FROM quota_request WHERE state = 'approved' AND "
                                 "grant_expires_at IS NOT NULL AND grant_expires_at <= ?1 "
                                 "ORDER BY grant_expires_at, id LIMIT ?2",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, EXPIRE_BATCH);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

/* Reverts one grant; *runtime_tenant is its tenant when runtime limits
 * moved, else 0. 1 when it was not due any more, 0 done, -1 error. */
static int
expire_one(db *d, int64_t id, const char *now, int64_t *runtime_tenant, err *e)
{
    struct expire_job j = {.id = id, .now = now};
    snprintf(j.target, sizeof(j.target), "quota-request/%" PRId64, id);
    struct db_audit a = {
        .actor = "system", .action = "quota_request.expire", .target = j.target, .outcome = "ok"};
    err le = {0};
    int rc = db_mutate(d, apply_expire, &j, &a, &le);
    json_decref(j.details);
    *runtime_tenant = rc == 0 && j.runtime_changed ? j.q.tenant_id : 0;
    if (rc < 0 && (le.kind == ERR_CONFLICT || le.kind == ERR_NOT_FOUND))
        return 1; /* decided or deleted meanwhile */
    if (rc < 0 && e)
        *e = le;
    return rc;
}

int
db_quota_request_expire_due(db *d, const char *now, int *expired, int64_t **runtime_tenants,
                            size_t *nruntime, err *e)
{
    int64_t ids[EXPIRE_BATCH];
    size_t n = 0, nrt = 0;
    if (expired)
        *expired = 0;
    if (runtime_tenants)
        *runtime_tenants = NULL;
    if (nruntime)
        *nruntime = 0;
    if (due_ids(d, now, ids, &n, e) < 0)
        return -1;
    AUTOFREE int64_t *rt = n ? calloc(n, sizeof(*rt)) : NULL;
    if (n && !rt)
        return err_set(e, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t tenant = 0;
        int rc = expire_one(d, ids[i], now, &tenant, e);
        if (rc < 0)
            return -1;
        if (rc == 0 && expired)
            (*expired)++;
        if (tenant)
            rt[nrt++] = tenant;
    }
    if (runtime_tenants && nrt) {
        *runtime_tenants = STEAL(rt);
        *nruntime = nrt;
    }
    return 0;
}

/* ---- policy ---- */

bool
db_quota_policy_enabled(const struct db_quota_policy *p)
{
    return p && (p->max_vms > 0 || p->max_vcpus > 0 || p->max_memory_pct > 0);
}

static bool
policy_resource(const struct db_quota_policy *p, enum quota_res r, int64_t d, int64_t limit,
                const struct db_quota_cluster *k, const char **why)
{
    switch (r) {
    case QUOTA_VMS:
        *why = "more VMs than the policy approves";
        return p->max_vms > 0 && d <= p->max_vms;
    case QUOTA_VCPUS:
        *why = "more vCPUs than the policy approves, or the cluster has no CPU room";
        return p->max_vcpus > 0 && d <= p->max_vcpus &&
               k->vcpus + d <=
                   k->cores * (p->cpu_overcommit_pct > 0 ? p->cpu_overcommit_pct : 100) / 100;
    case QUOTA_MEMORY_MIB:
        *why = "more memory than the policy approves, or the cluster has no memory room";
        return p->max_memory_pct > 0 && limit != QUOTA_UNLIMITED &&
               d * 100 <= limit * p->max_memory_pct && k->vm_memory_mib + d <= k->memory_mib;
    default:
        *why = "a resource the policy never approves";
        return false;
    }
}

bool
db_quota_policy_allows(const struct db_quota_policy *p, const struct db_qreq_amounts *deltas,
                       const struct quota_limits *limits, const struct db_quota_cluster *cluster,
                       const char **why)
{
    const char *w = "no automatic approval rule is set";
    bool ok = db_quota_policy_enabled(p) && amounts_any(deltas);
    for (int r = 0; ok && r < QUOTA_RES_COUNT; r++)
        if (deltas->v[r])
            ok = policy_resource(p, (enum quota_res)r, deltas->v[r], limits->v[r], cluster, &w);
    if (!ok && why)
        *why = w;
    return ok;
}

/* The policy's verdict on request id, read on c. */
static int
policy_check(db_conn *c, int64_t id, const struct db_quota_policy *p, bool *ok, err *e)
{
    struct qrow q;
    struct quota_limits l;
    struct db_quota_cluster k;
    if (qrow_load(c, id, &q, e) < 0 || limits_read(c, q.tenant_id, &l, e) < 0 ||
        cluster_read(c, &k, e) < 0)
        return -1;
    *ok = q.state == DB_QREQ_PENDING && db_quota_policy_allows(p, &q.deltas, &l, &k, NULL);
    return 0;
}

struct auto_job {
    const struct db_quota_policy *p;
    struct decide_job dj;
};

static int
apply_auto(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct auto_job *j = arg;
    bool ok = false;
    if (policy_check(c, j->dj.dec->id, j->p, &ok, e) < 0)
        return -1;
    if (!ok) /* things changed since the first look: leave it to a person */
        return err_set(e, ERR_CONFLICT, "The policy no longer applies.");
    return decide_in(c, &j->dj, a, e);
}

int
db_quota_request_auto(db *d, int64_t id, const struct db_quota_policy *p, const char *now,
                      struct db_audit *a, bool *approved, struct db_quota_decision *dec_out, err *e)
{
    *approved = false;
    bool ok = false;
    db_conn *c = db_reader(d, e);
    if (!db_quota_policy_enabled(p))
        return 0;
    if (!c || policy_check(c, id, p, &ok, e) < 0)
        return -1;
    if (!ok)
        return 0;
    struct db_quota_decision dec = {.id = id,
                                    .approve = true,
                                    .actor_login = "policy",
                                    .keep_ends_at = true,
                                    .comment = "Approved automatically by the quota policy.",
                                    .now = now};
    struct auto_job j = {.p = p, .dj = {.dec = &dec}};
    struct db_audit pa = *a; /* the request that triggered it, acting as the policy */
    pa.actor = "policy", pa.user_id = 0, pa.token_id = NULL, pa.action = "quota_request.approve";
    err le = {0};
    int rc = db_mutate(d, apply_auto, &j, &pa, &le);
    json_decref(j.dj.context);
    json_decref(j.dj.details);
    if (rc < 0 && le.kind == ERR_CONFLICT)
        return 0;
    if (rc < 0 && e)
        *e = le;
    if (rc == 0) {
        *approved = true;
        if (dec_out)
            *dec_out = dec;
    }
    return rc;
}
