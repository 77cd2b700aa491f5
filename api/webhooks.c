/* Webhooks: /api/v1/webhooks[/{id}], POST .../{id}/ping and
 * GET .../{id}/deliveries. Global: the route table asks for tenant.admin
 * held globally (a webhook may carry events of every tenant). The signing
 * secret is generated here, returned once (at creation or rotation) and never
 * shown again. Delivery itself is server/webhook.c's. See requests.h. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "autoptr.h"
#include "identity.h"
#include "notify.h"
#include "requests.h"
#include "secret.h"
#include "session.h"

/* ---- targets ---- */

static bool
v4_private(const unsigned char *a)
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224;
}

bool
api_webhooks_private_addr(int family, const void *addr)
{
    const unsigned char *a = addr;
    if (family == AF_INET)
        return v4_private(a);
    if (family != AF_INET6)
        return true; /* nothing else is a webhook target */
    static const unsigned char zero[16], mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1)) /* :: and ::1 */
        return true;
    if (!memcmp(a, mapped, 12))
        return v4_private(a + 12);
    return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

/* A host name: letters, digits, '-' and '.', labels not starting with '-'.
 * A last label that is numeric (or hex, "0x…") must be a dotted-quad IPv4
 * address: "2130706433" or "0x7f.1" would reach loopback through the
 * resolver's legacy forms. */
static int
host_check(const char *field, const char *h, size_t n, bool allow_private, err *e)
{
    char host[256];
    unsigned char a[16];
    if (n == 0 || n >= sizeof(host))
        return err_set_field(e, field, "'%s' needs a host.", field);
    memcpy(host, h, n);
    host[n] = '\0';
    if (host[0] == '[') {
        if (host[n - 1] != ']' || n < 3)
            return err_set_field(e, field, "'%s' has a malformed IPv6 address.", field);
        host[n - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, a) != 1)
            return err_set_field(e, field, "'%s' has a malformed IPv6 address.", field);
        return !allow_private && api_webhooks_private_addr(AF_INET6, a)
                   ? err_set_field(e, field, "'%s' points at a private or loopback address.", field)
                   : 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
              (host[i] >= '0' && host[i] <= '9') || host[i] == '-' || host[i] == '.'))
            return err_set_field(e, field, "'%s' has a malformed host.", field);
    const char *last = strrchr(host, '.') ? strrchr(host, '.') + 1 : host;
    bool numeric = *last && strspn(last, "0123456789") == strlen(last);
    numeric = numeric || !strncasecmp(last, "0x", 2);
    if (numeric && inet_pton(AF_INET, host, a) != 1)
        return err_set_field(e, field, "'%s' has a malformed IPv4 address.", field);
    if (allow_private)
        return 0;
    size_t lh = strlen("localhost");
    bool local = !strcasecmp(host, "localhost") ||
                 (n > lh && !strcasecmp(host + n - lh, "localhost") && host[n - lh - 1] == '.');
    if (local || (numeric && api_webhooks_private_addr(AF_INET, a)))
        return err_set_field(e, field, "'%s' points at a private or loopback address.", field);
    return 0;
}

static int
port_check(const char *field, const char *p, size_t n, err *e)
{
    long v = 0;
    for (size_t i = 0; i < n && v <= 65535; i++) {
        if (p[i] < '0' || p[i] > '9')
            return err_set_field(e, field, "'%s' has a malformed port.", field);
        v = v * 10 + (p[i] - '0');
    }
    if (n == 0 || v < 1 || v > 65535)
        return err_set_field(e, field, "'%s' has a malformed port.", field);
    return 0;
}

