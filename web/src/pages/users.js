// Users: list, create (global or in a tenant), disable/enable, reset password, delete.
// user.read to see, user.admin to change.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, listAll } from '../lib/api.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { CheckboxField, FormDialog, SelectField, TextField, useForm } from '../components/form.js';
import { confirmAction, Drawer } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, DetailList, PageHeader, Time } from '../components/ui.js';

const path = (u) => `/api/v1/users/${encodeURIComponent(u.id)}`;
const PASSWORD_HINT = 'Use a long passphrase; short or common passwords are refused by the server.';

/* Tenants by id, for names and the tenant picker (empty when tenant.read is missing). */
export function useTenants() {
    const { can } = useSession();
    const [tenants, setTenants] = useState([]);
    useEffect(() => {
        if (!can('tenant.read')) return;
        listAll('/api/v1/tenants', { sort: 'slug' }).then((r) => setTenants(r.items), () => setTenants([]));
    }, []);
    return tenants;
}

export function tenantLabel(tenants, id, me) {
    if (id === null || id === undefined) return null;
    const t = tenants.find((x) => String(x.id) === String(id)) || (me && me.tenant && String(me.tenant.id) === String(id) ? me.tenant : null);
    return t ? t.slug : `#${id}`;
}

function CreateUser({ tenants, onClose, onSaved }) {
    const { me } = useSession();
    const fixedTenant = me.tenant_id ?? null; /* a tenant admin creates users in their own tenant */
    const form = useForm({ login: '', password: '', tenant_id: fixedTenant === null ? '' : String(fixedTenant) });
    const options = [{ value: '', label: 'None — global user' },
        ...tenants.map((t) => ({ value: String(t.id), label: `${t.slug} — ${t.name}` }))];
    const save = (v) => {
        const body = { login: v.login.trim(), password: v.password };
        if (v.tenant_id !== '') {
            const t = tenants.find((x) => String(x.id) === v.tenant_id);
            body.tenant_id = t ? t.id : fixedTenant;
        }
        return api.post('/api/v1/users', body);
    };
    return html`<${FormDialog} title="New user" form=${form} submitLabel="Create user" required=${['login', 'password']}
        onSubmit=${save} onClose=${onClose} onDone=${onSaved}>
        <${TextField} form=${form} name="login" label="Login" required autocomplete="off" spellcheck=${false} />
        <${TextField} form=${form} name="password" label="Initial password" type="password" required
            autocomplete="new-password" hint=${PASSWORD_HINT} />
        ${fixedTenant === null ? html`<${SelectField} form=${form} name="tenant_id" label="Tenant" options=${options}
            hint="A global user can be given roles in any tenant; a tenant user belongs to one tenant." />`
            : html`<p class="muted">The user will belong to your tenant.</p>`}
    <//>`;
}

function EditUser({ user, onClose, onSaved }) {
    const form = useForm({ disabled: !!user.disabled, password: '' });
    const save = (v) => {
        const patch = {};
        if (v.disabled !== !!user.disabled) patch.disabled = v.disabled;
        if (v.password) patch.password = v.password;
        return Object.keys(patch).length ? api.patch(path(user), patch).then((r) => r || user) : user;
    };
    return html`<${FormDialog} title=${`Edit user ${user.login}`} form=${form} onSubmit=${save} onClose=${onClose} onDone=${onSaved}>
        <${CheckboxField} form=${form} name="disabled" label="Disabled (cannot sign in; existing sessions end)" />
        <${TextField} form=${form} name="password" label="New password" type="password" autocomplete="new-password"
            hint=${`Leave empty to keep the current password. ${PASSWORD_HINT}`} />
    <//>`;
}

