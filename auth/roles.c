/* roles: built-in roles and RBAC evaluation (see roles.h). */
#include "roles.h"

#include <string.h>

#define B(id) ((perm_set)1 << PERM_##id)

/* Every *.read permission, audit.read excepted (viewer's world). */
#define READS_NO_AUDIT                                                                             \
    (B(TENANT_READ) | B(USER_READ) | B(VM_READ) | B(HOST_READ) | B(QUOTA_READ) | B(PLAN_READ) |    \
     B(TASK_READ))

#define VM_ALL (B(VM_READ) | B(VM_POWER) | B(VM_CREATE) | B(VM_DELETE) | B(VM_CONSOLE))

static const struct auth_builtin_role builtin_roles[] = {
    {"admin", "Everything, everywhere", PERM_SET_ALL, true, false},
    {"operator",
     "Runs the infrastructure: reads everything but the audit log, operates VMs and plans",
     READS_NO_AUDIT | VM_ALL | B(PLAN_WRITE) | B(TOKEN_SELF), true, false},
    {"auditor", "Reads everything, including the audit log, changes nothing",
     READS_NO_AUDIT | B(AUDIT_READ) | B(TOKEN_SELF), true, true},
    {"tenant-admin",
     "Administers one tenant: its users, role bindings, VMs and quota requests, and reads its "
     "audit",
     B(TENANT_READ) | B(USER_READ) | B(USER_ADMIN) | B(ROLE_ADMIN) | VM_ALL | B(QUOTA_READ) |
         B(QUOTA_REQUEST) | B(TASK_READ) | B(TOKEN_SELF) | B(AUDIT_READ),
     false, true},
    {"tenant-member", "Uses one tenant's VMs and quota",
     B(TENANT_READ) | B(VM_READ) | B(VM_POWER) | B(VM_CREATE) | B(VM_CONSOLE) | B(QUOTA_READ) |
         B(QUOTA_REQUEST) | B(TASK_READ) | B(TOKEN_SELF),
     false, true},
    {"viewer", "Reads everything except the audit log", READS_NO_AUDIT | B(TOKEN_SELF), true, true},
};

const struct auth_builtin_role *
auth_builtin_roles(size_t *n)
{
    *n = sizeof(builtin_roles) / sizeof(builtin_roles[0]);
    return builtin_roles;
}

const struct auth_builtin_role *
auth_builtin_role_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(builtin_roles) / sizeof(builtin_roles[0]); i++) {
        if (strcmp(builtin_roles[i].name, name) == 0)
            return &builtin_roles[i];
    }
    return NULL;
}

bool
auth_builtin_role_bindable(const struct auth_builtin_role *r, int64_t tenant_id)
{
    if (tenant_id < 0)
        return false;
    return tenant_id == 0 ? r->global_ok : r->tenant_ok;
}

perm_set
auth_effective(const struct auth_binding *b, size_t nb, int64_t tenant_id)
{
    perm_set s = 0;
    if (tenant_id < 0)
        return 0;
    for (size_t i = 0; i < nb; i++) {
        if (b[i].tenant_id == 0 || (tenant_id != 0 && b[i].tenant_id == tenant_id))
            s |= b[i].perms;
    }
    /* Marker bits can never be granted, whatever the storage says. */
    return s & PERM_SET_ALL;
}

perm_set
auth_token_effective(const struct auth_binding *owner, size_t nowner,
                     const struct auth_binding *tok, size_t ntok, bool narrowed, int64_t tenant_id)
{
    perm_set s = auth_effective(owner, nowner, tenant_id);
    if (narrowed)
        s &= auth_effective(tok, ntok, tenant_id);
    return s;
}

bool
auth_can_grant(const struct auth_binding *g, size_t ng, perm_set role, int64_t tenant_id)
{
    if (tenant_id < 0 || (role & ~PERM_SET_ALL) != 0)
        return false;
    perm_set eff = auth_effective(g, ng, tenant_id);
    return perm_set_has(eff, PERM_ROLE_ADMIN) && (role & ~eff) == 0;
}
