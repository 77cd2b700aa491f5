/* actions: power actions, the portal metadata element, runtime tunables. */
#include "virt_priv.h"

#include <stdio.h>
#include <string.h>

static const char *const action_names[VIRT_ACT_COUNT] = {
    [VIRT_ACT_START] = "start",   [VIRT_ACT_SHUTDOWN] = "shutdown", [VIRT_ACT_REBOOT] = "reboot",
    [VIRT_ACT_RESET] = "reset",   [VIRT_ACT_POWEROFF] = "poweroff", [VIRT_ACT_SUSPEND] = "suspend",
    [VIRT_ACT_RESUME] = "resume",
};

int
virt_action_parse(const char *name, enum virt_action *out)
{
    for (int i = 0; name && i < VIRT_ACT_COUNT; i++) {
        if (strcmp(name, action_names[i]) == 0) {
            *out = (enum virt_action)i;
            return 0;
        }
    }
    return -1;
}

const char *
virt_action_name(enum virt_action a)
{
    return (unsigned)a < VIRT_ACT_COUNT ? action_names[a] : "unknown";
}

/* A clear refusal before libvirt gives its generic "operation invalid". */
static int
check_state(int state, enum virt_action a, err *e)
{
    bool active = state != VIRT_DOM_SHUTOFF && state != VIRT_DOM_NOSTATE;
    switch (a) {
    case VIRT_ACT_START:
        return active ? err_set(e, ERR_CONFLICT, "the VM is already running") : 0;
    case VIRT_ACT_SUSPEND:
        if (state == VIRT_DOM_PAUSED)
            return err_set(e, ERR_CONFLICT, "the VM is already paused");
        return active ? 0 : err_set(e, ERR_CONFLICT, "the VM is not running");
    case VIRT_ACT_RESUME:
        return state == VIRT_DOM_PAUSED ? 0 : err_set(e, ERR_CONFLICT, "the VM is not paused");
    default:
        return active ? 0 : err_set(e, ERR_CONFLICT, "the VM is not running");
    }
}

static int
run_action(virDomainPtr dom, enum virt_action a)
{
    switch (a) {
    case VIRT_ACT_START:
        return virDomainCreate(dom);
    case VIRT_ACT_SHUTDOWN:
        return virDomainShutdown(dom);
    case VIRT_ACT_REBOOT:
        return virDomainReboot(dom, 0);
    case VIRT_ACT_RESET:
        return virDomainReset(dom, 0);
    case VIRT_ACT_POWEROFF:
        return virDomainDestroy(dom);
    case VIRT_ACT_SUSPEND:
        return virDomainSuspend(dom);
    case VIRT_ACT_RESUME:
        return virDomainResume(dom);
    case VIRT_ACT_COUNT:
        break;
    }
    return -1;
}

int
virt_domain_act(virt_hosts *h, int64_t id, const char *uuid, enum virt_action a, err *e)
{
    if ((unsigned)a >= VIRT_ACT_COUNT)
        return err_set(e, ERR_INVALID, "unknown action");
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom)
        return -1;
    int state = 0, reason = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        return virt_fail(c.host, e, "reading the VM's state");
    if (check_state(state, a, e) < 0)
        return -1;
    if (run_action(dom, a) < 0) {
        char what[64];
        snprintf(what, sizeof(what), "%s the VM", virt_action_name(a));
        return virt_fail(c.host, e, what);
    }
    return 0;
}

/* ---- metadata ---- */

int
virt_meta_get(virt_hosts *h, int64_t id, const char *uuid, arena *a, struct virt_meta *out, err *e)
{
    memset(out, 0, sizeof(*out));
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom)
        return -1;
    AUTOFREE char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VIRT_META_NS, 0);
    if (!xml)
        return virt_last_code() == VIR_ERR_NO_DOMAIN_METADATA
                   ? 0
                   : virt_fail(c.host, e, "reading the VM's metadata");
    return virt_meta_parse(xml, a, out, e);
}

int
virt_meta_set(virt_hosts *h, int64_t id, const char *uuid, const struct virt_meta *m, err *e)
{
    if (m->tenant_id < 0)
        return err_set(e, ERR_INVALID, "tenant_id must not be negative");
    if (m->ntags > VIRT_TAGS_MAX)
        return err_set(e, ERR_INVALID, "at most %d tags are allowed", VIRT_TAGS_MAX);
    for (size_t i = 0; i < m->ntags; i++)
        if (!virt_tag_valid(m->tags[i]))
            return err_set(e, ERR_INVALID,
                           "tag %zu must be 1-%d characters of letters, digits "
                           "and ._:-",
                           i + 1, VIRT_TAG_MAX);
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    unsigned flags = 0;
    if (!dom || virt_affect_flags(dom, &flags, c.host, e) < 0)
        return -1;
    AUTOFREE char *xml = NULL;
    if (m->tenant_id > 0 || m->ntags > 0) {
        struct virt_xw x;
        if (virt_xw_begin(&x) < 0)
            return err_set(e, ERR_INTERNAL, "out of memory");
        virt_xw_meta(&x, NULL, m->tenant_id, (const char *const *)m->tags, m->ntags);
        if (!(xml = virt_xw_finish(&x)))
            return err_set(e, ERR_INTERNAL, "cannot write the metadata");
    }
    /* NULL metadata removes the element. */
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, xml ? "vp" : NULL, VIRT_META_NS,
                             flags) < 0)
        return virt_fail(c.host, e, "writing the VM's metadata");
    return 0;
}

