/* Hosts: /api/v1/hosts[/{id}]; pools and networks: /api/v1/pools,
 * /api/v1/networks. See inventory.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../db/inventory.h"
#include "../server/inventory.h"
#include "app.h"
#include "identity.h"
#include "inventory.h"
#include "quota_runtime.h"

struct inventory *
api_inventory(struct api_req *r, err *e)
{
    if (!r->app->inventory)
        err_set(e, ERR_UNAVAILABLE, "The host connection manager is not running.");
    return r->app->inventory;
}

const char *
api_nz(const char *s)
{
    return s && *s ? s : NULL;
}

/* A number the host has not told yet (-1) is null. */
static json_t *
num_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *
capacity_json(const struct db_host *h, bool detail)
{
    json_t *c = json_pack("{s:o,s:o,s:o,s:o,s:o,s:s?,s:s?,s:s?}", "cores", num_or_null(h->cores),
                          "threads", num_or_null(h->threads), "sockets", num_or_null(h->sockets),
                          "memory_mib", num_or_null(h->memory_mib), "memory_free_mib",
                          num_or_null(h->memory_free_mib), "cpu_model", api_nz(h->cpu_model),
                          "cpu_vendor", api_nz(h->cpu_vendor), "arch", api_nz(h->arch));
    json_t *feat = detail ? json_loads(h->cpu_features, 0, NULL) : NULL;
    if (c && detail)
        json_object_set_new(c, "cpu_features", json_is_array(feat) ? feat : json_array());
    else
        json_decref(feat);
    return c;
}

static json_t *
alloc_json(const struct db_host_alloc *a)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "vms", (json_int_t)a->vms, "active",
                     (json_int_t)a->active, "vcpus", (json_int_t)a->vcpus, "memory_mib",
                     (json_int_t)a->memory_mib, "disk_gib", (json_int_t)a->disk_gib, "active_vcpus",
                     (json_int_t)a->active_vcpus, "active_memory_mib",
                     (json_int_t)a->active_memory_mib);
}

/* How tenants' runtime limits are enforced on the host (quota runtime);
 * null before the first check. */
static json_t *
enforcement_json(struct db *d, int64_t host_id)
{
    struct db_quota_host_mode m;
    err e = {0};
    if (db_quota_runtime_host_get(d, host_id, &m, &e) < 0)
        return json_null();
    return json_pack("{s:s,s:s,s:s}", "mode", db_quota_mode_name(m.mode), "detail", m.detail,
                     "checked_at", m.checked_at);
}

/* The host object of the API (see api/openapi/hosts.json, Host). */
static json_t *
host_json(struct db *d, const struct db_host *h, bool detail)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:o,s:o,s:o,s:s?,s:s?,s:s}", "id",
                          (json_int_t)h->id, "name", h->name, "uri", h->uri, "state", h->conn_state,
                          "last_error", api_nz(h->last_error), "state_since",
                          api_nz(h->state_since), "hostname", api_nz(h->hostname), "hypervisor",
                          api_nz(h->hypervisor), "libvirt_version", num_or_null(h->libvirt_version),
                          "capacity", capacity_json(h, detail), "allocation", alloc_json(&h->alloc),
                          "facts_at", api_nz(h->facts_at), "reconciled_at",
                          api_nz(h->reconciled_at), "created_at", h->created_at);
    if (j)
        json_object_set_new(j, "quota_enforcement", enforcement_json(d, h->id));
    return j;
}

/* ---- validation ---- */

/* 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
static int
check_host_name(const char *s, err *e)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= DB_HOST_NAME_MAX && s[0] != '.' && s[0] != '-';
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return err_set_field(e, "name",
                             "'name' must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and "
                             "'-', not starting with '.' or '-'.");
    return 0;
}

/* name and uri of the body (each NULL when absent; both required on create). */
static int
host_body(struct api_req *r, bool create, const char **name, const char **uri, err *e)
{
    static const char *const allowed[] = {"name", "uri", NULL};
    if (api_body_only(r, allowed, e) < 0 ||
        api_body_string(r, "name", create, false, name, e) < 0 ||
        api_body_string(r, "uri", create, false, uri, e) < 0)
        return -1;
    if (*name && check_host_name(*name, e) < 0)
        return -1;
    if (!create && !*name && !*uri)
        return err_set(e, ERR_INVALID, "Nothing to change: give 'name' and/or 'uri'.");
    return 0;
}

/* ---- handlers ---- */

static int
reply_host(struct api_req *r, struct api_resp *w, int64_t id, bool created, err *e)
{
    struct db_host *h = arena_alloc(r->a, sizeof(*h));
    if (!h)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    if (db_host_get(r->app->db, id, h, e) < 0)
        return -1;
    json_t *j = host_json(r->app->db, h, true);
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "Out of memory.");
    int rc =
        created ? api_reply_created(r, w, "/api/v1/hosts", id, j) : api_reply_json(r, w, 200, j);
    json_decref(j);
    return rc;
}

