// One VM (/vms/:id): state, placement, hardware, tags; power actions and snapshots as
// tasks (202 + Location, followed by a toast); delete; live stats polled every 3 s
// while the page is visible, charted (CPU from the time_ns delta, memory).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { fmtBytes, fmtMiB } from '../lib/format.js';
import { navigate, onLinkClick } from '../lib/router.js';
import { canIn } from '../lib/perms.js';
import { useSession } from '../session.js';
import { FormDialog, TextField, useForm } from '../components/form.js';
import { confirmAction } from '../components/dialog.js';
import { runAction, toastError } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { LineChart } from '../components/chart.js';
import { Badge, DetailList, EmptyState, PageHeader, Spinner, Time } from '../components/ui.js';
import { VM_KIND } from './hosts.js';

const POLL_MS = 3000;
const MAX_SAMPLES = 60;
const vmPath = (id) => `/api/v1/vms/${encodeURIComponent(id)}`;

/* Which power actions make sense in which state (the server decides; this only avoids
 * offering what would certainly be refused). */
const ACTIONS = [
    { name: 'start', label: 'Start', when: ['shutoff', 'crashed', 'shutdown'] },
    { name: 'shutdown', label: 'Shut down', when: ['running', 'blocked'] },
    { name: 'reboot', label: 'Reboot', when: ['running', 'blocked'] },
    { name: 'reset', label: 'Reset', when: ['running', 'blocked', 'paused'], danger: true },
    { name: 'poweroff', label: 'Power off', when: ['running', 'blocked', 'paused', 'pmsuspended', 'crashed'], danger: true },
    { name: 'suspend', label: 'Suspend', when: ['running', 'blocked'] },
    { name: 'resume', label: 'Resume', when: ['paused', 'pmsuspended'] },
];

/* The stats samples as chart series: CPU % of the VM's vCPUs between samples, memory. */
function series(samples) {
    const cpu = [];
    const mem = [];
    for (let i = 0; i < samples.length; i++) {
        const s = samples[i];
        if (s.memory) mem.push((s.memory.rss_kib || s.memory.current_kib || 0) / 1024);
        const p = samples[i - 1];
        if (p && s.cpu && p.cpu && s.sampled_at_ms > p.sampled_at_ms) {
            const dt = (s.sampled_at_ms - p.sampled_at_ms) * 1e6;
            const pct = ((s.cpu.time_ns - p.cpu.time_ns) / (dt * Math.max(1, s.cpu.vcpus || 1))) * 100;
            cpu.push(Math.max(0, pct));
        }
    }
    return { cpu, mem };
}

function usePolledVm(id) {
    const [s, set] = useState({ loading: true, vm: null, error: null, samples: [] });
    const [tick, setTick] = useState(0);
    const last = useRef(0);
    useEffect(() => {
        let live = true;
        let timer = null;
        const load = async () => {
            timer = null;
            if (document.visibilityState === 'visible') {
                try {
                    const vm = await api.get(vmPath(id));
                    if (!live) return;
                    set((prev) => {
                        const st = vm.stats;
                        const fresh = st && st.sampled_at_ms !== last.current;
                        if (fresh) last.current = st.sampled_at_ms;
                        return { loading: false, vm, error: null, samples: fresh ? [...prev.samples, st].slice(-MAX_SAMPLES) : prev.samples };
                    });
                } catch (e) {
                    if (!live) return;
                    set((prev) => ({ ...prev, loading: false, error: e }));
                    if (e.status === 404 || e.status === 403) return; /* no point polling */
                }
            }
            if (live) timer = setTimeout(load, POLL_MS);
        };
        load();
        const vis = () => {
            if (document.visibilityState === 'visible' && timer) {
                clearTimeout(timer);
                load();
            }
        };
        document.addEventListener('visibilitychange', vis);
        return () => {
            live = false;
            clearTimeout(timer);
            document.removeEventListener('visibilitychange', vis);
        };
    }, [id, tick]);
    return [s, () => setTick((n) => n + 1)];
}

function SnapshotForm({ vm, onClose, onDone }) {
    const form = useForm({ name: '', description: '' });
    const save = (v) => {
        const body = { name: v.name.trim() };
        if (v.description.trim()) body.description = v.description.trim();
        const p = runAction(`Snapshot ${body.name} of ${vm.name}`, 'POST', `${vmPath(vm.id)}/snapshots`, body);
        /* a refusal (400/409) is an ApiError before any task exists: inline */
        return p.then((t) => t || true);
    };
    return html`<${FormDialog} title=${`New snapshot of ${vm.name}`} form=${form} submitLabel="Create snapshot"
        required=${['name']} onSubmit=${save} onClose=${onClose} onDone=${onDone}>
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off" spellcheck=${false}
            hint="1–64 of A–Z a–z 0–9 . _ -" />
        <${TextField} form=${form} name="description" label="Description" autocomplete="off" />
    <//>`;
}