/* ---- tunables ---- */

/* True when a call made with LIVE|CONFIG failed because the driver takes
 * only one at a time (the test driver): then each half is applied alone. */
static bool
both_halves(unsigned flags)
{
    return flags == (VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG) &&
           virt_last_code() == VIR_ERR_INVALID_ARG;
}

int
virt_domain_set_cpu_tune(virt_hosts *h, int64_t id, const char *uuid, const struct virt_cpu_tune *t,
                         err *e)
{
    if (t->period_us < 1000 || t->period_us > 1000000)
        return err_set(e, ERR_INVALID, "the CPU period must be 1000-1000000 microseconds");
    if (t->quota_us != -1 && (t->quota_us < 1000 || t->quota_us > 17592186044415LL))
        return err_set(e, ERR_INVALID,
                       "the CPU quota must be -1 or 1000-17592186044415 "
                       "microseconds");
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    unsigned flags = 0;
    if (!dom || virt_affect_flags(dom, &flags, c.host, e) < 0)
        return -1;
    virTypedParameter p[2];
    memset(p, 0, sizeof(p));
    snprintf(p[0].field, sizeof(p[0].field), "%s",
             t->per_vcpu ? VIR_DOMAIN_SCHEDULER_VCPU_PERIOD : VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD);
    p[0].type = VIR_TYPED_PARAM_ULLONG;
    p[0].value.ul = t->period_us;
    snprintf(p[1].field, sizeof(p[1].field), "%s",
             t->per_vcpu ? VIR_DOMAIN_SCHEDULER_VCPU_QUOTA : VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA);
    p[1].type = VIR_TYPED_PARAM_LLONG;
    p[1].value.l = t->quota_us;
    int rc = virDomainSetSchedulerParametersFlags(dom, p, 2, flags);
    if (rc < 0 && both_halves(flags))
        rc = virDomainSetSchedulerParametersFlags(dom, p, 2, VIR_DOMAIN_AFFECT_LIVE) < 0 ||
                     virDomainSetSchedulerParametersFlags(dom, p, 2, VIR_DOMAIN_AFFECT_CONFIG) < 0
                 ? -1
                 : 0;
    if (rc < 0)
        return virt_fail(c.host, e, "setting the VM's CPU limit");
    return 0;
}

static void
io_param(virTypedParameter *p, const char *field, unsigned long long v)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->field, sizeof(p->field), "%s", field);
    p->type = VIR_TYPED_PARAM_ULLONG;
    p->value.ul = v;
}

/* Sets the four limits on one disk. The *_max (burst) values equal the
 * limits: QEMU accepts that, and some drivers refuse a limit above an unset
 * burst. A zero limit clears both. */
static int
io_tune_disk(struct vconn *c, virDomainPtr dom, const char *target, const struct virt_io_tune *t,
             unsigned flags, err *e)
{
    virTypedParameter p[8];
    io_param(&p[0], VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC, t->read_bps);
    io_param(&p[1], VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC_MAX, t->read_bps);
    io_param(&p[2], VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC, t->write_bps);
    io_param(&p[3], VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC_MAX, t->write_bps);
    io_param(&p[4], VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC, t->read_iops);
    io_param(&p[5], VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC_MAX, t->read_iops);
    io_param(&p[6], VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC, t->write_iops);
    io_param(&p[7], VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC_MAX, t->write_iops);
    int rc = virDomainSetBlockIoTune(dom, target, p, 8, flags);
    if (rc < 0 && both_halves(flags))
        rc = virDomainSetBlockIoTune(dom, target, p, 8, VIR_DOMAIN_AFFECT_LIVE) < 0 ||
                     virDomainSetBlockIoTune(dom, target, p, 8, VIR_DOMAIN_AFFECT_CONFIG) < 0
                 ? -1
                 : 0;
    if (rc < 0)
        return virt_fail(c->host, e, "setting the VM's disk I/O limits");
    return 0;
}

int
virt_domain_set_io_tune(virt_hosts *h, int64_t id, const char *uuid, const struct virt_io_tune *t,
                        err *e)
{
    const uint64_t max = 1ULL << 50; /* far above any device; keeps QEMU's math in range */
    if (t->read_bps > max || t->write_bps > max || t->read_iops > max || t->write_iops > max)
        return err_set(e, ERR_INVALID, "an I/O limit is too large");
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    unsigned flags = 0;
    if (!dom || virt_affect_flags(dom, &flags, c.host, e) < 0)
        return -1;
    AUTOFREE char *xml = virDomainGetXMLDesc(dom, 0);
    if (!xml)
        return virt_fail(c.host, e, "reading the VM");
    arena *a = arena_new();
    struct virt_domain d;
    int rc = a ? virt_domxml_parse(xml, a, &d, e) : err_set(e, ERR_INTERNAL, "out of memory");
    size_t done = 0;
    for (size_t i = 0; rc == 0 && i < d.ndisks; i++) {
        if (!d.disks[i].target || strcmp(d.disks[i].device, "disk") != 0)
            continue;
        rc = io_tune_disk(&c, dom, d.disks[i].target, t, flags, e);
        done++;
    }
    arena_destroy(a);
    if (rc == 0 && done == 0)
        return err_set(e, ERR_CONFLICT, "the VM has no disk to limit");
    return rc;
}
