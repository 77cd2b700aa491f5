/* virt: everything the portal asks of libvirt, behind plain C structs.
 *
 * This is the only public header of server/virt; libvirt's own headers are
 * included by the files of server/virt only. Callers get plain structs out and
 * callbacks for events; nothing here knows about SQLite or HTTP.
 *
 * Threads. Every function is thread-safe and may block on a hypervisor (up to
 * libvirt's own timeouts), so call them from worker/task threads, never from
 * request threads. Inside: one process-wide libvirt event loop thread, and one
 * connector thread per registered host that opens, watches and reopens its
 * connection with exponential backoff.
 *
 * Errors. Functions return 0 / -1 (or pointer / NULL) and fill `err *`.
 * `detail` never contains libvirt's text, XML or paths; libvirt's own message
 * goes to the optional `on_log` sink for the server log. Kinds used:
 *   ERR_INVALID     bad input (URI, spec, name, sizes, unknown pool/network,
 *                   an operation the host's driver does not support)
 *   ERR_NOT_FOUND   unknown host id, VM, snapshot
 *   ERR_CONFLICT    wrong state (start a running VM), name already exists,
 *                   incompatible CPU, cancelled migration
 *   ERR_UNAVAILABLE host not connected or not answering
 *   ERR_INTERNAL    anything else (out of memory, unexpected libvirt failure)
 *
 * Identity. Hosts are the caller's ids (int64); VMs are libvirt UUID strings
 * (36 chars, lower-case hex as libvirt prints them). */
#ifndef VP_VIRT_H
#define VP_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

#define VIRT_UUID_LEN 36 /* without the NUL */
#define VIRT_NAME_MAX 64 /* VM and snapshot names */
#define VIRT_TAG_MAX 64  /* one tag */
#define VIRT_TAGS_MAX 32 /* tags per VM */
#define VIRT_META_NS "https://virtportal.dev/xmlns/1"

/* ------------------------------------------------------------------------ */
/* Connection manager (hosts.c, uri.c)                                       */

enum virt_host_state {
    VIRT_HOST_CONNECTING,  /* registered, first open or reopen in progress */
    VIRT_HOST_CONNECTED,   /* usable */
    VIRT_HOST_UNREACHABLE, /* last open failed; retrying with backoff */
};

/* What happened to an object; the sink's uuid names a domain unless noted. */
enum virt_change {
    VIRT_CHANGE_DEFINED,     /* new or updated persistent config */
    VIRT_CHANGE_UNDEFINED,   /* config removed */
    VIRT_CHANGE_STARTED,     /* also: restored, migrated in, snapshot revert */
    VIRT_CHANGE_SUSPENDED,   /* paused */
    VIRT_CHANGE_RESUMED,     /* unpaused */
    VIRT_CHANGE_STOPPED,     /* shut off (also destroyed, migrated away, crashed) */
    VIRT_CHANGE_SHUTDOWN,    /* guest shutdown in progress / finished */
    VIRT_CHANGE_PMSUSPENDED, /* guest power management */
    VIRT_CHANGE_CRASHED,     /* guest panicked */
    VIRT_CHANGE_CONFIG,      /* metadata, devices or balloon changed */
    VIRT_CHANGE_POOL,        /* uuid is a storage pool's: lifecycle or refresh */
    VIRT_CHANGE_NETWORK,     /* uuid is a network's: lifecycle */
};

/* Event sinks, all optional (NULL members are skipped), copied at
 * virt_hosts_new and immutable afterwards. on_change runs on the libvirt
 * event loop thread, on_host_state on the host's connector thread: both must
 * return quickly (queue the work) and must not call virt_hosts_remove or
 * virt_hosts_free. on_host_state(CONNECTED) means "events may have been lost
 * while disconnected: reconcile this host". The `error` argument is
 * client-safe text ("" when none). on_log receives libvirt's own message text
 * for the server log only (never for clients); it runs on whichever thread hit
 * the error (callers' threads, snapshot fetch threads, connector threads), so
 * it must be thread-safe. Strings are borrowed for the duration of the call. */
struct virt_sinks {
    void *ctx;
    void (*on_change)(void *ctx, int64_t host_id, const char *uuid, enum virt_change kind);
    void (*on_host_state)(void *ctx, int64_t host_id, enum virt_host_state state,
                          const char *error);
    void (*on_log)(void *ctx, int64_t host_id, const char *message);
};

