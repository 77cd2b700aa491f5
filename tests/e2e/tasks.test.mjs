// Tasks against the real server with its test hook (server.test_hooks=1: POST
// /api/v1/tasks/test-sleep queues a task that sleeps in steps, reporting progress):
// the list with filters, live progress in the drawer over the event stream (read with
// fetch, bearer token), the polling fallback when the stream is refused, and Cancel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';
import { apiAs } from './lib/fixtures.mjs';
import { countSettles } from './lib/wait.mjs';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

describe('tasks', () => {
    let server;
    let browser;
    let api;

    before(async () => {
        server = await startServer('tasks', { set: ['server.test_hooks=1'] });
        browser = await launchBrowser();
        api = await apiAs(server);
    });
    after(async () => {
        if (api) await api.dispose();
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function sleepTask(body) {
        const r = await api.post('/api/v1/tasks/test-sleep', body);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        assert.equal(r.headers.location, `/api/v1/tasks/${r.body.id}`);
        return r.body;
    }
    async function finished(id) {
        for (;;) {
            const r = await api.get(`/api/v1/tasks/${id}`);
            assert.equal(r.status, 200);
            if (FINAL.has(r.body.state)) return r.body;
            await new Promise((res) => setTimeout(res, 100));
        }
    }
    async function tasksPage(prepare) {
        const p = await openPage(browser, server.url);
        if (prepare) prepare(p.page);
        await signIn(p.page, server.login, server.password);
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
        await p.page.getByRole('heading', { name: 'Tasks', exact: true }).waitFor();
        return p;
    }
    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }
    const rowOf = (page, id) => page.getByTestId('tasks-table').locator('tbody tr')
        .filter({ has: page.getByRole('rowheader', { name: `#${id}`, exact: true }) });

    test('the list shows tasks newest first and filters by state and kind', async () => {
        const a = await sleepTask({ steps: 1, step_ms: 0, kind: 'e2e.list', target: 'vm/list-a' });
        const b = await sleepTask({ steps: 2, step_ms: 0, kind: 'e2e.list', target: 'vm/list-b', fail_at: 1 });
        const c = await sleepTask({ steps: 1, step_ms: 0, kind: 'e2e.other', target: 'host/list-c' });
        for (const t of [a, b, c]) await finished(t.id);

        const p = await tasksPage();
        const { page } = p;
        const table = page.getByTestId('tasks-table');
        await rowOf(page, c.id).waitFor();
        const ids = await table.locator('tbody tr th').allInnerTexts();
        const nums = ids.map((s) => Number(s.replace('#', '')));
        assert.deepEqual(nums, [...nums].sort((x, y) => y - x), 'newest first');
        assert.match(await rowOf(page, b.id).innerText(), /failed/);
        assert.match(await rowOf(page, c.id).innerText(), /succeeded/);
        await screenshot(page, 'tasks');

        const listed = (pred) => page.waitForResponse((r) => r.url().includes('/api/v1/tasks?') && pred(new URL(r.url()).searchParams));
        await Promise.all([listed((q) => q.get('state') === 'failed'), page.getByTestId('task-state-filter').selectOption('failed')]);
        await rowOf(page, a.id).waitFor({ state: 'detached' });
        await rowOf(page, b.id).waitFor();
        for (const text of await table.locator('tbody tr').allInnerTexts()) assert.match(text, /failed/);

        await page.getByTestId('task-state-filter').selectOption('');
        await Promise.all([listed((q) => q.get('kind') === 'e2e.other'), page.getByRole('searchbox', { name: 'Kind (exact)' }).fill('e2e.other')]);
        await rowOf(page, b.id).waitFor({ state: 'detached' });
        await rowOf(page, c.id).waitFor();
        assert.equal(await countSettles(table.locator('tbody tr'), 1), 1);
        await done(p);
    });

    test('a new task appears in the list and its drawer shows live progress from the event stream', async () => {
        const streams = [];
        const p = await tasksPage((page) => page.on('request', (r) => {
            if (r.url().endsWith('/api/v1/tasks/events')) streams.push(r.headers());
        }));
        const { page } = p;
        /* the page opens the stream by itself; wait until it is live */
        await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
        assert.ok(streams.length >= 1, 'the events stream was requested');
        assert.match(streams[0].accept, /text\/event-stream/);
        assert.match(streams[0].authorization || '', /^Bearer /, 'fetch sends the bearer token (EventSource could not)');

        const t = await sleepTask({ steps: 16, step_ms: 300, kind: 'e2e.live', target: 'vm/live' });
        const row = rowOf(page, t.id);
        await row.waitFor(); /* pushed by the stream: no reload */
        await row.getByRole('button', { name: `#${t.id}` }).click();
        const drawer = page.getByTestId('task-drawer');
        await drawer.waitFor();
        const bar = drawer.getByRole('progressbar');
        /* progress moves while the task runs, without polling GET /tasks/{id} */
        await page.waitForFunction((id) => {
            const el = document.querySelector('[data-testid="task-drawer"] [role="progressbar"]');
            const v = el && Number(el.getAttribute('aria-valuenow'));
            return v > 0 && v < 100;
        }, t.id);
        const mid = Number(await bar.getAttribute('aria-valuenow'));
        assert.ok(mid > 0 && mid < 100, `intermediate progress ${mid}`);
        assert.match(await drawer.getByTestId('task-message').innerText(), /step \d+ of 16/);
        await screenshot(page, 'task-drawer-live', { fullPage: false });
        await drawer.getByTestId('task-state').getByText('succeeded').waitFor({ timeout: 30000 });
        assert.equal(await bar.getAttribute('aria-valuenow'), '100');
        assert.match(await row.innerText(), /succeeded/, 'the list row followed the stream too');
        await done(p);
    });

    test('when the event stream is refused the drawer falls back to polling', async () => {
        const p = await openPage(browser, server.url);
        const { page } = p;
        await page.route('**/api/v1/tasks/events', (route) => route.fulfill({
            status: 503, contentType: 'application/problem+json',
            body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'e2e: no stream' }),
        }));
        const polls = [];
        page.on('response', (r) => /\/api\/v1\/tasks\/\d+$/.test(new URL(r.url()).pathname) && polls.push(r.status()));
        await signIn(page, server.login, server.password);
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
        const t = await sleepTask({ steps: 8, step_ms: 400, kind: 'e2e.poll', target: 'vm/poll' });
        await page.getByTestId('live-status').filter({ hasText: 'Polling' }).waitFor();
        const row = rowOf(page, t.id);
        await page.getByRole('button', { name: 'Reload' }).click();
        await row.waitFor();
        await row.getByRole('button', { name: `#${t.id}` }).click();
        const drawer = page.getByTestId('task-drawer');
        await drawer.getByTestId('task-state').getByText('succeeded').waitFor({ timeout: 30000 });
        assert.ok(polls.length >= 2, `the drawer polled GET /tasks/${t.id} (${polls.length} times)`);
        assert.ok(polls.every((s) => s === 200));
        await done(p);
    });

    test('cancel a running task from its drawer', async () => {
        const t = await sleepTask({ steps: 200, step_ms: 200, kind: 'e2e.cancel', target: 'vm/cancel' });
        const p = await tasksPage();
        const { page } = p;
        const row = rowOf(page, t.id);
        await row.getByRole('button', { name: `#${t.id}` }).click();
        const drawer = page.getByTestId('task-drawer');
        await drawer.getByTestId('task-state').getByText('running').waitFor();
        await page.getByTestId('task-cancel').click();
        const confirm = page.getByRole('dialog', { name: `Cancel task #${t.id}?` });
        const [res] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith(`/api/v1/tasks/${t.id}/cancel`)),
            confirm.getByRole('button', { name: 'Cancel task' }).click(),
        ]);
        assert.equal(res.status(), 202);
        await drawer.getByTestId('task-state').getByText('cancelled').waitFor({ timeout: 30000 });
        assert.match(await drawer.getByTestId('task-error').innerText(), /cancel|stopped/i);
        assert.equal(await page.getByTestId('task-cancel').count(), 0, 'no Cancel button on a finished task');
        const final = await finished(t.id);
        assert.equal(final.state, 'cancelled');
        await screenshot(page, 'task-cancelled', { fullPage: false });
        await page.keyboard.press('Escape');
        await drawer.waitFor({ state: 'detached' });
        await row.getByText('cancelled', { exact: true }).waitFor();
        await done(p);
    });
});
