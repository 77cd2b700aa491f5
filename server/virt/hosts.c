/* hosts: the connection manager.
 *
 * Each registered host has one connector thread that opens its libvirt
 * connection (virConnectOpen can block for a long time on ssh/tls), sets
 * keepalive, registers the close callback and event callbacks, and waits;
 * when the connection is lost it reopens it, with exponential backoff after
 * failures. Callers borrow the connection with virt_conn_get (a reference on
 * the virConnect, so a close in between is harmless).
 *
 * Lifetime: a host is reference counted. The registry list holds one
 * reference, the connector thread one, each registered event callback one
 * (dropped by libvirt's free callback), each borrowed vconn one. */
#include "virt_priv.h"

#include <errno.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
virt_host_state_name(enum virt_host_state s)
{
    switch (s) {
    case VIRT_HOST_CONNECTING:
        return "connecting";
    case VIRT_HOST_CONNECTED:
        return "connected";
    case VIRT_HOST_UNREACHABLE:
        return "unreachable";
    }
    return "unknown";
}

static void
host_free(struct vhost *host)
{
    virt_cache_reset(host);
    virt_map_fini(&host->cache.map, NULL);
    pthread_mutex_destroy(&host->lock);
    pthread_mutex_destroy(&host->cache_lock);
    pthread_mutex_destroy(&host->sink_lock);
    pthread_cond_destroy(&host->cond);
    free(host->uri);
    free(host);
}

void
virt_host_ref(struct vhost *host)
{
    atomic_fetch_add(&host->refs, 1);
}

void
virt_host_unref(struct vhost *host)
{
    if (host && atomic_fetch_sub(&host->refs, 1) == 1)
        host_free(host);
}

static void
unref_cb(void *opaque)
{
    virt_host_unref(opaque);
}

/* ---- state ---- */

static void
set_state(struct vhost *host, enum virt_host_state st, const char *error)
{
    pthread_mutex_lock(&host->lock);
    bool changed = host->state != st || strcmp(host->last_error, error) != 0;
    host->state = st;
    snprintf(host->last_error, sizeof(host->last_error), "%s", error);
    if (changed)
        host->since_ms = virt_now_ms();
    pthread_cond_broadcast(&host->cond);
    pthread_mutex_unlock(&host->lock);
    const struct virt_sinks *s = &host->owner->sinks;
    if (changed && s->on_host_state && !atomic_load(&host->stop))
        s->on_host_state(s->ctx, host->id, st, error);
}

/* Sleeps up to ms, returning early when the host is stopped. */
static void
host_sleep(struct vhost *host, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&host->lock);
    while (!atomic_load(&host->stop))
        if (pthread_cond_timedwait(&host->cond, &host->lock, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&host->lock);
}

/* ---- events (libvirt event loop thread) ---- */

static void
emit(struct vhost *host, const char *uuid, enum virt_change kind)
{
    if (kind != VIRT_CHANGE_POOL && kind != VIRT_CHANGE_NETWORK)
        virt_cache_touch(host, uuid);
    pthread_mutex_lock(&host->sink_lock);
    const struct virt_sinks *s = &host->owner->sinks;
    if (!atomic_load(&host->stop) && s->on_change)
        s->on_change(s->ctx, host->id, uuid, kind);
    pthread_mutex_unlock(&host->sink_lock);
}

static void
emit_dom(virDomainPtr dom, void *opaque, enum virt_change kind)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid) == 0)
        emit(opaque, uuid, kind);
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    static const enum virt_change map[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = VIRT_CHANGE_DEFINED,
        [VIR_DOMAIN_EVENT_UNDEFINED] = VIRT_CHANGE_UNDEFINED,
        [VIR_DOMAIN_EVENT_STARTED] = VIRT_CHANGE_STARTED,
        [VIR_DOMAIN_EVENT_SUSPENDED] = VIRT_CHANGE_SUSPENDED,
        [VIR_DOMAIN_EVENT_RESUMED] = VIRT_CHANGE_RESUMED,
        [VIR_DOMAIN_EVENT_STOPPED] = VIRT_CHANGE_STOPPED,
        [VIR_DOMAIN_EVENT_SHUTDOWN] = VIRT_CHANGE_SHUTDOWN,
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = VIRT_CHANGE_PMSUSPENDED,
        [VIR_DOMAIN_EVENT_CRASHED] = VIRT_CHANGE_CRASHED,
    };
    (void)conn;
    (void)detail;
    enum virt_change kind = VIRT_CHANGE_CONFIG;
    if (event >= 0 && (size_t)event < sizeof(map) / sizeof(map[0]))
        kind = map[event];
    emit_dom(dom, opaque, kind);
    return 0;
}

static void
on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
    (void)conn;
    (void)type;
    (void)nsuri;
    emit_dom(dom, opaque, VIRT_CHANGE_CONFIG);
}

