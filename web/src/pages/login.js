// Sign-in page. Shows the server's generic error as is (no user enumeration is possible
// from the UI either), the Retry-After of a throttled login, and a one-time-code field
// once the server says the account needs one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { login } from '../lib/api.js';
import { currentTheme, setTheme } from '../lib/theme.js';
import { useForm, TextField, FormError } from '../components/form.js';
import { Icon } from '../components/icons.js';

/* True when a login refusal asks for the second factor. */
function needsTotp(err) {
    const p = err.problem || {};
    return 'totp' in err.fieldErrors || /totp|second.factor|one.time/i.test(`${p.type || ''} ${p.code || ''}`) ||
        (err.status === 401 && /\bTOTP\b|one-time code/i.test(err.detail));
}

export function LoginPage({ notice, onLogin }) {
    const form = useForm({ login: '', password: '', totp: '' });
    const [showTotp, setShowTotp] = useState(false);
    const [theme, set] = useState(currentTheme());
    const totpRef = useRef(null);

    useEffect(() => {
        document.title = 'Sign in · virtportal';
    }, []);
    useEffect(() => {
        const input = showTotp && totpRef.current && totpRef.current.querySelector('input');
        if (input) input.focus();
    }, [showTotp]);

    const submit = async (e) => {
        e.preventDefault();
        const ok = await form.submit(async (v) => {
            try {
                return await login(v.login.trim(), v.password, showTotp ? v.totp.trim() : undefined);
            } catch (err) {
                if (err.problem && needsTotp(err) && !showTotp) setShowTotp(true);
                throw err;
            }
        }, { required: showTotp ? ['login', 'password', 'totp'] : ['login', 'password'] });
        if (ok !== undefined) onLogin();
    };

    const other = theme === 'dark' ? 'light' : 'dark';
    return html`<div class="login-page">
        <button type="button" class="icon-button login-theme" aria-label=${`Switch to ${other} theme`}
            data-testid="theme-toggle" onClick=${() => { setTheme(other); set(other); }}>
            <${Icon} name=${theme === 'dark' ? 'sun' : 'moon'} />
        </button>
        <main class="login-card">
            <div class="login-brand"><span class="brand-mark large" aria-hidden="true"></span>
                <span>virtportal</span></div>
            <h1>Sign in</h1>
            ${notice && html`<div class=${`alert alert-${notice.kind}`} role="status" data-testid="login-notice">
                <${Icon} name=${notice.kind === 'info' ? 'info' : 'alert'} /> <span>${notice.text}</span></div>`}
            <form ref=${form.root} class="form" noValidate onSubmit=${submit} data-testid="login-form">
                <${FormError} form=${form} />
                <${TextField} form=${form} name="login" label="Login" required autocomplete="username"
                    autocapitalize="none" spellcheck=${false} autofocus />
                <${TextField} form=${form} name="password" label="Password" type="password" required
                    autocomplete="current-password" />
                ${showTotp && html`<div ref=${totpRef}><${TextField} form=${form} name="totp" label="One-time code"
                    required inputmode="numeric" autocomplete="one-time-code" maxlength="8"
                    hint="The 6-digit code from your authenticator app." /></div>`}
                <button type="submit" class="button primary wide" disabled=${form.busy}>
                    ${form.busy ? 'Signing in…' : 'Sign in'}</button>
            </form>
        </main>
    </div>`;
}
