/* notify_store: notifications, webhooks and their outbox. See notify.h. */
#include "notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoptr.h"
#include "db_internal.h"
#include "page_int.h"
#include "store_int.h"
#include "identity.h"

static const char *const event_names[NOTIFY_EVENT_COUNT] = {
#define X(id, name) [NOTIFY_##id] = name,
    NOTIFY_EVENT_LIST(X)
#undef X
};

const char *
db_notify_event_name(enum notify_event ev)
{
    return (unsigned)ev < NOTIFY_EVENT_COUNT ? event_names[ev] : "invalid";
}

enum notify_event
db_notify_event_find(const char *name)
{
    return (enum notify_event)db_store_name_index(event_names, NOTIFY_EVENT_COUNT, name);
}

/* ---- emitting (inside a write transaction) ---- */

/* One row per recipient; UNION folds a user found by two audiences. */
static int
notifications_insert(db_conn *c, const struct db_notify_event *ev, const char *body, err *e)
{
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO notification(tenant_id, user_id, kind, body, created_at) "
        "SELECT nullif(?1, 0), uid, ?2, ?3, ?4 FROM ("
        " SELECT u.id AS uid FROM role_binding b JOIN role_permission p ON p.role_id = b.role_id"
        "  JOIN user u ON u.id = b.subject_id WHERE (?5 & 1) AND b.subject_kind = 'user'"
        "  AND u.disabled = 0 AND p.permission = 'quota.approve'"
        "  AND (b.tenant_id IS NULL OR b.tenant_id = ?1)"
        " UNION"
        " SELECT u.id FROM role_binding b JOIN role_permission p ON p.role_id = b.role_id"
        "  JOIN user u ON u.id = b.subject_id WHERE (?5 & 2) AND b.subject_kind = 'user'"
        "  AND u.disabled = 0 AND p.permission = 'user.admin' AND b.tenant_id = ?1"
        " UNION"
        " SELECT id FROM user WHERE (?5 & 4) AND id = ?6 AND disabled = 0"
        ") WHERE uid IS NOT nullif(?7, 0) ORDER BY uid",
        e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, ev->tenant_id);
    sqlite3_bind_text(s, 2, db_notify_event_name(ev->event), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, ev->now, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, (int)ev->to);
    sqlite3_bind_int64(s, 6, ev->user_id);
    sqlite3_bind_int64(s, 7, ev->except_user);
    return db_store_done(s, e);
}

/* The outbox: one delivery per active webhook subscribed to the event and
 * to its tenant. The payload is fixed now: retries send the same bytes. */
static int
deliveries_insert(db_conn *c, enum notify_event ev, int64_t tenant_id, int64_t only_webhook,
                  const char *payload, const char *now, err *e)
{
    DB_STMT s = db_conn_stmt(
        c,
        "INSERT INTO webhook_delivery(webhook_id, event, payload, next_attempt_at, created_at) "
        "SELECT id, ?1, ?2, ?3, ?3 FROM webhook WHERE (?5 <> 0 AND id = ?5) OR (?5 = 0 "
        " AND active = 1 AND (tenant_id IS NULL OR tenant_id = ?4)"
        " AND EXISTS (SELECT 1 FROM json_each(webhook.events) WHERE value = ?1))",
        e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, db_notify_event_name(ev), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, payload, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, tenant_id);
    sqlite3_bind_int64(s, 5, only_webhook);
    return db_store_done(s, e);
}

/* {"event", "occurred_at", "tenant_id", "data"} as compact text (malloc'd). */
static char *
payload_text(enum notify_event ev, int64_t tenant_id, json_t *data, const char *now)
{
    json_t *p =
        json_pack("{s:s,s:s,s:o,s:O}", "event", db_notify_event_name(ev), "occurred_at", now,
                  "tenant_id", tenant_id ? json_integer(tenant_id) : json_null(), "data", data);
    char *text = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(p);
    return text;
}

