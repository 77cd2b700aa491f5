/* Internals shared by the server/virt sources. Not for other modules: this header
 * pulls in libvirt, and libvirt is included by server/virt only. */
#ifndef VP_VIRT_PRIV_H
#define VP_VIRT_PRIV_H

#include <libvirt/libvirt.h>
#include <libxml/xmlwriter.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>

#include "autoptr.h"
#include "virt.h"

AUTOPTR_DEFINE(virDomain, virDomainFree)
AUTOPTR_DEFINE(virStoragePool, virStoragePoolFree)
AUTOPTR_DEFINE(virStorageVol, virStorageVolFree)
AUTOPTR_DEFINE(virNetwork, virNetworkFree)
AUTOPTR_DEFINE(virDomainSnapshot, virDomainSnapshotFree)

/* ---- map.c: string-keyed hash map (chained, FNV-1a), not thread-safe ---- */
struct virt_map_node {
    struct virt_map_node *next;
    uint64_t hash;
    void *val;
    char key[];
};
struct virt_map {
    struct virt_map_node **b;
    size_t nb, n;
};
int virt_map_init(struct virt_map *m, size_t hint);
/* Frees the nodes; free_val(val) for each when not NULL. */
void virt_map_fini(struct virt_map *m, void (*free_val)(void *));
/* The value slot for key, or NULL when absent. */
void **virt_map_find(struct virt_map *m, const char *key);
/* The value slot for key, inserted (NULL value) when absent; NULL when out of memory. */
void **virt_map_upsert(struct virt_map *m, const char *key);
/* Drops every node for which keep(val, ctx) is false, after free_val(val). */
void virt_map_sweep(struct virt_map *m, bool (*keep)(void *val, void *ctx), void *ctx,
                    void (*free_val)(void *));

/* ---- loop.c: libvirt init and the process-wide event loop thread ---- */
/* Once per process: virInitialize, silence libvirt's stderr printing. */
int virt_lib_init(err *e);
/* Reference-counted: the first acquire starts the loop thread, the last
 * release stops it (waking it with a real timer callback). */
int virt_loop_acquire(err *e);
void virt_loop_release(void);

/* ---- hosts.c ---- */
struct virt_dom_cache {
    struct virt_map map; /* uuid -> struct virt_cache_ent* */
    uint64_t seq;        /* bumped by every event */
    uint64_t epoch;      /* bumped by every reset: drops fetches begun before it */
};

struct virt_cache_ent {
    struct virt_domain *cfg; /* packed single malloc block, NULL when not fetched */
    uint64_t fetched_seq;    /* cache seq read before the XML fetch */
    uint64_t event_seq;      /* cache seq of the last event for this uuid */
    bool active;             /* live XML (running/paused) or inactive XML */
    unsigned mark;           /* snapshot generation that last saw it */
};

struct vhost {
    /* Immutable after creation. */
    int64_t id;
    char *uri;
    bool is_test;
    virt_hosts *owner;
    atomic_int refs;

    /* Guarded by `lock`; `cond` signals state changes and stop/lost. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    virConnectPtr conn;
    enum virt_host_state state;
    char last_error[256];
    int64_t since_ms;
    unsigned reconnects;
    bool lost;
    int lost_reason;
    atomic_bool stop; /* written under `lock`, read anywhere */

    /* Held while a sink runs on the event thread, so that the connector can
     * wait out a call in progress before the host is let go. */
    pthread_mutex_t sink_lock;

    /* Guarded by `cache_lock`. */
    pthread_mutex_t cache_lock;
    struct virt_dom_cache cache;
    unsigned snap_gen;

    /* Guarded by the owner's lock. */
    struct vhost *next;
};

