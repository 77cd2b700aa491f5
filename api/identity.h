/* identity: the handlers of tenants, users, roles, role bindings and API
 * tokens (api/tenants.c, users.c, roles.c, bindings.c, tokens.c), and the
 * edge-validation and list helpers they share (defined in api/tenants.c).
 *
 * Authorization: the route table names each route's permission and scope;
 * handlers of API_SCOPE_OBJECT routes load the object and call api_require
 * with its tenant (a foreign object answers 404 like a missing one). Grants
 * and account changes are re-checked inside the write transaction (db/). */
#ifndef VP_API_IDENTITY_H
#define VP_API_IDENTITY_H

#include "api.h"
/* db/identity.h shares this file's name: name it by its folder. */
#include "../db/identity.h"

int api_tenants_list(struct api_req *r, struct api_resp *w, err *e);
int api_tenants_create(struct api_req *r, struct api_resp *w, err *e);
int api_tenants_get(struct api_req *r, struct api_resp *w, err *e);
int api_tenants_update(struct api_req *r, struct api_resp *w, err *e);
int api_tenants_delete(struct api_req *r, struct api_resp *w, err *e);

int api_users_list(struct api_req *r, struct api_resp *w, err *e);
int api_users_create(struct api_req *r, struct api_resp *w, err *e);
int api_users_get(struct api_req *r, struct api_resp *w, err *e);
int api_users_update(struct api_req *r, struct api_resp *w, err *e);
int api_users_delete(struct api_req *r, struct api_resp *w, err *e);

int api_roles_list(struct api_req *r, struct api_resp *w, err *e);
int api_roles_create(struct api_req *r, struct api_resp *w, err *e);
int api_roles_get(struct api_req *r, struct api_resp *w, err *e);
int api_roles_update(struct api_req *r, struct api_resp *w, err *e);
int api_roles_delete(struct api_req *r, struct api_resp *w, err *e);

int api_bindings_list(struct api_req *r, struct api_resp *w, err *e);
int api_bindings_create(struct api_req *r, struct api_resp *w, err *e);
int api_bindings_get(struct api_req *r, struct api_resp *w, err *e);
int api_bindings_delete(struct api_req *r, struct api_resp *w, err *e);

int api_tokens_list(struct api_req *r, struct api_resp *w, err *e);
int api_tokens_create(struct api_req *r, struct api_resp *w, err *e);
int api_tokens_get(struct api_req *r, struct api_resp *w, err *e);
int api_tokens_delete(struct api_req *r, struct api_resp *w, err *e);

/* ---- shared edge validation (api/tenants.c) ---- */

/* 400 naming every member of the JSON body not in `allowed` (NULL-terminated). */
int api_body_only(const struct api_req *r, const char *const *allowed, err *e);

/* The string member `key` of the body (borrowed from r->json) into *out, NULL
 * when absent (400 when required) — also when JSON null and `nullable`. 400
 * naming the field for any other type. */
int api_body_string(const struct api_req *r, const char *key, bool required, bool nullable,
                    const char **out, err *e);

/* The boolean member `key`: *out = 0 / 1, or -1 when absent. */
int api_body_bool(const struct api_req *r, const char *key, int *out, err *e);

/* The positive integer id member `key`: *out, or 0 when absent or null
 * (null allowed only when `nullable`). */
int api_body_id(const struct api_req *r, const char *key, bool nullable, int64_t *out, err *e);

/* Text of 1..max_chars code points (0.. with allow_empty) without control
 * characters; 400 naming `field`. */
int api_check_text(const char *field, const char *s, size_t max_chars, bool allow_empty, err *e);

/* slug: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ; login: ^[A-Za-z0-9._@-]{1,64}$ */
int api_check_slug(const char *field, const char *s, err *e);
int api_check_login(const char *field, const char *s, err *e);

/* ---- lists: ?limit, ?cursor, ?sort and the {"items", "next_cursor"} reply ---- */

struct api_list {
    struct db_page page;
    const char *sort_name; /* the sort key's public name ("login") */
    json_t *items;         /* owned; the reply borrows it */
    const char *last_key;  /* arena copy of the last row's sort key */
    int64_t last_id;
    struct api_req *r;
};

/* Parses limit, cursor and sort (one of sorts[0..nsorts), "-" prefix for
 * descending; default sorts[def]) into l->page. A cursor made for another
 * sort, or not made by us, is a 400 on "cursor". The list frees itself with
 * the request arena. */
int api_list_begin(struct api_req *r, struct api_list *l, const char *const *sorts, int nsorts,
                   int def, err *e);

/* Appends item (consumed) with its row's sort key and id. */
int api_list_push(struct api_list *l, json_t *item, const char *key, int64_t id, err *e);

/* Replies 200 with the items and the cursor of the next page (or null). */
int api_list_reply(struct api_list *l, struct api_resp *w);

/* The tenants where the caller holds `perm`, as a JSON array text for a
 * store's `visible` filter (arena); NULL when the caller holds it globally. */
const char *api_visible_tenants(struct api_req *r, enum perm perm);

/* Audits a refusal decided by a handler or a store (403) as outcome "denied",
 * with the reason; strings borrowed. */
void api_audit_denied(struct api_req *r, const char *action, const char *target, int64_t tenant_id,
                      const err *why);

/* The caller as a db_actor (user, and API token when one is in use). */
struct db_actor api_actor(const struct api_req *r);

/* Replies 201 with Location "<base>/<id>" and the object j (borrowed). */
int api_reply_created(struct api_req *r, struct api_resp *w, const char *base, int64_t id,
                      json_t *j);

/* A boolean query parameter: true/false/1/0 → 1/0, absent → -1; else 400. */
int api_query_bool(struct api_req *r, const char *name, int *out, err *e);

/* The user object of the API: {id, login, tenant_id|null, disabled, created_at}. */
json_t *api_user_json(const struct db_user *u);

#endif