int
db_notify_emit_in(db_conn *c, const struct db_notify_event *ev, err *e)
{
    AUTOFREE char *body = json_dumps(ev->body, JSON_COMPACT | JSON_SORT_KEYS);
    AUTOFREE char *payload = payload_text(ev->event, ev->tenant_id, ev->body, ev->now);
    if (!body || !payload)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (ev->to && notifications_insert(c, ev, body, e) < 0)
        return -1;
    return deliveries_insert(c, ev->event, ev->tenant_id, 0, payload, ev->now, e);
}

/* ---- notifications ---- */

int
db_notify_list(db *d, int64_t user_id, bool unread_only, int64_t before_id, int limit,
               db_notification_row_fn fn, void *arg, bool *more, err *e)
{
    *more = false;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT id, kind, ifnull(tenant_id, 0), body, created_at, "
                                 "ifnull(read_at, '') FROM notification WHERE user_id = ?1 "
                                 "AND (?2 = 0 OR read_at IS NULL) AND (?3 = 0 OR id < ?3) "
                                 "ORDER BY id DESC LIMIT ?4",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int(s, 2, unread_only);
    sqlite3_bind_int64(s, 3, before_id);
    sqlite3_bind_int(s, 4, limit + 1);
    int rc, n = 0;
    while ((rc = db_page_next(s, limit, &n, more, e)) > 0) {
        struct db_notification row = {sqlite3_column_int64(s, 0), db_store_text(s, 1),
                                      sqlite3_column_int64(s, 2), db_store_text(s, 3),
                                      db_store_text(s, 4),        db_store_text(s, 5)};
        if (fn(arg, &row, e) < 0)
            return -1;
    }
    return rc;
}

int
db_notify_unread(db *d, int64_t user_id, int64_t *n, err *e)
{
    db_conn *c = db_reader(d, e);
    int64_t count = c ? db_store_count(c,
                                       "SELECT count(*) FROM notification WHERE user_id = ?1 "
                                       "AND read_at IS NULL",
                                       user_id, e)
                      : -1;
    if (count < 0)
        return -1;
    *n = count;
    return 0;
}

struct read_job {
    int64_t user_id, id; /* id 0: all */
    const char *now;
    int64_t changed;
};

static int
apply_read(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct read_job *j = arg;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE notification SET read_at = ?3 WHERE user_id = ?1 "
                             "AND (?2 = 0 OR id = ?2) AND read_at IS NULL",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->user_id);
    sqlite3_bind_int64(s, 2, j->id);
    sqlite3_bind_text(s, 3, j->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    j->changed = sqlite3_changes(db_conn_sqlite(c));
    if (j->changed || !j->id)
        return 0;
    DB_STMT q = db_conn_stmt(c, "SELECT 1 FROM notification WHERE user_id = ?1 AND id = ?2", e);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, j->user_id);
    sqlite3_bind_int64(q, 2, j->id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 0; /* already read */
    return rc == SQLITE_DONE ? err_set(e, ERR_NOT_FOUND, "No such notification.")
                             : db_sqlite_err(e, rc);
}

int
db_notify_mark_read(db *d, int64_t user_id, int64_t id, const char *now, err *e)
{
    struct read_job j = {user_id, id, now, 0};
    return db_mutate(d, apply_read, &j, NULL, e);
}

int
db_notify_mark_all_read(db *d, int64_t user_id, const char *now, int64_t *n, err *e)
{
    struct read_job j = {user_id, 0, now, 0};
    int rc = db_mutate(d, apply_read, &j, NULL, e);
    if (rc == 0 && n)
        *n = j.changed;
    return rc;
}

/* ---- webhooks ---- */

static notify_event_set
events_parse(const char *text)
{
    notify_event_set set = 0;
    json_t *a = json_loads(text, 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        enum notify_event ev = db_notify_event_find(json_string_value(v));
        if (ev != NOTIFY_EVENT_COUNT)
            set |= 1u << ev;
    }
    json_decref(a);
    return set;
}

/* The set as a JSON array text (malloc'd). */
static char *
events_text(notify_event_set set)
{
    json_t *a = json_array();
    for (int i = 0; a && i < NOTIFY_EVENT_COUNT; i++)
        if (set & (1u << i))
            json_array_append_new(a, json_string(event_names[i]));
    char *t = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return t;
}

