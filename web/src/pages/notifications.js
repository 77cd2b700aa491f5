// All the user's notifications, newest first, with paging: read or unread, each
// leading to what it is about; mark one or all read.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import {
    markAllRead, markRead, notificationHref, notificationText, notificationTitle, onNewNotifications,
} from '../lib/notify.js';
import { onLinkClick } from '../lib/router.js';
import { DataTable } from '../components/table.js';
import { toastError } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { Badge, PageHeader, Time } from '../components/ui.js';
import { useNotifications } from '../components/bell.js';

export function NotificationsPage() {
    const [unreadOnly, setUnreadOnly] = useState(false);
    const [reload, setReload] = useState(0);
    const bump = () => setReload((n) => n + 1);
    const store = useNotifications();
    useEffect(() => onNewNotifications(bump), []);
    const read = async (n) => {
        try {
            await markRead(n.id);
        } catch (e) {
            toastError(e, 'Could not mark the notification read');
        }
        bump();
    };
    const readAll = async () => {
        try {
            await markAllRead();
        } catch (e) {
            toastError(e, 'Could not mark the notifications read');
        }
        bump();
    };
    const columns = [
        { key: 'created_at', label: 'When', render: (n) => html`<${Time} value=${n.created_at} />` },
        { key: 'kind', label: 'What', render: (n) => {
            const href = notificationHref(n);
            return html`<div class="notif-cell" data-testid="notification" data-kind=${n.kind} data-read=${n.read ? 'true' : 'false'}>
                <strong>${notificationTitle(n)}</strong>
                <span>${href ? html`<a href=${href} onClick=${(e) => { if (!n.read) markRead(n.id).catch(() => {}); onLinkClick(e); }}>
                    ${notificationText(n)}</a>` : notificationText(n)}</span>
                ${n.body && n.body.reason && html`<span class="small">Reason: ${n.body.reason}</span>`}
            </div>`;
        } },
        { key: 'tenant', label: 'Tenant', render: (n) => (n.body && n.body.tenant) || html`<span class="muted">—</span>` },
        { key: 'read', label: 'Status', render: (n) => (n.read ? html`<${Badge}>read<//>` : html`<${Badge} kind="info">unread<//>`) },
    ];
    const actions = (n) => !n.read && html`<button type="button" class="button small" onClick=${() => read(n)}>Mark read</button>`;
    const toolbar = html`<label class="check"><input type="checkbox" checked=${unreadOnly}
        onChange=${(e) => setUnreadOnly(e.currentTarget.checked)} /> <span>Only unread</span></label>`;
    return html`
        <${PageHeader} title="Notifications" description="What happened to your quota requests and grants, and what waits for you."
            actions=${html`<button type="button" class="button" onClick=${readAll} disabled=${!store.unread}>
                <${Icon} name="check" size=${16} /> Mark all read</button>`} />
        <${DataTable} endpoint="/api/v1/notifications" label="Notifications" columns=${columns} reloadToken=${reload}
            query=${{ unread: unreadOnly ? 'true' : undefined }} filterParam=${null} toolbar=${toolbar} rowActions=${actions}
            testid="notifications-table" emptyText=${unreadOnly ? 'No unread notification.' : 'No notifications yet.'} />`;
}
