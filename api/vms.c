/* VMs: /api/v1/vms and /api/v1/vms/{id} — the read side and the
 * administrators' assignment of VMs to tenants and tags. See inventory.h.
 * (Actions, creation and migration come with the task routes.) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/inventory.h"
#include "../server/inventory.h"
#include "app.h"
#include "identity.h"
#include "inventory.h"
#include "secret.h"

/* ---- JSON ---- */

static json_t *
json_array_text(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (json_is_array(j))
        return j;
    json_decref(j);
    return json_array();
}

/* The VM object of the API; `detail` adds what GET /vms/{id} shows. */
static json_t *
vm_json(const struct db_vm *v, bool detail)
{
    json_t *j = json_pack(
        "{s:I,s:s,s:s,s:I,s:s,s:o,s:s,s:I,s:I,s:I,s:s,s:o,s:s?,s:s}", "id", (json_int_t)v->id,
        "uuid", v->uuid, "name", v->name, "host_id", (json_int_t)v->host_id, "host", v->host_name,
        "tenant_id", v->tenant_id ? json_integer(v->tenant_id) : json_null(), "state", v->state,
        "vcpus", (json_int_t)v->vcpus, "memory_mib", (json_int_t)v->memory_mib, "disk_gib",
        (json_int_t)v->disk_gib, "firmware", v->firmware, "tags", json_array_text(v->tags),
        "created_at", api_nz(v->created_at), "updated_at", v->updated_at);
    if (!j || !detail)
        return j;
    json_t *more = json_pack(
        "{s:i,s:I,s:I,s:b,s:b,s:s?,s:s?,s:s?,s:o,s:o}", "state_reason", v->state_reason,
        "max_vcpus", (json_int_t)v->max_vcpus, "max_memory_mib", (json_int_t)v->max_memory_mib,
        "persistent", v->persistent, "autostart", v->autostart, "domain_type",
        api_nz(v->domain_type), "arch", api_nz(v->arch), "partition", api_nz(v->partition), "disks",
        json_array_text(v->disks), "nics", json_array_text(v->nics));
    if (!more || json_object_update(j, more) < 0) {
        json_decref(more);
        json_decref(j);
        return NULL;
    }
    json_decref(more);
    return j;
}

static json_t *
stats_json(const struct virt_domain_stats *s)
{
    json_t *j = json_pack("{s:s,s:I}", "state", virt_dom_state_name(s->state), "sampled_at_ms",
                          (json_int_t)s->sampled_ms);
    if (!j)
        return NULL;
    json_object_set_new(j, "cpu",
                        (s->have & VIRT_STATS_CPU)
                            ? json_pack("{s:I,s:I}", "time_ns", (json_int_t)s->cpu_time_ns, "vcpus",
                                        (json_int_t)s->vcpus)
                            : json_null());
    json_object_set_new(
        j, "memory",
        (s->have & VIRT_STATS_BALLOON)
            ? json_pack("{s:I,s:I,s:I,s:I,s:I}", "current_kib", (json_int_t)s->mem_current_kib,
                        "max_kib", (json_int_t)s->mem_max_kib, "rss_kib",
                        (json_int_t)s->mem_rss_kib, "unused_kib", (json_int_t)s->mem_unused_kib,
                        "available_kib", (json_int_t)s->mem_available_kib)
            : json_null());
    json_object_set_new(
        j, "block",
        (s->have & VIRT_STATS_BLOCK)
            ? json_pack("{s:I,s:I,s:I,s:I}", "read_bytes", (json_int_t)s->block_rd_bytes,
                        "write_bytes", (json_int_t)s->block_wr_bytes, "read_reqs",
                        (json_int_t)s->block_rd_reqs, "write_reqs", (json_int_t)s->block_wr_reqs)
            : json_null());
    json_object_set_new(
        j, "net",
        (s->have & VIRT_STATS_NET)
            ? json_pack("{s:I,s:I,s:I,s:I}", "rx_bytes", (json_int_t)s->net_rx_bytes, "tx_bytes",
                        (json_int_t)s->net_tx_bytes, "rx_packets", (json_int_t)s->net_rx_pkts,
                        "tx_packets", (json_int_t)s->net_tx_pkts)
            : json_null());
    return j;
}

/* ---- list ---- */

static bool
tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n < 1 || n > VIRT_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static bool
state_valid(const char *s)
{
    static const char *const states[] = {"unknown",  "running", "blocked", "paused",
                                         "shutdown", "shutoff", "crashed", "pmsuspended"};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (!strcmp(s, states[i]))
            return true;
    return false;
}

