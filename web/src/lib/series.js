// Usage history as the UI draws it: series out of the API's bucketed points
// (GET /api/v1/tenants/{id}/usage/history), their statistics, the SVG geometry of a
// line chart on a time axis, and the texts of the enforcement modes and budgets.
// No DOM and no Preact: unit-tested by web/test/series.test.mjs.
import { RUNTIME } from './quota_res.js';

/* How each runtime enforcement mode reads (the API's "cgroup" | "libvirt" | "none"). */
export const ENFORCEMENT = {
    cgroup: { kind: 'success', text: 'cgroup v2', title: 'The tenant partition on this host carries the limits (cpu.max, memory.max, io.max, pids.max).' },
    libvirt: { kind: 'warning', text: 'libvirt (per VM)', title: 'No usable cgroup v2 tree here: the budget is applied to each VM through libvirt tunables.' },
    none: { kind: 'neutral', text: 'not enforced', title: 'Runtime limits are not enforced on this host.' },
};

export const enforcementInfo = (mode) => ENFORCEMENT[mode] || ENFORCEMENT.none;

/* [{t: ms since the epoch, v: number | null}] of one member of the points, in time
 * order; `scale` multiplies (e.g. 1/1024 for KiB). A missing or non-numeric value is
 * null (the bucket has no usable interval for it). */
export function seriesOf(points, key, scale = 1) {
    const out = [];
    for (const p of Array.isArray(points) ? points : []) {
        const t = Date.parse(p && p.t);
        if (Number.isNaN(t)) continue;
        const raw = p[key];
        const v = typeof raw === 'number' && Number.isFinite(raw) ? raw * scale : null;
        out.push({ t, v });
    }
    return out.sort((a, b) => a.t - b.t);
}

/* {n, latest, latestT, min, max, mean} of the non-null values, or null when none. */
export function seriesStats(series) {
    const vals = (series || []).filter((p) => p.v !== null && p.v !== undefined);
    if (!vals.length) return null;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const p of vals) {
        min = Math.min(min, p.v);
        max = Math.max(max, p.v);
        sum += p.v;
    }
    const last = vals[vals.length - 1];
    return { n: vals.length, latest: last.v, latestT: last.t, min, max, mean: sum / vals.length };
}

/* The top of the y axis: the largest value or limit, rounded up so the scale reads
 * well: to 1, 2 or 5 × 10^k, or with base 1024 (bytes) to 2^j × 1024^k (1 GiB, 2 GiB,
 * 512 MiB); at least `floor`. */
export function niceMax(v, floor = 1e-9, base = 10) {
    const x = Math.max(Number(v) || 0, floor);
    if (base === 1024) {
        if (x <= 1) return 1;
        const k = Math.max(0, Math.floor(Math.log(x) / Math.log(1024)));
        const unit = 1024 ** k;
        return 2 ** Math.ceil(Math.log2(x / unit) - 1e-9) * unit;
    }
    const e = 10 ** Math.floor(Math.log10(x));
    for (const m of [1, 2, 5, 10]) if (x <= m * e * (1 + 1e-9)) return m * e;
    return 10 * e;
}

/* SVG geometry of series on a common time axis [x0, x1] (ms) and value axis [0, yMax]
 * inside a width × height box with `pad` pixels around. A null value, or a gap longer
 * than `gap` ms between two points, breaks the line (no sample: nothing is drawn).
 * `base` 1024 rounds the scale in binary units (bytes).
 * Returns { yMax, paths: [d per series], dots: [[{x, y}] isolated points per series],
 * yOf(v) }. */
export function chartGeometry(seriesList, { width, height, pad = 4, x0, x1, limit = null, fixedMax = null, gap = Infinity, base = 10 }) {
    const all = seriesList.flatMap((s) => s.filter((p) => p.v !== null));
    const ts = all.map((p) => p.t);
    const lo = x0 ?? Math.min(...ts);
    const hi = Math.max(x1 ?? Math.max(...ts), lo + 1);
    const top = niceMax(Math.max(0, ...all.map((p) => p.v), limit ?? 0, fixedMax ?? 0), 1e-9, base);
    const xOf = (t) => pad + ((t - lo) / (hi - lo)) * (width - 2 * pad);
    const yOf = (v) => height - pad - (Math.max(0, Math.min(v, top)) / top) * (height - 2 * pad);
    const paths = [];
    const dots = [];
    for (const s of seriesList) {
        const runs = [];
        let run = [];
        let prevT = null;
        for (const p of s) {
            if (p.v === null || (prevT !== null && p.t - prevT > gap)) {
                if (run.length) runs.push(run);
                run = [];
            }
            if (p.v !== null) run.push(p);
            prevT = p.v === null ? null : p.t;
        }
        if (run.length) runs.push(run);
        paths.push(runs.filter((r) => r.length > 1)
            .map((r) => r.map((p, i) => `${i ? 'L' : 'M'}${xOf(p.t).toFixed(1)},${yOf(p.v).toFixed(1)}`).join(' '))
            .join(' '));
        dots.push(runs.filter((r) => r.length === 1).map(([p]) => ({ x: xOf(p.t), y: yOf(p.v) })));
    }
    return { yMax: top, paths, dots, yOf };
}

/* "CPU cap 1.5 cores · Memory cap 2 GiB · Read bandwidth 10 MiB/s" for a host's budget
 * (the runtime resources it sets, in the API's units), or '' when it sets none. */
export function budgetText(budget) {
    if (!budget || typeof budget !== 'object') return '';
    return RUNTIME.filter((r) => typeof budget[r.key] === 'number')
        .map((r) => `${r.label} ${r.fmt(budget[r.key])}`).join(' · ');
}

/* The newest point of `points` that has a value for `key`, or null. */
export function latestWith(points, key) {
    const list = Array.isArray(points) ? points : [];
    for (let i = list.length - 1; i >= 0; i--) {
        const v = list[i] && list[i][key];
        if (typeof v === 'number' && Number.isFinite(v)) return list[i];
    }
    return null;
}
