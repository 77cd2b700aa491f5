/* notify: in-app notifications and outgoing webhooks (db/notify_store.c;
 * tables notification (0001) and webhook, webhook_delivery, webhook_attempt
 * (0006)).
 *
 * An event (a quota request created, decided, withdrawn, a grant expired) is
 * emitted by the store that makes it happen, INSIDE its write transaction
 * (db_notify_emit_in): one notification row per recipient (each user has
 * their own read state) and one delivery row per subscribed active webhook
 * (the outbox). So an event is notified exactly when it is committed, and
 * the request path never waits on a receiver: server/webhook.c delivers the
 * outbox from its own thread (db_webhook_due / db_webhook_record).
 *
 * Recipients are found from the role bindings at that moment:
 *  - approvers of tenant T: enabled users bound globally or in T to a role
 *    with quota.approve;
 *  - administrators of tenant T: enabled users bound in T to a role with
 *    user.admin (the built-in tenant-admin);
 *  - the requester (a user id).
 *
 * Pointer arguments are borrowed; row callbacks' rows are valid only during
 * the call. Times are RFC 3339 UTC text from the caller's clock. */
#ifndef VP_DB_NOTIFY_H
#define VP_DB_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The closed list of events: notification kinds and webhook event names. */
#define NOTIFY_EVENT_LIST(X)                                                                       \
    X(QREQ_CREATED, "quota_request.created")                                                       \
    X(QREQ_APPROVED, "quota_request.approved")                                                     \
    X(QREQ_DENIED, "quota_request.denied")                                                         \
    X(QREQ_WITHDRAWN, "quota_request.withdrawn")                                                   \
    X(GRANT_EXPIRED, "quota_grant.expired")                                                        \
    X(WEBHOOK_PING, "webhook.ping")

enum notify_event {
#define X(id, name) NOTIFY_##id,
    NOTIFY_EVENT_LIST(X)
#undef X
        NOTIFY_EVENT_COUNT
};

/* "quota_request.created" ... (static, never NULL). */
const char *db_notify_event_name(enum notify_event ev);

/* The event called `name`, or NOTIFY_EVENT_COUNT. */
enum notify_event db_notify_event_find(const char *name);

/* Who is told. */
enum {
    NOTIFY_TO_APPROVERS = 1u << 0,
    NOTIFY_TO_TENANT_ADMINS = 1u << 1,
    NOTIFY_TO_USER = 1u << 2, /* ev->user_id */
};

struct db_notify_event {
    enum notify_event event;
    int64_t tenant_id;   /* the tenant it concerns (0: none) */
    unsigned to;         /* NOTIFY_TO_* */
    int64_t user_id;     /* for NOTIFY_TO_USER */
    int64_t except_user; /* the actor: not told of their own action (0: nobody) */
    json_t *body;        /* borrowed: notification body and the webhook's "data" */
    const char *now;
};

/* ---- notifications ---- */

struct db_notification {
    int64_t id;
    const char *kind;
    int64_t tenant_id; /* 0: none */
    const char *body;  /* JSON text */
    const char *created_at;
    const char *read_at; /* "" = unread */
};

typedef int (*db_notification_row_fn)(void *arg, const struct db_notification *n, err *e);

/* The notifications of user_id, newest first: ids below before_id (0: from
 * the newest), only unread ones when unread_only, up to limit; *more tells
 * whether older ones remain. */
int db_notify_list(db *d, int64_t user_id, bool unread_only, int64_t before_id, int limit,
                   db_notification_row_fn fn, void *arg, bool *more, err *e);

/* The number of unread notifications of user_id. */
int db_notify_unread(db *d, int64_t user_id, int64_t *n, err *e);

/* Marks notification id of user_id read (idempotent). Bookkeeping of the
 * user's own inbox: no audit row. ERR_NOT_FOUND when it is not theirs. */
int db_notify_mark_read(db *d, int64_t user_id, int64_t id, const char *now, err *e);

/* Marks every notification of user_id read; *n (may be NULL) counts them. */
int db_notify_mark_all_read(db *d, int64_t user_id, const char *now, int64_t *n, err *e);

/* ---- webhooks ---- */

enum { DB_WEBHOOK_URL_MAX = 2000, DB_WEBHOOK_DESC_CHARS = 200 };

typedef uint32_t notify_event_set; /* bit (1 << enum notify_event) */

struct db_webhook {
    int64_t id;
    const char *url;
    notify_event_set events;
    int64_t tenant_id; /* 0: events of every tenant */
    const char *description;
    bool active;
    int64_t created_by;
    const char *created_at, *updated_at;
    /* delivery summary */
    int64_t pending, delivered, failed;
    const char *last_delivery_at; /* "" */
};

