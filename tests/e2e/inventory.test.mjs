// The inventory pages against the demo (4 test-driver hosts, ~100 VMs): the dashboard's
// hosts and VM counts, the hosts list and a host's page, and a VM's page with a power
// action followed as a task until the VM's state changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { apiAs } from './lib/fixtures.mjs';
import { countSettles } from './lib/wait.mjs';

describe('inventory', () => {
    let server;
    let browser;
    let api;

    before(async () => {
        server = await startServer('inventory');
        browser = await launchBrowser();
        api = await apiAs(server);
    });
    after(async () => {
        if (api) await api.dispose();
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function signedIn() {
        const p = await openPage(browser, server.url);
        await signIn(p.page, server.login, server.password);
        return p;
    }
    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }

    test('the dashboard shows every host with its allocation and the VMs by state', async () => {
        const hosts = (await api.get('/api/v1/hosts?limit=100')).body.items;
        const vms = (await api.get('/api/v1/vms?limit=1000')).body.items;
        assert.ok(hosts.length >= 4 && vms.length > 0, 'the demo inventory is there');
        const p = await signedIn();
        const dash = p.page.getByTestId('dash-hosts');
        await dash.getByTestId('dash-host').first().waitFor();
        assert.equal(await countSettles(dash.getByTestId('dash-host'), hosts.length), hosts.length);
        for (const h of hosts) assert.ok(await dash.getByRole('link', { name: h.name, exact: true }).isVisible());
        const cpu = dash.getByTestId(`host-${hosts[0].id}-cpu`).getByRole('meter');
        assert.equal(await cpu.getAttribute('aria-valuemax'), String(hosts[0].capacity.cores));
        await p.page.getByTestId('dash-vm-total').waitFor();
        assert.equal(await p.page.getByTestId('dash-vm-total').textContent(), String(vms.length));
        const running = vms.filter((v) => v.state === 'running').length;
        const states = await p.page.getByTestId('dash-vm-states').textContent();
        assert.match(states, new RegExp(`running\\s*${running}`));
        await p.page.getByTestId('dash-tasks').getByRole('heading', { name: 'Recent tasks' }).waitFor();
        await screenshot(p.page, 'inventory-dashboard');
        await done(p);
    });

    test('the hosts list and a host page with its facts, pools, networks and VMs', async () => {
        const hosts = (await api.get('/api/v1/hosts?limit=100')).body.items;
        const h = hosts[0];
        const p = await signedIn();
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
        const table = p.page.getByTestId('hosts-table');
        await table.getByTestId('host-link').first().waitFor();
        assert.equal(await countSettles(table.getByTestId('host-link'), hosts.length), hosts.length);
        assert.ok(await table.getByText('connected').first().isVisible());
        await screenshot(p.page, 'inventory-hosts');
        await table.getByRole('link', { name: h.name, exact: true }).click();
        await p.page.getByRole('heading', { name: `Host ${h.name}` }).waitFor();
        assert.equal(new URL(p.page.url()).pathname, `/hosts/${h.id}`);
        const facts = await p.page.getByTestId('host-facts').textContent();
        assert.ok(facts.includes(`${h.capacity.cores} cores`), facts);
        await p.page.getByTestId('host-vms').locator('tbody a').first().waitFor();
        const onHost = (await api.get(`/api/v1/vms?host_id=${h.id}&limit=1000`)).body.items;
        const shown = Math.min(50, onHost.length);
        assert.equal(await countSettles(p.page.getByTestId('host-vms').locator('tbody a'), shown), shown);
        await p.page.getByTestId('host-networks').locator('h2').waitFor();
        await screenshot(p.page, 'inventory-host-detail');

        /* register with a bad URI: the server's message appears beside the field */
        await p.page.goto('/hosts');
        await p.page.getByTestId('host-register').click();
        const dlg = p.page.getByRole('dialog', { name: 'Register a host' });
        await dlg.getByRole('textbox', { name: 'Name' }).fill('e2e-bad');
        await dlg.getByRole('textbox', { name: 'libvirt URI' }).fill('http://nope/');
        await dlg.getByRole('button', { name: 'Register host' }).click();
        await dlg.getByTestId('form-error').waitFor();
        await screenshot(p.page, 'inventory-host-register-invalid', { fullPage: false });
        await dlg.getByRole('button', { name: 'Cancel' }).click();

        /* removing a host with VMs is refused with the server's reason */
        const row = table.locator('tbody tr').filter({ has: p.page.getByRole('link', { name: h.name, exact: true }) });
        await row.getByRole('button', { name: `Remove host ${h.name}` }).click();
        await p.page.getByRole('dialog').getByRole('button', { name: 'Remove host' }).click();
        const err = p.page.getByTestId('toast').filter({ hasText: 'still has VMs' });
        await err.waitFor();
        assert.equal((await api.get(`/api/v1/hosts/${h.id}`)).status, 200, 'the host is still there');
        await done(p);
    });

    test('a VM page: details, live stats and a power action followed to its end', async () => {
        const vms = (await api.get('/api/v1/vms?state=shutoff&limit=100')).body.items;
        assert.ok(vms.length > 0, 'the demo has a shut-off VM');
        const vm = vms[0];
        const p = await signedIn();
        await p.page.goto(`/vms/${vm.id}`);
        await p.page.getByRole('heading', { name: `VM ${vm.name}` }).waitFor();
        assert.equal((await p.page.getByTestId('vm-state').textContent()).trim(), 'shutoff');
        await p.page.getByTestId('vm-stats').waitFor();
        await p.page.getByTestId('vm-snapshots').getByRole('heading', { name: 'Snapshots' }).waitFor();
        const actions = p.page.getByTestId('power-actions');
        assert.ok(await actions.getByRole('button', { name: 'Shut down' }).isDisabled(), 'no shutdown of a shut-off VM');
        await actions.getByRole('button', { name: 'Start' }).click();
        await p.page.getByTestId('toast').filter({ hasText: `Start ${vm.name}` }).filter({ hasText: 'Done.' }).waitFor({ timeout: 30000 });
        await p.page.getByTestId('vm-state').getByText('running').waitFor({ timeout: 15000 });
        assert.equal((await api.get(`/api/v1/vms/${vm.id}`)).body.state, 'running');
        /* the running VM's stats: charts or the server's reason for none */
        await p.page.waitForFunction(() => document.querySelector('[data-testid="chart-mem"], [data-testid="stats-unavailable"]'));
        await screenshot(p.page, 'inventory-vm-started');

        /* a snapshot: created as a task, listed, then deleted after confirmation */
        const snaps = p.page.getByTestId('vm-snapshots');
        await snaps.getByRole('button', { name: 'New snapshot' }).click();
        const dlg = p.page.getByRole('dialog', { name: `New snapshot of ${vm.name}` });
        await dlg.getByRole('textbox', { name: 'Name' }).fill('e2e-snap');
        await dlg.getByRole('button', { name: 'Create snapshot' }).click();
        await snaps.getByRole('rowheader', { name: /e2e-snap/ }).waitFor({ timeout: 30000 });
        const listed = (await api.get(`/api/v1/vms/${vm.id}/snapshots`)).body.items.map((s) => s.name);
        assert.ok(listed.includes('e2e-snap'), JSON.stringify(listed));
        await screenshot(p.page, 'inventory-vm-snapshot');
        await snaps.getByRole('button', { name: 'Delete snapshot e2e-snap' }).click();
        await p.page.getByRole('dialog', { name: 'Delete snapshot e2e-snap?' }).getByRole('button', { name: 'Delete' }).click();
        await snaps.getByText('No snapshots.').waitFor({ timeout: 30000 });
        await done(p);
    });

    test('the VM list filters by state and host and starts the selected VMs in bulk', async () => {
        const hosts = (await api.get('/api/v1/hosts?limit=100')).body.items;
        const host = hosts[0];
        const off = (await api.get(`/api/v1/vms?limit=1000&state=shutoff&host_id=${host.id}`)).body.items;
        assert.ok(off.length >= 2, 'the demo host has shut-off VMs');
        const p = await signedIn();
        await p.page.getByRole('link', { name: 'VMs', exact: true }).click();
        const table = p.page.getByTestId('vms-table');
        await p.page.getByTestId('vm-host-filter').selectOption(String(host.id));
        await p.page.getByTestId('vm-state-filter').selectOption('shutoff');
        await table.getByRole('link', { name: off[0].name, exact: true }).waitFor();
        const shown = Math.min(off.length, 100);
        assert.equal(await countSettles(table.getByTestId('vm-name'), shown), shown, 'the list shows shut-off VMs of the host only');
        const picked = off.slice(0, 2);
        for (const v of picked)
            await table.getByRole('row').filter({ has: p.page.getByRole('link', { name: v.name, exact: true }) })
                .getByRole('checkbox').check();
        await p.page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name: 'Start' }).click();
        for (const v of picked) {
            for (let i = 0; i < 100; i++) {
                if ((await api.get(`/api/v1/vms/${v.id}`)).body.state === 'running') break;
                await new Promise((r) => setTimeout(r, 100));
            }
            assert.equal((await api.get(`/api/v1/vms/${v.id}`)).body.state, 'running', `${v.name} started`);
        }
        await screenshot(p.page, 'inventory-vm-bulk');
        await done(p);
    });
});
