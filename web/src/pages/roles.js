// Roles (permission sets) and role bindings (a role given to a user or an API token,
// globally or within one tenant). role.admin to see and change; the server refuses a
// grant of anything the granter does not hold.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, listAll } from '../lib/api.js';
import { onLinkClick } from '../lib/router.js';
import { KNOWN_PERMISSIONS } from '../lib/perms.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { CheckboxGroup, FormDialog, RadioGroup, SelectField, TextField, useForm } from '../components/form.js';
import { confirmAction, Drawer } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, PageHeader } from '../components/ui.js';
import { tenantLabel, useTenants } from './users.js';

function SubNav({ current }) {
    const link = (href, label) => html`<a href=${href} class="tab" onClick=${onLinkClick}
        aria-current=${current === href ? 'page' : undefined}>${label}</a>`;
    return html`<nav class="tabs" aria-label="Roles and bindings">${link('/roles', 'Roles')}${link('/role-bindings', 'Bindings')}</nav>`;
}

function Chips({ list, max = 6 }) {
    const shown = list.slice(0, max);
    return html`<ul class="chips">${shown.map((p) => html`<li class="chip" key=${p}>${p}</li>`)}
        ${list.length > max && html`<li class="chip muted">+${list.length - max} more</li>`}</ul>`;
}

function RoleForm({ role, allPerms, onClose, onSaved }) {
    const form = useForm({ name: role ? role.name : '', permissions: role ? [...(role.permissions || [])] : [] });
    const save = (v) => {
        const body = { name: v.name.trim(), permissions: v.permissions };
        return role ? api.patch(`/api/v1/roles/${encodeURIComponent(role.id)}`, body).then((r) => r || { ...role, ...body })
            : api.post('/api/v1/roles', body);
    };
    return html`<${FormDialog} title=${role ? `Edit role ${role.name}` : 'New role'} form=${form} required=${['name']}
        submitLabel=${role ? 'Save' : 'Create role'} onSubmit=${save} onClose=${onClose} onDone=${onSaved}>
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off" />
        <${CheckboxGroup} form=${form} name="permissions" label="Permissions" columns
            options=${allPerms.map((p) => ({ value: p, label: p }))}
            hint="You can only grant permissions you hold yourself." />
    <//>`;
}

export function RolesPage() {
    const [reload, setReload] = useState(0);
    const [dialog, setDialog] = useState(null);
    const [viewing, setViewing] = useState(null);
    const [seen, setSeen] = useState([]);
    const bump = () => setReload((n) => n + 1);
    useEffect(() => {
        listAll('/api/v1/roles').then((r) => setSeen(r.items.flatMap((x) => x.permissions || [])), () => {});
    }, [reload]);
    const allPerms = [...new Set([...KNOWN_PERMISSIONS, ...seen])].sort();

    const remove = async (role) => {
        if (!(await confirmAction({ title: `Delete role ${role.name}?`, danger: true, confirmLabel: 'Delete',
            message: 'Every binding of this role is removed with it; its holders lose these permissions.' }))) return;
        try {
            await api.del(`/api/v1/roles/${encodeURIComponent(role.id)}`);
            toastSuccess(`Role ${role.name} deleted.`);
        } catch (e) {
            toastError(e, `Could not delete ${role.name}`);
        }
        bump();
    };
    const columns = [
        { key: 'name', label: 'Name', sort: 'name' },
        { key: 'builtin', label: 'Type', render: (r) => r.builtin ? html`<${Badge}>Built-in<//>` : html`<${Badge} kind="info">Custom<//>` },
        { key: 'permissions', label: 'Permissions', render: (r) => html`<${Chips} list=${r.permissions || []} />` },
    ];
    const actions = (r) => r.builtin ? html`<span class="muted small">read-only</span>` : html`<div class="row-actions">
        <button type="button" class="icon-button" aria-label=${`Edit ${r.name}`} title="Edit"
            onClick=${() => setDialog(r)}><${Icon} name="edit" size=${16} /></button>
        <button type="button" class="icon-button danger" aria-label=${`Delete ${r.name}`} title="Delete"
            onClick=${() => remove(r)}><${Icon} name="trash" size=${16} /></button></div>`;

    return html`
        <${PageHeader} title="Roles & bindings" description="Roles are sets of permissions; bindings give them to users and tokens."
            actions=${html`<button type="button" class="button primary" onClick=${() => setDialog('new')}>
                <${Icon} name="plus" size=${16} /> New role</button>`} />
        <${SubNav} current="/roles" />
        <${DataTable} endpoint="/api/v1/roles" label="Roles" columns=${columns} reloadToken=${reload} filterParam=${null}
            rowActions=${actions} onOpen=${setViewing} defaultSort="name" testid="roles-table" />
        ${dialog && html`<${RoleForm} role=${dialog === 'new' ? null : dialog} allPerms=${allPerms} onClose=${() => setDialog(null)}
            onSaved=${(r) => { toastSuccess(`Role ${r.name} saved.`); setDialog(null); bump(); }} />`}
        ${viewing && html`<${Drawer} title=${`Role ${viewing.name}`} onClose=${() => setViewing(null)}>
            <p>${viewing.builtin ? 'Built-in role (cannot be changed).' : 'Custom role.'}</p>
            <h3>Permissions</h3>
            <${Chips} list=${viewing.permissions || []} max=${1000} />
        <//>`}`;
}

const CHOOSE = { value: '', label: 'Choose…' };