function Snapshots({ vm, mayPower, onChanged }) {
    const [s, set] = useState({ loading: true });
    const [reload, setReload] = useState(0);
    const [creating, setCreating] = useState(false);
    useEffect(() => {
        api.get(`${vmPath(vm.id)}/snapshots`).then((d) => set({ items: d.items || [] }), (e) => set({ error: e }));
    }, [vm.id, reload]);
    const after = () => { setReload((n) => n + 1); onChanged(); };
    const act = async (label, method, path, confirm) => {
        if (confirm && !(await confirmAction(confirm))) return;
        try {
            await runAction(label, method, path);
        } catch (e) {
            toastError(e, label);
        }
        after();
    };
    let body;
    if (s.loading) body = html`<${Spinner} />`;
    else if (s.error) body = html`<p class="text-error" role="alert">${s.error.detail}</p>`;
    else if (!s.items.length) body = html`<p class="muted">No snapshots.</p>`;
    else {
        body = html`<div class="table-scroll"><table data-testid="snapshots-table"><caption class="sr-only">Snapshots</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Description</th>
                <th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>${s.items.map((sn) => {
                const p = `${vmPath(vm.id)}/snapshots/${encodeURIComponent(sn.name)}`;
                return html`<tr key=${sn.name}><th scope="row">${sn.name} ${sn.current && html`<${Badge} kind="info">current<//>`}</th>
                    <td>${sn.state || '—'}</td><td><${Time} value=${sn.created_at} /></td><td>${sn.description || ''}</td>
                    <td class="col-actions">${mayPower && html`<div class="row-actions">
                        <button type="button" class="button small" aria-label=${`Revert to ${sn.name}`}
                            onClick=${() => act(`Revert ${vm.name} to ${sn.name}`, 'POST', `${p}/revert`,
                                { title: `Revert ${vm.name} to ${sn.name}?`, message: 'The VM returns to the snapshot; changes since are lost.', confirmLabel: 'Revert', danger: true })}>Revert</button>
                        <button type="button" class="button small danger" aria-label=${`Delete snapshot ${sn.name}`}
                            onClick=${() => act(`Delete snapshot ${sn.name}`, 'DELETE', p,
                                { title: `Delete snapshot ${sn.name}?`, message: 'The snapshot is removed for good.', confirmLabel: 'Delete', danger: true })}>Delete</button>
                    </div>`}</td></tr>`;
            })}</tbody></table></div>`;
    }
    return html`<section class="panel" data-testid="vm-snapshots">
        <div class="panel-head"><h2>Snapshots</h2>
            ${mayPower && html`<button type="button" class="button small" onClick=${() => setCreating(true)}>
                <${Icon} name="plus" size=${16} /> New snapshot</button>`}</div>
        ${body}
        ${creating && html`<${SnapshotForm} vm=${vm} onClose=${() => setCreating(false)}
            onDone=${() => { setCreating(false); after(); }} />`}
    </section>`;
}

function Stats({ vm, samples }) {
    if (!vm.stats) {
        return html`<section class="panel" data-testid="vm-stats"><h2>Live statistics</h2>
            <p class="muted" data-testid="stats-unavailable">No live statistics${vm.stats_error ? `: ${vm.stats_error}` : ' from the host right now'}.</p>
        </section>`;
    }
    const { cpu, mem } = series(samples);
    const st = vm.stats;
    return html`<section class="panel" data-testid="vm-stats"><h2>Live statistics</h2>
        <p class="muted small">Sampled every ${POLL_MS / 1000} s while this page is visible · last <${Time} value=${st.sampled_at_ms} seconds /></p>
        <div class="usage-grid">
            <${LineChart} label="CPU (% of vCPUs)" values=${cpu} format=${(n) => `${n.toFixed(1)} %`} testid="chart-cpu" />
            <${LineChart} label="Memory" values=${mem} format=${(n) => fmtMiB(Math.round(n))} testid="chart-mem" />
        </div>
        ${(st.block || st.net) && html`<${DetailList} rows=${[
            ...(st.block ? [['Disk read / written', `${fmtBytes(st.block.read_bytes)} / ${fmtBytes(st.block.write_bytes)}`]] : []),
            ...(st.net ? [['Network rx / tx', `${fmtBytes(st.net.rx_bytes)} / ${fmtBytes(st.net.tx_bytes)}`]] : []),
        ]} />`}
    </section>`;
}

