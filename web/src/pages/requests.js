// Quota requests: the list of a tenant's requests (state, grant, expiry, who decided
// and why; Withdraw while pending for the requester), the approvers' queue of pending
// requests with the usage and capacity context next to each, one request's page (where
// notifications lead), and the Approve (full or partial, with an end) and Deny dialogs.
// The server decides who may do what; the UI only avoids offering what it would refuse
// and says why (nobody decides their own request).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, ApiError, listAll } from '../lib/api.js';
import { navigate, onLinkClick } from '../lib/router.js';
import { can, canIn, tenantsWith } from '../lib/perms.js';
import { fmtMiB, fmtNumber, fmtTime, toDate } from '../lib/format.js';
import { ALLOCATION, amountKeys, amountsText, resFmt, resLabel, resUnit } from '../lib/quota_res.js';
import { approvalBody } from '../lib/quota_request_body.js';
import { onNewNotifications, refreshNotifications } from '../lib/notify.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { FormDialog, RadioGroup, TextAreaField, TextField, useForm } from '../components/form.js';
import { confirmAction } from '../components/dialog.js';
import { toast, toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { RequestQuotaDialog } from '../components/quota_request.js';
import { Badge, DetailList, EmptyState, PageHeader, Spinner, Time } from '../components/ui.js';

export const REQUEST_STATES = ['pending', 'approved', 'denied', 'withdrawn', 'expired'];
const STATE_KIND = { pending: 'info', approved: 'success', denied: 'danger', withdrawn: 'neutral', expired: 'warning' };
const reqPath = (id, rest = '') => `/api/v1/quota-requests/${encodeURIComponent(id)}${rest}`;

export function RequestState({ req }) {
    return html`<${Badge} kind=${STATE_KIND[req.state] || 'neutral'}>${req.state}<//>`;
}

const isMine = (req, me) => !!(me && req.requested_by && req.requested_by.id !== null && req.requested_by.id === me.id);

function Who({ who, me }) {
    if (!who) return html`<span class="muted">—</span>`;
    if (who.id === null && who.login === 'policy') return html`<${Badge} kind="info">policy<//>`;
    return html`<span>${who.login}${me && who.id === me.id ? html` <span class="muted small">(you)</span>` : ''}</span>`;
}

/* What was asked: deltas, and the targets they came from. */
function Asked({ req }) {
    return html`<span>${amountsText(req.deltas)}${req.targets && html`<span class="muted small"> (to ${amountsText(req.targets, '')})</span>`}</span>`;
}

/* The grant: what was added, until when, and whether it was taken back. */
export function GrantSummary({ req }) {
    const g = req.grant;
    if (!g) return html`<span class="muted">—</span>`;
    const partial = amountKeys(req.deltas).some((k) => (g.granted || {})[k] !== req.deltas[k]);
    let when;
    if (g.state === 'reverted') when = html`<span class="small"> · taken back <${Time} value=${g.reverted_at} /></span>`;
    else if (g.state === 'active') when = html`<span class="small"> · until <${Time} value=${g.expires_at} /></span>`;
    else when = html`<span class="small muted"> · for good</span>`;
    return html`<span data-testid="grant">${amountsText(g.granted)}${partial && html` <${Badge} kind="warning">partial<//>`}${when}</span>`;
}

/* ---- context: the tenant's usage and the cluster's capacity ---- */

function ratio(a, b) {
    return b > 0 ? ` (${Math.round((a / b) * 100)}%)` : '';
}

export function ContextPanel({ ctx, req, title = 'Usage and capacity now' }) {
    if (!ctx) return html`<p class="muted small">No context recorded.</p>`;
    const usage = ctx.usage || {};
    const cluster = ctx.cluster || {};
    const alloc = cluster.allocated || {};
    const deltas = (req && req.deltas) || {};
    const over = new Set((ctx.over_quota || []).map((v) => v.resource));
    const rows = ALLOCATION.map((r) => {
        const u = usage[r.key] || { used: 0, reserved: 0, limit: null };
        const f = r.fmt;
        const asked = deltas[r.key];
        const after = typeof asked === 'number' && u.limit !== null && u.limit !== undefined ? u.limit + asked : null;
        return html`<tr key=${r.key} data-testid=${`ctx-${r.key}`} class=${typeof asked === 'number' ? 'asked' : ''}>
            <th scope="row">${r.label}${over.has(r.key) && html` <${Badge} kind="danger">over<//>`}</th>
            <td class="num">${f(u.used)}${u.reserved ? html`<span class="muted small"> +${f(u.reserved)} reserved</span>` : ''}</td>
            <td class="num">${u.limit === null || u.limit === undefined ? html`<span class="muted">none</span>` : f(u.limit)}</td>
            <td class="num">${typeof asked === 'number' ? html`<strong>+${f(asked)}</strong>` : html`<span class="muted">—</span>`}</td>
            <td class="num">${after !== null ? f(after) : html`<span class="muted">—</span>`}</td>
        </tr>`;
    });
    return html`<div class="context" data-testid="request-context">
        <h4 class="sub">${title}</h4>
        <div class="table-scroll"><table class="context-table">
            <caption class="sr-only">Tenant usage against its limits, what is asked and the limit after approval</caption>
            <thead><tr><th scope="col">Resource</th><th scope="col" class="num">In use</th><th scope="col" class="num">Limit</th>
                <th scope="col" class="num">Asked</th><th scope="col" class="num">Limit if granted</th></tr></thead>
            <tbody>${rows}</tbody>
        </table></div>
        <p class="small cluster-line" data-testid="cluster-context">
            <${Icon} name="host" size=${14} /> <strong>Cluster:</strong>${' '}
            ${cluster.hosts ? [`${fmtNumber(cluster.hosts)} host${cluster.hosts === 1 ? '' : 's'}, `,
                `${fmtNumber(cluster.cores)} cores with ${fmtNumber(alloc.vcpus || 0)} vCPUs allocated${ratio(alloc.vcpus || 0, cluster.cores)}; `,
                `${fmtMiB(cluster.memory_mib)} memory with ${fmtMiB(alloc.memory_mib || 0)} allocated${ratio(alloc.memory_mib || 0, cluster.memory_mib)}; `,
                `${fmtNumber(alloc.vms || 0)} VMs in all.`].join('')
                : html`<span class="muted">no host is known, so capacity cannot be judged.</span>`}
        </p>
    </div>`;
}

/* ---- decisions ---- */

/* The server names fields by their place in the body: put them on the form's fields. */
function placeErrors(e, map) {
    if (!(e instanceof ApiError)) return e;
    const moved = {};
    for (const [field, msg] of Object.entries(e.fieldErrors)) {
        let to = map[field] || field;
        if (field.startsWith('resources.')) to = field.slice('resources.'.length);
        if (!(to in moved)) moved[to] = msg;
    }
    e.fieldErrors = moved;
    return e;
}

const pad = (n) => String(n).padStart(2, '0');
/* A time as the value of <input type=datetime-local> (local time), or ''. */
function localInput(v) {
    const d = toDate(v);
    if (!d) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/* A decision that lost the race (409): say so and let the owner refresh. */
function conflict(req, e, onConflict) {
    toast({ kind: 'warning', title: 'Someone else decided',
        message: `Request #${req.id} was decided meanwhile (${e.detail}). The list has been refreshed.` });
    onConflict();
}

export function ApproveDialog({ req, onClose, onDone, onConflict }) {
    const keys = amountKeys(req.deltas);
    const initial = { ends: 'keep', expires_local: '', comment: '', amounts: '' };
    for (const k of keys) initial[k] = String(req.deltas[k]);
    const form = useForm(initial);
    const v = form.values;
    const usage = (req.context && req.context.usage) || {};
    const send = async (val) => {
        const body = approvalBody(req, val);
        try {
            return await api.post(reqPath(req.id, '/approve'), body);
        } catch (e) {
            if (e.status === 409) {
                conflict(req, e, onConflict);
                return undefined;
            }
            throw placeErrors(e, { resources: 'amounts', expires_at: 'expires_local' });
        }
    };
    const endOptions = req.ends_at
        ? [{ value: 'keep', label: `Until the end asked for (${fmtTime(req.ends_at)})` },
            { value: 'date', label: 'Until another time' }, { value: 'never', label: 'For good' }]
        : [{ value: 'keep', label: 'For good (no end was asked for)' }, { value: 'date', label: 'Until a time' }];
    const pickEnds = (val) => {
        if (val === 'date' && !form.values.expires_local)
            form.set('expires_local', localInput(req.ends_at || new Date(Date.now() + 30 * 86400 * 1000)));
    };
    return html`<${FormDialog} title=${`Approve request #${req.id} of ${req.tenant}`} form=${form} onSubmit=${send}
        onClose=${onClose} onDone=${onDone} submitLabel="Approve"
        required=${['comment', ...(v.ends === 'date' ? ['expires_local'] : [])]}>
        <p class="small">${req.requested_by ? req.requested_by.login : 'Someone'} asks for <strong>${amountsText(req.deltas)}</strong>.
            Grant all of it, or lower an amount to grant part (0: none of that resource).</p>
        <div class="form-grid">${keys.map((k) => {
            const u = usage[k];
            const hint = `Asked ${resFmt(k)(req.deltas[k])}${u && u.limit !== null && u.limit !== undefined ? `; limit now ${resFmt(k)(u.limit)}` : ''}.`;
            return html`<${TextField} key=${k} form=${form} name=${k} label=${`${resLabel(k)} to grant${resUnit(k)}`}
                inputmode="numeric" autocomplete="off" hint=${hint} />`;
        })}</div>
        ${form.errors.amounts && html`<p class="field-error" data-testid="field-error"><${Icon} name="alert" size=${14} /> ${form.errors.amounts}</p>`}
        <${RadioGroup} form=${form} name="ends" label="The extra quota lasts" options=${endOptions} onChange=${pickEnds} />
        ${v.ends === 'date' && html`<${TextField} form=${form} name="expires_local" label="Ends at" type="datetime-local" required
            hint="Your local time. When it passes, the limits go back down by what this grant added; running VMs are not stopped." />`}
        <${TextAreaField} form=${form} name="comment" label="Comment" required rows=${3}
            hint="The requester and the tenant's administrators see it." />
    <//>`;
}

export function DenyDialog({ req, onClose, onDone, onConflict }) {
    const form = useForm({ reason: '' });
    const send = async (val) => {
        try {
            return await api.post(reqPath(req.id, '/deny'), { reason: val.reason.trim() });
        } catch (e) {
            if (e.status === 409) {
                conflict(req, e, onConflict);
                return undefined;
            }
            throw e;
        }
    };
    return html`<${FormDialog} title=${`Deny request #${req.id} of ${req.tenant}`} form=${form} onSubmit=${send}
        onClose=${onClose} onDone=${onDone} submitLabel="Deny" danger required=${['reason']}>
        <p class="small">${req.requested_by ? req.requested_by.login : 'Someone'} asks for <strong>${amountsText(req.deltas)}</strong>.</p>
        <${TextAreaField} form=${form} name="reason" label="Reason" required rows=${3}
            hint="Say why, and what would work instead: the requester sees it." />
    <//>`;
}

/* Approve / Deny / Withdraw as the user may; `onChanged(req|null)` after any of them
 * (null: refresh, the request changed elsewhere). */
export function RequestActions({ req, onChanged }) {
    const { me } = useSession();
    const [dialog, setDialog] = useState(null);
    if (req.state !== 'pending') return null;
    const mine = isMine(req, me);
    const mayDecide = canIn(me, 'quota.approve', req.tenant_id);
    const mayWithdraw = mine && canIn(me, 'quota.request', req.tenant_id);
    const decided = (verb) => (r) => {
        setDialog(null);
        toastSuccess(`Request #${req.id} ${verb}.`);
        refreshNotifications();
        onChanged(r);
    };
    const lost = () => {
        setDialog(null);
        onChanged(null);
    };
    const withdraw = async () => {
        if (!(await confirmAction({ title: `Withdraw request #${req.id}?`, confirmLabel: 'Withdraw', danger: true,
            message: 'The request is closed without a decision. You can send a new one later.' }))) return;
        try {
            const r = await api.post(reqPath(req.id, '/withdraw'));
            toastSuccess(`Request #${req.id} withdrawn.`);
            refreshNotifications();
            onChanged(r);
        } catch (e) {
            toastError(e, `Could not withdraw request #${req.id}`);
            if (e.status === 409) onChanged(null);
        }
    };
    const id = `own-${req.id}`;
    return html`<div class="request-actions">
        ${mayDecide && html`
            <button type="button" class="button primary small" disabled=${mine} aria-describedby=${mine ? id : undefined}
                onClick=${() => setDialog('approve')} data-testid="approve">
                <${Icon} name="check" size=${16} /> Approve…</button>
            <button type="button" class="button danger small" disabled=${mine} aria-describedby=${mine ? id : undefined}
                onClick=${() => setDialog('deny')} data-testid="deny"><${Icon} name="x" size=${16} /> Deny…</button>
            ${mine && html`<span class="muted small" id=${id} data-testid="own-request-note">You asked for this yourself:
                another administrator must decide.</span>`}`}
        ${mayWithdraw && html`<button type="button" class="button small" onClick=${withdraw} data-testid="withdraw">
            <${Icon} name="undo" size=${16} /> Withdraw</button>`}
        ${dialog === 'approve' && html`<${ApproveDialog} req=${req} onClose=${() => setDialog(null)} onDone=${decided('approved')} onConflict=${lost} />`}
        ${dialog === 'deny' && html`<${DenyDialog} req=${req} onClose=${() => setDialog(null)} onDone=${decided('denied')} onConflict=${lost} />`}
    </div>`;
}

/* One request as a card: what is asked and why, the context, the decision. */
export function RequestCard({ req, onChanged, detail = false }) {
    const { me } = useSession();
    const rows = [
        ['Asked', html`<${Asked} req=${req} />`],
        ['Until', req.ends_at ? html`<${Time} value=${req.ends_at} />` : 'for good'],
        ['Requested by', html`<${Who} who=${req.requested_by} me=${me} /> · <${Time} value=${req.created_at} />`],
    ];
    if (req.decided_by) rows.push(['Decided by', html`<${Who} who=${req.decided_by} me=${me} /> · <${Time} value=${req.decided_at} />`]);
    if (req.comment) rows.push(['Comment', html`<span data-testid="decision-comment">${req.comment}</span>`]);
    if (req.reason) rows.push(['Reason', html`<span data-testid="decision-reason">${req.reason}</span>`]);
    if (req.grant) rows.push(['Grant', html`<${GrantSummary} req=${req} />`]);
    return html`<article class="panel request-card" data-testid="request-card" data-id=${req.id} data-state=${req.state}
        aria-labelledby=${`req-${req.id}-title`}>
        <div class="panel-head">
            <div class="grow">
                <h2 id=${`req-${req.id}-title`}>${detail ? `Request #${req.id}`
                    : html`<a href=${`/quota-requests/${req.id}`} onClick=${onLinkClick}>Request #${req.id}</a>`} · ${req.tenant}</h2>
            </div>
            <span data-testid="request-state"><${RequestState} req=${req} /></span>
        </div>
        <blockquote class="justification" data-testid="justification">${req.justification}</blockquote>
        <${DetailList} rows=${rows} />
        ${req.context && html`<${ContextPanel} ctx=${req.context} req=${req.state === 'pending' ? req : null} />`}
        ${detail && req.decision_context && html`<details class="raw-json" open>
            <summary>What the decision saw (<${Time} value=${req.decided_at} />)</summary>
            <${ContextPanel} ctx=${req.decision_context} req=${req} title="Usage and capacity at the decision" />
        </details>`}
        <${RequestActions} req=${req} onChanged=${onChanged} />
    </article>`;
}

/* ---- pages ---- */

function SubNav({ current }) {
    const { me } = useSession();
    const link = (href, label) => html`<a href=${href} class="tab" onClick=${onLinkClick}
        aria-current=${current === href ? 'page' : undefined}>${label}</a>`;
    return html`<nav class="tabs" aria-label="Quota requests">
        ${link('/quota-requests', 'Requests')}
        ${can(me, 'quota.approve') && link('/quota-requests/queue', 'Approval queue')}
    </nav>`;
}

/* The tenants the user may request quota for: [{id, label}] (all, when global). */
function useRequestTenants() {
    const { me } = useSession();
    const [tenants, setTenants] = useState([]);
    useEffect(() => {
        const scope = tenantsWith(me, 'quota.request');
        const label = (t) => `${t.name} (${t.slug})`;
        if (me.tenant) {
            setTenants([{ id: me.tenant.id, label: label(me.tenant) }]);
            return;
        }
        if (!can(me, 'tenant.read')) {
            setTenants((scope || []).map((id) => ({ id, label: `tenant #${id}` })));
            return;
        }
        listAll('/api/v1/tenants', { sort: 'slug' }).then((r) => setTenants(r.items
            .filter((t) => scope === null || scope.includes(t.id)).map((t) => ({ id: t.id, label: label(t) }))),
        () => setTenants([]));
    }, []);
    return tenants;
}