/* Tuning; zero members take the default shown. */
struct virt_options {
    int backoff_min_ms;       /* 500: first retry delay after a failed open */
    int backoff_max_ms;       /* 60000: cap of the doubling delay */
    int keepalive_interval_s; /* 5: libvirt keepalive probe interval (not for test://) */
    int keepalive_count;      /* 3: unanswered probes before the connection is dropped */
};

struct virt_host_status {
    enum virt_host_state state;
    char last_error[256]; /* client-safe; "" when the last open succeeded */
    int64_t since_ms;     /* wall-clock ms of the last state change */
    unsigned reconnects;  /* times the connection was lost and reopened */
};

typedef struct virt_hosts virt_hosts;

/* Creates the manager and starts (or shares) the process-wide libvirt event
 * loop thread. `opt` and `sinks` may be NULL; both are copied. Caller frees
 * with virt_hosts_free. */
virt_hosts *virt_hosts_new(const struct virt_options *opt, const struct virt_sinks *sinks, err *e);

/* Closes every connection, waits for the connector threads, releases the
 * event loop. NULL is fine. No sink is called after it returns. */
void virt_hosts_free(virt_hosts *h);

/* Registers host `id` with `uri` (borrowed; validated with virt_uri_validate)
 * and returns at once: the connection is opened by the host's own thread
 * (state CONNECTING until then). ERR_CONFLICT when `id` is already registered. */
int virt_hosts_add(virt_hosts *h, int64_t id, const char *uri, err *e);

/* Unregisters host `id`: its thread closes the connection in the background.
 * Calls in flight on that host finish or fail normally. ERR_NOT_FOUND if unknown. */
int virt_hosts_remove(virt_hosts *h, int64_t id, err *e);

/* Copies host `id`'s connection state into *out. */
int virt_hosts_status(virt_hosts *h, int64_t id, struct virt_host_status *out, err *e);

/* Waits until host `id` reaches `want` or `timeout_ms` passes (ERR_UNAVAILABLE,
 * detail says the current state). For startup and tests. */
int virt_hosts_wait(virt_hosts *h, int64_t id, enum virt_host_state want, int timeout_ms, err *e);

/* "connecting" | "connected" | "unreachable"; never NULL. */
const char *virt_host_state_name(enum virt_host_state s);

/* Checks a libvirt URI against what the portal supports: qemu:///system,
 * qemu:///session, qemu+ssh|tls|tcp://host[:port]/system|session[?opts],
 * test:///default, test:///ABSOLUTE/PATH.xml. Fills ERR_INVALID naming the
 * problem. Pure (no I/O). */
int virt_uri_validate(const char *uri, err *e);

/* ------------------------------------------------------------------------ */
/* Host facts (facts.c)                                                      */

struct virt_volume {
    char *name, *path, *format;    /* format "qcow2", "raw"... or NULL */
    uint64_t capacity, allocation; /* bytes */
};

struct virt_pool {
    char uuid[VIRT_UUID_LEN + 1];
    char *name, *type; /* type "dir", "logical"... */
    bool active, autostart, persistent;
    uint64_t capacity, allocation, available; /* bytes; 0 when inactive */
    struct virt_volume *volumes;
    size_t nvolumes;
};

struct virt_network {
    char uuid[VIRT_UUID_LEN + 1];
    char *name;
    char *bridge;       /* NULL when none */
    char *forward_mode; /* "nat", "route", "bridge", ...; "isolated" without <forward> */
    bool active, autostart, persistent;
};

struct virt_host_facts {
    char *hostname, *hypervisor;         /* hypervisor: driver name, "QEMU", "TEST" */
    char *arch, *cpu_model, *cpu_vendor; /* NULL when the host does not say */
    char **cpu_features;
    size_t ncpu_features;
    unsigned cpus;    /* logical CPUs */
    unsigned sockets; /* in the whole host (libvirt's is per NUMA node) */
    unsigned cores_per_socket, threads_per_core, numa_nodes, mhz;
    uint64_t memory_total_kib, memory_free_kib; /* virNodeGetMemoryStats when supported */
    unsigned long long libvirt_version, hypervisor_version; /* major*1e6+minor*1e3+micro */
    bool kvm;                                               /* capabilities offer domain type kvm */
    struct virt_pool *pools;
    size_t npools;
    struct virt_network *networks;
    size_t nnetworks;
    arena *mem; /* owns everything above */
};