export function VmDetailPage({ params }) {
    const { me } = useSession();
    const [s, reload] = usePolledVm(params.id);
    const [busy, setBusy] = useState(null);
    if (s.loading) return html`<${Spinner} label="Loading VM…" />`;
    if (!s.vm) {
        return html`<${EmptyState} icon="alert" title=${s.error && s.error.status === 404 ? 'VM not found' : 'Could not load the VM'}>
            <p>${s.error && s.error.detail} <a href="/vms" onClick=${onLinkClick}>Back to VMs</a></p><//>`;
    }
    const vm = s.vm;
    const tid = vm.tenant_id;
    const mayPower = canIn(me, 'vm.power', tid);
    const mayDelete = canIn(me, 'vm.delete', tid);
    const power = async (a) => {
        if (a.danger && !(await confirmAction({ title: `${a.label} ${vm.name}?`, danger: true, confirmLabel: a.label,
            message: 'This is like pulling the plug: the guest gets no chance to shut down cleanly.' }))) return;
        setBusy(a.name);
        try {
            await runAction(`${a.label} ${vm.name}`, 'POST', `${vmPath(vm.id)}/actions/${a.name}`);
        } catch (e) {
            toastError(e, `${a.label} ${vm.name}`);
        } finally {
            setBusy(null);
            reload();
        }
    };
    const del = async () => {
        if (!(await confirmAction({ title: `Delete VM ${vm.name}?`, danger: true, confirmLabel: 'Delete VM',
            message: 'The VM is undefined on its host (a running VM is refused; power it off first). Its disk volumes are kept.' }))) return;
        try {
            const t = await runAction(`Delete ${vm.name}`, 'DELETE', vmPath(vm.id));
            if (!t || t.state === 'succeeded') navigate('/vms');
        } catch (e) {
            toastError(e, `Delete ${vm.name}`);
        }
    };
    return html`
        <p><a href="/vms" onClick=${onLinkClick}><${Icon} name="chevronLeft" size=${14} /> VMs</a></p>
        <${PageHeader} title=${`VM ${vm.name}`} description=${vm.uuid}
            actions=${mayDelete && html`<button type="button" class="button danger" onClick=${del}><${Icon} name="trash" size=${16} /> Delete VM</button>`} />
        ${s.error && html`<div class="alert alert-warning" role="alert"><${Icon} name="alert" /> Refresh failed: ${s.error.detail}</div>`}
        <section class="panel" data-testid="vm-overview">
            <div class="panel-head"><h2>State</h2>
                <span data-testid="vm-state"><${Badge} kind=${VM_KIND[vm.state] || 'neutral'}>${vm.state}<//></span></div>
            ${mayPower && html`<div class="row-actions" role="group" aria-label="Power actions" data-testid="power-actions">
                ${ACTIONS.map((a) => html`<button type="button" key=${a.name} class=${`button small ${a.danger ? 'danger' : ''}`}
                    disabled=${busy !== null || !a.when.includes(vm.state)} onClick=${() => power(a)}>
                    ${busy === a.name ? `${a.label}…` : a.label}</button>`)}
            </div>`}
            <${DetailList} rows=${[
                ['Host', html`<a href=${`/hosts/${vm.host_id}`} onClick=${onLinkClick}>${vm.host}</a>`],
                ['Tenant', tid === null ? html`<span class="muted">none</span>` : (me.tenant && me.tenant.id === tid ? me.tenant.name : `#${tid}`)],
                ['vCPUs', `${vm.vcpus} (max ${vm.max_vcpus ?? vm.vcpus})`],
                ['Memory', `${fmtMiB(vm.memory_mib)} (max ${fmtMiB(vm.max_memory_mib ?? vm.memory_mib)})`],
                ['Firmware', vm.firmware], ['Type / arch', `${vm.domain_type || '—'} / ${vm.arch || '—'}`],
                ['Autostart', vm.autostart ? 'yes' : 'no'], ['Persistent', vm.persistent ? 'yes' : 'no'],
                ['Tags', (vm.tags || []).length ? html`<ul class="chips">${vm.tags.map((t) => html`<li class="chip" key=${t}>${t}</li>`)}</ul>` : html`<span class="muted">none</span>`],
                ['First seen', html`<${Time} value=${vm.created_at} />`],
            ]} />
        </section>
        <${Stats} vm=${vm} samples=${s.samples} />
        <section class="panel" data-testid="vm-disks"><h2>Disks</h2>
            ${(vm.disks || []).length ? html`<div class="table-scroll"><table><caption class="sr-only">Disks</caption>
                <thead><tr><th scope="col">Target</th><th scope="col">Bus</th><th scope="col">Format</th><th scope="col">Capacity</th><th scope="col">Source</th></tr></thead>
                <tbody>${vm.disks.map((d, i) => html`<tr key=${i}><th scope="row">${d.target || '—'}</th><td>${d.bus || '—'}</td>
                    <td>${d.format || '—'}</td><td>${d.capacity_bytes ? fmtBytes(d.capacity_bytes) : '—'}</td>
                    <td class="mono small">${d.pool ? `${d.pool}/${d.volume}` : d.source || '—'}</td></tr>`)}</tbody></table></div>`
                : html`<p class="muted">No disks.</p>`}
        </section>
        <section class="panel" data-testid="vm-nics"><h2>Network interfaces</h2>
            ${(vm.nics || []).length ? html`<div class="table-scroll"><table><caption class="sr-only">Network interfaces</caption>
                <thead><tr><th scope="col">MAC</th><th scope="col">Model</th><th scope="col">Network / bridge</th></tr></thead>
                <tbody>${vm.nics.map((n, i) => html`<tr key=${i}><th scope="row" class="mono">${n.mac || '—'}</th><td>${n.model || '—'}</td>
                    <td>${n.network || n.bridge || '—'}</td></tr>`)}</tbody></table></div>`
                : html`<p class="muted">No network interfaces.</p>`}
        </section>
        <${Snapshots} vm=${vm} mayPower=${mayPower} onChanged=${reload} />`;
}
