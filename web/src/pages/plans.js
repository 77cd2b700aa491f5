// Plans (issue 8): the list, a wizard (/plans/new: VMware upload or rebalance/drain of
// the live hosts → targets → constraints → submit) and a plan's result page: readiness,
// per-VM findings, host utilisation, waves or migration steps, exports, Execute.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { ApiError, api, download, listAll, request } from '../lib/api.js';
import { fmtMiB, fmtNumber } from '../lib/format.js';
import { navigate, onLinkClick } from '../lib/router.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { FormError, RadioGroup, SelectField, TextAreaField, TextField, useForm } from '../components/form.js';
import { confirmAction } from '../components/dialog.js';
import { runAction, toastError, toastSuccess, trackTask } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { UsageBar } from '../components/meter.js';
import { BarTimeline } from '../components/chart.js';
import { Badge, DetailList, EmptyState, PageHeader, Spinner, Time } from '../components/ui.js';

const PLAN_KIND = { draft: 'info', ready: 'success', executing: 'warning', done: 'success', failed: 'danger' };
const READY_KIND = { ready: 'success', 'ready-with-conditions': 'warning', 'not-ready': 'danger', unknown: 'neutral' };
const READY_LABEL = { ready: 'Ready', 'ready-with-conditions': 'Ready with conditions', 'not-ready': 'Not ready', unknown: 'Unknown' };
const KIND_LABEL = { 'vmware-import': 'VMware import', rebalance: 'Rebalance', drain: 'Drain' };
const planPath = (id) => `/api/v1/plans/${encodeURIComponent(id)}`;

function summaryText(p) {
    const s = p.summary;
    if (!s) return p.error ? (typeof p.error === 'string' ? p.error : p.error.detail) : '—';
    if (p.kind === 'vmware-import') {
        const r = s.readiness || {};
        return `${s.vms} VMs · ${r.ready || 0} ready · ${r['ready-with-conditions'] || 0} with conditions · ${r['not-ready'] || 0} not ready · ${s.waves} waves`;
    }
    return `${s.migrations} migrations in ${s.steps} steps · imbalance ${s.imbalance_before} → ${s.imbalance_after}`;
}

export function PlansPage() {
    const { can } = useSession();
    const columns = [
        { key: 'id', label: 'Plan', render: (p) => html`<a href=${`/plans/${p.id}`} onClick=${onLinkClick} data-testid="plan-link">
            #${p.id}${p.name ? ` ${p.name}` : ''}</a>` },
        { key: 'kind', label: 'Kind', render: (p) => KIND_LABEL[p.kind] || p.kind },
        { key: 'state', label: 'State', render: (p) => html`<${Badge} kind=${PLAN_KIND[p.state] || 'neutral'}>${p.state}<//>` },
        { key: 'summary', label: 'Summary', render: summaryText },
        { key: 'created_at', label: 'Created', render: (p) => html`<${Time} value=${p.created_at} />` },
    ];
    return html`
        <${PageHeader} title="Migration plans" description="VMware imports, rebalancing and draining of the KVM hosts."
            actions=${can('plan.write') && html`<a class="button primary" href="/plans/new" onClick=${onLinkClick}
                data-testid="plan-new"><${Icon} name="plus" /> New plan</a>`} />
        <${DataTable} endpoint="/api/v1/plans" label="Plans" columns=${columns} filterParam=${null}
            testid="plans-table" emptyText="No plans yet." />`;
}

/* ------------------------------------------------------------------ wizard */

