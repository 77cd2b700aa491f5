// Permission checks for showing or hiding UI. The server enforces every permission;
// this only avoids offering what would be refused.

/* The closed list from the Identity issue; roles seen from the API extend it. */
export const KNOWN_PERMISSIONS = [
    'tenant.read', 'tenant.admin', 'user.read', 'user.admin', 'role.admin', 'token.self',
    'vm.read', 'vm.power', 'vm.create', 'vm.delete', 'vm.console', 'host.read', 'host.admin',
    'quota.read', 'quota.write', 'quota.request', 'quota.approve', 'audit.read', 'plan.read',
    'plan.write', 'task.read',
];

/* True when `me` holds `perm` globally or in any tenant. */
export function can(me, perm) {
    if (!me) return false;
    if (Array.isArray(me.permissions) && me.permissions.includes(perm)) return true;
    const tp = me.tenant_permissions;
    if (tp && typeof tp === 'object')
        return Object.values(tp).some((list) => Array.isArray(list) && list.includes(perm));
    return false;
}

export function canAny(me, perms) {
    return perms.some((p) => can(me, p));
}

/* True when `me` holds `perm` globally, or in tenant `tenantId` (null: globally only). */
export function canIn(me, perm, tenantId) {
    if (!me) return false;
    if (Array.isArray(me.permissions) && me.permissions.includes(perm)) return true;
    if (tenantId === null || tenantId === undefined) return false;
    const list = me.tenant_permissions && me.tenant_permissions[String(tenantId)];
    return Array.isArray(list) && list.includes(perm);
}

/* The tenants (ids, as numbers) where `me` holds `perm`; null when it holds it globally. */
export function tenantsWith(me, perm) {
    if (!me) return [];
    if (Array.isArray(me.permissions) && me.permissions.includes(perm)) return null;
    const tp = me.tenant_permissions || {};
    return Object.keys(tp).filter((t) => Array.isArray(tp[t]) && tp[t].includes(perm)).map(Number);
}
