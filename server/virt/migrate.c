/* migrate: peer-to-peer live migration between two registered hosts, with a
 * CPU compatibility check first and progress from the job statistics.
 *
 * The migration call blocks the calling (task) thread; a helper thread polls
 * virDomainGetJobStats on the same connection (libvirt multiplexes calls on
 * one connection) and reports progress, aborting the job when asked. */
#include "virt_priv.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
virt_cpu_compat_name(enum virt_cpu_compat c)
{
    switch (c) {
    case VIRT_CPU_COMPAT_IDENTICAL:
        return "identical";
    case VIRT_CPU_COMPAT_SUPERSET:
        return "superset";
    case VIRT_CPU_COMPAT_INCOMPATIBLE:
        return "incompatible";
    case VIRT_CPU_COMPAT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* What the target must offer: the domain's <cpu>, or for host-passthrough
 * the source host's CPU. Empty fields when the domain leaves the CPU to the
 * hypervisor's default model. */
struct cpu_req {
    char *cpu_xml; /* malloc'd, NULL when nothing to compare */
    char arch[32], machine[64], virttype[16];
};

static const xmlNode *
elem(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static void
copy_prop(const xmlNode *n, const char *name, char *dst, size_t cap)
{
    xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
    snprintf(dst, cap, "%s", v ? (const char *)v : "");
    xmlFree(v);
}

static char *
node_xml(xmlDocPtr doc, const xmlNode *n)
{
    xmlBufferPtr b = xmlBufferCreate();
    char *out = NULL;
    if (b && xmlNodeDump(b, doc, (xmlNode *)n, 0, 0) > 0)
        out = strdup((const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    return out;
}

/* The source host's <cpu> from its capabilities, as a comparable CPU. */
static char *
host_cpu_xml(struct vconn *c)
{
    AUTOFREE char *caps = virConnectGetCapabilities(c->conn);
    xmlDocPtr doc = caps ? xmlReadMemory(caps, (int)strlen(caps), "c.xml", NULL,
                                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                         : NULL;
    const xmlNode *cpu = doc ? elem(elem(xmlDocGetRootElement(doc), "host"), "cpu") : NULL;
    char *out = cpu && elem(cpu, "model") ? node_xml(doc, cpu) : NULL;
    xmlFreeDoc(doc);
    return out;
}

static int
cpu_requirement(struct vconn *c, virDomainPtr dom, struct cpu_req *r, err *e)
{
    memset(r, 0, sizeof(*r));
    /* UPDATE_CPU gives the CPU the guest really sees; drivers without it
     * (the test driver) get the plain definition. */
    AUTOFREE char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_UPDATE_CPU);
    if (!xml && virt_last_code() == VIR_ERR_INVALID_ARG)
        xml = virDomainGetXMLDesc(dom, 0);
    if (!xml)
        return virt_fail(c->host, e, "reading the VM");
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "d.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return err_set(e, ERR_INTERNAL, "the host returned unreadable domain XML");
    }
    copy_prop(root, "type", r->virttype, sizeof(r->virttype));
    copy_prop(elem(elem(root, "os"), "type"), "arch", r->arch, sizeof(r->arch));
    copy_prop(elem(elem(root, "os"), "type"), "machine", r->machine, sizeof(r->machine));
    const xmlNode *cpu = elem(root, "cpu");
    char mode[32];
    copy_prop(cpu, "mode", mode, sizeof(mode));
    if (strcmp(mode, "host-passthrough") == 0 || strcmp(mode, "maximum") == 0)
        r->cpu_xml = host_cpu_xml(c);
    else if (cpu && elem(cpu, "model"))
        r->cpu_xml = node_xml(doc, cpu);
    xmlFreeDoc(doc);
    return 0;
}

static int
compare_on(struct vconn *dst, const struct cpu_req *r, enum virt_cpu_compat *out, err *e)
{
    bool known_type = strcmp(r->virttype, "kvm") == 0 || strcmp(r->virttype, "qemu") == 0;
    int rc = virConnectCompareHypervisorCPU(dst->conn, NULL, r->arch[0] ? r->arch : NULL,
                                            r->machine[0] ? r->machine : NULL,
                                            known_type ? r->virttype : NULL, r->cpu_xml, 0);
    switch (rc) {
    case VIR_CPU_COMPARE_IDENTICAL:
        *out = VIRT_CPU_COMPAT_IDENTICAL;
        return 0;
    case VIR_CPU_COMPARE_SUPERSET:
        *out = VIRT_CPU_COMPAT_SUPERSET;
        return 0;
    case VIR_CPU_COMPARE_INCOMPATIBLE:
        *out = VIRT_CPU_COMPAT_INCOMPATIBLE;
        return 0;
    default:
        break;
    }
    int code = virt_last_code();
    if (code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_OPERATION_UNSUPPORTED) {
        *out = VIRT_CPU_COMPAT_UNKNOWN; /* the driver cannot tell (test driver) */
        return 0;
    }
    return virt_fail(dst->host, e, "comparing CPUs with the target host");
}

static int
check_cpu(struct vconn *src, virDomainPtr dom, struct vconn *dst, enum virt_cpu_compat *out, err *e)
{
    *out = VIRT_CPU_COMPAT_UNKNOWN;
    struct cpu_req r;
    if (cpu_requirement(src, dom, &r, e) < 0)
        return -1;
    int rc = r.cpu_xml ? compare_on(dst, &r, out, e) : 0;
    free(r.cpu_xml);
    return rc;
}

int
virt_migrate_check(virt_hosts *h, int64_t src, const char *uuid, int64_t dst,
                   enum virt_cpu_compat *out, err *e)
{
    *out = VIRT_CPU_COMPAT_UNKNOWN;
    VCONN s = {0};
    VCONN d = {0};
    if (virt_conn_get(h, src, &s, e) < 0 || virt_conn_get(h, dst, &d, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&s, uuid, e);
    if (!dom)
        return -1;
    return check_cpu(&s, dom, &d, out, e);
}

/* ---- progress poller ---- */

struct poller {
    virDomainPtr dom;
    const struct virt_migrate_opts *o;
    struct vhost *host;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;             /* guarded by lock */
    atomic_bool cancelled; /* the caller asked to cancel */
    bool aborted;          /* poller thread only: virDomainAbortJob succeeded */
};

static void
job_progress(virTypedParameterPtr params, int n, struct virt_job_progress *p)
{
    unsigned long long v;
    memset(p, 0, sizeof(*p));
    p->percent = -1;
    if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
        p->elapsed_ms = v;
    if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, &v) == 1)
        p->data_total = v;
    if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
        p->data_processed = v;
    if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_REMAINING, &v) == 1)
        p->data_remaining = v;
    if (virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_MEMORY_BPS, &v) == 1)
        p->mem_bps = v;
    if (p->data_total) {
        /* memory is copied more than once when dirtied: stay below 100 until done */
        uint64_t done =
            p->data_total - (p->data_remaining < p->data_total ? p->data_remaining : p->data_total);
        p->percent = (int)(done * 100 / p->data_total);
        if (p->percent > 99)
            p->percent = 99;
    }
}

