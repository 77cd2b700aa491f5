// Live task changes: one shared reader of GET /api/v1/tasks/events for the whole UI.
//
// EventSource cannot send the bearer token, so the stream is read with fetch() and a
// ReadableStream reader, parsed by lib/sse.js. The stream is open while anybody
// listens (the Tasks page, a task drawer, a task toast) and closed when the last one
// leaves. It reconnects by itself: at once (with Last-Event-ID, so nothing is missed)
// when the server ends a healthy stream (it does after 5 minutes), with growing delays
// (the server's `retry`, doubling up to 30 s) after failures. Listeners see:
//   { type: 'task', task }      a task changed (the same JSON as GET /tasks/{id})
//   { type: 'resync' }          events were lost: reload what you show
//   { type: 'status', status }  'connecting' | 'open' | 'down' (down: retrying later)
// watchTask() follows one task and falls back to polling while the stream is not open.
import { api, openStream } from './api.js';
import { createSseParser } from './sse.js';

export const TERMINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);
export const isFinal = (task) => !!task && TERMINAL_STATES.has(task.state);

const EVENTS = '/api/v1/tasks/events';
const MAX_DELAY_MS = 30000;
const HEALTHY_MS = 10000; /* a stream that lived this long ended normally */
const SILENCE_MS = 40000; /* the server sends a keep-alive every 15 s: longer silence is a dead stream */
const OPEN_POLL_MS = 15000; /* watchTask's safety net while the stream is open */

const listeners = new Set();
let status = 'down';
let ctl = null; /* AbortController of the current connection */
let timer = null;
let retryMs = 3000;
let failures = 0;
let lastId = '';
let unusable = false; /* the server refused the stream outright (404/400): poll instead */

function emit(ev) {
    for (const fn of [...listeners]) {
        try {
            fn(ev);
        } catch (e) {
            /* one broken listener must not starve the others */
            setTimeout(() => { throw e; }, 0);
        }
    }
}

function setStatus(s) {
    if (s === status) return;
    status = s;
    emit({ type: 'status', status: s });
}

export function streamStatus() {
    return status;
}

async function readStream(res, signal) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = createSseParser((ev) => {
        if (ev.type === 'retry') retryMs = Math.max(500, Math.min(ev.retry, MAX_DELAY_MS));
        else if (ev.type === 'task') {
            let task = null;
            try {
                task = JSON.parse(ev.data);
            } catch {
                task = null;
            }
            if (task && typeof task.id === 'number') emit({ type: 'task', task });
        } else if (ev.type === 'resync') emit({ type: 'resync' });
    });
    let watchdog = null;
    const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => reader.cancel().catch(() => {}), SILENCE_MS);
    };
    try {
        arm();
        for (;;) {
            const { done, value } = await reader.read();
            if (done || signal.aborted) break;
            arm();
            parser.push(decoder.decode(value, { stream: true }));
            if (parser.lastEventId) lastId = parser.lastEventId;
        }
    } finally {
        clearTimeout(watchdog);
        parser.end();
        reader.releaseLock();
    }
}

function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
}

async function connect() {
    timer = null;
    if (!listeners.size || ctl) return;
    const mine = new AbortController();
    ctl = mine;
    setStatus('connecting');
    const started = Date.now();
    let healthy = false;
    let signedOut = false;
    try {
        const headers = lastId ? { 'Last-Event-ID': lastId } : undefined;
        const res = await openStream(EVENTS, { signal: mine.signal, accept: 'text/event-stream', headers });
        if (!res.body || !(res.headers.get('content-type') || '').includes('text/event-stream'))
            throw new Error('not an event stream');
        failures = 0;
        setStatus('open');
        await readStream(res, mine.signal);
        healthy = Date.now() - started >= HEALTHY_MS;
    } catch (e) {
        /* refused outright: poll instead; 401: the session is over (api.js ended it) */
        if (e && (e.status === 404 || e.status === 400 || e.status === 403)) unusable = true;
        if (e && e.status === 401) signedOut = true;
    }
    if (ctl !== mine) return; /* stopped meanwhile (or replaced) */
    ctl = null;
    if (mine.signal.aborted || !listeners.size) {
        setStatus('down');
        return;
    }
    setStatus('down');
    if (unusable) return; /* polling fallback only, until the next page load */
    if (signedOut) return; /* the next subscriber after signing in opens it again */
    if (healthy) {
        schedule(100);
        return;
    }
    failures++;
    schedule(Math.min(MAX_DELAY_MS, retryMs * 2 ** Math.min(failures - 1, 4)));
}

