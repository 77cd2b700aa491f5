// A small "Create VM" form (POST /api/v1/vms → 202 + the task's Location), usable from
// any page. A quota refusal (403 with violations and a ready-made quota request) is
// shown in the dialog with QuotaRefusal, whose "Request more quota" opens the request
// dialog prefilled with exactly that request.
//
// Hosts, pools and networks are global objects (host.read globally): users who may
// list them pick from lists; others (tenant users) type the host's ID and the names
// their administrator gave them.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { listAll, request } from '../lib/api.js';
import { canIn, tenantsWith } from '../lib/perms.js';
import { fmtMiB } from '../lib/format.js';
import { jsonValue } from '../lib/quota_res.js';
import { useSession } from '../session.js';
import { FormDialog, SelectField, TextField, useForm } from './form.js';
import { QuotaRefusal, RequestQuotaDialog } from './quota_request.js';
import { trackTask } from './toast.js';
import { Icon } from './icons.js';

/* A list endpoint as select options, or null when it cannot be read (403…). */
function useOptions(path, query, enabled = true) {
    const [opts, setOpts] = useState(undefined);
    const key = JSON.stringify([path, query, enabled]);
    useEffect(() => {
        if (!enabled) {
            setOpts(null);
            return;
        }
        setOpts(undefined);
        let live = true;
        listAll(path, query).then((r) => live && setOpts(r.items), () => live && setOpts(null));
        return () => { live = false; };
    }, [key]);
    return opts; /* undefined: loading */
}

export function isQuotaRefusal(e) {
    return !!(e && e.status === 403 && e.problem && Array.isArray(e.problem.violations) && e.problem.violations.length);
}

