// Tasks: long-running actions, newest first, filtered by state and kind, kept current
// by the live event stream (lib/tasks.js); a drawer follows one task's progress and
// offers Cancel where the user's permissions allow it.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { canIn } from '../lib/perms.js';
import { fmtDuration, toDate } from '../lib/format.js';
import { isFinal, streamStatus, subscribeTasks, watchTask } from '../lib/tasks.js';
import { useSession } from '../session.js';
import { DataTable } from '../components/table.js';
import { confirmAction, Drawer } from '../components/dialog.js';
import { toastError, toastSuccess } from '../components/toast.js';
import { Icon } from '../components/icons.js';
import { ProgressBar } from '../components/meter.js';
import { Badge, DetailList, PageHeader, Spinner, Time } from '../components/ui.js';

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const STATE_KIND = { queued: 'neutral', running: 'info', succeeded: 'success', failed: 'danger', cancelled: 'warning' };

export function TaskState({ task }) {
    return html`<span class="task-state">
        <${Badge} kind=${STATE_KIND[task.state] || 'neutral'}>${task.state}<//>
        ${task.cancel_requested && !isFinal(task) && html` <span class="muted small">cancelling…</span>`}
    </span>`;
}

/* The permission a task's cancellation needs besides task.read (api/tasks.c). */
export function cancelPermission(kind) {
    if (kind === 'vm.create') return 'vm.create';
    if (kind === 'vm.delete') return 'vm.delete';
    if (kind.startsWith('vm.')) return 'vm.power';
    if (kind.startsWith('plan.')) return 'plan.write';
    return 'host.admin';
}

function duration(t) {
    const start = toDate(t.started_at);
    if (!start) return null;
    const end = toDate(t.finished_at) || (isFinal(t) ? null : new Date());
    return end ? fmtDuration(end.getTime() - start.getTime()) : null;
}

/* 'open' | 'connecting' | 'down' of the shared task stream, for a status line. */
export function useStreamStatus() {
    const [status, setStatus] = useState(streamStatus());
    useEffect(() => subscribeTasks((ev) => ev.type === 'status' && setStatus(ev.status)), []);
    return status;
}

export function LiveIndicator({ status }) {
    const text = status === 'open' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Polling';
    const title = status === 'open' ? 'Updates arrive as they happen (event stream)'
        : status === 'connecting' ? 'Opening the event stream' : 'The event stream is not available: updates are polled';
    return html`<span class=${`live live-${status}`} title=${title} data-testid="live-status">
        <span class="live-dot" aria-hidden="true"></span>${text}</span>`;
}

/* A drawer that follows one task live. `task` is what the caller already has (or
 * null); the drawer reads the current state itself. */
