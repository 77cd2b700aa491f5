// Quota refusals and quota requests, shared by the quota page, the VM create form and
// the quota requests pages.
//
// A quota-exceeded refusal (403 from an admission, or the dry run's answer) carries a
// ready-made request body `quota_request` ({tenant_id, deltas, justification}): the
// refusal offers it, RequestQuotaDialog opens prefilled with it and, unless the user
// edits something, POSTs it exactly as it came. The dialog also asks by target limits,
// and for an optional end date ("for this semester").
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, ApiError } from '../lib/api.js';
import { ALLOCATION, RUNTIME, jsonValue, resFmt, resLabel, resUnit } from '../lib/quota_res.js';
import { requestBody } from '../lib/quota_request_body.js';
import { refreshNotifications } from '../lib/notify.js';
import { toDate } from '../lib/format.js';
import { FormDialog, RadioGroup, SelectField, TextAreaField, TextField, useForm } from './form.js';
import { toast } from './toast.js';
import { Icon } from './icons.js';

/* violations: [{resource, limit, used, reserved, requested, shortfall}] */
export function QuotaRefusal({ violations, quotaRequest, canRequest, onRequest, title = 'This would be refused: not enough quota.' }) {
    return html`<div class="alert alert-error refusal" role="alert" data-testid="quota-refusal">
        <${Icon} name="alert" />
        <div class="grow">
            <strong>${title}</strong>
            <ul class="refusal-list">${violations.map((v) => {
                const f = resFmt(v.resource);
                const free = Math.max(0, v.limit - v.used - v.reserved);
                return html`<li key=${v.resource} data-testid=${`refusal-${v.resource}`}>
                    <strong>${resLabel(v.resource)}</strong>: ${f(v.requested)} requested, but only ${f(free)} of the
                    limit of ${f(v.limit)} is free (${f(v.used)} used${v.reserved ? `, ${f(v.reserved)} reserved by pending admissions` : ''}).
                    Short by <strong>${f(v.shortfall)}</strong>.
                </li>`;
            })}</ul>
            <p class="refusal-next"><strong>What you can do:</strong> ask for less (within what is free), free resources by
                deleting or shrinking VMs of this tenant, or request more quota from an administrator.</p>
            ${quotaRequest && (canRequest
                ? html`<button type="button" class="button" onClick=${() => onRequest(quotaRequest)} data-testid="request-more-quota">
                    <${Icon} name="send" size=${16} /> Request more quota</button>`
                : html`<p class="small">You cannot request quota yourself: ask someone with the quota.request permission in this tenant.</p>`)}
        </div>
    </div>`;
}

const pad = (n) => String(n).padStart(2, '0');

function dayOf(v) {
    const d = toDate(v);
    return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '';
}

/* The server names fields by their place in the body (deltas.vcpus, targets, ends_at):
 * move them to the form's fields so they show inline. */
function placeErrors(e, mode) {
    if (!(e instanceof ApiError)) return e;
    const moved = {};
    for (const [field, msg] of Object.entries(e.fieldErrors)) {
        let to = field;
        if (field === 'deltas' || field === 'targets') to = 'amounts';
        else if (field.startsWith(`${mode}.`)) to = field.slice(mode.length + 1);
        else if (field === 'ends_at') to = 'ends_on';
        if (!(to in moved)) moved[to] = msg;
    }
    e.fieldErrors = moved;
    return e;
}

/* The tenant's current limits ({} when they cannot be read): for hints. */
function useLimits(tenantId) {
    const [limits, setLimits] = useState(null);
    useEffect(() => {
        setLimits(null);
        if (!tenantId) return;
        api.get(`/api/v1/tenants/${encodeURIComponent(tenantId)}/quota`).then(
            (q) => setLimits((q && q.limits) || {}),
            () => setLimits({}),
        );
    }, [tenantId]);
    return limits;
}

/* draft: {tenant_id, deltas?, targets?, justification?, ends_at?}. tenants: [{id, label}]
 * to choose from when draft.tenant_id is not given. onSent(request) after a 201. */
