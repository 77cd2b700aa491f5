// Tenants: list, create, edit, delete (tenant.read to see, tenant.admin to change).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { FormDialog, TextField, useForm } from '../components/form.js';
import { confirmAction, Drawer } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { DetailList, PageHeader, Time } from '../components/ui.js';

const path = (t) => `/api/v1/tenants/${encodeURIComponent(t.id)}`;

function TenantForm({ tenant, onClose, onSaved }) {
    const form = useForm({ slug: tenant ? tenant.slug : '', name: tenant ? tenant.name : '' });
    const save = async (v) => {
        const body = { slug: v.slug.trim(), name: v.name.trim() };
        if (!tenant) return api.post('/api/v1/tenants', body);
        const patch = {};
        if (body.slug !== tenant.slug) patch.slug = body.slug;
        if (body.name !== tenant.name) patch.name = body.name;
        return Object.keys(patch).length ? api.patch(path(tenant), patch) : tenant;
    };
    return html`<${FormDialog} title=${tenant ? `Edit tenant ${tenant.slug}` : 'New tenant'} form=${form}
        submitLabel=${tenant ? 'Save' : 'Create tenant'} required=${['slug', 'name']} onSubmit=${save}
        onClose=${onClose} onDone=${(t) => onSaved(t || tenant)}>
        <${TextField} form=${form} name="slug" label="Slug" required autocomplete="off" spellcheck=${false}
            hint="Short identifier used in URLs and names, e.g. physics-lab." />
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off" />
    <//>`;
}

export function TenantsPage() {
    const { can } = useSession();
    const admin = can('tenant.admin');
    const [reload, setReload] = useState(0);
    const [editing, setEditing] = useState(null); /* null | 'new' | tenant */
    const [viewing, setViewing] = useState(null);
    const bump = () => setReload((n) => n + 1);

    const remove = async (rows) => {
        const what = rows.length === 1 ? `tenant ${rows[0].slug}` : `${rows.length} tenants`;
        const ok = await confirmAction({
            title: `Delete ${what}?`, danger: true, confirmLabel: 'Delete',
            message: 'Deleting a tenant cannot be undone. The server refuses while the tenant still owns users or VMs.',
        });
        if (!ok) return false;
        let done = 0;
        for (const t of rows) {
            try {
                await api.del(path(t));
                done++;
            } catch (e) {
                toastError(e, `Could not delete ${t.slug}`);
            }
        }
        if (done) toastSuccess(done === 1 && rows.length === 1 ? `Tenant ${rows[0].slug} deleted.` : `${done} tenants deleted.`);
        setViewing(null);
        bump();
        return true;
    };

    const columns = [
        { key: 'slug', label: 'Slug', sort: 'slug', class: 'mono', render: (t) => t.slug },
        { key: 'name', label: 'Name', sort: 'name' },
        { key: 'created_at', label: 'Created', sort: 'created_at', render: (t) => html`<${Time} value=${t.created_at} />` },
    ];
    const actions = (t) => html`<div class="row-actions">
        <button type="button" class="icon-button" aria-label=${`Edit ${t.slug}`} title="Edit" onClick=${() => setEditing(t)}>
            <${Icon} name="edit" size=${16} /></button>
        <button type="button" class="icon-button danger" aria-label=${`Delete ${t.slug}`} title="Delete" onClick=${() => remove([t])}>
            <${Icon} name="trash" size=${16} /></button>
    </div>`;

    return html`
        <${PageHeader} title="Tenants" description="Organisations that own VMs, users and quotas."
            actions=${admin && html`<button type="button" class="button primary" onClick=${() => setEditing('new')}>
                <${Icon} name="plus" size=${16} /> New tenant</button>`} />
        <${DataTable} endpoint="/api/v1/tenants" label="Tenants" columns=${columns} reloadToken=${reload}
            filterLabel="Filter tenants" defaultSort="slug" selectable=${admin} rowActions=${admin ? actions : null}
            bulkActions=${[{ label: 'Delete selected', danger: true, run: remove }]} onOpen=${setViewing}
            emptyText="No tenants yet." testid="tenants-table" />
        ${editing && html`<${TenantForm} tenant=${editing === 'new' ? null : editing} onClose=${() => setEditing(null)}
            onSaved=${(t) => { toastSuccess(`Tenant ${t.slug} saved.`); setEditing(null); bump(); }} />`}
        ${viewing && html`<${Drawer} title=${`Tenant ${viewing.slug}`} onClose=${() => setViewing(null)}
            footer=${admin && html`<button type="button" class="button" onClick=${() => { setEditing(viewing); setViewing(null); }}>Edit</button>
                <button type="button" class="button danger" onClick=${() => remove([viewing])}>Delete</button>`}>
            <${DetailList} rows=${[['ID', html`<code>${viewing.id}</code>`], ['Slug', viewing.slug], ['Name', viewing.name],
                ['Created', html`<${Time} value=${viewing.created_at} />`]]} />
        <//>`}`;
}