struct virt_hosts {
    /* Immutable after virt_hosts_new. */
    struct virt_options opt;
    struct virt_sinks sinks;
    /* Guarded by `lock`; `cond` signals nthreads reaching 0. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vhost *list;
    size_t nthreads;
};

/* A borrowed connection: a reference on the host and on its virConnect. */
struct vconn {
    struct vhost *host;
    virConnectPtr conn;
};
void virt_conn_put(struct vconn *c);
#define VCONN __attribute__((cleanup(virt_conn_put))) struct vconn
/* Fills *c for host `id`; ERR_NOT_FOUND unknown, ERR_UNAVAILABLE not connected. */
int virt_conn_get(virt_hosts *h, int64_t id, struct vconn *c, err *e);

void virt_host_ref(struct vhost *host);
void virt_host_unref(struct vhost *host);
void virt_host_log(struct vhost *host, const char *what, const char *msg);

/* ---- errmap.c ---- */
/* Turns libvirt's last error (this thread) into *e with a client-safe detail
 * about `what` ("starting the VM"), logs libvirt's text through on_log, and
 * returns -1. `host` may be NULL. */
int virt_fail(struct vhost *host, err *e, const char *what);
/* The last libvirt error code of this thread, VIR_ERR_OK when none. */
int virt_last_code(void);
/* A client-safe sentence for a failed open. */
const char *virt_open_error_text(int code);

/* ---- util.c ---- */
bool virt_uuid_valid(const char *uuid);
bool virt_name_valid(const char *name);
bool virt_tag_valid(const char *tag);
int64_t virt_now_ms(void);
/* Looks a domain up by UUID string; ERR_INVALID bad uuid, ERR_NOT_FOUND missing. */
virDomainPtr virt_dom_lookup(struct vconn *c, const char *uuid, err *e);
/* Parses a non-negative decimal integer (whole string); -1 when not one. */
int virt_parse_u64(const char *s, uint64_t *out);
/* AFFECT_LIVE and/or AFFECT_CONFIG flags fitting the domain's state. */
int virt_affect_flags(virDomainPtr dom, unsigned *flags, struct vhost *host, err *e);

/* ---- domxml.c ---- */
/* Bytes needed by virt_domain_pack for a copy of `src`. */
size_t virt_domain_packed_size(const struct virt_domain *src);
/* Deep-copies src into dst, with every pointer into buf (of packed_size bytes). */
void virt_domain_pack(struct virt_domain *dst, const struct virt_domain *src, void *buf);
/* Parses the portal metadata element (as virDomainGetMetadata returns it). */
int virt_meta_parse(const char *xml, arena *a, struct virt_meta *out, err *e);

/* ---- spec.c: small XML documents with xmlTextWriter ---- */
struct virt_xw {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    int rc; /* sticky: < 0 once any write failed */
};
int virt_xw_begin(struct virt_xw *x);
void virt_xw_start(struct virt_xw *x, const char *name);
void virt_xw_attr(struct virt_xw *x, const char *name, const char *value);
void virt_xw_elem(struct virt_xw *x, const char *name, const char *text);
void virt_xw_end(struct virt_xw *x);
/* Ends the document; returns a malloc'd copy of it, or NULL. Frees the writer. */
char *virt_xw_finish(struct virt_xw *x);
/* The portal metadata element (tags validated by the caller). */
void virt_xw_meta(struct virt_xw *x, const char *prefix, int64_t tenant_id, const char *const *tags,
                  size_t ntags);

/* ---- facts.c ---- */
int virt_list_pools(struct vconn *c, arena *a, struct virt_pool **out, size_t *n, err *e);
int virt_list_networks(struct vconn *c, arena *a, struct virt_network **out, size_t *n, err *e);
/* Capabilities facts (arch, cpu model/vendor/features, kvm) into f. */
int virt_caps_parse(const char *xml, arena *a, struct virt_host_facts *f, err *e);

/* ---- inventory.c ---- */
/* Called for every domain event: invalidates that uuid's cached config. */
void virt_cache_touch(struct vhost *host, const char *uuid);
/* Forgets every cached config (reconnect, removal). */
void virt_cache_reset(struct vhost *host);

#endif
