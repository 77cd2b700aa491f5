/* Notifications: GET /api/v1/notifications, POST .../{id}/read and
 * .../read-all. Every authenticated user sees only their own (rows are per
 * recipient, see db/notify.h). See requests.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "identity.h"
#include "notify.h"
#include "requests.h"
#include "session.h"

struct list_ctx {
    json_t *items;
    int64_t last_id;
};

static int
row(void *arg, const struct db_notification *n, err *e)
{
    struct list_ctx *l = arg;
    json_t *body = json_loads(n->body, 0, NULL);
    json_t *j = json_pack("{s:I,s:s,s:o,s:s,s:b,s:o,s:o}", "id", (json_int_t)n->id, "kind", n->kind,
                          "tenant_id", n->tenant_id ? json_integer(n->tenant_id) : json_null(),
                          "created_at", n->created_at, "read", n->read_at[0] != '\0', "read_at",
                          n->read_at[0] ? json_string(n->read_at) : json_null(), "body",
                          body ? body : json_object());
    if (!j || json_array_append_new(l->items, j) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    l->last_id = n->id;
    return 0;
}

int
api_notifications_list(struct api_req *r, struct api_resp *w, err *e)
{
    int limit, unread_only = -1;
    const char *cursor;
    int64_t before = 0, unread = 0;
    bool more = false;
    if (api_page(r, &limit, &cursor, e) < 0 || api_query_bool(r, "unread", &unread_only, e) < 0)
        return -1;
    char *end = NULL;
    before = cursor ? strtoll(cursor, &end, 10) : 0;
    if (cursor && (before <= 0 || *end))
        return err_set_field(e, "cursor", "The cursor is malformed.");
    struct list_ctx l = {json_array(), 0};
    if (!l.items || arena_defer(r->a, (void (*)(void *))json_decref, l.items) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (db_notify_list(r->app->db, r->who.user_id, unread_only == 1, before, limit, row, &l, &more,
                       e) < 0 ||
        db_notify_unread(r->app->db, r->who.user_id, &unread, e) < 0)
        return -1;
    json_t *j = json_pack("{s:O,s:o,s:I}", "items", l.items, "next_cursor",
                          more ? json_sprintf("%" PRId64, l.last_id) : json_null(), "unread",
                          (json_int_t)unread);
    if (!j)
        return err_set(e, ERR_INTERNAL, "out of memory");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

int
api_notifications_read(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    char now[32];
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    db_time_format(app_now(r->app), now, sizeof(now));
    /* someone else's notification answers like a missing one */
    if (db_notify_mark_read(r->app->db, r->who.user_id, id, now, e) < 0)
        return -1;
    return api_reply_empty(w);
}

int
api_notifications_read_all(struct api_req *r, struct api_resp *w, err *e)
{
    char now[32];
    int64_t n = 0;
    db_time_format(app_now(r->app), now, sizeof(now));
    if (db_notify_mark_all_read(r->app->db, r->who.user_id, now, &n, e) < 0)
        return -1;
    json_t *j = json_pack("{s:I}", "marked", (json_int_t)n);
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}
