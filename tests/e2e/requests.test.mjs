// Quota requests, notifications and webhooks in the UI against the real server: the
// approvers' queue with each request's usage and capacity context, Deny with a reason
// the requester then reads (list and bell), nobody deciding their own request, two
// administrators deciding at once (the loser is told and the queue refreshes), the
// server's validation inside the Approve dialog, a request by target with an end date
// and its withdrawal, the notifications page, and a webhook whose secret is shown once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { apiAs, createTenant, createTenantUser, seedVms } from './lib/fixtures.mjs';

const PASSWORD = 'correct horse battery staple 42';

describe('quota requests', () => {
    let server;
    let browser;
    let api;

    before(async () => {
        server = await startServer('requests');
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
    async function signedIn(login, password) {
        const p = await openPage(browser, server.url);
        await signIn(p.page, login, password);
        return p;
    }
    const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    /* A tenant with a quota and a member; returns { tenant, member: API client }. */
    async function tenantWithMember(slug, quota) {
        const tenant = await createTenant(api, slug, `Lab ${slug}`);
        await createTenantUser(api, tenant, `${slug}-m`, PASSWORD, 'tenant-member');
        const q = await api.put(`/api/v1/tenants/${tenant.id}/quota`, quota);
        assert.equal(q.status, 200, JSON.stringify(q.body));
        return { tenant, login: `${slug}-m`, member: await apiAs(server, `${slug}-m`, PASSWORD) };
    }
    async function ask(client, body) {
        const r = await client.post('/api/v1/quota-requests', body);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body;
    }
    async function queue(page) {
        await nav(page, 'Quota requests');
        await page.getByRole('link', { name: 'Approval queue' }).click();
        await page.waitForURL(/\/quota-requests\/queue$/);
        await page.getByTestId('queue-count').filter({ hasNotText: 'Loading' }).waitFor();
    }
    const cardOf = (page, id) => page.locator(`[data-testid="request-card"][data-id="${id}"]`);
    /* The field is marked invalid (after the answer has been rendered). */
    const invalid = (input) => input.and(input.page().locator('[aria-invalid="true"]')).waitFor();
    const errorOf = async (page, input) => {
        const ids = ((await input.getAttribute('aria-describedby')) || '').split(' ');
        const id = ids.find((x) => x.endsWith('-error'));
        assert.ok(id, 'the field has an error message');
        return (await page.locator(`[id="${id}"]`).innerText()).trim();
    };

    test('the queue shows usage and capacity; Deny needs a reason, which the requester reads', async () => {
        const { tenant, login, member } = await tenantWithMember('e2e-rq-deny', { vcpus: 8, memory_mib: 8192 });
        seedVms(server, tenant.id, [{ name: 'build-1', vcpus: 2, memory_mib: 2048, disk_gib: 20 }]);
        const r = await ask(member, { tenant_id: tenant.id, deltas: { vcpus: 4 }, justification: 'A bigger build farm.' });
        await member.dispose();

        const a = await signedIn(server.login, server.password);
        const { page } = a;
        await queue(page);
        const card = cardOf(page, r.id);
        await card.waitFor();
        assert.match(await card.getByTestId('justification').innerText(), /A bigger build farm\./);
        assert.deepEqual((await card.getByTestId('ctx-vcpus').locator('td').allInnerTexts()).map((s) => s.trim()),
            ['2', '8', '+4', '12'], 'in use, limit, asked, limit if granted');
        assert.match(await card.getByTestId('cluster-context').innerText(), /Cluster: \d+ hosts?, \d+ cores with \d+ vCPUs allocated/);
        await screenshot(page, 'requests-queue');

        await card.getByTestId('deny').click();
        const dlg = page.getByRole('dialog', { name: `Deny request #${r.id} of e2e-rq-deny` });
        await dlg.getByRole('button', { name: 'Deny' }).click();
        const reason = dlg.getByLabel('Reason');
        assert.equal(await reason.getAttribute('aria-invalid'), 'true', 'a reason is required');
        assert.equal(await errorOf(page, reason), 'Required.');
        await reason.fill('The cluster is full until the new hosts arrive in March.');
        const [denied] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith(`/quota-requests/${r.id}/deny`)),
            dlg.getByRole('button', { name: 'Deny' }).click(),
        ]);
        assert.equal(denied.status(), 200, await denied.text());
        await dlg.waitFor({ state: 'detached' });
        await card.waitFor({ state: 'detached' }); /* no longer pending */
        await done(a);

        /* the requester: the list says why, and so does the bell */
        const m = await signedIn(login, PASSWORD);
        await m.page.getByTestId('bell-count').waitFor();
        await nav(m.page, 'Quota requests');
        const row = m.page.getByTestId('requests-table').locator('tbody tr').filter({ has: m.page.getByRole('link', { name: `#${r.id}`, exact: true }) });
        await row.waitFor();
        assert.match(await row.getByTestId('request-state').innerText(), /denied/);
        assert.match(await row.getByTestId('row-reason').innerText(), /new hosts arrive in March/);
        assert.match(await row.innerText(), new RegExp(server.login));
        await screenshot(m.page, 'requests-list-denied');
        await m.page.getByTestId('bell').click();
        const note = m.page.getByTestId('bell-panel').locator('[data-kind="quota_request.denied"]');
        assert.match(await note.innerText(), new RegExp(`#${r.id} was denied by ${server.login}`));
        assert.match(await note.innerText(), /Reason: The cluster is full/);
        await note.getByRole('link').click(); /* read, and leads to the request */
        await m.page.waitForURL(new RegExp(`/quota-requests/${r.id}$`));
        assert.match(await m.page.getByTestId('decision-reason').innerText(), /new hosts arrive in March/);
        await m.page.getByTestId('bell-count').waitFor({ state: 'detached' });
        await done(m);
    });

    test('nobody decides their own request: the buttons are disabled and say why', async () => {
        const tenant = await createTenant(api, 'e2e-rq-own', 'Own request lab');
        assert.equal((await api.put(`/api/v1/tenants/${tenant.id}/quota`, { vcpus: 4 })).status, 200);
        const r = await ask(api, { tenant_id: tenant.id, deltas: { vcpus: 2 }, justification: 'Mine.' });
        const a = await signedIn(server.login, server.password);
        await queue(a.page);
        const card = cardOf(a.page, r.id);
        await card.waitFor();
        assert.equal(await card.getByTestId('approve').isDisabled(), true);
        assert.equal(await card.getByTestId('deny').isDisabled(), true);
        const note = card.getByTestId('own-request-note');
        assert.match(await note.innerText(), /You asked for this yourself: another administrator must decide/);
        assert.equal(await card.getByTestId('approve').getAttribute('aria-describedby'), await note.getAttribute('id'));
        assert.ok(await card.getByTestId('withdraw').isEnabled(), 'but the requester may withdraw it');
        /* the server agrees */
        const refused = await api.post(`/api/v1/quota-requests/${r.id}/approve`, { comment: 'self' });
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        await screenshot(a.page, 'requests-own');
        await done(a);
    });

    test('two administrators decide at once: the loser is told, and the queue refreshes', async () => {
        const { tenant, member } = await tenantWithMember('e2e-rq-race', { vcpus: 4 });
        const r = await ask(member, { tenant_id: tenant.id, deltas: { vcpus: 2 }, justification: 'Race.' });
        await member.dispose();
        const u = await api.post('/api/v1/users', { login: 'e2e-admin-two', password: PASSWORD });
        assert.equal(u.status, 201, JSON.stringify(u.body));
        const b = await api.post('/api/v1/role-bindings', { subject_kind: 'user', subject_id: u.body.id, role: 'admin', scope: 'global' });
        assert.equal(b.status, 201, JSON.stringify(b.body));
        const other = await apiAs(server, 'e2e-admin-two', PASSWORD);

        const a = await signedIn(server.login, server.password);
        const { page } = a;
        await queue(page);
        const card = cardOf(page, r.id);
        await card.getByTestId('approve').click();
        const dlg = page.getByRole('dialog', { name: `Approve request #${r.id} of e2e-rq-race` });
        await dlg.getByLabel('Comment').fill('Fine by me.');
        /* meanwhile, the other administrator denies it */
        const first = await other.post(`/api/v1/quota-requests/${r.id}/deny`, { reason: 'Faster.' });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        await other.dispose();
        const [late] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith(`/quota-requests/${r.id}/approve`)),
            dlg.getByRole('button', { name: 'Approve' }).click(),
        ]);
        assert.equal(late.status(), 409);
        const toast = page.getByTestId('toast').filter({ hasText: 'Someone else decided' });
        await toast.waitFor();
        assert.match(await toast.innerText(), new RegExp(`Request #${r.id} was decided meanwhile`));
        await dlg.waitFor({ state: 'detached' });
        await card.waitFor({ state: 'detached' });
        await screenshot(page, 'requests-race', { fullPage: false });
        const now = await api.get(`/api/v1/quota-requests/${r.id}`);
        assert.equal(now.body.state, 'denied', 'the first decision stands');
        assert.equal(now.body.decided_by.login, 'e2e-admin-two');
        await done(a);
    });

    test('Approve: the server\u2019s errors land on their fields; a partial grant with an end is shown', async () => {
        const { tenant, member } = await tenantWithMember('e2e-rq-partial', { vcpus: 4, memory_mib: 4096 });
        const r = await ask(member, { tenant_id: tenant.id, deltas: { vcpus: 4, memory_mib: 2048 }, justification: 'Two jobs.' });
        await member.dispose();
        const a = await signedIn(server.login, server.password);
        const { page } = a;
        await page.goto(`/quota-requests/${r.id}`);
        const card = cardOf(page, r.id);
        await card.getByTestId('approve').click();
        const dlg = page.getByRole('dialog', { name: `Approve request #${r.id} of e2e-rq-partial` });
        const approve = () => Promise.all([
            page.waitForResponse((x) => x.url().endsWith(`/quota-requests/${r.id}/approve`)),
            dlg.getByRole('button', { name: 'Approve' }).click(),
        ]).then(([x]) => x);
        const vcpus = dlg.getByLabel('vCPUs to grant');
        await vcpus.fill('6'); /* more than asked */
        await dlg.getByLabel('Comment').fill('Half of the vCPUs.');
        let res = await approve();
        assert.equal(res.status(), 400);
        await invalid(vcpus);
        const field = ((await res.json()).errors || []).find((e) => e.field === 'resources.vcpus');
        assert.ok(field, 'the server names resources.vcpus');
        assert.equal(await errorOf(page, vcpus), field.message);

        await vcpus.fill('2');
        await dlg.getByRole('radio', { name: 'Until a time' }).check();
        const ends = dlg.getByLabel('Ends at');
        assert.notEqual(await ends.inputValue(), '', 'a default end is offered');
        await ends.fill('2020-01-01T10:00'); /* in the past */
        res = await approve();
        assert.equal(res.status(), 400);
        await invalid(ends);
        assert.match(await errorOf(page, ends), /future/);
        await screenshot(page, 'requests-approve-invalid', { fullPage: false });

        const future = await page.evaluate(() => {
            const d = new Date(Date.now() + 10 * 86400 * 1000);
            const p = (n) => String(n).padStart(2, '0');
            return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T12:00`;
        });
        await ends.fill(future);
        res = await approve();
        assert.equal(res.status(), 200, await res.text());
        assert.deepEqual(res.request().postDataJSON().resources, { vcpus: 2, memory_mib: 2048 });
        await dlg.waitFor({ state: 'detached' });
        await page.waitForFunction((id) => document.querySelector(`[data-testid="request-card"][data-id="${id}"]`)?.dataset.state === 'approved', r.id);
        const grant = await card.getByTestId('grant').innerText();
        assert.match(grant, /vCPUs \+2, Memory \+2 GiB/);
        assert.match(grant, /partial/);
        assert.match(grant, /until \d{4}-\d\d-\d\d 12:00/);
        assert.match(await card.getByTestId('decision-comment').innerText(), /Half of the vCPUs\./);
        await done(a);
    });

    test('a member asks by target limits until a date, finds it in the list, and withdraws it', async () => {
        const { tenant, login, member } = await tenantWithMember('e2e-rq-target', { vcpus: 8 });
        await member.dispose();
        const m = await signedIn(login, PASSWORD);
        const { page } = m;
        await nav(page, 'Quota requests');
        await page.getByTestId('new-request').click();
        const dlg = page.getByRole('dialog', { name: /Request more quota for Lab e2e-rq-target/ });
        await dlg.getByRole('radio', { name: 'New limits' }).check();
        const wanted = dlg.getByLabel('vCPUs wanted');
        await wanted.fill('12');
        assert.match(await dlg.innerText(), /Now 8; \+4\./);
        await dlg.getByLabel('Justification').fill('The spring semester course.');
        await dlg.getByRole('radio', { name: /Until a date/ }).check();
        const day = await page.evaluate(() => {
            const d = new Date(Date.now() + 40 * 86400 * 1000);
            const p = (n) => String(n).padStart(2, '0');
            return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
        });
        await dlg.getByLabel('Last day').fill(day);
        const [sent] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith('/api/v1/quota-requests') && x.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Send request' }).click(),
        ]);
        assert.equal(sent.status(), 201, await sent.text());
        const body = sent.request().postDataJSON();
        assert.deepEqual(body.targets, { vcpus: 12 });
        assert.equal(body.deltas, undefined);
        assert.equal(body.tenant_id, tenant.id);
        assert.ok(body.ends_at && Date.parse(body.ends_at) > Date.now(), `an end date: ${body.ends_at}`);
        const r = await sent.json();
        assert.deepEqual(r.deltas, { vcpus: 4 }, 'turned into a delta by the server');
        await dlg.waitFor({ state: 'detached' });

        const row = page.getByTestId('requests-table').locator('tbody tr').filter({ has: page.getByRole('link', { name: `#${r.id}`, exact: true }) });
        await row.waitFor();
        assert.match(await row.innerText(), /vCPUs \+4 \(to vCPUs 12\)/);
        assert.match(await row.getByTestId('request-state').innerText(), /pending/);
        await row.getByTestId('withdraw').click();
        const confirm = page.getByRole('dialog', { name: `Withdraw request #${r.id}?` });
        const [gone] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith(`/quota-requests/${r.id}/withdraw`)),
            confirm.getByRole('button', { name: 'Withdraw' }).click(),
        ]);
        assert.equal(gone.status(), 200, await gone.text());
        await page.waitForFunction((id) => [...document.querySelectorAll('[data-testid="requests-table"] tbody tr')]
            .some((tr) => tr.textContent.includes(`#${id}`) && tr.textContent.includes('withdrawn')), r.id);
        assert.equal(await row.getByTestId('withdraw').count(), 0, 'nothing left to withdraw');
        await screenshot(page, 'requests-withdrawn');
        await done(m);
    });

    test('the notifications page lists everything and marks all read', async () => {
        const { tenant, member } = await tenantWithMember('e2e-rq-notes', { vcpus: 4 });
        const r1 = await ask(member, { tenant_id: tenant.id, deltas: { vcpus: 1 }, justification: 'One.' });
        const r2 = await ask(member, { tenant_id: tenant.id, deltas: { vcpus: 2 }, justification: 'Two.' });
        await member.dispose();
        const a = await signedIn(server.login, server.password);
        const { page } = a;
        await nav(page, 'Notifications');
        const table = page.getByTestId('notifications-table');
        for (const r of [r1, r2])
            await table.locator('[data-kind="quota_request.created"][data-read="false"]')
                .filter({ hasText: `for tenant e2e-rq-notes: vcpus +${r.deltas.vcpus}.` }).waitFor();
        const unread = await api.get('/api/v1/notifications?unread=true&limit=1');
        assert.ok(unread.body.unread >= 2);
        assert.match(await page.getByTestId('bell').getAttribute('aria-label'), new RegExp(`${unread.body.unread} unread`));
        await page.getByRole('button', { name: 'Mark all read' }).click();
        await page.getByTestId('bell-count').waitFor({ state: 'detached' });
        await page.waitForFunction(() => !document.querySelector('[data-testid="notifications-table"] [data-read="false"]'));
        assert.equal((await api.get('/api/v1/notifications?unread=true')).body.unread, 0);
        await done(a);
    });

    test('webhooks: created with the secret shown once, tested, with a delivery log', async () => {
        const a = await signedIn(server.login, server.password);
        const { page } = a;
        await nav(page, 'Webhooks');
        await page.getByRole('button', { name: 'New webhook' }).click();
        const dlg = page.getByRole('dialog', { name: 'New webhook' });
        await dlg.getByLabel('URL').fill('https://user:pw@hooks.example.com/vp');
        const [bad] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith('/api/v1/webhooks') && x.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create webhook' }).click(),
        ]);
        assert.equal(bad.status(), 400, 'credentials in the URL are refused');
        await invalid(dlg.getByLabel('URL'));
        await dlg.getByLabel('URL').fill('https://hooks.example.com/vp');
        await dlg.getByLabel('Description').fill('Ticket system');
        const [created] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith('/api/v1/webhooks') && x.request().method() === 'POST'),
            dlg.getByRole('button', { name: 'Create webhook' }).click(),
        ]);
        assert.equal(created.status(), 201, await created.text());
        const hook = await created.json();
        const secret = page.getByTestId('webhook-secret');
        await secret.waitFor();
        assert.equal(await secret.inputValue(), hook.secret);
        assert.match(hook.secret, /^whsec_/);
        await screenshot(page, 'webhook-secret', { fullPage: false });
        await page.getByRole('button', { name: 'I have stored it' }).click();
        const row = page.getByTestId('webhooks-table').locator('tbody tr').filter({ hasText: 'hooks.example.com/vp' });
        await row.waitFor();
        assert.doesNotMatch(await page.content(), new RegExp(hook.secret), 'the secret is gone from the page');
        const listed = await api.get('/api/v1/webhooks');
        assert.equal(listed.body.items.find((h) => h.id === hook.id).secret, undefined, 'and never listed');

        const [pinged] = await Promise.all([
            page.waitForResponse((x) => x.url().endsWith(`/webhooks/${hook.id}/ping`)),
            row.getByRole('button', { name: 'Test' }).click(),
        ]);
        assert.equal(pinged.status(), 202);
        const drawer = page.getByRole('dialog', { name: `Deliveries of webhook #${hook.id}` });
        const delivery = drawer.getByTestId('deliveries').locator('li').first();
        await delivery.waitFor();
        assert.match(await delivery.innerText(), /webhook\.ping/);
        assert.match(await delivery.innerText(), /pending|failed|delivered/);
        await done(a);
    });
});