int
api_webhooks_check_url(const char *field, const char *url, bool allow_private, err *e)
{
    size_t len = strlen(url), skip;
    if (len == 0 || len > DB_WEBHOOK_URL_MAX)
        return err_set_field(e, field, "'%s' must be 1 to %d characters.", field,
                             DB_WEBHOOK_URL_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return err_set_field(e, field, "'%s' must be printable ASCII without spaces.", field);
    if (!strncasecmp(url, "https://", 8))
        skip = 8;
    else if (!strncasecmp(url, "http://", 7))
        skip = 7;
    else
        return err_set_field(e, field, "'%s' must be an http or https URL.", field);
    if (strchr(url, '#'))
        return err_set_field(e, field, "'%s' must not have a fragment.", field);
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?");
    if (memchr(auth, '@', alen))
        return err_set_field(e, field, "'%s' must not carry credentials.", field);
    const char *colon = NULL; /* the port's, after an IPv6 literal's ']' */
    const char *close = auth[0] == '[' ? memchr(auth, ']', alen) : NULL;
    const char *from = close ? close : auth;
    colon = memchr(from, ':', alen - (size_t)(from - auth));
    size_t hlen = colon ? (size_t)(colon - auth) : alen;
    if (host_check(field, auth, hlen, allow_private, e) < 0)
        return -1;
    return colon ? port_check(field, colon + 1, alen - hlen - 1, e) : 0;
}

/* ---- rendering ---- */

static json_t *
events_json(notify_event_set set)
{
    json_t *a = json_array();
    for (int i = 0; a && i < NOTIFY_EVENT_COUNT; i++)
        if (set & (1u << i))
            json_array_append_new(a, json_string(db_notify_event_name((enum notify_event)i)));
    return a;
}

static json_t *
text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *
webhook_json(const struct db_webhook *w)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:s,s:b,s:o,s:s,s:o,s:{s:I,s:I,s:I,s:o}}", "id",
                     (json_int_t)w->id, "url", w->url, "events", events_json(w->events),
                     "tenant_id", w->tenant_id ? json_integer(w->tenant_id) : json_null(),
                     "description", w->description, "active", w->active, "created_by",
                     w->created_by ? json_integer(w->created_by) : json_null(), "created_at",
                     w->created_at, "updated_at", text_or_null(w->updated_at), "deliveries",
                     "pending", (json_int_t)w->pending, "delivered", (json_int_t)w->delivered,
                     "failed", (json_int_t)w->failed, "last_attempt_at",
                     text_or_null(w->last_delivery_at));
}

static int
one_row(void *arg, const struct db_webhook *w, err *e)
{
    json_t **out = arg;
    *out = webhook_json(w);
    return *out ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

/* Replies with webhook id as stored now (plus its new secret, once). */
static int
reply_webhook(struct api_req *r, struct api_resp *w, int64_t id, int status, const char *secret,
              err *e)
{
    json_t *j = NULL;
    if (db_webhook_get(r->app->db, id, one_row, &j, e) < 0)
        return -1;
    if (secret)
        json_object_set_new(j, "secret", json_string(secret));
    int rc = status == 201 ? api_reply_created(r, w, "/api/v1/webhooks", id, j)
                           : api_reply_json(r, w, status, j);
    json_decref(j);
    return rc;
}

/* ---- input ---- */

static int
events_parse(const json_t *v, notify_event_set *out, err *e)
{
    *out = 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return err_set_field(e, "events", "'events' must be a non-empty array of event names.");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        enum notify_event ev = db_notify_event_find(json_string_value(x));
        if (ev == NOTIFY_EVENT_COUNT || ev == NOTIFY_WEBHOOK_PING)
            return err_set_field(e, "events",
                                 "Unknown event; the events are quota_request.created, "
                                 "quota_request.approved, quota_request.denied, "
                                 "quota_request.withdrawn and quota_grant.expired.");
        *out |= 1u << ev;
    }
    return 0;
}

