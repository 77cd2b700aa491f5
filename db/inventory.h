/* inventory: the portal's cache of libvirt — hosts (connection state,
 * capacity facts), VMs, storage pools with their volumes, networks
 * (db/inventory_store.c, tables of migrations 0001 and 0005).
 *
 * Who writes: server/inventory.c keeps the cache current from libvirt events
 * and a periodic reconcile; those refreshes are bookkeeping (db_mutate with
 * no audit row), except that a VM appearing or disappearing outside the
 * portal writes one audit row per VM ("vm.discovered" / "vm.vanished", actor
 * "system") in the same transaction. The first complete reconcile of a host
 * is its initial import: one "host.inventory_imported" row with the count
 * instead of one row per VM. Administrators' changes (hosts, VM assignment)
 * pass the caller's audit row.
 *
 * Who reads: the API, always from here (never from a hypervisor). Lists are
 * keyset-paginated like the identity lists (struct db_page of identity.h).
 *
 * VM ids: a VM keeps its id while it stays in the cache, also when it moves
 * to another host; a VM that leaves the cache leaves its id in vm_gone, gets
 * it back if the same UUID returns, and no other VM ever gets it.
 *
 * Ownership: pointer arguments are borrowed; list callbacks' rows are valid
 * during the call only; db_vm_get copies its text into the caller's arena. */
#ifndef VP_DB_INVENTORY_H
#define VP_DB_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "identity.h" /* struct db_page */

enum {
    DB_HOST_NAME_MAX = 64,  /* [A-Za-z0-9._-] */
    DB_HOST_URI_MAX = 1024, /* checked by virt_uri_validate */
    DB_UUID_LEN = 36,
    DB_FP_LEN = 16, /* fingerprints are 16 hex digits */
};

/* ---- hosts ---- */

/* What the VMs of a host add up to (from the vm table). */
struct db_host_alloc {
    int64_t vms, active;                     /* active: not shut off (holds memory) */
    int64_t vcpus, memory_mib, disk_gib;     /* every VM defined there */
    int64_t active_vcpus, active_memory_mib; /* the active ones */
};

struct db_host {
    int64_t id;
    char name[DB_HOST_NAME_MAX + 1];
    char uri[DB_HOST_URI_MAX + 1];
    char conn_state[16]; /* "connecting" | "connected" | "unreachable" */
    char last_error[256];
    char state_since[32];
    /* facts; numbers are -1 and text "" until the host was first read */
    char hostname[256], hypervisor[32], arch[32], cpu_model[128], cpu_vendor[64];
    int64_t cores, threads, sockets, memory_mib, memory_free_mib, libvirt_version;
    char cpu_features[4096]; /* JSON array text */
    char facts_at[32], reconciled_at[32], created_at[32];
    struct db_host_alloc alloc;
};

/* id and URI of a host, for registering every host at start. */
struct db_host_ref {
    int64_t id;
    char uri[DB_HOST_URI_MAX + 1];
};

/* Facts read from a host; text may be NULL (stored as NULL), numbers < 0 too. */
struct db_host_facts {
    const char *hostname, *hypervisor, *arch, *cpu_model, *cpu_vendor;
    const char *cpu_features; /* JSON array text, NULL = [] */
    int64_t cores, threads, sockets, memory_mib, memory_free_mib, libvirt_version;
};

enum db_host_sort { DB_HOST_SORT_NAME, DB_HOST_SORT_CREATED, DB_HOST_SORT_ID, DB_HOST_SORT_COUNT };

typedef int (*db_host_row_fn)(void *arg, const struct db_host *h, const char *key, err *e);

int db_host_list(db *d, struct db_page *p, db_host_row_fn fn, void *arg, err *e);

/* Host `id` into *out; ERR_NOT_FOUND "No such host.". */
int db_host_get(db *d, int64_t id, struct db_host *out, err *e);

/* Every host's id and URI: *out malloc'd (caller frees), ordered by id. */
int db_host_refs(db *d, struct db_host_ref **out, size_t *n, err *e);

/* Registers a host (name and uri validated by the caller). ERR_CONFLICT with
 * field "name" or "uri" when another host has it. Fills a's target and
 * details; *id_out. */