export function TaskDrawer({ id, task: initial = null, onClose, onChanged }) {
    const { me } = useSession();
    const [task, setTask] = useState(initial);
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const status = useStreamStatus();

    useEffect(() => {
        const w = watchTask(id, (t) => {
            setTask((prev) => (isFinal(prev) && !isFinal(t) ? prev : t));
            if (onChanged) onChanged(t);
        });
        w.done.catch((e) => setError(e));
        return () => w.stop();
    }, [id]);

    const mayCancel = task && !isFinal(task) && !task.cancel_requested && canIn(me, cancelPermission(task.kind), task.tenant_id);
    const cancel = async () => {
        const ok = await confirmAction({
            title: `Cancel task #${task.id}?`, danger: true, confirmLabel: 'Cancel task',
            message: task.state === 'queued' ? 'The task has not started: it is cancelled at once.'
                : 'The task is asked to stop; what it already did is not undone. It may still finish first.',
        });
        if (!ok) return;
        setBusy(true);
        try {
            const t = await api.post(`/api/v1/tasks/${encodeURIComponent(task.id)}/cancel`);
            /* the stream may have brought the final state before this answer: keep it */
            if (t && t.id === task.id) setTask((prev) => (isFinal(prev) ? prev : t));
            toastSuccess(t && t.state === 'cancelled' ? `Task #${task.id} cancelled.` : `Cancellation of task #${task.id} requested.`);
        } catch (e) {
            toastError(e, 'Could not cancel the task');
        } finally {
            setBusy(false);
        }
    };

    let body;
    if (error) {
        body = html`<div class="alert alert-error" role="alert"><${Icon} name="alert" />
            <span>${error.status === 404 ? 'This task does not exist or is not visible to you.' : error.detail}</span></div>`;
    } else if (!task) {
        body = html`<${Spinner} label="Loading the task…" />`;
    } else {
        const who = task.created_by === null ? 'system' : me && task.created_by === me.id ? `you (user #${task.created_by})` : `user #${task.created_by}`;
        body = html`
            <div class="task-live" data-testid="task-drawer">
                <div class="task-live-head">
                    <span aria-live="polite" data-testid="task-state"><${TaskState} task=${task} /></span>
                    ${!isFinal(task) && html`<${LiveIndicator} status=${status} />`}
                </div>
                <${ProgressBar} value=${task.progress} label=${`Progress of task #${task.id}`} state=${task.state} testid="task-progress" />
                ${task.message && !isFinal(task) && html`<p class="muted small" data-testid="task-message">${task.message}</p>`}
                ${task.error && html`<div class=${`alert ${task.state === 'failed' ? 'alert-error' : 'alert-warning'}`} role="status"
                    data-testid="task-error"><${Icon} name="alert" /><span>${task.error}</span></div>`}
            </div>
            <${DetailList} rows=${[
                ['ID', html`<code>${task.id}</code>`],
                ['Kind', html`<code>${task.kind}</code>`],
                ['Target', task.target ? html`<code>${task.target}</code>` : null],
                ['Tenant', task.tenant_id === null ? 'none (global)' : `#${task.tenant_id}`],
                ['Created by', who],
                ['Created', html`<${Time} value=${task.created_at} />`],
                ['Started', task.started_at ? html`<${Time} value=${task.started_at} />` : null],
                ['Finished', task.finished_at ? html`<${Time} value=${task.finished_at} />` : null],
                ['Duration', duration(task)],
            ]} />`;
    }
    return html`<${Drawer} title=${task ? `Task #${task.id} · ${task.kind}` : `Task #${id}`} onClose=${onClose}
        footer=${mayCancel && html`<button type="button" class="button danger" disabled=${busy} onClick=${cancel}
            data-testid="task-cancel"><${Icon} name="x" size=${16} /> Cancel task</button>`}>
        ${body}
    <//>`;
}

function useDebounced(value, ms) {
    const [v, setV] = useState(value);
    useEffect(() => {
        const t = setTimeout(() => setV(value), ms);
        return () => clearTimeout(t);
    }, [value, ms]);
    return v;
}

export function TasksPage() {
    const [state, setState] = useState('');
    const [kindText, setKindText] = useState('');
    const kind = useDebounced(kindText.trim(), 300);
    const [reload, setReload] = useState(0);
    const [viewing, setViewing] = useState(null);
    const status = useStreamStatus();

    /* resync: events were lost, the rows shown may be stale */
    useEffect(() => subscribeTasks((ev) => ev.type === 'resync' && setReload((n) => n + 1)), []);

    const matches = (t) => (!state || t.state === state) && (!kind || t.kind === kind);
    const live = useCallback((apply) => subscribeTasks((ev) => {
        if (ev.type !== 'task') return;
        const t = ev.task;
        apply((items, { firstPage, limit }) => {
            const i = items.findIndex((x) => x.id === t.id);
            if (i >= 0) return items.map((x) => (x.id === t.id ? t : x));
            /* a new task: newest first, so it belongs on the first page */
            const newest = items.reduce((m, x) => Math.max(m, x.id), 0);
            if (firstPage && t.id > newest && matches(t)) return [t, ...items].slice(0, limit);
            return items;
        });
    }), [state, kind]);

    const columns = [
        { key: 'id', label: 'Task', render: (t) => html`#${t.id}` },
        { key: 'kind', label: 'Kind', render: (t) => html`<code>${t.kind}</code>` },
        { key: 'target', label: 'Target', render: (t) => t.target ? html`<code>${t.target}</code>` : html`<span class="muted">—</span>` },
        { key: 'state', label: 'State', render: (t) => html`<${TaskState} task=${t} />
            ${t.error && isFinal(t) && html`<div class="muted small task-error-inline" title=${t.error}>${t.error}</div>`}` },
        { key: 'progress', label: 'Progress', class: 'col-progress', render: (t) => html`<${ProgressBar} value=${t.progress}
            label=${`Progress of task #${t.id}`} state=${t.state} />` },
        { key: 'created_at', label: 'Created', render: (t) => html`<${Time} value=${t.created_at} />` },
        { key: 'duration', label: 'Duration', render: (t) => duration(t) || html`<span class="muted">—</span>` },
    ];
    const toolbar = html`
        <label class="inline-label">State
            <select value=${state} onChange=${(e) => setState(e.currentTarget.value)} data-testid="task-state-filter">
                <option value="">any</option>
                ${TASK_STATES.map((s) => html`<option value=${s} key=${s}>${s}</option>`)}
            </select>
        </label>
        <div class="search-box">
            <${Icon} name="search" size=${16} />
            <input type="search" aria-label="Kind (exact)" placeholder="Kind, e.g. vm.start" value=${kindText}
                onInput=${(e) => setKindText(e.currentTarget.value)} spellcheck=${false} />
        </div>
        <${LiveIndicator} status=${status} />`;

    return html`
        <${PageHeader} title="Tasks" description="Long-running actions and their progress, newest first. Open a task to follow it live." />
        <${DataTable} endpoint="/api/v1/tasks" label="Tasks" columns=${columns} reloadToken=${reload}
            query=${{ state: state || undefined, kind: kind || undefined }} filterParam=${null} toolbar=${toolbar}
            onOpen=${(t) => setViewing(t)} live=${live} testid="tasks-table"
            emptyText=${state || kind ? 'No task matches these filters.' : 'No tasks yet. Actions that take time (starting, migrating VMs…) appear here.'} />
        ${viewing && html`<${TaskDrawer} id=${viewing.id} task=${viewing} onClose=${() => setViewing(null)} />`}`;
}
