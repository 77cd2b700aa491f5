/* virt-v2v command lines, one per VM, shell-quoted so they can be pasted as they are.
 *
 *   .vmx source:   virt-v2v -i vmx 'FILE.vmx' -o libvirt -os POOL -of FMT
 *   OVF source:    virt-v2v -i ova 'DIR-OR-OVA' …
 *   vCenter (RVTools, libvirt's view of ESXi):
 *                  virt-v2v -ic 'vpx://USER@VCENTER/DC/CLUSTER/HOST?no_verify=1'
 *                           -ip PASSWORD_FILE 'VM' …
 * Paths in the vpx URI are percent-encoded; everything is single-quoted for the shell. */
#include "plan_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct sbuf {
    char *p;
    size_t len, cap;
    struct arena *a;
    bool oom;
};

static void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = arena_alloc(b->a, ncap);
        if (!np) {
            b->oom = true;
            return;
        }
        if (b->len)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_put(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

/* 'text' with every ' written as '\'' (POSIX shell). */
static void
sb_quote(struct sbuf *b, const char *s)
{
    sb_put(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_put(b, "'\\''");
        else
            sb_putn(b, p, 1);
    }
    sb_put(b, "'");
}

/* RFC 3986 percent-encoding of one path segment or userinfo. */
static void
sb_pct(struct sbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            sb_putn(b, (const char *)p, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof(hex), "%%%02X", *p);
            sb_put(b, hex);
        }
    }
}

static void
vpx_uri(struct sbuf *u, const struct plan_vm *vm, const struct plan_v2v_opts *o)
{
    sb_put(u, "vpx://");
    sb_pct(u, o->vcenter_user ? o->vcenter_user : "administrator@vsphere.local");
    sb_put(u, "@");
    sb_put(u, o->vcenter ? o->vcenter : "VCENTER");
    const char *parts[] = {vm->datacenter ? vm->datacenter : "DATACENTER", vm->cluster, vm->host};
    for (size_t i = 0; i < PLAN_ARRAY_LEN(parts); i++) {
        if (!parts[i])
            continue;
        sb_put(u, "/");
        sb_pct(u, parts[i]);
    }
    sb_put(u, "?no_verify=1");
}

static void
output_args(struct sbuf *b, const struct plan_v2v_opts *o)
{
    sb_put(b, " -o libvirt -os ");
    sb_quote(b, o->output_storage ? o->output_storage : "default");
    sb_put(b, " -of ");
    sb_put(b, o->output_format && strcmp(o->output_format, "raw") == 0 ? "raw" : "qcow2");
    if (o->bridge) {
        sb_put(b, " --bridge ");
        sb_quote(b, o->bridge);
    }
}

const char *
plan_v2v_command(struct arena *a, const struct plan_vm *vm, const struct plan_v2v_opts *o)
{
    struct plan_v2v_opts defaults = {0};
    struct sbuf b = {.a = a};
    o = o ? o : &defaults;
    const char *src = vm->source ? vm->source : "";
    if (strcmp(src, "vmx") == 0 && vm->vm_id) {
        sb_put(&b, "virt-v2v -i vmx ");
        sb_quote(&b, vm->vm_id);
    } else if (strcmp(src, "ovf") == 0 && vm->vm_id) {
        /* -i ova takes an .ova file or the directory that holds the .ovf */
        size_t n = strlen(vm->vm_id);
        const char *slash = strrchr(vm->vm_id, '/');
        bool ovf = n > 4 && plan_ieq(vm->vm_id + n - 4, ".ovf");
        char *dir =
            ovf ? arena_strndup(a, vm->vm_id, slash ? (size_t)(slash - vm->vm_id) : 0) : NULL;
        sb_put(&b, "virt-v2v -i ova ");
        sb_quote(&b, !ovf ? vm->vm_id : dir && *dir ? dir : ".");
    } else {
        struct sbuf u = {.a = a};
        vpx_uri(&u, vm, o);
        sb_put(&b, "virt-v2v -ic ");
        sb_quote(&b, u.oom ? "" : u.p);
        sb_put(&b, " -ip PASSWORD_FILE ");
        sb_quote(&b, vm->name);
    }
    output_args(&b, o);
    return b.oom ? NULL : b.p;
}
