/* VM actions, snapshots, create, delete and migration as tasks (see
 * vm_actions.h). Handlers validate, authorize and check the cached state,
 * then hand the work to server/vm_tasks.c and answer 202. */
#include "vm_actions.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../db/inventory.h"
#include "app.h"
#include "identity.h"
#include "inventory.h" /* api/inventory.h: api_nz */
#include "quotas.h"
#include "tasks.h"
#include "vm_tasks.h"

/* ======================================================================== */
/* shared: the VM of the path, its host, the task's owner                    */

struct vm_ctx {
    struct db_vm v;
    struct vm_task_vm ref;
    const char *target; /* "vm/<id>" (arena) */
};

/* VM {id} of the path, if the caller may use `perm` on it: another tenant's
 * VM is a 404 exactly like a missing one; a visible one without `perm` 403. */
static int
load_vm(struct api_req *r, enum perm perm, struct vm_ctx *c, err *e)
{
    int64_t id;
    err le = {0};
    if (api_param_id(r, 0, &id, e) < 0)
        return -1;
    if (db_vm_get(r->app->db, id, r->a, &c->v, &le) < 0)
        return le.kind == ERR_NOT_FOUND ? err_set(e, ERR_NOT_FOUND, "No such VM.")
                                        : err_set(e, le.kind, "%s", le.detail);
    if (api_require(r, PERM_VM_READ, c->v.tenant_id, "VM", e) < 0 ||
        api_require(r, perm, c->v.tenant_id, "VM", e) < 0)
        return -1;
    c->ref =
        (struct vm_task_vm){.id = c->v.id, .host_id = c->v.host_id, .tenant_id = c->v.tenant_id};
    snprintf(c->ref.uuid, sizeof(c->ref.uuid), "%s", c->v.uuid);
    snprintf(c->ref.name, sizeof(c->ref.name), "%s", c->v.name);
    c->target = arena_printf(r->a, "vm/%lld", (long long)c->v.id);
    return c->target ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

/* A host the portal cannot reach gets no task (it would only fail). */
static int
host_usable(struct api_req *r, int64_t host_id, struct db_host *h, err *e)
{
    if (db_host_get(r->app->db, host_id, h, e) < 0)
        return -1;
    if (!strcmp(h->conn_state, "unreachable"))
        return err_set(e, ERR_UNAVAILABLE, "Host '%s' is unreachable%s%s", h->name,
                       h->last_error[0] ? ": " : ".", h->last_error);
    return 0;
}

static struct vm_task_who
who_of(const struct api_req *r)
{
    return (struct vm_task_who){.user_id = r->who.user_id, .login = r->who.login};
}

/* The audit row of a queued VM task; details {uuid, name, host_id} + extra
 * (consumed, may be NULL). The caller decrefs a->details. */
static void
vm_audit(struct api_req *r, const struct vm_ctx *c, const char *action, json_t *extra,
         struct db_audit *a)
{
    api_audit_init(r, a, action, c->target, c->v.tenant_id);
    a->details = json_pack("{s:s,s:s,s:I}", "uuid", c->v.uuid, "name", c->v.name, "host_id",
                           (json_int_t)c->v.host_id);
    if (a->details && extra)
        json_object_update(a->details, extra);
    json_decref(extra);
}

/* Answers 202 for the task just queued (rc 0), or passes the error on. */
static int
accepted(struct api_req *r, struct api_resp *w, struct db_audit *a, int rc, int64_t task, err *e)
{
    json_decref(a->details);
    a->details = NULL;
    return rc < 0 ? -1 : api_tasks_accepted(r, w, task, e);
}

static bool
is_state(const struct db_vm *v, const char *s)
{
    return !strcmp(v->state, s);
}

/* Like err_set_field, with another kind than ERR_INVALID (404, 409). */
static int __attribute__((format(printf, 4, 5)))
field_err(err *e, enum err_kind kind, const char *field, const char *fmt, ...)
{
    char msg[sizeof(e->detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set_field(e, field, "%s", msg);
    e->kind = kind;
    return -1;
}

/* ======================================================================== */
/* power actions                                                             */

/* Refuses (409) what the cached state already rules out; states the cache
 * cannot judge (unknown, shutdown in progress, crashed...) go to libvirt,
 * which refuses with the same words when the cache was stale. */
static int
state_allows(const struct db_vm *v, enum virt_action act, err *e)
{
    bool running = is_state(v, "running") || is_state(v, "blocked");
    bool paused = is_state(v, "paused"), off = is_state(v, "shutoff");
    switch (act) {
    case VIRT_ACT_START:
        if (running || paused)
            return err_set(e, ERR_CONFLICT, "The VM is already running%s.",
                           paused ? " (paused: resume it)" : "");
        return 0;
    case VIRT_ACT_RESUME:
        return running || off ? err_set(e, ERR_CONFLICT, "The VM is not paused.") : 0;
    case VIRT_ACT_SUSPEND:
        if (paused)
            return err_set(e, ERR_CONFLICT, "The VM is already paused.");
        break;
    case VIRT_ACT_SHUTDOWN:
    case VIRT_ACT_REBOOT:
        if (paused)
            return err_set(e, ERR_CONFLICT, "The VM is paused: resume it first.");
        break;
    default:
        break;
    }
    return off ? err_set(e, ERR_CONFLICT, "The VM is not running.") : 0;
}

int
api_vm_actions_act(struct api_req *r, struct api_resp *w, err *e)
{
    enum virt_action act;
    if (virt_action_parse(r->params[1], &act) < 0)
        return err_set(e, ERR_NOT_FOUND,
                       "No such action: use start, shutdown, reboot, reset, poweroff, suspend, "
                       "resume or migrate.");
    struct vm_ctx c;
    struct db_host h;
    if (load_vm(r, PERM_VM_POWER, &c, e) < 0 || state_allows(&c.v, act, e) < 0 ||
        host_usable(r, c.v.host_id, &h, e) < 0)
        return -1;
    struct db_audit a;
    const char *action = arena_printf(r->a, "vm.%s", virt_action_name(act));
    vm_audit(r, &c, action ? action : "vm.action", NULL, &a);
    struct vm_task_who who = who_of(r);
    int64_t task = 0;
    int rc = vm_tasks_action(r->app, &c.ref, act, &who, &a, &task, e);
    return accepted(r, w, &a, rc, task, e);
}

/* ======================================================================== */
/* migration                                                                 */

static int
parse_migrate(struct api_req *r, struct vm_task_migrate_opts *o, err *e)
{
    static const char *const allowed[] = {"target_host_id", "tunnelled", "unsafe", "bandwidth_mibs",
                                          NULL};
    int tunnelled = -1, unsafe = -1;
    *o = (struct vm_task_migrate_opts){0};
    if (api_body_only(r, allowed, e) < 0 ||
        api_body_id(r, "target_host_id", false, &o->dst_host_id, e) < 0 ||
        api_body_bool(r, "tunnelled", &tunnelled, e) < 0 ||
        api_body_bool(r, "unsafe", &unsafe, e) < 0)
        return -1;
    if (!o->dst_host_id)
        return err_set_field(e, "target_host_id", "'target_host_id' is required.");
    json_t *bw = json_object_get(r->json, "bandwidth_mibs");
    if (bw &&
        (!json_is_integer(bw) || json_integer_value(bw) < 0 || json_integer_value(bw) > 1000000))
        return err_set_field(e, "bandwidth_mibs",
                             "'bandwidth_mibs' must be an integer from 0 (unlimited) to 1000000.");
    o->bandwidth_mibs = bw ? (uint64_t)json_integer_value(bw) : 0;
    o->tunnelled = tunnelled != 0; /* default: data through libvirtd's own connection */
    o->unsafe = unsafe == 1;
    return 0;
}

/* Both hosts usable, the VM running, and its CPU not known to be
 * incompatible with the target (unknown: the driver cannot tell, proceed). */
static int
migrate_checks(struct api_req *r, const struct vm_ctx *c, const struct vm_task_migrate_opts *o,
               enum virt_cpu_compat *compat, err *e)
{
    struct db_host src, dst;
    err he = {0};
    if (o->dst_host_id == c->v.host_id)
        return err_set_field(e, "target_host_id", "The VM is already on that host.");
    if (!is_state(&c->v, "running") && !is_state(&c->v, "blocked") && !is_state(&c->v, "paused"))
        return err_set(e, ERR_CONFLICT,
                       "The VM is not running: only a running VM can be "
                       "live-migrated.");
    if (host_usable(r, o->dst_host_id, &dst, &he) < 0) {
        if (he.kind == ERR_NOT_FOUND)
            return field_err(e, ERR_NOT_FOUND, "target_host_id", "No such host.");
        *e = he;
        return -1;
    }
    if (host_usable(r, c->v.host_id, &src, e) < 0 ||
        vm_tasks_migrate_check(r->app, &c->ref, o->dst_host_id, compat, e) < 0)
        return -1;
    if (*compat == VIRT_CPU_COMPAT_INCOMPATIBLE)
        return err_set(e, ERR_CONFLICT,
                       "The CPU of host '%s' cannot run this VM (its CPU model or features are "
                       "missing there).",
                       dst.name);
    return 0;
}

/* Choosing hosts is an infrastructure call: host.read globally as well. */
int
api_vm_actions_migrate(struct api_req *r, struct api_resp *w, err *e)
{
    struct vm_ctx c;
    struct vm_task_migrate_opts o;
    enum virt_cpu_compat compat;
    if (!api_can(r, PERM_HOST_READ, 0))
        return err_set(e, ERR_FORBIDDEN, "You may not do this (needs host.read globally).");
    if (load_vm(r, PERM_VM_POWER, &c, e) < 0 || parse_migrate(r, &o, e) < 0 ||
        migrate_checks(r, &c, &o, &compat, e) < 0)
        return -1;
    struct db_audit a;
    vm_audit(r, &c, "vm.migrate",
             json_pack("{s:I,s:I,s:s,s:b,s:b,s:I}", "from_host_id", (json_int_t)c.v.host_id,
                       "to_host_id", (json_int_t)o.dst_host_id, "cpu_compat",
                       virt_cpu_compat_name(compat), "tunnelled", o.tunnelled, "unsafe", o.unsafe,
                       "bandwidth_mibs", (json_int_t)o.bandwidth_mibs),
             &a);
    struct vm_task_who who = who_of(r);
    int64_t task = 0;
    int rc = vm_tasks_migrate(r->app, &c.ref, &o, &who, &a, &task, e);
    return accepted(r, w, &a, rc, task, e);
}

/* ======================================================================== */
/* create                                                                    */

/* virt's name rule (VM, snapshot, pool and network names). */
static bool
name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > VIRT_NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int
name_field(const struct api_req *r, const char *key, bool required, char *out, size_t n, err *e)
{
    const char *s = NULL;
    if (api_body_string(r, key, required, !required, &s, e) < 0)
        return -1;
    if (s && !name_ok(s))
        return err_set_field(e, key,
                             "'%s' must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and "
                             "'-', not starting with '.' or '-'.",
                             key);
    snprintf(out, n, "%s", s ? s : "");
    return 0;
}

static int
int_field(const struct api_req *r, const char *key, int64_t lo, int64_t hi, int64_t *out, err *e)
{
    json_t *v = json_object_get(r->json, key);
    if (!v)
        return err_set_field(e, key, "'%s' is required.", key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_set_field(e, key, "'%s' must be an integer from %lld to %lld.", key,
                             (long long)lo, (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* "pool/volume" or an absolute path of plain characters. */
static int
base_image_field(const struct api_req *r, char *out, size_t n, err *e)
{
    const char *s = NULL;
    if (api_body_string(r, "base_image", false, true, &s, e) < 0)
        return -1;
    snprintf(out, n, "%s", s ? s : "");
    if (!s)
        return 0;
    const char *slash = strchr(s, '/');
    bool ok = strlen(s) < n && slash;
    if (ok && s[0] != '/') {
        char pool[VIRT_NAME_MAX + 1];
        ok = slash - s <= VIRT_NAME_MAX && name_ok(slash + 1);
        snprintf(pool, sizeof(pool), "%.*s", (int)(slash - s), s);
        ok = ok && name_ok(pool);
    }
    for (const char *p = s; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr("._/+-", *p);
    if (!ok || strstr(s, "/../") || strstr(s, "//"))
        return err_set_field(e, "base_image",
                             "'base_image' must be \"pool/volume\" or an absolute path to a "
                             "volume.");
    return 0;
}

static int
firmware_field(const struct api_req *r, enum virt_firmware *out, err *e)
{
    const char *s = NULL;
    if (api_body_string(r, "firmware", false, false, &s, e) < 0)
        return -1;
    if (!s || !strcmp(s, "bios"))
        *out = VIRT_FW_BIOS;
    else if (!strcmp(s, "uefi"))
        *out = VIRT_FW_UEFI;
    else
        return err_set_field(e, "firmware", "'firmware' must be \"bios\" or \"uefi\".");
    return 0;
}

/* The tenant: absent = the caller's own (none for a global user), null =
 * none (needs vm.create globally). */
static int
tenant_field(struct api_req *r, int64_t *out, err *e)
{
    json_t *t = json_object_get(r->json, "tenant_id");
    if (!t) {
        *out = r->who.tenant_id;
        return 0;
    }
    return api_body_id(r, "tenant_id", true, out, e);
}

/* Shape and ranges of the spec (no database): 400 naming the field. */
static int
parse_spec(struct api_req *r, struct vm_task_new *nv, err *e)
{
    static const char *const allowed[] = {"name",       "host_id",  "tenant_id", "vcpus",
                                          "memory_mib", "disk_gib", "pool",      "base_image",
                                          "network",    "firmware", NULL};
    memset(nv, 0, sizeof(*nv));
    if (api_body_only(r, allowed, e) < 0 ||
        name_field(r, "name", true, nv->name, sizeof(nv->name), e) < 0 ||
        api_body_id(r, "host_id", false, &nv->host_id, e) < 0 ||
        tenant_field(r, &nv->tenant_id, e) < 0 ||
        int_field(r, "vcpus", 1, 256, &nv->vcpus, e) < 0 ||
        int_field(r, "memory_mib", 64, 4194304, &nv->memory_mib, e) < 0 ||
        int_field(r, "disk_gib", 1, 65536, &nv->disk_gib, e) < 0 ||
        name_field(r, "pool", false, nv->pool, sizeof(nv->pool), e) < 0 ||
        base_image_field(r, nv->base_image, sizeof(nv->base_image), e) < 0 ||
        name_field(r, "network", false, nv->network, sizeof(nv->network), e) < 0 ||
        firmware_field(r, &nv->firmware, e) < 0)
        return -1;
    if (!nv->host_id)
        return err_set_field(e, "host_id", "'host_id' is required.");
    if (!nv->pool[0] && !nv->base_image[0])
        return err_set_field(e, "pool", "Give 'pool' (a new empty disk) or 'base_image'.");
    struct virt_spec s = {.name = nv->name,
                          .vcpus = nv->vcpus,
                          .memory_mib = nv->memory_mib,
                          .disk_gib = nv->disk_gib,
                          .pool = nv->pool[0] ? nv->pool : NULL,
                          .base_image = nv->base_image[0] ? nv->base_image : NULL,
                          .network = nv->network[0] ? nv->network : NULL,
                          .firmware = nv->firmware,
                          .tenant_id = nv->tenant_id};
    return virt_spec_validate(&s, e); /* the virt module's own rules, as a backstop */
}

/* ---- what the cache says about the target host ---- */

struct find {
    const char *name;
    bool found;
    const char *key;
    int64_t id;
    arena *a;
};

static int
pool_row(void *arg, const struct db_pool *p, const char *key, err *e)
{
    struct find *f = arg;
    f->found = f->found || !strcmp(p->name, f->name);
    f->key = arena_strdup(f->a, key);
    f->id = p->id;
    return f->key ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

static int
network_row(void *arg, const struct db_network *n, const char *key, err *e)
{
    struct find *f = arg;
    f->found = f->found || !strcmp(n->name, f->name);
    f->key = arena_strdup(f->a, key);
    f->id = n->id;
    return f->key ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

static int
vm_row(void *arg, const struct db_vm *v, const char *key, err *e)
{
    struct find *f = arg;
    f->found = f->found || !strcmp(v->name, f->name);
    f->key = arena_strdup(f->a, key);
    f->id = v->id;
    return f->key ? 0 : err_set(e, ERR_INTERNAL, "out of memory");
}

/* Does host_id have a pool (what 0), network (1) or VM (2) called `name`? */
static int
host_has(struct api_req *r, int64_t host_id, int what, const char *name, bool *out, err *e)
{
    struct find f = {.name = name, .a = r->a};
    struct db_page pg = {.limit = 1000};
    struct db_vm_filter vf = {.host_id = host_id, .tenant_id = -1, .q = name};
    do {
        pg.more = false;
        int rc = what == 0   ? db_pool_list(r->app->db, host_id, &pg, pool_row, &f, e)
                 : what == 1 ? db_network_list(r->app->db, host_id, &pg, network_row, &f, e)
                             : db_vm_list(r->app->db, &vf, &pg, vm_row, &f, e);
        if (rc < 0)
            return -1;
        pg.after_key = f.key;
        pg.after_id = f.id;
    } while (pg.more && !f.found);
    *out = f.found;
    return 0;
}

/* A pool (what 0) or network (1) the spec names must be on the host. */
static int
need_on_host(struct api_req *r, const struct db_host *h, int what, const char *field,
             const char *name, err *e)
{
    bool has = false;
    if (!name[0])
        return 0;
    if (host_has(r, h->id, what, name, &has, e) < 0)
        return -1;
    if (!has)
        return err_set_field(e, field, "Host '%s' has no %s '%s'.", h->name,
                             what == 0 ? "storage pool" : "network", name);
    return 0;
}

/* The tenant and host exist, the pool and network are on the host, the
 * name is free there. */
static int
check_refs(struct api_req *r, const struct vm_task_new *nv, err *e)
{
    struct db_tenant t;
    struct db_host h;
    err le = {0};
    bool taken = false;
    if (nv->tenant_id && db_tenant_get(r->app->db, nv->tenant_id, &t, &le) < 0)
        return le.kind == ERR_NOT_FOUND
                   ? field_err(e, ERR_NOT_FOUND, "tenant_id", "No such tenant.")
                   : err_set(e, le.kind, "%s", le.detail);
    if (host_usable(r, nv->host_id, &h, &le) < 0)
        return le.kind == ERR_NOT_FOUND ? field_err(e, ERR_NOT_FOUND, "host_id", "No such host.")
                                        : err_set(e, le.kind, "%s", le.detail);
    char pool[VIRT_NAME_MAX + 1] = "";
    const char *slash = strchr(nv->base_image, '/');
    if (nv->base_image[0] && nv->base_image[0] != '/' && slash)
        snprintf(pool, sizeof(pool), "%.*s", (int)(slash - nv->base_image), nv->base_image);
    if (need_on_host(r, &h, 0, "pool", nv->pool, e) < 0 ||
        need_on_host(r, &h, 0, "base_image", pool, e) < 0 ||
        need_on_host(r, &h, 1, "network", nv->network, e) < 0 ||
        host_has(r, h.id, 2, nv->name, &taken, e) < 0)
        return -1;
    if (taken)
        return field_err(e, ERR_CONFLICT, "name", "Host '%s' already has a VM named '%s'.", h.name,
                         nv->name);
    return 0;
}

static json_t *
spec_json(const struct vm_task_new *nv, int64_t reservation)
{
    return json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:s?,s:s?,s:s?,s:s,s:I}", "name", nv->name, "host_id",
        (json_int_t)nv->host_id, "vcpus", (json_int_t)nv->vcpus, "memory_mib",
        (json_int_t)nv->memory_mib, "disk_gib", (json_int_t)nv->disk_gib, "pool", api_nz(nv->pool),
        "base_image", api_nz(nv->base_image), "network", api_nz(nv->network), "firmware",
        nv->firmware == VIRT_FW_UEFI ? "uefi" : "bios", "reservation_id", (json_int_t)reservation);
}

/* Reserves the new VM's allocation in its tenant (none without a tenant).
 * Returns 0, 1 when refused (the 403 is in w), -1. */
static int
reserve(struct api_req *r, struct api_resp *w, const struct vm_task_new *nv, const char *target,
        struct api_quota_hold **hold, err *e)
{
    *hold = NULL;
    if (!nv->tenant_id)
        return 0;
    struct quota_deltas d = {0};
    d.v[QUOTA_VMS] = 1;
    d.v[QUOTA_VCPUS] = nv->vcpus;
    d.v[QUOTA_MEMORY_MIB] = nv->memory_mib;
    d.v[QUOTA_DISK_GIB] = nv->disk_gib;
    return api_quotas_reserve(r, w, nv->tenant_id, &d, "quota.reserve", target, hold, e);
}

/* vm.create in the spec's tenant (a tenant the caller cannot see is 404 on
 * tenant_id); a VM without a tenant needs vm.create globally. */
static int
require_create(struct api_req *r, int64_t tenant_id, err *e)
{
    if (!tenant_id && !api_can(r, PERM_VM_CREATE, 0))
        return field_err(e, ERR_FORBIDDEN, "tenant_id",
                         "A VM without a tenant needs vm.create globally: give 'tenant_id'.");
    if (api_require(r, PERM_VM_CREATE, tenant_id, "tenant", e) == 0)
        return 0;
    if (e->kind == ERR_NOT_FOUND)
        snprintf(e->field, sizeof(e->field), "tenant_id");
    return -1;
}

int
api_vm_actions_create(struct api_req *r, struct api_resp *w, err *e)
{
    struct vm_task_new nv;
    struct api_quota_hold *hold = NULL;
    if (parse_spec(r, &nv, e) < 0 || require_create(r, nv.tenant_id, e) < 0 ||
        check_refs(r, &nv, e) < 0)
        return -1;
    const char *target = arena_printf(r->a, "host/%lld/vms/%s", (long long)nv.host_id, nv.name);
    int rc = target ? reserve(r, w, &nv, target, &hold, e) : err_set(e, ERR_INTERNAL, "oom");
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    struct db_audit a;
    api_audit_init(r, &a, "vm.create", target, nv.tenant_id);
    a.details = spec_json(&nv, hold ? hold->id : 0);
    struct vm_task_who who = who_of(r);
    int64_t task = 0;
    rc = vm_tasks_create(r->app, &nv, hold ? hold->id : 0, &who, &a, &task, e);
    if (rc == 0 && hold)
        hold->done = true; /* the task owns the reservation now (commits or releases it) */
    return accepted(r, w, &a, rc, task, e);
}

/* ======================================================================== */
/* delete                                                                    */

int
api_vm_actions_delete(struct api_req *r, struct api_resp *w, err *e)
{
    struct vm_ctx c;
    struct db_host h;
    int volumes = -1, force = -1;
    if (load_vm(r, PERM_VM_DELETE, &c, e) < 0 ||
        api_query_bool(r, "delete_volumes", &volumes, e) < 0 ||
        api_query_bool(r, "force", &force, e) < 0 || host_usable(r, c.v.host_id, &h, e) < 0)
        return -1;
    if (force != 1 && !is_state(&c.v, "shutoff") && !is_state(&c.v, "unknown"))
        return err_set(e, ERR_CONFLICT,
                       "The VM is %s: power it off first, or delete it with ?force=true.",
                       c.v.state);
    struct vm_task_delete_opts o = {.delete_volumes = volumes == 1, .force = force == 1};
    struct db_audit a;
    vm_audit(r, &c, "vm.delete",
             json_pack("{s:b,s:b}", "delete_volumes", o.delete_volumes, "force", o.force), &a);
    struct vm_task_who who = who_of(r);
    int64_t task = 0;
    int rc = vm_tasks_delete(r->app, &c.ref, &o, &who, &a, &task, e);
    return accepted(r, w, &a, rc, task, e);
}

/* ======================================================================== */
/* snapshots                                                                 */

static json_t *
snapshot_json(const struct virt_snapshot *s)
{
    char ts[32] = "";
    time_t t = (time_t)s->created;
    struct tm tm;
    if (s->created > 0 && gmtime_r(&t, &tm))
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:b}", "name", s->name, "description",
                     s->description, "parent", s->parent, "state", s->state, "created_at",
                     api_nz(ts), "current", s->current);
}

int
api_vm_actions_snapshots(struct api_req *r, struct api_resp *w, err *e)
{
    struct vm_ctx c;
    struct db_host h;
    struct virt_snapshot_list l;
    if (load_vm(r, PERM_VM_READ, &c, e) < 0 || host_usable(r, c.v.host_id, &h, e) < 0 ||
        vm_tasks_snapshot_list(r->app, &c.ref, &l, e) < 0)
        return -1;
    json_t *items = json_array();
    for (size_t i = 0; items && i < l.n; i++)
        json_array_append_new(items, snapshot_json(&l.items[i]));
    virt_snapshot_list_free(&l);
    if (!items)
        return err_set(e, ERR_INTERNAL, "out of memory");
    int rc = api_reply_list(r, w, items, NULL);
    json_decref(items);
    return rc < 0 ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}

/* Queues one snapshot operation on the VM of the path. */
static int
snapshot_op(struct api_req *r, struct api_resp *w, enum vm_snap_op op, const char *name,
            const char *desc, err *e)
{
    static const char *const actions[] = {[VM_SNAP_CREATE] = "vm.snapshot.create",
                                          [VM_SNAP_REVERT] = "vm.snapshot.revert",
                                          [VM_SNAP_DELETE] = "vm.snapshot.delete"};
    struct vm_ctx c;
    struct db_host h;
    if (load_vm(r, PERM_VM_POWER, &c, e) < 0 || host_usable(r, c.v.host_id, &h, e) < 0)
        return -1;
    struct db_audit a;
    vm_audit(r, &c, actions[op], json_pack("{s:s}", "snapshot", name), &a);
    struct vm_task_who who = who_of(r);
    int64_t task = 0;
    int rc = vm_tasks_snapshot(r->app, &c.ref, op, name, desc, &who, &a, &task, e);
    return accepted(r, w, &a, rc, task, e);
}

int
api_vm_actions_snapshot_create(struct api_req *r, struct api_resp *w, err *e)
{
    static const char *const allowed[] = {"name", "description", NULL};
    char name[VIRT_NAME_MAX + 1];
    const char *desc = NULL;
    if (api_body_only(r, allowed, e) < 0 ||
        name_field(r, "name", true, name, sizeof(name), e) < 0 ||
        api_body_string(r, "description", false, true, &desc, e) < 0 ||
        (desc && api_check_text("description", desc, VM_TASKS_DESC_MAX, true, e) < 0))
        return -1;
    return snapshot_op(r, w, VM_SNAP_CREATE, name, desc, e);
}

/* The {name} of the path: a name that cannot exist is a missing snapshot. */
static int
path_snapshot(const struct api_req *r, err *e)
{
    return name_ok(r->params[1]) ? 0 : err_set(e, ERR_NOT_FOUND, "No such snapshot.");
}

int
api_vm_actions_snapshot_revert(struct api_req *r, struct api_resp *w, err *e)
{
    if (path_snapshot(r, e) < 0)
        return -1;
    return snapshot_op(r, w, VM_SNAP_REVERT, r->params[1], NULL, e);
}

int
api_vm_actions_snapshot_delete(struct api_req *r, struct api_resp *w, err *e)
{
    if (path_snapshot(r, e) < 0)
        return -1;
    return snapshot_op(r, w, VM_SNAP_DELETE, r->params[1], NULL, e);
}
