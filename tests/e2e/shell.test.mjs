// The UI shell against the real server: login page, errors, navigation, theme, logout,
// session expiry and reload. Screenshots go to artifacts/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { launchBrowser, openPage, screenshot, signIn } from './lib/browser.mjs';

describe('shell', () => {
    let server;
    let browser;
    const pages = [];

    before(async () => {
        server = await startServer('shell');
        browser = await launchBrowser();
    });
    after(async () => {
        if (browser) await browser.close();
        if (server) await server.stop();
    });

    async function fresh(opts) {
        const p = await openPage(browser, server.url, opts);
        pages.push(p);
        return p;
    }
    async function done(p) {
        assert.deepEqual(p.problems, [], 'no page errors or CSP violations');
        await p.context.close();
    }

    test('login page renders', async () => {
        const p = await fresh();
        const res = await p.page.goto('/');
        assert.equal(res.status(), 200);
        await p.page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await p.page.waitForURL(/\/login$/);
        assert.ok(await p.page.getByRole('textbox', { name: 'Login', exact: true }).isVisible());
        assert.ok(await p.page.getByRole('textbox', { name: 'Password', exact: true }).isVisible());
        await screenshot(p.page, 'login');
        await done(p);
    });

    test('wrong password shows the server generic error, same as an unknown login', async () => {
        const p = await fresh();
        await p.page.goto('/');
        const attempt = async (login) => {
            await p.page.getByRole('textbox', { name: 'Login', exact: true }).fill(login);
            await p.page.getByRole('textbox', { name: 'Password', exact: true }).fill('definitely-not-the-password');
            const [res] = await Promise.all([
                p.page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')),
                p.page.getByRole('button', { name: 'Sign in' }).click(),
            ]);
            assert.equal(res.status(), 401);
            assert.match(res.headers()['content-type'], /application\/problem\+json/);
            const problem = await res.json();
            const alert = p.page.getByTestId('form-error');
            await alert.waitFor();
            assert.equal((await alert.innerText()).trim(), problem.detail);
            return problem.detail;
        };
        const wrongPassword = await attempt(server.login);
        await screenshot(p.page, 'login-wrong-password');
        const unknownUser = await attempt('no-such-user-e2e');
        assert.equal(unknownUser, wrongPassword, 'no user enumeration through the message');
        assert.equal(await p.page.getByRole('navigation', { name: 'Main' }).count(), 0);
        await done(p);
    });

    test('admin signs in and sees the shell with navigation', async () => {
        const p = await fresh();
        await signIn(p.page, server.login, server.password);
        const nav = p.page.getByRole('navigation', { name: 'Main' });
        for (const name of ['Dashboard', 'Tenants', 'Users', 'Roles & bindings', 'API tokens'])
            assert.ok(await nav.getByRole('link', { name }).isVisible(), `nav link ${name}`);
        await p.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
        assert.equal(await nav.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current'), 'page');
        await p.page.getByTestId('user-menu').click();
        assert.equal((await p.page.getByTestId('me-login').innerText()).trim(), server.login);
        await p.page.keyboard.press('Escape');
        await p.page.waitForFunction(() => document.querySelector('.stat-card') && !document.querySelector('.stat-card .spinner'));
        await screenshot(p.page, 'dashboard');
        await nav.getByRole('link', { name: 'Tenants' }).click();
        await p.page.getByRole('heading', { name: 'Tenants' }).waitFor();
        await p.page.waitForURL(/\/tenants$/);
        await done(p);
    });

    test('theme toggle switches and persists across reload', async () => {
        const p = await fresh();
        await signIn(p.page, server.login, server.password);
        const theme = () => p.page.evaluate(() => document.documentElement.dataset.theme);
        const before = await theme();
        assert.ok(before === 'light' || before === 'dark');
        const other = before === 'dark' ? 'light' : 'dark';
        await p.page.getByTestId('theme-toggle').click();
        assert.equal(await theme(), other);
        await p.page.reload();
        await p.page.getByRole('navigation', { name: 'Main' }).waitFor();
        assert.equal(await theme(), other, 'the choice survives a reload');
        assert.equal(await p.page.evaluate(() => localStorage.getItem('vp-theme')), other);
        await screenshot(p.page, `dashboard-${other}`);
        await done(p);
    });

    test('reload keeps the session (refresh cookie) and the page', async () => {
        const p = await fresh();
        await signIn(p.page, server.login, server.password);
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
        await p.page.getByRole('heading', { name: 'Users' }).waitFor();
        const [res] = await Promise.all([
            p.page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh')),
            p.page.reload(),
        ]);
        assert.equal(res.status(), 200);
        await p.page.getByRole('heading', { name: 'Users' }).waitFor();
        assert.match(p.page.url(), /\/users$/);
        await done(p);
    });

    test('logout returns to the login page and ends the session', async () => {
        const p = await fresh();
        await signIn(p.page, server.login, server.password);
        await p.page.getByTestId('user-menu').click();
        const [res] = await Promise.all([
            p.page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/logout')),
            p.page.getByTestId('logout').click(),
        ]);
        assert.equal(res.status(), 204);
        await p.page.getByTestId('login-form').waitFor();
        assert.match(await p.page.getByTestId('login-notice').innerText(), /signed out/i);
        await screenshot(p.page, 'logged-out');
        await p.page.reload();
        await p.page.getByTestId('login-form').waitFor();
        assert.equal(await p.page.getByRole('navigation', { name: 'Main' }).count(), 0, 'the refresh cookie no longer works');
        await done(p);
    });

    test('an expired session goes back to login with a message, then back to the page', async () => {
        const p = await fresh();
        let bearer = null;
        p.page.on('request', (r) => {
            const h = r.headers().authorization;
            if (h && h.startsWith('Bearer ')) bearer = h;
        });
        await signIn(p.page, server.login, server.password);
        await p.page.waitForFunction(() => document.querySelector('.stat-card') && !document.querySelector('.stat-card .spinner'));
        assert.ok(bearer, 'the UI sends its access token as a Bearer header');
        /* End the session behind the UI's back, as another tab's sign-out would. */
        const status = await p.page.evaluate(async (auth) => {
            const r = await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'X-VP-CSRF': '1', Authorization: auth } });
            return r.status;
        }, bearer);
        assert.equal(status, 204);
        const refreshes = [];
        p.page.on('response', (r) => r.url().endsWith('/api/v1/auth/refresh') && refreshes.push(r.status()));
        await p.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tenants' }).click();
        await p.page.getByTestId('login-form').waitFor();
        assert.match(await p.page.getByTestId('login-notice').innerText(), /expired/i);
        assert.equal(refreshes.length, 1, 'exactly one refresh attempt');
        assert.notEqual(refreshes[0], 200);
        await p.page.waitForURL(/\/login\?next=%2Ftenants$/);
        await screenshot(p.page, 'session-expired');
        await signIn(p.page, server.login, server.password);
        await p.page.getByRole('heading', { name: 'Tenants' }).waitFor();
        await p.page.waitForURL(/\/tenants$/);
        await done(p);
    });

    test('unknown paths show not found inside the shell', async () => {
        const p = await fresh();
        await signIn(p.page, server.login, server.password);
        await p.page.goto('/no/such/page');
        await p.page.getByRole('heading', { name: 'Page not found' }).waitFor();
        await done(p);
    });
});
