/* plan_exec: prepare, compute, export and execute plans (see plan_exec.h). */
#include "plan_exec.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../db/inventory.h"
#include "app.h"
#include "arena.h"
#include "inventory.h"
#include "plan.h"
#include "plan_store.h"
#include "quota.h"
#include "task.h"
#include "virt.h"
#include "vm_tasks.h"

enum { MAX_FILES = 4096, MAX_SNAPSHOT_VMS = 200000, MAX_SNAPSHOT_HOSTS = 10000, MAX_RULES = 10000 };

/* ---------------------------------------------------------------- base64 */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_val(unsigned char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

/* Standard base64 (padding optional, blanks ignored) into a malloc'd buffer. */
static unsigned char *
b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s), k = 0;
    unsigned char *out = malloc(n / 4 * 3 + 4);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; out && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=')
            break;
        int v = b64_val(c);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    if (out)
        *len = k;
    return out;
}

json_t *
plan_exec_base64(const void *data, size_t n)
{
    const unsigned char *buf = data;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i += 3) {
        unsigned v = (unsigned)buf[i] << 16 | (i + 1 < n ? (unsigned)buf[i + 1] << 8 : 0) |
                     (i + 2 < n ? buf[i + 2] : 0);
        out[k++] = b64chars[v >> 18 & 63];
        out[k++] = b64chars[v >> 12 & 63];
        out[k++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    json_t *j = out ? json_stringn(out, k) : NULL;
    free(out);
    return j;
}

/* ---------------------------------------------------------------- the prepared plan */

enum cpu_check { CPU_NONE, CPU_FACTS, CPU_LIBVIRT };

struct snap_host {
    int64_t id;
    const char *name, *model, *vendor;
    bool connected;
    double cpus, memory_mib;
};

struct snap_vm {
    int64_t id, tenant_id;
    const char *uuid, *name, *state;
    size_t host;
    double vcpus, memory_mib;
};

struct plan_prep {
    arena *a;
    struct vp_app *app;
    json_t *input;
    const char *kind;
    bool kvm;
    /* the live inventory (KVM plans; import targets "inventory") */
    struct snap_host *sh;
    size_t nsh;
    struct snap_vm *sv;
    size_t nsv;
    /* import */
    plan_inventory *inv;
    struct plan_request req;
    int64_t tenant_id;   /* constraints.tenant_id: every VM no other rule gives a tenant */
    int64_t *vm_tenant;  /* per inventory VM: its tenant, 0 none */
    int64_t *tenants;    /* the distinct tenants of the plan's VMs, first seen first */
    const char **tfield; /* per tenant: the input field that named it (for errors) */
    size_t ntenants;
    struct plan_budget *budgets; /* per tenant: its remaining allocation and its VMs */
    struct quota_usage *usage;   /* per tenant, read by the computation */
    bool budgets_recorded;       /* remaining figures from the stored result (an export) */
    plan_result *res;
    /* KVM */
    struct plan_rb_vm *rbv;
    struct plan_host *rbh;
    struct plan_constraints cons;
    struct plan_rb_opts rbo;
    enum cpu_check cpu;
    int8_t *verdict; /* nsv × nsh: 2 not asked, 1 yes, 0 no, -1 unknown */
    bool recorded;   /* verdicts come from a stored result: no hypervisor is asked */
    plan_rebalance *rb;
};

void
plan_exec_prep_free(struct plan_prep *p)
{
    if (!p)
        return;
    plan_result_free(p->res);
    plan_rebalance_free(p->rb);
    plan_inv_free(p->inv);
    arena_destroy(p->a);
}

size_t
plan_exec_prep_vms(const struct plan_prep *p)
{
    return p->kvm ? p->nsv : p->inv ? p->inv->nvms : 0;
}

bool
plan_exec_prep_live(const struct plan_prep *p)
{
    return p->kvm && p->cpu == CPU_LIBVIRT && !p->recorded;
}

/* ---------------------------------------------------------------- JSON helpers */

static int bad(err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ERR_INVALID naming `field`; returns -1. */
static int
bad(err *e, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set_field(e, field, "%s", msg);
}

/* A number member in [lo, hi]; absent or null leaves *out. */
static int
get_num(const json_t *o, const char *key, const char *field, double lo, double hi, double *out,
        err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(d >= lo && d <= hi))
        return bad(e, field, "'%s' must be a number from %g to %g.", field, lo, hi);
    *out = d;
    return 0;
}

static int
get_int(const json_t *o, const char *key, const char *field, int lo, int hi, int *out, err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(e, field, "'%s' must be an integer from %d to %d.", field, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static const char *fieldf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
fieldf(arena *a, const char *fmt, ...)
{
    char buf[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    const char *s = arena_strdup(a, buf);
    return s ? s : "input";
}

/* ---------------------------------------------------------------- snapshot */

struct page_buf {
    json_t *arr;
    char key[64];
    int64_t id;
    size_t n;
};

static int
snap_host_row(void *arg, const struct db_host *h, const char *key, err *e)
{
    struct page_buf *b = arg;
    double cpus = h->threads > 0 ? (double)h->threads : h->cores > 0 ? (double)h->cores : 0;
    json_t *o = json_pack(
        "{s:I,s:s,s:f,s:f,s:s?,s:s?,s:b}", "id", (json_int_t)h->id, "name", h->name, "cpus", cpus,
        "memory_mib", h->memory_mib > 0 ? (double)h->memory_mib : 0.0, "cpu_model",
        h->cpu_model[0] ? h->cpu_model : NULL, "cpu_vendor",
        h->cpu_vendor[0] ? h->cpu_vendor : NULL, "connected", !strcmp(h->conn_state, "connected"));
    if (!o || json_array_append_new(b->arr, o) < 0 || ++b->n > MAX_SNAPSHOT_HOSTS)
        return err_set(e, ERR_TOO_LARGE, "Too many hosts for one plan.");
    snprintf(b->key, sizeof(b->key), "%s", key ? key : "");
    b->id = h->id;
    return 0;
}

static int
snap_vm_row(void *arg, const struct db_vm *v, const char *key, err *e)
{
    struct page_buf *b = arg;
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:I}", "id", (json_int_t)v->id, "uuid",
                          v->uuid, "name", v->name, "host_id", (json_int_t)v->host_id, "vcpus",
                          (json_int_t)v->vcpus, "memory_mib", (json_int_t)v->memory_mib, "state",
                          v->state, "tenant_id", (json_int_t)v->tenant_id);
    if (!o || json_array_append_new(b->arr, o) < 0 || ++b->n > MAX_SNAPSHOT_VMS)
        return err_set(e, ERR_TOO_LARGE, "Too many VMs for one plan.");
    snprintf(b->key, sizeof(b->key), "%s", key ? key : "");
    b->id = v->id;
    return 0;
}

/* Every host and VM of the cache, by id, page by page. */
static int
snapshot_read(struct vp_app *app, json_t *snap, err *e)
{
    struct page_buf hb = {json_array(), "", 0, 0}, vb = {json_array(), "", 0, 0};
    json_object_set_new(snap, "hosts", hb.arr);
    json_object_set_new(snap, "vms", vb.arr);
    if (!hb.arr || !vb.arr)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    struct db_page p = {.limit = 1000, .sort = DB_HOST_SORT_ID};
    do {
        p.after_key = hb.n ? hb.key : NULL;
        p.after_id = hb.id;
        if (db_host_list(app->db, &p, snap_host_row, &hb, e) < 0)
            return -1;
    } while (p.more);
    struct db_vm_filter f = {.tenant_id = -1};
    p = (struct db_page){.limit = 1000, .sort = DB_VM_SORT_ID};
    do {
        p.after_key = vb.n ? vb.key : NULL;
        p.after_id = vb.id;
        if (db_vm_list(app->db, &f, &p, snap_vm_row, &vb, e) < 0)
            return -1;
    } while (p.more);
    return 0;
}

/* The hosts of the snapshot in scope (scope NULL: all), with their ids. */
static int
parse_snap_hosts(struct plan_prep *p, const json_t *hosts, const json_t *scope, err *e)
{
    p->sh = arena_alloc(p->a, (json_array_size(hosts) + 1) * sizeof(*p->sh));
    if (!p->sh)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        json_int_t id = json_integer_value(json_object_get(h, "id"));
        bool in = !scope;
        size_t k;
        json_t *s;
        json_array_foreach(scope, k, s) in |= json_integer_value(s) == id;
        if (!in)
            continue;
        p->sh[p->nsh++] = (struct snap_host){
            id,
            arena_strdup(p->a, json_string_value(json_object_get(h, "name"))),
            arena_strdup(p->a, json_string_value(json_object_get(h, "cpu_model"))),
            arena_strdup(p->a, json_string_value(json_object_get(h, "cpu_vendor"))),
            json_is_true(json_object_get(h, "connected")),
            json_number_value(json_object_get(h, "cpus")),
            json_number_value(json_object_get(h, "memory_mib")),
        };
    }
    return 0;
}

static int
host_index(const struct plan_prep *p, int64_t id)
{
    for (size_t h = 0; h < p->nsh; h++)
        if (p->sh[h].id == id)
            return (int)h;
    return -1;
}

static int
parse_snap_vms(struct plan_prep *p, const json_t *vms, err *e)
{
    p->sv = arena_alloc(p->a, (json_array_size(vms) + 1) * sizeof(*p->sv));
    if (!p->sv)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(vms, i, v)
    {
        int h = host_index(p, json_integer_value(json_object_get(v, "host_id")));
        if (h < 0)
            continue; /* on a host out of scope */
        p->sv[p->nsv++] = (struct snap_vm){
            json_integer_value(json_object_get(v, "id")),
            json_integer_value(json_object_get(v, "tenant_id")),
            arena_strdup(p->a, json_string_value(json_object_get(v, "uuid"))),
            arena_strdup(p->a, json_string_value(json_object_get(v, "name"))),
            arena_strdup(p->a, json_string_value(json_object_get(v, "state"))),
            (size_t)h,
            (double)json_integer_value(json_object_get(v, "vcpus")),
            (double)json_integer_value(json_object_get(v, "memory_mib")),
        };
    }
    return 0;
}

/* host_ids of a scope or a drain: positive integers naming snapshot hosts. */
static int
check_host_ids(struct plan_prep *p, const json_t *ids, const json_t *hosts, const char *field,
               err *e)
{
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 10000)
        return bad(e, field, "'%s' must be a list of 1 to 10000 host ids.", field);
    size_t i, k;
    json_t *id, *h;
    json_array_foreach(ids, i, id)
    {
        bool found = false;
        json_array_foreach(hosts, k, h) found |=
            json_is_integer(id) &&
            json_integer_value(json_object_get(h, "id")) == json_integer_value(id);
        if (!found)
            return bad(e, fieldf(p->a, "%s[%zu]", field, i), "No such host.");
    }
    return 0;
}

