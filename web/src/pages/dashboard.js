// Dashboard: hosts with their allocation against capacity, VMs by state and the recent
// tasks, each section only for users whose roles let them read it. A missing endpoint
// (404) is shown as "not available yet", never as zero.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { fmtMiB, fmtNumber } from '../lib/format.js';
import { onLinkClick } from '../lib/router.js';
import { useSession } from '../session.js';
import { Icon } from '../components/icons.js';
import { UsageBar } from '../components/meter.js';
import { Badge, PageHeader, Time } from '../components/ui.js';
import { CpuBar, HOST_KIND } from './hosts.js';

const LIMIT = 1000;

/* The count cards (every list the user may read). */
const SOURCES = [
    { key: 'vms', label: 'Virtual machines', icon: 'vm', perm: 'vm.read', endpoint: '/api/v1/vms', href: '/vms', byState: true },
    { key: 'hosts', label: 'Hosts', icon: 'host', perm: 'host.read', endpoint: '/api/v1/hosts', href: '/hosts', byState: true },
    { key: 'tenants', label: 'Tenants', icon: 'tenant', perm: 'tenant.read', endpoint: '/api/v1/tenants', href: '/tenants' },
    { key: 'users', label: 'Users', icon: 'users', perm: 'user.read', endpoint: '/api/v1/users', href: '/users' },
    { key: 'tokens', label: 'My API tokens', icon: 'key', perm: 'token.self', endpoint: '/api/v1/tokens', href: '/tokens' },
];

function Card({ src, result }) {
    let value;
    if (!result || result.loading) value = html`<span class="spinner" aria-hidden="true"></span><span class="sr-only">Loading</span>`;
    else if (result.absent) value = html`<span class="muted small">Not available yet</span>`;
    else if (result.error) value = html`<span class="text-error small">${result.error.detail}</span>`;
    else value = `${(result.data.items || []).length}${result.data.next_cursor ? '+' : ''}`;
    return html`<a class="stat-card" href=${src.href} onClick=${onLinkClick} data-testid=${`stat-${src.key}`}>
        <div class="stat-head"><${Icon} name=${src.icon} /> <span>${src.label}</span></div>
        <div class="stat-value">${value}</div>
    </a>`;
}

/* { loading, data, error, absent } for one GET, reloaded when `key` changes. */
function useGet(path, query, enabled) {
    const [s, set] = useState({ loading: enabled, data: null, error: null, absent: false });
    useEffect(() => {
        if (!enabled) return undefined;
        let live = true;
        api.get(path, query).then(
            (data) => live && set({ loading: false, data, error: null, absent: false }),
            (e) => live && set({ loading: false, data: null, error: e.status === 404 ? null : e, absent: e.status === 404 }),
        );
        return () => { live = false; };
    }, [path, enabled]);
    return s;
}

function Section({ title, icon, href, testid, state, children }) {
    let body;
    if (state.loading) body = html`<p><span class="spinner" aria-hidden="true"></span> Loading…</p>`;
    else if (state.absent) body = html`<p class="muted">Not available yet on this server.</p>`;
    else if (state.error) body = html`<p class="text-error" role="alert">${state.error.detail}</p>`;
    else body = children();
    return html`<section class="panel" data-testid=${testid} aria-labelledby=${`${testid}-h`}>
        <div class="panel-head"><h2 id=${`${testid}-h`}><${Icon} name=${icon} /> ${title}</h2>
            ${href && html`<a href=${href} onClick=${onLinkClick}>View all</a>`}</div>
        ${body}
    </section>`;
}

export function HostCapacity({ h }) {
    const cap = h.capacity || {};
    const al = h.allocation || {};
    return html`<div class="usage-grid">
        <${CpuBar} label="vCPUs allocated / cores" vcpus=${al.vcpus || 0} cores=${cap.cores} testid=${`host-${h.id}-cpu`} />
        <${UsageBar} label="Memory allocated" used=${al.memory_mib || 0} limit=${cap.memory_mib ?? null}
            format=${fmtMiB} testid=${`host-${h.id}-mem`} />
    </div>`;
}

function HostsSection({ state }) {
    return html`<${Section} title="Hosts" icon="host" href="/hosts" testid="dash-hosts" state=${state}>${() => {
        const items = state.data.items || [];
        if (!items.length) return html`<p class="muted">No hosts registered yet.</p>`;
        return html`<ul class="request-list">${items.map((h) => html`<li key=${h.id} data-testid="dash-host">
            <div class="usage-head">
                <a href=${`/hosts/${h.id}`} onClick=${onLinkClick}><strong>${h.name}</strong></a>
                <span><${Badge} kind=${HOST_KIND[h.state] || 'neutral'}>${h.state}<//>
                    <span class="muted small"> ${fmtNumber((h.allocation || {}).vms || 0)} VMs</span></span>
            </div>
            ${h.last_error && html`<p class="text-error small">${h.last_error}</p>`}
            <${HostCapacity} h=${h} />
        </li>`)}</ul>`;
    }}<//>`;
}

