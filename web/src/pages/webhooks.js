// Outgoing webhooks (tenant.admin globally): create (the signing secret is shown once),
// enable/disable, rotate the secret, send a test event, delete, and each webhook's
// delivery log (attempts with status, error and duration; the exact body sent).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { DataTable } from '../components/table.js';
import { CheckboxField, CheckboxGroup, FormDialog, SelectField, TextField, useForm } from '../components/form.js';
import { confirmAction, Drawer, Modal } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, CopyField, PageHeader, Spinner, Time } from '../components/ui.js';
import { tenantLabel, useTenants } from './users.js';

export const WEBHOOK_EVENTS = [
    { value: 'quota_request.created', label: 'A quota request was made' },
    { value: 'quota_request.approved', label: 'A quota request was approved' },
    { value: 'quota_request.denied', label: 'A quota request was denied' },
    { value: 'quota_request.withdrawn', label: 'A quota request was withdrawn' },
    { value: 'quota_grant.expired', label: 'A quota grant ended' },
];
const path = (w, rest = '') => `/api/v1/webhooks/${encodeURIComponent(w.id)}${rest}`;
const DELIVERY_KIND = { delivered: 'success', pending: 'info', failed: 'danger' };

function WebhookForm({ hook, tenants, onClose, onSaved }) {
    const form = useForm({
        url: hook ? hook.url : '', description: hook ? hook.description : '',
        events: hook ? [...hook.events] : WEBHOOK_EVENTS.map((e) => e.value),
        tenant_id: hook && hook.tenant_id ? String(hook.tenant_id) : '', active: hook ? hook.active : true, rotate: false,
    });
    const save = (v) => {
        const body = { url: v.url.trim(), description: v.description.trim(), events: v.events, active: v.active };
        if (!hook) {
            if (v.tenant_id) body.tenant_id = Number(v.tenant_id);
            return api.post('/api/v1/webhooks', body);
        }
        if (v.rotate) body.rotate_secret = true;
        return api.patch(path(hook), body);
    };
    return html`<${FormDialog} title=${hook ? `Edit webhook #${hook.id}` : 'New webhook'} form=${form} required=${['url']}
        submitLabel=${hook ? 'Save' : 'Create webhook'} onSubmit=${save} onClose=${onClose} onDone=${onSaved}>
        <${TextField} form=${form} name="url" label="URL" required type="url" autocomplete="off" spellcheck=${false}
            hint="http or https, without user name or password. Each delivery is a POST signed with HMAC-SHA256." />
        <${TextField} form=${form} name="description" label="Description" autocomplete="off" />
        <${CheckboxGroup} form=${form} name="events" label="Events" options=${WEBHOOK_EVENTS} />
        ${!hook && html`<${SelectField} form=${form} name="tenant_id" label="Tenant"
            options=${[{ value: '', label: 'Every tenant' }, ...tenants.map((t) => ({ value: String(t.id), label: `${t.slug} — ${t.name}` }))]} />`}
        <${CheckboxField} form=${form} name="active" label="Active (deliver events)" />
        ${hook && html`<${CheckboxField} form=${form} name="rotate" label="Rotate the signing secret"
            hint="A new secret is shown once; the old one stops signing at once." />`}
    <//>`;
}

function SecretDialog({ hook, onClose }) {
    return html`<${Modal} title=${`Signing secret of webhook #${hook.id}`} onClose=${onClose} class="secret-dialog"
        footer=${html`<button type="button" class="button primary" onClick=${onClose}>I have stored it</button>`}>
        <div class="alert alert-warning" role="status"><${Icon} name="alert" />
            <span>Copy this secret now. It is shown only once.</span></div>
        <${CopyField} label="Secret" value=${hook.secret} testid="webhook-secret" />
        <p class="small muted">The receiver checks the <code>X-VP-Signature</code> header (<code>sha256=</code> and the hex HMAC-SHA256 of the
            body, keyed with this secret).</p>
    <//>`;
}

function DeliveriesDrawer({ hook, onClose }) {
    const [data, setData] = useState(null);
    const [reload, setReload] = useState(0);
    useEffect(() => {
        api.get(path(hook, '/deliveries'), { limit: 50 }).then((d) => setData({ items: d.items || [] }), (e) => setData({ error: e }));
    }, [reload]);
    let body;
    if (!data) body = html`<${Spinner} />`;
    else if (data.error) body = html`<p class="text-error">${data.error.detail}</p>`;
    else if (!data.items.length) body = html`<p class="muted">No delivery yet. Send a test event to try the receiver.</p>`;
    else body = html`<ol class="delivery-list" data-testid="deliveries">${data.items.map((d) => html`<li key=${d.id} class="delivery">
        <div class="delivery-head"><code>${d.event}</code> <${Badge} kind=${DELIVERY_KIND[d.state] || 'neutral'}>${d.state}<//>
            <span class="muted small">#${d.id} · <${Time} value=${d.created_at} seconds /> · ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}</span></div>
        ${d.state === 'pending' && d.next_attempt_at && html`<p class="small muted">Next attempt <${Time} value=${d.next_attempt_at} seconds /></p>`}
        ${(d.log || []).length > 0 && html`<table class="attempts"><caption class="sr-only">Attempts</caption>
            <thead><tr><th scope="col">At</th><th scope="col">Status</th><th scope="col">Error</th><th scope="col" class="num">Time</th></tr></thead>
            <tbody>${d.log.map((a, i) => html`<tr key=${i}><td><${Time} value=${a.at} seconds /></td><td>${a.status ?? '—'}</td>
                <td>${a.error || html`<span class="muted">—</span>`}</td><td class="num">${a.duration_ms} ms</td></tr>`)}</tbody></table>`}
        <details class="raw-json"><summary>Body sent</summary><pre class="code-block">${JSON.stringify(d.payload, null, 2)}</pre></details>
    </li>`)}</ol>`;
    return html`<${Drawer} title=${`Deliveries of webhook #${hook.id}`} onClose=${onClose}
        footer=${html`<button type="button" class="button" onClick=${() => setReload((n) => n + 1)}><${Icon} name="refresh" size=${16} /> Refresh</button>`}>
        <p class="small"><code>${hook.url}</code></p>
        ${body}
    <//>`;
}