int db_host_create(db *d, const char *name, const char *uri, struct db_audit *a, int64_t *id_out,
                   err *e);

/* Renames and/or re-points a host (NULL: unchanged); details hold
 * before/after of what changed. A new URI resets the connection state to
 * connecting. ERR_NOT_FOUND, ERR_CONFLICT (field). */
int db_host_update(db *d, int64_t id, const char *name, const char *uri, struct db_audit *a,
                   err *e);

/* Removes a host. While the cache holds VMs of it: ERR_CONFLICT unless
 * `force`, which drops them (and its pools and networks) from the cache;
 * nothing changes on the host itself. *dropped = VMs dropped (may be NULL). */
int db_host_delete(db *d, int64_t id, bool force, struct db_audit *a, int64_t *dropped, err *e);

/* Bookkeeping (no audit): the connection state and its client-safe error.
 * `state` is "connecting" | "connected" | "unreachable". No-op for an
 * unknown host. */
int db_host_set_state(db *d, int64_t id, const char *state, const char *error, err *e);

/* Bookkeeping at start: every host is "connecting" until its connector says
 * otherwise. */
int db_host_reset_states(db *d, err *e);

/* ---- VMs ---- */

/* A VM as the cache stores it (input of db_inventory_apply / db_vm_put).
 * Text may be NULL where the column allows it; JSON members are array text. */
struct db_vm_row {
    const char *uuid, *name;
    const char *state; /* "running", "shutoff", ... (vm.state CHECK); "unknown" */
    int state_reason;
    int64_t meta_tenant_id; /* the portal metadata's tenant, 0 = none */
    int64_t vcpus, max_vcpus, memory_mib, max_memory_mib, disk_gib;
    const char *firmware; /* "bios" | "uefi" */
    const char *domain_type, *arch, *partition;
    bool persistent, autostart;
    const char *tags, *disks, *nics; /* JSON arrays; NULL = [] */
    const char *fp;                  /* DB_FP_LEN hex digits over everything above */
};

/* A VM as the API reads it. Text points into SQLite (list rows, valid during
 * the callback) or the caller's arena (db_vm_get); never NULL ("" = NULL). */
struct db_vm {
    int64_t id;
    const char *uuid;
    int64_t host_id;
    const char *host_name;
    const char *name;
    int64_t tenant_id;      /* 0 = no tenant */
    int64_t meta_tenant_id; /* what the domain's metadata says, 0 = none */
    const char *state;
    int state_reason;
    int64_t vcpus, max_vcpus, memory_mib, max_memory_mib, disk_gib;
    const char *firmware, *domain_type, *arch, *partition;
    bool persistent, autostart;
    const char *tags, *disks, *nics; /* JSON array text */
    const char *created_at, *updated_at;
};

enum db_vm_sort {
    DB_VM_SORT_NAME,
    DB_VM_SORT_STATE,
    DB_VM_SORT_CREATED,
    DB_VM_SORT_ID,
    DB_VM_SORT_COUNT
};

struct db_vm_filter {
    const char *visible; /* JSON array of tenant ids the caller may see; NULL = all */
    int64_t host_id;     /* 0 = any */
    int64_t tenant_id;   /* -1 = any, 0 = VMs without a tenant, else that tenant */
    const char *state;   /* exact; NULL = any */
    const char *q;       /* name substring (ASCII case-insensitive); NULL = any */
    const char *tag;     /* has this tag; NULL = any */
};

typedef int (*db_vm_row_fn)(void *arg, const struct db_vm *v, const char *key, err *e);

int db_vm_list(db *d, const struct db_vm_filter *f, struct db_page *p, db_vm_row_fn fn, void *arg,
               err *e);

/* The same list with each item already rendered as the API's JSON object
 * (by SQLite's json_object: the list endpoint's hot path never builds a
 * JSON tree). `json` (len bytes) and `key` are valid during the call. */
typedef int (*db_vm_json_fn)(void *arg, const char *json, size_t len, int64_t id, const char *key,
                             err *e);
int db_vm_list_json(db *d, const struct db_vm_filter *f, struct db_page *p, db_vm_json_fn fn,
                    void *arg, err *e);

