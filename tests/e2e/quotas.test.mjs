// Quotas against the real server: usage bars of a tenant with VMs (seeded in the
// database until the inventory API can define VMs, see lib/fixtures.mjs), a runtime
// measurement, an hour of runtime samples drawn as 24 h charts (with their numbers in
// text) beside the runtime bars and the enforcement per host, the hosts' enforcement
// column, the administrator's editor (server validation inline, the over-quota
// report when lowering below usage), the dry-run refusal with what to do next and the
// prefilled quota request (sent, then listed as pending), and what a tenant user sees.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { apiAs, createTenant, createTenantUser, seedSample, seedVms } from './lib/fixtures.mjs';

const PASSWORD = 'correct horse battery staple 42';

describe('quotas', () => {
    let server;
    let browser;
    let api;

    before(async () => {
        server = await startServer('quotas');
        browser = await launchBrowser();
        api = await apiAs(server);
    });
    after(async () => {
        if (api) await api.dispose();
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }
    async function quotaPage(login = server.login, password = server.password) {
        const p = await openPage(browser, server.url);
        await signIn(p.page, login, password);
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Quotas' }).click();
        return p;
    }
    async function pickTenant(page, tenant) {
        await page.getByTestId('tenant-picker').selectOption(String(tenant.id));
        await page.locator(`[data-testid="tenant-quota"][data-tenant="${tenant.id}"]`).waitFor();
    }
    const bar = (page, res) => page.getByTestId(`usage-${res}`);

    test('usage bars, a runtime measurement, and the editor: inline errors, then the over-quota report', async () => {
        const t = await createTenant(api, 'e2e-q-bars', 'Quota bars lab');
        seedVms(server, t.id, [
            { name: 'web-1', vcpus: 2, memory_mib: 2048, disk_gib: 20 },
            { name: 'db-1', vcpus: 1, memory_mib: 1024, disk_gib: 30, state: 'shutoff' },
        ]);
        seedSample(server, t.id, { mode: 'cgroup', memory_bytes: 1536 * 1024 * 1024, pids: 42, cpu_usage_usec: 9_000_000 });
        const put = await api.put(`/api/v1/tenants/${t.id}/quota`,
            { vms: 5, vcpus: 4, memory_mib: 8192, disk_gib: 100, cpu_cores: 2, memory_max_mib: 2048, pids_max: 100 });
        assert.equal(put.status, 200, JSON.stringify(put.body));

        const p = await quotaPage();
        const { page } = p;
        await pickTenant(page, t);
        assert.match(page.url(), new RegExp(`/quotas\\?tenant=${t.id}$`), 'the tenant is in the URL');
        /* defined VMs count, running or not */
        const vcpus = bar(page, 'vcpus');
        assert.match(await vcpus.locator('.usage-numbers').innerText(), /^3\s*\/\s*4/);
        assert.equal(await vcpus.getAttribute('data-state'), 'ok');
        const meter = vcpus.getByRole('meter', { name: 'vCPUs' });
        assert.equal(await meter.getAttribute('aria-valuenow'), '3');
        assert.equal(await meter.getAttribute('aria-valuemax'), '4');
        assert.match(await bar(page, 'vms').locator('.usage-numbers').innerText(), /^2\s*\/\s*5/);
        assert.match(await bar(page, 'memory_mib').locator('.usage-numbers').innerText(), /3 GiB\s*\/\s*8 GiB/);
        assert.match(await bar(page, 'disk_gib').locator('.usage-numbers').innerText(), /50 GiB\s*\/\s*100 GiB/);
        /* runtime: limits and the newest sample */
        const runtime = page.getByTestId('runtime-panel');
        assert.equal((await runtime.getByTestId('runtime-cpu_cores').innerText()).trim(), '2 cores');
        assert.match(await runtime.getByTestId('samples-table').innerText(), /cgroup v2/);
        assert.match(await runtime.getByTestId('runtime-memory').locator('.usage-numbers').innerText(), /1\.5 GiB\s*\/\s*2 GiB/);
        assert.match(await runtime.getByTestId('runtime-pids').locator('.usage-numbers').innerText(), /42\s*\/\s*100/);
        /* one sample: no rate yet, but the memory chart has its point, in text too */
        await runtime.getByTestId('chart-memory-latest').waitFor({ timeout: 30000 });
        assert.match(await runtime.getByTestId('chart-memory-latest').innerText(), /1\.5 GiB/);
        assert.match(await runtime.getByTestId('chart-memory-limit').innerText(), /cap 2 GiB/);
        await screenshot(page, 'quota-bars');

        /* the editor: the server's validation error lands under its field */
        await page.getByTestId('edit-quota').click();
        const dlg = page.getByRole('dialog', { name: /Quota of/ });
        const vcpuInput = dlg.getByLabel('vCPUs', { exact: true });
        assert.equal(await vcpuInput.inputValue(), '4');
        await vcpuInput.fill('-1');
        const [bad] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith(`/tenants/${t.id}/quota`) && r.request().method() === 'PUT'),
            dlg.getByRole('button', { name: 'Save quota' }).click(),
        ]);
        assert.equal(bad.status(), 400);
        const problem = await bad.json();
        const fieldErr = (problem.errors || []).find((e) => e.field === 'vcpus');
        assert.ok(fieldErr, JSON.stringify(problem));
        assert.equal(await vcpuInput.getAttribute('aria-invalid'), 'true');
        const errId = (await vcpuInput.getAttribute('aria-describedby')).split(' ').find((id) => id.endsWith('-error'));
        assert.equal((await page.locator(`[id="${errId}"]`).innerText()).trim(), fieldErr.message);
        assert.ok(await page.evaluate(() => document.activeElement.getAttribute('aria-invalid') === 'true'), 'focus on the bad field');
        await screenshot(page, 'quota-editor-invalid', { fullPage: false });

        /* lowering below usage is allowed and reported */
        await vcpuInput.fill('2');
        await dlg.getByLabel('VMs', { exact: true }).fill('1');
        const [good] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith(`/tenants/${t.id}/quota`) && r.request().method() === 'PUT'),
            dlg.getByRole('button', { name: 'Save quota' }).click(),
        ]);
        assert.equal(good.status(), 200);
        const saved = await good.json();
        assert.deepEqual(saved.over_quota.map((v) => v.resource).sort(), ['vcpus', 'vms']);
        await dlg.waitFor({ state: 'detached' });
        const report = page.getByTestId('over-quota-report');
        await report.waitFor();
        assert.match(await report.getByTestId('over-vcpus').innerText(), /3 used, limit 2 — 1 over/);
        assert.match(await report.getByTestId('over-vms').innerText(), /2 used, limit 1 — 1 over/);
        assert.match(await report.innerText(), /Nothing was stopped/);
        await page.waitForFunction(() => document.querySelector('[data-testid="usage-vcpus"]').dataset.state === 'over');
        assert.match(await bar(page, 'vcpus').getByTestId('over-badge').innerText(), /over by 1/);
        assert.equal(await bar(page, 'memory_mib').getAttribute('data-state'), 'ok');
        await screenshot(page, 'quota-over');
        await done(p);
    });

    test('runtime usage: bars against the runtime limits, 24 h charts with their numbers, enforcement per host', async () => {
        const t = await createTenant(api, 'e2e-q-history', 'Quota history lab');
        seedVms(server, t.id, [{ name: 'batch-1', vcpus: 4, memory_mib: 4096, disk_gib: 20 }]);
        /* 40 minutes of samples a minute apart, ending 2 minutes ago, as the sampler
         * stores them (cumulative counters): 1.5 cores, 1 MiB/s read in 50 IOPS, 1 GiB */
        const MiB = 1024 * 1024;
        const end = Date.now() - 120000;
        for (let i = 0; i <= 40; i++) {
            seedSample(server, t.id, {
                mode: 'cgroup', ts: new Date(end - (40 - i) * 60000).toISOString(),
                cpu_usage_usec: i * 90_000_000, memory_bytes: 1024 * MiB, pids: 30,
                io_read_bytes: i * 60 * MiB, io_read_ios: i * 3000,
            });
        }
        const put = await api.put(`/api/v1/tenants/${t.id}/quota`, { cpu_cores: 2, memory_max_mib: 2048, io_read_bps: 4 * MiB });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        const hist = await api.get(`/api/v1/tenants/${t.id}/usage/history?step=300`);
        assert.equal(hist.status, 200, JSON.stringify(hist.body));
        assert.ok(hist.body.total.length >= 8, `buckets: ${hist.body.total.length}`);

        const p = await quotaPage();
        const { page } = p;
        await pickTenant(page, t);
        const runtime = page.getByTestId('runtime-panel');
        /* the CPU chart: a line, its latest value and the cap in text, all points in a table */
        const cpu = runtime.getByTestId('chart-cpu');
        await cpu.locator('svg path').first().waitFor({ state: 'attached', timeout: 30000 }); /* a flat line has no height: not "visible" */
        assert.equal((await runtime.getByTestId('chart-cpu-latest').innerText()).trim(), '1.5 cores');
        assert.match(await runtime.getByTestId('chart-cpu-limit').innerText(), /cap 2 cores/);
        assert.match(await cpu.getByRole('img').getAttribute('aria-label'), /latest 1\.5 cores.*cap 2 cores/);
        assert.ok(Number(await cpu.getAttribute('data-points')) >= 8);
        await cpu.getByText(/Show the numbers/).click();
        const rows = cpu.locator('tbody tr');
        await rows.first().waitFor({ timeout: 30000 });
        assert.equal(await rows.count(), Number(await cpu.getAttribute('data-points')));
        assert.match(await rows.last().innerText(), /1\.5 cores/);
        assert.equal((await runtime.getByTestId('chart-memory-latest').innerText()).trim(), '1 GiB');
        assert.equal((await runtime.getByTestId('chart-io-latest').innerText()).trim(), '1 MiB/s');
        assert.match(await runtime.getByTestId('chart-iops-latest').innerText(), /^50 IOPS$/);
        /* the bars: the newest 5-minute rates against the runtime limits */
        assert.match(await runtime.getByTestId('runtime-cpu').locator('.usage-numbers').innerText(), /^1\.5\s*\/\s*2/);
        assert.match(await runtime.getByTestId('runtime-read-bps').locator('.usage-numbers').innerText(), /1 MiB\/s\s*\/\s*4 MiB\/s/);
        assert.match(await runtime.getByTestId('runtime-memory').locator('.usage-numbers').innerText(), /1 GiB\s*\/\s*2 GiB/);
        /* the enforcement table names a mode per host, as a badge with its text */
        const row = runtime.getByTestId('enforcement-row').first();
        await row.waitFor({ timeout: 30000 });
        const mode = await row.getAttribute('data-mode');
        const text = { cgroup: 'cgroup v2', libvirt: 'libvirt (per VM)', none: 'not enforced' }[mode];
        assert.ok(text, `mode ${mode}`);
        assert.equal((await row.locator('.badge').innerText()).trim(), text);
        await screenshot(page, 'quota-history');

        /* the hosts page: a quota enforcement column (a mode once the host was checked) */
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
        const table = page.getByTestId('hosts-table');
        await table.getByRole('columnheader', { name: 'Quota enforcement' }).waitFor({ timeout: 30000 });
        const hosts = (await api.get('/api/v1/hosts?limit=100')).body.items || [];
        for (const h of hosts.filter((x) => x.quota_enforcement && x.quota_enforcement.mode)) {
            const link = page.getByTestId('host-link').getByText(h.name, { exact: true }); /* relative to the row */
            const cell = table.getByRole('row').filter({ has: link }).getByTestId('host-enforcement');
            await cell.waitFor({ timeout: 30000 });
            assert.equal(await cell.getAttribute('data-mode'), h.quota_enforcement.mode, h.name);
        }
        await screenshot(page, 'hosts-enforcement');
        await done(p);
    });

    test('the dry run explains a refusal and prefills a quota request', async () => {
        const t = await createTenant(api, 'e2e-q-check', 'Quota check lab');
        seedVms(server, t.id, [{ name: 'app-1', vcpus: 2, memory_mib: 4096, disk_gib: 40 }]);
        assert.equal((await api.put(`/api/v1/tenants/${t.id}/quota`, { vms: 3, vcpus: 4, memory_mib: 8192 })).status, 200);

        const p = await quotaPage();
        const { page } = p;
        await pickTenant(page, t);
        const form = page.getByTestId('quota-check-form');
        const check = async () => {
            const [res] = await Promise.all([
                page.waitForResponse((r) => r.url().endsWith(`/tenants/${t.id}/quota/check`)),
                form.getByRole('button', { name: 'Check' }).click(),
            ]);
            assert.equal(res.status(), 200);
            return res.json();
        };
        /* fits */
        await form.getByLabel('VMs', { exact: true }).fill('1');
        await form.getByLabel('vCPUs', { exact: true }).fill('2');
        assert.equal((await check()).admitted, true);
        await page.getByTestId('check-admitted').waitFor();
        assert.match(await page.getByTestId('check-admitted').innerText(), /vCPUs: 4 after it of 4/);

        /* does not fit: 2 used + 6 > 4, 4096 + 8192 > 8192 */
        await form.getByLabel('vCPUs', { exact: true }).fill('6');
        await form.getByLabel('Memory (MiB)').fill('8192');
        const result = await check();
        assert.equal(result.admitted, false);
        const refusal = page.getByTestId('quota-refusal');
        await refusal.waitFor();
        assert.match(await refusal.innerText(), /would be refused/);
        assert.match(await refusal.getByTestId('refusal-vcpus').innerText(),
            /vCPUs: 6 requested, but only 2 of the limit of 4 is free \(2 used\)\. Short by 4\./);
        assert.match(await refusal.getByTestId('refusal-memory_mib').innerText(), /Short by 4 GiB/);
        assert.match(await refusal.innerText(), /What you can do/);
        await screenshot(page, 'quota-refusal');

        await refusal.getByTestId('request-more-quota').click();
        const dlg = page.getByRole('dialog', { name: /Request more quota/ });
        assert.equal(await dlg.getByLabel('More vCPUs').inputValue(), String(result.quota_request.deltas.vcpus));
        assert.equal(await dlg.getByLabel('More Memory (MiB)').inputValue(), String(result.quota_request.deltas.memory_mib));
        assert.equal(await dlg.getByLabel('Justification').inputValue(), result.quota_request.justification);
        await dlg.getByLabel('Justification').fill('Nightly builds need two more runners.');
        const [sent] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/v1/quota-requests') && r.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Send request' }).click(),
        ]);
        const expected = { tenant_id: t.id, deltas: result.quota_request.deltas, justification: 'Nightly builds need two more runners.' };
        assert.deepEqual(sent.request().postDataJSON(), expected);
        assert.equal(sent.status(), 201, `quota request: ${sent.status()} ${await sent.text()}`);
        await dlg.waitFor({ state: 'detached' });
        /* the tenant's quota page lists it as pending */
        const created = await sent.json();
        await page.getByTestId('pending-requests').getByRole('link', { name: `#${created.id}` }).waitFor();
        await screenshot(page, 'quota-request-sent');
        await done(p);
    });

    test('a tenant user sees their own tenant, without editor or picker; the menu names the tenant', async () => {
        const t = await createTenant(api, 'e2e-q-own', 'Own tenant lab');
        await createTenantUser(api, t, 'e2e-q-member', PASSWORD, 'tenant-member');
        assert.equal((await api.put(`/api/v1/tenants/${t.id}/quota`, { vms: 2, vcpus: 8 })).status, 200);

        const p = await quotaPage('e2e-q-member', PASSWORD);
        const { page } = p;
        await page.setViewportSize({ width: 390, height: 844 }); /* a phone: the page must still read well */
        await page.getByRole('heading', { name: 'Quota of Own tenant lab (e2e-q-own)' }).waitFor();
        await page.locator(`[data-testid="tenant-quota"][data-tenant="${t.id}"]`).waitFor();
        assert.equal(await page.getByTestId('tenant-picker').count(), 0);
        assert.equal(await page.getByTestId('edit-quota').count(), 0, 'quota.write is not theirs');
        assert.match(await bar(page, 'vms').locator('.usage-numbers').innerText(), /^0\s*\/\s*2/);
        assert.match(await bar(page, 'memory_mib').innerText(), /no limit/);
        assert.match(await page.getByTestId('no-samples').innerText(), /No measurements yet/);
        await page.getByTestId('theme-toggle').click();
        await screenshot(page, 'quota-tenant-mobile');
        await page.getByTestId('user-menu').click();
        assert.equal((await page.getByTestId('me-tenant').innerText()).trim(), 'Own tenant lab (e2e-q-own)');
        await page.keyboard.press('Escape');
        await done(p);
    });
});
