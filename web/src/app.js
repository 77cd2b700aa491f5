// The application: session life cycle (boot → login → shell → logout / expiry) and the
// shell (header, navigation, routed page).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { api, logout, refresh, setSessionExpiredHandler } from './lib/api.js';
import { currentPath, match, navigate, onLinkClick, useLocation } from './lib/router.js';
import { canAny } from './lib/perms.js';
import { currentTheme, setTheme } from './lib/theme.js';
import { SessionContext } from './session.js';
import { Icon } from './components/icons.js';
import { ToastHost, toastError } from './components/toast.js';
import { ConfirmHost } from './components/dialog.js';
import { EmptyState, Spinner } from './components/ui.js';
import { LoginPage } from './pages/login.js';
import { DashboardPage } from './pages/dashboard.js';
import { TenantsPage } from './pages/tenants.js';
import { UsersPage } from './pages/users.js';
import { BindingsPage, RolesPage } from './pages/roles.js';
import { TokensPage } from './pages/tokens.js';
import { TasksPage } from './pages/tasks.js';
import { QuotasPage } from './pages/quotas.js';
import { AuditPage } from './pages/audit.js';
import { VmsPage } from './pages/vms.js';
import { HostDetailPage, HostsPage } from './pages/hosts.js';
import { VmDetailPage } from './pages/vm_detail.js';
import { PlanDetailPage, PlansPage, PlanWizardPage } from './pages/plans.js';
import { QuotaQueuePage, QuotaRequestPage, QuotaRequestsPage } from './pages/requests.js';
import { NotificationsPage } from './pages/notifications.js';
import { WebhooksPage } from './pages/webhooks.js';
import { NotificationBell } from './components/bell.js';
import { refreshNotifications, resetNotifications } from './lib/notify.js';
import { resetTaskStream } from './lib/tasks.js';

/* Navigation: a group of items, each shown only with one of its permissions (none =
 * always). `also` lists sub-paths that keep the item highlighted. */
export const NAV = [
    {
        group: 'Overview', items: [
            { path: '/', label: 'Dashboard', icon: 'dashboard', perms: null, page: DashboardPage },
            { path: '/notifications', label: 'Notifications', icon: 'bell', perms: null, page: NotificationsPage },
        ],
    },
    {
        group: 'Infrastructure', items: [
            { path: '/vms', label: 'VMs', icon: 'vm', perms: ['vm.read'], page: VmsPage,
                also: [{ path: '/vms/:id', page: VmDetailPage }] },
            { path: '/hosts', label: 'Hosts', icon: 'host', perms: ['host.read'], page: HostsPage,
                also: [{ path: '/hosts/:id', page: HostDetailPage }] },
            { path: '/tasks', label: 'Tasks', icon: 'task', perms: ['task.read'], page: TasksPage },
        ],
    },
    {
        group: 'Access', items: [
            { path: '/tenants', label: 'Tenants', icon: 'tenant', perms: ['tenant.read'], page: TenantsPage },
            { path: '/users', label: 'Users', icon: 'users', perms: ['user.read'], page: UsersPage },
            { path: '/roles', label: 'Roles & bindings', icon: 'shield', perms: ['role.admin'], page: RolesPage,
                also: [{ path: '/role-bindings', page: BindingsPage }] },
            { path: '/tokens', label: 'API tokens', icon: 'key', perms: ['token.self'], page: TokensPage },
        ],
    },
    {
        group: 'Governance', items: [
            { path: '/quotas', label: 'Quotas', icon: 'quota', perms: ['quota.read'], page: QuotasPage },
            { path: '/quota-requests', label: 'Quota requests', icon: 'inbox', perms: ['quota.request', 'quota.approve'],
                page: QuotaRequestsPage,
                also: [{ path: '/quota-requests/queue', page: QuotaQueuePage }, { path: '/quota-requests/:id', page: QuotaRequestPage }] },
            { path: '/audit', label: 'Audit', icon: 'audit', perms: ['audit.read'], page: AuditPage },
            /* webhooks carry every tenant's events: tenant.admin held globally */
            { path: '/webhooks', label: 'Webhooks', icon: 'link', perms: ['tenant.admin'], global: true, page: WebhooksPage },
            { path: '/plans', label: 'Plans', icon: 'plan', perms: ['plan.read'], page: PlansPage,
                also: [{ path: '/plans/new', page: PlanWizardPage }, { path: '/plans/:id', page: PlanDetailPage }] },
        ],
    },
];