#define WEBHOOK_COLUMNS                                                                            \
    "SELECT w.id, w.url, w.events, ifnull(w.tenant_id, 0), w.description, w.active, "              \
    "ifnull(w.created_by, 0), w.created_at, ifnull(w.updated_at, ''), "                            \
    "(SELECT count(*) FROM webhook_delivery WHERE webhook_id = w.id AND state = 'pending'), "      \
    "(SELECT count(*) FROM webhook_delivery WHERE webhook_id = w.id AND state = 'delivered'), "    \
    "(SELECT count(*) FROM webhook_delivery WHERE webhook_id = w.id AND state = 'failed'), "       \
    "ifnull((SELECT max(t.at) FROM webhook_attempt t JOIN webhook_delivery dd "                    \
    "ON dd.id = t.delivery_id WHERE dd.webhook_id = w.id), '') FROM webhook w "

static int
webhook_row(sqlite3_stmt *s, db_webhook_row_fn fn, void *arg, err *e)
{
    struct db_webhook w = {.id = sqlite3_column_int64(s, 0),
                           .url = db_store_text(s, 1),
                           .events = events_parse(db_store_text(s, 2)),
                           .tenant_id = sqlite3_column_int64(s, 3),
                           .description = db_store_text(s, 4),
                           .active = sqlite3_column_int(s, 5) != 0,
                           .created_by = sqlite3_column_int64(s, 6),
                           .created_at = db_store_text(s, 7),
                           .updated_at = db_store_text(s, 8),
                           .pending = sqlite3_column_int64(s, 9),
                           .delivered = sqlite3_column_int64(s, 10),
                           .failed = sqlite3_column_int64(s, 11),
                           .last_delivery_at = db_store_text(s, 12)};
    return fn(arg, &w, e);
}

int
db_webhook_list(db *d, int64_t before_id, int limit, db_webhook_row_fn fn, void *arg, bool *more,
                err *e)
{
    *more = false;
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 WEBHOOK_COLUMNS "WHERE (?1 = 0 OR w.id < ?1) "
                                                 "ORDER BY w.id DESC LIMIT ?2",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, before_id);
    sqlite3_bind_int(s, 2, limit + 1);
    int rc, n = 0;
    while ((rc = db_page_next(s, limit, &n, more, e)) > 0) {
        if (webhook_row(s, fn, arg, e) < 0)
            return -1;
    }
    return rc;
}

static int
webhook_get_on(db_conn *c, int64_t id, db_webhook_row_fn fn, void *arg, err *e)
{
    DB_STMT s = db_store_get(c, WEBHOOK_COLUMNS "WHERE w.id = ?1", id, e, "No such webhook.");
    if (!s)
        return -1;
    return webhook_row(s, fn, arg, e);
}

int
db_webhook_get(db *d, int64_t id, db_webhook_row_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    return c ? webhook_get_on(c, id, fn, arg, e) : -1;
}

/* The audit details of a webhook: never its secret. */
static json_t *
webhook_audit_json(const char *url, const char *events, int64_t tenant_id, int active)
{
    json_t *ev = events ? json_loads(events, 0, NULL) : NULL;
    json_t *j = json_object();
    if (url)
        json_object_set_new(j, "url", json_string(url));
    if (ev)
        json_object_set_new(j, "events", ev);
    if (tenant_id)
        json_object_set_new(j, "tenant_id", json_integer(tenant_id));
    if (active >= 0)
        json_object_set_new(j, "active", json_boolean(active));
    return j;
}

struct create_job {
    const struct db_webhook *w;
    const char *secret, *events;
    int64_t id;
    char target[40];
    json_t *details; /* owned */
};