const FORMATS = [
    { value: 'rvtools-xlsx', label: 'RVTools export (.xlsx)' }, { value: 'rvtools-csv', label: 'RVTools sheet (.csv)' },
    { value: 'vmx', label: 'VMware .vmx' }, { value: 'ovf', label: 'OVF descriptor (.ovf)' },
];
function formatOf(name) {
    const n = name.toLowerCase();
    if (n.endsWith('.xlsx')) return 'rvtools-xlsx';
    if (n.endsWith('.csv')) return 'rvtools-csv';
    if (n.endsWith('.vmx')) return 'vmx';
    if (n.endsWith('.ovf')) return 'ovf';
    return '';
}
function base64Of(file) {
    return new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
        r.onerror = () => reject(r.error);
        r.readAsDataURL(file);
    });
}
const STEPS = ['Source', 'Targets', 'Constraints', 'Review'];
/* The server's field names → the wizard's field and the step that shows it. */
const FIELD_STEP = {
    name: ['name', 0], inventory: ['format', 0], drain: ['drain_host', 0], targets: ['targets', 1], sizing: ['sizing', 1],
    'constraints.overcommit.cpu': ['cpu_overcommit', 2], 'constraints.overcommit.memory': ['memory_overcommit', 2],
    'constraints.overcommit': ['cpu_overcommit', 2], 'constraints.headroom': ['headroom', 2], 'constraints.anti_affinity': ['anti_affinity', 2],
};
function fieldStep(field) {
    if (FIELD_STEP[field]) return FIELD_STEP[field];
    const prefix = Object.keys(FIELD_STEP).filter((k) => field.startsWith(`${k}.`) || field.startsWith(`${k}[`)).sort((x, y) => y.length - x.length)[0];
    return prefix ? FIELD_STEP[prefix] : null;
}

/* The request body from the wizard's values; throws Error naming a bad value. */
async function planBody(v, file) {
    const body = { kind: v.kind };
    if (v.name.trim()) body.name = v.name.trim();
    const c = {};
    const num = (s, what) => {
        const n = Number(s);
        if (s.trim() === '' || !Number.isFinite(n)) throw new Error(`${what} must be a number.`);
        return n;
    };
    if (v.cpu_overcommit.trim() || v.memory_overcommit.trim()) {
        c.overcommit = {};
        if (v.cpu_overcommit.trim()) c.overcommit.cpu = num(v.cpu_overcommit, 'CPU overcommit');
        if (v.memory_overcommit.trim()) c.overcommit.memory = num(v.memory_overcommit, 'Memory overcommit');
    }
    if (v.headroom.trim()) c.headroom = num(v.headroom, 'Headroom');
    const groups = v.anti_affinity.split('\n').map((l) => l.split(',').map((x) => x.trim()).filter(Boolean)).filter((g) => g.length);
    if (groups.length) c.anti_affinity = groups.map((vms) => ({ vms }));
    if (Object.keys(c).length) body.constraints = c;
    if (v.kind === 'vmware-import') {
        if (!file) throw new Error('Choose a file to upload.');
        body.inventory = { format: v.format || formatOf(file.name), files: [{ name: file.name, content_base64: await base64Of(file) }] };
        if (v.targets.trim()) body.targets = v.targets.trim();
        if (v.sizing.trim()) body.sizing = v.sizing.trim();
    } else if (v.kind === 'drain') {
        body.drain = { host_id: Number(v.drain_host) };
    }
    return body;
}

function Stepper({ step }) {
    const current = { color: 'var(--primary)', borderBottomColor: 'var(--primary)' };
    return html`<ol class="tabs" aria-label="Plan wizard steps" data-testid="wizard-steps" style=${{ listStyle: 'none', paddingLeft: 0 }}>
        ${STEPS.map((s, i) => html`<li key=${s} class="tab" aria-current=${i === step ? 'step' : undefined}
            style=${i === step ? current : {}}>${i + 1}. ${s}</li>`)}
    </ol>`;
}

