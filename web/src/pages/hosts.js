// Hosts: the libvirt hosts with their state, capacity, allocation and how tenant
// quotas are enforced there (cgroup v2, libvirt per VM, or not); a host's page
// (facts, pools, networks, its VMs); admins register, rename and remove hosts.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { fmtBytes, fmtMiB, fmtNumber } from '../lib/format.js';
import { navigate, onLinkClick } from '../lib/router.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { FormDialog, TextField, useForm } from '../components/form.js';
import { confirmAction } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { UsageBar } from '../components/meter.js';
import { Badge, DetailList, EmptyState, PageHeader, Spinner, Time } from '../components/ui.js';
import { enforcementInfo } from '../lib/series.js';

export const HOST_KIND = { connected: 'success', connecting: 'warning', unreachable: 'danger' };
export const VM_KIND = { running: 'success', paused: 'warning', shutoff: 'neutral', crashed: 'danger', blocked: 'warning', pmsuspended: 'warning' };
const hostPath = (id) => `/api/v1/hosts/${encodeURIComponent(id)}`;

/* vCPUs against cores: overcommit is normal for CPUs, so past 1:1 the bar is full and
 * the ratio is said in text, not flagged as an error (memory uses UsageBar). */
export function CpuBar({ label = 'vCPUs / cores', vcpus = 0, cores, testid }) {
    if (!cores) return html`<${UsageBar} label=${label} used=${vcpus} limit=${null} testid=${testid} />`;
    const ratio = vcpus / cores;
    const text = `${fmtNumber(vcpus)} vCPUs on ${fmtNumber(cores)} cores (${ratio.toFixed(1)}:1)`;
    return html`<div class=${`usage ${ratio > 1 ? 'usage-warn' : 'usage-ok'}`} data-testid=${testid}>
        <div class="usage-head"><span class="usage-label">${label}</span>
            <span class="usage-numbers">${fmtNumber(vcpus)} / ${fmtNumber(cores)}
                ${ratio > 1 && html` <span class="badge badge-warning">${ratio.toFixed(1)}:1</span>`}</span></div>
        <div class="usage-track" role="meter" aria-label=${label} aria-valuemin="0" aria-valuemax=${cores}
            aria-valuenow=${Math.min(vcpus, cores)} aria-valuetext=${text}>
            <div class="usage-used" style=${{ width: `${Math.min(100, ratio * 100)}%` }}></div>
        </div>
    </div>`;
}

function HostForm({ host, onClose, onSaved }) {
    const form = useForm({ name: host ? host.name : '', uri: host ? host.uri : '' });
    const save = async (v) => {
        if (!host) return api.post('/api/v1/hosts', { name: v.name.trim(), uri: v.uri.trim() });
        const body = {};
        if (v.name.trim() !== host.name) body.name = v.name.trim();
        if (v.uri.trim() !== host.uri) body.uri = v.uri.trim();
        if (!Object.keys(body).length) return host;
        return api.patch(hostPath(host.id), body);
    };
    return html`<${FormDialog} title=${host ? `Edit host ${host.name}` : 'Register a host'} form=${form}
        submitLabel=${host ? 'Save' : 'Register host'} required=${['name', 'uri']} onSubmit=${save}
        onClose=${onClose} onDone=${(h) => onSaved(h || host)}>
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off" spellcheck=${false}
            hint="1–64 of A–Z a–z 0–9 . _ -" />
        <${TextField} form=${form} name="uri" label="libvirt URI" required autocomplete="off" spellcheck=${false}
            hint="e.g. qemu+ssh://root@kvm07/system, qemu:///system or test:///default" />
    <//>`;
}

/* Remove a host after confirmation; a 409 (VMs remain) is explained. Resolves true
 * when removed. */
export async function removeHost(h) {
    const ok = await confirmAction({
        title: `Remove host ${h.name}?`, danger: true, confirmLabel: 'Remove host',
        message: 'The portal forgets the host and stops managing it. Its VMs are not touched, but a host that still has VMs cannot be removed.',
    });
    if (!ok) return false;
    try {
        await api.del(hostPath(h.id));
        toastSuccess(`Host ${h.name} removed.`);
        return true;
    } catch (e) {
        toastError(e, e.status === 409 ? `Host ${h.name} still has VMs` : 'Could not remove the host');
        return false;
    }
}

/* How tenant runtime limits are enforced on the host (quota_enforcement: {mode, detail,
 * checked_at}, null before the first check; absent on servers that do not report it). */
export function EnforcementCell({ value, long = false }) {
    if (value === undefined) return html`<span class="muted">—</span>`;
    if (value === null) return html`<span class="muted small" data-testid="host-enforcement">not checked yet</span>`;
    const m = enforcementInfo(value.mode);
    return html`<span data-testid="host-enforcement" data-mode=${value.mode || 'none'}>
        <span title=${m.title}><${Badge} kind=${m.kind}>${m.text}<//></span>
        ${value.detail && html`<div class="muted small">${value.detail}</div>`}
        ${long && value.checked_at && html`<div class="muted small">checked <${Time} value=${value.checked_at} /></div>`}
    </span>`;
}