function visible(me, item) {
    if (!item.perms) return true;
    if (item.global) return Array.isArray(me.permissions) && item.perms.some((p) => me.permissions.includes(p));
    return canAny(me, item.perms);
}

/* The page for `path`: { item, page, params } or null. */
function resolve(path) {
    for (const g of NAV) {
        for (const item of g.items) {
            for (const r of [item, ...(item.also || [])]) {
                const params = match(r.path, path);
                if (params) return { item, page: r.page, params };
            }
        }
    }
    return null;
}

function ThemeToggle() {
    const [theme, set] = useState(currentTheme());
    const other = theme === 'dark' ? 'light' : 'dark';
    return html`<button type="button" class="icon-button" data-testid="theme-toggle"
        aria-label=${`Switch to ${other} theme`} title=${`Switch to ${other} theme`}
        onClick=${() => { setTheme(other); set(other); }}>
        <${Icon} name=${theme === 'dark' ? 'sun' : 'moon'} />
    </button>`;
}

function UserMenu({ me, onLogout }) {
    const [open, setOpen] = useState(false);
    const box = useRef(null);
    useEffect(() => {
        if (!open) return undefined;
        const away = (e) => box.current && !box.current.contains(e.target) && setOpen(false);
        const esc = (e) => {
            if (e.key === 'Escape') {
                setOpen(false);
                box.current.querySelector('button').focus();
            }
        };
        document.addEventListener('mousedown', away);
        document.addEventListener('keydown', esc);
        return () => {
            document.removeEventListener('mousedown', away);
            document.removeEventListener('keydown', esc);
        };
    }, [open]);
    const tenant = me.tenant ? `${me.tenant.name} (${me.tenant.slug})` : me.tenant_id ? `tenant #${me.tenant_id}` : 'Global (all tenants)';
    return html`<div class="user-menu" ref=${box}>
        <button type="button" class="user-button" aria-expanded=${open ? 'true' : 'false'} aria-controls="user-menu-panel"
            data-testid="user-menu" onClick=${() => setOpen(!open)}>
            <${Icon} name="user" /> <span class="user-login">${me.login}</span> <${Icon} name="chevronDown" size=${14} />
        </button>
        ${open && html`<div class="menu-panel" id="user-menu-panel">
            <div class="menu-identity">
                <strong data-testid="me-login">${me.login}</strong>
                <span class="muted" data-testid="me-tenant">${tenant}</span>
            </div>
            <button type="button" class="menu-item" data-testid="logout" onClick=${() => { setOpen(false); onLogout(); }}>
                <${Icon} name="logout" /> Sign out
            </button>
        </div>`}
    </div>`;
}

function SideNav({ me, path, open, onNavigate }) {
    const current = resolve(path);
    return html`<nav class=${`sidenav ${open ? 'open' : ''}`} id="sidenav" aria-label="Main">
        ${NAV.map((g) => {
            const items = g.items.filter((i) => visible(me, i));
            if (!items.length) return null;
            return html`<div class="nav-group" key=${g.group}>
                <h2 class="nav-heading">${g.group}</h2>
                <ul>${items.map((i) => html`<li key=${i.path}>
                    <a href=${i.path} class="nav-link" aria-current=${current && current.item === i ? 'page' : undefined}
                        onClick=${(e) => { onLinkClick(e); onNavigate(); }}>
                        <${Icon} name=${i.icon} /> <span>${i.label}</span>
                    </a></li>`)}
                </ul>
            </div>`;
        })}
    </nav>`;
}