/* "whsec_" + 43 base64url characters (256 random bits), malloc'd. */
static char *
secret_new(err *e)
{
    unsigned char raw[32];
    if (auth_random_bytes(raw, sizeof(raw), e) < 0)
        return NULL;
    AUTOFREE char *b = auth_b64url_encode(raw, sizeof(raw));
    explicit_bzero(raw, sizeof(raw));
    size_t n = b ? strlen(b) + 7 : 0;
    char *s = b ? malloc(n) : NULL;
    if (!s) {
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(s, n, "whsec_%s", b);
    return s;
}

static void
secret_free(char *s)
{
    explicit_bzero(s, strlen(s));
    free(s);
}
AUTOPTR_DEFINE(char, secret_free)

/* url, events, description, active (-1: absent), as far as present. */
static int
webhook_body(struct api_req *r, struct db_webhook *wh, bool *has_events, int *active, err *e)
{
    json_t *ev = json_object_get(r->json, "events");
    if (api_body_string(r, "url", false, false, &wh->url, e) < 0 ||
        api_body_string(r, "description", false, false, &wh->description, e) < 0 ||
        api_body_bool(r, "active", active, e) < 0)
        return -1;
    if (wh->url &&
        api_webhooks_check_url("url", wh->url, r->app->cfg.webhooks_allow_private, e) < 0)
        return -1;
    if (wh->description &&
        api_check_text("description", wh->description, DB_WEBHOOK_DESC_CHARS, true, e) < 0)
        return -1;
    *has_events = ev != NULL;
    if (ev && events_parse(ev, &wh->events, e) < 0)
        return -1;
    wh->active = *active != 0;
    return 0;
}

/* ---- handlers ---- */

struct list_ctx {
    json_t *items;
    int64_t last_id;
};

static int
list_row(void *arg, const struct db_webhook *w, err *e)
{
    struct list_ctx *l = arg;
    json_t *j = webhook_json(w);
    if (!j || json_array_append_new(l->items, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    l->last_id = w->id;
    return 0;
}

static int
cursor_id(const char *cursor, int64_t *out, err *e)
{
    char *end = NULL;
    *out = cursor ? strtoll(cursor, &end, 10) : 0;
    if (cursor && (*out <= 0 || *end))
        return err_set_field(e, "cursor", "The cursor is malformed.");
    return 0;
}

int
api_webhooks_list(struct api_req *r, struct api_resp *w, err *e)
{
    int limit;
    const char *cursor;
    int64_t before;
    bool more = false;
    struct list_ctx l = {json_array(), 0};
    if (!l.items || arena_defer(r->a, (void (*)(void *))json_decref, l.items) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (api_page(r, &limit, &cursor, e) < 0 || cursor_id(cursor, &before, e) < 0 ||
        db_webhook_list(r->app->db, before, limit, list_row, &l, &more, e) < 0)
        return -1;
    return api_reply_list(r, w, l.items, more ? arena_printf(r->a, "%" PRId64, l.last_id) : NULL);
}

int
api_webhooks_create(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const members[] = {"url",         "events", "tenant_id",
                                          "description", "active", NULL};
    struct db_webhook wh = {.created_by = r->who.user_id};
    bool has_events = false;
    int64_t id = 0;
    int active = -1;
    if (api_body_only(r, members, e) < 0 || webhook_body(r, &wh, &has_events, &active, e) < 0 ||
        api_body_id(r, "tenant_id", true, &wh.tenant_id, e) < 0)
        return -1;
    if (!wh.url)
        return err_set_field(e, "url", "'url' is required.");
    if (!has_events)
        return err_set_field(e, "events", "'events' is required.");
    AUTOPTR(char) secret = NULL;
    if (!(secret = secret_new(e)))
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "webhook.create", NULL, wh.tenant_id);
    if (db_webhook_create(r->app->db, &wh, secret, &a, &id, e) < 0)
        return -1;
    return reply_webhook(r, w, id, 201, secret, e);
}

int
api_webhooks_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    return reply_webhook(r, w, id, 200, NULL, e);
}

int
api_webhooks_update(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const members[] = {"url",    "events",        "description",
                                          "active", "rotate_secret", NULL};
    struct db_webhook wh = {0};
    bool has_events = false;
    int64_t id;
    int rotate = -1, active = -1;
    char now[32];
    if (api_param_id(r, 0, &id, e) < 0 || api_body_only(r, members, e) < 0 ||
        api_body_bool(r, "rotate_secret", &rotate, e) < 0 ||
        webhook_body(r, &wh, &has_events, &active, e) < 0)
        return -1;
    AUTOPTR(char) secret = rotate == 1 ? secret_new(e) : NULL;
    if (rotate == 1 && !secret)
        return -1;
    db_time_format(app_now(r->app), now, sizeof(now));
    struct db_webhook_change ch = {wh.url, has_events, wh.events, wh.description,
                                   active, secret,     now};
    struct db_audit a;
    api_audit_init(r, &a, "webhook.update", NULL, 0);
    if (db_webhook_update(r->app->db, id, &ch, &a, e) < 0)
        return -1;
    return reply_webhook(r, w, id, 200, secret, e);
}

int
api_webhooks_delete(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "webhook.delete", NULL, 0);
    if (db_webhook_delete(r->app->db, id, &a, e) < 0)
        return -1;
    return api_reply_empty(w);
}

int
api_webhooks_ping(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id, delivery = 0;
    char now[32];
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    db_time_format(app_now(r->app), now, sizeof(now));
    struct db_audit a;
    api_audit_init(r, &a, "webhook.ping", NULL, 0);
    if (db_webhook_ping(r->app->db, id, now, &a, &delivery, e) < 0)
        return -1;
    json_t *j =
        json_pack("{s:I,s:I}", "webhook_id", (json_int_t)id, "delivery_id", (json_int_t)delivery);
    api_add_header(w, "Location",
                   arena_printf(r->a, "/api/v1/webhooks/%" PRId64 "/deliveries", id));
    api_reply_json(r, w, 202, j);
    json_decref(j);
    return 0;
}

static json_t *
delivery_json(const struct db_webhook_delivery *dl)
{
    json_t *log = json_array();
    for (size_t i = 0; log && i < dl->ntries; i++)
        json_array_append_new(
            log, json_pack("{s:s,s:o,s:o,s:I}", "at", dl->tries[i].at, "status",
                           dl->tries[i].status ? json_integer(dl->tries[i].status) : json_null(),
                           "error", text_or_null(dl->tries[i].error), "duration_ms",
                           (json_int_t)dl->tries[i].duration_ms));
    json_t *payload = json_loads(dl->payload, 0, NULL);
    bool pending = dl->state == DB_DELIVERY_PENDING;
    return json_pack(
        "{s:I,s:s,s:s,s:i,s:o,s:o,s:o,s:s,s:o,s:o,s:o}", "id", (json_int_t)dl->id, "event",
        dl->event, "state", db_webhook_delivery_state_name(dl->state), "attempts", dl->attempts,
        "next_attempt_at", pending ? text_or_null(dl->next_attempt_at) : json_null(), "last_status",
        dl->last_status ? json_integer(dl->last_status) : json_null(), "last_error",
        text_or_null(dl->last_error), "created_at", dl->created_at, "finished_at",
        text_or_null(dl->finished_at), "payload", payload ? payload : json_null(), "log", log);
}

static int
delivery_row(void *arg, const struct db_webhook_delivery *dl, err *e)
{
    struct list_ctx *l = arg;
    json_t *j = delivery_json(dl);
    if (!j || json_array_append_new(l->items, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    l->last_id = dl->id;
    return 0;
}

int
api_webhooks_deliveries(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id, before;
    int limit;
    const char *cursor;
    bool more = false;
    struct list_ctx l = {json_array(), 0};
    if (!l.items || arena_defer(r->a, (void (*)(void *))json_decref, l.items) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (api_param_id(r, 0, &id, e) < 0 || api_page(r, &limit, &cursor, e) < 0 ||
        cursor_id(cursor, &before, e) < 0 ||
        db_webhook_deliveries(r->app->db, id, before, limit, delivery_row, &l, &more, e) < 0)
        return -1;
    return api_reply_list(r, w, l.items, more ? arena_printf(r->a, "%" PRId64, l.last_id) : NULL);
}