export function RequestQuotaDialog({ draft, tenantLabel, tenants = [], onClose, onSent }) {
    const mode0 = draft.targets ? 'targets' : 'deltas';
    const given = draft[mode0] || {};
    const runtimeAsked = RUNTIME.some((r) => given[r.key] !== undefined && given[r.key] !== null);
    const initial = {
        tenant_id: draft.tenant_id ? String(draft.tenant_id) : tenants.length === 1 ? String(tenants[0].id) : '',
        mode: mode0, justification: draft.justification || '', amounts: '',
        ends: draft.ends_at ? 'date' : 'never', ends_on: draft.ends_at ? dayOf(draft.ends_at) : '',
    };
    for (const r of [...ALLOCATION, ...RUNTIME]) initial[r.key] = given[r.key] === undefined || given[r.key] === null ? '' : String(given[r.key]);
    const form = useForm(initial);
    const v = form.values;
    const limits = useLimits(v.tenant_id);
    const fixedTenant = !!draft.tenant_id;

    const send = async (val) => {
        try {
            return await api.post('/api/v1/quota-requests', requestBody(draft, val));
        } catch (e) {
            throw placeErrors(e, val.mode);
        }
    };
    const done = (req) => {
        const auto = req && req.state === 'approved';
        toast({ kind: 'success', message: auto ? `Quota request #${req.id} was approved automatically by the policy.`
            : `Quota request${req && req.id ? ` #${req.id}` : ''} sent. An administrator will decide on it.` });
        refreshNotifications();
        if (onSent) onSent(req);
        onClose();
    };

    const hint = (key) => {
        if (!limits) return undefined;
        const now = limits[key];
        if (now === undefined || now === null) return 'No limit is set: there is nothing to raise.';
        const f = resFmt(key);
        const x = jsonValue(v[key]);
        if (typeof x !== 'number') return `Now ${f(now)}.`;
        return v.mode === 'deltas' ? `Now ${f(now)}; ${f(now + x)} after approval.` : `Now ${f(now)}; ${x > now ? `+${f(x - now)}` : 'not above it'}.`;
    };
    const label = (r) => (v.mode === 'deltas' ? `More ${r.label}${resUnit(r.key)}` : `${r.label}${resUnit(r.key)} wanted`);
    const field = (r) => html`<${TextField} key=${r.key} form=${form} name=${r.key} label=${label(r)}
        inputmode=${r.decimal ? 'decimal' : 'numeric'} autocomplete="off" hint=${hint(r.key)} />`;
    const today = dayOf(new Date());

    return html`<${FormDialog} title=${`Request more quota${tenantLabel ? ` for ${tenantLabel}` : ''}`} form=${form}
        onSubmit=${send} onClose=${onClose} onDone=${done} submitLabel="Send request"
        required=${['justification', ...(fixedTenant ? [] : ['tenant_id']), ...(v.ends === 'date' ? ['ends_on'] : [])]}>
        <p class="muted small">${draft.deltas || draft.targets ? 'Prefilled with what was missing. ' : ''}An administrator with the
            quota.approve permission decides: all of it, part of it, or nothing, and may set an end date.</p>
        ${!fixedTenant && html`<${SelectField} form=${form} name="tenant_id" label="Tenant" required
            options=${[{ value: '', label: 'Choose…' }, ...tenants.map((t) => ({ value: String(t.id), label: t.label }))]} />`}
        <${RadioGroup} form=${form} name="mode" label="Ask for"
            options=${[{ value: 'deltas', label: 'More than the current limits' }, { value: 'targets', label: 'New limits' }]} />
        <div class="form-grid">${ALLOCATION.map(field)}</div>
        <details class="more-fields" open=${runtimeAsked}>
            <summary>Runtime limits</summary>
            <div class="form-grid">${RUNTIME.map(field)}</div>
        </details>
        ${form.errors.amounts && html`<p class="field-error" data-testid="field-error"><${Icon} name="alert" size=${14} /> ${form.errors.amounts}</p>`}
        <p class="muted small">Leave a resource empty when you do not need more of it.</p>
        <${TextAreaField} form=${form} name="justification" label="Justification" required rows=${3}
            hint="Why the tenant needs it; the administrator sees this text (up to 2000 characters)." />
        <${RadioGroup} form=${form} name="ends" label="For how long"
            options=${[{ value: 'never', label: 'For good' }, { value: 'date', label: 'Until a date (e.g. the end of the semester)' }]} />
        ${v.ends === 'date' && html`<${TextField} form=${form} name="ends_on" label="Last day" type="date" min=${today} required
            hint="The extra quota is taken back at the end of that day." />`}
    <//>`;
}
