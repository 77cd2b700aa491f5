// The audit viewer against the real server: newest first with cursor pages, filters
// (in the URL), the record drawer with before/after of changed fields, JSONL and CSV
// exports downloaded with the bearer token, chain verification, and the tenant scope
// of a tenant administrator.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { apiAs, createTenant, createTenantUser } from './lib/fixtures.mjs';

const PASSWORD = 'correct horse battery staple 42';

describe('audit', () => {
    let server;
    let browser;
    let api;
    let lab;

    before(async () => {
        server = await startServer('audit');
        browser = await launchBrowser();
        api = await apiAs(server);
        /* events to look at: creations, a rename (per-field before/after), a quota change
         * (whole before/after objects) */
        lab = await createTenant(api, 'e2e-audit-lab', 'Audit lab');
        const renamed = await api.patch(`/api/v1/tenants/${lab.id}`, { name: 'Audit laboratory' });
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        assert.equal((await api.post('/api/v1/tenants', { slug: 'e2e-audit-extra', name: 'Extra' })).status, 201);
        for (let i = 1; i <= 25; i++) assert.equal((await api.put(`/api/v1/tenants/${lab.id}/quota`, { vms: i })).status, 200);
    });
    after(async () => {
        if (api) await api.dispose();
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function auditPage(login = server.login, password = server.password) {
        const p = await openPage(browser, server.url);
        await signIn(p.page, login, password);
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
        await p.page.getByRole('heading', { name: 'Audit log' }).waitFor();
        return p;
    }
    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }
    const seqs = async (page) => (await page.getByTestId('audit-table').locator('tbody tr td.num').allInnerTexts()).map(Number);
    async function applyFilters(page, fill) {
        const form = page.getByTestId('audit-filters');
        await fill(form);
        const [res] = await Promise.all([
            page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/audit'),
            form.getByRole('button', { name: 'Apply filters' }).click(),
        ]);
        assert.equal(res.status(), 200, await res.text());
        return res.json();
    }

    test('newest first with cursor pages; filter by action; the drawer shows before and after', async () => {
        const p = await auditPage();
        const { page } = p;
        const table = page.getByTestId('audit-table');
        await table.locator('tbody tr td.num').first().waitFor();
        await table.getByLabel('Rows per page').selectOption('25');
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 25);
        const first = await seqs(page);
        assert.deepEqual(first, [...first].sort((a, b) => b - a), 'newest first');
        const [next] = await Promise.all([
            page.waitForResponse((r) => r.url().includes('/api/v1/audit?') && new URL(r.url()).searchParams.has('cursor')),
            table.getByRole('button', { name: 'Next page' }).click(),
        ]);
        assert.equal(next.status(), 200);
        await page.waitForFunction((last) => {
            const c = document.querySelector('[data-testid="audit-table"] tbody tr td.num');
            return c && Number(c.textContent) < last;
        }, first[first.length - 1]);
        const second = await seqs(page);
        assert.ok(second[0] < first[first.length - 1], 'the next page continues the sequence downwards');
        await screenshot(page, 'audit');

        const body = await applyFilters(page, (f) => f.getByLabel('Action (prefix)').fill('quota.update'));
        assert.ok(body.items.length >= 25);
        assert.match(page.url(), /\/audit\?action=quota\.update$/, 'the filter is in the URL');
        await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="audit-table"] tbody tr')]
            .every((tr) => tr.textContent.includes('quota.update')));
        /* the newest quota change: vms 24 → 25 */
        await table.locator('tbody tr').first().getByRole('button').click();
        const drawer = page.getByTestId('audit-drawer');
        await drawer.waitFor();
        const diff = drawer.getByTestId('audit-diff');
        const vmsRow = diff.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^vms/ }) });
        await vmsRow.waitFor();
        assert.deepEqual((await vmsRow.locator('td').allInnerTexts()).map((s) => s.trim()), ["24", "25"]);
        assert.match(await vmsRow.getByRole('rowheader').innerText(), /vms/);
        assert.match(await drawer.innerText(), /tenant\/\d+\/quota/);
        assert.match(await drawer.innerText(), /[0-9a-f]{64}/, 'the record hash is shown');
        await screenshot(page, 'audit-drawer', { fullPage: false });
        await page.keyboard.press('Escape');
        await drawer.waitFor({ state: 'detached' });

        /* the per-field form: a rename records {name: {before, after}} */
        await applyFilters(page, (f) => f.getByLabel('Action (prefix)').fill('tenant.update'));
        const row = table.locator('tbody tr').filter({ hasText: `tenant/${lab.id}` }).first();
        await row.getByRole('button').click();
        const nameRow = page.getByTestId('audit-diff').getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^name/ }) });
        await nameRow.waitFor();
        assert.deepEqual((await nameRow.locator('td').allInnerTexts()).map((s) => s.trim()), ['Audit lab', 'Audit laboratory']);
        await page.keyboard.press('Escape');
        await done(p);
    });

    test('export JSONL and CSV with the filters applied', async () => {
        const p = await auditPage();
        const { page } = p;
        await applyFilters(page, (f) => f.getByLabel('Action (prefix)').fill('tenant.'));
        const listed = await api.get('/api/v1/audit?action=tenant.&limit=1000');
        assert.equal(listed.status, 200);

        const [dl, res] = await Promise.all([
            page.waitForEvent('download'),
            page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/audit/export'),
            page.getByTestId('export-jsonl').click(),
        ]);
        assert.equal(res.status(), 200);
        assert.equal(new URL(res.url()).searchParams.get('action'), 'tenant.');
        assert.equal(new URL(res.url()).searchParams.get('format'), 'jsonl');
        assert.match(res.request().headers().authorization || '', /^Bearer /, 'the export is fetched with the token');
        assert.match(dl.suggestedFilename(), /\.jsonl$/);
        const text = await readFile(await dl.path(), 'utf8');
        const records = text.trim().split('\n').map((l) => JSON.parse(l));
        assert.ok(records.length >= 2);
        for (const rec of records) {
            assert.match(rec.action, /^tenant\./);
            assert.match(rec.hash, /^[0-9a-f]{64}$/);
            assert.equal(typeof rec.prev_hash, 'string');
        }
        const exported = records.map((r) => r.seq);
        assert.deepEqual(exported, [...exported].sort((a, b) => a - b), 'oldest first');
        /* the same events the list shows (newer ones may have been added since) */
        const listedSeqs = listed.body.items.map((r) => r.seq).sort((a, b) => a - b);
        assert.deepEqual(exported.slice(0, listedSeqs.length), listedSeqs);
        await page.getByTestId('toast').filter({ hasText: /\.jsonl/ }).waitFor();

        const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
        assert.match(csv.suggestedFilename(), /\.csv$/);
        const csvText = await readFile(await csv.path(), 'utf8');
        assert.match(csvText, /^seq,ts,actor,/);
        assert.equal(csvText.trim().split('\r\n').length, records.length + 1, 'a header and one line per record');
        await done(p);
    });

    test('verify chain shows the verdict', async () => {
        const p = await auditPage();
        const { page } = p;
        const [res] = await Promise.all([
            page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/audit/verify'),
            page.getByTestId('verify-chain').click(),
        ]);
        assert.equal(res.status(), 200);
        const verdict = await res.json();
        assert.equal(verdict.ok, true, JSON.stringify(verdict));
        const shown = page.getByTestId('verify-result');
        await shown.waitFor();
        assert.equal(await shown.getAttribute('data-ok'), 'true');
        const text = await shown.innerText();
        assert.match(text, /Chain verified: intact/);
        assert.match(text, new RegExp(`${verdict.rows.toLocaleString('en-US').replace(/,/g, '.?')} rows checked`));
        await screenshot(page, 'audit-verify');
        await done(p);
    });

    test('a tenant administrator sees only their tenant, and cannot verify the whole chain', async () => {
        const other = await createTenant(api, 'e2e-audit-other', 'Other lab');
        await createTenantUser(api, other, 'e2e-audit-tadmin', PASSWORD, 'tenant-admin');
        assert.equal((await api.put(`/api/v1/tenants/${other.id}/quota`, { vcpus: 3 })).status, 200);

        const p = await auditPage('e2e-audit-tadmin', PASSWORD);
        const { page } = p;
        const table = page.getByTestId('audit-table');
        await table.locator('tbody tr td.num').first().waitFor();
        assert.equal(await page.getByTestId('verify-chain').count(), 0);
        const tenants = await table.locator('tbody tr td:nth-child(7)').allInnerTexts();
        assert.ok(tenants.length > 0);
        for (const t of tenants) assert.equal(t.trim(), 'e2e-audit-other');
        await done(p);
    });
});