/* The live inventory of the plan: input.snapshot, read now when missing. */
static int
load_snapshot(struct plan_prep *p, const json_t *scope, const char *scope_field, err *e)
{
    json_t *snap = json_object_get(p->input, "snapshot");
    if (!json_is_object(snap)) {
        if (!p->app || !p->app->db)
            return err_set(e, ERR_UNAVAILABLE, "The inventory is not available.");
        snap = json_object();
        if (!snap || json_object_set_new(p->input, "snapshot", snap) < 0)
            return err_set(e, ERR_UNAVAILABLE, "out of memory");
        if (snapshot_read(p->app, snap, e) < 0)
            return -1;
    }
    json_t *hosts = json_object_get(snap, "hosts"), *vms = json_object_get(snap, "vms");
    if (!json_is_array(hosts) || !json_is_array(vms))
        return err_set(e, ERR_INTERNAL, "the stored inventory snapshot is malformed");
    if (scope && check_host_ids(p, scope, hosts, scope_field, e) < 0)
        return -1;
    if (parse_snap_hosts(p, hosts, scope, e) < 0 || parse_snap_vms(p, vms, e) < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- references */

/* A host named by its name (string) or id (integer) among `hosts` (n). */
static int
find_host(const struct plan_host *hosts, size_t n, const struct plan_prep *p, const json_t *ref)
{
    for (size_t h = 0; h < n; h++) {
        if (json_is_string(ref) && hosts[h].name && !strcmp(hosts[h].name, json_string_value(ref)))
            return (int)h;
        if (json_is_integer(ref) && p->kvm && p->sh[h].id == json_integer_value(ref))
            return (int)h;
    }
    return -1;
}

static const char *
vm_name_at(const struct plan_prep *p, size_t i)
{
    return p->kvm ? p->sv[i].name : p->inv->vms[i]->name;
}

/* A VM named by its name, or (KVM plans) its id. */
static int
find_vm(const struct plan_prep *p, const json_t *ref)
{
    size_t n = plan_exec_prep_vms(p);
    for (size_t i = 0; i < n; i++) {
        if (json_is_string(ref) && vm_name_at(p, i) &&
            !strcmp(vm_name_at(p, i), json_string_value(ref)))
            return (int)i;
        if (json_is_integer(ref) && p->kvm && p->sv[i].id == json_integer_value(ref))
            return (int)i;
    }
    return -1;
}

/* constraints.affinity / anti_affinity: [{"name": …, "vms": [ref, …]}] */
static int
parse_groups(struct plan_prep *p, const json_t *c, struct plan_group **out, size_t *n, err *e)
{
    static const char *const keys[2] = {"affinity", "anti_affinity"};
    size_t total =
        json_array_size(json_object_get(c, keys[0])) + json_array_size(json_object_get(c, keys[1]));
    *out = arena_alloc(p->a, (total + 1) * sizeof(**out));
    if (!*out)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (int k = 0; k < 2; k++) {
        json_t *list = json_object_get(c, keys[k]), *g;
        size_t i;
        if (list && (!json_is_array(list) || json_array_size(list) > MAX_RULES))
            return bad(e, fieldf(p->a, "constraints.%s", keys[k]), "Expected a list of groups.");
        json_array_foreach(list, i, g)
        {
            json_t *vms = json_object_get(g, "vms");
            const char *f = fieldf(p->a, "constraints.%s[%zu]", keys[k], i);
            if (!json_is_array(vms) || json_array_size(vms) < 2 || json_array_size(vms) > 10000)
                return bad(e, f, "A group is {\"name\": …, \"vms\": [2 or more VMs]}.");
            size_t *members = arena_alloc(p->a, json_array_size(vms) * sizeof(size_t)), j, nm = 0;
            json_t *ref;
            if (!members)
                return err_set(e, ERR_UNAVAILABLE, "out of memory");
            json_array_foreach(vms, j, ref)
            {
                int vm = find_vm(p, ref);
                if (vm < 0)
                    return bad(e, fieldf(p->a, "%s.vms[%zu]", f, j), "No such VM in the plan.");
                bool dup = false;
                for (size_t x = 0; x < nm; x++)
                    dup |= members[x] == (size_t)vm;
                if (!dup)
                    members[nm++] = (size_t)vm;
            }
            const char *name = json_string_value(json_object_get(g, "name"));
            (*out)[(*n)++] =
                (struct plan_group){arena_strdup(p->a, name ? name : keys[k]),
                                    k ? PLAN_ANTI_AFFINITY : PLAN_AFFINITY, members, nm};
        }
    }
    return 0;
}

/* constraints.pinned [{"vm", "host"}] and constraints.excluded [{"vm"?, "host"} | host]. */
static int
parse_rules(struct plan_prep *p, const json_t *c, const char *key, const struct plan_host *hosts,
            size_t nhosts, struct plan_host_rule **out, size_t *n, err *e)
{
    json_t *list = json_object_get(c, key), *r;
    size_t i;
    if (list && (!json_is_array(list) || json_array_size(list) > MAX_RULES))
        return bad(e, fieldf(p->a, "constraints.%s", key), "Expected a list.");
    *out = arena_alloc(p->a, (json_array_size(list) + 1) * sizeof(**out));
    if (!*out)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    bool pin = !strcmp(key, "pinned");
    json_array_foreach(list, i, r)
    {
        const char *f = fieldf(p->a, "constraints.%s[%zu]", key, i);
        const json_t *href = json_is_object(r) ? json_object_get(r, "host") : r;
        const json_t *vref = json_is_object(r) ? json_object_get(r, "vm") : NULL;
        int h = find_host(hosts, nhosts, p, href);
        if (h < 0)
            return bad(e, fieldf(p->a, "%s.host", f), "No such target host.");
        int vm = vref ? find_vm(p, vref) : -1;
        if ((vref || pin) && vm < 0)
            return bad(e, fieldf(p->a, "%s.vm", f), "No such VM in the plan.");
        (*out)[(*n)++] = (struct plan_host_rule){vm < 0 ? SIZE_MAX : (size_t)vm, (size_t)h};
    }
    return 0;
}

/* overcommit {cpu, memory, disk} (a number: CPU) and headroom (percent, 0–90). */
static int
parse_capacity(struct plan_prep *p, const json_t *c, struct plan_place_opts *o, err *e)
{
    static const char *const dims[PLAN_NDIM] = {"cpu", "memory", "disk"};
    json_t *oc = json_object_get(c, "overcommit");
    for (int d = 0; d < PLAN_NDIM; d++)
        o->overcommit[d] = 1;
    if (oc && !json_is_object(oc)) {
        if (get_num(c, "overcommit", "constraints.overcommit", 0.1, 64, &o->overcommit[0], e) < 0)
            return -1;
    } else {
        for (int d = 0; d < PLAN_NDIM; d++)
            if (get_num(oc, dims[d], fieldf(p->a, "constraints.overcommit.%s", dims[d]), 0.1, 64,
                        &o->overcommit[d], e) < 0)
                return -1;
    }
    double head = 0;
    if (get_num(c, "headroom", "constraints.headroom", 0, 90, &head, e) < 0)
        return -1;
    o->headroom = head / 100;
    return 0;
}

/* ---------------------------------------------------------------- import inputs */

static int
read_file(struct plan_prep *p, const char *fmt, const char *name, const unsigned char *buf,
          size_t len, struct plan_csv_sheet *sheets, size_t *nsheets, err *e)
{
    if (!strcmp(fmt, "vmx"))
        return plan_vmx_read(p->inv, (const char *)buf, len, name, e);
    if (!strcmp(fmt, "ovf"))
        return plan_ovf_read(p->inv, (const char *)buf, len, name, e);
    if (!strcmp(fmt, "rvtools-xlsx"))
        return plan_rvtools_read_xlsx(p->inv, buf, len, NULL, e);
    const char *sheet = plan_rvtools_sheet_from_filename(name);
    sheets[(*nsheets)++] = (struct plan_csv_sheet){sheet ? sheet : "vInfo", (const char *)buf, len};
    return 0;
}

/* The bytes of inventory.files[i]: "content" (text) or "content_base64". */
static unsigned char *
file_bytes(struct plan_prep *p, const json_t *f, size_t i, size_t *len, err *e)
{
    const char *text = json_string_value(json_object_get(f, "content"));
    const char *b64 = json_string_value(json_object_get(f, "content_base64"));
    const char *field = fieldf(p->a, "inventory.files[%zu]", i);
    unsigned char *buf = NULL;
    if (text && !b64) {
        *len = json_string_length(json_object_get(f, "content"));
        buf = malloc(*len + 1);
        if (buf) {
            memcpy(buf, text, *len);
            buf[*len] = 0;
        }
    } else if (b64 && !text) {
        if (!(buf = b64_decode(b64, len)))
            bad(e, field, "content_base64 is not valid base64.");
        return buf;
    } else {
        bad(e, field, "Each file has \"content\" (text) or \"content_base64\".");
        return NULL;
    }
    if (!buf)
        err_set(e, ERR_UNAVAILABLE, "out of memory");
    return buf;
}

static int
read_inventory(struct plan_prep *p, err *e)
{
    static const char *const formats[] = {"rvtools-xlsx", "rvtools-csv", "vmx", "ovf", NULL};
    json_t *inv = json_object_get(p->input, "inventory"), *files = json_object_get(inv, "files");
    const char *fmt = json_string_value(json_object_get(inv, "format"));
    bool known = false;
    for (int i = 0; fmt && formats[i]; i++)
        known |= !strcmp(fmt, formats[i]);
    if (!json_is_object(inv) || !known)
        return bad(e, "inventory.format",
                   "inventory.format must be rvtools-xlsx, rvtools-csv, "
                   "vmx or ovf.");
    size_t nf = json_array_size(files);
    if (!json_is_array(files) || nf == 0 || nf > MAX_FILES ||
        (!strcmp(fmt, "rvtools-xlsx") && nf != 1))
        return bad(e, "inventory.files", "inventory.files must list 1 to %d files (one xlsx).",
                   MAX_FILES);
    struct plan_csv_sheet *sheets = arena_alloc(p->a, nf * sizeof(*sheets));
    unsigned char **bufs = calloc(nf, sizeof(*bufs));
    size_t nsheets = 0, i;
    json_t *f;
    int rc = sheets && bufs ? 0 : err_set(e, ERR_UNAVAILABLE, "out of memory");
    json_array_foreach(files, i, f)
    {
        size_t len = 0;
        const char *name = json_string_value(json_object_get(f, "name"));
        if (rc < 0 || !(bufs[i] = file_bytes(p, f, i, &len, e)) ||
            read_file(p, fmt, name ? name : fieldf(p->a, "file-%zu", i + 1), bufs[i], len, sheets,
                      &nsheets, e) < 0) {
            rc = -1;
            if (e->kind == ERR_INVALID && !e->field[0])
                snprintf(e->field, sizeof(e->field), "inventory.files[%zu]", i);
            break;
        }
    }
    if (rc == 0 && nsheets && plan_rvtools_read_csv(p->inv, sheets, nsheets, NULL, e) < 0) {
        rc = -1;
        if (e->kind == ERR_INVALID && !e->field[0])
            snprintf(e->field, sizeof(e->field), "inventory.files");
    }
    for (size_t k = 0; bufs && k < nf; k++)
        free(bufs[k]);
    free(bufs);
    return rc;
}

/* Live hosts as placement targets (import "targets": "inventory"). */
static int
live_targets(struct plan_prep *p, const json_t *scope, struct plan_host **out, size_t *n, err *e)
{
    if (load_snapshot(p, scope, "targets.host_ids", e) < 0)
        return -1;
    *out = arena_alloc(p->a, (p->nsh + 1) * sizeof(**out));
    if (!*out)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t h = 0; h < p->nsh; h++)
        (*out)[(*n)++] = (struct plan_host){p->sh[h].name, p->sh[h].cpus, p->sh[h].memory_mib, 0,
                                            p->sh[h].model};
    return 0;
}

/* targets: "inventory" | SPEC | {"spec"} | {"hosts": [...]} | [...] | {"host_ids": [...]} */
static int
import_targets(struct plan_prep *p, err *e)
{
    json_t *t = json_object_get(p->input, "targets");
    struct plan_request *q = &p->req;
    struct plan_host **hosts = (struct plan_host **)&q->hosts;
    int rc = 0;
    if (!t || json_is_null(t))
        return 0;
    if (json_is_string(t) && !strcmp(json_string_value(t), "inventory"))
        return live_targets(p, NULL, hosts, &q->nhosts, e);
    if (json_is_object(t) && json_object_get(t, "host_ids"))
        return live_targets(p, json_object_get(t, "host_ids"), hosts, &q->nhosts, e);
    const char *spec =
        json_is_string(t) ? json_string_value(t) : json_string_value(json_object_get(t, "spec"));
    json_t *list = json_is_array(t) ? t : json_object_get(t, "hosts");
    if (spec) {
        rc = plan_hosts_parse_spec(p->inv, spec, hosts, &q->nhosts, e);
    } else if (json_is_array(list)) {
        char *text = json_dumps(list, JSON_COMPACT);
        rc = text ? plan_hosts_parse_json(p->inv, text, strlen(text), hosts, &q->nhosts, e)
                  : err_set(e, ERR_UNAVAILABLE, "out of memory");
        free(text);
    } else {
        return bad(e, "targets",
                   "targets is \"inventory\", a host spec, {\"hosts\": [...]} or "
                   "{\"host_ids\": [...]}.");
    }
    if (rc < 0 && e->kind == ERR_INVALID && !e->field[0])
        snprintf(e->field, sizeof(e->field), "targets");
    return rc;
}

/* sizing: SHAPE or [SHAPE, …]: host shapes to size for. */
static int
import_sizing(struct plan_prep *p, err *e)
{
    json_t *s = json_object_get(p->input, "sizing"), *one;
    size_t i, total = 0;
    if (!s || json_is_null(s))
        return 0;
    json_t *list = json_is_string(s) ? json_pack("[O]", s) : json_incref(s);
    struct plan_host *shapes = arena_alloc(p->a, 64 * sizeof(*shapes));
    int rc = json_is_array(list) && json_array_size(list) <= 16 && shapes
                 ? 0
                 : bad(e, "sizing", "sizing is a host shape or a list of up to 16.");
    json_array_foreach(list, i, one)
    {
        struct plan_host *h = NULL;
        size_t n = 0;
        if (rc < 0)
            break;
        if (!json_is_string(one) ||
            plan_hosts_parse_spec(p->inv, json_string_value(one), &h, &n, e) < 0) {
            rc = bad(e, fieldf(p->a, "sizing[%zu]", i), "%s",
                     e->detail[0] ? e->detail : "Not a host shape.");
            break;
        }
        shapes[total++] = h[0];
    }
    json_decref(list);
    p->req.shapes = shapes;
    p->req.nshapes = total;
    return rc;
}

static int parse_tenants(struct plan_prep *p, const json_t *c, const json_t *result, err *e);

static int
prepare_import(struct plan_prep *p, const json_t *result, err *e)
{
    json_t *c = json_object_get(p->input, "constraints");
    struct plan_request *q = &p->req;
    plan_request_defaults(q);
    if (!(p->inv = plan_inv_new()))
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    q->inv = p->inv;
    if (read_inventory(p, e) < 0 || import_targets(p, e) < 0 || import_sizing(p, e) < 0 ||
        parse_capacity(p, c, &q->place, e) < 0)
        return -1;
    struct plan_group *g = NULL;
    struct plan_host_rule *pins = NULL, *ex = NULL;
    if (parse_groups(p, c, &g, &q->cons.ngroups, e) < 0 ||
        parse_rules(p, c, "pinned", q->hosts, q->nhosts, &pins, &q->cons.npins, e) < 0 ||
        parse_rules(p, c, "excluded", q->hosts, q->nhosts, &ex, &q->cons.nexcludes, e) < 0)
        return -1;
    q->cons.groups = g;
    q->cons.pins = pins;
    q->cons.excludes = ex;
    return parse_tenants(p, c, result, e);
}

/* ---------------------------------------------------------------- tenants */

enum { MAX_TENANT_RULES = 1000 };

/* `hay` contains `needle`, ASCII case-insensitively. */
static bool
icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* `folder` is `rule` or a folder under it ("/dc/vm/prod" holds "/dc/vm/prod/web"). */
static bool
in_folder(const char *folder, const char *rule)
{
    size_t n = strlen(rule);
    return folder && !strncmp(folder, rule, n) &&
           (folder[n] == '\0' || folder[n] == '/' || rule[n - 1] == '/');
}

struct tenant_rule {
    int64_t id;
    const char *folder, *annotation, *field;
};

static bool
opt_text(const json_t *v)
{
    return !v || (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 1000);
}

/* Entry k of constraints.tenants; the VMs it lists get k in named[] unless an earlier
 * entry listed them. */
static int
parse_tenant_rule(struct plan_prep *p, const json_t *t, size_t k, struct tenant_rule *out,
                  size_t *named, err *e)
{
    const char *f = fieldf(p->a, "constraints.tenants[%zu]", k);
    json_t *id = json_object_get(t, "tenant_id"), *vms = json_object_get(t, "vms"), *ref;
    json_t *folder = json_object_get(t, "folder"), *note = json_object_get(t, "annotation");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return bad(e, fieldf(p->a, "%s.tenant_id", f), "Each entry names a tenant_id.");
    if ((vms && !json_is_array(vms)) || !opt_text(folder) || !opt_text(note) ||
        (!vms && !folder && !note))
        return bad(e, f,
                   "An entry gives its VMs (\"vms\": [...]), a \"folder\" or an "
                   "\"annotation\" text.");
    size_t j;
    json_array_foreach(vms, j, ref)
    {
        int vm = find_vm(p, ref);
        if (vm < 0)
            return bad(e, fieldf(p->a, "%s.vms[%zu]", f, j), "No such VM in the plan.");
        if (named[vm] == SIZE_MAX)
            named[vm] = k;
    }
    *out = (struct tenant_rule){
        json_integer_value(id), arena_strdup(p->a, json_string_value(folder)),
        arena_strdup(p->a, json_string_value(note)), fieldf(p->a, "%s.tenant_id", f)};
    return 0;
}

/* The tenant of `vm`: the first entry that lists it, holds its folder or whose text its
 * annotation contains; else constraints.tenant_id (0: none). *field: who said so. */
static int64_t
tenant_of(const struct plan_prep *p, const struct plan_vm *vm, size_t named,
          const struct tenant_rule *rules, size_t n, const char **field)
{
    for (size_t k = 0; k < n; k++)
        if (named == k || (rules[k].folder && in_folder(vm->folder, rules[k].folder)) ||
            (rules[k].annotation && icontains(vm->annotation, rules[k].annotation))) {
            *field = rules[k].field;
            return rules[k].id;
        }
    *field = "constraints.tenant_id";
    return p->tenant_id;
}

/* p->tenants and one budget per tenant with its VMs (remaining figures: load_budgets). */
static int
group_tenants(struct plan_prep *p, const char **vfield, err *e)
{
    size_t n = p->inv->nvms, *count = calloc(n + 1, sizeof(size_t)),
           *tix = calloc(n + 1, sizeof(size_t));
    p->tenants = arena_alloc(p->a, (n + 1) * sizeof(*p->tenants));
    p->tfield = arena_alloc(p->a, (n + 1) * sizeof(*p->tfield));
    p->budgets = arena_alloc(p->a, (n + 1) * sizeof(*p->budgets));
    int rc = count && tix && p->tenants && p->tfield && p->budgets
                 ? 0
                 : err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t t = 0;
        while (t < p->ntenants && p->tenants[t] != p->vm_tenant[i])
            t++;
        if (!p->vm_tenant[i] || t == p->ntenants) {
            if (!p->vm_tenant[i]) {
                tix[i] = SIZE_MAX;
                continue;
            }
            p->tenants[p->ntenants] = p->vm_tenant[i];
            p->tfield[p->ntenants++] = vfield[i];
        }
        tix[i] = t;
        count[t]++;
    }
    for (size_t t = 0; rc == 0 && t < p->ntenants; t++) {
        struct plan_budget *b = &p->budgets[t];
        b->name = arena_printf(p->a, "tenant %lld", (long long)p->tenants[t]);
        b->members = arena_alloc(p->a, (count[t] + 1) * sizeof(size_t));
        if (!b->name || !b->members)
            rc = err_set(e, ERR_UNAVAILABLE, "out of memory");
        for (int k = 0; k < PLAN_NBUDGET; k++)
            b->remaining[k] = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (tix[i] != SIZE_MAX)
            ((size_t *)p->budgets[tix[i]].members)[p->budgets[tix[i]].nmembers++] = i;
    free(count);
    free(tix);
    return rc;
}

/* The remaining figures an earlier computation used (result.budget.tenants), so that an
 * export computes the same plan. All tenants or none. */
static void
recorded_budgets(struct plan_prep *p, const json_t *result)
{
    static const char *const keys[PLAN_NBUDGET] = {"vms", "vcpus", "memory_mib", "disk_gib"};
    json_t *list = json_object_get(json_object_get(result, "budget"), "tenants"), *t;
    size_t found = 0, i;
    for (size_t k = 0; k < p->ntenants; k++)
        json_array_foreach(list, i, t)
        {
            json_t *rem = json_object_get(t, "remaining");
            if (json_integer_value(json_object_get(t, "tenant_id")) != p->tenants[k] ||
                !json_is_object(rem))
                continue;
            for (int d = 0; d < PLAN_NBUDGET; d++) {
                json_t *v = json_object_get(rem, keys[d]);
                p->budgets[k].remaining[d] = json_is_number(v) ? json_number_value(v) : -1;
            }
            found++;
            break;
        }
    p->budgets_recorded = p->ntenants && found == p->ntenants;
}

/* constraints.tenant_id (every VM) and constraints.tenants [{tenant_id, vms | folder |
 * annotation}]: the tenant of each VM, whose budget placement then respects. */
static int
parse_tenants(struct plan_prep *p, const json_t *c, const json_t *result, err *e)
{
    json_t *tenant = json_object_get(c, "tenant_id"), *list = json_object_get(c, "tenants"), *t;
    if (tenant && !json_is_null(tenant) &&
        (!json_is_integer(tenant) || json_integer_value(tenant) <= 0))
        return bad(e, "constraints.tenant_id", "constraints.tenant_id must be a tenant id.");
    p->tenant_id = json_is_integer(tenant) ? json_integer_value(tenant) : 0;
    if (list && !json_is_null(list) &&
        (!json_is_array(list) || json_array_size(list) > MAX_TENANT_RULES))
        return bad(e, "constraints.tenants", "Expected a list of up to %d entries.",
                   MAX_TENANT_RULES);
    size_t n = p->inv->nvms, nr = json_array_size(list), k;
    struct tenant_rule *rules = arena_alloc(p->a, (nr + 1) * sizeof(*rules));
    size_t *named = arena_alloc(p->a, (n + 1) * sizeof(size_t));
    const char **vfield = arena_alloc(p->a, (n + 1) * sizeof(char *));
    p->vm_tenant = arena_alloc(p->a, (n + 1) * sizeof(int64_t));
    if (!rules || !named || !vfield || !p->vm_tenant)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t i = 0; i < n; i++)
        named[i] = SIZE_MAX;
    json_array_foreach(list, k, t)
    {
        if (parse_tenant_rule(p, t, k, &rules[k], named, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        p->vm_tenant[i] = tenant_of(p, p->inv->vms[i], named[i], rules, nr, &vfield[i]);
    if (group_tenants(p, vfield, e) < 0)
        return -1;
    if (result)
        recorded_budgets(p, result);
    return 0;
}

/* Each tenant's remaining allocation now: limits minus used minus pending reservations
 * (unlimited: -1). ERR_INVALID naming the field when a tenant does not exist. */
static int
load_budgets(struct vp_app *app, struct plan_prep *p, err *e)
{
    if (!p->ntenants)
        return 0;
    p->usage = arena_alloc(p->a, p->ntenants * sizeof(*p->usage));
    if (!p->usage)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t t = 0; !p->budgets_recorded && t < p->ntenants; t++) {
        struct quota_usage *u = &p->usage[t];
        if (db_quota_usage(app->db, p->tenants[t], u, e) < 0)
            return e->kind == ERR_NOT_FOUND ? bad(e, p->tfield[t], "No such tenant.") : -1;
        for (int k = 0; k < PLAN_NBUDGET; k++) {
            int64_t lim = u->limits.v[k], left = lim - u->used.v[k] - u->reserved.v[k];
            p->budgets[t].remaining[k] = lim == QUOTA_UNLIMITED ? -1 : left > 0 ? (double)left : 0;
        }
    }
    p->req.cons.budgets = p->budgets;
    p->req.cons.nbudgets = p->ntenants;
    return 0;
}

/* ---------------------------------------------------------------- KVM inputs */

/* CPU compatibility of VM `key` (its index as text) with a target host. */
static int
kvm_cpu_compat(void *ctx, const char *key, const char *model, const struct plan_host *host,
               char *detail, size_t n)
{
    struct plan_prep *p = ctx;
    (void)model, (void)detail, (void)n;
    char *end = NULL;
    unsigned long long i = strtoull(key, &end, 10);
    size_t h = (size_t)(host - p->rbh);
    if (!end || *end || i >= p->nsv || h >= p->nsh)
        return -1;
    int8_t *v = p->verdict ? &p->verdict[i * p->nsh + h] : NULL;
    if (v && *v != 2)
        return *v;
    const struct snap_host *s = &p->sh[p->sv[i].host], *t = &p->sh[h];
    int rc = -1;
    if (p->cpu == CPU_FACTS) {
        if (s->vendor && t->vendor && strcmp(s->vendor, t->vendor))
            rc = 0;
        else if (s->model && t->model && !strcmp(s->model, t->model))
            rc = 1;
    } else if (p->cpu == CPU_LIBVIRT && p->app && p->app->inventory) {
        enum virt_cpu_compat c = VIRT_CPU_COMPAT_UNKNOWN;
        err ce = {0};
        if (virt_migrate_check(inventory_virt(p->app->inventory), s->id, p->sv[i].uuid, t->id, &c,
                               &ce) == 0)
            rc = c == VIRT_CPU_COMPAT_INCOMPATIBLE ? 0 : c == VIRT_CPU_COMPAT_UNKNOWN ? -1 : 1;
    }
    if (v)
        *v = (int8_t)rc;
    return rc;
}

/* Verdicts recorded by an earlier computation (result.cpu_checks.incompatible). */
static int
load_verdicts(struct plan_prep *p, const json_t *result, err *e)
{
    const json_t *cc = json_object_get(result, "cpu_checks");
    bool recorded = json_is_array(json_object_get(cc, "incompatible"));
    if (p->cpu == CPU_NONE || (!recorded && p->cpu != CPU_LIBVIRT))
        return 0;
    if (p->nsv && p->nsh > (size_t)(64u << 20) / p->nsv)
        return err_set(e, ERR_TOO_LARGE, "Too many VMs and hosts for CPU checks.");
    p->verdict = arena_alloc(p->a, p->nsv * p->nsh + 1);
    if (!p->verdict)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    memset(p->verdict, recorded ? 1 : 2, p->nsv * p->nsh);
    size_t k;
    json_t *pair;
    json_array_foreach(json_object_get(cc, "incompatible"), k, pair)
    {
        json_int_t vm = json_integer_value(json_array_get(pair, 0));
        int h = host_index(p, json_integer_value(json_array_get(pair, 1)));
        for (size_t i = 0; h >= 0 && i < p->nsv; i++)
            if (p->sv[i].id == vm)
                p->verdict[i * p->nsh + (size_t)h] = 0;
    }
    p->recorded = recorded; /* else: asked lazily, during the computation */
    return 0;
}

static bool
vm_active(const char *state)
{
    return state &&
           (!strcmp(state, "running") || !strcmp(state, "paused") || !strcmp(state, "blocked"));
}

static int
kvm_arrays(struct plan_prep *p, err *e)
{
    p->rbh = arena_alloc(p->a, (p->nsh + 1) * sizeof(*p->rbh));
    p->rbv = arena_alloc(p->a, (p->nsv + 1) * sizeof(*p->rbv));
    if (!p->rbh || !p->rbv)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t h = 0; h < p->nsh; h++)
        p->rbh[h] = (struct plan_host){p->sh[h].name, p->sh[h].cpus, p->sh[h].memory_mib, 0,
                                       p->sh[h].model};
    for (size_t i = 0; i < p->nsv; i++) {
        const struct snap_vm *v = &p->sv[i];
        p->rbv[i] = (struct plan_rb_vm){
            .name = v->name,
            .host = v->host,
            .d = {v->vcpus, v->memory_mib, 0}, /* disks stay: live migration over shared storage */
            .evc_key = arena_printf(p->a, "%zu", i),
            .active = vm_active(v->state),
            .stuck = p->sh[v->host].connected ? NULL : "its host is not connected",
        };
        if (!p->rbv[i].evc_key)
            return err_set(e, ERR_UNAVAILABLE, "out of memory");
    }
    return 0;
}

/* Hosts that are not connected are never targets. */
static int
kvm_offline_excludes(struct plan_prep *p, err *e)
{
    size_t n = p->cons.nexcludes, off = 0;
    for (size_t h = 0; h < p->nsh; h++)
        off += !p->sh[h].connected;
    struct plan_host_rule *ex = arena_alloc(p->a, (n + off + 1) * sizeof(*ex));
    if (!ex)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    if (n)
        memcpy(ex, p->cons.excludes, n * sizeof(*ex));
    for (size_t h = 0; h < p->nsh; h++)
        if (!p->sh[h].connected)
            ex[n++] = (struct plan_host_rule){SIZE_MAX, h};
    p->cons.excludes = ex;
    p->cons.nexcludes = n;
    return 0;
}

/* drain: {"host_ids": [...]} or {"host_id": n}; required for kind drain only. */
static int
kvm_drain(struct plan_prep *p, err *e)
{
    json_t *d = json_object_get(p->input, "drain");
    bool drain = !strcmp(p->kind, "drain");
    if (!d || json_is_null(d))
        return drain ? bad(e, "drain.host_ids", "A drain plan names the host(s) to drain.") : 0;
    if (!drain)
        return bad(e, "drain", "Only a drain plan drains hosts.");
    json_t *one = json_object_get(d, "host_id");
    json_t *ids = one ? json_pack("[O]", one) : json_incref(json_object_get(d, "host_ids"));
    const char *field = one ? "drain.host_id" : "drain.host_ids";
    json_t *hosts = json_object_get(json_object_get(p->input, "snapshot"), "hosts");
    int rc = check_host_ids(p, ids, hosts, field, e);
    size_t *drain_idx = arena_alloc(p->a, (json_array_size(ids) + 1) * sizeof(size_t)), i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        int h = rc == 0 && drain_idx ? host_index(p, json_integer_value(id)) : -1;
        if (rc == 0 && h < 0)
            rc = bad(e, one ? field : fieldf(p->a, "%s[%zu]", field, i),
                     "The host is not in the plan's targets.");
        if (rc == 0)
            drain_idx[p->rbo.ndrain++] = (size_t)h;
    }
    json_decref(ids);
    p->rbo.drain = drain_idx;
    return rc;
}

