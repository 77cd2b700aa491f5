/* Tenants: /api/v1/tenants[/{id}]. Also the edge-validation and list helpers
 * the identity handlers share (see identity.h). */
#include <string.h>

#include "app.h"
#include "identity.h"
#include "secret.h"

/* ---- body members ---- */

int
api_body_only(const struct api_req *r, const char *const *allowed, err *e)
{
    char unknown[160] = "", first[64] = "";
    size_t used = 0;
    const char *key;
    json_t *v;
    json_object_foreach(r->json, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(allowed[i], key);
        if (ok)
            continue;
        if (!first[0])
            snprintf(first, sizeof(first), "%s", key);
        if (used < sizeof(unknown))
            used += (size_t)snprintf(unknown + used, sizeof(unknown) - used, "%s'%.40s'",
                                     used ? ", " : "", key);
    }
    if (!first[0])
        return 0;
    return err_set_field(e, first, "Unknown member(s) in the body: %s.", unknown);
}

int
api_body_string(const struct api_req *r, const char *key, bool required, bool nullable,
                const char **out, err *e)
{
    json_t *v = json_object_get(r->json, key);
    *out = NULL;
    if (!v || (nullable && json_is_null(v)))
        return required ? err_set_field(e, key, "'%s' is required.", key) : 0;
    if (!json_is_string(v))
        return err_set_field(e, key, "'%s' must be a string.", key);
    *out = json_string_value(v);
    return 0;
}

int
api_body_bool(const struct api_req *r, const char *key, int *out, err *e)
{
    json_t *v = json_object_get(r->json, key);
    *out = -1;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return err_set_field(e, key, "'%s' must be true or false.", key);
    *out = json_is_true(v);
    return 0;
}

int
api_body_id(const struct api_req *r, const char *key, bool nullable, int64_t *out, err *e)
{
    json_t *v = json_object_get(r->json, key);
    *out = 0;
    if (!v || (nullable && json_is_null(v)))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return err_set_field(e, key, "'%s' must be a positive integer id%s.", key,
                             nullable ? " or null" : "");
    *out = json_integer_value(v);
    return 0;
}

/* ---- text rules ---- */

int
api_check_text(const char *field, const char *s, size_t max_chars, bool allow_empty, err *e)
{
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i]; i++) {
        /* C0, DEL and C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F); input is valid UTF-8 */
        if (p[i] < 0x20 || p[i] == 0x7f || (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
            return err_set_field(e, field, "'%s' must not contain control characters.", field);
        chars += (p[i] & 0xc0) != 0x80;
    }
    if ((!allow_empty && chars == 0) || chars > max_chars)
        return err_set_field(e, field, "'%s' must be %d to %zu characters long.", field,
                             allow_empty ? 0 : 1, max_chars);
    return 0;
}

static bool
slug_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int
api_check_slug(const char *field, const char *s, err *e)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= DB_SLUG_MAX && s[0] != '-' && s[n - 1] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = slug_char(s[i]);
    if (!ok)
        return err_set_field(e, field,
                             "'%s' must be 1 to 63 lowercase letters, digits or '-', starting and "
                             "ending with a letter or digit.",
                             field);
    return 0;
}

int
api_check_login(const char *field, const char *s, err *e)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= DB_LOGIN_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '@' || c == '-';
    }
    if (!ok)
        return err_set_field(e, field,
                             "'%s' must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '@' "
                             "and '-'.",
                             field);
    return 0;
}

int
api_query_bool(struct api_req *r, const char *name, int *out, err *e)
{
    bool bad = false;
    const char *v = api_query(r, name, &bad);
    *out = -1;
    if (!v && !bad)
        return 0;
    if (v && (!strcmp(v, "true") || !strcmp(v, "1")))
        *out = 1;
    else if (v && (!strcmp(v, "false") || !strcmp(v, "0")))
        *out = 0;
    else
        return err_set_field(e, name, "Query parameter '%s' must be true or false.", name);
    return 0;
}

/* ---- lists ---- */

/* The cursor is base64url of ["sort", "key", id]: opaque to clients, and a
 * cursor of another sort order is refused instead of silently misread. */