static void
on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
    (void)conn;
    (void)alias;
    emit_dom(dom, opaque, VIRT_CHANGE_CONFIG);
}

static void
on_balloon(virConnectPtr conn, virDomainPtr dom, unsigned long long actual, void *opaque)
{
    (void)conn;
    (void)actual;
    emit_dom(dom, opaque, VIRT_CHANGE_CONFIG);
}

static void
on_pool(virConnectPtr conn, virStoragePoolPtr pool, int event, int detail, void *opaque)
{
    (void)conn;
    (void)event;
    (void)detail;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virStoragePoolGetUUIDString(pool, uuid) == 0)
        emit(opaque, uuid, VIRT_CHANGE_POOL);
}

static void
on_pool_refresh(virConnectPtr conn, virStoragePoolPtr pool, void *opaque)
{
    on_pool(conn, pool, 0, 0, opaque);
}

static void
on_network(virConnectPtr conn, virNetworkPtr net, int event, int detail, void *opaque)
{
    (void)conn;
    (void)event;
    (void)detail;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virNetworkGetUUIDString(net, uuid) == 0)
        emit(opaque, uuid, VIRT_CHANGE_NETWORK);
}

static void
on_close(virConnectPtr conn, int reason, void *opaque)
{
    struct vhost *host = opaque;
    (void)conn;
    pthread_mutex_lock(&host->lock);
    host->lost = true;
    host->lost_reason = reason;
    pthread_cond_broadcast(&host->cond);
    pthread_mutex_unlock(&host->lock);
}

/* Callback ids of one connection; owned by the connector thread. */
enum { DOM_CBS = 5, POOL_CBS = 2 };
struct regs {
    int dom[DOM_CBS], pool[POOL_CBS], net;
    bool close;
};

static void
register_events(struct vhost *host, virConnectPtr conn, struct regs *r)
{
    static const struct {
        int id;
        virConnectDomainEventGenericCallback cb;
    } dom_cbs[DOM_CBS] = {
        {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle)},
        {VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_metadata)},
        {VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(on_device)},
        {VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device)},
        {VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_balloon)},
    };
    for (int i = 0; i < DOM_CBS; i++) {
        virt_host_ref(host);
        r->dom[i] = virConnectDomainEventRegisterAny(conn, NULL, dom_cbs[i].id, dom_cbs[i].cb, host,
                                                     unref_cb);
        if (r->dom[i] < 0)
            virt_host_unref(host);
    }
    virt_host_ref(host);
    r->pool[0] = virConnectStoragePoolEventRegisterAny(
        conn, NULL, VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, VIR_STORAGE_POOL_EVENT_CALLBACK(on_pool),
        host, unref_cb);
    if (r->pool[0] < 0)
        virt_host_unref(host);
    virt_host_ref(host);
    r->pool[1] = virConnectStoragePoolEventRegisterAny(
        conn, NULL, VIR_STORAGE_POOL_EVENT_ID_REFRESH,
        VIR_STORAGE_POOL_EVENT_CALLBACK(on_pool_refresh), host, unref_cb);
    if (r->pool[1] < 0)
        virt_host_unref(host);
    virt_host_ref(host);
    r->net =
        virConnectNetworkEventRegisterAny(conn, NULL, VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                          VIR_NETWORK_EVENT_CALLBACK(on_network), host, unref_cb);
    if (r->net < 0)
        virt_host_unref(host);
}

static void
deregister_events(virConnectPtr conn, const struct regs *r)
{
    for (int i = 0; i < DOM_CBS; i++)
        if (r->dom[i] >= 0)
            virConnectDomainEventDeregisterAny(conn, r->dom[i]);
    for (int i = 0; i < POOL_CBS; i++)
        if (r->pool[i] >= 0)
            virConnectStoragePoolEventDeregisterAny(conn, r->pool[i]);
    if (r->net >= 0)
        virConnectNetworkEventDeregisterAny(conn, r->net);
    if (r->close)
        virConnectUnregisterCloseCallback(conn, on_close);
}

/* ---- connector thread ---- */

static const char *
close_reason_text(int reason)
{
    switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
        return "connection lost: keepalive timeout";
    case VIR_CONNECT_CLOSE_REASON_EOF:
        return "connection lost: the host closed it";
    default:
        return "connection lost";
    }
}

/* Runs one open connection until it is lost or the host is stopped. Returns
 * the client-safe reason it ended. */
