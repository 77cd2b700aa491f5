// A small SVG line chart (no library), never the only way to read its numbers:
//  - one series of equally spaced numbers, with min/max and the latest value in text
//      <LineChart label="CPU" values=${[1, 2, 3]} format=${(n) => `${n} %`} />
//  - or series on a time axis (usage history), with an optional limit drawn as a
//    dashed line, a legend, and a table of every point behind "Show the numbers"
//      <LineChart label="CPU" series=${[{ name: 'used', points: [{ t, v }] }]}
//          x0=${t0} x1=${t1} gap=${2 * step} limit=${2} format=${fmt} />
import { html } from '../lib/html.js';
import { fmtTime } from '../lib/format.js';
import { chartGeometry, seriesStats } from '../lib/series.js';

const W = 320;
const H = 90;
const PAD = 4;
const SERIES_STYLE = [
    { color: 'var(--primary)', dash: null },
    { color: 'var(--warning)', dash: '5 3' },
];

/* The points of every series by time, for the table of numbers. */
function rowsByTime(series) {
    const byT = new Map();
    series.forEach((s, i) => {
        for (const p of s.points) {
            if (!byT.has(p.t)) byT.set(p.t, new Array(series.length).fill(null));
            byT.get(p.t)[i] = p.v;
        }
    });
    return [...byT.entries()].sort((a, b) => a[0] - b[0]);
}

/* The left end of the time axis: "24 h ago" when the right end is now. */
function axisStart(x0, x1) {
    if (!x1 || Date.now() - x1 >= 120000) return fmtTime(x0);
    const h = (x1 - x0) / 3600000;
    return h >= 1 ? `${Math.round(h)} h ago` : `${Math.round(h * 60)} min ago`;
}

function TimeChart({ label, series, x0, x1, gap, limit, limitLabel = 'limit', format, testid, max: fixedMax, base = 10 }) {
    const stats = series.map((s) => seriesStats(s.points));
    const lim = typeof limit === 'number' && Number.isFinite(limit) ? limit : null;
    if (stats.every((st) => !st)) {
        return html`<figure class="line-chart" data-testid=${testid} data-empty="true">
            <figcaption><strong>${label}</strong> <span class="muted small">no samples yet</span>
                ${lim !== null && html`<span class="muted small"> · ${limitLabel} ${format(lim)}</span>`}</figcaption>
        </figure>`;
    }
    const g = chartGeometry(series.map((s) => s.points), { width: W, height: H, pad: PAD, x0, x1, limit: lim, fixedMax, gap, base });
    const said = series.map((s, i) => (stats[i]
        ? `${s.name}: latest ${format(stats[i].latest)}, mean ${format(stats[i].mean)}, max ${format(stats[i].max)}`
        : `${s.name}: no samples`));
    const text = `${label}. ${said.join('; ')}${lim !== null ? `; ${limitLabel} ${format(lim)}` : ''}. ` +
        `${fmtTime(x0 ?? series[0].points[0]?.t)} to ${fmtTime(x1)}.`;
    const rows = rowsByTime(series);
    return html`<figure class="line-chart" data-testid=${testid} data-points=${rows.length}>
        <figcaption><strong>${label}</strong>
            ${series.map((s, i) => stats[i] && html`<span key=${s.name} class="chart-legend">
                <span class="chart-swatch" style=${{ borderColor: SERIES_STYLE[i % 2].color, borderTopStyle: i % 2 ? 'dashed' : 'solid' }}></span>
                ${series.length > 1 ? `${s.name} ` : ''}<span data-testid=${testid && `${testid}-latest${i ? `-${i}` : ''}`}>${format(stats[i].latest)}</span>
                <span class="muted small"> · max ${format(stats[i].max)}</span></span>`)}
            ${lim !== null && html`<span class="chart-legend muted small" data-testid=${testid && `${testid}-limit`}>
                <span class="chart-swatch chart-swatch-limit"></span>${limitLabel} ${format(lim)}</span>`}
        </figcaption>
        <svg viewBox=${`0 0 ${W} ${H}`} width="100%" height=${H} role="img" aria-label=${text} preserveAspectRatio="none">
            <line x1="0" y1=${H - PAD} x2=${W} y2=${H - PAD} stroke="currentColor" stroke-opacity="0.25" />
            ${lim !== null && html`<line class="chart-limit" x1="0" x2=${W} y1=${g.yOf(lim)} y2=${g.yOf(lim)}
                stroke-dasharray="3 3" vector-effect="non-scaling-stroke" />`}
            ${g.paths.map((d, i) => d && html`<path key=${i} d=${d} fill="none" stroke-width="2" vector-effect="non-scaling-stroke"
                stroke-dasharray=${SERIES_STYLE[i % 2].dash} style=${{ stroke: SERIES_STYLE[i % 2].color }} />`)}
            ${g.dots.map((ds, i) => ds.map((p, k) => html`<circle key=${`${i}-${k}`} cx=${p.x} cy=${p.y} r="2.5"
                style=${{ fill: SERIES_STYLE[i % 2].color }} />`))}
        </svg>
        <div class="chart-axis muted small" aria-hidden="true"><span>${axisStart(x0 ?? rows[0][0], x1)}</span>
            <span>scale 0–${format(g.yMax)}</span><span>${x1 && Date.now() - x1 < 120000 ? 'now' : fmtTime(x1 ?? rows[rows.length - 1][0])}</span></div>
        <details class="chart-numbers"><summary class="small">Show the numbers (${rows.length})</summary>
            <div class="table-scroll"><table class="compact">
                <caption class="sr-only">${label}</caption>
                <thead><tr><th scope="col">Time</th>${series.map((s) => html`<th scope="col" key=${s.name}>${s.name}</th>`)}</tr></thead>
                <tbody>${rows.map(([t, vs]) => html`<tr key=${t}><th scope="row">${fmtTime(t)}</th>
                    ${vs.map((v, i) => html`<td key=${i}>${v === null ? '—' : format(v)}</td>`)}</tr>`)}</tbody>
            </table></div>
        </details>
    </figure>`;
}