/* Reads host `id`'s facts, pools (with volumes) and networks into *out.
 * Caller frees with virt_host_facts_free. */
int virt_host_facts(virt_hosts *h, int64_t id, struct virt_host_facts *out, err *e);
void virt_host_facts_free(struct virt_host_facts *f);

/* ------------------------------------------------------------------------ */
/* Inventory (inventory.c, domxml.c)                                         */

/* Same numbers as libvirt's virDomainState. */
enum virt_dom_state {
    VIRT_DOM_NOSTATE = 0,
    VIRT_DOM_RUNNING = 1,
    VIRT_DOM_BLOCKED = 2,
    VIRT_DOM_PAUSED = 3,
    VIRT_DOM_SHUTDOWN = 4, /* shutting down */
    VIRT_DOM_SHUTOFF = 5,
    VIRT_DOM_CRASHED = 6,
    VIRT_DOM_PMSUSPENDED = 7,
};

enum virt_firmware { VIRT_FW_BIOS, VIRT_FW_UEFI };

/* The portal's own metadata element (namespace VIRT_META_NS). */
struct virt_meta {
    int64_t tenant_id; /* 0 = no tenant */
    char **tags;
    size_t ntags;
};

struct virt_disk {
    char *target, *bus;  /* "vda", "virtio" */
    char *device;        /* "disk", "cdrom", "floppy", "lun" */
    char *type;          /* "file", "block", "volume", "network" */
    char *source;        /* file path, block device, or network name; NULL if empty */
    char *pool, *volume; /* for type "volume" */
    char *format;        /* driver type: "qcow2", "raw"; NULL if unset */
    uint64_t capacity;   /* bytes, 0 when unknown (from the pool volume) */
};

struct virt_nic {
    char *type;             /* "network", "bridge", "direct", "user" */
    char *mac, *model;      /* model NULL when unset */
    char *network, *bridge; /* network for type network; bridge when known */
};

struct virt_domain {
    char uuid[VIRT_UUID_LEN + 1];
    char *name;
    char *domain_type;      /* "kvm", "qemu", "test" */
    char *arch, *partition; /* partition: <resource><partition>, NULL if none */
    int state, reason;      /* enum virt_dom_state + libvirt's reason number */
    unsigned vcpus, max_vcpus;
    uint64_t memory_mib, max_memory_mib; /* current (balloon) and maximum */
    bool persistent, autostart;
    enum virt_firmware firmware;
    struct virt_disk *disks;
    size_t ndisks;
    struct virt_nic *nics;
    size_t nnics;
    struct virt_meta *meta; /* NULL when the domain has no portal metadata */
};

struct virt_inventory {
    int64_t host_id;
    struct virt_domain *domains;
    size_t ndomains;
    struct virt_pool *pools;
    size_t npools;
    struct virt_network *networks;
    size_t nnetworks;
    size_t xml_fetched; /* domain XML documents fetched for this snapshot */
    arena *mem;         /* owns everything above */
};

enum {
    /* Re-read every domain's XML, ignoring the per-host config cache (a
     * periodic safety net against changes libvirt sends no event for). */
    VIRT_SNAPSHOT_FULL = 1 << 0,
    /* Skip pools and networks (domains only). */
    VIRT_SNAPSHOT_DOMAINS_ONLY = 1 << 1,
};

/* Takes a consistent-enough picture of host `id`: every domain, pool (with
 * volumes) and network. One virConnectGetAllDomainStats call gives the list
 * and states; domain XML is fetched only for domains not in the host's config
 * cache or touched by an event since (the cache is dropped on reconnect).
 * Caller frees with virt_inventory_free. */
int virt_host_snapshot(virt_hosts *h, int64_t id, unsigned flags, struct virt_inventory *out,
                       err *e);
void virt_inventory_free(struct virt_inventory *inv);

/* Reads one domain (fresh XML, state, persistence) into *out, allocated in
 * `a` (borrowed; everything lives until arena_destroy). For event handling. */
int virt_domain_get(virt_hosts *h, int64_t id, const char *uuid, arena *a, struct virt_domain *out,
                    err *e);

/* "running", "paused", "shutoff", ...; never NULL. */
const char *virt_dom_state_name(int state);

