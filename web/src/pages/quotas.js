// Tenant quotas: allocation usage against the limits (defined VMs count, pending
// admissions shown as reserved), runtime limits beside the measured usage (bars of the
// newest rates, the enforcement mode and budget of each host, 24 h charts), the
// administrator's editor (lowering below usage is allowed and reported),
// and the admission dry run, whose refusal says what to do next and prefills a quota
// request. A tenant user sees their own tenant; others pick one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, listAll } from '../lib/api.js';
import { navigate, onLinkClick } from '../lib/router.js';
import { can, canIn, tenantsWith } from '../lib/perms.js';
import { fmtBytes, fmtNumber, fmtTime, toDate } from '../lib/format.js';
import { budgetText, enforcementInfo, latestWith, seriesOf } from '../lib/series.js';
import { ALLOCATION, RUNTIME, amountsText, jsonValue, resFmt, resLabel } from '../lib/quota_res.js';
import { onNewNotifications } from '../lib/notify.js';
import { useSession } from '../session.js';
import { FormDialog, TextField, useForm } from '../components/form.js';
import { toast } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { UsageBar } from '../components/meter.js';
import { LineChart } from '../components/chart.js';
import { QuotaRefusal, RequestQuotaDialog } from '../components/quota_request.js';
import { Badge, EmptyState, PageHeader, Spinner, Time } from '../components/ui.js';

export { ALLOCATION, QuotaRefusal };


const qpath = (tid, rest = '') => `/api/v1/tenants/${encodeURIComponent(tid)}/${rest}`;

/* ---- refusal (dry run, or a 403 quota-exceeded from an admission) ---- */

function CheckForm({ tenantId, canRequest, onRequest }) {
    const form = useForm({ vms: '', vcpus: '', memory_mib: '', disk_gib: '' });
    const [result, setResult] = useState(null);
    const submit = async (e) => {
        e.preventDefault();
        setResult(null);
        const body = {};
        for (const r of ALLOCATION) {
            const v = jsonValue(form.values[r.key]);
            if (v !== null) body[r.key] = v;
        }
        if (!Object.keys(body).length) {
            form.setFormError('Enter at least one amount to check.');
            return;
        }
        const res = await form.submit(() => api.post(qpath(tenantId, 'quota/check'), body));
        if (res) setResult(res);
    };
    let outcome = null;
    if (result && result.admitted) {
        outcome = html`<div class="alert alert-success" role="status" data-testid="check-admitted"><${Icon} name="check" />
            <div class="grow"><strong>This would be admitted.</strong>
                <ul class="refusal-list">${Object.entries(result.deltas || {}).map(([k, d]) => {
                    const a = (result.allocation || {})[k] || {};
                    const f = resFmt(k);
                    const after = (a.used || 0) + (a.reserved || 0) + d;
                    return html`<li key=${k}>${resLabel(k)}: ${f(after)} after it${a.limit === null || a.limit === undefined ? ' (no limit)' : ` of ${f(a.limit)}`}</li>`;
                })}</ul>
                <p class="small muted">Nothing was reserved: a real request is checked again when it is made.</p></div>
        </div>`;
    } else if (result) {
        outcome = html`<${QuotaRefusal} violations=${result.violations || []} quotaRequest=${result.quota_request}
            canRequest=${canRequest} onRequest=${onRequest} />`;
    }
    return html`<section class="panel" aria-labelledby="check-title">
        <h2 id="check-title">Check a request</h2>
        <p class="muted small">Would these additional resources be admitted now? A new VM adds 1 VM and its size; a resize adds
            the difference (negative numbers give back).</p>
        <form ref=${form.root} class="form" noValidate onSubmit=${submit} data-testid="quota-check-form">
            ${form.formError && html`<div class="alert alert-error" role="alert" data-testid="form-error">
                <${Icon} name="alert" /> <span>${form.formError}</span></div>`}
            <div class="form-grid">
                ${ALLOCATION.map((r) => html`<${TextField} key=${r.key} form=${form} name=${r.key}
                    label=${r.editLabel} inputmode="numeric" autocomplete="off" />`)}
            </div>
            <div><button type="submit" class="button primary" disabled=${form.busy}>
                ${form.busy ? 'Checking…' : 'Check'}</button></div>
        </form>
        <div aria-live="polite">${outcome}</div>
    </section>`;
}