export function LineChart({ label, values = [], series, format = String, testid, max: fixedMax, ...time }) {
    if (series) return html`<${TimeChart} label=${label} series=${series} format=${format} testid=${testid} max=${fixedMax} ...${time} />`;
    const pts = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (pts.length === 0) {
        return html`<figure class="line-chart" data-testid=${testid}>
            <figcaption><strong>${label}</strong> <span class="muted small">no samples yet</span></figcaption>
        </figure>`;
    }
    const lo = Math.min(0, ...pts);
    const hi = Math.max(fixedMax ?? 0, ...pts, lo + 1e-9);
    const x = (i) => PAD + (pts.length === 1 ? (W - 2 * PAD) : (i * (W - 2 * PAD)) / (pts.length - 1));
    const y = (v) => H - PAD - ((v - lo) / (hi - lo)) * (H - 2 * PAD);
    const d = pts.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const last = pts[pts.length - 1];
    const text = `${label}: latest ${format(last)}, min ${format(Math.min(...pts))}, max ${format(Math.max(...pts))}, ${pts.length} samples`;
    return html`<figure class="line-chart" data-testid=${testid}>
        <figcaption><strong>${label}</strong> <span data-testid=${testid && `${testid}-latest`}>${format(last)}</span>
            <span class="muted small"> · max ${format(Math.max(...pts))}</span></figcaption>
        <svg viewBox=${`0 0 ${W} ${H}`} width="100%" height=${H} role="img" aria-label=${text}
            preserveAspectRatio="none">
            <line x1="0" y1=${H - PAD} x2=${W} y2=${H - PAD} stroke="currentColor" stroke-opacity="0.25" />
            <path d=${d} fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke"
                style=${{ color: 'var(--primary)' }} />
            ${pts.length === 1 && html`<circle cx=${x(0)} cy=${y(last)} r="3" style=${{ fill: 'var(--primary)' }} />`}
        </svg>
    </figure>`;
}

/* Horizontal bars, one per row: rows [{ label, start, length, title }], on a common
 * scale from 0 to `total` (a timeline of waves). */
export function BarTimeline({ rows, total, unit = '', label, testid }) {
    const t = total > 0 ? total : 1;
    const rowH = 22;
    const labelW = 90;
    const w = 520;
    const h = rows.length * rowH + 4;
    return html`<svg viewBox=${`0 0 ${w} ${h}`} width="100%" height=${h} role="img" aria-label=${label}
        data-testid=${testid} class="bar-timeline">
        ${rows.map((r, i) => {
            const x0 = labelW + ((w - labelW - 4) * r.start) / t;
            const bw = Math.max(2, ((w - labelW - 4) * r.length) / t);
            return html`<g key=${i}>
                <text x="0" y=${i * rowH + 15} font-size="12" fill="currentColor">${r.label}</text>
                <rect x=${x0} y=${i * rowH + 3} width=${bw} height=${rowH - 6} rx="3"
                    style=${{ fill: r.color || 'var(--primary)' }}><title>${r.title || r.label}</title></rect>
            </g>`;
        })}
    </svg>`;
}