static void
poll_once(struct poller *pl)
{
    int type = 0, n = 0;
    virTypedParameterPtr params = NULL;
    if (virDomainGetJobStats(pl->dom, &type, &params, &n, 0) < 0)
        return; /* the job may just have finished */
    if (type != VIR_DOMAIN_JOB_NONE) {
        struct virt_job_progress p;
        job_progress(params, n, &p);
        if (pl->o->progress(pl->o->ctx, &p) != 0)
            atomic_store(&pl->cancelled, true);
        /* QEMU refuses to abort in some phases: ask again at every poll */
        if (atomic_load(&pl->cancelled) && !pl->aborted) {
            pl->aborted = virDomainAbortJob(pl->dom) == 0;
            if (!pl->aborted)
                virt_host_log(pl->host, "cancelling the migration", virGetLastErrorMessage());
        }
    }
    virTypedParamsFree(params, n);
}

static void *
poller_main(void *arg)
{
    struct poller *pl = arg;
    int ms = pl->o->poll_ms > 0 ? pl->o->poll_ms : 500;
    pthread_mutex_lock(&pl->lock);
    while (!pl->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&pl->cond, &pl->lock, &ts) != ETIMEDOUT || pl->done)
            continue;
        pthread_mutex_unlock(&pl->lock);
        poll_once(pl);
        pthread_mutex_lock(&pl->lock);
    }
    pthread_mutex_unlock(&pl->lock);
    return NULL;
}

/* ---- migration ---- */

static int
check_opts(virt_hosts *h, int64_t src, int64_t dst, const struct virt_migrate_opts *o, err *e)
{
    (void)h;
    if (src == dst)
        return err_set(e, ERR_INVALID, "the source and target host are the same");
    if (o->dest_uri && virt_uri_validate(o->dest_uri, e) < 0)
        return -1;
    if (o->migrate_uri) {
        size_t n = strlen(o->migrate_uri);
        bool ok = n > 6 && n < 256 && strncmp(o->migrate_uri, "tcp://", 6) == 0;
        for (size_t i = 0; ok && i < n; i++)
            ok = o->migrate_uri[i] > 0x20 && o->migrate_uri[i] < 0x7f &&
                 !strchr("\"'<>\\`", o->migrate_uri[i]);
        if (!ok)
            return err_set(e, ERR_INVALID, "migrate_uri must look like tcp://host:port");
        if (o->tunnelled)
            return err_set(e, ERR_INVALID, "a tunnelled migration cannot use migrate_uri");
    }
    if (o->bandwidth_mibs > 1000000)
        return err_set(e, ERR_INVALID, "the bandwidth limit is too large");
    return 0;
}