/* constraints.moves: [{"vm", "host"}]: moves asked for, planned first. */
static int
kvm_wants(struct plan_prep *p, const json_t *c, err *e)
{
    struct plan_host_rule *rules = NULL;
    size_t n = 0;
    if (parse_rules(p, c, "moves", p->rbh, p->nsh, &rules, &n, e) < 0)
        return -1;
    struct plan_rb_want *w = arena_alloc(p->a, (n + 1) * sizeof(*w));
    if (!w)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (rules[i].vm == SIZE_MAX)
            return bad(e, fieldf(p->a, "constraints.moves[%zu].vm", i), "Name the VM to move.");
        w[i] = (struct plan_rb_want){rules[i].vm, rules[i].host};
    }
    p->rbo.wants = w;
    p->rbo.nwants = n;
    return 0;
}

static int
kvm_options(struct plan_prep *p, const json_t *c, err *e)
{
    const char *cpu = json_string_value(json_object_get(c, "cpu_check"));
    json_t *cv = json_object_get(c, "cpu_check");
    p->cpu = CPU_FACTS;
    if (cv && !json_is_null(cv)) {
        if (!cpu || (strcmp(cpu, "facts") && strcmp(cpu, "libvirt") && strcmp(cpu, "none")))
            return bad(e, "constraints.cpu_check", "cpu_check is facts, libvirt or none.");
        p->cpu = !strcmp(cpu, "libvirt") ? CPU_LIBVIRT
                 : !strcmp(cpu, "none")  ? CPU_NONE
                                         : CPU_FACTS;
    }
    p->rbo.goal = !strcmp(p->kind, "drain") ? PLAN_RB_DRAIN : PLAN_RB_BALANCE;
    if (get_int(c, "threshold", "constraints.threshold", 1, 5, &p->rbo.threshold, e) < 0 ||
        get_int(c, "per_host", "constraints.per_host", 1, 64, &p->rbo.per_host, e) < 0 ||
        get_int(c, "max_parallel", "constraints.max_parallel", 1, 1024, &p->rbo.max_parallel, e) <
            0)
        return -1;
    if (p->cpu != CPU_NONE) {
        p->cons.cpu_compat = kvm_cpu_compat;
        p->cons.cpu_ctx = p;
    }
    return 0;
}