export function PlanWizardPage() {
    const { can } = useSession();
    const form = useForm({ kind: 'vmware-import', name: '', format: '', targets: 'inventory', sizing: '', drain_host: '',
        cpu_overcommit: '', memory_overcommit: '', headroom: '', anti_affinity: '' });
    const [file, setFile] = useState(null);
    const [step, setStep] = useState(0);
    const [busy, setBusy] = useState(false);
    const [hosts, setHosts] = useState(null);
    const v = form.values;
    useEffect(() => {
        if (!can('host.read')) return;
        listAll('/api/v1/hosts').then((r) => setHosts(r.items), () => setHosts([]));
    }, []);
    const next = () => {
        if (step === 0 && v.kind === 'vmware-import' && !file) return form.setFormError('Choose a file to upload.');
        if (step === 0 && v.kind === 'drain' && !v.drain_host) return form.setFormError('Choose the host to drain.');
        form.setFormError(null);
        setStep(step + 1);
        return undefined;
    };
    const submit = async (e) => {
        e.preventDefault();
        if (step < STEPS.length - 1) return next();
        let body;
        try {
            body = await planBody(v, file);
        } catch (err) {
            return form.setFormError(err.message);
        }
        /* a refusal names a field: go back to the step that shows it, message beside it */
        let res;
        setBusy(true);
        form.setFormError(null);
        try {
            res = await request('POST', '/api/v1/plans', { body });
        } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            const [field] = Object.keys(err.fieldErrors);
            const at = field ? fieldStep(field) : null;
            if (at) {
                form.setErrors({ [at[0]]: err.fieldErrors[field] });
                setStep(at[1]);
                setTimeout(() => {
                    const el = form.root.current && form.root.current.querySelector('[aria-invalid="true"]');
                    if (el) el.focus();
                }, 0);
            }
            form.setFormError(err.detail);
            return undefined;
        } finally {
            setBusy(false);
        }
        const plan = res.body;
        if (res.status === 202 && res.location) {
            trackTask(res.location, `Plan #${plan.id}`).catch(() => {});
        } else toastSuccess(`Plan #${plan.id} computed.`);
        navigate(`/plans/${plan.id}`);
        return undefined;
    };
    let content;
    if (step === 0) {
        content = html`
            <${RadioGroup} form=${form} name="kind" label="What to plan" options=${[
                { value: 'vmware-import', label: 'Import VMware VMs (upload an inventory)' },
                { value: 'rebalance', label: 'Rebalance the live KVM hosts' },
                { value: 'drain', label: 'Drain a KVM host (move its VMs away)' }]} />
            ${v.kind === 'vmware-import' && html`<div class="field">
                <label for="plan-file">Inventory file</label>
                <input id="plan-file" type="file" accept=".xlsx,.csv,.vmx,.ovf" data-testid="plan-file"
                    onChange=${(e) => { const f = e.currentTarget.files[0] || null; setFile(f); if (f) form.set('format', formatOf(f.name)); }} />
                <p class="field-hint">RVTools .xlsx or .csv, a .vmx or an .ovf. ${file && html`<strong>${file.name}</strong> (${fmtNumber(file.size)} bytes)`}</p>
            </div>
            <${SelectField} form=${form} name="format" label="Format" options=${[{ value: '', label: 'From the file name' }, ...FORMATS]} />`}
            ${v.kind === 'drain' && html`<${SelectField} form=${form} name="drain_host" label="Host to drain" required
                options=${[{ value: '', label: hosts ? 'Choose a host…' : 'Loading hosts…' },
                    ...(hosts || []).map((h) => ({ value: String(h.id), label: `${h.name} (${h.state}, ${(h.allocation || {}).vms || 0} VMs)` }))]} />`}
            <${TextField} form=${form} name="name" label="Plan name (optional)" autocomplete="off" />`;
    } else if (step === 1) {
        content = v.kind === 'vmware-import' ? html`
            <${TextField} form=${form} name="targets" label="Target hosts" autocomplete="off" spellcheck=${false}
                hint="“inventory” for the portal's hosts, or a host spec such as 4x32c/512g/10t (count x cores / memory / disk), several separated by commas. Empty: no placement." />
            <${TextField} form=${form} name="sizing" label="Size for host shape (optional)" autocomplete="off" spellcheck=${false}
                hint="e.g. 64c/1t/20t: how many such hosts the VMs need." />`
            : html`<p>${v.kind === 'rebalance' ? 'Rebalancing' : 'Draining'} plans over every connected host in the inventory.</p>`;
    } else if (step === 2) {
        content = html`<div class="form-grid">
            <${TextField} form=${form} name="cpu_overcommit" label="CPU overcommit" inputmode="decimal" hint="vCPUs per core, 0.1–64 (default 1)" />
            <${TextField} form=${form} name="memory_overcommit" label="Memory overcommit" inputmode="decimal" hint="0.1–64 (default 1)" />
            <${TextField} form=${form} name="headroom" label="Headroom (%)" inputmode="decimal" hint="Capacity kept free on each host, 0–90" />
        </div>
        <${TextAreaField} form=${form} name="anti_affinity" label="Anti-affinity groups" rows=${3}
            hint="One group per line, VM names separated by commas: VMs of a group go to different hosts." />`;
    } else {
        content = html`<${DetailList} rows=${[
            ['Kind', KIND_LABEL[v.kind]], ['Name', v.name || '—'],
            ...(v.kind === 'vmware-import' ? [['File', file ? `${file.name} (${v.format || formatOf(file.name)})` : '—'], ['Targets', v.targets || 'none'], ['Sizing', v.sizing || '—']] : []),
            ...(v.kind === 'drain' ? [['Host', ((hosts || []).find((h) => String(h.id) === v.drain_host) || {}).name || v.drain_host]] : []),
            ['Overcommit', `CPU ${v.cpu_overcommit || 1} · memory ${v.memory_overcommit || 1}`], ['Headroom', `${v.headroom || 0} %`],
            ['Anti-affinity', v.anti_affinity.trim() ? `${v.anti_affinity.trim().split('\n').length} group(s)` : 'none'],
        ]} />`;
    }
    return html`
        <p><a href="/plans" onClick=${onLinkClick}><${Icon} name="chevronLeft" size=${14} /> Plans</a></p>
        <${PageHeader} title="New plan" description="Upload a VMware inventory, or plan a rebalance or drain of the live hosts." />
        <section class="panel">
            <${Stepper} step=${step} />
            <form ref=${form.root} noValidate onSubmit=${submit} class="form" data-testid="plan-wizard" aria-label=${`Step ${step + 1}: ${STEPS[step]}`}>
                <h2>${STEPS[step]}</h2>
                <${FormError} form=${form} />
                ${content}
                <div class="page-actions">
                    ${step > 0 && html`<button type="button" class="button" onClick=${() => { form.setFormError(null); setStep(step - 1); }}
                        disabled=${busy}>Back</button>`}
                    <button type="submit" class="button primary" disabled=${busy}>
                        ${step < STEPS.length - 1 ? 'Next' : busy ? 'Planning…' : 'Compute plan'}</button>
                </div>
            </form>
        </section>`;
}

