// Virtual machines: the inventory's list (every VM the user may see) and Create VM.
// A minimal page: the create form lives in components/vm_create.js so a fuller VM page
// can reuse it.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { onLinkClick } from '../lib/router.js';
import { fmtGiB, fmtMiB, fmtNumber } from '../lib/format.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { CreateVmButton } from '../components/vm_create.js';
import { Badge, PageHeader } from '../components/ui.js';
import { tenantLabel, useTenants } from './users.js';

const STATE_KIND = { running: 'success', paused: 'warning', shutoff: 'neutral', crashed: 'danger', blocked: 'warning' };

export function VmsPage() {
    const { me } = useSession();
    const tenants = useTenants();
    const [reload, setReload] = useState(0);
    const bump = () => setReload((n) => n + 1);
    const columns = [
        { key: 'name', label: 'Name', sort: 'name', render: (v) =>
            html`<a href=${`/vms/${v.id}`} onClick=${onLinkClick} data-testid="vm-name">${v.name}</a>` },
        { key: 'host', label: 'Host', render: (v) => v.host || `#${v.host_id}` },
        { key: 'tenant_id', label: 'Tenant', render: (v) => (v.tenant_id === null ? html`<span class="muted">none</span>` : tenantLabel(tenants, v.tenant_id, me)) },
        { key: 'state', label: 'State', sort: 'state', render: (v) => html`<${Badge} kind=${STATE_KIND[v.state] || 'neutral'}>${v.state}<//>` },
        { key: 'vcpus', label: 'vCPUs', class: 'num', render: (v) => fmtNumber(v.vcpus) },
        { key: 'memory_mib', label: 'Memory', class: 'num', render: (v) => fmtMiB(v.memory_mib) },
        { key: 'disk_gib', label: 'Disk', class: 'num', render: (v) => fmtGiB(v.disk_gib) },
    ];
    /* the list shows the new VM once its task has defined it */
    const created = (task) => {
        bump();
        Promise.resolve(task).then(bump, bump);
    };
    return html`
        <${PageHeader} title="Virtual machines" description="Every VM you may see, on every host."
            actions=${html`<${CreateVmButton} onCreated=${created} />`} />
        <${DataTable} endpoint="/api/v1/vms" label="Virtual machines" columns=${columns} reloadToken=${reload}
            filterLabel="Filter by name" defaultSort="name" testid="vms-table" emptyText="No VMs yet." />`;
}
