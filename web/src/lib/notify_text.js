// What a notification says and where it leads: pure helpers (unit-tested in
// web/test/requests.test.mjs), used by the bell and the notifications page.

/* The UI path a notification leads to: its body's link is an API path
 * (/api/v1/quota-requests/12) → the page showing it (/quota-requests/12). */
export function notificationHref(n) {
    const body = (n && n.body) || {};
    const link = typeof body.link === 'string' ? body.link : '';
    const m = /^\/api\/v1\/quota-requests\/(\d+)$/.exec(link);
    if (m) return `/quota-requests/${m[1]}`;
    if (body.request_id !== undefined && body.request_id !== null && /^\d+$/.test(String(body.request_id)))
        return `/quota-requests/${body.request_id}`;
    if (link.startsWith('/api/')) return null;
    return link.startsWith('/') && !link.startsWith('//') ? link : null;
}

const KIND_TEXT = {
    'quota_request.created': 'New quota request',
    'quota_request.approved': 'Quota request approved',
    'quota_request.denied': 'Quota request denied',
    'quota_request.withdrawn': 'Quota request withdrawn',
    'quota_grant.expired': 'Quota grant expired',
    'webhook.ping': 'Webhook test',
};

export function notificationTitle(n) {
    return KIND_TEXT[n.kind] || n.kind;
}

/* The sentence to show: the server's message, or a plain fallback. */
export function notificationText(n) {
    const body = (n && n.body) || {};
    if (typeof body.message === 'string' && body.message) return body.message;
    return `${notificationTitle(n)}${body.request_id ? ` (#${body.request_id})` : ''}${body.tenant ? ` · ${body.tenant}` : ''}`;
}