static int
migrate_params(const struct virt_migrate_opts *o, virTypedParameterPtr *params, int *n, err *e)
{
    int max = 0;
    *params = NULL;
    *n = 0;
    if (o->migrate_uri &&
        virTypedParamsAddString(params, n, &max, VIR_MIGRATE_PARAM_URI, o->migrate_uri) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (o->bandwidth_mibs && virTypedParamsAddULLong(params, n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
                                                     o->bandwidth_mibs) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Runs the blocking migration call with the poller beside it. */
static int
run_migration(struct vconn *s, virDomainPtr dom, const char *dconnuri,
              const struct virt_migrate_opts *o, err *e)
{
    virTypedParameterPtr params = NULL;
    int n = 0;
    if (migrate_params(o, &params, &n, e) < 0) {
        virTypedParamsFree(params, n);
        return -1;
    }
    unsigned flags = VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST |
                     VIR_MIGRATE_UNDEFINE_SOURCE | (o->tunnelled ? VIR_MIGRATE_TUNNELLED : 0) |
                     (o->unsafe ? VIR_MIGRATE_UNSAFE : 0);
    struct poller pl = {.dom = dom, .o = o, .host = s->host};
    pthread_mutex_init(&pl.lock, NULL);
    pthread_cond_init(&pl.cond, NULL);
    atomic_init(&pl.cancelled, false);
    pthread_t t;
    bool polling = o->progress && pthread_create(&t, NULL, poller_main, &pl) == 0;
    int rc = virDomainMigrateToURI3(dom, dconnuri, params, (unsigned)n, flags);
    if (rc < 0)
        rc = atomic_load(&pl.cancelled) ? err_set(e, ERR_CONFLICT, "the migration was cancelled")
                                        : virt_fail(s->host, e, "migrating the VM");
    if (polling) {
        pthread_mutex_lock(&pl.lock);
        pl.done = true;
        pthread_cond_signal(&pl.cond);
        pthread_mutex_unlock(&pl.lock);
        pthread_join(t, NULL);
    }
    pthread_mutex_destroy(&pl.lock);
    pthread_cond_destroy(&pl.cond);
    virTypedParamsFree(params, n);
    return rc;
}

int
virt_migrate(virt_hosts *h, int64_t src, const char *uuid, int64_t dst,
             const struct virt_migrate_opts *o, err *e)
{
    static const struct virt_migrate_opts defaults = {0};
    o = o ? o : &defaults;
    if (check_opts(h, src, dst, o, e) < 0)
        return -1;
    VCONN s = {0};
    VCONN d = {0};
    if (virt_conn_get(h, src, &s, e) < 0 || virt_conn_get(h, dst, &d, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&s, uuid, e);
    if (!dom)
        return -1;
    int active = virDomainIsActive(dom);
    if (active < 0)
        return virt_fail(s.host, e, "reading the VM's state");
    if (!active)
        return err_set(e, ERR_CONFLICT, "the VM must be running to be live-migrated");
    enum virt_cpu_compat compat = VIRT_CPU_COMPAT_UNKNOWN;
    if (!o->skip_cpu_check && check_cpu(&s, dom, &d, &compat, e) < 0)
        return -1;
    if (compat == VIRT_CPU_COMPAT_INCOMPATIBLE)
        return err_set(e, ERR_CONFLICT, "the target host's CPU cannot run this VM");
    if (run_migration(&s, dom, o->dest_uri ? o->dest_uri : d.host->uri, o, e) < 0)
        return -1;
    if (o->progress) {
        struct virt_job_progress done = {.percent = 100};
        o->progress(o->ctx, &done);
    }
    return 0;
}

int
virt_migrate_cancel(virt_hosts *h, int64_t id, const char *uuid, err *e)
{
    VCONN c = {0};
    if (virt_conn_get(h, id, &c, e) < 0)
        return -1;
    AUTOPTR(virDomain) dom = virt_dom_lookup(&c, uuid, e);
    if (!dom)
        return -1;
    if (virDomainAbortJob(dom) < 0)
        return virt_fail(c.host, e, "cancelling the VM's job");
    return 0;
}
