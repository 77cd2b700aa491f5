// A page whose API is not served yet. It asks the server first: a 404 shows an honest
// "not available yet"; if the endpoint exists, its items are listed plainly (the feature
// work replaces this with the real page). Never fake data.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { DataTable } from '../components/table.js';
import { EmptyState, PageHeader, Spinner } from '../components/ui.js';

function show(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
}

export function NotYetPage({ title, icon, endpoint, what }) {
    const [probe, setProbe] = useState(endpoint ? { state: 'loading' } : { state: 'absent' });
    useEffect(() => {
        if (!endpoint) return;
        api.get(endpoint, { limit: 1 }).then(
            (page) => setProbe({ state: 'present', sample: (page.items || [])[0] || null }),
            (err) => setProbe(err.status === 404 || err.status === 405 || err.status === 501
                ? { state: 'absent' } : { state: 'error', err }),
        );
    }, [endpoint]);

    let content;
    if (probe.state === 'loading') content = html`<${Spinner} />`;
    else if (probe.state === 'absent')
        content = html`<${EmptyState} icon=${icon} title="Not available yet">
            <p>This server does not provide ${what} yet${endpoint ? html` (<code>${endpoint}</code> answers 404)` : ''}.
            This page will show them once it does.</p><//>`;
    else if (probe.state === 'error')
        content = html`<${EmptyState} icon="alert" title="Could not load">
            <p>${probe.err.detail}</p><//>`;
    else {
        const keys = probe.sample ? Object.keys(probe.sample).filter((k) => k !== 'id').slice(0, 6) : ['name'];
        const columns = keys.map((k) => ({ key: k, label: k.replace(/_/g, ' '), render: (r) => show(r[k]) }));
        content = html`<${DataTable} endpoint=${endpoint} label=${title} columns=${columns} filterParam=${null}
            emptyText=${`No ${title.toLowerCase()} yet.`} />`;
    }
    return html`<${PageHeader} title=${title} />${content}`;
}
