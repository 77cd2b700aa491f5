// Bars: a task's progress (role=progressbar) and a quota's usage against its limit
// (role=meter), both with their numbers in text too, so colour is never the only cue.
import { html } from '../lib/html.js';
import { fmtNumber } from '../lib/format.js';

export function ProgressBar({ value, label, state = 'running', testid }) {
    const v = Math.max(0, Math.min(100, Number(value) || 0));
    return html`<div class="progress" data-testid=${testid}>
        <div class=${`progress-track progress-${state}`} role="progressbar" aria-label=${label}
            aria-valuemin="0" aria-valuemax="100" aria-valuenow=${v} aria-valuetext=${`${v}%`}>
            <div class="progress-fill" style=${{ width: `${v}%` }}></div>
        </div>
        <span class="progress-text">${v}%</span>
    </div>`;
}

/* used/limit with the reserved part (pending admissions) stacked after it. limit null
 * means unlimited: the numbers are shown without a bar's scale. */
export function UsageBar({ label, used = 0, reserved = 0, limit = null, format = fmtNumber, unit = '', testid }) {
    const unlimited = limit === null || limit === undefined;
    const over = !unlimited && used > limit;
    const full = !unlimited && !over && used + reserved >= limit && limit > 0;
    const warn = !unlimited && !over && !full && limit > 0 && (used + reserved) / limit >= 0.9;
    const pct = (n) => (unlimited || limit <= 0 ? 0 : Math.min(100, (n / limit) * 100));
    const usedPct = over ? 100 : pct(used);
    const resPct = over ? 0 : Math.min(100 - usedPct, pct(reserved));
    const u = (n) => `${format(n)}${unit ? ` ${unit}` : ''}`;
    let text = unlimited ? `${u(used)} used · no limit` : `${u(used)} of ${u(limit)}`;
    if (reserved) text += ` · ${u(reserved)} reserved`;
    const state = over ? 'over' : full ? 'full' : warn ? 'warn' : 'ok';
    return html`<div class=${`usage usage-${state}`} data-testid=${testid} data-state=${state}>
        <div class="usage-head">
            <span class="usage-label">${label}</span>
            <span class="usage-numbers">
                ${u(used)}${unlimited ? '' : html` / ${u(limit)}`}
                ${over && html` <span class="badge badge-danger" data-testid="over-badge">over by ${u(used - limit)}</span>`}
                ${full && html` <span class="badge badge-warning">full</span>`}
                ${unlimited && html` <span class="muted small">no limit</span>`}
            </span>
        </div>
        ${unlimited ? html`<div class="usage-track unlimited" aria-hidden="true"></div>`
            : html`<div class="usage-track" role="meter" aria-label=${label} aria-valuemin="0" aria-valuemax=${limit}
                aria-valuenow=${Math.min(used, limit)} aria-valuetext=${over ? `${text}, over the limit` : text}>
                <div class="usage-used" style=${{ width: `${usedPct}%` }}></div>
                <div class="usage-reserved" style=${{ width: `${resPct}%` }}></div>
            </div>`}
        ${reserved > 0 && html`<div class="usage-foot muted small">${u(reserved)} reserved by pending admissions</div>`}
    </div>`;
}
