// My API tokens: create (the secret is shown once, never again), list, revoke.
// A token can be narrowed to some of the roles; it never exceeds its owner.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, listAll } from '../lib/api.js';
import { isPast } from '../lib/format.js';
import { DataTable } from '../components/table.js';
import { CheckboxGroup, FormDialog, TextField, useForm } from '../components/form.js';
import { confirmAction, Modal } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, CopyField, PageHeader, Time } from '../components/ui.js';

function status(t) {
    if (t.revoked_at) return html`<${Badge} kind="danger">Revoked<//>`;
    if (t.expires_at && isPast(t.expires_at)) return html`<${Badge} kind="warning">Expired<//>`;
    return html`<${Badge} kind="success">Active<//>`;
}

/* <input type=date> gives a local calendar day; the token lasts until that day's end. */
function endOfDay(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d, 23, 59, 59).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function CreateToken({ roles, onClose, onCreated }) {
    const form = useForm({ name: '', expires_at: '', roles: [] });
    const save = (v) => {
        const body = { name: v.name.trim() };
        if (v.expires_at) body.expires_at = endOfDay(v.expires_at);
        if (v.roles.length) body.roles = v.roles;
        return api.post('/api/v1/tokens', body);
    };
    const today = new Date();
    const min = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    return html`<${FormDialog} title="New API token" form=${form} submitLabel="Create token" required=${['name']}
        onSubmit=${save} onClose=${onClose} onDone=${onCreated}>
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off"
            hint="What uses this token, e.g. ci-deploy." />
        <${TextField} form=${form} name="expires_at" label="Expires on" type="date" min=${min}
            hint="Optional. The token stops working at the end of that day." />
        ${roles.length > 0 && html`<${CheckboxGroup} form=${form} name="roles" label="Limit to roles (optional)"
            options=${roles.map((r) => ({ value: r.name, label: r.name }))}
            hint="Without a choice the token acts with all your current permissions. It can never do more than you." />`}
    <//>`;
}

function SecretDialog({ token, onClose }) {
    return html`<${Modal} title=${`Token ${token.name} created`} onClose=${onClose} class="secret-dialog"
        footer=${html`<button type="button" class="button primary" onClick=${onClose}>I have stored it</button>`}>
        <div class="alert alert-warning" role="status"><${Icon} name="alert" />
            <span>Copy this secret now. It is shown only once: the server keeps only its hash.</span></div>
        <${CopyField} label="Token secret" value=${token.secret} testid="token-secret" />
        <p class="small muted">Use it as <code>Authorization: Bearer …</code> in API requests.</p>
    <//>`;
}

export function TokensPage() {
    const [reload, setReload] = useState(0);
    const [creating, setCreating] = useState(false);
    const [created, setCreated] = useState(null); /* the one response holding the secret */
    const [roles, setRoles] = useState([]);
    const bump = () => setReload((n) => n + 1);
    useEffect(() => {
        /* Role names for narrowing; without permission to list roles the picker is hidden. */
        listAll('/api/v1/roles').then((r) => setRoles(r.items), () => setRoles([]));
    }, []);

    const revoke = async (rows) => {
        const live = rows.filter((t) => !t.revoked_at);
        if (!live.length) return true;
        if (!(await confirmAction({ title: live.length === 1 ? `Revoke token ${live[0].name}?` : `Revoke ${live.length} tokens?`,
            danger: true, confirmLabel: 'Revoke', message: 'Programs using it get 401 from now on. This cannot be undone.' })))
            return false;
        let done = 0;
        for (const t of live) {
            try {
                await api.del(`/api/v1/tokens/${encodeURIComponent(t.id)}`);
                done++;
            } catch (e) {
                toastError(e, `Could not revoke ${t.name}`);
            }
        }
        if (done) toastSuccess(done === 1 ? 'Token revoked.' : `${done} tokens revoked.`);
        bump();
        return true;
    };

    const columns = [
        { key: 'name', label: 'Name', sort: 'name' },
        { key: 'prefix', label: 'Prefix', class: 'mono', render: (t) => t.prefix ? html`<code>${t.prefix}…</code>` : '—' },
        { key: 'status', label: 'Status', render: status },
        { key: 'roles', label: 'Roles', render: (t) => t.narrowed && Array.isArray(t.roles)
            ? html`<ul class="chips">${t.roles.map((r, i) => html`<li class="chip" key=${i}>${typeof r === 'string' ? r
                : `${r.role}${r.scope === 'tenant' ? ` @ tenant ${r.tenant_id}` : ''}`}</li>`)}</ul>`
            : html`<span class="muted">all of yours</span>` },
        { key: 'expires_at', label: 'Expires', sort: 'expires_at', render: (t) => t.expires_at ? html`<${Time} value=${t.expires_at} />` : html`<span class="muted">never</span>` },
        { key: 'last_used_at', label: 'Last used', render: (t) => t.last_used_at ? html`<${Time} value=${t.last_used_at} />` : html`<span class="muted">never</span>` },
        { key: 'created_at', label: 'Created', sort: 'created_at', render: (t) => html`<${Time} value=${t.created_at} />` },
    ];
    const actions = (t) => t.revoked_at ? null : html`<button type="button" class="button small danger"
        aria-label=${`Revoke ${t.name}`} onClick=${() => revoke([t])}>Revoke</button>`;

    return html`
        <${PageHeader} title="API tokens" description="Tokens for automation, acting as you (or less)."
            actions=${html`<button type="button" class="button primary" onClick=${() => setCreating(true)}>
                <${Icon} name="plus" size=${16} /> New token</button>`} />
        <${DataTable} endpoint="/api/v1/tokens" label="API tokens" columns=${columns} reloadToken=${reload}
            filterParam=${null} selectable rowActions=${actions} defaultSort="-created_at"
            bulkActions=${[{ label: 'Revoke selected', danger: true, run: revoke }]}
            emptyText="You have no API tokens." testid="tokens-table" />
        ${creating && html`<${CreateToken} roles=${roles} onClose=${() => setCreating(false)}
            onCreated=${(t) => { setCreating(false); setCreated(t); bump(); }} />`}
        ${created && html`<${SecretDialog} token=${created} onClose=${() => setCreated(null)} />`}`;
}
