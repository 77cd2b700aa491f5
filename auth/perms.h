/* perms: the closed list of permissions, defined once.
 *
 * Every route names one `enum perm`; roles are `perm_set`s. The list below is the
 * only place a permission exists: names, descriptions, the enum and the JSON
 * mapping are all generated from it, so adding a permission is one line here.
 *
 * PERM_NONE, PERM_PUBLIC and PERM_AUTHENTICATED are route markers, not grants:
 * they never appear in a perm_set and perm_from_name() does not know them. */
#ifndef VP_AUTH_PERMS_H
#define VP_AUTH_PERMS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* X(ID, "name", "description") */
#define PERM_LIST(X)                                                                               \
    X(TENANT_READ, "tenant.read", "See tenants")                                                   \
    X(TENANT_ADMIN, "tenant.admin", "Create, change and delete tenants")                           \
    X(USER_READ, "user.read", "See users")                                                         \
    X(USER_ADMIN, "user.admin", "Create, change and disable users")                                \
    X(ROLE_ADMIN, "role.admin", "Define roles and bind them (never beyond one's own rights)")      \
    X(TOKEN_SELF, "token.self", "Manage one's own API tokens and session")                         \
    X(VM_READ, "vm.read", "See virtual machines")                                                  \
    X(VM_POWER, "vm.power", "Start, stop, reboot virtual machines")                                \
    X(VM_CREATE, "vm.create", "Create and resize virtual machines")                                \
    X(VM_DELETE, "vm.delete", "Delete virtual machines")                                           \
    X(VM_CONSOLE, "vm.console", "Open a virtual machine's console")                                \
    X(HOST_READ, "host.read", "See hosts, pools and networks")                                     \
    X(HOST_ADMIN, "host.admin", "Add, change, drain and remove hosts")                             \
    X(QUOTA_READ, "quota.read", "See quotas and usage")                                            \
    X(QUOTA_WRITE, "quota.write", "Set quotas")                                                    \
    X(QUOTA_REQUEST, "quota.request", "Ask for more quota")                                        \
    X(QUOTA_APPROVE, "quota.approve", "Approve or deny quota requests")                            \
    X(AUDIT_READ, "audit.read", "Read and export the audit log")                                   \
    X(PLAN_READ, "plan.read", "See migration and rebalance plans")                                 \
    X(PLAN_WRITE, "plan.write", "Create and execute plans")                                        \
    X(TASK_READ, "task.read", "See tasks")

enum perm {
    PERM_NONE = 0,      /* a route with this is a bug (a test checks the route table) */
    PERM_PUBLIC,        /* route marker: no authentication at all */
    PERM_AUTHENTICATED, /* route marker: any valid principal */
#define X(id, name, desc) PERM_##id,
    PERM_LIST(X)
#undef X
        PERM_COUNT
};

/* One bit per enum value; the three markers' bits are never set. */
typedef uint64_t perm_set;

_Static_assert(PERM_COUNT <= 64, "perm_set is 64 bits");

#define PERM_FIRST_GRANTABLE PERM_TENANT_READ

/* Every grantable permission (bits PERM_FIRST_GRANTABLE .. PERM_COUNT-1). */
#define PERM_SET_ALL                                                                               \
    ((((perm_set)1 << PERM_COUNT) - 1) & ~(((perm_set)1 << PERM_FIRST_GRANTABLE) - 1))

/* True when p is a grantable permission (not NONE, PUBLIC, AUTHENTICATED, out of range). */
bool perm_is_grantable(enum perm p);

/* True when s grants p. Always false for the markers: the dispatcher handles
 * PERM_PUBLIC / PERM_AUTHENTICATED before asking for a permission. */
bool perm_set_has(perm_set s, enum perm p);

/* s with p added; s unchanged when p is not grantable. */
perm_set perm_set_add(perm_set s, enum perm p);

/* Number of permissions in s. */
int perm_set_count(perm_set s);

/* "vm.read"; markers give "none" / "public" / "authenticated"; out of range
 * gives "invalid". Static string, never NULL. */
const char *perm_name(enum perm p);

/* Human description of a grantable permission, "" otherwise. Static string. */
const char *perm_description(enum perm p);

/* The permission called `name` (borrowed), or PERM_NONE when unknown or not
 * grantable ("public" and "authenticated" are not grantable names). */
enum perm perm_from_name(const char *name);

/* A new JSON array of the names in s, in list order. Caller decrefs; NULL on OOM. */
json_t *perm_set_to_json(perm_set s);

/* Parses a JSON array of permission names (borrowed) into *out. Returns 0, or
 * -1 with ERR_INVALID naming the first unknown or non-string entry. */
int perm_set_from_json(const json_t *arr, perm_set *out, err *e);

#endif
