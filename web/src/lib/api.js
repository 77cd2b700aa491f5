// The API client: every request of the UI goes through here.
//
// Session model (see DESIGN.md, security): the access token lives only in this module's
// memory (never in localStorage, so an XSS cannot lift it from storage and a closed tab
// forgets it); the refresh token is an HttpOnly cookie the browser sends by itself to
// /api/v1/auth/refresh. Writes carry X-VP-CSRF: 1. On a 401 we refresh once (one shared
// refresh for all concurrent requests) and replay; if that fails the session is over and
// the app goes back to the login page with a message.

const CSRF_HEADER = 'X-VP-CSRF';

let accessToken = null;
let refreshing = null;
// The access token a refresh failed for: requests sent with it that come back 401
// later do not ask again (the session is over until the next sign-in).
let refreshFailedFor;
let expiredHandler = () => {};

/* An HTTP error answered by the server (problem+json, RFC 9457) or a network failure
 * (status 0). fieldErrors maps errors[].field → first message for inline form errors. */
export class ApiError extends Error {
    constructor(status, problem, retryAfter = null) {
        super(problem.detail || problem.title || `HTTP ${status}`);
        this.name = 'ApiError';
        this.status = status;
        this.problem = problem;
        this.retryAfter = retryAfter;
        this.fieldErrors = {};
        for (const e of Array.isArray(problem.errors) ? problem.errors : []) {
            if (e && typeof e.field === 'string' && !(e.field in this.fieldErrors))
                this.fieldErrors[e.field] = String(e.message || 'Invalid value');
        }
    }

    get detail() {
        return this.message;
    }

    get title() {
        return this.problem.title || (this.status ? `Error ${this.status}` : 'Network error');
    }
}

const FALLBACK = {
    400: 'The request was not valid.',
    401: 'You are not signed in.',
    403: 'You do not have permission to do this.',
    404: 'Not found.',
    409: 'This conflicts with the current state; reload and try again.',
    413: 'The request is too large.',
    429: 'Too many requests; wait a moment and try again.',
    500: 'The server failed to handle the request.',
    503: 'The service is unavailable; try again shortly.',
};

export function setSessionExpiredHandler(fn) {
    expiredHandler = fn;
}

export function hasSession() {
    return accessToken !== null;
}

export function clearSession() {
    accessToken = null;
}

function withQuery(path, query) {
    if (!query) return path;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
        if (v !== undefined && v !== null && v !== '') qs.append(k, String(v));
    const s = qs.toString();
    return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function readBody(res) {
    if (res.status === 204 || res.status === 205) return null;
    const type = res.headers.get('content-type') || '';
    const text = await res.text();
    if (!text) return null;
    if (type.includes('json')) {
        try {
            return JSON.parse(text);
        } catch {
            return null;
        }
    }
    return text;
}

async function toError(res) {
    const body = await readBody(res).catch(() => null);
    const problem = body && typeof body === 'object' ? { ...body } : {};
    if (!problem.detail) problem.detail = problem.title || FALLBACK[res.status] || `HTTP ${res.status}`;
    const ra = res.headers.get('retry-after');
    return new ApiError(res.status, problem, ra && /^\d+$/.test(ra) ? Number(ra) : null);
}

async function send(method, url, { body, auth = true, signal, accept, headers: extra } = {}) {
    const headers = { Accept: accept || 'application/json, application/problem+json', ...extra };
    if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    if (method !== 'GET' && method !== 'HEAD') headers[CSRF_HEADER] = '1';
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    try {
        return await fetch(url, init);
    } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        throw new ApiError(0, {
            title: 'Network error',
            detail: 'The server could not be reached. Check the connection and try again.',
        });
    }
}

async function takeTokens(res) {
    const data = await readBody(res);
    if (!data || typeof data.access_token !== 'string')
        throw new ApiError(res.status, { detail: 'The server answered without an access token.' });
    accessToken = data.access_token;
    return data;
}

/* Sign in. Throws ApiError (401 wrong credentials, 429 throttled with retryAfter, or a
 * problem naming the totp field when a second factor is required). */
export async function login(loginName, password, totp) {
    const body = { login: loginName, password };
    if (totp) body.totp = totp;
    const res = await send('POST', '/api/v1/auth/login', { body, auth: false });
    if (!res.ok) throw await toError(res);
    return takeTokens(res);
}

