// Toasts: short messages in a live region (polite for info/success, assertive for
// errors). Errors stay until dismissed for longer; async tasks (202 + Location) get a
// toast that follows the task until it ends.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { pollTask, request } from '../lib/api.js';
import { taskIdOf, watchTask } from '../lib/tasks.js';
import { Icon } from './icons.js';

let nextId = 1;
let toasts = [];
const listeners = new Set();
const timers = new Map();

function emit() {
    for (const fn of listeners) fn(toasts);
}

export function dismiss(id) {
    clearTimeout(timers.get(id));
    timers.delete(id);
    toasts = toasts.filter((t) => t.id !== id);
    emit();
}

function arm(id, timeout) {
    clearTimeout(timers.get(id));
    if (timeout > 0) timers.set(id, setTimeout(() => dismiss(id), timeout));
}

const DEFAULT_TIMEOUT = { success: 5000, info: 6000, warning: 10000, error: 12000, progress: 0 };

/* Show a toast: { kind: success|info|warning|error|progress, title, message, timeout }.
 * Returns its id for update()/dismiss(). */
export function toast({ kind = 'info', title = '', message = '', timeout } = {}) {
    const id = nextId++;
    toasts = [...toasts.slice(-4), { id, kind, title, message }];
    emit();
    arm(id, timeout ?? DEFAULT_TIMEOUT[kind]);
    return id;
}

export function updateToast(id, patch) {
    toasts = toasts.map((t) => (t.id === id ? { ...t, ...patch } : t));
    emit();
    if (patch.kind) arm(id, patch.timeout ?? DEFAULT_TIMEOUT[patch.kind]);
}

export const toastSuccess = (message, title = '') => toast({ kind: 'success', message, title });

/* Show an ApiError (or any error) with the server's detail. */
export function toastError(err, title) {
    const detail = (err && (err.detail || err.message)) || 'Something went wrong.';
    let message = detail;
    if (err && err.status === 429 && err.retryAfter) message += ` Try again in ${err.retryAfter} s.`;
    return toast({ kind: 'error', title: title || (err && err.title) || 'Error', message });
}

/* Follow an async task by its URL (Location of a 202) and report its end. Task URLs
 * are followed on the live event stream (polling while it is not open); any other
 * URL is polled. */
export async function trackTask(location, label) {
    const id = toast({ kind: 'progress', title: label, message: 'Queued…' });
    const show = (t) => {
        const pct = typeof t.progress === 'number' ? ` ${Math.round(t.progress)}%` : '';
        updateToast(id, { message: `${t.state || 'running'}${pct}${t.message ? ` · ${t.message}` : ''}` });
    };
    try {
        const taskId = taskIdOf(location);
        const task = taskId !== null ? await watchTask(taskId, show).done : await pollTask(location, show);
        if (task.state === 'succeeded') updateToast(id, { kind: 'success', message: 'Done.' });
        else updateToast(id, { kind: 'error', message: task.error ? `${task.state}: ${task.error}` : task.state });
        return task;
    } catch (e) {
        updateToast(id, { kind: 'error', message: e.detail || e.message });
        throw e;
    }
}

/* Run an action that may be asynchronous: a 202 with Location is followed by a task
 * toast until it ends (resolves to the final task); any other 2xx resolves to its body. */
export async function runAction(label, method, path, body) {
    const res = await request(method, path, { body });
    if (res.status === 202 && res.location) return trackTask(res.location, label);
    return res.body;
}

const KIND_ICON = { success: 'check', error: 'alert', warning: 'alert', info: 'info', progress: 'refresh' };

export function ToastHost() {
    const [list, setList] = useState(toasts);
    useEffect(() => {
        listeners.add(setList);
        return () => listeners.delete(setList);
    }, []);
    const item = (t) => html`<div class=${`toast toast-${t.kind}`} key=${t.id} data-testid="toast">
        <${Icon} name=${KIND_ICON[t.kind]} class=${t.kind === 'progress' ? 'spin' : ''} />
        <div class="toast-body">
            ${t.title && html`<strong class="toast-title">${t.title}</strong>`}
            <span class="toast-message">${t.message}</span>
        </div>
        <button type="button" class="icon-button" aria-label="Dismiss notification" onClick=${() => dismiss(t.id)}>
            <${Icon} name="x" size=${16} />
        </button>
    </div>`;
    return html`<div class="toasts">
        <div role="status" aria-live="polite">${list.filter((t) => t.kind !== 'error').map(item)}</div>
        <div role="alert" aria-live="assertive">${list.filter((t) => t.kind === 'error').map(item)}</div>
    </div>`;
}