static int
host_list_row(void *arg, const struct db_host *h, const char *key, err *e)
{
    return api_list_push(arg, host_json(((struct api_list *)arg)->r->app->db, h, false), key, h->id,
                         e);
}

int
api_hosts_list(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const sorts[DB_HOST_SORT_COUNT] = {
        [DB_HOST_SORT_NAME] = "name", [DB_HOST_SORT_CREATED] = "created", [DB_HOST_SORT_ID] = "id"};
    struct api_list l;
    if (api_list_begin(r, &l, sorts, DB_HOST_SORT_COUNT, DB_HOST_SORT_NAME, e) < 0 ||
        db_host_list(r->app->db, &l.page, host_list_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

int
api_hosts_create(struct api_req *r, struct api_resp *w, err *e)
{
    const char *name = NULL, *uri = NULL;
    struct inventory *inv = api_inventory(r, e);
    if (!inv || host_body(r, true, &name, &uri, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "host.create", NULL, 0);
    int64_t id = 0;
    if (inventory_host_create(inv, name, uri, &a, &id, e) < 0)
        return -1;
    return reply_host(r, w, id, true, e);
}

int
api_hosts_get(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    return reply_host(r, w, id, false, e);
}

int
api_hosts_update(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    const char *name = NULL, *uri = NULL;
    struct inventory *inv = api_inventory(r, e);
    if (!inv || api_param_id(r, 0, &id, e) < 0 || host_body(r, false, &name, &uri, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "host.update", NULL, 0);
    if (inventory_host_update(inv, id, name, uri, &a, e) < 0)
        return -1;
    return reply_host(r, w, id, false, e);
}

int
api_hosts_delete(struct api_req *r, struct api_resp *w, err *e)
{
    int64_t id;
    int force = -1;
    struct inventory *inv = api_inventory(r, e);
    if (!inv || api_param_id(r, 0, &id, e) < 0 || api_query_bool(r, "force", &force, e) < 0)
        return -1;
    struct db_audit a;
    api_audit_init(r, &a, "host.delete", NULL, 0);
    if (inventory_host_delete(inv, id, force == 1, &a, NULL, e) < 0)
        return -1;
    return api_reply_empty(w);
}

/* ---- pools and networks ---- */

static int
pool_row(void *arg, const struct db_pool *p, const char *key, err *e)
{
    json_t *j = json_pack(
        "{s:I,s:I,s:s,s:s,s:s,s:s?,s:b,s:b,s:b,s:I,s:I,s:I,s:I,s:s}", "id", (json_int_t)p->id,
        "host_id", (json_int_t)p->host_id, "host", p->host_name, "uuid", p->uuid, "name", p->name,
        "type", api_nz(p->type), "active", p->active, "autostart", p->autostart, "persistent",
        p->persistent, "capacity_bytes", (json_int_t)p->capacity, "allocation_bytes",
        (json_int_t)p->allocation, "available_bytes", (json_int_t)p->available, "volumes",
        (json_int_t)p->volumes, "updated_at", p->updated_at);
    return api_list_push(arg, j, key, p->id, e);
}

static int
network_row(void *arg, const struct db_network *n, const char *key, err *e)
{
    json_t *j = json_pack(
        "{s:I,s:I,s:s,s:s,s:s,s:s?,s:s?,s:b,s:b,s:b,s:s}", "id", (json_int_t)n->id, "host_id",
        (json_int_t)n->host_id, "host", n->host_name, "uuid", n->uuid, "name", n->name, "bridge",
        api_nz(n->bridge), "forward_mode", api_nz(n->forward_mode), "active", n->active,
        "autostart", n->autostart, "persistent", n->persistent, "updated_at", n->updated_at);
    return api_list_push(arg, j, key, n->id, e);
}

/* ?host_id and the page of a pools/networks list (one order: host, name). */
static int
host_list_begin(struct api_req *r, struct api_list *l, int64_t *host_id, err *e)
{
    static const char *const sorts[] = {"host"};
    return api_list_begin(r, l, sorts, 1, 0, e) < 0 ||
                   api_query_int(r, "host_id", 1, INT64_MAX, 0, host_id, e) < 0
               ? -1
               : 0;
}

int
api_pools_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    int64_t host_id = 0;
    if (host_list_begin(r, &l, &host_id, e) < 0 ||
        db_pool_list(r->app->db, host_id, &l.page, pool_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}

int
api_networks_list(struct api_req *r, struct api_resp *w, err *e)
{
    struct api_list l;
    int64_t host_id = 0;
    if (host_list_begin(r, &l, &host_id, e) < 0 ||
        db_network_list(r->app->db, host_id, &l.page, network_row, &l, e) < 0)
        return -1;
    return api_list_reply(&l, w);
}