/* ------------------------------------------------------------------ result */

function Readiness({ s }) {
    const r = s.readiness || {};
    return html`<div class="stat-grid" data-testid="plan-readiness">
        ${['ready', 'ready-with-conditions', 'not-ready', 'unknown'].map((k) => html`<div class="stat-card" key=${k} data-testid=${`readiness-${k}`}>
            <div class="stat-head"><${Badge} kind=${READY_KIND[k]}>${READY_LABEL[k]}<//></div>
            <div class="stat-value">${r[k] || 0}</div></div>`)}
    </div>
    <p class="muted">${s.vms} VMs · ${fmtNumber(Math.round(s.data_gib || 0))} GiB of data · about ${(s.transfer_hours || 0).toFixed(1)} h of transfer at ${s.bandwidth_mbps} Mbit/s · ${s.waves} waves</p>`;
}

function VmFindings({ vms }) {
    const [open, setOpen] = useState(null);
    return html`<div class="table-scroll"><table data-testid="plan-vms"><caption class="sr-only">VMs and their findings</caption>
        <thead><tr><th scope="col">VM</th><th scope="col">Readiness</th><th scope="col">Target host</th><th scope="col">Wave</th>
            <th scope="col">Size</th><th scope="col">Findings</th></tr></thead>
        <tbody>${vms.map((vm, i) => {
            const f = vm.findings || [];
            const serious = f.filter((x) => x.severity !== 'info');
            return html`<tr key=${i}><th scope="row">${vm.name}</th>
                <td><${Badge} kind=${READY_KIND[vm.readiness] || 'neutral'}>${READY_LABEL[vm.readiness] || vm.readiness}<//></td>
                <td>${vm.target_host || html`<span class="muted">unplaced</span>`}</td>
                <td>${vm.wave ?? '—'}</td>
                <td class="small">${vm.vcpus} vCPU · ${fmtMiB(vm.memory_mib)}</td>
                <td>${serious.map((x, k) => html`<div key=${k} class=${x.severity === 'blocker' || x.severity === 'error' ? 'text-error small' : 'small'}>
                        <strong>${x.rule}</strong>: ${x.message}</div>`)}
                    ${f.length > serious.length && html`<button type="button" class="link-button small" aria-expanded=${open === i ? 'true' : 'false'}
                        onClick=${() => setOpen(open === i ? null : i)}>${open === i ? 'Hide' : 'Show'} ${f.length - serious.length} notes</button>`}
                    ${open === i && f.filter((x) => x.severity === 'info').map((x, k) => html`<div key=${`i${k}`} class="small muted">${x.rule}: ${x.message}</div>`)}
                </td></tr>`;
        })}</tbody></table></div>`;
}