/* ---- editor ---- */

function QuotaEditor({ tenantId, tenantLabel, limits, onClose, onSaved }) {
    const all = [...ALLOCATION, ...RUNTIME];
    const initial = {};
    for (const r of all) initial[r.key] = limits[r.key] === null || limits[r.key] === undefined ? '' : String(limits[r.key]);
    const form = useForm(initial);
    const save = (v) => {
        const body = {};
        for (const r of all) body[r.key] = jsonValue(v[r.key]);
        return api.put(qpath(tenantId, 'quota'), body);
    };
    const field = (r) => html`<${TextField} key=${r.key} form=${form} name=${r.key} label=${r.editLabel}
        inputmode=${r.decimal ? 'decimal' : 'numeric'} autocomplete="off" placeholder="no limit" hint=${r.hint} />`;
    return html`<${FormDialog} title=${`Quota of ${tenantLabel}`} form=${form} onSubmit=${save} onClose=${onClose}
        onDone=${onSaved} submitLabel="Save quota">
        <p class="muted small">Leave a field empty for no limit. Lowering a limit below current usage is allowed:
            nothing is stopped, but new admissions are refused until usage fits.</p>
        <fieldset class="field-group"><legend>Allocation (checked when VMs are created or resized)</legend>
            <div class="form-grid">${ALLOCATION.map(field)}</div></fieldset>
        <fieldset class="field-group"><legend>Runtime (enforced on each host while VMs run)</legend>
            <div class="form-grid">${RUNTIME.map(field)}</div></fieldset>
    <//>`;
}

function OverQuotaReport({ over, saved, canRequest, onRequest, onDismiss, tenantId }) {
    if (!over || !over.length) return null;
    const draft = {
        tenant_id: Number(tenantId),
        deltas: Object.fromEntries(over.map((v) => [v.resource, v.shortfall])),
        justification: `Usage is above the quota: ${over.map((v) => `${v.resource} +${v.shortfall}`).join(', ')}`,
    };
    return html`<div class="alert alert-warning over-report" role="alert" data-testid=${saved ? 'over-quota-report' : 'over-quota'}>
        <${Icon} name="alert" />
        <div class="grow">
            <strong>${saved ? 'Quota saved, but usage is already above the new limits.' : 'This tenant is over its quota.'}</strong>
            <ul class="refusal-list">${over.map((v) => {
                const f = resFmt(v.resource);
                return html`<li key=${v.resource} data-testid=${`over-${v.resource}`}><strong>${resLabel(v.resource)}</strong>: ${f(v.used)} used,
                    limit ${f(v.limit)} — ${f(v.shortfall)} over.</li>`;
            })}</ul>
            <p class="small">Nothing was stopped. New VMs and resizes that need more of these are refused until usage fits:
                delete or shrink VMs${saved ? ', or raise the limits again' : ', or request more quota'}.</p>
            ${!saved && canRequest && html`<button type="button" class="button small" onClick=${() => onRequest(draft)}>
                <${Icon} name="send" size=${14} /> Request more quota</button>`}
        </div>
        ${onDismiss && html`<button type="button" class="icon-button" aria-label="Dismiss" onClick=${onDismiss}><${Icon} name="x" size=${16} /></button>`}
    </div>`;
}

/* ---- runtime usage ---- */