/* Trade the refresh cookie for a new access token. Resolves true on success, false when
 * the server refuses (no cookie, expired, revoked). Concurrent callers share one call. */
export function refresh() {
    if (!refreshing) {
        const replacing = accessToken;
        refreshing = (async () => {
            const res = await send('POST', '/api/v1/auth/refresh', { auth: false });
            if (!res.ok) {
                refreshFailedFor = replacing;
                accessToken = null;
                return false;
            }
            await takeTokens(res);
            return true;
        })().finally(() => {
            refreshing = null;
        });
    }
    return refreshing;
}

export async function logout() {
    try {
        const res = await send('POST', '/api/v1/auth/logout');
        if (!res.ok && res.status !== 401) throw await toError(res);
    } finally {
        accessToken = null;
    }
}

/* One API call. Resolves to { status, body, location } for any 2xx; throws ApiError
 * otherwise. A 401 triggers one refresh and one replay; a second failure ends the
 * session (the expired handler runs) and the 401 is thrown. */
/* Send with the session, refreshing once on a 401; resolves to the raw Response
 * (2xx) and throws ApiError otherwise. */
async function authorized(method, path, { body, query, signal, accept, headers } = {}) {
    const url = withQuery(path, query);
    const sentWith = accessToken;
    let res = await send(method, url, { body, signal, accept, headers });
    if (res.status === 401 && !path.startsWith('/api/v1/auth/')) {
        let ok = false;
        try {
            // a refresh that finished while this request was in flight already
            // brought a new token: replay with it instead of refreshing again
            // a refresh that failed after it was sent ended the session already
            ok = (accessToken && accessToken !== sentWith) ||
                (sentWith !== refreshFailedFor && (await refresh()));
        } catch {
            ok = false;
        }
        if (ok) res = await send(method, url, { body, signal, accept, headers });
        if (!ok || res.status === 401) {
            const err = await toError(res);
            accessToken = null;
            expiredHandler(err);
            throw err;
        }
    }
    if (!res.ok) throw await toError(res);
    return res;
}

export async function request(method, path, opts = {}) {
    const res = await authorized(method, path, opts);
    return { status: res.status, body: await readBody(res), location: res.headers.get('location') };
}

/* A GET whose body the caller reads itself (a stream): resolves to the Response once
 * the headers are in. `accept` names the wanted type (text/event-stream); `headers`
 * adds request headers (Last-Event-ID). */
export function openStream(path, { query, signal, accept, headers } = {}) {
    return authorized('GET', path, { query, signal, accept, headers });
}

/* Download a file the session must authorize (an export): fetch it with the bearer
 * token, then hand the Blob to the browser as a download. Resolves to
 * { filename, blob }. */
export async function download(path, query, fallbackName = 'download') {
    const res = await authorized('GET', path, { query, accept: '*/*' });
    const blob = await res.blob();
    const cd = res.headers.get('content-disposition') || '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    let filename = m ? decodeURIComponent(m[1]) : fallbackName;
    filename = filename.replace(/[\\/]/g, '_');
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.rel = 'noopener';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    return { filename, blob };
}

export const api = {
    get: async (path, query, opts) => (await request('GET', path, { ...opts, query })).body,
    post: async (path, body) => (await request('POST', path, { body })).body,
    put: async (path, body) => (await request('PUT', path, { body })).body,
    patch: async (path, body) => (await request('PATCH', path, { body })).body,
    del: async (path) => (await request('DELETE', path)).body,
};

/* Fetch every page of a list endpoint up to `max` items (for pickers: tenants, roles).
 * Returns { items, truncated }. */
export async function listAll(path, query = {}, max = 1000) {
    const items = [];
    let cursor = null;
    do {
        const page = await api.get(path, { ...query, limit: Math.min(1000, max - items.length), cursor });
        items.push(...(page.items || []));
        cursor = page.next_cursor || null;
    } while (cursor && items.length < max);
    return { items, truncated: cursor !== null };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/* Poll an async task (the Location of a 202) until it ends; onUpdate sees each state.
 * Polls every second, slowing to every 5 s for long tasks. Resolves to the final task. */
export async function pollTask(location, onUpdate = () => {}) {
    let delay = 1000;
    for (;;) {
        const task = await api.get(location);
        onUpdate(task);
        if (task && TERMINAL.has(task.state)) return task;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5000, delay * 1.3);
    }
}