export function WebhooksPage() {
    const tenants = useTenants();
    const [reload, setReload] = useState(0);
    const [editing, setEditing] = useState(null); /* 'new' | hook */
    const [secret, setSecret] = useState(null);
    const [viewing, setViewing] = useState(null);
    const bump = () => setReload((n) => n + 1);
    const saved = (h) => {
        setEditing(null);
        toastSuccess(`Webhook #${h.id} saved.`);
        if (h.secret) setSecret(h);
        bump();
    };
    const ping = async (h) => {
        try {
            await api.post(path(h, '/ping'));
            toastSuccess(`A test event for webhook #${h.id} is queued.`);
            setViewing(h);
        } catch (e) {
            toastError(e, 'Could not send a test event');
        }
        bump();
    };
    const remove = async (h) => {
        if (!(await confirmAction({ title: `Delete webhook #${h.id}?`, danger: true, confirmLabel: 'Delete',
            message: 'Its pending deliveries and its delivery log are deleted with it.' }))) return;
        try {
            await api.del(path(h));
            toastSuccess(`Webhook #${h.id} deleted.`);
        } catch (e) {
            toastError(e, 'Could not delete the webhook');
        }
        bump();
    };
    const columns = [
        { key: 'url', label: 'URL', render: (h) => html`<code class="json-inline">${h.url}</code>${h.description && html`<div class="muted small">${h.description}</div>`}` },
        { key: 'events', label: 'Events', render: (h) => html`<ul class="chips">${h.events.map((e) => html`<li class="chip" key=${e}>${e}</li>`)}</ul>` },
        { key: 'tenant_id', label: 'Tenant', render: (h) => (h.tenant_id ? tenantLabel(tenants, h.tenant_id) : html`<span class="muted">every</span>`) },
        { key: 'active', label: 'Status', render: (h) => (h.active ? html`<${Badge} kind="success">active<//>` : html`<${Badge}>paused<//>`) },
        { key: 'deliveries', label: 'Deliveries', render: (h) => {
            const d = h.deliveries || {};
            return html`<span class="small">${d.delivered || 0} delivered · ${d.pending || 0} pending ·
                ${d.failed ? html`<span class="text-error">${d.failed} failed</span>` : '0 failed'}</span>`;
        } },
        { key: 'created_at', label: 'Created', render: (h) => html`<${Time} value=${h.created_at} />` },
    ];
    const actions = (h) => html`<div class="row-actions">
        <button type="button" class="button small" onClick=${() => ping(h)}>Test</button>
        <button type="button" class="button small" onClick=${() => setViewing(h)}>Deliveries</button>
        <button type="button" class="icon-button" aria-label=${`Edit webhook #${h.id}`} title="Edit" onClick=${() => setEditing(h)}>
            <${Icon} name="edit" size=${16} /></button>
        <button type="button" class="icon-button danger" aria-label=${`Delete webhook #${h.id}`} title="Delete" onClick=${() => remove(h)}>
            <${Icon} name="trash" size=${16} /></button>
    </div>`;
    return html`
        <${PageHeader} title="Webhooks" description="Events sent to other systems as signed HTTP POSTs, retried with backoff."
            actions=${html`<button type="button" class="button primary" onClick=${() => setEditing('new')}>
                <${Icon} name="plus" size=${16} /> New webhook</button>`} />
        <${DataTable} endpoint="/api/v1/webhooks" label="Webhooks" columns=${columns} reloadToken=${reload} filterParam=${null}
            rowActions=${actions} testid="webhooks-table" emptyText="No webhooks. Add one to tell another system about quota requests." />
        ${editing && html`<${WebhookForm} hook=${editing === 'new' ? null : editing} tenants=${tenants}
            onClose=${() => setEditing(null)} onSaved=${saved} />`}
        ${secret && html`<${SecretDialog} hook=${secret} onClose=${() => setSecret(null)} />`}
        ${viewing && html`<${DeliveriesDrawer} hook=${viewing} onClose=${() => setViewing(null)} />`}`;
}
