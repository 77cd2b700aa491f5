// A small SVG line chart (no library): one series of numbers with its min/max and the
// latest value in text, so the picture is never the only way to read it.
//   <LineChart label="CPU" values=${[1, 2, 3]} format=${(n) => `${n} %`} />
import { html } from '../lib/html.js';

const W = 320;
const H = 90;
const PAD = 4;

export function LineChart({ label, values = [], format = String, testid, max: fixedMax }) {
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
