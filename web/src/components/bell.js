// The notification bell of the header: the unread count on the button (in text for
// screen readers too), a panel with the newest notifications, each leading to what it
// is about; mark one read, or all. The store (lib/notify.js) polls and is refreshed
// after the user's own actions.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { navigate, onLinkClick } from '../lib/router.js';
import {
    markAllRead, markRead, notificationHref, notificationState, notificationText, notificationTitle,
    subscribeNotifications,
} from '../lib/notify.js';
import { Icon } from './icons.js';
import { toastError } from './toast.js';
import { Time } from './ui.js';

export function useNotifications() {
    const [s, set] = useState(notificationState());
    useEffect(() => subscribeNotifications(set), []);
    return s;
}

/* One notification: the whole row leads to its page (marking it read); unread ones
 * also get a "Mark read" button. */
export function NotificationItem({ n, onOpen, compact = false }) {
    const href = notificationHref(n);
    const open = async (e) => {
        if (e) e.preventDefault();
        try {
            if (!n.read) await markRead(n.id);
        } catch (err) {
            toastError(err, 'Could not mark the notification read');
        }
        if (onOpen) onOpen();
        if (href) navigate(href);
    };
    const text = notificationText(n);
    const body = html`<span class="notif-title">${notificationTitle(n)}${!n.read && html`<span class="sr-only"> (unread)</span>`}</span>
        <span class="notif-text">${text}</span>
        ${n.body && n.body.reason && html`<span class="notif-reason small">Reason: ${n.body.reason}</span>`}
        <span class="notif-meta small muted"><${Time} value=${n.created_at} />${n.body && n.body.tenant ? ` · ${n.body.tenant}` : ''}</span>`;
    return html`<li class=${`notif ${n.read ? 'read' : 'unread'} ${compact ? 'compact' : ''}`} data-testid="notification"
        data-kind=${n.kind} data-read=${n.read ? 'true' : 'false'}>
        <span class="notif-dot" aria-hidden="true"></span>
        ${href ? html`<a href=${href} class="notif-body" onClick=${open}>${body}</a>`
            : html`<div class="notif-body">${body}</div>`}
        ${!n.read && html`<button type="button" class="icon-button small-icon" title="Mark read"
            aria-label=${`Mark read: ${text}`} onClick=${async () => {
                try {
                    await markRead(n.id);
                } catch (err) {
                    toastError(err, 'Could not mark the notification read');
                }
            }}><${Icon} name="check" size=${16} /></button>`}
    </li>`;
}

export function NotificationBell() {
    const s = useNotifications();
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
    const readAll = async () => {
        try {
            await markAllRead();
        } catch (e) {
            toastError(e, 'Could not mark the notifications read');
        }
    };
    const label = s.unread ? `Notifications, ${s.unread} unread` : 'Notifications';
    return html`<div class="bell" ref=${box}>
        <button type="button" class="icon-button bell-button" aria-expanded=${open ? 'true' : 'false'}
            aria-controls="bell-panel" aria-label=${label} title=${label} data-testid="bell"
            onClick=${() => setOpen(!open)}>
            <${Icon} name="bell" />
            ${s.unread > 0 && html`<span class="bell-count" data-testid="bell-count" aria-hidden="true">${s.unread > 99 ? '99+' : s.unread}</span>`}
        </button>
        ${open && html`<div class="menu-panel bell-panel" id="bell-panel" role="region" aria-label="Notifications"
            data-testid="bell-panel">
            <div class="bell-head">
                <strong>Notifications</strong>
                <span class="muted small">${s.unread ? `${s.unread} unread` : 'all read'}</span>
                <div class="toolbar-spacer"></div>
                <button type="button" class="button small ghost" disabled=${!s.unread} onClick=${readAll}
                    data-testid="read-all">Mark all read</button>
            </div>
            ${s.error && html`<p class="text-error small">${s.error.detail || s.error.message}</p>`}
            ${!s.loaded ? html`<p class="muted small">Loading…</p>`
                : s.items.length === 0 ? html`<p class="muted small bell-empty">Nothing yet. Decisions on quota requests
                    and expiring grants are announced here.</p>`
                : html`<ul class="notif-list">${s.items.map((n) => html`<${NotificationItem} key=${n.id} n=${n} compact
                    onOpen=${() => setOpen(false)} />`)}</ul>`}
            <div class="bell-foot"><a href="/notifications" onClick=${(e) => { setOpen(false); onLinkClick(e); }}>
                All notifications</a></div>
        </div>`}
    </div>`;
}