static int
prepare_kvm(struct plan_prep *p, const json_t *result, err *e)
{
    json_t *c = json_object_get(p->input, "constraints"), *t = json_object_get(p->input, "targets");
    json_t *scope = json_is_object(t) ? json_object_get(t, "host_ids") : NULL;
    if (t && !json_is_null(t) && !scope &&
        !(json_is_string(t) && !strcmp(json_string_value(t), "inventory")))
        return bad(e, "targets",
                   "A KVM plan's targets are \"inventory\" or {\"host_ids\": [...]}.");
    if (json_object_get(p->input, "inventory"))
        return bad(e, "inventory", "A KVM plan works on the live inventory: no files.");
    if (load_snapshot(p, scope, "targets.host_ids", e) < 0 || kvm_arrays(p, e) < 0 ||
        parse_capacity(p, c, &p->rbo.place, e) < 0 || kvm_options(p, c, e) < 0)
        return -1;
    struct plan_group *g = NULL;
    struct plan_host_rule *pins = NULL, *ex = NULL;
    if (parse_groups(p, c, &g, &p->cons.ngroups, e) < 0 ||
        parse_rules(p, c, "pinned", p->rbh, p->nsh, &pins, &p->cons.npins, e) < 0 ||
        parse_rules(p, c, "excluded", p->rbh, p->nsh, &ex, &p->cons.nexcludes, e) < 0)
        return -1;
    p->cons.groups = g;
    p->cons.pins = pins;
    p->cons.excludes = ex;
    if (kvm_offline_excludes(p, e) < 0 || kvm_drain(p, e) < 0 || kvm_wants(p, c, e) < 0)
        return -1;
    return load_verdicts(p, result, e);
}