static const char *
cursor_make(struct api_list *l)
{
    json_t *j =
        json_pack("[s,s,I]", l->sort_name, l->last_key ? l->last_key : "", (json_int_t)l->last_id);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char *enc = text ? auth_b64url_encode(text, strlen(text)) : NULL;
    free(text);
    const char *out = arena_strdup(l->r->a, enc);
    free(enc);
    return out;
}

static int
cursor_parse(struct api_list *l, const char *cursor, err *e)
{
    unsigned char raw[400];
    size_t n = 0;
    if (auth_b64url_decode(cursor, strlen(cursor), raw, sizeof(raw), &n) < 0)
        return err_set_field(e, "cursor", "The cursor is malformed.");
    json_t *j = json_loadb((const char *)raw, n, 0, NULL);
    arena_defer(l->r->a, (void (*)(void *))json_decref, j);
    const char *sort = NULL, *key = NULL;
    json_int_t id = 0;
    if (!j || json_unpack(j, "[ssI!]", &sort, &key, &id) < 0 || id <= 0)
        return err_set_field(e, "cursor", "The cursor is malformed.");
    if (strcmp(sort, l->sort_name))
        return err_set_field(e, "cursor", "The cursor belongs to another sort order.");
    l->page.after_key = key;
    l->page.after_id = id;
    return 0;
}

static int
sort_parse(struct api_list *l, const char *const *sorts, int nsorts, int def, err *e)
{
    bool bad = false;
    const char *s = api_query(l->r, "sort", &bad);
    l->page.sort = def;
    l->sort_name = sorts[def];
    if (!bad && (!s || !*s))
        return 0;
    l->page.desc = s && s[0] == '-';
    for (int i = 0; s && i < nsorts; i++) {
        if (!strcmp(s + l->page.desc, sorts[i])) {
            l->page.sort = i;
            l->sort_name = arena_strdup(l->r->a, s);
            return 0;
        }
    }
    char allowed[200] = "";
    for (int i = 0, used = 0; i < nsorts && used < (int)sizeof(allowed); i++)
        used += snprintf(allowed + used, sizeof(allowed) - (size_t)used, "%s%s", i ? ", " : "",
                         sorts[i]);
    return err_set_field(e, "sort", "sort must be one of %s (prefix '-' for descending).", allowed);
}

int
api_list_begin(struct api_req *r, struct api_list *l, const char *const *sorts, int nsorts, int def,
               err *e)
{
    memset(l, 0, sizeof(*l));
    l->r = r;
    const char *cursor = NULL;
    if (api_page(r, &l->page.limit, &cursor, e) < 0 || sort_parse(l, sorts, nsorts, def, e) < 0)
        return -1;
    if (cursor && cursor_parse(l, cursor, e) < 0)
        return -1;
    l->items = json_array();
    if (!l->items || arena_defer(r->a, (void (*)(void *))json_decref, l->items) < 0)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    return 0;
}

int
api_list_push(struct api_list *l, json_t *item, const char *key, int64_t id, err *e)
{
    if (!item || json_array_append_new(l->items, item) < 0)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    l->last_key = arena_strdup(l->r->a, key);
    l->last_id = id;
    return 0;
}

int
api_list_reply(struct api_list *l, struct api_resp *w)
{
    return api_reply_list(l->r, w, l->items, l->page.more ? cursor_make(l) : NULL);
}

const char *
api_visible_tenants(struct api_req *r, enum perm perm)
{
    if (api_can(r, perm, 0))
        return NULL;
    size_t cap = 3 + r->who.nbindings * 21, used = 1;
    char *out = arena_alloc(r->a, cap);
    if (!out)
        return "[]"; /* sees nothing rather than everything */
    out[0] = '[';
    for (size_t i = 0; i < r->who.nbindings; i++) {
        int64_t t = r->who.bindings[i].tenant_id;
        if (t && api_can(r, perm, t))
            used += (size_t)snprintf(out + used, cap - used, "%s%lld", used > 1 ? "," : "",
                                     (long long)t);
    }
    snprintf(out + used, cap - used, "]");
    return out;
}

void
api_audit_denied(struct api_req *r, const char *action, const char *target, int64_t tenant_id,
                 const err *why)
{
    struct db_audit a;
    api_audit_init(r, &a, action, target, tenant_id);
    a.outcome = "denied";
    json_t *d = json_pack("{s:s}", "reason", why->detail);
    a.details = d;
    db_audit_event(r->app->db, &a, NULL); /* best effort: the refusal stands either way */
    json_decref(d);
}