const MiB = 1024 * 1024;
const sum = (hosts, k) => hosts.reduce((n, h) => n + (Number(h[k]) || 0), 0);
const perSecond = (f) => (v) => `${f(v)}/s`;
const fmtCores = (v) => `${fmtNumber(Math.round(v * 100) / 100)} cores`;
const fmtIops = (v) => `${fmtNumber(Math.round(v * 10) / 10)} IOPS`;
const fmtPct = (v) => `${fmtNumber(Math.round(v * 10) / 10)} %`;
const hostLabel = (id, name) => name || (id === null || id === undefined ? 'this host' : `host #${id}`);

/* Rates from two samples of the same host (the counters are cumulative). */
function rates(prev, cur) {
    const t0 = toDate(prev.sampled_at);
    const t1 = toDate(cur.sampled_at);
    if (!t0 || !t1 || t1 <= t0) return null;
    const dt = (t1 - t0) / 1000;
    const d = (k) => Math.max(0, (Number(cur[k]) || 0) - (Number(prev[k]) || 0)) / dt;
    return {
        cpu_cores: d('cpu_usage_usec') / 1e6, io_read_bps: d('io_read_bytes'), io_write_bps: d('io_write_bytes'),
        io_read_iops: d('io_read_ios'), io_write_iops: d('io_write_ios'),
    };
}

/* The recent rates of the whole tenant: the newest bucket of the history, else the
 * last two samples this page saw of every host; null when neither is known. */
function recentRates(history, hosts, rateOf) {
    const p = history && latestWith(history.total, 'cpu_cores');
    if (p) return { ...p, source: `${Math.round((history.step_s || 300) / 60)} min to ${fmtTime(p.t)}` };
    const rs = hosts.map(rateOf).filter(Boolean);
    if (!rs.length || rs.length !== hosts.length) return null;
    const total = {};
    for (const k of ['cpu_cores', 'io_read_bps', 'io_write_bps', 'io_read_iops', 'io_write_iops'])
        total[k] = rs.reduce((n, r) => n + r[k], 0);
    return { ...total, source: 'last two samples' };
}

function RuntimeBars({ limits, hosts, recent }) {
    const lim = (k) => limits[k] ?? null;
    const bps = perSecond(fmtBytes);
    return html`<div class="usage-grid" data-testid="runtime-bars">
        ${recent ? html`
            <${UsageBar} label="CPU (cores)" used=${Math.round(recent.cpu_cores * 100) / 100} limit=${lim('cpu_cores')} testid="runtime-cpu" />
            <${UsageBar} label="Read bandwidth" used=${Math.round(recent.io_read_bps ?? 0)} format=${bps} limit=${lim('io_read_bps')} testid="runtime-read-bps" />
            <${UsageBar} label="Write bandwidth" used=${Math.round(recent.io_write_bps ?? 0)} format=${bps} limit=${lim('io_write_bps')} testid="runtime-write-bps" />
            <${UsageBar} label="Read IOPS" used=${Math.round(recent.io_read_iops ?? 0)} limit=${lim('io_read_iops')} testid="runtime-read-iops" />
            <${UsageBar} label="Write IOPS" used=${Math.round(recent.io_write_iops ?? 0)} limit=${lim('io_write_iops')} testid="runtime-write-iops" />`
            : html`<p class="muted small" data-testid="no-rates">CPU and I/O rates appear once two samples of a host are known
                (the counters are cumulative).</p>`}
        <${UsageBar} label="Memory in use" used=${sum(hosts, 'memory_bytes')} format=${fmtBytes}
            limit=${limits.memory_max_mib ? limits.memory_max_mib * MiB : null} testid="runtime-memory" />
        <${UsageBar} label="Tasks (processes and threads)" used=${sum(hosts, 'pids')} limit=${lim('pids_max')} testid="runtime-pids" />
    </div>
    ${recent && html`<p class="muted small" data-testid="rates-source">CPU and I/O: mean over the ${recent.source}.</p>`}`;
}