function ImportHosts({ hosts }) {
    return html`<div class="usage-grid" data-testid="plan-hosts">${hosts.map((h) => html`<div key=${h.name}>
        <h3>${h.name} <span class="muted small">${h.vms} VMs</span></h3>
        <${UsageBar} label="CPU" used=${Math.round(h.used.cpu)} limit=${Math.round(h.capacity.cpu)} />
        <${UsageBar} label="Memory" used=${Math.round(h.used.memory_mib)} limit=${Math.round(h.capacity.memory_mib)} format=${fmtMiB} />
        <${UsageBar} label="Disk (GiB)" used=${Math.round(h.used.disk_gib)} limit=${Math.round(h.capacity.disk_gib)} />
    </div>`)}</div>`;
}

/* KVM plans: each host's normalised load before and after, on a common scale. */
function KvmHosts({ hosts }) {
    const max = Math.max(1, ...hosts.flatMap((h) => [h.load_before.cpu, h.load_after.cpu, h.load_before.memory, h.load_after.memory]));
    const pct = (n) => Math.round(n * 100);
    return html`<div class="usage-grid" data-testid="plan-hosts">${hosts.map((h) => html`<div key=${h.name}>
        <h3>${h.name} <span class="muted small">${h.vms_before} → ${h.vms_after} VMs</span></h3>
        <${UsageBar} label="CPU load before (%)" used=${pct(h.load_before.cpu)} limit=${pct(max)} />
        <${UsageBar} label="CPU load after (%)" used=${pct(h.load_after.cpu)} limit=${pct(max)} />
        <${UsageBar} label="Memory before (%)" used=${pct(h.load_before.memory)} limit=${pct(max)} />
        <${UsageBar} label="Memory after (%)" used=${pct(h.load_after.memory)} limit=${pct(max)} />
    </div>`)}</div>`;
}

/* result.budget: each tenant's remaining quota when the plan was computed, and
 * how many of its VMs the placement kept within it. */