/* The generation of the vm table: it changes with every change of a VM row
 * (triggers, whoever writes), so a page rendered at generation g is still
 * right while it reads g. Read before rendering, never after. */
int db_inventory_gen(db *d, int64_t *gen, err *e);

/* VM `id` into *out, text copied into `a`; ERR_NOT_FOUND "No such VM.". */
int db_vm_get(db *d, int64_t id, arena *a, struct db_vm *out, err *e);

/* One VM's uuid and fingerprint. */
struct db_vm_fp {
    char uuid[DB_UUID_LEN + 1];
    char fp[DB_FP_LEN + 1];
};

/* The fingerprints of every cached VM of host_id, sorted by uuid (strcmp):
 * *out malloc'd (caller frees). What a reconcile diffs against. */
int db_vm_fps(db *d, int64_t host_id, struct db_vm_fp **out, size_t *n, err *e);

/* Stores one VM of host_id (insert, or update when its uuid is cached, also
 * from another host: it moved) with the caller's audit row (may be NULL for
 * bookkeeping); fills a->target "vm/<id>" and *id_out (may be NULL). */
int db_vm_put(db *d, int64_t host_id, const struct db_vm_row *row, struct db_audit *a,
              int64_t *id_out, err *e);

/* Removes the VM `uuid` of host_id from the cache (its id goes to vm_gone)
 * with the caller's audit row (may be NULL); a->target "vm/<id>".
 * ERR_NOT_FOUND when the cache has no such VM on that host. */
int db_vm_remove(db *d, int64_t host_id, const char *uuid, struct db_audit *a, err *e);

/* ---- pools, volumes, networks ---- */

struct db_volume_row {
    const char *name, *path, *format;
    uint64_t capacity, allocation;
};

struct db_pool_row {
    const char *uuid, *name, *type;
    bool active, autostart, persistent;
    uint64_t capacity, allocation, available;
    const struct db_volume_row *volumes;
    size_t nvolumes;
    const char *fp; /* over the pool and its volumes */
};

struct db_network_row {
    const char *uuid, *name, *bridge, *forward_mode;
    bool active, autostart, persistent;
    const char *fp;
};

/* Read side: text valid during the callback. */
struct db_pool {
    int64_t id, host_id;
    const char *host_name, *uuid, *name, *type;
    bool active, autostart, persistent;
    int64_t capacity, allocation, available, volumes;
    const char *updated_at;
};

struct db_network {
    int64_t id, host_id;
    const char *host_name, *uuid, *name, *bridge, *forward_mode;
    bool active, autostart, persistent;
    const char *updated_at;
};

typedef int (*db_pool_row_fn)(void *arg, const struct db_pool *p, const char *key, err *e);
typedef int (*db_network_row_fn)(void *arg, const struct db_network *n, const char *key, err *e);

/* Pools / networks ordered by (host id, name); host_id 0 = every host. The
 * page's sort is ignored (one order). */
int db_pool_list(db *d, int64_t host_id, struct db_page *p, db_pool_row_fn fn, void *arg, err *e);
int db_network_list(db *d, int64_t host_id, struct db_page *p, db_network_row_fn fn, void *arg,
                    err *e);

/* ---- one refresh of a host, in one transaction ---- */

struct db_inv_change {
    int64_t host_id;
    const struct db_vm_row *put; /* rows to store (unchanged fingerprints are skipped) */
    size_t nput;
    const char *const *gone; /* uuids no longer on this host */
    size_t ngone;
    bool with_pools; /* pools and networks below are the host's complete set */
    const struct db_pool_row *pools;
    size_t npools;
    const struct db_network_row *networks;
    size_t nnetworks;
    const struct db_host_facts *facts; /* NULL: unchanged */
    bool reconciled;                   /* a complete reconcile: stamps host.reconciled_at; the first
                                          one is the initial import (one audit row, not one per VM) */
    /* out */
    size_t inserted, updated, deleted;
};

/* Applies `c` as bookkeeping in one db_mutate, plus the discovered/vanished
 * audit rows described above. ERR_NOT_FOUND when the host is gone. */
int db_inventory_apply(db *d, struct db_inv_change *c, err *e);

#endif