static const char *
run_connected(struct vhost *host, virConnectPtr conn)
{
    virt_hosts *h = host->owner;
    struct regs r = {.net = -1};
    if (!host->is_test &&
        virConnectSetKeepAlive(conn, h->opt.keepalive_interval_s, h->opt.keepalive_count) < 0)
        virt_host_log(host, "enabling keepalive", virGetLastErrorMessage());
    /* No reference and no free callback here: drivers without close
     * callbacks (the test driver) accept the registration and never call the
     * free callback. This thread holds the host until it unregisters, and
     * libvirt does not run the callback after unregistering returns. */
    r.close = virConnectRegisterCloseCallback(conn, on_close, host, NULL) == 0;
    register_events(host, conn, &r);
    virt_cache_reset(host); /* events may have been missed while disconnected */

    pthread_mutex_lock(&host->lock);
    host->conn = conn;
    host->lost = false;
    pthread_mutex_unlock(&host->lock);
    set_state(host, VIRT_HOST_CONNECTED, "");

    pthread_mutex_lock(&host->lock);
    while (!atomic_load(&host->stop) && !host->lost)
        pthread_cond_wait(&host->cond, &host->lock);
    const char *why = host->lost ? close_reason_text(host->lost_reason) : "";
    host->conn = NULL;
    pthread_mutex_unlock(&host->lock);

    deregister_events(conn, &r);
    /* A sink call already running on the event thread finishes before we go on. */
    pthread_mutex_lock(&host->sink_lock);
    pthread_mutex_unlock(&host->sink_lock);
    virConnectClose(conn);
    return why;
}

/* libxml2 prints parse problems of test-driver files to stderr through its
 * per-thread generic error handler; libvirt reports them to us anyway. */
