/* stats: live numbers of running domains (CPU time, memory, disk and network
 * I/O) for the VM detail view and the quota usage sampler. */
#include "virt_priv.h"

#include <stdlib.h>
#include <string.h>

enum {
    STATS_GROUPS = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
                   VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK,
};

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static uint64_t
uval(const virTypedParameter *p)
{
    switch (p->type) {
    case VIR_TYPED_PARAM_ULLONG:
        return p->value.ul;
    case VIR_TYPED_PARAM_LLONG:
        return p->value.l < 0 ? 0 : (uint64_t)p->value.l;
    case VIR_TYPED_PARAM_UINT:
        return p->value.ui;
    case VIR_TYPED_PARAM_INT:
        return p->value.i < 0 ? 0 : (uint64_t)p->value.i;
    default:
        return 0;
    }
}

/* block.<n>.rd.bytes and friends are summed over the disks. */
static void
read_block(const virTypedParameter *p, struct virt_domain_stats *s)
{
    const char *f = p->field;
    if (ends_with(f, ".rd.bytes"))
        s->block_rd_bytes += uval(p);
    else if (ends_with(f, ".wr.bytes"))
        s->block_wr_bytes += uval(p);
    else if (ends_with(f, ".rd.reqs"))
        s->block_rd_reqs += uval(p);
    else if (ends_with(f, ".wr.reqs"))
        s->block_wr_reqs += uval(p);
    else
        return;
    s->have |= VIRT_STATS_BLOCK;
}

static void
read_net(const virTypedParameter *p, struct virt_domain_stats *s)
{
    const char *f = p->field;
    if (ends_with(f, ".rx.bytes"))
        s->net_rx_bytes += uval(p);
    else if (ends_with(f, ".tx.bytes"))
        s->net_tx_bytes += uval(p);
    else if (ends_with(f, ".rx.pkts"))
        s->net_rx_pkts += uval(p);
    else if (ends_with(f, ".tx.pkts"))
        s->net_tx_pkts += uval(p);
    else
        return;
    s->have |= VIRT_STATS_NET;
}

static void
read_balloon(const virTypedParameter *p, struct virt_domain_stats *s)
{
    static const struct {
        const char *field;
        size_t off;
    } map[] = {
        {"balloon.current", offsetof(struct virt_domain_stats, mem_current_kib)},
        {"balloon.maximum", offsetof(struct virt_domain_stats, mem_max_kib)},
        {"balloon.rss", offsetof(struct virt_domain_stats, mem_rss_kib)},
        {"balloon.unused", offsetof(struct virt_domain_stats, mem_unused_kib)},
        {"balloon.available", offsetof(struct virt_domain_stats, mem_available_kib)},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(p->field, map[i].field) == 0) {
            *(uint64_t *)((char *)s + map[i].off) = uval(p);
            s->have |= VIRT_STATS_BALLOON;
        }
    }
}

static void
read_record(const virDomainStatsRecord *r, struct virt_domain_stats *s)
{
    virDomainGetUUIDString(r->dom, s->uuid);
    s->sampled_ms = virt_now_ms();
    for (int i = 0; i < r->nparams; i++) {
        const virTypedParameter *p = &r->params[i];
        if (strcmp(p->field, "state.state") == 0) {
            s->state = (int)uval(p);
        } else if (strcmp(p->field, "cpu.time") == 0) {
            s->cpu_time_ns = uval(p);
            s->have |= VIRT_STATS_CPU;
        } else if (strcmp(p->field, "vcpu.current") == 0) {
            s->vcpus = (unsigned)uval(p);
        } else if (strncmp(p->field, "balloon.", 8) == 0) {
            read_balloon(p, s);
        } else if (strncmp(p->field, "block.", 6) == 0) {
            read_block(p, s);
        } else if (strncmp(p->field, "net.", 4) == 0) {
            read_net(p, s);
        }
    }
    /* Drivers without the CPU/balloon groups (the test driver) still answer
     * virDomainGetInfo. */
    virDomainInfo info;
    if ((!(s->have & VIRT_STATS_CPU) || !(s->have & VIRT_STATS_BALLOON)) &&
        virDomainGetInfo(r->dom, &info) == 0) {
        if (!(s->have & VIRT_STATS_CPU))
            s->cpu_time_ns = info.cpuTime;
        if (!(s->have & VIRT_STATS_BALLOON)) {
            s->mem_current_kib = info.memory;
            s->mem_max_kib = info.maxMem;
        }
        if (!s->vcpus)
            s->vcpus = info.nrVirtCpu;
        s->have |= VIRT_STATS_CPU | VIRT_STATS_BALLOON;
    }
}

int
virt_domain_stats(virt_hosts *h, int64_t id, const char *uuid, struct virt_domain_stats *out,
                  err *e)
{
    memset(out, 0, sizeof(*out));
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom)
        return -1;
    virDomainPtr doms[2] = {dom, NULL};
    virDomainStatsRecordPtr *recs = NULL;
    int n = virDomainListGetStats(doms, STATS_GROUPS, &recs, 0);
    if (n < 0)
        return virt_fail(c.host, e, "reading the VM's statistics");
    if (n > 0)
        read_record(recs[0], out);
    virDomainStatsRecordListFree(recs);
    if (n == 0)
        return err_set(e, ERR_NOT_FOUND, "the VM does not exist");
    return 0;
}

int
virt_host_stats(virt_hosts *h, int64_t id, struct virt_domain_stats **out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    virDomainStatsRecordPtr *recs = NULL;
    int nr = virConnectGetAllDomainStats(c.conn, STATS_GROUPS, &recs, 0);
    if (nr < 0)
        return virt_fail(c.host, e, "reading VM statistics");
    *out = calloc((size_t)nr + 1, sizeof(**out));
    if (!*out) {
        virDomainStatsRecordListFree(recs);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    for (int i = 0; i < nr; i++)
        read_record(recs[i], &(*out)[i]);
    *n = (size_t)nr;
    virDomainStatsRecordListFree(recs);
    return 0;
}