static int
apply_create(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct create_job *j = arg;
    bool yes = true;
    if (j->w->tenant_id && db_tenant_exists(c, j->w->tenant_id, &yes, e) < 0)
        return -1;
    if (!yes)
        return err_set_field(e, "tenant_id", "No such tenant.");
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO webhook(url, events, tenant_id, description, secret, "
                             "active, created_by) VALUES (?1, ?2, nullif(?3, 0), ?4, ?5, ?6, "
                             "nullif(?7, 0))",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, j->w->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->events, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, j->w->tenant_id);
    sqlite3_bind_text(s, 4, j->w->description ? j->w->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, j->secret, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, j->w->active);
    sqlite3_bind_int64(s, 7, j->w->created_by);
    if (db_store_done(s, e) < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    snprintf(j->target, sizeof(j->target), "webhook/%" PRId64, j->id);
    a->target = j->target;
    a->details = j->details;
    return 0;
}

int
db_webhook_create(db *d, const struct db_webhook *w, const char *secret, struct db_audit *a,
                  int64_t *id_out, err *e)
{
    AUTOFREE char *events = events_text(w->events);
    struct create_job j = {.w = w, .secret = secret, .events = events};
    j.details = webhook_audit_json(w->url, events, w->tenant_id, w->active);
    if (!events || !j.details) {
        json_decref(j.details);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    int rc = db_store_mutate(d, apply_create, &j, a, j.details, e);
    a->target = NULL;
    if (rc == 0)
        *id_out = j.id;
    return rc;
}

struct update_job {
    int64_t id;
    const struct db_webhook_change *ch;
    const char *events; /* NULL: unchanged */
    char target[40];
    json_t *details; /* owned */
};

static int
apply_update(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct update_job *j = arg;
    DB_STMT s = db_conn_stmt(c,
                             "UPDATE webhook SET url = ifnull(?2, url), events = ifnull(?3, "
                             "events), description = ifnull(?4, description), active = CASE "
                             "WHEN ?5 < 0 THEN active ELSE ?5 END, secret = ifnull(?6, secret), "
                             "updated_at = ?7 WHERE id = ?1",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->ch->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, j->events, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, j->ch->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, j->ch->active);
    sqlite3_bind_text(s, 6, j->ch->secret, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, j->ch->now, -1, SQLITE_STATIC);
    if (db_store_done(s, e) < 0)
        return -1;
    if (sqlite3_changes(db_conn_sqlite(c)) == 0)
        return err_set(e, ERR_NOT_FOUND, "No such webhook.");
    a->target = j->target;
    a->details = j->details;
    return 0;
}

int
db_webhook_update(db *d, int64_t id, const struct db_webhook_change *ch, struct db_audit *a, err *e)
{
    AUTOFREE char *events = ch->set_events ? events_text(ch->events) : NULL;
    struct update_job j = {.id = id, .ch = ch, .events = events};
    snprintf(j.target, sizeof(j.target), "webhook/%" PRId64, id);
    j.details = webhook_audit_json(ch->url, events, 0, ch->active);
    if ((ch->set_events && !events) || !j.details) {
        json_decref(j.details);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    if (ch->secret) /* that it changed, never the value */
        json_object_set_new(j.details, "secret_rotated", json_true());
    int rc = db_store_mutate(d, apply_update, &j, a, j.details, e);
    a->target = NULL;
    return rc;
}

static int
apply_delete(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    DB_STMT s = db_conn_stmt(c, "DELETE FROM webhook WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, *(int64_t *)arg);
    if (db_store_done(s, e) < 0)
        return -1;
    return sqlite3_changes(db_conn_sqlite(c)) ? 0 : err_set(e, ERR_NOT_FOUND, "No such webhook.");
}

int
db_webhook_delete(db *d, int64_t id, struct db_audit *a, err *e)
{
    char target[40];
    snprintf(target, sizeof(target), "webhook/%" PRId64, id);
    a->target = target;
    int rc = db_mutate(d, apply_delete, &id, a, e);
    a->target = NULL;
    return rc;
}

struct ping_job {
    int64_t id;
    const char *now;
    int64_t delivery_id;
    char target[40];
};

static int
apply_ping(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    struct ping_job *j = arg;
    json_t *data = json_pack("{s:I}", "webhook_id", (json_int_t)j->id);
    AUTOFREE char *payload = payload_text(NOTIFY_WEBHOOK_PING, 0, data, j->now);
    json_decref(data);
    if (!payload)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (deliveries_insert(c, NOTIFY_WEBHOOK_PING, 0, j->id, payload, j->now, e) < 0)
        return -1;
    if (sqlite3_changes(db_conn_sqlite(c)) == 0)
        return err_set(e, ERR_NOT_FOUND, "No such webhook.");
    j->delivery_id = sqlite3_last_insert_rowid(db_conn_sqlite(c));
    a->target = j->target;
    return 0;
}

int
db_webhook_ping(db *d, int64_t id, const char *now, struct db_audit *a, int64_t *delivery_id,
                err *e)
{
    struct ping_job j = {.id = id, .now = now};
    snprintf(j.target, sizeof(j.target), "webhook/%" PRId64, id);
    int rc = db_mutate(d, apply_ping, &j, a, e);
    a->target = NULL;
    if (rc == 0 && delivery_id)
        *delivery_id = j.delivery_id;
    return rc;
}

/* ---- deliveries ---- */

static const char *const delivery_states[] = {"pending", "delivered", "failed"};

const char *
db_webhook_delivery_state_name(enum db_delivery_state s)
{
    return (unsigned)s < 3 ? delivery_states[s] : "pending";
}

static enum db_delivery_state
delivery_state_of(const char *name)
{
    int i = db_store_name_index(delivery_states, 3, name);
    return i < 3 ? (enum db_delivery_state)i : DB_DELIVERY_PENDING;
}

enum { TRIES_SHOWN = 32 };

/* The attempts of one delivery, copied (the statement is reused per row). */
struct tries {
    struct db_webhook_attempt t[TRIES_SHOWN];
    char at[TRIES_SHOWN][32];
    char error[TRIES_SHOWN][256];
    size_t n;
};

static int
tries_read(db_conn *c, int64_t delivery_id, struct tries *out, err *e)
{
    DB_STMT s = db_conn_stmt(c,
                             "SELECT at, ifnull(status, 0), ifnull(error, ''), duration_ms FROM "
                             "(SELECT * FROM webhook_attempt WHERE delivery_id = ?1 "
                             "ORDER BY id DESC LIMIT ?2) ORDER BY id",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, delivery_id);
    sqlite3_bind_int(s, 2, TRIES_SHOWN);
    out->n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && out->n < TRIES_SHOWN) {
        size_t i = out->n++;
        snprintf(out->at[i], sizeof(out->at[i]), "%s", db_store_text(s, 0));
        snprintf(out->error[i], sizeof(out->error[i]), "%s", db_store_text(s, 2));
        out->t[i] = (struct db_webhook_attempt){out->at[i], sqlite3_column_int(s, 1), out->error[i],
                                                sqlite3_column_int64(s, 3)};
    }
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_sqlite_err(e, rc);
}

static int
delivery_row(db_conn *c, sqlite3_stmt *s, struct tries *tr, db_webhook_delivery_fn fn, void *arg,
             err *e)
{
    struct db_webhook_delivery dl = {.id = sqlite3_column_int64(s, 0),
                                     .webhook_id = sqlite3_column_int64(s, 1),
                                     .event = db_store_text(s, 2),
                                     .payload = db_store_text(s, 3),
                                     .state = delivery_state_of(db_store_text(s, 4)),
                                     .attempts = sqlite3_column_int(s, 5),
                                     .next_attempt_at = db_store_text(s, 6),
                                     .last_status = sqlite3_column_int(s, 7),
                                     .last_error = db_store_text(s, 8),
                                     .created_at = db_store_text(s, 9),
                                     .finished_at = db_store_text(s, 10)};
    if (tries_read(c, dl.id, tr, e) < 0)
        return -1;
    dl.tries = tr->t;
    dl.ntries = tr->n;
    return fn(arg, &dl, e);
}

static int
webhook_exists(db_conn *c, int64_t id, err *e)
{
    DB_STMT s = db_conn_stmt(c, "SELECT 1 FROM webhook WHERE id = ?1", e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? err_set(e, ERR_NOT_FOUND, "No such webhook.") : db_sqlite_err(e, rc);
}

int
db_webhook_deliveries(db *d, int64_t webhook_id, int64_t before_id, int limit,
                      db_webhook_delivery_fn fn, void *arg, bool *more, err *e)
{
    *more = false;
    db_conn *c = db_reader(d, e);
    if (!c || webhook_exists(c, webhook_id, e) < 0)
        return -1;
    AUTOFREE struct tries *tr = malloc(sizeof(*tr));
    DB_STMT s = tr ? db_conn_stmt(c,
                                  "SELECT id, webhook_id, event, payload, state, attempts, "
                                  "next_attempt_at, ifnull(last_status, 0), ifnull(last_error, "
                                  "''), created_at, ifnull(finished_at, '') FROM webhook_delivery "
                                  "WHERE webhook_id = ?1 AND (?2 = 0 OR id < ?2) "
                                  "ORDER BY id DESC LIMIT ?3",
                                  e)
                   : NULL;
    if (!s)
        return tr ? -1 : err_set(e, ERR_INTERNAL, "out of memory");
    sqlite3_bind_int64(s, 1, webhook_id);
    sqlite3_bind_int64(s, 2, before_id);
    sqlite3_bind_int(s, 3, limit + 1);
    int rc, n = 0;
    while ((rc = db_page_next(s, limit, &n, more, e)) > 0) {
        if (delivery_row(c, s, tr, fn, arg, e) < 0)
            return -1;
    }
    return rc;
}

/* ---- the worker's side ---- */

int
db_webhook_due(db *d, const char *now, int max, db_webhook_job_fn fn, void *arg, err *e)
{
    db_conn *c = db_reader(d, e);
    DB_STMT s = c ? db_conn_stmt(c,
                                 "SELECT dl.id, w.id, w.url, w.secret, dl.event, dl.payload, "
                                 "dl.attempts FROM webhook_delivery dl JOIN webhook w ON "
                                 "w.id = dl.webhook_id WHERE dl.state = 'pending' AND "
                                 "dl.next_attempt_at <= ?1 AND (w.active = 1 OR dl.event = "
                                 "'webhook.ping') ORDER BY dl.next_attempt_at, dl.id LIMIT ?2",
                                 e)
                  : NULL;
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct db_webhook_job j = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                                   db_store_text(s, 2),        db_store_text(s, 3),
                                   db_store_text(s, 4),        db_store_text(s, 5),
                                   sqlite3_column_int(s, 6)};
        if (fn(arg, &j, e) < 0)
            return -1;
    }
    return rc == SQLITE_DONE ? 0 : db_sqlite_err(e, rc);
}

static int
apply_record(db_conn *c, void *arg, struct db_audit *a, err *e)
{
    const struct db_webhook_result *r = arg;
    bool done = r->state != DB_DELIVERY_PENDING;
    DB_STMT u = db_conn_stmt(c,
                             "UPDATE webhook_delivery SET attempts = attempts + 1, state = ?2, "
                             "last_status = nullif(?3, 0), last_error = ?4, next_attempt_at = "
                             "ifnull(?5, next_attempt_at), finished_at = ?6 WHERE id = ?1 AND "
                             "state = 'pending'",
                             e);
    if (!u)
        return -1;
    sqlite3_bind_int64(u, 1, r->delivery_id);
    sqlite3_bind_text(u, 2, db_webhook_delivery_state_name(r->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(u, 3, r->status);
    sqlite3_bind_text(u, 4, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 5, done ? NULL : r->next_attempt_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(u, 6, done ? r->at : NULL, -1, SQLITE_STATIC);
    if (db_store_done(u, e) < 0)
        return -1;
    if (sqlite3_changes(db_conn_sqlite(c)) == 0)
        return err_set(e, ERR_NOT_FOUND, "No such pending delivery.");
    DB_STMT s = db_conn_stmt(c,
                             "INSERT INTO webhook_attempt(delivery_id, at, status, error, "
                             "duration_ms) VALUES (?1, ?2, nullif(?3, 0), ?4, ?5)",
                             e);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, r->delivery_id);
    sqlite3_bind_text(s, 2, r->at, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, r->status);
    sqlite3_bind_text(s, 4, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, r->duration_ms);
    return db_store_done(s, e);
}

int
db_webhook_record(db *d, const struct db_webhook_result *res, err *e)
{
    return db_mutate(d, apply_record, (void *)res, NULL, e);
}