function NewRequestButton({ onSent }) {
    const { me } = useSession();
    const tenants = useRequestTenants();
    const [open, setOpen] = useState(false);
    if (!can(me, 'quota.request')) return null;
    const only = tenants.length === 1 ? tenants[0] : null;
    return html`<button type="button" class="button primary" onClick=${() => setOpen(true)} disabled=${!tenants.length}
            data-testid="new-request"><${Icon} name="plus" size=${16} /> New request</button>
        ${open && html`<${RequestQuotaDialog} draft=${{ tenant_id: only ? only.id : null }} tenantLabel=${only ? only.label : ''}
            tenants=${tenants} onClose=${() => setOpen(false)} onSent=${(r) => { if (onSent) onSent(r); }} />`}`;
}

export function QuotaRequestsPage() {
    const { me } = useSession();
    const q = new URLSearchParams(window.location.search);
    const [state, setState] = useState(REQUEST_STATES.includes(q.get('state')) ? q.get('state') : '');
    const [tenant] = useState(/^\d+$/.test(q.get('tenant_id') || '') ? q.get('tenant_id') : '');
    const [reload, setReload] = useState(0);
    const bump = () => setReload((n) => n + 1);
    useEffect(() => onNewNotifications(bump), []);
    const pick = (s) => {
        setState(s);
        const qs = new URLSearchParams();
        if (s) qs.set('state', s);
        if (tenant) qs.set('tenant_id', tenant);
        navigate(`/quota-requests${qs.toString() ? `?${qs}` : ''}`, { replace: true });
    };

    const columns = [
        { key: 'id', label: 'Request', render: (r) => html`<a href=${`/quota-requests/${r.id}`} onClick=${onLinkClick}>#${r.id}</a>` },
        { key: 'tenant', label: 'Tenant', render: (r) => r.tenant },
        { key: 'deltas', label: 'Asked', render: (r) => html`<${Asked} req=${r} />` },
        { key: 'state', label: 'State', render: (r) => html`<span data-testid="request-state"><${RequestState} req=${r} /></span>` },
        { key: 'grant', label: 'Grant', render: (r) => html`<${GrantSummary} req=${r} />` },
        { key: 'ends_at', label: 'Until', render: (r) => {
            const t = r.grant ? r.grant.expires_at : r.ends_at;
            return t ? html`<${Time} value=${t} />` : html`<span class="muted">for good</span>`;
        } },
        { key: 'requested_by', label: 'Requested by', render: (r) => html`<${Who} who=${r.requested_by} me=${me} />` },
        { key: 'decided_by', label: 'Decided by', render: (r) => html`<${Who} who=${r.decided_by} me=${me} />` },
        { key: 'comment', label: 'Comment / reason', class: 'col-text', render: (r) => r.reason
            ? html`<span data-testid="row-reason">${r.reason}</span>` : r.comment ? html`<span data-testid="row-comment">${r.comment}</span>`
            : html`<span class="muted">—</span>` },
    ];
    const actions = (r) => html`<${RequestActions} req=${r} onChanged=${bump} />`;
    const toolbar = html`<label class="inline-label">State
        <select value=${state} onChange=${(e) => pick(e.currentTarget.value)} data-testid="request-state-filter">
            <option value="">any</option>
            ${REQUEST_STATES.map((s) => html`<option value=${s} key=${s}>${s}</option>`)}
        </select></label>`;
    return html`
        <${PageHeader} title="Quota requests"
            description="Requests for more quota, newest first: what was asked, what was granted and until when."
            actions=${html`<${NewRequestButton} onSent=${bump} />`} />
        <${SubNav} current="/quota-requests" />
        ${tenant && html`<p class="small">Tenant #${tenant} only. <a href="/quota-requests" onClick=${onLinkClick}>Show every tenant</a></p>`}
        <${DataTable} endpoint="/api/v1/quota-requests" label="Quota requests" columns=${columns} reloadToken=${reload}
            query=${{ state: state || undefined, tenant_id: tenant || undefined }} filterParam=${null} toolbar=${toolbar}
            rowActions=${actions} testid="requests-table"
            emptyText=${state ? `No ${state} request.` : 'No quota request yet. Ask from a refusal, or with New request.'} />`;
}

export function QuotaQueuePage() {
    const [data, setData] = useState({ loading: true, items: [], next: null, error: null });
    const [reload, setReload] = useState(0);
    const bump = useCallback(() => setReload((n) => n + 1), []);
    useEffect(() => onNewNotifications(bump), []);
    useEffect(() => {
        let live = true;
        setData((d) => ({ ...d, loading: true, error: null }));
        api.get('/api/v1/quota-requests', { state: 'pending', context: 'true', limit: 50 }).then(
            (page) => live && setData({ loading: false, items: page.items || [], next: page.next_cursor || null, error: null }),
            (e) => live && setData({ loading: false, items: [], next: null, error: e }),
        );
        return () => { live = false; };
    }, [reload]);
    const more = async () => {
        try {
            const page = await api.get('/api/v1/quota-requests', { state: 'pending', context: 'true', limit: 50, cursor: data.next });
            setData((d) => ({ ...d, items: [...d.items, ...(page.items || [])], next: page.next_cursor || null }));
        } catch (e) {
            toastError(e, 'Could not load more requests');
        }
    };
    let content;
    if (data.error) content = html`<${EmptyState} icon="alert" title="Could not load the queue"><p>${data.error.detail}</p>
        <button type="button" class="button" onClick=${bump}>Retry</button><//>`;
    else if (data.loading && !data.items.length) content = html`<${Spinner} label="Loading the queue…" />`;
    else if (!data.items.length) content = html`<${EmptyState} icon="inbox" title="Nothing to decide">
        <p>No quota request is waiting for a decision. New ones are announced by the bell.</p><//>`;
    else content = html`<div class="request-list" data-testid="queue">
        ${data.items.map((r) => html`<${RequestCard} key=${r.id} req=${r} onChanged=${bump} />`)}
        ${data.next && html`<button type="button" class="button" onClick=${more}>Load more</button>`}
    </div>`;
    return html`
        <${PageHeader} title="Quota requests" description="Requests waiting for a decision, newest first, each with the tenant's usage and the cluster's capacity now."
            actions=${html`<button type="button" class="button" onClick=${bump} disabled=${data.loading}>
                <${Icon} name="refresh" size=${16} class=${data.loading ? 'spin' : ''} /> Refresh</button>`} />
        <${SubNav} current="/quota-requests/queue" />
        <p class="muted small" aria-live="polite" data-testid="queue-count">${data.loading ? 'Loading…'
            : `${data.items.length}${data.next ? '+' : ''} pending request${data.items.length === 1 ? '' : 's'}`}</p>
        ${content}`;
}