/* The filters of GET /vms (validated; text borrowed from the arena). */
static int
vm_filter(struct api_req *r, struct db_vm_filter *f, err *e)
{
    bool bad = false;
    *f = (struct db_vm_filter){.visible = api_visible_tenants(r, PERM_VM_READ), .tenant_id = -1};
    if (api_query_int(r, "host_id", 1, INT64_MAX, 0, &f->host_id, e) < 0 ||
        api_query_int(r, "tenant_id", 0, INT64_MAX, -1, &f->tenant_id, e) < 0)
        return -1;
    f->state = api_query(r, "state", &bad);
    if (bad || (f->state && !state_valid(f->state)))
        return err_set_field(e, "state",
                             "'state' must be one of unknown, running, blocked, paused, shutdown, "
                             "shutoff, crashed, pmsuspended.");
    f->q = api_query(r, "q", &bad);
    if (bad || (f->q && api_check_text("q", f->q, 64, true, e) < 0))
        return bad ? err_set_field(e, "q", "'q' is malformed.") : -1;
    f->tag = api_query(r, "tag", &bad);
    if (bad || (f->tag && !tag_valid(f->tag)))
        return err_set_field(e, "tag",
                             "'tag' must be 1 to 64 characters of A-Z, a-z, 0-9 and "
                             "'.', '_', ':', '-'.");
    if (f->q && !*f->q)
        f->q = NULL;
    return 0;
}

/* The list body is assembled as text from items SQLite rendered: the
 * busiest read of the portal builds no JSON tree (db_vm_list_json). */
struct list_text {
    struct api_list *l;
    char *p; /* malloc'd; handed to the arena at the end */
    size_t len, cap;
    bool oom;
};