/* The reference cost the reconcile benchmark compares a snapshot with:
 * virConnectListAllDomains + virDomainGetInfo on every domain, nothing kept.
 * Fills *ndomains. */
int virt_host_bare_scan(virt_hosts *h, int64_t id, size_t *ndomains, err *e);

/* Parses a libvirt domain XML document (as virDomainGetXMLDesc returns it)
 * into *out allocated in `a`. State/persistence fields are left zero.
 * Exposed for tests and the planner's libvirt importer. */
int virt_domxml_parse(const char *xml, arena *a, struct virt_domain *out, err *e);

/* ------------------------------------------------------------------------ */
/* Live stats (stats.c)                                                      */

enum {
    VIRT_STATS_CPU = 1 << 0,
    VIRT_STATS_BALLOON = 1 << 1,
    VIRT_STATS_BLOCK = 1 << 2,
    VIRT_STATS_NET = 1 << 3,
};

struct virt_domain_stats {
    char uuid[VIRT_UUID_LEN + 1];
    int state;
    unsigned have; /* VIRT_STATS_* bits the host reported */
    unsigned vcpus;
    uint64_t cpu_time_ns;
    uint64_t mem_current_kib, mem_max_kib, mem_rss_kib, mem_unused_kib, mem_available_kib;
    uint64_t block_rd_bytes, block_wr_bytes, block_rd_reqs, block_wr_reqs;
    uint64_t net_rx_bytes, net_tx_bytes, net_rx_pkts, net_tx_pkts;
    int64_t sampled_ms; /* wall clock */
};

/* Live stats of one domain (virDomainListGetStats; virDomainGetInfo fills
 * cpu time and memory on drivers without those stats groups). */
int virt_domain_stats(virt_hosts *h, int64_t id, const char *uuid, struct virt_domain_stats *out,
                      err *e);

/* Live stats of every domain of host `id` in one call. *out is malloc'd,
 * caller frees it with free(). */
int virt_host_stats(virt_hosts *h, int64_t id, struct virt_domain_stats **out, size_t *n, err *e);

/* ------------------------------------------------------------------------ */
/* Actions (actions.c, snapshot.c, define.c, spec.c, migrate.c)              */

enum virt_action {
    VIRT_ACT_START,
    VIRT_ACT_SHUTDOWN, /* ACPI, the guest decides */
    VIRT_ACT_REBOOT,
    VIRT_ACT_RESET,    /* hard reset */
    VIRT_ACT_POWEROFF, /* virDomainDestroy */
    VIRT_ACT_SUSPEND,
    VIRT_ACT_RESUME,
    VIRT_ACT_COUNT
};

/* "start" ... "resume" <-> enum; parse returns -1 for unknown names. */
int virt_action_parse(const char *name, enum virt_action *out);
const char *virt_action_name(enum virt_action a);

/* Runs one power action synchronously. ERR_CONFLICT when the VM's state does
 * not allow it (start a running VM, resume a running one...). */
int virt_domain_act(virt_hosts *h, int64_t id, const char *uuid, enum virt_action a, err *e);

/* Portal metadata: get fills *out allocated in `a` (tenant 0 and no tags
 * when absent); set replaces it (live and persistent config as applicable).
 * Tags: up to VIRT_TAGS_MAX, each 1-64 chars of [A-Za-z0-9._:-]. */
int virt_meta_get(virt_hosts *h, int64_t id, const char *uuid, arena *a, struct virt_meta *out,
                  err *e);
int virt_meta_set(virt_hosts *h, int64_t id, const char *uuid, const struct virt_meta *m, err *e);

/* Runtime tunables for the quota fallback (libvirt writes the host's cgroups).
 * cpu: period 1000-1000000 us, quota -1 (unlimited) or 1000-17592186044415 us;
 * per_vcpu selects vcpu_period/vcpu_quota (each vCPU) instead of
 * global_period/global_quota (the whole VM). io: bytes/s and IOPS per disk,
 * 0 = unlimited, applied to every disk of the VM. Both apply to the running
 * VM and its persistent config. */
struct virt_cpu_tune {
    uint64_t period_us;
    int64_t quota_us;
    bool per_vcpu;
};
struct virt_io_tune {
    uint64_t read_bps, write_bps, read_iops, write_iops;
};
int virt_domain_set_cpu_tune(virt_hosts *h, int64_t id, const char *uuid,
                             const struct virt_cpu_tune *t, err *e);