function VmsSection({ state }) {
    return html`<${Section} title="Virtual machines" icon="vm" href="/vms" testid="dash-vms" state=${state}>${() => {
        const items = state.data.items || [];
        const counts = {};
        for (const v of items) counts[v.state] = (counts[v.state] || 0) + 1;
        const more = !!state.data.next_cursor;
        return html`<p><strong data-testid="dash-vm-total">${items.length}${more ? '+' : ''}</strong> VMs</p>
            <ul class="state-list" data-testid="dash-vm-states">${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([s, n]) =>
                html`<li key=${s}><span class=${`dot state-${s}`}></span>${s} <strong>${n}</strong></li>`)}</ul>`;
    }}<//>`;
}

function TasksSection({ state }) {
    return html`<${Section} title="Recent tasks" icon="task" href="/tasks" testid="dash-tasks" state=${state}>${() => {
        const items = state.data.items || [];
        if (!items.length) return html`<p class="muted">No tasks yet.</p>`;
        return html`<div class="table-scroll"><table><caption class="sr-only">Recent tasks</caption>
            <thead><tr><th scope="col">Task</th><th scope="col">Kind</th><th scope="col">Target</th>
                <th scope="col">State</th><th scope="col">Created</th></tr></thead>
            <tbody>${items.map((t) => html`<tr key=${t.id}><th scope="row">#${t.id}</th><td>${t.kind}</td>
                <td>${t.target || '—'}</td><td><span class=${`dot state-${t.state}`}></span> ${t.state}</td>
                <td><${Time} value=${t.created_at} /></td></tr>`)}</tbody></table></div>`;
    }}<//>`;
}

export function DashboardPage() {
    const { me, can } = useSession();
    const hosts = useGet('/api/v1/hosts', { limit: LIMIT }, can('host.read'));
    const vms = useGet('/api/v1/vms', { limit: LIMIT }, can('vm.read'));
    const tasks = useGet('/api/v1/tasks', { limit: 10 }, can('task.read'));
    const scope = me.tenant ? `tenant ${me.tenant.name}` : me.tenant_id ? `tenant #${me.tenant_id}` : 'all tenants (global user)';
    const tenants = useGet('/api/v1/tenants', { limit: LIMIT }, can('tenant.read'));
    const users = useGet('/api/v1/users', { limit: LIMIT }, can('user.read'));
    const tokens = useGet('/api/v1/tokens', { limit: LIMIT }, can('token.self'));
    /* the cards show their numbers once every overview request has answered, so the
     * page is quiet (no request in flight) when they stop spinning */
    const settled = [hosts, vms, tasks, tenants, users, tokens].every((x) => !x.loading);
    const results = settled ? { vms, hosts, tenants, users, tokens } : {};
    const cards = SOURCES.filter((s) => can(s.perm));
    const any = can('host.read') || can('vm.read') || can('task.read');
    return html`
        <${PageHeader} title="Dashboard" description=${`Signed in as ${me.login} · ${scope}`} />
        ${cards.length > 0 && html`<div class="stat-grid">${cards.map((c) => html`<${Card} key=${c.key} src=${c} result=${results[c.key]} />`)}</div>`}
        ${!any && !cards.length && html`<p class="muted" data-testid="dash-none">Your roles give you no overview data.</p>`}
        ${can('vm.read') && html`<${VmsSection} state=${vms} />`}
        ${can('host.read') && html`<${HostsSection} state=${hosts} />`}
        ${can('task.read') && html`<${TasksSection} state=${tasks} />`}
        <section class="panel">
            <h2>Your permissions</h2>
            ${(me.permissions || []).length ? html`<ul class="chips">${me.permissions.map((p) => html`<li class="chip" key=${p}>${p}</li>`)}</ul>`
                : html`<p class="muted">No global permissions.</p>`}
            ${me.tenant_permissions && Object.keys(me.tenant_permissions).length > 0 && html`
                <h3>In tenants</h3>
                ${Object.entries(me.tenant_permissions).map(([t, perms]) => html`<div key=${t}>
                    <p class="small muted">Tenant ${t}</p>
                    <ul class="chips">${(Array.isArray(perms) ? perms : []).map((p) => html`<li class="chip" key=${p}>${p}</li>`)}</ul>
                </div>`)}`}
        </section>`;
}