function stateCell(h) {
    return html`<${Badge} kind=${HOST_KIND[h.state] || 'neutral'}>${h.state}<//>
        ${h.last_error && html`<div class="text-error small" data-testid="host-error">${h.last_error}</div>`}`;
}

export function HostsPage() {
    const { can } = useSession();
    const admin = can('host.admin');
    const [reload, setReload] = useState(0);
    const [editing, setEditing] = useState(null);
    const bump = () => setReload((n) => n + 1);
    const columns = [
        { key: 'name', label: 'Name', sort: 'name', render: (h) => html`<a href=${`/hosts/${h.id}`} onClick=${onLinkClick}
            data-testid="host-link">${h.name}</a>` },
        { key: 'state', label: 'State', render: stateCell },
        { key: 'cores', label: 'Cores', class: 'num', render: (h) => fmtNumber((h.capacity || {}).cores ?? '—') },
        { key: 'memory', label: 'Memory', class: 'num', render: (h) => ((h.capacity || {}).memory_mib == null ? '—' : fmtMiB(h.capacity.memory_mib)) },
        { key: 'vms', label: 'VMs', class: 'num', render: (h) => `${fmtNumber((h.allocation || {}).vms || 0)} (${fmtNumber((h.allocation || {}).active || 0)} active)` },
        { key: 'quota_enforcement', label: 'Quota enforcement', render: (h) => html`<${EnforcementCell} value=${h.quota_enforcement} />` },
        { key: 'alloc', label: 'Allocation', render: (h) => html`<div class="host-alloc">
            <${CpuBar} vcpus=${(h.allocation || {}).vcpus || 0} cores=${(h.capacity || {}).cores} />
            <${UsageBar} label="Memory" used=${(h.allocation || {}).memory_mib || 0} limit=${(h.capacity || {}).memory_mib ?? null} format=${fmtMiB} />
        </div>` },
    ];
    const rowActions = admin ? (h) => html`<div class="row-actions">
        <button type="button" class="button small" onClick=${() => setEditing(h)} aria-label=${`Edit host ${h.name}`}>Edit</button>
        <button type="button" class="button small danger" onClick=${async () => (await removeHost(h)) && bump()}
            aria-label=${`Remove host ${h.name}`}>Remove</button>
    </div>` : null;
    return html`
        <${PageHeader} title="Hosts" description="The libvirt hosts the portal manages, their capacity and what their VMs allocate."
            actions=${admin && html`<button type="button" class="button primary" data-testid="host-register"
                onClick=${() => setEditing('new')}><${Icon} name="plus" /> Register host</button>`} />
        <${DataTable} endpoint="/api/v1/hosts" label="Hosts" columns=${columns} reloadToken=${reload} filterParam=${null}
            defaultSort="name" testid="hosts-table" rowActions=${rowActions} emptyText="No hosts registered yet." />
        ${editing && html`<${HostForm} host=${editing === 'new' ? null : editing} onClose=${() => setEditing(null)}
            onSaved=${(h) => { setEditing(null); toastSuccess(`Host ${h ? h.name : ''} saved.`); bump(); }} />`}`;
}

function SmallList({ endpoint, hostId, label, testid, columns }) {
    const [s, set] = useState({ loading: true });
    useEffect(() => {
        api.get(endpoint, { host_id: hostId, limit: 1000 }).then(
            (d) => set({ items: d.items || [] }), (e) => set({ error: e }));
    }, [endpoint, hostId]);
    let body;
    if (s.loading) body = html`<${Spinner} />`;
    else if (s.error) body = html`<p class="text-error" role="alert">${s.error.detail}</p>`;
    else if (!s.items.length) body = html`<p class="muted">None.</p>`;
    else body = html`<div class="table-scroll"><table><caption class="sr-only">${label}</caption>
        <thead><tr>${columns.map(([l]) => html`<th scope="col" key=${l}>${l}</th>`)}</tr></thead>
        <tbody>${s.items.map((it) => html`<tr key=${it.id}>${columns.map(([l, f], i) => (i === 0
            ? html`<th scope="row" key=${l}>${f(it)}</th>` : html`<td key=${l}>${f(it)}</td>`))}</tr>`)}</tbody>
    </table></div>`;
    return html`<section class="panel" data-testid=${testid}><h2>${label}</h2>${body}</section>`;
}

