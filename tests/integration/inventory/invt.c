/* invt: helpers of the inventory integration tests (see invt.h). */
#include "invt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>

struct vp_proc invt_p;
char *invt_admin;
char invt_dir[256];

int
invt_setup_with(const char *const *extra)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(invt_dir, sizeof(invt_dir), "%s/vp-inv-XXXXXX", tmp);
    if (!mkdtemp(invt_dir) || vp_start(&invt_p, extra) < 0)
        return -1;
    invt_admin = vp_login(&invt_p, "admin", invt_p.admin_password);
    return invt_admin ? 0 : -1;
}

int
invt_setup(void **state)
{
    (void)state;
    return invt_setup_with(NULL);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int
invt_teardown(void **state)
{
    (void)state;
    free(invt_admin);
    invt_admin = NULL;
    vp_stop(&invt_p);
    if (!getenv("VP_KEEP_DATA"))
        nftw(invt_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int
req_v(struct vp_resp *r, const char *method, const char *path, const char *token, const char *fmt,
      va_list ap)
{
    char *body = NULL;
    if (fmt && vasprintf(&body, fmt, ap) < 0)
        return -1;
    int rc = vp_json(&invt_p, method, path, token, body, r);
    free(body);
    return rc;
}

int
invt_req(struct vp_resp *r, const char *method, const char *path, const char *token,
         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(r, method, path, token, fmt, ap);
    va_end(ap);
    return rc;
}

long
invt_status(const char *method, const char *path, const char *token, const char *fmt, ...)
{
    struct vp_resp r;
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(&r, method, path, token, fmt, ap);
    va_end(ap);
    long st = rc == 0 ? r.status : -1;
    vp_resp_free(&r);
    return st;
}

int64_t
invt_create(const char *path, const char *token, const char *fmt, ...)
{
    struct vp_resp r;
    va_list ap;
    va_start(ap, fmt);
    int rc = req_v(&r, "POST", path, token, fmt, ap);
    va_end(ap);
    if (rc != 0 || r.status != 201)
        fail_msg("POST %s: %ld %s", path, r.status, r.body ? r.body : "");
    int64_t id = invt_int(&r, "id");
    vp_resp_free(&r);
    assert_true(id > 0);
    return id;
}

int64_t
invt_tenant(const char *slug)
{
    return invt_create("/api/v1/tenants", invt_admin, "{\"slug\":\"%s\",\"name\":\"%s\"}", slug,
                       slug);
}

int64_t
invt_user(const char *login, int64_t tenant_id, const char *role)
{
    int64_t uid = tenant_id
                      ? invt_create("/api/v1/users", invt_admin,
                                    "{\"login\":\"%s\",\"password\":\"" INVT_PASSWORD
                                    "\",\"tenant_id\":%lld}",
                                    login, (long long)tenant_id)
                      : invt_create("/api/v1/users", invt_admin,
                                    "{\"login\":\"%s\",\"password\":\"" INVT_PASSWORD "\"}", login);
    if (tenant_id)
        invt_create("/api/v1/role-bindings", invt_admin,
                    "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                    "\"scope\":\"tenant\",\"tenant_id\":%lld}",
                    (long long)uid, role, (long long)tenant_id);
    else
        invt_create("/api/v1/role-bindings", invt_admin,
                    "{\"subject_kind\":\"user\",\"subject_id\":%lld,\"role\":\"%s\","
                    "\"scope\":\"global\"}",
                    (long long)uid, role);
    return uid;
}

char *
invt_login(const char *login)
{
    char *t = vp_login(&invt_p, login, INVT_PASSWORD);
    assert_non_null(t);
    return t;
}

int64_t
invt_int(const struct vp_resp *r, const char *key)
{
    json_t *v = json_object_get(r->json, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

const char *
invt_str(const struct vp_resp *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    return s ? s : "";
}

const char *
invt_field(const struct vp_resp *r)
{
    json_t *err0 = json_array_get(json_object_get(r->json, "errors"), 0);
    const char *s = json_string_value(json_object_get(err0, "field"));
    return s ? s : "";
}

/* ---- test-driver hosts ---- */

static void
write_domain(FILE *f, const struct invt_dom *d)
{
    fprintf(f, "<domain type='kvm' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n");
    fprintf(f, "  <name>%s</name>\n", d->name);
    /* a stable UUID (from the name unless given): the test driver would
     * make up a new one at every start */
    unsigned long long h = 1469598103934665603ULL;
    for (const char *c = d->name; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    if (d->uuid)
        fprintf(f, "  <uuid>%s</uuid>\n", d->uuid);
    else
        fprintf(f, "  <uuid>00000000-0000-4000-8000-%012llx</uuid>\n", h & 0xffffffffffffULL);
    if (d->tenant_id || d->tags[0]) {
        fprintf(f,
                "  <metadata><vp:portal xmlns:vp='https://virtportal.dev/xmlns/1'>"
                "<vp:tenant>%lld</vp:tenant><vp:tags>",
                (long long)d->tenant_id);
        for (size_t i = 0; i < 4 && d->tags[i]; i++)
            fprintf(f, "<vp:tag>%s</vp:tag>", d->tags[i]);
        fprintf(f, "</vp:tags></vp:portal></metadata>\n");
    }
    fprintf(f, "  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n", d->memory_mib,
            d->vcpus ? d->vcpus : 1);
    fprintf(f, "  <os%s><type arch='x86_64' machine='%s'>hvm</type></os>\n",
            d->uefi ? " firmware='efi'" : "", d->uefi ? "q35" : "pc");
    fprintf(f,
            "  <devices>\n"
            "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source file='/var/lib/libvirt/images/%s.qcow2'/>"
            "<target dev='vda' bus='virtio'/></disk>\n"
            "    <interface type='network'><mac address='52:54:00:12:34:%02x'/>"
            "<source network='default'/><model type='virtio'/></interface>\n"
            "  </devices>\n",
            d->name, (unsigned)(strlen(d->name) * 7 + d->vcpus) & 0xff);
    fprintf(f, "  <test:runstate>%d</test:runstate>\n</domain>\n", d->state ? d->state : 1);
}

static void
write_pool(FILE *f, const struct invt_dom *doms, size_t n)
{
    fprintf(f, "<pool type='dir'><name>default</name>"
               "<target><path>/var/lib/libvirt/images</path></target>\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "  <volume type='file'><name>%s.qcow2</name>"
                "<capacity unit='GiB'>%u</capacity><allocation unit='MiB'>64</allocation>"
                "<target><path>/var/lib/libvirt/images/%s.qcow2</path>"
                "<format type='qcow2'/></target></volume>\n",
                doms[i].name, doms[i].disk_gib ? doms[i].disk_gib : 1, doms[i].name);
    fprintf(f, "</pool>\n");
}

const char *
invt_host_file(const char *file, unsigned cpus, unsigned mem_gib, const struct invt_dom *doms,
               size_t n)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", invt_dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "<node>\n<cpu><mhz>2000</mhz><model>x86_64</model><active>%u</active><nodes>1</nodes>"
            "<sockets>1</sockets><cores>%u</cores><threads>1</threads></cpu>\n"
            "<memory>%llu</memory>\n",
            cpus, cpus, (unsigned long long)mem_gib * 1024 * 1024);
    for (size_t i = 0; i < n; i++)
        write_domain(f, &doms[i]);
    fprintf(f, "<network><name>default</name><bridge name='virbr0'/><forward mode='nat'/>"
               "<ip address='192.168.122.1' netmask='255.255.255.0'/></network>\n"
               "<network><name>prod</name><bridge name='br-prod'/><forward mode='bridge'/>"
               "</network>\n");
    write_pool(f, doms, n);
    fprintf(f, "</node>\n");
    assert_int_equal(fclose(f), 0);
    return path;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void
invt_host_wait(int64_t id, const char *state, bool reconciled)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/hosts/%lld", (long long)id);
    char last[512] = "";
    for (int i = 0; i < 300; i++) {
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
        bool ok = r.status == 200 && !strcmp(invt_str(&r, "state"), state) &&
                  (!reconciled || *invt_str(&r, "reconciled_at"));
        snprintf(last, sizeof(last), "%ld %s", r.status, r.body ? r.body : "");
        vp_resp_free(&r);
        if (ok)
            return;
        sleep_ms(100);
    }
    fail_msg("host %lld never became %s%s: %s", (long long)id, state,
             reconciled ? " and reconciled" : "", last);
}

int64_t
invt_host(const char *name, const char *path)
{
    int64_t id = invt_create("/api/v1/hosts", invt_admin, "{\"name\":\"%s\",\"uri\":\"test://%s\"}",
                             name, path);
    invt_host_wait(id, "connected", true);
    return id;
}

void *
invt_list_all(const char *path, const char *token)
{
    json_t *all = json_array();
    char url[1024];
    snprintf(url, sizeof(url), "%s", path);
    for (int pages = 0; pages < 1000; pages++) {
        struct vp_resp r;
        assert_int_equal(invt_req(&r, "GET", url, token, NULL), 0);
        if (r.status != 200)
            fail_msg("GET %s: %ld %s", url, r.status, r.body);
        json_array_extend(all, json_object_get(r.json, "items"));
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        if (next)
            snprintf(url, sizeof(url), "%s%scursor=%s", path, strchr(path, '?') ? "&" : "?", next);
        vp_resp_free(&r);
        if (!next)
            return all;
    }
    fail_msg("GET %s: no end of pages", path);
    return all;
}

int64_t
invt_vm_id(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/vms?q=%s&limit=1000", name);
    json_t *all = invt_list_all(path, invt_admin);
    int64_t id = -1;
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, "name")), name))
            id = json_integer_value(json_object_get(v, "id"));
    }
    json_decref(all);
    return id;
}

int
invt_audit_count(const char *action, const char *target)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&action=%s%s%s", action,
             target ? "&target=" : "", target ? target : "");
    struct vp_resp r;
    assert_int_equal(invt_req(&r, "GET", path, invt_admin, NULL), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    int n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r.json, "items"), i, row)
    {
        if (!strcmp(json_string_value(json_object_get(row, "action")), action))
            n++;
    }
    vp_resp_free(&r);
    return n;
}