int virt_domain_set_io_tune(virt_hosts *h, int64_t id, const char *uuid,
                            const struct virt_io_tune *t, err *e);

/* Domain snapshots. Names follow VM name rules. */
struct virt_snapshot {
    char *name, *description, *parent; /* description/parent NULL if none */
    char *state;                       /* VM state captured: "running", "shutoff" */
    int64_t created;                   /* unix seconds */
    bool current;
};
struct virt_snapshot_list {
    struct virt_snapshot *items;
    size_t n;
    arena *mem; /* owns everything */
};
int virt_snapshot_create(virt_hosts *h, int64_t id, const char *uuid, const char *name,
                         const char *description, err *e);
int virt_snapshot_list(virt_hosts *h, int64_t id, const char *uuid, struct virt_snapshot_list *out,
                       err *e);
void virt_snapshot_list_free(struct virt_snapshot_list *l);
int virt_snapshot_revert(virt_hosts *h, int64_t id, const char *uuid, const char *name, err *e);
int virt_snapshot_delete(virt_hosts *h, int64_t id, const char *uuid, const char *name, err *e);

/* A new VM, validated by virt_spec_validate before anything touches libvirt.
 * Strings are borrowed. Either `pool` (a new empty qcow2 volume of disk_gib
 * is created there) or `base_image` (an existing volume, "pool/volume" or an
 * absolute path, cloned and grown to disk_gib; into `pool` when also given,
 * else into the base image's pool). */
enum virt_domtype { VIRT_DOMTYPE_AUTO, VIRT_DOMTYPE_QEMU, VIRT_DOMTYPE_KVM };
struct virt_spec {
    const char *name;   /* 1-64 of [A-Za-z0-9._-], not starting with '.' or '-' */
    int64_t vcpus;      /* 1-256 */
    int64_t memory_mib; /* 64 MiB - 4 TiB */
    int64_t disk_gib;   /* 1 GiB - 64 TiB */
    const char *pool;   /* storage pool name, or NULL with base_image */
    const char *base_image;
    const char *network; /* libvirt network name, or NULL for no NIC */
    enum virt_firmware firmware;
    const char *partition; /* "/machine/virtportal-3.slice"-like, or NULL */
    int64_t tenant_id;     /* >= 0; 0 = none */
    const char *const *tags;
    size_t ntags;
    enum virt_domtype domtype; /* AUTO: kvm if the host offers it, else qemu */
    const char *arch;          /* NULL = "x86_64" */
};

/* Pure checks of every field (no I/O). ERR_INVALID naming the field. */
int virt_spec_validate(const struct virt_spec *s, err *e);

/* Writes the domain XML for `s` (validated here too) with libxml2's
 * xmlTextWriter. `domtype` "kvm"|"qemu"|other driver type; `disk_path` the
 * volume's path (NULL: no disk). *xml_out is malloc'd, caller frees. */
int virt_spec_xml(const struct virt_spec *s, const char *domtype, const char *disk_path,
                  char **xml_out, err *e);

/* Validates, checks the name is free and the pool/network exist (ERR_INVALID
 * when not), creates the disk volume, defines the domain, and fills
 * uuid_out. On any failure nothing stays defined or created. */
int virt_domain_define(virt_hosts *h, int64_t id, const struct virt_spec *s,
                       char uuid_out[VIRT_UUID_LEN + 1], err *e);

/* Removes a VM's definition with its snapshot metadata, managed save and
 * UEFI nvram. A running VM is refused (ERR_CONFLICT) unless `force`, which
 * powers it off first. With `delete_volumes`, the volumes behind its disks
 * (device "disk", never cdroms) that belong to a storage pool are deleted too
 * (count in *deleted, may be NULL); a pool on shared storage is refreshed once
 * to find a volume another host created. Files outside pools are left alone.
 * Volumes shared with another VM are not detected: do not share them. */
struct virt_undefine_opts {
    bool force;
    bool delete_volumes;
};
int virt_domain_undefine(virt_hosts *h, int64_t id, const char *uuid,
                         const struct virt_undefine_opts *o, unsigned *deleted, err *e);