export function UsersPage() {
    const { me, can } = useSession();
    const admin = can('user.admin');
    const tenants = useTenants();
    const [reload, setReload] = useState(0);
    const [dialog, setDialog] = useState(null); /* null | {kind:'new'} | {kind:'edit', user} */
    const [viewing, setViewing] = useState(null);
    const bump = () => setReload((n) => n + 1);

    const each = async (rows, verb, fn) => {
        let done = 0;
        for (const u of rows) {
            try {
                await fn(u);
                done++;
            } catch (e) {
                toastError(e, `Could not ${verb} ${u.login}`);
            }
        }
        if (done) toastSuccess(`${done === 1 && rows.length === 1 ? `User ${rows[0].login}` : `${done} users`} ${verb}d.`);
        bump();
    };
    const remove = async (rows) => {
        const what = rows.length === 1 ? `user ${rows[0].login}` : `${rows.length} users`;
        if (!(await confirmAction({ title: `Delete ${what}?`, danger: true, confirmLabel: 'Delete',
            message: 'The account, its sessions, API tokens and role bindings are removed. This cannot be undone.' })))
            return false;
        setViewing(null);
        return each(rows, 'delete', (u) => api.del(path(u)));
    };
    const setDisabled = (disabled) => async (rows) => {
        const targets = rows.filter((u) => !!u.disabled !== disabled);
        if (!targets.length) return true;
        if (disabled && !(await confirmAction({ title: `Disable ${targets.length === 1 ? targets[0].login : `${targets.length} users`}?`,
            confirmLabel: 'Disable', danger: true, message: 'Disabled users cannot sign in and their sessions end.' })))
            return false;
        return each(targets, disabled ? 'disable' : 'enable', (u) => api.patch(path(u), { disabled }));
    };

    const columns = [
        { key: 'login', label: 'Login', sort: 'login' },
        { key: 'tenant_id', label: 'Tenant', render: (u) => tenantLabel(tenants, u.tenant_id, me) ?? html`<span class="muted">global</span>` },
        { key: 'disabled', label: 'Status', render: (u) => u.disabled ? html`<${Badge} kind="warning">Disabled<//>` : html`<${Badge} kind="success">Active<//>` },
        { key: 'created_at', label: 'Created', sort: 'created_at', render: (u) => html`<${Time} value=${u.created_at} />` },
    ];
    const actions = (u) => html`<div class="row-actions">
        <button type="button" class="icon-button" aria-label=${`Edit ${u.login}`} title="Edit"
            onClick=${() => setDialog({ kind: 'edit', user: u })}><${Icon} name="edit" size=${16} /></button>
        <button type="button" class="icon-button danger" aria-label=${`Delete ${u.login}`} title="Delete"
            onClick=${() => remove([u])}><${Icon} name="trash" size=${16} /></button>
    </div>`;
    const saved = (verb) => (u) => {
        toastSuccess(`User ${u.login} ${verb}.`);
        setDialog(null);
        bump();
    };

    return html`
        <${PageHeader} title="Users" description="Local accounts. Global users work across tenants; tenant users see only their tenant."
            actions=${admin && html`<button type="button" class="button primary" onClick=${() => setDialog({ kind: 'new' })}>
                <${Icon} name="plus" size=${16} /> New user</button>`} />
        <${DataTable} endpoint="/api/v1/users" label="Users" columns=${columns} reloadToken=${reload} defaultSort="login"
            filterLabel="Filter users" selectable=${admin} rowActions=${admin ? actions : null} onOpen=${setViewing}
            bulkActions=${[{ label: 'Disable', run: setDisabled(true) }, { label: 'Enable', run: setDisabled(false) },
                { label: 'Delete', danger: true, run: remove }]}
            emptyText="No users yet." testid="users-table" />
        ${dialog && dialog.kind === 'new' && html`<${CreateUser} tenants=${tenants} onClose=${() => setDialog(null)} onSaved=${saved('created')} />`}
        ${dialog && dialog.kind === 'edit' && html`<${EditUser} user=${dialog.user} onClose=${() => setDialog(null)} onSaved=${saved('saved')} />`}
        ${viewing && html`<${Drawer} title=${`User ${viewing.login}`} onClose=${() => setViewing(null)}
            footer=${admin && html`<button type="button" class="button" onClick=${() => { setDialog({ kind: 'edit', user: viewing }); setViewing(null); }}>Edit</button>`}>
            <${DetailList} rows=${[['ID', html`<code>${viewing.id}</code>`], ['Login', viewing.login],
                ['Tenant', tenantLabel(tenants, viewing.tenant_id, me) ?? 'global'],
                ['Status', viewing.disabled ? 'Disabled' : 'Active'], ['Created', html`<${Time} value=${viewing.created_at} />`]]} />
        <//>`}`;
}