struct db_actor
api_actor(const struct api_req *r)
{
    return (struct db_actor){.user_id = r->who.user_id, .token_id = r->who.token_id};
}

int
api_reply_created(struct api_req *r, struct api_resp *w, const char *base, int64_t id, json_t *j)
{
    const char *loc = arena_printf(r->a, "%s/%lld", base, (long long)id);
    if (loc)
        api_add_header(w, "Location", loc);
    return api_reply_json(r, w, 201, j);
}

/* ---- tenants ---- */

static const char *const tenant_sorts[DB_TENANT_SORT_COUNT] = {
    [DB_TENANT_SORT_SLUG] = "slug",
    [DB_TENANT_SORT_NAME] = "name",
    [DB_TENANT_SORT_CREATED] = "created_at",
    [DB_TENANT_SORT_ID] = "id",
};

static json_t *
tenant_json(const struct db_tenant *t)
{
    return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)t->id, "slug", t->slug, "name", t->name,
                     "created_at", t->created_at);
}

static int
tenant_list_row(void *arg, const struct db_tenant *t, const char *key, err *e)
{
    return api_list_push(arg, tenant_json(t), key, t->id, e);
}

int
api_tenants_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    bool bad = false;
    if (api_list_begin(r, &l, tenant_sorts, DB_TENANT_SORT_COUNT, DB_TENANT_SORT_SLUG, e) < 0)
        return -1;
    struct db_tenant_filter f = {.visible = api_visible_tenants(r, PERM_TENANT_READ),
                                 .q = api_query(r, "q", &bad)};
    if (bad || (f.q && strlen(f.q) > 200))
        return err_set_field(e, "q", "Query parameter 'q' is malformed or too long.");
    if (db_tenant_list(r->app->db, &f, &l.page, tenant_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

/* Replies with the tenant as stored now. */
static int
tenant_reply(struct api_req *r, struct api_resp *w, int64_t id, bool created, err *e)
{
    struct db_tenant t;
    if (db_tenant_get(r->app->db, id, &t, e) < 0)
        return -1;
    json_t *j = tenant_json(&t);
    int rc =
        created ? api_reply_created(r, w, "/api/v1/tenants", id, j) : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

/* slug and name from the body, validated; required on create. */
static int
tenant_body(struct api_req *r, bool required, const char **slug, const char **name, err *e)
{
    static const char *const members[] = {"slug", "name", NULL};
    if (api_body_only(r, members, e) < 0 ||
        api_body_string(r, "slug", required, false, slug, e) < 0 ||
        api_body_string(r, "name", required, false, name, e) < 0)
        return -1;
    if (*slug && api_check_slug("slug", *slug, e) < 0)
        return -1;
    return *name ? api_check_text("name", *name, DB_NAME_CHARS, false, e) : 0;
}

int
api_tenants_create(struct api_req *r, struct api_resp *w, err *e)
{
    const char *slug, *name;
    int64_t id = 0;
    if (tenant_body(r, true, &slug, &name, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "tenant.create", NULL, 0);
    if (db_tenant_create(r->app->db, slug, name, &a, &id, e) < 0)
        return -1;
    return tenant_reply(r, w, id, true, e);
}

int
api_tenants_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    return tenant_reply(r, w, id, false, e);
}

int
api_tenants_update(struct api_req *r, struct api_resp *w, err *e)
{
    const char *slug, *name;
    int64_t id;
    struct db_tenant t;
    if (api_param_id(r, 0, &id, e) < 0 || tenant_body(r, false, &slug, &name, e) < 0 ||
        db_tenant_get(r->app->db, id, &t, e) < 0)
        return -1;
    if (slug && !strcmp(slug, t.slug)) /* unchanged fields are no change (and no audit row) */
        slug = NULL;
    if (name && !strcmp(name, t.name))
        name = NULL;
    if (slug || name) {
        struct db_audit a;
        api_audit_init(r, &a, "tenant.update", NULL, id);
        if (db_tenant_update(r->app->db, id, slug, name, &a, e) < 0)
            return -1;
    }
    return tenant_reply(r, w, id, false, e);
}

int
api_tenants_delete(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "tenant.delete", NULL, id);
    if (db_tenant_delete(r->app->db, id, &a, e) < 0)
        return -1;
    return api_reply_empty(w);
}