static pthread_once_t plan_init_once = PTHREAD_ONCE_INIT;

int
plan_exec_prepare(struct vp_app *app, json_t *input, const json_t *result, struct plan_prep **out,
                  err *e)
{
    pthread_once(&plan_init_once, plan_global_init);
    *out = NULL;
    const char *kind = json_string_value(json_object_get(input, "kind"));
    if (!db_plan_kind_valid(kind))
        return bad(e, "kind", "kind is vmware-import, rebalance or drain.");
    json_t *c = json_object_get(input, "constraints");
    if (c && !json_is_object(c))
        return bad(e, "constraints", "constraints must be an object.");
    arena *a = arena_new();
    struct plan_prep *p = a ? arena_alloc(a, sizeof(*p)) : NULL;
    if (!p) {
        arena_destroy(a);
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    }
    p->a = a;
    p->app = app;
    p->input = input;
    p->kind = arena_strdup(a, kind);
    p->kvm = strcmp(kind, "vmware-import") != 0;
    int rc = p->kvm ? prepare_kvm(p, result, e) : prepare_import(p, result, e);
    if (rc < 0) {
        plan_exec_prep_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------- compute */

_Static_assert((int)QUOTA_VMS == PLAN_BUDGET_VMS && (int)QUOTA_VCPUS == PLAN_BUDGET_VCPUS &&
                   (int)QUOTA_MEMORY_MIB == PLAN_BUDGET_MEMORY_MIB &&
                   (int)QUOTA_DISK_GIB == PLAN_BUDGET_DISK_GIB,
               "plan budgets follow the quota's allocation resources");

/* Does VM i stay out for its tenant's budget? */
static bool
budget_refused(const struct plan_placement *pl, size_t i)
{
    for (size_t k = 0; pl && k < pl->nunplaced; k++)
        if (pl->unplaced[k].vm == i)
            return pl->unplaced[k].constraint &&
                   !strcmp(pl->unplaced[k].constraint, "tenant_budget");
    return false;
}

/* One tenant of result.budget: what it had left, what the plan places, what it refused. */
static json_t *
tenant_budget_json(const struct plan_prep *p, size_t t, struct quota_deltas *all, bool *fits,
                   json_t *violations)
{
    static const char *const keys[PLAN_NBUDGET] = {"vms", "vcpus", "memory_mib", "disk_gib"};
    const struct plan_placement *pl = p->res->placement;
    const struct plan_budget *b = &p->budgets[t];
    struct quota_deltas d = {{0}};
    size_t placed = 0, refused = 0;
    for (size_t k = 0; k < b->nmembers; k++) {
        size_t i = b->members[k];
        if (pl && pl->host_of[i] < 0) { /* no placement (sizing only): every VM counts */
            refused += budget_refused(pl, i);
            continue;
        }
        const struct plan_vm *vm = p->inv->vms[i];
        int64_t v[QUOTA_ALLOC_COUNT] = {1, vm->vcpus, (int64_t)vm->memory_mib,
                                        (int64_t)((plan_vm_disk_mib(vm) + 1023) / 1024)};
        for (int r = 0; r < QUOTA_ALLOC_COUNT; r++) {
            d.v[r] += v[r];
            all->v[r] += v[r];
        }
        placed++;
    }
    json_t *rem = json_object();
    for (int k = 0; rem && k < PLAN_NBUDGET; k++)
        json_object_set_new(rem, keys[k],
                            b->remaining[k] < 0 ? json_null()
                                                : json_integer((json_int_t)b->remaining[k]));
    struct quota_refusal why = {0};
    if (p->usage && !p->budgets_recorded)
        db_quota_evaluate(&p->usage[t].limits, &p->usage[t].used, &p->usage[t].reserved, &d, &why);
    json_t *viol = db_quota_violations_json(&why);
    *fits &= why.n == 0;
    json_array_extend(violations, viol);
    return json_pack("{s:I,s:o,s:I,s:I,s:I,s:o,s:b,s:o}", "tenant_id", (json_int_t)p->tenants[t],
                     "remaining", rem ? rem : json_null(), "vms", (json_int_t)b->nmembers, "placed",
                     (json_int_t)placed, "refused", (json_int_t)refused, "requested",
                     db_quota_deltas_json(&d), "fits", why.n == 0, "violations", viol);
}

/* result.budget: per tenant, its remaining quota (which placement respected), what the
 * plan places and which VMs it refused; "fits" re-checks the placed VMs against the
 * same usage snapshot. Without target hosts (sizing only) every VM counts as placed,
 * as before budgets were enforced, and "enforced" is false. */
static json_t *
budget_json(const struct plan_prep *p)
{
    struct quota_deltas all = {{0}};
    bool fits = true;
    json_t *tenants = json_array(), *violations = json_array();
    size_t refused = 0;
    for (size_t t = 0; tenants && violations && t < p->ntenants; t++) {
        json_t *one = tenant_budget_json(p, t, &all, &fits, violations);
        refused += (size_t)json_integer_value(json_object_get(one, "refused"));
        json_array_append_new(tenants, one);
    }
    return json_pack("{s:b,s:o,s:b,s:o,s:o,s:I,s:o,s:s}", "enforced", p->res->placement != NULL,
                     "tenant_id", p->tenant_id ? json_integer(p->tenant_id) : json_null(), "fits",
                     fits, "requested", db_quota_deltas_json(&all), "violations", violations,
                     "refused", (json_int_t)refused, "tenants", tenants, "note",
                     "placement keeps each tenant's placed VMs within its remaining quota "
                     "(limits minus used minus pending reservations when computed); the VMs "
                     "that do not fit are unplaced with constraint tenant_budget (without "
                     "target hosts nothing is placed: every VM is checked, nothing enforced)");
}

/* result.vms[i].tenant_id: the tenant each VM was counted against (null: none). */
static void
vm_tenants_json(const struct plan_prep *p, json_t *r)
{
    json_t *vms = json_object_get(r, "vms");
    for (size_t i = 0; p->vm_tenant && i < p->inv->nvms; i++)
        json_object_set_new(json_array_get(vms, i), "tenant_id",
                            p->vm_tenant[i] ? json_integer(p->vm_tenant[i]) : json_null());
}

static json_t *
compute_import(struct vp_app *app, struct plan_prep *p, err *e)
{
    if (load_budgets(app, p, e) < 0 || !(p->res = plan_run(&p->req, e)))
        return NULL;
    json_t *r = plan_export_json(p->res);
    json_t *b = r && p->ntenants ? budget_json(p) : NULL;
    if (!r || (p->ntenants && !b)) {
        json_decref(r);
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    if (b)
        json_object_set_new(r, "budget", b);
    vm_tenants_json(p, r);
    return r;
}

/* Adds the portal's ids to the planner's moves, hosts and stuck VMs. */
static void
add_ids(const struct plan_prep *p, json_t *r)
{
    size_t k, i;
    json_t *step, *m, *h;
    json_array_foreach(json_object_get(r, "steps"), k, step)
    {
        json_array_foreach(json_object_get(step, "moves"), i, m)
        {
            const struct snap_vm *v = &p->sv[json_integer_value(json_object_get(m, "vm_index"))];
            json_object_set_new(m, "vm_id", json_integer(v->id));
            json_object_set_new(m, "uuid", json_string(v->uuid));
            json_object_set_new(m, "tenant_id",
                                v->tenant_id ? json_integer(v->tenant_id) : json_null());
            json_object_set_new(
                m, "from_host_id",
                json_integer(p->sh[json_integer_value(json_object_get(m, "from_index"))].id));
            json_object_set_new(
                m, "to_host_id",
                json_integer(p->sh[json_integer_value(json_object_get(m, "to_index"))].id));
        }
    }
    json_array_foreach(json_object_get(r, "hosts"), i, h)
        json_object_set_new(h, "id", json_integer(p->sh[i].id));
    json_array_foreach(json_object_get(r, "stuck"), i, m)
    {
        const struct snap_vm *v = &p->sv[json_integer_value(json_object_get(m, "vm_index"))];
        json_object_set_new(m, "vm_id", json_integer(v->id));
        json_object_set_new(m, "host_id", json_integer(p->sh[v->host].id));
    }
}

/* result.cpu_checks: how CPUs were compared, and the pairs found incompatible. */
static json_t *
cpu_checks_json(const struct plan_prep *p)
{
    static const char *const names[] = {"none", "facts", "libvirt"};
    json_t *o = json_pack("{s:s,s:[]}", "mode", names[p->cpu], "incompatible");
    json_t *list = json_object_get(o, "incompatible");
    for (size_t i = 0; list && p->verdict && i < p->nsv; i++)
        for (size_t h = 0; h < p->nsh; h++)
            if (p->verdict[i * p->nsh + h] == 0)
                json_array_append_new(
                    list, json_pack("[I,I]", (json_int_t)p->sv[i].id, (json_int_t)p->sh[h].id));
    return o;
}

static json_t *
compute_kvm(struct plan_prep *p, err *e)
{
    p->rb = plan_rebalance_run(p->rbv, p->nsv, p->rbh, p->nsh, &p->cons, &p->rbo, e);
    if (!p->rb)
        return NULL;
    json_t *r = plan_rebalance_json(p->rb, p->rbv, p->rbh);
    if (!r) {
        err_set(e, ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    add_ids(p, r);
    json_object_set_new(r, "cpu_checks", cpu_checks_json(p));
    return r;
}

json_t *
plan_exec_compute(struct vp_app *app, struct plan_prep *p, err *e)
{
    json_t *r = p->kvm ? compute_kvm(p, e) : compute_import(app, p, e);
    if (!r)
        return NULL;
    json_object_set_new(r, "kind", json_string(p->kind));
    const char *name = json_string_value(json_object_get(p->input, "name"));
    if (name)
        json_object_set_new(r, "name", json_string(name));
    return r;
}

int
plan_exec_export(struct plan_prep *p, const char *format, unsigned char **out, size_t *len,
                 const char **ctype, err *e)
{
    bool csv = !strcmp(format, "csv");
    if (!csv && strcmp(format, "xlsx"))
        return bad(e, "format", "format is json, csv or xlsx.");
    if ((p->kvm && !p->rb) || (!p->kvm && !p->res))
        return err_set(e, ERR_INTERNAL, "export before compute");
    *ctype = csv ? "text/csv; charset=utf-8"
                 : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    if (csv)
        *out = (unsigned char *)(p->kvm ? plan_rebalance_csv(p->rb, p->rbv, p->rbh, len, e)
                                        : plan_export_csv(p->res, len, e));
    else
        *out = p->kvm ? plan_rebalance_xlsx_mem(p->rb, p->rbv, p->rbh, len, e)
                      : plan_export_xlsx_mem(p->res, len, e);
    return *out ? 0 : -1;
}

/* ---------------------------------------------------------------- who, audit */

struct who {
    int64_t user_id;
    char login[72], token_id[32], source_ip[64], user_agent[160], request_id[48];
};

static void
who_copy(struct who *w, const struct plan_exec_who *in)
{
    memset(w, 0, sizeof(*w));
    if (!in)
        return;
    w->user_id = in->user_id;
    snprintf(w->login, sizeof(w->login), "%s", in->login ? in->login : "");
    snprintf(w->token_id, sizeof(w->token_id), "%s", in->token_id ? in->token_id : "");
    snprintf(w->source_ip, sizeof(w->source_ip), "%s", in->source_ip ? in->source_ip : "");
    snprintf(w->user_agent, sizeof(w->user_agent), "%s", in->user_agent ? in->user_agent : "");
    snprintf(w->request_id, sizeof(w->request_id), "%s", in->request_id ? in->request_id : "");
}

static struct db_audit
who_audit(const struct who *w, const char *action, const char *target)
{
    return (struct db_audit){
        .actor = w->login[0] ? w->login : "system",
        .user_id = w->user_id,
        .token_id = w->token_id[0] ? w->token_id : NULL,
        .source_ip = w->source_ip[0] ? w->source_ip : NULL,
        .user_agent = w->user_agent[0] ? w->user_agent : NULL,
        .request_id = w->request_id[0] ? w->request_id : NULL,
        .action = action,
        .target = target,
    };
}

/* ---------------------------------------------------------------- compute task */

struct compute_job {
    struct vp_app *app;
    int64_t plan_id;
};

static int
compute_stored(struct compute_job *j, arena *a, json_t **result, err *e)
{
    struct db_plan pl;
    if (db_plan_get(j->app->db, j->plan_id, true, a, &pl, e) < 0)
        return -1;
    json_error_t jerr;
    json_t *input = json_loads(pl.input, 0, &jerr);
    struct plan_prep *p = NULL;
    int rc = input ? plan_exec_prepare(j->app, input, NULL, &p, e)
                   : err_set(e, ERR_INTERNAL, "the stored plan input is not JSON");
    if (rc == 0 && !(*result = plan_exec_compute(j->app, p, e)))
        rc = -1;
    plan_exec_prep_free(p);
    json_decref(input);
    return rc;
}

static int
compute_task(struct task_ctx *t, void *arg, err *e)
{
    struct compute_job *j = arg;
    arena *a = arena_new();
    json_t *result = NULL;
    task_progress(t, 5, "planning");
    int rc = a ? compute_stored(j, a, &result, e) : err_set(e, ERR_UNAVAILABLE, "out of memory");
    char *text = NULL;
    if (rc == 0) {
        text = json_dumps(result, JSON_COMPACT);
        rc = text ? db_plan_transition(j->app->db, j->plan_id, DB_PLAN_DRAFT, DB_PLAN_READY, text,
                                       NULL, e)
                  : err_set(e, ERR_UNAVAILABLE, "out of memory");
    } else {
        json_t *fail = json_pack("{s:{s:s,s:s?}}", "error", "detail", e->detail, "field",
                                 e->field[0] ? e->field : NULL);
        text = fail ? json_dumps(fail, JSON_COMPACT) : NULL;
        json_decref(fail);
        err ignored = {0};
        if (text)
            db_plan_transition(j->app->db, j->plan_id, DB_PLAN_DRAFT, DB_PLAN_FAILED, text, NULL,
                               &ignored);
    }
    free(text);
    json_decref(result);
    arena_destroy(a);
    return rc;
}

int
plan_exec_submit_compute(struct vp_app *app, int64_t plan_id, const struct plan_exec_who *who,
                         struct db_audit *a, int64_t *task_id, err *e)
{
    if (!app->tasks)
        return err_set(e, ERR_UNAVAILABLE, "The task runner is not running.");
    struct compute_job *j = calloc(1, sizeof(*j));
    if (!j)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    *j = (struct compute_job){app, plan_id};
    char target[40];
    snprintf(target, sizeof(target), "plan/%lld", (long long)plan_id);
    struct task_spec s = {.kind = "plan.compute",
                          .target = target,
                          .created_by = who->user_id,
                          .actor = who->login,
                          .key = "plan-compute",
                          .cancellable = false};
    if (task_submit(app->tasks, &s, compute_task, j, free, a, task_id, e) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- execution */

enum mstate { M_PENDING, M_RUNNING, M_SUCCEEDED, M_FAILED, M_CANCELLED, M_SKIPPED };
static const char *const mstate_names[] = {"pending", "running",   "succeeded",
                                           "failed",  "cancelled", "skipped"};

struct exec_move {
    int64_t vm_id, from, to, tenant_id, task_id;
    char uuid[VIRT_UUID_LEN + 1], name[VIRT_NAME_MAX + 1];
    int step;
    enum mstate state;
    char error[256];
};

struct exec_job {
    struct vp_app *app;
    int64_t plan_id, task_id;
    struct exec_move *moves;
    size_t n;
    int nsteps;
    struct plan_exec_opts o;
    struct who who;
    char started_at[32];
};

static void
exec_job_free(void *arg)
{
    struct exec_job *x = arg;
    if (x)
        free(x->moves);
    free(x);
}

static json_t *
execution_json(const struct exec_job *x, const char *state, int step)
{
    json_t *moves = json_array();
    for (size_t i = 0; moves && i < x->n; i++) {
        const struct exec_move *m = &x->moves[i];
        json_array_append_new(moves,
                              json_pack("{s:I,s:s,s:I,s:I,s:i,s:s,s:o?,s:s?}", "vm_id",
                                        (json_int_t)m->vm_id, "vm", m->name, "from_host_id",
                                        (json_int_t)m->from, "to_host_id", (json_int_t)m->to,
                                        "step", m->step + 1, "state", mstate_names[m->state],
                                        "task_id", m->task_id ? json_integer(m->task_id) : NULL,
                                        "error", m->error[0] ? m->error : NULL));
    }
    char now[32];
    db_task_now(now, sizeof(now));
    bool over = strcmp(state, "running") != 0;
    return json_pack("{s:I,s:s,s:i,s:i,s:s,s:s?,s:o}", "task_id", (json_int_t)x->task_id, "state",
                     state, "step", step, "steps", x->nsteps, "started_at", x->started_at,
                     "finished_at", over ? now : NULL, "moves", moves ? moves : json_array());
}

/* Stores result.execution (bookkeeping; the final one with its audit row). */
static int
exec_store(struct exec_job *x, const char *state, int step, int from, int to, struct db_audit *a,
           err *e)
{
    json_t *j = execution_json(x, state, step);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int rc = text ? db_plan_set_execution(x->app->db, x->plan_id, text, from, to, a, e)
                  : err_set(e, ERR_UNAVAILABLE, "out of memory");
    free(text);
    json_decref(j);
    return rc;
}

/* Is the VM still where the plan found it? */
static bool
still_there(struct exec_job *x, struct exec_move *m)
{
    arena *a = arena_new();
    struct db_vm v;
    err e = {0};
    bool ok = a && db_vm_get(x->app->db, m->vm_id, a, &v, &e) == 0 && v.host_id == m->from;
    arena_destroy(a);
    if (!ok)
        snprintf(m->error, sizeof(m->error),
                 "The VM is no longer on the host the plan found it on.");
    return ok;
}

/* One move as a "vm.migrate" task of the VM tasks module (server/vm_tasks.h): it
 * refuses a VM with snapshots, migrates, moves the cache row and pushes the
 * tenant's runtime budgets. */
static int
submit_move(struct exec_job *x, struct exec_move *m, err *e)
{
    struct vm_task_vm vm = {.id = m->vm_id, .host_id = m->from, .tenant_id = m->tenant_id};
    snprintf(vm.uuid, sizeof(vm.uuid), "%s", m->uuid);
    snprintf(vm.name, sizeof(vm.name), "%s", m->name);
    struct vm_task_migrate_opts o = {.dst_host_id = m->to,
                                     .tunnelled = x->o.tunnelled,
                                     .unsafe = x->o.unsafe,
                                     .bandwidth_mibs = x->o.bandwidth_mibs};
    struct vm_task_who who = {x->who.user_id, x->who.login[0] ? x->who.login : NULL};
    char target[40];
    snprintf(target, sizeof(target), "vm/%lld", (long long)m->vm_id);
    struct db_audit a = who_audit(&x->who, "vm.migrate", target);
    a.tenant_id = m->tenant_id;
    a.details = json_pack("{s:I,s:I,s:I,s:i,s:s}", "plan_id", (json_int_t)x->plan_id,
                          "from_host_id", (json_int_t)m->from, "to_host_id", (json_int_t)m->to,
                          "step", m->step + 1, "vm", m->name);
    int rc = vm_tasks_migrate(x->app, &vm, &o, &who, &a, &m->task_id, e);
    json_decref(a.details);
    return rc;
}

/* The final state of a child task, or M_RUNNING while it runs. */
static enum mstate
child_state(struct exec_job *x, struct exec_move *m)
{
    struct task_view v;
    struct db_task row;
    err e = {0};
    if (task_peek(x->app->tasks, m->task_id, &v))
        row = v.row;
    else if (db_task_get(x->app->db, m->task_id, &row, &e) < 0)
        return M_RUNNING;
    if (!db_task_state_final(row.state))
        return M_RUNNING;
    snprintf(m->error, sizeof(m->error), "%s", row.error);
    return row.state == DB_TASK_SUCCEEDED   ? M_SUCCEEDED
           : row.state == DB_TASK_CANCELLED ? M_CANCELLED
                                            : M_FAILED;
}

static void
cancel_children(struct exec_job *x, struct exec_move **mv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (mv[i]->state != M_RUNNING)
            continue;
        char target[40];
        snprintf(target, sizeof(target), "task/%lld", (long long)mv[i]->task_id);
        struct db_audit a = who_audit(&x->who, "task.cancel", target);
        a.details = json_pack("{s:I,s:s}", "plan_id", (json_int_t)x->plan_id, "reason",
                              "the plan's execution was cancelled");
        enum task_cancel_result res;
        err e = {0};
        task_cancel(x->app->tasks, mv[i]->task_id, &a, &res, &e);
        json_decref(a.details);
    }
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits for the step's migrations; on cancellation, cancels them first. */
static void
wait_step(struct exec_job *x, struct task_ctx *t, struct exec_move **mv, size_t n)
{
    bool cancel_sent = false;
    for (;;) {
        size_t running = 0;
        for (size_t i = 0; i < n; i++)
            if (mv[i]->state == M_RUNNING && (mv[i]->state = child_state(x, mv[i])) == M_RUNNING)
                running++;
        if (!running)
            return;
        if (task_cancelled(t) && !cancel_sent) {
            cancel_children(x, mv, n);
            cancel_sent = true;
        }
        if (cancel_sent)
            sleep_ms(200);
        else
            task_sleep(t, 200);
    }
}

/* Runs step k: its moves at once. Returns how many did not succeed. */
static size_t
run_step(struct exec_job *x, struct task_ctx *t, int k, struct exec_move **mv)
{
    size_t n = 0, bad_moves = 0;
    for (size_t i = 0; i < x->n; i++) {
        struct exec_move *m = &x->moves[i];
        if (m->step != k)
            continue;
        err e = {0};
        if (!still_there(x, m)) {
            m->state = M_SKIPPED;
        } else if (submit_move(x, m, &e) < 0) {
            m->state = M_FAILED;
            snprintf(m->error, sizeof(m->error), "%s", e.detail);
        } else {
            m->state = M_RUNNING;
            mv[n++] = m;
        }
    }
    err se = {0};
    exec_store(x, "running", k + 1, -1, -1, NULL, &se); /* shows the running moves' tasks */
    wait_step(x, t, mv, n);
    for (size_t i = 0; i < x->n; i++)
        bad_moves += x->moves[i].step == k && x->moves[i].state != M_SUCCEEDED;
    return bad_moves;
}

/* The end: plan done or failed, with an audit row and the task's own error. */
static int
exec_finish(struct exec_job *x, bool cancelled, int step, err *e)
{
    size_t count[6] = {0};
    const char *first = NULL;
    for (size_t i = 0; i < x->n; i++) {
        count[x->moves[i].state]++;
        if (!first && x->moves[i].error[0] && x->moves[i].state != M_SUCCEEDED)
            first = x->moves[i].error;
    }
    bool ok = count[M_SUCCEEDED] == x->n;
    char target[40];
    snprintf(target, sizeof(target), "plan/%lld", (long long)x->plan_id);
    struct db_audit a = who_audit(&x->who, "plan.executed", target);
    a.outcome = ok ? "ok" : "failed";
    a.details = json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}", "migrations", (json_int_t)x->n, "succeeded",
                          (json_int_t)count[M_SUCCEEDED], "failed",
                          (json_int_t)(count[M_FAILED] + count[M_SKIPPED]), "cancelled",
                          (json_int_t)count[M_CANCELLED], "not_started",
                          (json_int_t)count[M_PENDING], "cancel_requested", cancelled);
    err se = {0};
    exec_store(x,
               ok          ? "done"
               : cancelled ? "cancelled"
                           : "failed",
               step, DB_PLAN_EXECUTING, ok ? DB_PLAN_DONE : DB_PLAN_FAILED, &a, &se);
    json_decref(a.details);
    if (ok)
        return 0;
    if (cancelled)
        return err_set(e, ERR_CONFLICT, "The plan's execution was cancelled.");
    return err_set(e, ERR_CONFLICT, "%zu of %zu migrations did not succeed; first: %s",
                   x->n - count[M_SUCCEEDED], x->n, first ? first : "unknown");
}

static int
exec_task(struct task_ctx *t, void *arg, err *e)
{
    struct exec_job *x = arg;
    struct exec_move **mv = calloc(x->n + 1, sizeof(*mv));
    if (!mv)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    x->task_id = task_id(t);
    size_t done = 0;
    int k = 0;
    bool failed = false;
    for (; k < x->nsteps && !failed && !task_cancelled(t); k++) {
        size_t in_step = 0;
        for (size_t i = 0; i < x->n; i++)
            in_step += x->moves[i].step == k;
        task_progress(t, (int)(done * 100 / (x->n ? x->n : 1)), "step %d of %d: %zu migration(s)",
                      k + 1, x->nsteps, in_step);
        failed = run_step(x, t, k, mv) > 0;
        done += in_step;
    }
    free(mv);
    return exec_finish(x, task_cancelled(t), k, e);
}

/* The moves of a stored KVM result. */
static int
exec_moves(struct exec_job *x, const json_t *result, err *e)
{
    json_t *steps = json_object_get(result, "steps"), *step, *m;
    size_t k, i, n = 0;
    json_array_foreach(steps, k, step) n += json_array_size(json_object_get(step, "moves"));
    x->moves = calloc(n + 1, sizeof(*x->moves));
    if (!x->moves)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    x->nsteps = (int)json_array_size(steps);
    json_array_foreach(steps, k, step)
    {
        json_array_foreach(json_object_get(step, "moves"), i, m)
        {
            struct exec_move *mv = &x->moves[x->n++];
            mv->vm_id = json_integer_value(json_object_get(m, "vm_id"));
            mv->from = json_integer_value(json_object_get(m, "from_host_id"));
            mv->to = json_integer_value(json_object_get(m, "to_host_id"));
            mv->tenant_id = json_integer_value(json_object_get(m, "tenant_id"));
            mv->step = (int)k;
            const char *uuid = json_string_value(json_object_get(m, "uuid"));
            const char *name = json_string_value(json_object_get(m, "vm"));
            snprintf(mv->uuid, sizeof(mv->uuid), "%s", uuid ? uuid : "");
            snprintf(mv->name, sizeof(mv->name), "%s", name ? name : "");
            if (!mv->vm_id || !mv->from || !mv->to || !uuid)
                return err_set(e, ERR_INTERNAL, "the stored plan has a malformed move");
        }
    }
    return 0;
}

static int
exec_load(struct vp_app *app, int64_t plan_id, struct exec_job *x, err *e)
{
    arena *a = arena_new();
    struct db_plan pl;
    int rc = a ? db_plan_get(app->db, plan_id, false, a, &pl, e)
               : err_set(e, ERR_UNAVAILABLE, "out of memory");
    if (rc == 0 && strcmp(pl.kind, "rebalance") && strcmp(pl.kind, "drain"))
        rc = err_set(e, ERR_CONFLICT,
                     "Only KVM plans (rebalance, drain) are executed here; a vmware-import plan "
                     "is carried out with the virt-v2v commands of its export.");
    if (rc == 0 && pl.state != DB_PLAN_READY)
        rc = err_set(e, ERR_CONFLICT, "The plan is %s: only a ready plan can be executed.",
                     db_plan_state_name(pl.state));
    json_t *result = rc == 0 ? json_loads(pl.result ? pl.result : "", 0, NULL) : NULL;
    if (rc == 0 && !result)
        rc = err_set(e, ERR_CONFLICT, "The plan has no result to execute.");
    if (rc == 0)
        rc = exec_moves(x, result, e);
    json_decref(result);
    arena_destroy(a);
    return rc;
}

int
plan_exec_start(struct vp_app *app, int64_t plan_id, const struct plan_exec_opts *o,
                const struct plan_exec_who *who, struct db_audit *a, int64_t *task_id, err *e)
{
    if (!app->tasks || !app->inventory)
        return err_set(e, ERR_UNAVAILABLE, "The task runner or the host manager is not running.");
    struct exec_job *x = calloc(1, sizeof(*x));
    if (!x)
        return err_set(e, ERR_UNAVAILABLE, "out of memory");
    *x =
        (struct exec_job){.app = app, .plan_id = plan_id, .o = o ? *o : (struct plan_exec_opts){0}};
    who_copy(&x->who, who);
    db_task_now(x->started_at, sizeof(x->started_at));
    if (exec_load(app, plan_id, x, e) < 0 ||
        db_plan_transition(app->db, plan_id, DB_PLAN_READY, DB_PLAN_EXECUTING, NULL, NULL, e) < 0) {
        exec_job_free(x);
        return -1;
    }
    char target[40];
    snprintf(target, sizeof(target), "plan/%lld", (long long)plan_id);
    struct task_spec s = {.kind = "plan.execute",
                          .target = target,
                          .created_by = who->user_id,
                          .actor = who->login,
                          .key = "plan-execute",
                          .cancellable = true};
    if (task_submit(app->tasks, &s, exec_task, x, exec_job_free, a, task_id, e) < 0) {
        err ignored = {0};
        db_plan_transition(app->db, plan_id, DB_PLAN_EXECUTING, DB_PLAN_READY, NULL, NULL,
                           &ignored);
        exec_job_free(x);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- reconcile */

struct last_task {
    int64_t id;
};

static int
last_task_row(void *arg, const struct db_task *t, err *e)
{
    (void)e;
    ((struct last_task *)arg)->id = t->id;
    return 0;
}

/* The plan's task: the execution's, or (draft) the newest "plan.compute" on it. */
static int64_t
plan_task_id(struct vp_app *app, const struct db_plan *pl, const json_t *result)
{
    if (pl->state == DB_PLAN_EXECUTING)
        return json_integer_value(json_object_get(json_object_get(result, "execution"), "task_id"));
    char target[40];
    snprintf(target, sizeof(target), "plan/%lld", (long long)pl->id);
    struct db_task_filter f = {.state = -1, .kind = "plan.compute", .target = target};
    struct last_task lt = {0};
    bool more = false;
    err e = {0};
    db_task_list(app->db, &f, 1, &more, last_task_row, &lt, &e);
    return lt.id;
}

/* Has the task ended (and is it not running in this process)? */
static bool
task_over(struct vp_app *app, int64_t id)
{
    struct db_task row;
    struct task_view v;
    err e = {0};
    if (id <= 0 || (app->tasks && task_peek(app->tasks, id, &v)))
        return false;
    return db_task_get(app->db, id, &row, &e) == 0 && db_task_state_final(row.state);
}

static int
mark_interrupted(struct vp_app *app, const struct db_plan *pl, json_t *result, err *e)
{
    int rc;
    if (pl->state == DB_PLAN_EXECUTING) {
        json_t *ex = json_object_get(result, "execution");
        json_object_set_new(ex, "state", json_string("interrupted"));
        char *text = json_dumps(ex, JSON_COMPACT);
        rc = text ? db_plan_set_execution(app->db, pl->id, text, DB_PLAN_EXECUTING, DB_PLAN_FAILED,
                                          NULL, e)
                  : err_set(e, ERR_UNAVAILABLE, "out of memory");
        free(text);
    } else {
        rc = db_plan_transition(app->db, pl->id, DB_PLAN_DRAFT, DB_PLAN_FAILED,
                                "{\"error\":{\"detail\":\"The planning was interrupted.\"}}", NULL,
                                e);
    }
    return rc < 0 && e->kind == ERR_CONFLICT ? 0 : rc; /* it moved on meanwhile */
}

int
plan_exec_reconcile(struct vp_app *app, int64_t plan_id, err *e)
{
    arena *a = arena_new();
    struct db_plan pl;
    if (!a || db_plan_get(app->db, plan_id, false, a, &pl, e) < 0) {
        arena_destroy(a);
        return a ? -1 : err_set(e, ERR_UNAVAILABLE, "out of memory");
    }
    int rc = 0;
    if (pl.state == DB_PLAN_EXECUTING || pl.state == DB_PLAN_DRAFT) {
        json_t *result = pl.result ? json_loads(pl.result, 0, NULL) : NULL;
        if (task_over(app, plan_task_id(app, &pl, result)))
            rc = mark_interrupted(app, &pl, result, e);
        json_decref(result);
    }
    arena_destroy(a);
    return rc;
}