/* Live migration. */
enum virt_cpu_compat {
    VIRT_CPU_COMPAT_UNKNOWN, /* driver cannot tell (test driver, passthrough) */
    VIRT_CPU_COMPAT_IDENTICAL,
    VIRT_CPU_COMPAT_SUPERSET, /* target offers everything the VM uses */
    VIRT_CPU_COMPAT_INCOMPATIBLE,
};
const char *virt_cpu_compat_name(enum virt_cpu_compat c);

/* Compares the VM's CPU (from its XML) with what host `dst`'s hypervisor
 * offers (virConnectCompareHypervisorCPU). Drivers without the call give
 * UNKNOWN, not an error. */
int virt_migrate_check(virt_hosts *h, int64_t src, const char *uuid, int64_t dst,
                       enum virt_cpu_compat *out, err *e);

struct virt_job_progress {
    uint64_t elapsed_ms;
    uint64_t data_total, data_processed, data_remaining; /* bytes */
    uint64_t mem_bps;                                    /* bytes/s, 0 unknown */
    int percent;                                         /* 0-100, -1 unknown */
};

struct virt_migrate_opts {
    bool tunnelled, unsafe;
    bool skip_cpu_check;
    const char *dest_uri;    /* how the SOURCE libvirtd reaches dst; NULL: dst's URI */
    const char *migrate_uri; /* data channel, "tcp://10.0.0.2:49152"; NULL: libvirt picks */
    uint64_t bandwidth_mibs; /* 0 = unlimited */
    int poll_ms;             /* progress interval, default 500 */
    /* Called from a helper thread every poll_ms while the job runs; return
     * non-zero to cancel (virDomainAbortJob). */
    int (*progress)(void *ctx, const struct virt_job_progress *p);
    void *ctx;
};

/* Peer-to-peer live migration of a running VM from host `src` to registered
 * host `dst` (PEER2PEER|LIVE|PERSIST_DEST|UNDEFINE_SOURCE [+TUNNELLED,
 * UNSAFE]); blocks until done. CPU check first unless skipped
 * (INCOMPATIBLE → ERR_CONFLICT). Cancelled → ERR_CONFLICT "cancelled". */
int virt_migrate(virt_hosts *h, int64_t src, const char *uuid, int64_t dst,
                 const struct virt_migrate_opts *o, err *e);

/* Aborts the VM's running job (a migration started elsewhere). */
int virt_migrate_cancel(virt_hosts *h, int64_t id, const char *uuid, err *e);

/* ------------------------------------------------------------------------ */
/* Demo inventory (demo.c): libvirt test-driver XML files                    */

struct virt_demo_vm {
    char uuid[VIRT_UUID_LEN + 1];
    char name[VIRT_NAME_MAX + 1];
    int state; /* VIRT_DOM_RUNNING, _PAUSED or _SHUTOFF */
    unsigned vcpus;
    uint64_t memory_mib, disk_gib;
    enum virt_firmware firmware;
    char mac[18];
    const char *network; /* static string */
    int64_t tenant_id;   /* 0: no portal metadata */
    const char *tag;     /* static string, set when tenant_id != 0 */
};

struct virt_demo_host {
    char name[32];
    unsigned sockets, cores, threads; /* cpus = sockets*cores*threads */
    uint64_t memory_gib;
    struct virt_demo_vm *vms;
    size_t nvms;
};

struct virt_demo {
    struct virt_demo_host *hosts;
    size_t nhosts;
};

/* Builds the demo model from `seed` (same seed, same model): `nhosts` hosts
 * (0 = the default 4: 32c/256G, 48c/384G, 64c/512G, 16c/128G) and about
 * `nvms` domains spread over them (0 = ~100). Caller frees with virt_demo_free. */
int virt_demo_build(unsigned seed, size_t nhosts, size_t nvms, struct virt_demo *out, err *e);
void virt_demo_free(struct virt_demo *d);

/* Writes one host of the model as a test-driver XML file at `path` (borrowed). */
int virt_demo_write_host(const struct virt_demo_host *dh, const char *path, err *e);

/* Builds the default model from `seed`, writes `dir`/<host>.xml for each host
 * (dir must exist), checks each opens with virConnectOpen("test:///<path>"),
 * and returns the absolute paths (*paths_out malloc'd array of malloc'd
 * strings, free with virt_demo_paths_free). */
int virt_demo_write(const char *dir, unsigned seed, char ***paths_out, size_t *n, err *e);
void virt_demo_paths_free(char **paths, size_t n);

#endif
