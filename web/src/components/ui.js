// Small presentational pieces shared by the pages.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { fmtTime, isoTime } from '../lib/format.js';
import { Icon } from './icons.js';

export function PageHeader({ title, description, actions }) {
    useEffect(() => {
        document.title = `${title} · virtportal`;
    }, [title]);
    return html`<div class="page-header">
        <div>
            <h1>${title}</h1>
            ${description && html`<p class="muted">${description}</p>`}
        </div>
        ${actions && html`<div class="page-actions">${actions}</div>`}
    </div>`;
}

export function EmptyState({ icon = 'info', title, children }) {
    return html`<div class="empty-state" data-testid="empty-state">
        <${Icon} name=${icon} size=${40} />
        <h2>${title}</h2>
        <div class="muted">${children}</div>
    </div>`;
}

export function Badge({ kind = 'neutral', children }) {
    return html`<span class=${`badge badge-${kind}`}>${children}</span>`;
}

export function Time({ value, seconds = false }) {
    const iso = isoTime(value);
    return iso ? html`<time datetime=${iso} title=${iso}>${fmtTime(value, { seconds })}</time>` : html`<span class="muted">—</span>`;
}

export function Spinner({ label = 'Loading…' }) {
    return html`<div class="loading-block" role="status"><span class="spinner" aria-hidden="true"></span> ${label}</div>`;
}

/* A read-only value with a Copy button (for secrets shown once). */
export function CopyField({ label, value, testid }) {
    const ref = useRef(null);
    const [copied, setCopied] = useState(false);
    const copy = async () => {
        ref.current.select();
        try {
            await navigator.clipboard.writeText(value);
            setCopied(true);
        } catch {
            /* clipboard API refused (permissions): the text is selected for Ctrl+C */
            setCopied(document.execCommand && document.execCommand('copy'));
        }
    };
    return html`<div class="field">
        <label for="copy-field">${label}</label>
        <div class="copy-row">
            <input id="copy-field" ref=${ref} class="mono" readonly value=${value} data-testid=${testid}
                onFocus=${(e) => e.currentTarget.select()} />
            <button type="button" class="button" onClick=${copy}>
                <${Icon} name=${copied ? 'check' : 'copy'} size=${16} /> ${copied ? 'Copied' : 'Copy'}
            </button>
        </div>
    </div>`;
}

/* Key/value list for drawers. rows: [[label, value], ...] */
export function DetailList({ rows }) {
    return html`<dl class="details">
        ${rows.map(([k, v]) => html`<div class="detail-row" key=${k}><dt>${k}</dt><dd>${v ?? '—'}</dd></div>`)}
    </dl>`;
}
