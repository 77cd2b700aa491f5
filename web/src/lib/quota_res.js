// The quota resources as the API names them (db/quota.h), with how the UI labels and
// formats their amounts. Shared by the quota page, quota requests and their decisions.
import { fmtBytes, fmtGiB, fmtMiB, fmtNumber } from './format.js';

/* Allocation resources, checked at admission. */
export const ALLOCATION = [
    { key: 'vms', label: 'VMs', unit: 'VMs', fmt: fmtNumber, editLabel: 'VMs', hint: 'Defined VMs, running or not.' },
    { key: 'vcpus', label: 'vCPUs', unit: 'vCPUs', fmt: fmtNumber, editLabel: 'vCPUs' },
    { key: 'memory_mib', label: 'Memory', fmt: fmtMiB, editLabel: 'Memory (MiB)' },
    { key: 'disk_gib', label: 'Disk', fmt: fmtGiB, editLabel: 'Disk (GiB)' },
];

/* Runtime limits, enforced per host (cgroup v2, or libvirt tunables as a fallback). */
export const RUNTIME = [
    { key: 'cpu_cores', label: 'CPU cap', fmt: (v) => `${fmtNumber(v)} cores`, editLabel: 'CPU cap (cores)', hint: 'Up to 3 decimals, e.g. 1.5.', decimal: true },
    { key: 'memory_max_mib', label: 'Memory cap', fmt: fmtMiB, editLabel: 'Memory cap (MiB)' },
    { key: 'io_read_bps', label: 'Read bandwidth', fmt: (v) => `${fmtBytes(v)}/s`, editLabel: 'Read bandwidth (bytes/s)' },
    { key: 'io_write_bps', label: 'Write bandwidth', fmt: (v) => `${fmtBytes(v)}/s`, editLabel: 'Write bandwidth (bytes/s)' },
    { key: 'io_read_iops', label: 'Read IOPS', fmt: fmtNumber, editLabel: 'Read IOPS' },
    { key: 'io_write_iops', label: 'Write IOPS', fmt: fmtNumber, editLabel: 'Write IOPS' },
    { key: 'io_weight', label: 'I/O weight', fmt: fmtNumber, editLabel: 'I/O weight (1–10000)' },
    { key: 'pids_max', label: 'Tasks cap', fmt: fmtNumber, editLabel: 'Tasks cap (processes and threads)' },
];

export const RESOURCES = [...ALLOCATION, ...RUNTIME];
const BY_KEY = Object.fromEntries(RESOURCES.map((r) => [r.key, r]));

export const resInfo = (key) => BY_KEY[key] || null;
export const resLabel = (key) => (BY_KEY[key] ? BY_KEY[key].label : key);
export const resFmt = (key) => (BY_KEY[key] ? BY_KEY[key].fmt : fmtNumber);
/* The unit a form field of this resource takes, for labels: " (MiB)" or "". */
export function resUnit(key) {
    const m = /\(([^)]*)\)$/.exec((BY_KEY[key] && BY_KEY[key].editLabel) || '');
    return m && key !== 'io_weight' && key !== 'pids_max' ? ` (${m[1]})` : '';
}

/* The resources of an amounts object ({vcpus: 2, ...}) in the canonical order, then
 * any the UI does not know. */
export function amountKeys(obj) {
    if (!obj || typeof obj !== 'object') return [];
    const known = RESOURCES.map((r) => r.key).filter((k) => obj[k] !== undefined && obj[k] !== null);
    const other = Object.keys(obj).filter((k) => !BY_KEY[k] && obj[k] !== undefined && obj[k] !== null);
    return [...known, ...other];
}

/* "vCPUs +4, Memory +2 GiB" for deltas (sign '+'), "vCPUs to 24" for targets (sign 'to '). */
export function amountsText(obj, sign = '+') {
    const keys = amountKeys(obj);
    if (!keys.length) return '—';
    return keys.map((k) => `${resLabel(k)} ${sign}${resFmt(k)(obj[k])}`).join(', ');
}

/* A form value as JSON: '' → null, numbers as numbers, anything else as typed, so that
 * the server (the one validator) names the field that is wrong. */
export function jsonValue(v) {
    const s = String(v ?? '').trim();
    if (s === '') return null;
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
    return s;
}