static void
text_add(struct list_text *t, const char *s, size_t n)
{
    if (t->oom || t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 16384;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *np = t->oom ? NULL : realloc(t->p, cap);
        if (!np) {
            t->oom = true;
            return;
        }
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static int
list_item(void *arg, const char *json, size_t len, int64_t id, const char *key, err *e)
{
    struct list_text *t = arg;
    if (t->l->last_key)
        text_add(t, ",", 1);
    text_add(t, json, len);
    /* what the next page starts after (the cursor) */
    t->l->last_key = arena_strdup(t->l->r->a, key);
    t->l->last_id = id;
    return t->oom || !t->l->last_key ? err_set(e, ERR_UNAVAILABLE, "Out of memory.") : 0;
}

/* The cursor of api_list_begin's format: base64url of ["sort", "key", id]. */
static const char *
cursor_text(struct api_list *l)
{
    json_t *j = json_pack("[s,s,I]", l->sort_name, l->last_key, (json_int_t)l->last_id);
    char *raw = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char *enc = raw ? auth_b64url_encode(raw, strlen(raw)) : NULL;
    free(raw);
    const char *out = arena_printf(l->r->a, "\"%s\"", enc ? enc : "");
    free(enc);
    return out;
}

/* The last page of GET /vms each worker thread rendered, with what it was
 * asked (the caller's visible tenants and the query string) and the vm
 * table's generation it was rendered at (db_inventory_gen): dashboards poll
 * the same pages, which are copied rather than queried again while no VM
 * row changed. One per thread (civetweb runs one request at a time on a
 * worker), so nothing is shared and nothing is locked; freed with the thread. */
struct page_cache {
    const struct vp_app *app;
    int64_t gen;
    char *key;
    char *body;
    size_t len;
};

enum { PAGE_CACHE_MAX = 64 * 1024 }; /* a page of 200 VMs; 128 threads: 8 MiB at most */

static pthread_key_t page_key;
static pthread_once_t page_once = PTHREAD_ONCE_INIT;
static bool page_ok;

static void
page_free(void *p)
{
    struct page_cache *c = p;
    free(c->key);
    free(c->body);
    free(c);
}

static void
page_init(void)
{
    page_ok = pthread_key_create(&page_key, page_free) == 0;
}

/* This thread's cache (NULL when there is none). */
static struct page_cache *
page_cache(void)
{
    pthread_once(&page_once, page_init);
    if (!page_ok)
        return NULL;
    struct page_cache *c = pthread_getspecific(page_key);
    if (!c && (c = calloc(1, sizeof(*c))) && pthread_setspecific(page_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/* Replies with `body` (borrowed: from this thread's cache, or handed to the
 * request arena). The response is written by this thread before it takes
 * another request (server/http.c), so a cached body outlives its use. */
static void
reply_body(struct api_resp *w, const char *body, size_t len)
{
    *w = (struct api_resp){
        .status = 200, .content_type = "application/json", .body = body, .body_len = len};
}

/* Finishes the body and replies with it; the cache keeps it (taking t->p). */
static int
reply_list_text(struct api_req *r, struct api_resp *w, struct list_text *t, struct page_cache *c,
                int64_t gen, const char *key, err *e)
{
    const char *next = t->l->page.more && t->l->last_key ? cursor_text(t->l) : "null";
    text_add(t, "],\"next_cursor\":", 16);
    text_add(t, next ? next : "null", next ? strlen(next) : 4);
    text_add(t, "}", 1);
    if (t->oom) {
        free(t->p);
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    }
    char *k = c && t->len <= PAGE_CACHE_MAX ? strdup(key) : NULL;
    if (!k) {
        if (arena_defer(r->a, free, t->p) < 0) {
            free(t->p);
            return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
        }
        reply_body(w, t->p, t->len);
        return 0;
    }
    free(c->key);
    free(c->body);
    *c = (struct page_cache){.app = r->app, .gen = gen, .key = k, .body = t->p, .len = t->len};
    reply_body(w, c->body, c->len);
    return 0;
}

int
api_vms_list(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const sorts[DB_VM_SORT_COUNT] = {[DB_VM_SORT_NAME] = "name",
                                                        [DB_VM_SORT_STATE] = "state",
                                                        [DB_VM_SORT_CREATED] = "created",
                                                        [DB_VM_SORT_ID] = "id"};
    struct api_list l;
    struct db_vm_filter f;
    int64_t gen = 0;
    if (api_list_begin(r, &l, sorts, DB_VM_SORT_COUNT, DB_VM_SORT_NAME, e) < 0 ||
        vm_filter(r, &f, e) < 0 || db_inventory_gen(r->app->db, &gen, e) < 0)
        return -1;
    const char *key =
        arena_printf(r->a, "%s\n%s", f.visible ? f.visible : "*", r->query ? r->query : "");
    struct page_cache *c = page_cache();
    if (c && key && c->app == r->app && c->gen == gen && c->key && !strcmp(c->key, key)) {
        reply_body(w, c->body, c->len);
        return 0;
    }
    struct list_text t = {.l = &l};
    text_add(&t, "{\"items\":[", 10);
    if (db_vm_list_json(r->app->db, &f, &l.page, list_item, &t, e) < 0) {
        free(t.p);
        return -1;
    }
    return reply_list_text(r, w, &t, key ? c : NULL, gen, key, e);
}

/* ---- one VM ---- */

/* VM {id} of the path, if the caller may see it: another tenant's VM is a
 * 404 exactly like a missing one. */
static int
load_vm(struct api_req *r, struct db_vm *v, err *e)
{
    int64_t id;
    err le = {0};
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    if (db_vm_get(r->app->db, id, r->a, v, &le) < 0)
        return le.kind == ERR_NOT_FOUND ? err_set(e, ERR_NOT_FOUND, "No such VM.")
                                        : err_set(e, le.kind, "%s", le.detail);
    return api_require(r, PERM_VM_READ, v->tenant_id, "VM", e);
}

int
api_vms_get(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_vm v;
    struct inventory *inv = api_inventory(r, e);
    if (!inv || load_vm(r, &v, e) < 0)
        return -1;
    json_t *j = vm_json(&v, true);
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    struct virt_domain_stats st;
    err se = {0};
    if (inventory_vm_stats(inv, v.host_id, v.uuid, &st, &se) == 0) {
        json_object_set_new(j, "stats", stats_json(&st));
    } else {
        json_object_set_new(j, "stats", json_null());
        json_object_set_new(j, "stats_error", json_string(se.detail));
    }
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}

/* ---- assignment ---- */

struct vm_change {
    int64_t tenant_id;
    bool set_tenant;
    const char *tags[VIRT_TAGS_MAX];
    size_t ntags;
    bool set_tags;
};

static int
parse_tenant(struct api_req *r, struct vm_change *c, err *e)
{
    json_t *t = json_object_get(r->json, "tenant_id");
    if (!t)
        return 0;
    c->set_tenant = true;
    if (api_body_id(r, "tenant_id", true, &c->tenant_id, e) < 0)
        return -1;
    struct db_tenant tenant;
    err te = {0};
    if (c->tenant_id && db_tenant_get(r->app->db, c->tenant_id, &tenant, &te) < 0)
        return te.kind == ERR_NOT_FOUND ? err_set_field(e, "tenant_id", "No such tenant.")
                                        : err_set(e, te.kind, "%s", te.detail);
    return 0;
}

static int
parse_tags(struct api_req *r, struct vm_change *c, err *e)
{
    json_t *tags = json_object_get(r->json, "tags");
    if (!tags)
        return 0;
    c->set_tags = true;
    if (!json_is_array(tags) || json_array_size(tags) > VIRT_TAGS_MAX)
        return err_set_field(e, "tags", "'tags' must be an array of at most %d tags.",
                             VIRT_TAGS_MAX);
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *s = json_string_value(t);
        if (!s || !tag_valid(s))
            return err_set_field(e, "tags",
                                 "Each tag must be 1 to 64 characters of A-Z, a-z, 0-9 and '.', "
                                 "'_', ':', '-'.");
        for (size_t k = 0; k < c->ntags; k++)
            if (!strcmp(c->tags[k], s))
                return err_set_field(e, "tags", "Tag '%s' is given twice.", s);
        c->tags[c->ntags++] = s;
    }
    return 0;
}

static int
parse_change(struct api_req *r, struct vm_change *c, err *e)
{
    static const char *const allowed[] = {"tenant_id", "tags", NULL};
    memset(c, 0, sizeof(*c));
    if (api_body_only(r, allowed, e) < 0 || parse_tenant(r, c, e) < 0 || parse_tags(r, c, e) < 0)
        return -1;
    if (!c->set_tenant && !c->set_tags)
        return err_set(e, ERR_INVALID, "Nothing to change: give 'tenant_id' and/or 'tags'.");
    return 0;
}

/* Assigning VMs is tenancy administration: host.admin or tenant.admin, globally. */
static int
require_assign(struct api_req *r, const struct db_vm *v, err *e)
{
    if (api_can(r, PERM_HOST_ADMIN, 0) || api_can(r, PERM_TENANT_ADMIN, 0))
        return 0;
    err_set(e, ERR_FORBIDDEN, "You may not do this (needs host.admin or tenant.admin globally).");
    api_audit_denied(r, "vm.update", arena_printf(r->a, "vm/%lld", (long long)v->id), v->tenant_id,
                     e);
    return -1;
}

/* {"tenant_id": {"before", "after"}, "tags": {"before", "after"}} of what changes. */
static json_t *
change_details(const struct db_vm *v, const struct vm_change *c)
{
    json_t *d = json_pack("{s:s,s:s}", "uuid", v->uuid, "name", v->name);
    if (d && c->set_tenant)
        json_object_set_new(d, "tenant_id",
                            json_pack("{s:o,s:o}", "before",
                                      v->tenant_id ? json_integer(v->tenant_id) : json_null(),
                                      "after",
                                      c->tenant_id ? json_integer(c->tenant_id) : json_null()));
    if (d && c->set_tags) {
        json_t *after = json_array();
        for (size_t i = 0; i < c->ntags; i++)
            json_array_append_new(after, json_string(c->tags[i]));
        json_object_set_new(
            d, "tags", json_pack("{s:o,s:o}", "before", json_array_text(v->tags), "after", after));
    }
    return d;
}

int
api_vms_update(struct api_req *r, struct api_resp *w, err *e)
{
    struct db_vm v;
    struct vm_change c;
    struct inventory *inv = api_inventory(r, e);
    if (!inv || load_vm(r, &v, e) < 0 || require_assign(r, &v, e) < 0 || parse_change(r, &c, e) < 0)
        return -1;
    struct inventory_assign req = {.tenant_id = c.set_tenant ? &c.tenant_id : NULL,
                                   .tags = c.tags,
                                   .ntags = c.ntags,
                                   .tags_set = c.set_tags};
    struct db_audit a;
    api_audit_init(r, &a, "vm.update", NULL,
                   c.set_tenant && c.tenant_id ? c.tenant_id : v.tenant_id);
    a.details = change_details(&v, &c);
    int rc = inventory_vm_assign(inv, v.host_id, v.uuid, &req, &a, NULL, e);
    json_decref(a.details);
    if (rc < 0 || db_vm_get(r->app->db, v.id, r->a, &v, e) < 0)
        return -1;
    json_t *j = vm_json(&v, true);
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    api_reply_json(r, w, 200, j);
    json_decref(j);
    return 0;
}
