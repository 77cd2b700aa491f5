/* invt: helpers of the inventory integration tests — one real virtportal per
 * test binary (group setup), libvirt test-driver hosts written as small XML
 * files into the test's own temporary directory, JSON requests. */
#ifndef VP_INVT_H
#define VP_INVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

extern struct vp_proc invt_p;
extern char *invt_admin;
extern char invt_dir[256]; /* the test's scratch directory (host files) */

#define INVT_PASSWORD "Quartz-Lumen-7741-Zebra"

/* Group setup / teardown: scratch dir, server (extra flags may be NULL), admin login. */
int invt_setup_with(const char *const *extra);
int invt_setup(void **state);
int invt_teardown(void **state);

/* A JSON request with a printf-built body (fmt NULL: none). */
int invt_req(struct vp_resp *r, const char *method, const char *path, const char *token,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The status of a request whose body is not needed. */
long invt_status(const char *method, const char *path, const char *token, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* POSTs and returns the new object's id; fails the test unless 201. */
int64_t invt_create(const char *path, const char *token, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int64_t invt_tenant(const char *slug);
int64_t invt_user(const char *login, int64_t tenant_id, const char *role);
char *invt_login(const char *login);

/* Members of a response object; -1 / "" when absent or of another type. */
int64_t invt_int(const struct vp_resp *r, const char *key);
const char *invt_str(const struct vp_resp *r, const char *key);
const char *invt_field(const struct vp_resp *r); /* errors[0].field or "" */

/* ---- test-driver hosts ---- */

struct invt_dom {
    const char *name, *uuid;
    int state; /* 1 running, 3 paused, 5 shut off */
    unsigned vcpus, memory_mib, disk_gib;
    int64_t tenant_id; /* 0: no portal metadata */
    const char *tags[4];
    bool uefi;
};

/* Writes a test-driver file <invt_dir>/<file> with `cpus` CPUs, `mem_gib`
 * of memory, the domains (each with a disk volume in pool "default"), and
 * networks "default" (nat) and "prod" (bridge). Returns the path (static). */
const char *invt_host_file(const char *file, unsigned cpus, unsigned mem_gib,
                           const struct invt_dom *doms, size_t n);

/* Registers a host and waits (up to 30 s) until it is connected and
 * reconciled; returns its id. */
int64_t invt_host(const char *name, const char *path);

/* Waits (up to 30 s) until GET /hosts/{id} has state `state` and, when
 * reconciled, a reconciled_at; fails the test otherwise. */
void invt_host_wait(int64_t id, const char *state, bool reconciled);

/* Every item of GET `path` (following next_cursor), as a new JSON array. */
void *invt_list_all(const char *path, const char *token); /* json_t * */

/* The id of the VM called `name` (admin view), or -1. */
int64_t invt_vm_id(const char *name);

/* Audit rows of an action (admin view): how many. */
int invt_audit_count(const char *action, const char *target);

#endif