static void
quiet_xml(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void *
connector_main(void *arg)
{
    struct vhost *host = arg;
    virt_hosts *h = host->owner;
    xmlSetGenericErrorFunc(NULL, quiet_xml);
    int backoff = h->opt.backoff_min_ms;
    while (!atomic_load(&host->stop)) {
        virConnectPtr conn = virConnectOpen(host->uri);
        if (!conn) {
            virt_host_log(host, "opening the connection", virGetLastErrorMessage());
            set_state(host, VIRT_HOST_UNREACHABLE, virt_open_error_text(virt_last_code()));
            host_sleep(host, backoff);
            backoff = backoff > h->opt.backoff_max_ms / 2 ? h->opt.backoff_max_ms : backoff * 2;
            continue;
        }
        backoff = h->opt.backoff_min_ms;
        const char *why = run_connected(host, conn);
        if (atomic_load(&host->stop))
            break;
        pthread_mutex_lock(&host->lock);
        host->reconnects++;
        pthread_mutex_unlock(&host->lock);
        set_state(host, VIRT_HOST_CONNECTING, why);
    }
    virt_host_unref(host);
    /* Last touch of the registry: virt_hosts_free may free it right after. */
    pthread_mutex_lock(&h->lock);
    h->nthreads--;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- registry ---- */

static int
cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static struct vhost *
host_new(virt_hosts *h, int64_t id, const char *uri)
{
    struct vhost *host = calloc(1, sizeof(*host));
    if (!host)
        return NULL;
    host->uri = strdup(uri);
    if (!host->uri || virt_map_init(&host->cache.map, 0) < 0 || cond_init_monotonic(&host->cond)) {
        virt_map_fini(&host->cache.map, NULL);
        free(host->uri);
        free(host);
        return NULL;
    }
    host->id = id;
    host->is_test = strncmp(uri, "test:", 5) == 0;
    host->owner = h;
    atomic_init(&host->refs, 1);
    atomic_init(&host->stop, false);
    pthread_mutex_init(&host->lock, NULL);
    pthread_mutex_init(&host->cache_lock, NULL);
    pthread_mutex_init(&host->sink_lock, NULL);
    host->state = VIRT_HOST_CONNECTING;
    host->since_ms = virt_now_ms();
    return host;
}

virt_hosts *
virt_hosts_new(const struct virt_options *opt, const struct virt_sinks *sinks, err *e)
{
    if (virt_loop_acquire(e) < 0)
        return NULL;
    virt_hosts *h = calloc(1, sizeof(*h));
    if (!h || cond_init_monotonic(&h->cond) < 0) {
        free(h);
        virt_loop_release();
        err_set(e, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (opt)
        h->opt = *opt;
    if (sinks)
        h->sinks = *sinks;
    if (h->opt.backoff_min_ms <= 0)
        h->opt.backoff_min_ms = 500;
    if (h->opt.backoff_max_ms < h->opt.backoff_min_ms)
        h->opt.backoff_max_ms = h->opt.backoff_min_ms > 60000 ? h->opt.backoff_min_ms : 60000;
    if (h->opt.keepalive_interval_s <= 0)
        h->opt.keepalive_interval_s = 5;
    if (h->opt.keepalive_count <= 0)
        h->opt.keepalive_count = 3;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

static void
host_stop(struct vhost *host)
{
    pthread_mutex_lock(&host->lock);
    atomic_store(&host->stop, true);
    pthread_cond_broadcast(&host->cond);
    pthread_mutex_unlock(&host->lock);
}

void
virt_hosts_free(virt_hosts *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    struct vhost *list = h->list;
    h->list = NULL;
    pthread_mutex_unlock(&h->lock);
    while (list) {
        struct vhost *next = list->next;
        host_stop(list);
        virt_host_unref(list);
        list = next;
    }
    pthread_mutex_lock(&h->lock);
    while (h->nthreads > 0)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    virt_loop_release();
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* Caller holds h->lock. */
static struct vhost *
find_locked(virt_hosts *h, int64_t id)
{
    for (struct vhost *host = h->list; host; host = host->next)
        if (host->id == id)
            return host;
    return NULL;
}

/* A referenced host, or NULL with ERR_NOT_FOUND. */
static struct vhost *
host_get(virt_hosts *h, int64_t id, err *e)
{
    pthread_mutex_lock(&h->lock);
    struct vhost *host = find_locked(h, id);
    if (host)
        virt_host_ref(host);
    pthread_mutex_unlock(&h->lock);
    if (!host)
        err_set(e, ERR_NOT_FOUND, "host %lld is not registered", (long long)id);
    return host;
}

int
virt_hosts_add(virt_hosts *h, int64_t id, const char *uri, err *e)
{
    if (virt_uri_validate(uri, e) < 0)
        return -1;
    struct vhost *host = host_new(h, id, uri);
    if (!host)
        return err_set(e, ERR_INTERNAL, "out of memory");
    pthread_mutex_lock(&h->lock);
    if (find_locked(h, id)) {
        pthread_mutex_unlock(&h->lock);
        virt_host_unref(host);
        return err_set(e, ERR_CONFLICT, "host %lld is already registered", (long long)id);
    }
    virt_host_ref(host); /* the connector thread's reference */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, connector_main, host);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_unlock(&h->lock);
        virt_host_unref(host);
        virt_host_unref(host);
        return err_set(e, ERR_INTERNAL, "cannot start the host's connector thread");
    }
    h->nthreads++;
    host->next = h->list;
    h->list = host;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

int
virt_hosts_remove(virt_hosts *h, int64_t id, err *e)
{
    pthread_mutex_lock(&h->lock);
    struct vhost **pp = &h->list;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    struct vhost *host = *pp;
    if (host)
        *pp = host->next;
    pthread_mutex_unlock(&h->lock);
    if (!host)
        return err_set(e, ERR_NOT_FOUND, "host %lld is not registered", (long long)id);
    host_stop(host);
    virt_host_unref(host);
    return 0;
}

int
virt_hosts_status(virt_hosts *h, int64_t id, struct virt_host_status *out, err *e)
{
    struct vhost *host = host_get(h, id, e);
    if (!host)
        return -1;
    pthread_mutex_lock(&host->lock);
    out->state = host->state;
    memcpy(out->last_error, host->last_error, sizeof(out->last_error));
    out->since_ms = host->since_ms;
    out->reconnects = host->reconnects;
    pthread_mutex_unlock(&host->lock);
    virt_host_unref(host);
    return 0;
}

int
virt_hosts_wait(virt_hosts *h, int64_t id, enum virt_host_state want, int timeout_ms, err *e)
{
    struct vhost *host = host_get(h, id, e);
    if (!host)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&host->lock);
    while (host->state != want && !atomic_load(&host->stop))
        if (pthread_cond_timedwait(&host->cond, &host->lock, &ts) == ETIMEDOUT)
            break;
    enum virt_host_state st = host->state;
    pthread_mutex_unlock(&host->lock);
    virt_host_unref(host);
    if (st != want)
        return err_set(e, ERR_UNAVAILABLE, "host %lld is %s, not %s", (long long)id,
                       virt_host_state_name(st), virt_host_state_name(want));
    return 0;
}

int
virt_conn_get(virt_hosts *h, int64_t id, struct vconn *c, err *e)
{
    c->host = NULL;
    c->conn = NULL;
    struct vhost *host = host_get(h, id, e);
    if (!host)
        return -1;
    pthread_mutex_lock(&host->lock);
    virConnectPtr conn = host->conn;
    enum virt_host_state st = host->state;
    if (conn)
        virConnectRef(conn);
    pthread_mutex_unlock(&host->lock);
    if (!conn) {
        virt_host_unref(host);
        return err_set(e, ERR_UNAVAILABLE, "host %lld is not connected (%s)", (long long)id,
                       virt_host_state_name(st));
    }
    c->host = host;
    c->conn = conn;
    return 0;
}

void
virt_conn_put(struct vconn *c)
{
    if (c->conn)
        virConnectClose(c->conn);
    if (c->host)
        virt_host_unref(c->host);
    c->conn = NULL;
    c->host = NULL;
}
