// Debian's Chromium driven by playwright-core (no downloaded browser). The flags keep
// Chromium from reaching for Google services, which this closed network refuses.
// chromium.launch() gives every run a fresh temporary profile (--user-data-dir) that
// playwright deletes on close; each test gets its own context (cookies, storage).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { artifactsDir } from './paths.mjs';

export const CHROMIUM = process.env.VP_CHROMIUM || '/usr/bin/chromium';

export function launchBrowser() {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
}

/* A fresh context and page on the server. `problems` collects page errors and CSP
 * violations (the server's CSP forbids inline script/style: any violation is a bug). */
export async function openPage(browser, baseURL, { width = 1280, height = 800 } = {}) {
    const context = await browser.newContext({ baseURL, ignoreHTTPSErrors: true, viewport: { width, height } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    return { context, page, problems };
}

/* fullPage: false for a modal or drawer (the top layer covers the viewport only). */
export async function screenshot(page, name, { fullPage = true } = {}) {
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage });
}

/* Sign in through the login form and wait for the shell. */
export async function signIn(page, login, password) {
    if (!/\/login/.test(page.url())) await page.goto('/');
    const form = page.getByTestId('login-form');
    await form.waitFor();
    await page.getByRole('textbox', { name: 'Login', exact: true }).fill(login);
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