function SamplesTable({ hosts, names }) {
    return html`<div class="table-scroll"><table class="samples-table" data-testid="samples-table">
        <caption class="sr-only">Newest measurement per host</caption>
        <thead><tr><th scope="col">Host</th><th scope="col">Measured by</th><th scope="col">Sampled</th>
            <th scope="col">Memory</th><th scope="col">CPU time</th><th scope="col">Throttled</th>
            <th scope="col">OOM kills</th><th scope="col">Read</th><th scope="col">Written</th><th scope="col">Tasks</th></tr></thead>
        <tbody>${hosts.map((h, i) => {
            const m = enforcementInfo(h.mode);
            return html`<tr key=${h.host_id ?? `local-${i}`}>
                <th scope="row">${hostLabel(h.host_id, names.get(String(h.host_id)))}</th>
                <td><span title=${m.title}><${Badge} kind=${m.kind}>${m.text}<//></span></td>
                <td><${Time} value=${h.sampled_at} seconds /></td>
                <td>${fmtBytes(h.memory_bytes)}</td>
                <td>${fmtNumber(h.cpu_usage_usec / 1e6)} s</td>
                <td>${fmtNumber(h.cpu_throttled_usec / 1e6)} s</td>
                <td>${h.oom_kills ? html`<${Badge} kind="danger">${h.oom_kills}<//>` : 0}</td>
                <td>${fmtBytes(h.io_read_bytes)}</td>
                <td>${fmtBytes(h.io_write_bytes)}</td>
                <td>${fmtNumber(h.pids)}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/* How the runtime limits are enforced on each host (usage.runtime.enforcement). Older
 * servers do not report it: then the mode of each host's newest sample is shown. */
function EnforcementTable({ enforcement, hosts, names }) {
    const rows = Array.isArray(enforcement) ? enforcement
        : hosts.map((h) => ({ host_id: h.host_id, mode: h.mode, detail: 'from the newest sample', budget: null }));
    if (!rows.length) {
        return html`<p class="muted" data-testid="enforcement-empty">No host enforces this tenant's runtime limits yet:
            limits are applied on the hosts where the tenant has VMs.</p>`;
    }
    return html`<div class="table-scroll"><table data-testid="enforcement-table">
        <caption class="sr-only">Runtime enforcement per host</caption>
        <thead><tr><th scope="col">Host</th><th scope="col">Mode</th><th scope="col">Detail</th><th scope="col">Budget on this host</th>
            <th scope="col">Applied</th><th scope="col">Error</th></tr></thead>
        <tbody>${rows.map((r, i) => {
            const m = enforcementInfo(r.mode);
            return html`<tr key=${r.host_id ?? `local-${i}`} data-testid="enforcement-row" data-mode=${r.mode || 'none'}>
                <th scope="row">${hostLabel(r.host_id, r.host_name || names.get(String(r.host_id)))}</th>
                <td><span title=${m.title}><${Badge} kind=${m.kind}>${m.text}<//></span></td>
                <td class="small">${r.detail || '—'}</td>
                <td class="small">${budgetText(r.budget) || html`<span class="muted">${r.budget ? 'no runtime limit' : '—'}</span>`}</td>
                <td>${r.applied_at ? html`<${Time} value=${r.applied_at} />` : html`<span class="muted">—</span>`}</td>
                <td>${r.error ? html`<span class="text-error small" data-testid="enforcement-error">${r.error}</span>` : html`<span class="muted">none</span>`}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}

/* 24 h charts of the tenant's usage summed over its hosts (history.total). */
function HistoryCharts({ history, limits, error }) {
    if (error) {
        return html`<p class="text-error small" role="alert" data-testid="history-error">The usage history could not be loaded:
            ${error.detail || error.message || 'error'}</p>`;
    }
    if (!history) return html`<${Spinner} label="Loading the usage history…" />`;
    const hosts = history.hosts || [];
    if (!hosts.length || !(history.total || []).length) {
        return html`<p class="muted" data-testid="history-empty">No samples in the last 24 hours yet. Usage is measured on the
            hosts where this tenant has running VMs; the charts fill as samples arrive.</p>`;
    }
    const step = (history.step_s || 300) * 1000;
    const axis = { x0: Date.parse(history.since), x1: Date.now(), gap: 2.5 * step };
    const tot = history.total;
    const s = (name, key, scale) => ({ name, points: seriesOf(tot, key, scale) });
    const bps = perSecond(fmtBytes);
    return html`<div class="chart-grid" data-testid="history-charts">
        <${LineChart} label="CPU (cores)" series=${[s('used', 'cpu_cores')]} ...${axis} limit=${limits.cpu_cores ?? null}
            limitLabel="cap" format=${fmtCores} testid="chart-cpu" />
        <${LineChart} label="Memory" series=${[s('in use', 'memory_bytes')]} ...${axis}
            limit=${limits.memory_max_mib ? limits.memory_max_mib * MiB : null} limitLabel="cap" format=${fmtBytes} base=${1024} testid="chart-memory" />
        <${LineChart} label="I/O bandwidth" series=${[s('read', 'io_read_bps'), s('write', 'io_write_bps')]} ...${axis}
            limit=${limits.io_read_bps ?? null} limitLabel="read cap" format=${bps} base=${1024} testid="chart-io" />
        <${LineChart} label="I/O operations" series=${[s('read', 'io_read_iops'), s('write', 'io_write_iops')]} ...${axis}
            limit=${limits.io_read_iops ?? null} limitLabel="read cap" format=${fmtIops} testid="chart-iops" />
        <${LineChart} label="CPU throttled" series=${[s('throttled', 'cpu_throttled_pct')]} ...${axis} max=${100}
            format=${fmtPct} testid="chart-throttled" />
    </div>
    <p class="muted small" data-testid="history-hosts">${`${(history.step_s || 300) / 60}-minute means, summed over
        ${hosts.length === 1 ? 'one host' : `${hosts.length} hosts`}: `}${hosts.map((h) => hostLabel(h.host_id, h.host_name)).join(', ')}.</p>`;
}

function RuntimePanel({ limits, hosts, rateOf, history, historyError, enforcement }) {
    const set = RUNTIME.filter((r) => limits[r.key] !== null && limits[r.key] !== undefined);
    const names = new Map();
    for (const h of (history && history.hosts) || []) if (h.host_name) names.set(String(h.host_id), h.host_name);
    for (const r of Array.isArray(enforcement) ? enforcement : []) if (r.host_name) names.set(String(r.host_id), r.host_name);
    return html`<section class="panel" aria-labelledby="runtime-title" data-testid="runtime-panel">
        <h2 id="runtime-title">Runtime limits and measured usage</h2>
        ${set.length > 0 && html`<dl class="limit-list">${set.map((r) => html`<div key=${r.key}>
            <dt>${r.label}</dt><dd data-testid=${`runtime-${r.key}`}>${r.fmt(limits[r.key])}</dd></div>`)}
        </dl>`}
        <p class="muted small" data-testid="runtime-unlimited">${!set.length ? 'No runtime limit is set: the tenant\u2019s VMs share each host freely.'
            : set.length < RUNTIME.length ? `No limit on: ${RUNTIME.filter((r) => !set.includes(r)).map((r) => r.label.toLowerCase()).join(', ')}.` : ''}</p>
        ${hosts.length === 0 ? html`<p class="muted" data-testid="no-samples">No measurements yet. Usage is sampled on the hosts
                where this tenant has running VMs (every 10 s by default).</p>`
            : html`<${RuntimeBars} limits=${limits} hosts=${hosts} recent=${recentRates(history, hosts, rateOf)} />
                <${SamplesTable} hosts=${hosts} names=${names} />`}
        <h3 id="enforcement-title">Enforcement per host</h3>
        <${EnforcementTable} enforcement=${enforcement} hosts=${hosts} names=${names} />
        <h3 id="history-title">Last 24 hours</h3>
        <${HistoryCharts} history=${history} limits=${limits} error=${historyError} />
    </section>`;
}

/* ---- quota requests of the tenant ---- */

/* Its active grants and pending requests ({approved, pending}); null when the list
 * cannot be read (the page works without it). */
async function tenantRequests(tenantId) {
    const q = (state) => api.get('/api/v1/quota-requests', { tenant_id: tenantId, state, limit: 50 });
    try {
        const [approved, pending] = await Promise.all([q('approved'), q('pending')]);
        return { approved: approved.items || [], pending: pending.items || [] };
    } catch {
        return null;
    }
}

function GrantsPanel({ requests, tenantId }) {
    if (!requests) return null;
    const temporary = requests.approved.filter((r) => r.grant && r.grant.state === 'active');
    const permanent = requests.approved.filter((r) => r.grant && r.grant.state === 'permanent');
    const link = `/quota-requests?tenant_id=${encodeURIComponent(tenantId)}`;
    return html`<section class="panel" aria-labelledby="grants-title" data-testid="grants-panel">
        <div class="panel-head">
            <div class="grow">
                <h2 id="grants-title">Quota requests</h2>
                <p class="muted small">Extra quota granted on request, and requests waiting for a decision.${' '}
                    <a href=${link} onClick=${onLinkClick}>All requests of this tenant</a></p>
            </div>
        </div>
        ${requests.pending.length > 0 && html`<p data-testid="pending-requests"><${Badge} kind="info">${requests.pending.length} pending<//>
            ${requests.pending.map((r, i) => html`${i ? ', ' : ' '}<a href=${`/quota-requests/${r.id}`} onClick=${onLinkClick}>#${r.id}</a>${' '}
                (${amountsText(r.deltas)})`)}</p>`}
        ${temporary.length > 0 ? html`<ul class="grant-list" data-testid="active-grants">${temporary.map((r) => html`<li key=${r.id}>
                <${Icon} name="clock" size=${16} /> <span><a href=${`/quota-requests/${r.id}`} onClick=${onLinkClick}>#${r.id}</a>: ${amountsText(r.grant.applied)} until${' '}
                <strong><${Time} value=${r.grant.expires_at} /></strong>; the limits go back down then.</span></li>`)}</ul>`
            : html`<p class="muted small" data-testid="no-active-grants">No temporary grant is active.</p>`}
        ${permanent.length > 0 && html`<p class="muted small">${permanent.length} approved request${permanent.length === 1 ? '' : 's'} raised
            the limits for good.</p>`}
    </section>`;
}

/* ---- one tenant ---- */

/* The last 24 h in 5-minute buckets: { history } or { historyError } (the page works
 * without it). */
async function usageHistory(tenantId) {
    try {
        return { history: await api.get(qpath(tenantId, 'usage/history'), { step: 300 }), historyError: null };
    } catch (e) {
        return { history: null, historyError: e };
    }
}

function TenantQuota({ tenantId, tenantLabel }) {
    const { me } = useSession();
    const [data, setData] = useState({ loading: true, error: null, quota: null, usage: null, requests: null });
    const [reload, setReload] = useState(0);
    const [editing, setEditing] = useState(false);
    const [report, setReport] = useState(null);
    const [requesting, setRequesting] = useState(null);
    const prevSamples = useRef(new Map()); /* host → an older sample, for rates */
    const lastSamples = useRef(new Map());
    const canWrite = canIn(me, 'quota.write', tenantId);
    const canRequest = canIn(me, 'quota.request', tenantId);

    useEffect(() => {
        let live = true;
        const load = async (quiet) => {
            if (!quiet) setData((d) => ({ ...d, loading: true, error: null }));
            try {
                const [quota, usage, requests, hist] = await Promise.all([api.get(qpath(tenantId, 'quota')),
                    api.get(qpath(tenantId, 'usage')), tenantRequests(tenantId), usageHistory(tenantId)]);
                if (!live) return;
                for (const h of (usage.runtime && usage.runtime.hosts) || []) {
                    const k = String(h.host_id);
                    const last = lastSamples.current.get(k);
                    if (last && last.sampled_at !== h.sampled_at) prevSamples.current.set(k, last);
                    lastSamples.current.set(k, h);
                }
                setData({ loading: false, error: null, quota, usage, requests, ...hist });
            } catch (e) {
                if (live && !quiet) setData({ loading: false, error: e, quota: null, usage: null, requests: null });
            }
        };
        load(false);
        const t = setInterval(() => document.visibilityState === 'visible' && load(true), 15000);
        /* a decision or an expiry in this tenant changed the limits: show them now */
        const off = onNewNotifications((items) => items.some((n) => String(n.tenant_id) === String(tenantId)) && load(true));
        return () => {
            live = false;
            clearInterval(t);
            off();
        };
    }, [tenantId, reload]);

    const { loading, error, quota, usage, requests, history, historyError } = data;
    if (error)
        return html`<${EmptyState} icon="alert" title="Could not load the quota">
            <p>${error.detail}</p>
            <button type="button" class="button" onClick=${() => setReload((n) => n + 1)}>Retry</button><//>`;
    if (loading && !usage) return html`<${Spinner} label="Loading the quota…" />`;

    const alloc = usage.allocation || {};
    const limits = { ...((usage.runtime && usage.runtime.limits) || {}), ...(quota.limits || {}) };
    const hosts = (usage.runtime && usage.runtime.hosts) || [];
    const rateOf = (h) => {
        const prev = prevSamples.current.get(String(h.host_id));
        return prev ? rates(prev, h) : null;
    };
    const anyLimit = ALLOCATION.some((r) => alloc[r.key] && alloc[r.key].limit !== null);

    return html`<div data-testid="tenant-quota" data-tenant=${tenantId}>
        ${report && html`<${OverQuotaReport} over=${report} saved tenantId=${tenantId} onDismiss=${() => setReport(null)} />`}
        ${!report && html`<${OverQuotaReport} over=${usage.over_quota} tenantId=${tenantId} canRequest=${canRequest}
            onRequest=${setRequesting} />`}
        <section class="panel first" aria-labelledby="alloc-title">
            <div class="panel-head">
                <div class="grow">
                    <h2 id="alloc-title">Allocation</h2>
                    <p class="muted small">What the tenant's defined VMs hold (running or not), against the limits checked when
                        VMs are created or resized.${quota.updated_at ? html` Quota last changed <${Time} value=${quota.updated_at} />.` : ' No quota has been set: everything is unlimited.'}</p>
                </div>
                ${canRequest && html`<button type="button" class="button" onClick=${() => setRequesting({})} data-testid="request-more">
                    <${Icon} name="send" size=${16} /> Request more</button>`}
                ${canWrite && html`<button type="button" class="button primary" onClick=${() => setEditing(true)} data-testid="edit-quota">
                    <${Icon} name="edit" size=${16} /> Edit quota</button>`}
            </div>
            <div class="usage-grid" data-testid="allocation">
                ${ALLOCATION.map((r) => {
                    const a = alloc[r.key] || { used: 0, reserved: 0, limit: null };
                    return html`<${UsageBar} key=${r.key} label=${r.label} used=${a.used} reserved=${a.reserved} limit=${a.limit}
                        format=${r.fmt} testid=${`usage-${r.key}`} />`;
                })}
            </div>
            ${usage.reservations > 0 && html`<p class="muted small">${usage.reservations} admission${usage.reservations === 1 ? ' is' : 's are'} pending
                (reserved, not yet committed).</p>`}
            ${!anyLimit && html`<p class="muted small">No allocation limit is set for this tenant.</p>`}
        </section>
        <${GrantsPanel} requests=${requests} tenantId=${tenantId} />
        <${RuntimePanel} limits=${limits} hosts=${hosts} rateOf=${rateOf} history=${history} historyError=${historyError}
            enforcement=${usage.runtime ? usage.runtime.enforcement : undefined} />
        <${CheckForm} tenantId=${tenantId} canRequest=${canRequest} onRequest=${setRequesting} />
        ${editing && html`<${QuotaEditor} tenantId=${tenantId} tenantLabel=${tenantLabel} limits=${quota.limits || {}}
            onClose=${() => setEditing(false)}
            onSaved=${(res) => {
                setEditing(false);
                setReport(res && res.over_quota && res.over_quota.length ? res.over_quota : null);
                toast({ kind: res && res.over_quota && res.over_quota.length ? 'warning' : 'success',
                    message: `Quota of ${tenantLabel} saved${res && res.over_quota && res.over_quota.length ? ': usage is above some limits' : ''}.` });
                setReload((n) => n + 1);
            }} />`}
        ${requesting && html`<${RequestQuotaDialog} draft=${{ tenant_id: Number(tenantId), ...requesting }} tenantLabel=${tenantLabel}
            onClose=${() => setRequesting(null)} onSent=${() => setReload((n) => n + 1)} />`}
    </div>`;
}

/* ---- the page: which tenant ---- */

/* The tenants the user may read: { loading, items }. */
function useTenantList(me) {
    const [state, setState] = useState({ loading: true, items: [] });
    useEffect(() => {
        if (!can(me, 'tenant.read')) {
            setState({ loading: false, items: [] });
            return;
        }
        listAll('/api/v1/tenants', { sort: 'slug' }).then(
            (r) => setState({ loading: false, items: r.items }),
            () => setState({ loading: false, items: [] }),
        );
    }, []);
    return state;
}

export function QuotasPage() {
    const { me } = useSession();
    const list = useTenantList(me);
    const tenants = list.items;
    const scope = tenantsWith(me, 'quota.read'); /* null: every tenant */
    const own = me.tenant_id !== null && me.tenant_id !== undefined;
    const label = (id) => {
        const t = tenants.find((x) => String(x.id) === String(id)) || (me.tenant && String(me.tenant.id) === String(id) ? me.tenant : null);
        return t ? `${t.name} (${t.slug})` : `tenant #${id}`;
    };
    let choices;
    if (own) choices = [String(me.tenant_id)];
    else if (scope === null) choices = tenants.map((t) => String(t.id));
    else choices = scope.map(String);

    const wanted = new URLSearchParams(window.location.search).get('tenant');
    const [picked, setPicked] = useState(wanted || '');
    const current = choices.includes(picked) ? picked : choices[0] || '';
    const pick = (id) => {
        setPicked(id);
        navigate(`/quotas?tenant=${encodeURIComponent(id)}`, { replace: true });
    };

    let content;
    if (list.loading && !own) {
        content = html`<${Spinner} label="Loading tenants…" />`;
    } else if (!choices.length) {
        content = scope === null && tenants.length === 0
            ? html`<${EmptyState} icon="tenant" title="No tenants yet"><p>Quotas belong to tenants. Create a tenant first.</p><//>`
            : html`<${EmptyState} icon="lock" title="No tenant to show"><p>You may read quotas, but in no tenant that exists.</p><//>`;
    } else {
        content = html`<${TenantQuota} key=${current} tenantId=${current} tenantLabel=${label(current)} />`;
    }
    const picker = !own && choices.length > 0 && html`<label class="inline-label tenant-picker">Tenant
        <select value=${current} onChange=${(e) => pick(e.currentTarget.value)} data-testid="tenant-picker">
            ${choices.map((id) => html`<option value=${id} key=${id}>${label(id)}</option>`)}
        </select></label>`;
    return html`
        <${PageHeader} title=${own ? `Quota of ${label(current)}` : 'Quotas'} actions=${picker}
            description="Allocation limits are checked when VMs are created or resized; runtime limits cap the tenant's running VMs together on each host." />
        ${content}`;
}
