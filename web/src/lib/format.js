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

export function fmtTime(v, { seconds = false } = {}) {
    const d = toDate(v);
    if (!d) return '—';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
}

/* A <input type=datetime-local> value (local time) as RFC 3339 UTC, or '' */
export function localInputToIso(v) {
    if (!v) return '';
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? '' : d.toISOString();
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

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function fmtNumber(n) {
    return typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '—';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/* 1536 → "1.5 KiB" (binary units, as the API's limits are). */
export function fmtBytes(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
    let v = Math.abs(n);
    let u = 0;
    while (v >= 1024 && u < UNITS.length - 1) {
        v /= 1024;
        u++;
    }
    const round = (x) => (x < 10 && u ? Math.round(x * 100) / 100 : Math.round(x * 10) / 10);
    if (round(v) >= 1024 && u < UNITS.length - 1) { /* 1023.99 KiB reads as 1 MiB */
        v /= 1024;
        u++;
    }
    return `${n < 0 ? '-' : ''}${nf.format(round(v))} ${UNITS[u]}`;
}

export const fmtMiB = (n) => (n === 0 ? '0 MiB' : fmtBytes(typeof n === 'number' ? n * 1024 * 1024 : n));
export const fmtGiB = (n) => (n === 0 ? '0 GiB' : fmtBytes(typeof n === 'number' ? n * 1024 * 1024 * 1024 : n));

/* Milliseconds between two times as "1 h 5 min", "42 s", "850 ms". */
export function fmtDuration(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
}
