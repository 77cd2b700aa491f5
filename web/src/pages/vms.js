// Virtual machines: the inventory's list (every VM the user may see) with state and host
// filters, bulk power actions on the selected VMs, and Create VM (components/vm_create.js).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { onLinkClick } from '../lib/router.js';
import { fmtGiB, fmtMiB, fmtNumber } from '../lib/format.js';
import { useSession } from '../session.js';
import { listAll } from '../lib/api.js';
import { can } from '../lib/perms.js';
import { confirmAction } from '../components/dialog.js';
import { runAction, toastError } from '../components/toast.js';
import { DataTable } from '../components/table.js';
import { CreateVmButton } from '../components/vm_create.js';
import { Badge, PageHeader } from '../components/ui.js';
import { tenantLabel, useTenants } from './users.js';

const STATE_KIND = { running: 'success', paused: 'warning', shutoff: 'neutral', crashed: 'danger', blocked: 'warning' };
const STATES = ['running', 'paused', 'shutoff', 'crashed', 'blocked', 'pmsuspended'];

/* One power action on every selected VM, each its own task (followed in a toast). */
function bulkPower(action, label, confirmText) {
    return {
        label, danger: Boolean(confirmText),
        run: async (rows) => {
            if (confirmText && !(await confirmAction({ title: `${label} ${rows.length} VM(s)?`, message: confirmText,
                danger: true, confirmLabel: label })))
                return false;
            await Promise.all(rows.map((v) => runAction(`${label} ${v.name}`, 'POST',
                `/api/v1/vms/${v.id}/actions/${action}`).catch((err) => toastError(err, `${label} ${v.name}`))));
            return true;
        },
    };
}

/* The hosts for the host filter, when the user may list them. */
function useHosts(me) {
    const [hosts, setHosts] = useState([]);
    useEffect(() => {
        if (can(me, 'host.read'))
            listAll('/api/v1/hosts').then((r) => setHosts(r.items), () => setHosts([]));
    }, [me]);
    return hosts;
}

export function VmsPage() {
    const { me } = useSession();
    const tenants = useTenants();
    const hosts = useHosts(me);
    const [reload, setReload] = useState(0);
    const [state, setState] = useState('');
    const [hostId, setHostId] = useState('');
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
    const toolbar = html`
        <label class="inline-label">State
            <select value=${state} onChange=${(e) => setState(e.currentTarget.value)} data-testid="vm-state-filter">
                <option value="">any</option>
                ${STATES.map((x) => html`<option value=${x} key=${x}>${x}</option>`)}
            </select>
        </label>
        ${hosts.length > 0 && html`<label class="inline-label">Host
            <select value=${hostId} onChange=${(e) => setHostId(e.currentTarget.value)} data-testid="vm-host-filter">
                <option value="">any</option>
                ${hosts.map((h) => html`<option value=${String(h.id)} key=${h.id}>${h.name}</option>`)}
            </select>
        </label>`}`;
    const bulk = [
        bulkPower('start', 'Start'),
        bulkPower('shutdown', 'Shut down'),
        bulkPower('suspend', 'Suspend'),
        bulkPower('resume', 'Resume'),
        bulkPower('poweroff', 'Power off', 'Powering off is like pulling the plug: unsaved data in the guests is lost.'),
    ];
    return html`
        <${PageHeader} title="Virtual machines" description="Every VM you may see, on every host."
            actions=${html`<${CreateVmButton} onCreated=${created} />`} />
        <${DataTable} endpoint="/api/v1/vms" label="Virtual machines" columns=${columns} reloadToken=${reload}
            query=${{ state: state || undefined, host_id: hostId || undefined }} toolbar=${toolbar}
            selectable=${true} bulkActions=${bulk}
            filterLabel="Filter by name" defaultSort="name" testid="vms-table"
            emptyText=${state || hostId ? 'No VM matches these filters.' : 'No VMs yet.'} />`;
}