typedef int (*db_webhook_row_fn)(void *arg, const struct db_webhook *w, err *e);

/* Webhooks, newest first (ids below before_id, 0: from the newest). */
int db_webhook_list(db *d, int64_t before_id, int limit, db_webhook_row_fn fn, void *arg,
                    bool *more, err *e);

/* Webhook `id` into fn. ERR_NOT_FOUND. */
int db_webhook_get(db *d, int64_t id, db_webhook_row_fn fn, void *arg, err *e);

/* Stores a webhook; `w`'s url, events, tenant_id, description, active and
 * created_by are used, `secret` is the signing key (never audited).
 * ERR_INVALID (field tenant_id) when the tenant does not exist. */
int db_webhook_create(db *d, const struct db_webhook *w, const char *secret, struct db_audit *a,
                      int64_t *id_out, err *e);

/* Changes url (NULL: unchanged), events (when set_events), description
 * (NULL: unchanged), active (-1: unchanged), and the secret (NULL:
 * unchanged). ERR_NOT_FOUND. */
struct db_webhook_change {
    const char *url;
    bool set_events;
    notify_event_set events;
    const char *description;
    int active;
    const char *secret;
    const char *now;
};
int db_webhook_update(db *d, int64_t id, const struct db_webhook_change *c, struct db_audit *a,
                      err *e);

/* Deletes a webhook with its deliveries. ERR_NOT_FOUND. */
int db_webhook_delete(db *d, int64_t id, struct db_audit *a, err *e);

/* Queues a "webhook.ping" delivery for webhook id (whatever its events and
 * active flag), with its audit row; *delivery_id. ERR_NOT_FOUND. */
int db_webhook_ping(db *d, int64_t id, const char *now, struct db_audit *a, int64_t *delivery_id,
                    err *e);

enum db_delivery_state { DB_DELIVERY_PENDING, DB_DELIVERY_DELIVERED, DB_DELIVERY_FAILED };

/* "pending", "delivered", "failed". */
const char *db_webhook_delivery_state_name(enum db_delivery_state s);

struct db_webhook_attempt {
    const char *at;
    int status; /* 0: no HTTP response */
    const char *error;
    int64_t duration_ms;
};

struct db_webhook_delivery {
    int64_t id, webhook_id;
    const char *event;
    const char *payload; /* the exact body sent */
    enum db_delivery_state state;
    int attempts;
    const char *next_attempt_at; /* meaningful while pending */
    int last_status;             /* 0: none */
    const char *last_error;
    const char *created_at, *finished_at;
    const struct db_webhook_attempt *tries; /* the log, oldest first */
    size_t ntries;
};

typedef int (*db_webhook_delivery_fn)(void *arg, const struct db_webhook_delivery *dl, err *e);

/* The deliveries of webhook id, newest first, with their attempts.
 * ERR_NOT_FOUND when the webhook does not exist. */
int db_webhook_deliveries(db *d, int64_t webhook_id, int64_t before_id, int limit,
                          db_webhook_delivery_fn fn, void *arg, bool *more, err *e);

/* ---- the delivery worker (server/webhook.c) ---- */

/* One due delivery, with what is needed to send it. */
struct db_webhook_job {
    int64_t delivery_id, webhook_id;
    const char *url, *secret, *event, *payload;
    int attempts; /* made so far */
};

typedef int (*db_webhook_job_fn)(void *arg, const struct db_webhook_job *j, err *e);

/* Up to `max` pending deliveries of active webhooks due at `now`, oldest
 * first, into fn (on the caller's reader). */
int db_webhook_due(db *d, const char *now, int max, db_webhook_job_fn fn, void *arg, err *e);

/* The outcome of one attempt. */
struct db_webhook_result {
    int64_t delivery_id;
    const char *at;
    int status;        /* 0: no HTTP response */
    const char *error; /* client-safe, NULL when delivered */
    int64_t duration_ms;
    enum db_delivery_state state; /* after this attempt */
    const char *next_attempt_at;  /* when still pending */
};

/* Records an attempt in the log and the delivery's new state (bookkeeping,
 * no audit row). ERR_NOT_FOUND when the delivery is gone (webhook deleted). */
int db_webhook_record(db *d, const struct db_webhook_result *res, err *e);

#ifdef VP_DB_INTERNAL
#include "db_internal.h"

/* Inside a write transaction: notification rows for the recipients of ev
 * and delivery rows for the active webhooks subscribed to it (and to its
 * tenant). */
int db_notify_emit_in(db_conn *c, const struct db_notify_event *ev, err *e);
#endif

#endif