export function QuotaRequestPage({ params }) {
    const [data, setData] = useState({ loading: true, req: null, error: null });
    const [reload, setReload] = useState(0);
    const bump = () => setReload((n) => n + 1);
    useEffect(() => onNewNotifications((items) => items.some((n) => n.body && String(n.body.request_id) === String(params.id)) && bump()), [params.id]);
    useEffect(() => {
        let live = true;
        api.get(reqPath(params.id)).then(
            (req) => live && setData({ loading: false, req, error: null }),
            (e) => live && setData({ loading: false, req: null, error: e }),
        );
        return () => { live = false; };
    }, [params.id, reload]);
    let content;
    if (data.error) content = html`<${EmptyState} icon="alert" title=${data.error.status === 404 ? 'No such request' : 'Could not load the request'}>
        <p>${data.error.status === 404 ? 'This request does not exist or is not visible to you.' : data.error.detail}</p><//>`;
    else if (!data.req) content = html`<${Spinner} label="Loading the request…" />`;
    else content = html`<${RequestCard} req=${data.req} detail onChanged=${(r) => (r ? setData({ loading: false, req: { ...data.req, ...r }, error: null }) : bump())} />`;
    return html`
        <${PageHeader} title=${`Quota request #${params.id}`}
            description=${html`<a href="/quota-requests" onClick=${onLinkClick}>All quota requests</a>`} />
        ${content}`;
}
