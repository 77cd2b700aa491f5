// Identity pages against the real server: tenants (with the server's inline validation
// error), users (and what a user without roles sees), roles and bindings, API tokens
// (secret shown once, usable, revocable).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'playwright-core';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { countSettles } from './lib/wait.mjs';

describe('identity', () => {
    let server;
    let browser;

    before(async () => {
        server = await startServer('identity');
        browser = await launchBrowser();
    });
    after(async () => {
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function asAdmin(path) {
        const p = await openPage(browser, server.url);
        await signIn(p.page, server.login, server.password);
        if (path) await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: path }).click();
        return p;
    }
    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }
    const dialog = (page) => page.getByRole('dialog');

    test('create a tenant; a bad slug gets the server inline error', async () => {
        const p = await asAdmin('Tenants');
        const { page } = p;
        await page.getByRole('button', { name: 'New tenant' }).click();
        const dlg = dialog(page);
        await dlg.getByLabel('Slug').fill('Not A Slug!');
        await dlg.getByLabel('Name').fill('Physics laboratory');
        const [bad] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/v1/tenants') && r.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create tenant' }).click(),
        ]);
        assert.equal(bad.status(), 400);
        assert.match(bad.headers()['content-type'], /application\/problem\+json/);
        const problem = await bad.json();
        const slugError = (problem.errors || []).find((e) => e.field === 'slug');
        assert.ok(slugError, `the server names the slug field: ${JSON.stringify(problem)}`);
        const slugInput = dlg.getByLabel('Slug');
        assert.equal(await slugInput.getAttribute('aria-invalid'), 'true');
        const errId = (await slugInput.getAttribute('aria-describedby')).split(' ').find((id) => id.endsWith('-error'));
        assert.equal((await page.locator(`[id="${errId}"]`).innerText()).trim(), slugError.message);
        await screenshot(page, 'tenant-bad-slug');

        await slugInput.fill('e2e-physics');
        const [good] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/v1/tenants') && r.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create tenant' }).click(),
        ]);
        assert.equal(good.status(), 201);
        await dlg.waitFor({ state: 'detached' });
        const row = page.getByTestId('tenants-table').getByRole('row').filter({ hasText: 'e2e-physics' });
        await row.waitFor();
        assert.match(await row.innerText(), /Physics laboratory/);
        await screenshot(page, 'tenants');
        await done(p);
    });

    test('tenants table: paging, sorting, filter, keyboard dialog, bulk delete', async () => {
        /* 30 more tenants through the API, so the table has more than one page. */
        const api = await httpRequest.newContext({ baseURL: server.url, ignoreHTTPSErrors: true });
        const login = await api.post('/api/v1/auth/login', { data: { login: server.login, password: server.password } });
        assert.equal(login.status(), 200);
        const headers = { Authorization: `Bearer ${(await login.json()).access_token}`, 'X-VP-CSRF': '1' };
        for (let i = 1; i <= 30; i++) {
            const n = String(i).padStart(2, '0');
            const r = await api.post('/api/v1/tenants', { headers, data: { slug: `e2e-t${n}`, name: `Team ${n}` } });
            assert.equal(r.status(), 201, await r.text());
        }
        /* the demo may seed tenants of its own: count them all */
        const all = await api.get('/api/v1/tenants?limit=1000&sort=slug', { headers });
        const slugs = (await all.json()).items.map((t) => t.slug);
        assert.ok(slugs.length > 25 && slugs.length <= 50, `two pages of 25: ${slugs.length} tenants`);
        await api.dispose();

        const p = await asAdmin('Tenants');
        const { page } = p;
        const table = page.getByTestId('tenants-table');
        const bodyRows = table.locator('tbody tr');
        const listed = (pred) => page.waitForResponse((r) => r.url().includes('/api/v1/tenants?') && pred(new URL(r.url()).searchParams));
        await table.getByRole('rowheader', { name: 'e2e-t01', exact: true }).waitFor();

        await Promise.all([listed((q) => q.get('limit') === '25'), table.getByLabel('Rows per page').selectOption('25')]);
        await table.getByRole('rowheader', { name: 'e2e-t01', exact: true }).waitFor();
        assert.equal(await countSettles(bodyRows, 25), 25);
        const [next] = await Promise.all([listed((q) => q.has('cursor')), table.getByRole('button', { name: 'Next page' }).click()]);
        assert.equal(next.status(), 200);
        await table.getByRole('rowheader', { name: 'e2e-t30', exact: true }).waitFor();
        assert.equal(await countSettles(bodyRows, slugs.length - 25), slugs.length - 25, `${slugs.length} tenants in all`);
        assert.ok(await table.getByRole('button', { name: 'Next page' }).isDisabled());
        await Promise.all([listed((q) => !q.has('cursor')), table.getByRole('button', { name: 'First page' }).click()]);
        await table.getByRole('rowheader', { name: 'e2e-t01', exact: true }).waitFor();

        const slugHeader = table.getByRole('columnheader', { name: /Slug/ });
        assert.equal(await slugHeader.getAttribute('aria-sort'), 'ascending');
        await Promise.all([listed((q) => q.get('sort') === '-slug'), slugHeader.getByRole('button').click()]);
        assert.equal(await slugHeader.getAttribute('aria-sort'), 'descending');
        await table.getByRole('rowheader', { name: 'e2e-t30', exact: true }).waitFor();
        assert.equal((await bodyRows.first().locator('th').innerText()).trim(), slugs[slugs.length - 1]);

        await Promise.all([listed((q) => q.get('q') === 't07'), table.getByRole('searchbox').fill('t07')]);
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="tenants-table"] tbody tr').length === 1);
        assert.equal((await bodyRows.first().locator('th').innerText()).trim(), 'e2e-t07');
        await table.getByRole('searchbox').fill('');

        /* Keyboard: Enter opens the dialog with focus inside, Esc closes it and gives focus back. */
        const newButton = page.getByRole('button', { name: 'New tenant' });
        await newButton.focus();
        await page.keyboard.press('Enter');
        await dialog(page).waitFor();
        assert.ok(await page.evaluate(() => !!document.activeElement.closest('dialog')), 'focus moved into the dialog');
        await page.keyboard.press('Escape');
        await dialog(page).waitFor({ state: 'detached' });
        assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'New tenant');

        /* still sorted by slug, descending */
        await table.getByRole('rowheader', { name: 'e2e-t30', exact: true }).waitFor();
        await table.getByRole('checkbox', { name: 'Select e2e-t30' }).check();
        await table.getByRole('checkbox', { name: 'Select e2e-t29' }).check();
        const bulk = page.getByRole('region', { name: 'Bulk actions' });
        assert.match(await bulk.innerText(), /2 selected/);
        await screenshot(page, 'tenants-bulk');
        await bulk.getByRole('button', { name: 'Delete selected' }).click();
        const deletes = [];
        page.on('response', (r) => r.request().method() === 'DELETE' && deletes.push(r.status()));
        await dialog(page).getByRole('button', { name: 'Delete' }).click();
        await table.getByRole('rowheader', { name: 'e2e-t30', exact: true }).waitFor({ state: 'detached' });
        await table.getByRole('rowheader', { name: 'e2e-t29', exact: true }).waitFor({ state: 'detached' });
        await table.getByRole('rowheader', { name: 'e2e-t28', exact: true }).waitFor();
        assert.deepEqual(deletes, [204, 204]);
        await done(p);
    });

    test('create a user who then sees only what their roles allow', async () => {
        const p = await asAdmin('Users');
        const { page } = p;
        await page.getByRole('button', { name: 'New user' }).click();
        const dlg = dialog(page);
        await dlg.getByRole('textbox', { name: 'Login', exact: true }).fill('e2e-alice');
        await dlg.getByLabel('Initial password').fill('correct horse battery staple 42');
        const tenant = dlg.getByLabel('Tenant');
        const option = tenant.locator('option', { hasText: 'e2e-physics' });
        const inTenant = (await option.count()) > 0;
        if (inTenant) await tenant.selectOption(await option.getAttribute('value'));
        const [res] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/v1/users') && r.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create user' }).click(),
        ]);
        assert.equal(res.status(), 201, `create user: ${await res.text()}`);
        await dlg.waitFor({ state: 'detached' });
        const row = page.getByTestId('users-table').getByRole('row').filter({ hasText: 'e2e-alice' });
        await row.waitFor();
        if (inTenant) assert.match(await row.innerText(), /e2e-physics/);
        await screenshot(page, 'users');
        await done(p);

        /* The new user has no role binding: the shell must not offer admin pages. */
        const q = await openPage(browser, server.url);
        await signIn(q.page, 'e2e-alice', 'correct horse battery staple 42');
        const nav = q.page.getByRole('navigation', { name: 'Main' });
        assert.ok(await nav.getByRole('link', { name: 'Dashboard' }).isVisible());
        for (const name of ['Tenants', 'Users', 'Roles & bindings', 'Audit'])
            assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} hidden without permission`);
        await screenshot(q.page, 'dashboard-unprivileged');
        await done(q);
    });

    test('roles and bindings list the built-in roles and the admin binding', async () => {
        const p = await asAdmin('Roles & bindings');
        const { page } = p;
        const roles = page.getByTestId('roles-table');
        for (const name of ['admin', 'operator', 'auditor', 'viewer'])
            await roles.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) }).waitFor();
        await screenshot(page, 'roles');
        await page.getByRole('link', { name: 'Bindings', exact: true }).click();
        await page.getByTestId('bindings-table').getByRole('row').filter({ hasText: server.login }).first().waitFor();
        await screenshot(page, 'role-bindings');
        await done(p);
    });

    test('create an API token: the secret is shown once, works, and stops after revoke', async () => {
        const p = await asAdmin('API tokens');
        const { page } = p;
        await page.getByRole('button', { name: 'New token' }).click();
        const dlg = dialog(page);
        await dlg.getByLabel('Name').fill('e2e-ci');
        const [res] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/v1/tokens') && r.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create token' }).click(),
        ]);
        assert.equal(res.status(), 201);
        const created = await res.json();
        assert.ok(created.secret, 'the 201 carries the secret');
        const secretBox = page.getByTestId('token-secret');
        await secretBox.waitFor();
        assert.equal(await secretBox.inputValue(), created.secret);
        await screenshot(page, 'token-secret');
        await page.getByRole('button', { name: 'I have stored it' }).click();
        await secretBox.waitFor({ state: 'detached' });

        const row = page.getByTestId('tokens-table').getByRole('row').filter({ hasText: 'e2e-ci' });
        await row.waitFor();
        assert.ok(!(await page.content()).includes(created.secret), 'the secret is gone from the page');
        const [list] = await Promise.all([
            page.waitForResponse((r) => r.url().includes('/api/v1/tokens?') && r.request().method() === 'GET'),
            page.getByRole('button', { name: 'Reload' }).click(),
        ]);
        assert.ok(!(await list.text()).includes(created.secret), 'the list never returns the secret');

        const api = await httpRequest.newContext({ baseURL: server.url, ignoreHTTPSErrors: true });
        const me = await api.get('/api/v1/me', { headers: { Authorization: `Bearer ${created.secret}` } });
        assert.equal(me.status(), 200, 'the token authenticates');
        assert.equal((await me.json()).login, server.login);

        await row.getByRole('button', { name: 'Revoke e2e-ci' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
        await row.getByText('Revoked').waitFor();
        const after = await api.get('/api/v1/me', { headers: { Authorization: `Bearer ${created.secret}` } });
        assert.equal(after.status(), 401, 'a revoked token is refused');
        await api.dispose();
        await screenshot(page, 'tokens');
        await done(p);
    });
});
