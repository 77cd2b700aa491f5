// Display helpers shared by the pages. The API gives timestamps either as RFC 3339
// strings or as Unix seconds; both are shown in the browser's local time.

export function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number') return new Date(v < 1e12 ? v * 1000 : v);
    if (typeof v === 'string' && /^\d+$/.test(v)) return toDate(Number(v));
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n) => String(n).padStart(2, '0');

export function fmtTime(v) {
    const d = toDate(v);
    if (!d) return '—';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function isoTime(v) {
    const d = toDate(v);
    return d ? d.toISOString() : '';
}

export function isPast(v) {
    const d = toDate(v);
    return d !== null && d.getTime() <= Date.now();
}

export function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many || one + 's'}`;
}
