// Audit log viewer: the tamper-evident trail, newest first with cursor pages, filtered
// on the server (time range, actor, tenant, action prefix, target, outcome, source
// address, request id; the filters live in the URL so a view can be bookmarked), a
// drawer with the whole record and a before/after table of changed fields, exports
// (JSONL with hashes for offline verification, CSV for reading) and chain verification.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, download } from '../lib/api.js';
import { navigate } from '../lib/router.js';
import { fmtBytes, localInputToIso, toDate } from '../lib/format.js';
import { isPlainObject, splitDetails } from '../lib/audit.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { Drawer } from '../components/dialog.js';
import { toast, toastError } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, DetailList, PageHeader, Spinner, Time } from '../components/ui.js';
import { tenantLabel, useTenants } from './users.js';

const FILTERS = ['from', 'to', 'actor', 'tenant_id', 'action', 'target', 'outcome', 'source_ip', 'request_id'];
const OUTCOME_KIND = { ok: 'success', denied: 'warning', failed: 'danger' };

const pad = (n) => String(n).padStart(2, '0');
/* RFC 3339 → the value of a datetime-local input (local time). */
function isoToLocalInput(v) {
    const d = toDate(v);
    if (!d) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function filtersFromUrl() {
    const q = new URLSearchParams(window.location.search);
    const f = {};
    for (const k of FILTERS) f[k] = q.get(k) || '';
    return f;
}

/* The API's query from the applied filters (empty ones left out). */
function apiQuery(f) {
    const q = {};
    for (const k of FILTERS) if (f[k]) q[k] = f[k].trim();
    return q;
}

/* Text fields of a record are strings, null, or {base64} when not UTF-8. */
function Text({ value, code = false }) {
    if (value === null || value === undefined || value === '') return html`<span class="muted">—</span>`;
    if (typeof value === 'object' && typeof value.base64 === 'string')
        return html`<span class="muted" title="The stored bytes are not UTF-8">binary: <code>${value.base64}</code></span>`;
    return code ? html`<code>${String(value)}</code>` : String(value);
}


function show(v) {
    if (v === undefined) return html`<span class="muted">(not set)</span>`;
    if (v === null) return html`<span class="muted">null</span>`;
    if (typeof v === 'string') return v;
    if (typeof v === 'object') return html`<code class="json-inline">${JSON.stringify(v)}</code>`;
    return String(v);
}

/* rows: [{ field, before, after }] (undefined: not set) → one row per field, the
 * changed ones marked in text too, not by colour only. */
function DiffTable({ rows }) {
    return html`<div class="table-scroll"><table class="diff-table" data-testid="audit-diff">
        <caption class="sr-only">Changed fields: value before and after</caption>
        <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
        <tbody>${rows.map(({ field, before, after }) => {
            const changed = JSON.stringify(before) !== JSON.stringify(after);
            return html`<tr key=${field} class=${changed ? 'changed' : 'same'}>
                <th scope="row"><code>${field}</code>${changed ? html`<span class="sr-only"> (changed)</span>`
                    : html`<span class="muted small"> unchanged</span>`}</th>
                <td class="diff-before">${show(before)}</td>
                <td class="diff-after">${show(after)}</td>
            </tr>`;
        })}</tbody>
    </table></div>`;
}

export function AuditDetails({ details }) {
    if (details === null || details === undefined) return html`<p class="muted">No details.</p>`;
    if (typeof details === 'string')
        return html`<p class="muted small">Stored text that is not canonical JSON:</p><pre class="code-block">${details}</pre>`;
    if (isPlainObject(details) && typeof details.base64 === 'string' && Object.keys(details).length === 1)
        return html`<p class="muted small">Stored bytes that are not UTF-8 (base64):</p><pre class="code-block">${details.base64}</pre>`;
    if (!isPlainObject(details)) return html`<pre class="code-block">${JSON.stringify(details, null, 2)}</pre>`;
    const { rows, rest } = splitDetails(details);
    if (!rows.length && !rest.length) return html`<p class="muted">No details.</p>`;
    return html`
        ${rows.length > 0 && html`<h4 class="sub">Changes</h4><${DiffTable} rows=${rows} />`}
        ${rest.length > 0 && html`${rows.length > 0 && html`<h4 class="sub">Other details</h4>`}
            <dl class="details">${rest.map(([k, v]) => html`<div class="detail-row" key=${k}><dt>${k}</dt><dd>
                ${v !== null && typeof v === 'object' ? html`<pre class="code-block">${JSON.stringify(v, null, 2)}</pre>` : show(v)}
            </dd></div>`)}</dl>`}
        <details class="raw-json"><summary>Raw JSON</summary><pre class="code-block">${JSON.stringify(details, null, 2)}</pre></details>`;
}

function RecordDrawer({ rec, tenants, me, onClose }) {
    return html`<${Drawer} title=${`Audit record #${rec.seq}`} onClose=${onClose}>
        <div data-testid="audit-drawer">
            <${DetailList} rows=${[
                ['Sequence', html`<code>${rec.seq}</code>`],
                ['Time', html`<${Time} value=${rec.ts} seconds />`],
                ['Action', html`<${Text} value=${rec.action} code />`],
                ['Outcome', html`<${Badge} kind=${OUTCOME_KIND[rec.outcome] || 'neutral'}>${rec.outcome}<//>`],
                ['Target', html`<${Text} value=${rec.target} code />`],
                ['Actor', html`<${Text} value=${rec.actor} />`],
                ['User ID', rec.user_id ?? null],
                ['API token', html`<${Text} value=${rec.token_id} code />`],
                ['Tenant', rec.tenant_id === null ? 'none (global event)' : tenantLabel(tenants, rec.tenant_id, me)],
                ['Source address', html`<${Text} value=${rec.source_ip} code />`],
                ['User agent', html`<${Text} value=${rec.user_agent} />`],
                ['Request ID', html`<${Text} value=${rec.request_id} code />`],
            ]} />
            <h3>Details</h3>
            <${AuditDetails} details=${rec.details} />
            <h3>Chain</h3>
            <${DetailList} rows=${[
                ['Hash', html`<code class="hash">${rec.hash}</code>`],
                ['Previous hash', html`<code class="hash">${rec.prev_hash}</code>`],
            ]} />
        </div>
    <//>`;
}

const PROBLEM_TEXT = {
    edited: 'the row\u2019s content does not match its HMAC: it was changed after it was written',
    deleted: 'a row is missing before this point: rows were deleted',
    reordered: 'intact rows are in the wrong order',
    truncated: 'rows after a signed checkpoint are missing: the newest part of the log was cut off',
    'bad-checkpoint': 'a signed checkpoint\u2019s signature or hash does not match',
};

function VerifyResult({ result, onOpenSeq, onClose }) {
    const r = result;
    const n = (x) => Number(x).toLocaleString();
    const cp = `${n(r.checkpoints)} signed checkpoint${r.checkpoints === 1 ? '' : 's'} in the database, ` +
        `${n(r.external_checkpoints)} in the external checkpoint file`;
    const close = html`<button type="button" class="icon-button" aria-label="Dismiss the verification result" onClick=${onClose}>
        <${Icon} name="x" size=${16} /></button>`;
    if (r.ok)
        return html`<div class="alert alert-success verify-result" role="status" data-testid="verify-result" data-ok="true">
            <${Icon} name="check" />
            <div class="grow">
                <strong>Chain verified: intact.</strong> ${n(r.rows)} rows checked up to seq ${n(r.last_seq)}; ${cp}.
                ${!r.external_file && html`<p class="small">The external checkpoint file is missing, so cutting off the newest
                    rows could only be checked against the database's own checkpoints.</p>`}
            </div>${close}
        </div>`;
    return html`<div class="alert alert-error verify-result" role="alert" data-testid="verify-result" data-ok="false">
        <${Icon} name="alert" />
        <div class="grow">
            <strong>Chain broken at seq ${n(r.seq)} (${r.problem}).</strong> At that point ${PROBLEM_TEXT[r.problem] || r.problem}.
            ${n(r.rows)} rows checked, last seq ${n(r.last_seq)}; ${cp}.
            <p class="small">What to do: keep a copy of the database and the checkpoint file as evidence, compare with
                an earlier export or backup, and run <code>virtportal audit verify</code> on the server for the same verdict.
                Records from seq ${n(r.seq)} on cannot be trusted.</p>
            ${r.seq > 0 && html`<button type="button" class="button small" onClick=${() => onOpenSeq(r.seq)}>Open record #${r.seq}</button>`}
        </div>${close}
    </div>`;
}

function FilterForm({ applied, tenants, onApply }) {
    const [draft, setDraft] = useState(() => ({ ...applied, from: isoToLocalInput(applied.from), to: isoToLocalInput(applied.to) }));
    const set = (k) => (e) => setDraft({ ...draft, [k]: e.currentTarget.value });
    const submit = (e) => {
        e.preventDefault();
        onApply({ ...draft, from: localInputToIso(draft.from), to: localInputToIso(draft.to) });
    };
    const clear = () => {
        const empty = Object.fromEntries(FILTERS.map((k) => [k, '']));
        setDraft(empty);
        onApply(empty);
    };
    const field = (k, label, extra = {}) => html`<div class="field">
        <label for=${`af-${k}`}>${label}</label>
        <input id=${`af-${k}`} name=${k} value=${draft[k]} onInput=${set(k)} autocomplete="off" spellcheck=${false} ...${extra} />
    </div>`;
    const active = FILTERS.filter((k) => applied[k]).length;
    return html`<form class="panel filter-panel" onSubmit=${submit} aria-label="Audit filters" data-testid="audit-filters">
        <div class="filter-grid">
            ${field('from', 'From', { type: 'datetime-local' })}
            ${field('to', 'To (exclusive)', { type: 'datetime-local' })}
            ${field('actor', 'Actor (login)', { placeholder: 'admin' })}
            ${tenants.length ? html`<div class="field">
                    <label for="af-tenant_id">Tenant</label>
                    <select id="af-tenant_id" value=${draft.tenant_id} onChange=${set('tenant_id')}>
                        <option value="">any</option>
                        ${tenants.map((t) => html`<option value=${String(t.id)} key=${t.id}>${t.slug}</option>`)}
                    </select></div>`
                : field('tenant_id', 'Tenant ID', { inputmode: 'numeric' })}
            ${field('action', 'Action (prefix)', { placeholder: 'tenant.' })}
            ${field('target', 'Target (exact)', { placeholder: 'tenant/42' })}
            <div class="field">
                <label for="af-outcome">Outcome</label>
                <select id="af-outcome" value=${draft.outcome} onChange=${set('outcome')}>
                    <option value="">any</option><option value="ok">ok</option>
                    <option value="denied">denied</option><option value="failed">failed</option>
                </select>
            </div>
            ${field('source_ip', 'Source address', { placeholder: '127.0.0.1' })}
            ${field('request_id', 'Request ID')}
        </div>
        <div class="filter-actions">
            <button type="submit" class="button primary"><${Icon} name="search" size=${16} /> Apply filters</button>
            <button type="button" class="button" onClick=${clear} disabled=${!active && !FILTERS.some((k) => draft[k])}>Clear</button>
            <span class="muted small">${active ? `${active} filter${active === 1 ? '' : 's'} applied` : 'No filter: every event you may see'}</span>
        </div>
    </form>`;
}

export function AuditPage() {
    const { me } = useSession();
    const tenants = useTenants();
    const [filters, setFilters] = useState(filtersFromUrl);
    const [viewing, setViewing] = useState(null);
    const [exporting, setExporting] = useState(null);
    const [verify, setVerify] = useState(null); /* null | 'running' | result */
    const [reload, setReload] = useState(0);
    const global = Array.isArray(me.permissions) && me.permissions.includes('audit.read');
    const query = apiQuery(filters);

    const apply = (f) => {
        setFilters(f);
        const qs = new URLSearchParams(apiQuery(f)).toString();
        navigate(`/audit${qs ? `?${qs}` : ''}`, { replace: true });
    };

    const exportAs = async (format) => {
        setExporting(format);
        try {
            const { filename, blob } = await download('/api/v1/audit/export', { ...query, format }, `audit.${format}`);
            toast({ kind: 'success', title: 'Export ready', message: `${filename} (${fmtBytes(blob.size)})` });
            setReload((n) => n + 1); /* the export is itself audited */
        } catch (e) {
            toastError(e, 'Export failed');
        } finally {
            setExporting(null);
        }
    };

    const runVerify = async () => {
        setVerify('running');
        try {
            setVerify(await api.get('/api/v1/audit/verify'));
        } catch (e) {
            setVerify(null);
            toastError(e, 'Verification could not run');
        }
    };

    /* Our list cursor is "before this seq": one row before seq+1 is record seq. */
    const openSeq = async (seq) => {
        try {
            const page = await api.get('/api/v1/audit', { cursor: seq + 1, limit: 1 });
            const rec = (page.items || [])[0];
            if (rec && rec.seq === seq) setViewing(rec);
            else toast({ kind: 'warning', message: `Record #${seq} is not in the database (or not visible to you).` });
        } catch (e) {
            toastError(e, `Could not load record #${seq}`);
        }
    };

    const columns = [
        { key: 'ts', label: 'Time', render: (r) => html`<${Time} value=${r.ts} seconds />` },
        { key: 'seq', label: 'Seq', class: 'num', render: (r) => r.seq },
        { key: 'actor', label: 'Actor', render: (r) => html`<${Text} value=${r.actor} />` },
        { key: 'action', label: 'Action', render: (r) => html`<${Text} value=${r.action} code />` },
        { key: 'target', label: 'Target', render: (r) => html`<${Text} value=${r.target} code />` },
        { key: 'outcome', label: 'Outcome', render: (r) => html`<${Badge} kind=${OUTCOME_KIND[r.outcome] || 'neutral'}>${r.outcome}<//>` },
        { key: 'tenant_id', label: 'Tenant', render: (r) => r.tenant_id === null ? html`<span class="muted">global</span>` : tenantLabel(tenants, r.tenant_id, me) },
        { key: 'source_ip', label: 'Source', render: (r) => html`<${Text} value=${r.source_ip} />` },
    ];

    const actions = html`
        <button type="button" class="button" onClick=${() => exportAs('jsonl')} disabled=${!!exporting} data-testid="export-jsonl">
            <${Icon} name="download" size=${16} /> ${exporting === 'jsonl' ? 'Exporting…' : 'Export JSONL'}</button>
        <button type="button" class="button" onClick=${() => exportAs('csv')} disabled=${!!exporting} data-testid="export-csv">
            <${Icon} name="download" size=${16} /> ${exporting === 'csv' ? 'Exporting…' : 'Export CSV'}</button>
        ${global && html`<button type="button" class="button primary" onClick=${runVerify} disabled=${verify === 'running'}
            data-testid="verify-chain"><${Icon} name="shield" size=${16} /> ${verify === 'running' ? 'Verifying…' : 'Verify chain'}</button>`}`;

    return html`
        <${PageHeader} title="Audit log" actions=${actions}
            description=${global ? 'Every change and sign-in, chained with HMACs so that edits, deletions and truncation are detected.'
                : 'The events of your tenants. Chain verification needs audit access to all tenants.'} />
        ${verify === 'running' && html`<${Spinner} label="Verifying the chain…" />`}
        ${verify && verify !== 'running' && html`<${VerifyResult} result=${verify} onOpenSeq=${openSeq} onClose=${() => setVerify(null)} />`}
        <${FilterForm} applied=${filters} tenants=${tenants} onApply=${apply} />
        <p class="muted small export-note">Exports use the filters above. JSONL keeps each record's hash for offline
            verification (<code>virtportal audit verify --export FILE</code>); CSV is for reading.</p>
        <${DataTable} endpoint="/api/v1/audit" label="Audit events" columns=${columns} query=${query} filterParam=${null}
            reloadToken=${reload} onOpen=${setViewing} rowKey="seq" testid="audit-table"
            emptyText=${Object.keys(query).length ? 'No event matches these filters.' : 'No events yet.'} />
        ${viewing && html`<${RecordDrawer} rec=${viewing} tenants=${tenants} me=${me} onClose=${() => setViewing(null)} />`}`;
}
