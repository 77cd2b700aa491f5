/* roles: built-in roles and the pure RBAC evaluation.
 *
 * A binding gives a permission set (a role's) to a principal, either globally
 * (tenant_id 0) or within one tenant. The effective set for an object is the
 * union of the global bindings and the bindings of the object's tenant. Nothing
 * here touches storage: the caller loads the bindings (db/) and asks.
 *
 * Decisions (documented for api/ and the UI):
 * - tenant-admin holds role.admin *within its tenant*: it may bind roles to
 *   principals of that tenant, within that tenant, never beyond its own rights
 *   there (auth_can_grant). Because it holds every permission of tenant-admin and
 *   tenant-member, it may appoint co-admins and members of its tenant. Creating or
 *   editing role *definitions* needs role.admin globally (roles are global objects,
 *   tenant 0).
 * - audit.read in a tenant scope means "the audit rows of that tenant"; the audit
 *   route filters rows by tenant, like every other list.
 * - admin and operator are global-only; tenant-admin and tenant-member are
 *   tenant-only; auditor and viewer may be bound either way. */
#ifndef VP_AUTH_ROLES_H
#define VP_AUTH_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perms.h"

struct auth_builtin_role {
    const char *name;        /* "tenant-admin"; stable, used as role.name in the DB */
    const char *description; /* one sentence for the UI */
    perm_set perms;
    bool global_ok; /* may be bound with scope global */
    bool tenant_ok; /* may be bound within one tenant */
};

struct auth_binding {
    perm_set perms;    /* the bound role's permissions */
    int64_t tenant_id; /* 0 = global binding */
};

/* The built-in roles (static table, borrowed); *n gets their count. */
const struct auth_builtin_role *auth_builtin_roles(size_t *n);

/* The built-in role called `name` (borrowed), or NULL. */
const struct auth_builtin_role *auth_builtin_role_find(const char *name);

/* True when built-in role r may be bound with that scope (tenant_id 0 = global). */
bool auth_builtin_role_bindable(const struct auth_builtin_role *r, int64_t tenant_id);

/* Effective permissions of a principal with bindings b[nb] (borrowed) on an
 * object of tenant `tenant_id` (0 = a global object: only global bindings count). */
perm_set auth_effective(const struct auth_binding *b, size_t nb, int64_t tenant_id);

/* Effective permissions of an API token on an object of `tenant_id`: the owner's
 * effective set, intersected with the token's own when the token was created
 * with a narrower role set (`narrowed`). Evaluated from the owner's bindings as
 * they are now, so demoting the owner demotes the token. A narrowed token with
 * no bindings left has no permissions (never falls back to the owner's). */
perm_set auth_token_effective(const struct auth_binding *owner, size_t nowner,
                              const struct auth_binding *tok, size_t ntok, bool narrowed,
                              int64_t tenant_id);

/* May a granter with bindings g[ng] bind a role with permissions `role` in scope
 * `tenant_id` (0 = global)? Needs role.admin in that scope and every permission
 * of the role in that scope; a role with non-grantable bits is never grantable.
 * (Whether the role may be bound in that scope at all is auth_builtin_role_bindable.) */
bool auth_can_grant(const struct auth_binding *g, size_t ng, perm_set role, int64_t tenant_id);

#endif