function stop() {
    clearTimeout(timer);
    timer = null;
    if (ctl) {
        const c = ctl;
        ctl = null;
        c.abort();
    }
    setStatus('down');
}

/* Listen to task events; returns the function that stops listening. The stream opens
 * with the first listener and closes (after a short grace, so page changes do not
 * reconnect) when the last one leaves. */
export function subscribeTasks(fn) {
    listeners.add(fn);
    if (!ctl && !timer && !unusable) schedule(0);
    return () => {
        listeners.delete(fn);
        if (!listeners.size) {
            setTimeout(() => {
                if (!listeners.size) stop();
            }, 2000);
        }
    };
}

/* Forget the stream (sign-out): a new session starts from scratch. */
export function resetTaskStream() {
    stop();
    lastId = '';
    failures = 0;
    unusable = false;
}

/* "/api/v1/tasks/12" → 12, else null. */
export function taskIdOf(location) {
    const m = /^\/api\/v1\/tasks\/(\d+)$/.exec(location || '');
    return m ? Number(m[1]) : null;
}

/* Follow one task: onUpdate(task) on every change (stream, or polling while the
 * stream is not open). Returns { done: Promise<final task>, stop() }. The first GET
 * gives the current state; after every (re)connection and resync it is read again,
 * since the stream only tells what changes from then on. */
export function watchTask(id, onUpdate = () => {}) {
    const path = `/api/v1/tasks/${encodeURIComponent(id)}`;
    let stopped = false;
    let pollTimer = null;
    let pollDelay = 1000;
    let latest = null;
    let resolve;
    let reject;
    const done = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
    });

    const finish = () => {
        stopped = true;
        clearTimeout(pollTimer);
        unsubscribe();
    };
    const take = (task) => {
        if (stopped || !task || task.id !== Number(id)) return;
        /* events can arrive out of order with a GET: never step back from a final state */
        if (isFinal(latest) && !isFinal(task)) return;
        latest = task;
        onUpdate(task);
        if (isFinal(task)) {
            finish();
            resolve(task);
        }
    };
    const fetchNow = async () => {
        try {
            take(await api.get(path));
        } catch (e) {
            if (stopped) return;
            if (e && (e.status === 404 || e.status === 403 || e.status === 401)) {
                finish();
                reject(e);
            }
            /* other errors: the next poll or event tries again */
        }
    };
    /* Polls every 1 s, slowing to 5 s, while the stream is not open; every 15 s while
     * it is (a safety net: an event lost on the way must not leave the task stale). */
    const poll = () => {
        clearTimeout(pollTimer);
        if (stopped) return;
        const open = status === 'open';
        pollTimer = setTimeout(async () => {
            await fetchNow();
            if (!open) pollDelay = Math.min(5000, pollDelay * 1.3);
            poll();
        }, open ? OPEN_POLL_MS : pollDelay);
    };
    const unsubscribe = subscribeTasks((ev) => {
        if (ev.type === 'task') take(ev.task);
        else if (ev.type === 'resync') fetchNow();
        else if (ev.type === 'status') {
            if (ev.status === 'open') {
                fetchNow();
                poll();
            } else if (ev.status === 'down') {
                pollDelay = 1000;
                poll();
            }
        }
    });
    fetchNow().then(() => poll());
    return {
        done,
        stop() {
            if (!stopped) finish();
        },
    };
}