function Shell({ me, onLogout }) {
    const { path } = useLocation();
    const [navOpen, setNavOpen] = useState(false);
    const main = useRef(null);
    const first = useRef(true);
    useEffect(() => {
        /* Move focus to the new page for keyboard and screen-reader users (not on load). */
        if (first.current) first.current = false;
        else {
            if (main.current) main.current.focus({ preventScroll: true });
            refreshNotifications(); /* news may have arrived since the last poll */
        }
        window.scrollTo(0, 0);
    }, [path]);

    useEffect(() => {
        if (!navOpen) return undefined;
        const esc = (e) => e.key === 'Escape' && setNavOpen(false);
        document.addEventListener('keydown', esc);
        return () => document.removeEventListener('keydown', esc);
    }, [navOpen]);

    const found = resolve(path);
    let content;
    if (!found) {
        content = html`<${EmptyState} icon="alert" title="Page not found">
            <p>There is no page at <code>${path}</code>. <a href="/" onClick=${onLinkClick}>Go to the dashboard</a>.</p><//>`;
    } else if (!visible(me, found.item)) {
        content = html`<${EmptyState} icon="lock" title="No access">
            <p>Your roles do not include the permission this page needs (${found.item.perms.join(' or ')}${found.item.global ? ', held globally' : ''}).</p><//>`;
    } else {
        const Page = found.page;
        content = html`<${Page} params=${found.params} key=${path} />`;
    }
    return html`<div class="shell">
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="topbar">
            <button type="button" class="icon-button nav-toggle" aria-label="Menu" aria-expanded=${navOpen ? 'true' : 'false'}
                aria-controls="sidenav" onClick=${() => setNavOpen(!navOpen)}><${Icon} name="menu" /></button>
            <a href="/" class="brand" onClick=${onLinkClick}><span class="brand-mark" aria-hidden="true"></span>virtportal</a>
            <div class="toolbar-spacer"></div>
            <${NotificationBell} />
            <${ThemeToggle} />
            <${UserMenu} me=${me} onLogout=${onLogout} />
        </header>
        <div class="shell-body">
            <${SideNav} me=${me} path=${path} open=${navOpen} onNavigate=${() => setNavOpen(false)} />
            <main id="main" ref=${main} tabindex="-1" data-testid="main">${content}</main>
        </div>
    </div>`;
}

const EXPIRED = { kind: 'warning', text: 'Your session has expired. Please sign in again.' };

export function App() {
    const [session, setSession] = useState({ phase: 'boot', me: null, notice: null });
    const { path, query } = useLocation();

    const loadMe = async () => {
        const me = await api.get('/api/v1/me');
        setSession({ phase: 'authed', me, notice: null });
        return me;
    };

    useEffect(() => {
        setSessionExpiredHandler(() => {
            resetTaskStream();
            resetNotifications();
            setSession({ phase: 'anon', me: null, notice: EXPIRED });
        });
        (async () => {
            /* A reload loses the in-memory access token: the refresh cookie restores it. */
            let notice = null;
            try {
                if (await refresh()) {
                    await loadMe();
                    return;
                }
            } catch (e) {
                if (e && e.status === 401) return; /* the expired handler already ran */
                notice = { kind: 'error', text: e.detail || 'The server could not be reached.' };
            }
            setSession({ phase: 'anon', me: null, notice });
        })();
    }, []);

    /* Keep the URL honest: /login when signed out (remembering where to go back). */
    useEffect(() => {
        if (session.phase === 'anon' && path !== '/login') {
            const next = path === '/' ? '' : `?next=${encodeURIComponent(path + window.location.search)}`;
            navigate(`/login${next}`, { replace: true });
        } else if (session.phase === 'authed' && path === '/login') {
            const next = query.get('next');
            navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
        }
    }, [session.phase, path]);

    const onLogin = async () => {
        try {
            await loadMe();
        } catch (e) {
            toastError(e, 'Could not load your profile');
        }
    };
    const onLogout = async () => {
        try {
            await logout();
        } catch (e) {
            toastError(e, 'Sign-out failed on the server');
        }
        resetTaskStream();
        resetNotifications();
        setSession({ phase: 'anon', me: null, notice: { kind: 'info', text: 'You have signed out.' } });
    };

    let body;
    if (session.phase === 'boot') body = html`<div class="boot"><${Spinner} label="Loading virtportal…" /></div>`;
    else if (session.phase === 'anon') body = html`<${LoginPage} notice=${session.notice} onLogin=${onLogin} />`;
    else if (currentPath() === '/login') body = html`<div class="boot"><${Spinner} label="Signing in…" /></div>`;
    else body = html`<${Shell} me=${session.me} onLogout=${onLogout} />`;

    return html`<${SessionContext.Provider} value=${{ me: session.me, reloadMe: loadMe }}>
        ${body}
        <${ConfirmHost} />
        <${ToastHost} />
    <//>`;
}