const BUDGET_DIMS = [['vms', 'VMs', fmtNumber], ['vcpus', 'vCPUs', fmtNumber], ['memory_mib', 'Memory', fmtMiB], ['disk_gib', 'Disk (GiB)', fmtNumber]];
function remainingText(rem) {
    if (!rem) return 'unlimited';
    const parts = BUDGET_DIMS.filter(([k]) => rem[k] !== null && rem[k] !== undefined).map(([k, label, fmt]) => `${label} ${fmt(rem[k])}`);
    return parts.length ? parts.join(' · ') : 'unlimited';
}
function TenantBudgets({ budget }) {
    const tenants = budget.tenants || [];
    return html`<section class="panel" data-testid="plan-budget"><h2>Tenant budgets</h2>
        <p class="muted">${budget.enforced ? 'Placement kept each tenant within the quota it had left when the plan was computed.'
            : 'No target hosts: every VM was checked against its tenant\'s quota; nothing was placed.'}
            ${budget.refused ? ` ${budget.refused} VM${budget.refused === 1 ? '' : 's'} did not fit.` : ''}</p>
        ${tenants.length > 0 && html`<table class="table"><thead><tr><th scope="col">Tenant</th><th scope="col">Left before the plan</th>
            <th scope="col">VMs</th><th scope="col">Placed</th><th scope="col">Refused</th></tr></thead>
            <tbody>${tenants.map((t) => html`<tr key=${t.tenant_id}><th scope="row">#${t.tenant_id}</th><td>${remainingText(t.remaining)}</td>
                <td>${t.vms}</td><td>${t.placed}</td><td>${t.refused ? html`<${Badge} kind="warning">${t.refused}<//>` : 0}</td></tr>`)}</tbody></table>`}
    </section>`;
}

function Waves({ waves }) {
    let t = 0;
    const rows = waves.map((w) => {
        const r = { label: `Wave ${w.number}`, start: t, length: w.hours || 0,
            title: `Wave ${w.number} (${w.kind}, risk ${w.risk}): ${w.vms.length} VMs, ${fmtNumber(Math.round(w.data_gib))} GiB, ${(w.hours || 0).toFixed(1)} h`,
            color: w.risk === 'high' ? 'var(--danger)' : w.risk === 'medium' ? 'var(--warning)' : 'var(--primary)' };
        t += w.hours || 0;
        return r;
    });
    return html`<div data-testid="plan-waves">
        <${BarTimeline} rows=${rows} total=${t} label=${`Wave timeline over ${t.toFixed(1)} hours`} />
        <ul>${waves.map((w) => html`<li key=${w.number}><strong>Wave ${w.number}</strong> (${w.kind}, risk ${w.risk}):
            ${(w.hours || 0).toFixed(1)} h, ${fmtNumber(Math.round(w.data_gib))} GiB — ${w.vms.join(', ')}</li>`)}</ul>
    </div>`;
}

function Steps({ steps }) {
    if (!steps.length) return html`<p class="muted" data-testid="plan-waves">No migrations needed.</p>`;
    const rows = steps.map((s) => ({ label: `Step ${s.step + 1}`, start: s.step, length: 1, title: `${s.moves.length} migrations` }));
    return html`<div data-testid="plan-waves">
        <${BarTimeline} rows=${rows} total=${steps.length} label=${`${steps.length} migration steps`} />
        <div class="table-scroll"><table><caption class="sr-only">Migrations</caption>
            <thead><tr><th scope="col">Step</th><th scope="col">VM</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Why</th></tr></thead>
            <tbody>${steps.flatMap((s) => s.moves.map((m, k) => html`<tr key=${`${s.step}-${k}`}><th scope="row">${s.step + 1}</th>
                <td>${m.vm}</td><td>${m.from}</td><td>${m.to}</td><td class="small">${m.why || ''}</td></tr>`))}</tbody>
        </table></div></div>`;
}

function Exports({ id }) {
    const [busy, setBusy] = useState(null);
    const get = async (format) => {
        setBusy(format);
        try {
            const { filename } = await download(`${planPath(id)}/export`, { format }, `plan-${id}.${format}`);
            toastSuccess(`Downloaded ${filename}.`);
        } catch (e) {
            toastError(e, 'Export failed');
        } finally {
            setBusy(null);
        }
    };
    return html`<div class="row-actions" role="group" aria-label="Export">
        ${['json', 'csv', 'xlsx'].map((f) => html`<button type="button" class="button small" key=${f} disabled=${busy !== null}
            onClick=${() => get(f)} data-testid=${`export-${f}`}><${Icon} name="download" size=${16} />
            ${busy === f ? 'Exporting…' : `Export ${f.toUpperCase()}`}</button>`)}
    </div>`;
}

export function PlanDetailPage({ params }) {
    const { can } = useSession();
    const [s, set] = useState({ loading: true });
    const [reload, setReload] = useState(0);
    useEffect(() => {
        let live = true;
        let timer = null;
        const load = () => api.get(planPath(params.id)).then((p) => {
            if (!live) return;
            set({ plan: p });
            if (p.state === 'draft' || p.state === 'executing') timer = setTimeout(load, 2000);
        }, (e) => live && set({ error: e }));
        load();
        return () => { live = false; clearTimeout(timer); };
    }, [params.id, reload]);
    if (s.loading) return html`<${Spinner} label="Loading plan…" />`;
    if (s.error) {
        return html`<${EmptyState} icon="alert" title=${s.error.status === 404 ? 'Plan not found' : 'Could not load the plan'}>
            <p>${s.error.detail} <a href="/plans" onClick=${onLinkClick}>Back to plans</a></p><//>`;
    }
    const p = s.plan;
    const r = p.result || {};
    const execute = async () => {
        if (!(await confirmAction({ title: `Execute plan #${p.id}?`, confirmLabel: 'Execute', danger: true,
            message: `${p.summary ? p.summary.migrations : 'The'} live migrations run step by step; VMs keep running.` }))) return;
        try {
            await runAction(`Execute plan #${p.id}`, 'POST', `${planPath(p.id)}/execute`, {});
        } catch (e) {
            toastError(e, 'Execution refused');
        }
        setReload((n) => n + 1);
    };
    const ex = p.execution;
    return html`
        <p><a href="/plans" onClick=${onLinkClick}><${Icon} name="chevronLeft" size=${14} /> Plans</a></p>
        <${PageHeader} title=${`Plan #${p.id}${p.name ? ` ${p.name}` : ''}`} description=${`${KIND_LABEL[p.kind] || p.kind} · created ${new Date(p.created_at).toLocaleString()}`}
            actions=${html`<span data-testid="plan-state"><${Badge} kind=${PLAN_KIND[p.state] || 'neutral'}>${p.state}<//></span>
                ${p.links && p.links.execute && can('plan.write') && p.state === 'ready' && p.summary && p.summary.migrations > 0 && html`
                    <button type="button" class="button primary" onClick=${execute} data-testid="plan-execute">Execute</button>`}`} />
        ${p.state === 'draft' && html`<${Spinner} label="Computing the plan…" />`}
        ${p.error && html`<div class="alert alert-error" role="alert"><${Icon} name="alert" />
            Planning failed: ${p.error.detail || String(p.error)}${p.error.field ? ` (${p.error.field})` : ''}</div>`}
        ${ex && html`<section class="panel" data-testid="plan-execution"><h2>Execution</h2>
            <p>${ex.state} · step ${ex.step ?? 0} of ${ex.steps ?? '?'}${ex.task_id ? html` · <a href="/tasks" onClick=${onLinkClick}>task #${ex.task_id}</a>` : ''}</p>
            ${(ex.moves || []).length > 0 && html`<ul>${ex.moves.map((m, i) => html`<li key=${i}>${m.vm}: ${m.state}${m.error ? ` — ${m.error}` : ''}</li>`)}</ul>`}
        </section>`}
        ${p.state !== 'draft' && !p.error && html`<section class="panel"><div class="panel-head"><h2>Result</h2><${Exports} id=${p.id} /></div>
            ${p.kind === 'vmware-import' && p.summary && html`<${Readiness} s=${p.summary} />`}
            ${p.kind !== 'vmware-import' && p.summary && html`<${DetailList} rows=${[
                ['Migrations', `${p.summary.migrations} in ${p.summary.steps} steps`],
                ['Imbalance', `${p.summary.imbalance_before} → ${p.summary.imbalance_after}${p.summary.balanced ? ' (balanced)' : ''}`],
                ['Hosts freed', p.summary.hosts_freed], ['Memory moved', fmtMiB(Math.round(p.summary.memory_moved_mib || 0))],
                ['Stuck VMs', p.summary.stuck]]} />`}
            ${(r.warnings || []).length > 0 && html`<div class="alert alert-warning"><${Icon} name="alert" />
                <ul>${r.warnings.map((w, i) => html`<li key=${i}>${w.message || JSON.stringify(w)}</li>`)}</ul></div>`}
        </section>`}
        ${Array.isArray(r.hosts) && r.hosts.length > 0 && html`<section class="panel"><h2>Host utilisation${p.kind === 'vmware-import' ? ' after placement' : ', before and after'}</h2>
            ${p.kind === 'vmware-import' ? html`<${ImportHosts} hosts=${r.hosts} />` : html`<${KvmHosts} hosts=${r.hosts} />`}</section>`}
        ${Array.isArray(r.waves) && r.waves.length > 0 && html`<section class="panel"><h2>Waves</h2><${Waves} waves=${r.waves} /></section>`}
        ${Array.isArray(r.steps) && html`<section class="panel"><h2>Migration steps</h2><${Steps} steps=${r.steps} /></section>`}
        ${Array.isArray(r.vms) && r.vms.length > 0 && html`<section class="panel"><h2>VMs and findings</h2><${VmFindings} vms=${r.vms} /></section>`}
        ${Array.isArray(r.unplaced) && r.unplaced.length > 0 && html`<section class="panel"><h2>Unplaced VMs</h2>
            <ul>${r.unplaced.map((u, i) => html`<li key=${i}><strong>${u.vm}</strong>: ${u.reason}${u.nearest_host && u.constraint !== 'tenant_budget' ? ` (nearest: ${u.nearest_host})` : ''}</li>`)}</ul></section>`}
        ${r.budget && html`<${TenantBudgets} budget=${r.budget} />`}
        ${Array.isArray(r.stuck) && r.stuck.length > 0 && html`<section class="panel"><h2>VMs that cannot move</h2>
            <ul>${r.stuck.map((u, i) => html`<li key=${i}><strong>${u.vm}</strong>: ${u.reason}</li>`)}</ul></section>`}
        ${r.tco && html`<section class="panel"><h2>Cost estimate</h2><${DetailList} rows=${[
            ['Hosts', `${r.tco.source_hosts} → ${r.tco.target_hosts}`], ['Per year', `${fmtNumber(Math.round(r.tco.source_per_year))} → ${fmtNumber(Math.round(r.tco.target_per_year))}`],
            ['Savings over the period', fmtNumber(Math.round(r.tco.savings_total))]]} /></section>`}`;
}
