// Dashboard: counts from whichever list endpoints exist and the user may read. A missing
// endpoint (404) is shown as "not available yet", never as zero.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { onLinkClick } from '../lib/router.js';
import { useSession } from '../session.js';
import { Icon } from '../components/icons.js';
import { PageHeader } from '../components/ui.js';

const SOURCES = [
    { key: 'vms', label: 'Virtual machines', icon: 'vm', perm: 'vm.read', endpoint: '/api/v1/vms', href: '/vms', byState: true },
    { key: 'hosts', label: 'Hosts', icon: 'host', perm: 'host.read', endpoint: '/api/v1/hosts', href: '/hosts', byState: true },
    { key: 'tasks', label: 'Tasks', icon: 'task', perm: 'task.read', endpoint: '/api/v1/tasks', href: '/tasks', byState: true },
    { key: 'tenants', label: 'Tenants', icon: 'tenant', perm: 'tenant.read', endpoint: '/api/v1/tenants', href: '/tenants' },
    { key: 'users', label: 'Users', icon: 'users', perm: 'user.read', endpoint: '/api/v1/users', href: '/users' },
    { key: 'tokens', label: 'My API tokens', icon: 'key', perm: 'token.self', endpoint: '/api/v1/tokens', href: '/tokens' },
];

const LIMIT = 1000;

function Card({ src, result }) {
    let value;
    let extra = null;
    if (!result) value = html`<span class="spinner" aria-hidden="true"></span><span class="sr-only">Loading</span>`;
    else if (result.absent) value = html`<span class="muted small">Not available yet</span>`;
    else if (result.error) value = html`<span class="text-error small">${result.error}</span>`;
    else {
        value = `${result.count}${result.more ? '+' : ''}`;
        if (src.byState && result.states.length)
            extra = html`<ul class="state-list">${result.states.map(([s, n]) =>
                html`<li key=${s}><span class=${`dot state-${s}`}></span>${s} <strong>${n}</strong></li>`)}</ul>`;
    }
    return html`<a class="stat-card" href=${src.href} onClick=${onLinkClick} data-testid=${`stat-${src.key}`}>
        <div class="stat-head"><${Icon} name=${src.icon} /> <span>${src.label}</span></div>
        <div class="stat-value">${value}</div>
        ${extra}
    </a>`;
}

export function DashboardPage() {
    const { me, can } = useSession();
    const sources = SOURCES.filter((s) => can(s.perm));
    const [results, setResults] = useState({});

    useEffect(() => {
        let live = true;
        for (const src of sources) {
            api.get(src.endpoint, { limit: LIMIT }).then(
                (page) => {
                    const items = page.items || [];
                    const counts = {};
                    for (const it of items) if (it && typeof it.state === 'string') counts[it.state] = (counts[it.state] || 0) + 1;
                    const r = { count: items.length, more: !!page.next_cursor, states: Object.entries(counts).sort((a, b) => b[1] - a[1]) };
                    if (live) setResults((prev) => ({ ...prev, [src.key]: r }));
                },
                (err) => {
                    const r = err.status === 404 ? { absent: true } : { error: err.detail };
                    if (live) setResults((prev) => ({ ...prev, [src.key]: r }));
                },
            );
        }
        return () => { live = false; };
    }, []);

    const scope = me.tenant ? `tenant ${me.tenant.name}` : me.tenant_id ? `tenant #${me.tenant_id}` : 'all tenants (global user)';
    return html`
        <${PageHeader} title="Dashboard" description=${`Signed in as ${me.login} · ${scope}`} />
        ${sources.length ? html`<div class="stat-grid">${sources.map((s) => html`<${Card} key=${s.key} src=${s} result=${results[s.key]} />`)}</div>`
            : html`<p class="muted">Your roles give you no overview data.</p>`}
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