/* tenants: [{id, label}] the user may create VMs in. onCreated(task|body) after a 202. */
export function CreateVmDialog({ tenants, onClose, onCreated }) {
    const { me } = useSession();
    const form = useForm({
        name: '', tenant_id: tenants.length === 1 ? String(tenants[0].id) : '', host_id: '', vcpus: '2',
        memory_mib: '2048', disk_gib: '10', pool: '', network: '', firmware: 'bios',
    });
    const v = form.values;
    const [refusal, setRefusal] = useState(null);
    const [requesting, setRequesting] = useState(null);
    const [sent, setSent] = useState(null);
    const hosts = useOptions('/api/v1/hosts', { sort: 'name' });
    const hostPicked = /^\d+$/.test(v.host_id);
    const pools = useOptions('/api/v1/pools', { host_id: v.host_id }, !!hosts && hostPicked);
    const networks = useOptions('/api/v1/networks', { host_id: v.host_id }, !!hosts && hostPicked);

    const send = async (val) => {
        setRefusal(null);
        setSent(null);
        const body = {
            name: val.name.trim(), host_id: jsonValue(val.host_id), vcpus: jsonValue(val.vcpus),
            memory_mib: jsonValue(val.memory_mib), disk_gib: jsonValue(val.disk_gib), firmware: val.firmware,
        };
        if (val.tenant_id !== '') body.tenant_id = jsonValue(val.tenant_id);
        if (val.pool.trim()) body.pool = val.pool.trim();
        if (val.network.trim()) body.network = val.network.trim();
        try {
            const res = await request('POST', '/api/v1/vms', { body });
            return { ...res, name: body.name };
        } catch (e) {
            if (isQuotaRefusal(e)) {
                setRefusal(e.problem);
                return undefined;
            }
            throw e;
        }
    };
    const done = (res) => {
        onClose();
        const task = res.location ? trackTask(res.location, `Create VM ${res.name}`) : Promise.resolve(res.body);
        if (onCreated) onCreated(task);
    };

    const globalOk = Array.isArray(me.permissions) && me.permissions.includes('vm.create');
    const tenantOptions = [{ value: '', label: globalOk ? 'None (a VM of no tenant)' : 'Choose…' },
        ...tenants.map((t) => ({ value: String(t.id), label: t.label }))];
    const tenantRequired = tenants.length > 1 && !globalOk;
    const refusedTenant = refusal ? refusal.tenant_id ?? (refusal.quota_request && refusal.quota_request.tenant_id) : null;
    const canRequest = refusedTenant !== null && canIn(me, 'quota.request', refusedTenant);
    const tenantName = (id) => (tenants.find((t) => String(t.id) === String(id)) || { label: `tenant #${id}` }).label;

    /* the request dialog is a sibling: a form inside this form would submit both */
    return html`<${FormDialog} title="Create VM" form=${form} onSubmit=${send} onClose=${onClose} onDone=${done}
        submitLabel="Create VM" required=${['name', 'host_id', 'vcpus', 'memory_mib', 'disk_gib', ...(tenantRequired ? ['tenant_id'] : [])]}>
        ${refusal && html`<${QuotaRefusal} violations=${refusal.violations} quotaRequest=${refusal.quota_request}
            title=${refusal.detail || 'Refused: not enough quota.'} canRequest=${canRequest}
            onRequest=${(qr) => setRequesting(qr)} />`}
        ${sent && html`<div class="alert alert-info" role="status" data-testid="request-sent"><${Icon} name="info" />
            <span>Quota request #${sent.id} is ${sent.state}. ${sent.state === 'approved' ? 'Try again now.'
                : 'You are notified (the bell) when it is decided; then try again.'}</span></div>`}
        <${TextField} form=${form} name="name" label="Name" required autocomplete="off" spellcheck=${false}
            hint="Letters, digits, '.', '_' and '-'; unique on the host." />
        ${(tenants.length > 1 || globalOk) && html`<${SelectField} form=${form} name="tenant_id" label="Tenant" required=${tenantRequired}
            options=${tenantOptions} hint="The VM counts against this tenant's quota." />`}
        ${hosts ? html`<${SelectField} form=${form} name="host_id" label="Host" required
                options=${[{ value: '', label: 'Choose…' }, ...hosts.map((h) => ({ value: String(h.id),
                    label: `${h.name} (${h.state}${h.capacity && h.capacity.cores ? `, ${h.capacity.cores} cores, ${fmtMiB(h.capacity.memory_mib)}` : ''})` }))]}
                onChange=${() => { form.set('pool', ''); form.set('network', ''); }} />`
            : html`<${TextField} form=${form} name="host_id" label="Host ID" required inputmode="numeric" autocomplete="off"
                hint=${hosts === null ? 'Hosts are not listed for you: ask an administrator which host, pool and network to use.' : 'Loading hosts…'} />`}
        <div class="form-grid">
            <${TextField} form=${form} name="vcpus" label="vCPUs" required inputmode="numeric" autocomplete="off" />
            <${TextField} form=${form} name="memory_mib" label="Memory (MiB)" required inputmode="numeric" autocomplete="off" />
            <${TextField} form=${form} name="disk_gib" label="Disk (GiB)" required inputmode="numeric" autocomplete="off" />
        </div>
        <div class="form-grid">
            ${pools ? html`<${SelectField} form=${form} name="pool" label="Storage pool"
                    options=${[{ value: '', label: 'Choose…' }, ...pools.map((p) => ({ value: p.name, label: p.name }))]} />`
                : html`<${TextField} form=${form} name="pool" label="Storage pool" autocomplete="off" spellcheck=${false}
                    hint="Where the new empty disk is created." />`}
            ${networks ? html`<${SelectField} form=${form} name="network" label="Network"
                    options=${[{ value: '', label: 'None' }, ...networks.map((n) => ({ value: n.name, label: n.name }))]} />`
                : html`<${TextField} form=${form} name="network" label="Network" autocomplete="off" spellcheck=${false}
                    hint="Optional." />`}
            <${SelectField} form=${form} name="firmware" label="Firmware"
                options=${[{ value: 'bios', label: 'BIOS' }, { value: 'uefi', label: 'UEFI' }]} />
        </div>
    <//>
    ${requesting && html`<${RequestQuotaDialog} draft=${requesting} tenantLabel=${tenantName(requesting.tenant_id)}
        onClose=${() => setRequesting(null)} onSent=${(r) => setSent(r)} />`}`;
}

/* The tenants `me` may create VMs in, as [{id, label}]; a global creator gets every
 * tenant (tenants = the tenant list when readable). */
export function vmCreateTenants(me, tenants) {
    const label = (t) => `${t.name} (${t.slug})`;
    if (me.tenant) return [{ id: me.tenant.id, label: label(me.tenant) }];
    const scope = tenantsWith(me, 'vm.create');
    if (scope === null) return tenants.map((t) => ({ id: t.id, label: label(t) }));
    return scope.map((id) => {
        const t = tenants.find((x) => x.id === id);
        return { id, label: t ? label(t) : `tenant #${id}` };
    });
}

export function useVmCreateTenants() {
    const { me, can } = useSession();
    const [tenants, setTenants] = useState([]);
    useEffect(() => {
        if (!can('tenant.read')) return;
        listAll('/api/v1/tenants', { sort: 'slug' }).then((r) => setTenants(r.items), () => setTenants([]));
    }, []);
    return vmCreateTenants(me, tenants);
}

/* Re-exported for pages that only need the one button. */
export function CreateVmButton({ onCreated }) {
    const { can } = useSession();
    const tenants = useVmCreateTenants();
    const [open, setOpen] = useState(false);
    if (!can('vm.create')) return null;
    return html`<button type="button" class="button primary" onClick=${() => setOpen(true)} data-testid="create-vm">
            <${Icon} name="plus" size=${16} /> Create VM</button>
        ${open && html`<${CreateVmDialog} tenants=${tenants} onClose=${() => setOpen(false)} onCreated=${onCreated} />`}`;
}
