// Test data through the real API (as the admin), plus one seeding step the API cannot
// do yet: VMs. Until the inventory API can define VMs, seedVms() inserts rows into the
// server's own SQLite database with the sqlite3 tool (a Debian package scripts/setup
// installs), the way the inventory cache would hold them; the server then computes
// usage from them as it would for real VMs. Nothing is mocked.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'playwright-core';

/* An API client signed in as `login`: { get, post, put, patch, del, dispose, token }. Each
 * call resolves to { status, body, headers } and never throws on HTTP errors. */
export async function apiAs(server, login = server.login, password = server.password) {
    const ctx = await httpRequest.newContext({ baseURL: server.url, ignoreHTTPSErrors: true });
    const res = await ctx.post('/api/v1/auth/login', { data: { login, password } });
    assert.equal(res.status(), 200, `login ${login}: ${await res.text()}`);
    const token = (await res.json()).access_token;
    const headers = { Authorization: `Bearer ${token}`, 'X-VP-CSRF': '1' };
    const wrap = async (p) => {
        const r = await p;
        const text = await r.text();
        let body = text;
        try {
            body = text ? JSON.parse(text) : null;
        } catch {
            /* not JSON: keep the text */
        }
        return { status: r.status(), body, headers: r.headers() };
    };
    return {
        token,
        get: (path) => wrap(ctx.get(path, { headers })),
        post: (path, data) => wrap(ctx.post(path, { headers, data: data ?? {} })),
        put: (path, data) => wrap(ctx.put(path, { headers, data })),
        patch: (path, data) => wrap(ctx.patch(path, { headers, data })),
        del: (path) => wrap(ctx.delete(path, { headers })),
        dispose: () => ctx.dispose(),
    };
}

export async function createTenant(api, slug, name) {
    const r = await api.post('/api/v1/tenants', { slug, name });
    assert.equal(r.status, 201, `create tenant ${slug}: ${JSON.stringify(r.body)}`);
    return r.body;
}

/* A user of `tenant` with a built-in role in it (tenant-member, tenant-admin, …). */
export async function createTenantUser(api, tenant, login, password, role) {
    const u = await api.post('/api/v1/users', { login, password, tenant_id: tenant.id });
    assert.equal(u.status, 201, `create user ${login}: ${JSON.stringify(u.body)}`);
    const b = await api.post('/api/v1/role-bindings',
        { subject_kind: 'user', subject_id: u.body.id, role, scope: 'tenant', tenant_id: tenant.id });
    assert.equal(b.status, 201, `bind ${role}: ${JSON.stringify(b.body)}`);
    return u.body;
}

const sqlText = (s) => `'${String(s).replace(/'/g, "''")}'`;
const int = (n) => {
    assert.ok(Number.isInteger(n) && n >= 0, `not a count: ${n}`);
    return String(n);
};

/* Defines VMs of `tenantId` on a fixture host in the server's database:
 * vms = [{ name, vcpus, memory_mib, disk_gib, state }]. */
export function seedVms(server, tenantId, vms) {
    const host = `e2e-fixture-${tenantId}`;
    const stmts = ['.bail on', '.timeout 10000', 'BEGIN IMMEDIATE;',
        /* a file URI of the libvirt test driver that does not exist: never connectable */
        `INSERT OR IGNORE INTO host(name, uri) VALUES (${sqlText(host)}, ${sqlText(`test:///nonexistent/${host}.xml`)});`];
    for (const [i, vm] of vms.entries()) {
        const uuid = `e2e00000-0000-4000-8000-${String(tenantId).padStart(6, '0')}${String(i).padStart(6, '0')}`;
        stmts.push('INSERT INTO vm(uuid, host_id, name, tenant_id, state, vcpus, memory_mib, disk_gib) VALUES (' +
            `${sqlText(uuid)}, (SELECT id FROM host WHERE name = ${sqlText(host)}), ${sqlText(vm.name)}, ${int(tenantId)}, ` +
            `${sqlText(vm.state || 'running')}, ${int(vm.vcpus)}, ${int(vm.memory_mib)}, ${int(vm.disk_gib)});`);
    }
    stmts.push('COMMIT;');
    execFileSync('sqlite3', [join(server.dir, 'virtportal.db')], { input: stmts.join('\n'), stdio: ['pipe', 'pipe', 'pipe'] });
}

/* One measurement of the tenant's usage on its fixture host (seedVms first), as the
 * sampler would store it: { mode, memory_bytes, pids, cpu_usage_usec, … }. */
export function seedSample(server, tenantId, sample) {
    const host = `e2e-fixture-${tenantId}`;
    const cols = ['cpu_usage_usec', 'cpu_throttled_usec', 'memory_bytes', 'oom_kills', 'io_read_bytes',
        'io_write_bytes', 'io_read_ios', 'io_write_ios', 'pids'];
    const ts = sample.ts || new Date().toISOString();
    const sql = ['.bail on', '.timeout 10000',
        `INSERT INTO quota_usage_sample(tenant_id, host_id, mode, ts, ${cols.join(', ')}) VALUES (` +
        `${int(tenantId)}, (SELECT id FROM host WHERE name = ${sqlText(host)}), ${sqlText(sample.mode || 'cgroup')}, ` +
        `${sqlText(ts)}, ${cols.map((c) => int(sample[c] || 0)).join(', ')});`];
    execFileSync('sqlite3', [join(server.dir, 'virtportal.db')], { input: sql.join('\n'), stdio: ['pipe', 'pipe', 'pipe'] });
}