function BindingForm({ users, roles, tenants, onClose, onSaved }) {
    const form = useForm({ subject_kind: 'user', subject_id: '', role_id: '', scope: 'global', tenant_id: '' });
    const v = form.values;
    const idOf = (list, s) => {
        const hit = list.find((x) => String(x.id) === s);
        return hit ? hit.id : /^\d+$/.test(s) ? Number(s) : s;
    };
    const save = (val) => {
        const body = {
            subject_kind: val.subject_kind,
            subject_id: idOf(val.subject_kind === 'user' ? users : [], val.subject_id.trim()),
            role_id: idOf(roles, val.role_id),
            scope: val.scope,
        };
        if (val.scope === 'tenant') body.tenant_id = idOf(tenants, val.tenant_id);
        return api.post('/api/v1/role-bindings', body);
    };
    return html`<${FormDialog} title="New role binding" form=${form} submitLabel="Create binding"
        required=${['subject_id', 'role_id', ...(v.scope === 'tenant' ? ['tenant_id'] : [])]}
        onSubmit=${save} onClose=${onClose} onDone=${onSaved}>
        <${RadioGroup} form=${form} name="subject_kind" label="Give the role to" onChange=${() => form.set('subject_id', '')}
            options=${[{ value: 'user', label: 'A user' }, { value: 'token', label: 'An API token' }]} />
        ${v.subject_kind === 'user' ? html`<${SelectField} form=${form} name="subject_id" label="User" required
                options=${[CHOOSE, ...users.map((u) => ({ value: String(u.id), label: u.login }))]} />`
            : html`<${TextField} form=${form} name="subject_id" label="Token ID" required autocomplete="off"
                hint="The ID of the API token (its owner sees it on the API tokens page)." />`}
        <${SelectField} form=${form} name="role_id" label="Role" required options=${[CHOOSE, ...roles.map((r) => ({ value: String(r.id), label: r.name }))]} />
        <${RadioGroup} form=${form} name="scope" label="Scope"
            options=${[{ value: 'global', label: 'Global (every tenant)' }, { value: 'tenant', label: 'One tenant' }]} />
        ${v.scope === 'tenant' && html`<${SelectField} form=${form} name="tenant_id" label="Tenant" required
            options=${[CHOOSE, ...tenants.map((t) => ({ value: String(t.id), label: `${t.slug} — ${t.name}` }))]} />`}
    <//>`;
}

export function BindingsPage() {
    const { me, can } = useSession();
    const tenants = useTenants();
    const [users, setUsers] = useState([]);
    const [roles, setRoles] = useState([]);
    const [reload, setReload] = useState(0);
    const [creating, setCreating] = useState(false);
    const bump = () => setReload((n) => n + 1);
    useEffect(() => {
        if (can('user.read')) listAll('/api/v1/users', { sort: 'login' }).then((r) => setUsers(r.items), () => {});
        listAll('/api/v1/roles').then((r) => setRoles(r.items), () => {});
    }, []);
    const login = (id) => {
        const u = users.find((x) => String(x.id) === String(id));
        return u ? u.login : `user #${id}`;
    };
    const remove = async (b) => {
        if (!(await confirmAction({ title: 'Remove this binding?', danger: true, confirmLabel: 'Remove',
            message: `${b.subject_kind === 'user' ? login(b.subject_id) : `Token #${b.subject_id}`} loses role ${b.role || b.role_id}${b.scope === 'tenant' ? ` in tenant ${tenantLabel(tenants, b.tenant_id, me)}` : ''}.` }))) return;
        try {
            await api.del(`/api/v1/role-bindings/${encodeURIComponent(b.id)}`);
            toastSuccess('Binding removed.');
        } catch (e) {
            toastError(e, 'Could not remove the binding');
        }
        bump();
    };
    const columns = [
        { key: 'subject_id', label: 'Subject', render: (b) => b.subject_kind === 'user'
            ? html`<${Icon} name="user" size=${14} /> ${login(b.subject_id)}` : html`<${Icon} name="key" size=${14} /> token #${b.subject_id}` },
        { key: 'role', label: 'Role', render: (b) => b.role || `#${b.role_id}` },
        { key: 'scope', label: 'Scope', render: (b) => b.scope === 'tenant'
            ? html`<${Badge} kind="info">tenant<//> ${tenantLabel(tenants, b.tenant_id, me)}` : html`<${Badge}>global<//>` },
    ];
    const actions = (b) => html`<button type="button" class="icon-button danger" aria-label="Remove binding" title="Remove"
        onClick=${() => remove(b)}><${Icon} name="trash" size=${16} /></button>`;
    return html`
        <${PageHeader} title="Roles & bindings" description="Roles are sets of permissions; bindings give them to users and tokens."
            actions=${html`<button type="button" class="button primary" onClick=${() => setCreating(true)} disabled=${!roles.length}>
                <${Icon} name="plus" size=${16} /> New binding</button>`} />
        <${SubNav} current="/role-bindings" />
        <${DataTable} endpoint="/api/v1/role-bindings" label="Role bindings" columns=${columns} reloadToken=${reload}
            filterParam=${null} rowActions=${actions} emptyText="No role bindings." testid="bindings-table" />
        ${creating && html`<${BindingForm} users=${users} roles=${roles} tenants=${tenants} onClose=${() => setCreating(false)}
            onSaved=${() => { toastSuccess('Binding created.'); setCreating(false); bump(); }} />`}`;
}
