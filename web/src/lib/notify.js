// In-app notifications of the signed-in user: one shared store read by the bell in the
// header, the notifications page and pages that want to react to news (the quota page
// reloads when its tenant's quota changed). It polls GET /api/v1/notifications while
// anybody listens (every POLL_MS while the tab is visible, at once when it becomes
// visible again) and on demand: refreshNotifications() after the user's own actions
// and on every page change.
import { api } from './api.js';

export { notificationHref, notificationText, notificationTitle } from './notify_text.js';

const POLL_MS = 20000;
const RECENT = 10; /* what the bell's panel shows */

let state = { loaded: false, unread: 0, items: [], error: null };
const listeners = new Set();
const newsListeners = new Set();
let timer = null;
let inflight = null;
let again = false;
let newest = 0; /* the highest id seen: newer ones are news */

function emit() {
    for (const fn of [...listeners]) fn(state);
}

async function load() {
    try {
        const page = await api.get('/api/v1/notifications', { limit: RECENT });
        const items = (page && page.items) || [];
        const fresh = state.loaded ? items.filter((n) => n.id > newest) : [];
        newest = items.reduce((m, n) => Math.max(m, n.id), newest);
        state = { loaded: true, unread: Number(page.unread) || 0, items, error: null };
        emit();
        if (fresh.length) for (const fn of [...newsListeners]) fn(fresh);
    } catch (e) {
        if (e && e.status === 401) return; /* signed out: the app shows the login page */
        state = { ...state, error: e };
        emit();
    }
}

/* Read the notifications now (coalesced: at most one request in flight, and one more
 * after it when asked meanwhile). Resolves when the store is current. */
export function refreshNotifications() {
    if (inflight) {
        again = true;
        return inflight;
    }
    inflight = (async () => {
        do {
            again = false;
            await load();
        } while (again);
    })().finally(() => {
        inflight = null;
    });
    return inflight;
}

function tick() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
        if (document.visibilityState === 'visible') await refreshNotifications();
        if (listeners.size) tick();
    }, POLL_MS);
}

function onVisible() {
    if (document.visibilityState === 'visible' && listeners.size) refreshNotifications();
}
document.addEventListener('visibilitychange', onVisible);

export function notificationState() {
    return state;
}

/* Listen to the store ({ loaded, unread, items, error }); returns the unsubscribe. */
export function subscribeNotifications(fn) {
    listeners.add(fn);
    if (listeners.size === 1) {
        refreshNotifications();
        tick();
    }
    return () => {
        listeners.delete(fn);
        if (!listeners.size) {
            clearTimeout(timer);
            timer = null;
        }
    };
}

/* fn(newItems) whenever notifications newer than any seen before arrive. */
export function onNewNotifications(fn) {
    newsListeners.add(fn);
    return () => newsListeners.delete(fn);
}

/* Sign-out: forget everything. */
export function resetNotifications() {
    clearTimeout(timer);
    timer = null;
    state = { loaded: false, unread: 0, items: [], error: null };
    newest = 0;
    emit();
}

export async function markRead(id) {
    await api.post(`/api/v1/notifications/${encodeURIComponent(id)}/read`);
    state = {
        ...state,
        items: state.items.map((n) => (n.id === id && !n.read ? { ...n, read: true } : n)),
        unread: Math.max(0, state.unread - (state.items.some((n) => n.id === id && !n.read) ? 1 : 0)),
    };
    emit();
    return refreshNotifications();
}

export async function markAllRead() {
    const r = await api.post('/api/v1/notifications/read-all');
    state = { ...state, unread: 0, items: state.items.map((n) => ({ ...n, read: true })) };
    emit();
    await refreshNotifications();
    return r;
}