export function HostDetailPage({ params }) {
    const { can } = useSession();
    const admin = can('host.admin');
    const [s, set] = useState({ loading: true });
    const [editing, setEditing] = useState(false);
    const [reload, setReload] = useState(0);
    useEffect(() => {
        api.get(hostPath(params.id)).then((h) => set({ host: h }), (e) => set({ error: e }));
    }, [params.id, reload]);
    if (s.loading) return html`<${Spinner} label="Loading host…" />`;
    if (s.error) {
        return html`<${EmptyState} icon="alert" title=${s.error.status === 404 ? 'Host not found' : 'Could not load the host'}>
            <p>${s.error.detail} <a href="/hosts" onClick=${onLinkClick}>Back to hosts</a></p><//>`;
    }
    const h = s.host;
    const cap = h.capacity || {};
    const al = h.allocation || {};
    const vmColumns = [
        { key: 'name', label: 'Name', sort: 'name', render: (v) => html`<a href=${`/vms/${v.id}`} onClick=${onLinkClick}>${v.name}</a>` },
        { key: 'state', label: 'State', sort: 'state', render: (v) => html`<${Badge} kind=${VM_KIND[v.state] || 'neutral'}>${v.state}<//>` },
        { key: 'vcpus', label: 'vCPUs', class: 'num' },
        { key: 'memory_mib', label: 'Memory', class: 'num', render: (v) => fmtMiB(v.memory_mib) },
    ];
    return html`
        <p><a href="/hosts" onClick=${onLinkClick}><${Icon} name="chevronLeft" size=${14} /> Hosts</a></p>
        <${PageHeader} title=${`Host ${h.name}`} description=${h.uri}
            actions=${admin && html`
                <button type="button" class="button" onClick=${() => setEditing(true)}>Rename / edit</button>
                <button type="button" class="button danger" onClick=${async () => (await removeHost(h)) && navigate('/hosts')}>Remove</button>`} />
        <section class="panel" data-testid="host-facts">
            <h2>State and facts</h2>
            ${h.last_error && html`<div class="alert alert-error" role="alert"><${Icon} name="alert" /> ${h.last_error}</div>`}
            <${DetailList} rows=${[
                ['State', html`<${Badge} kind=${HOST_KIND[h.state] || 'neutral'}>${h.state}<//> <span class="muted small">since <${Time} value=${h.state_since} /></span>`],
                ['Hostname', h.hostname], ['Hypervisor', h.hypervisor],
                ['CPU', `${cap.sockets ?? '?'} sockets · ${cap.cores ?? '?'} cores · ${cap.threads ?? '?'} threads · ${cap.cpu_model || '?'} (${cap.arch || '?'})`],
                ['Memory', cap.memory_mib == null ? '—' : `${fmtMiB(cap.memory_mib)} (${fmtMiB(cap.memory_free_mib || 0)} free)`],
                ['VMs', `${al.vms || 0} (${al.active || 0} active) · disk ${fmtNumber(al.disk_gib || 0)} GiB`],
                ['Quota enforcement', html`<${EnforcementCell} value=${h.quota_enforcement} long />`],
                ['Facts read', html`<${Time} value=${h.facts_at} />`], ['Reconciled', html`<${Time} value=${h.reconciled_at} />`],
            ]} />
            <div class="usage-grid">
                <${CpuBar} label="vCPUs allocated / cores" vcpus=${al.vcpus || 0} cores=${cap.cores} testid="host-cpu" />
                <${UsageBar} label="Memory allocated" used=${al.memory_mib || 0} limit=${cap.memory_mib ?? null} format=${fmtMiB} testid="host-mem" />
                <${CpuBar} label="vCPUs of running VMs" vcpus=${al.active_vcpus || 0} cores=${cap.cores} />
                <${UsageBar} label="Memory of running VMs" used=${al.active_memory_mib || 0} limit=${cap.memory_mib ?? null} format=${fmtMiB} />
            </div>
        </section>
        <${SmallList} endpoint="/api/v1/pools" hostId=${h.id} label="Storage pools" testid="host-pools" columns=${[
            ['Name', (p) => p.name], ['Type', (p) => p.type || '—'], ['Active', (p) => (p.active ? 'yes' : 'no')],
            ['Capacity', (p) => fmtBytes(p.capacity_bytes)], ['Available', (p) => fmtBytes(p.available_bytes)], ['Volumes', (p) => p.volumes]]} />
        <${SmallList} endpoint="/api/v1/networks" hostId=${h.id} label="Networks" testid="host-networks" columns=${[
            ['Name', (n) => n.name], ['Forward', (n) => n.forward_mode || 'isolated'], ['Bridge', (n) => n.bridge || '—'],
            ['Active', (n) => (n.active ? 'yes' : 'no')]]} />
        ${can('vm.read') && html`<h2>VMs on ${h.name}</h2>
            <${DataTable} endpoint="/api/v1/vms" query=${{ host_id: h.id }} label=${`VMs on ${h.name}`} columns=${vmColumns}
                filterLabel="Filter by name" defaultSort="name" testid="host-vms" emptyText="No VMs on this host." />`}
        ${editing && html`<${HostForm} host=${h} onClose=${() => setEditing(false)}
            onSaved=${() => { setEditing(false); toastSuccess('Host saved.'); setReload((n) => n + 1); }} />`}`;
}
