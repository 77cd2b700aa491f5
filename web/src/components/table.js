// DataTable: one list endpoint ({"items": [...], "next_cursor": ...}) shown with
// server-side paging (cursor: first / previous / next), sorting by header click
// (?sort=field / ?sort=-field), a filter box (debounced, sent as one query parameter),
// loading / empty / error states and row selection for bulk actions.
//
// Columns: [{ key, label, sort?: 'field', render?: (row) => vnode, class? }]. The first
// column opens the row (onOpen) when given, as a real button for keyboard users.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api } from '../lib/api.js';
import { Icon } from './icons.js';

const PAGE_SIZES = [25, 50, 100, 250];

function useDebounced(value, ms) {
    const [v, setV] = useState(value);
    useEffect(() => {
        const t = setTimeout(() => setV(value), ms);
        return () => clearTimeout(t);
    }, [value, ms]);
    return v;
}

function SortHeader({ col, sort, setSort }) {
    const field = col.sort;
    const state = sort === field ? 'ascending' : sort === `-${field}` ? 'descending' : 'none';
    const next = state === 'ascending' ? `-${field}` : field;
    const icon = state === 'ascending' ? 'chevronUp' : state === 'descending' ? 'chevronDown' : 'sort';
    return html`<th scope="col" aria-sort=${state} class=${col.class || ''}>
        <button type="button" class="sort-button" onClick=${() => setSort(next)}
            title=${`Sort by ${col.label}`}>
            ${col.label}<${Icon} name=${icon} size=${14} class=${state === 'none' ? 'muted' : ''} />
        </button>
    </th>`;
}

export function DataTable({
    endpoint, columns, label, rowKey = 'id', query = {}, filterParam = 'q', filterLabel = 'Filter',
    defaultSort = '', selectable = false, bulkActions = [], rowActions = null, onOpen = null,
    emptyText = 'Nothing here yet.', reloadToken = 0, toolbar = null, testid = 'table', live = null,
}) {
    const [filter, setFilter] = useState('');
    const debounced = useDebounced(filter.trim(), 300);
    const [sort, setSort] = useState(defaultSort);
    const [limit, setLimit] = useState(50);
    const [state, setState] = useState({ loading: true, items: [], next: null, error: null });
    const [selected, setSelected] = useState(new Map());
    const [bulkBusy, setBulkBusy] = useState(false);
    const [localReload, setLocalReload] = useState(0);
    const seq = useRef(0);
    const queryKey = JSON.stringify(query);
    /* Cursors of the pages visited, valid only for the question they were asked for:
     * any change of endpoint, filter, sort or page size restarts from the first page. */
    const ident = JSON.stringify([endpoint, queryKey, debounced, sort, limit]);
    const [pages, setPages] = useState({ ident, cursors: [null] });
    const cursors = pages.ident === ident ? pages.cursors : [null];
    const setCursors = (c) => setPages({ ident, cursors: c });
    const cursor = cursors[cursors.length - 1];

    useEffect(() => setSelected(new Map()), [debounced, sort, limit, queryKey, endpoint, cursor, reloadToken]);

    useEffect(() => {
        const mine = ++seq.current;
        const ctl = new AbortController();
        setState((s) => ({ ...s, loading: true, error: null }));
        const q = { ...query, limit, cursor, sort: sort || undefined };
        if (filterParam && debounced) q[filterParam] = debounced;
        api.get(endpoint, q, { signal: ctl.signal }).then(
            (page) => {
                if (mine !== seq.current) return;
                setState({ loading: false, items: (page && page.items) || [], next: (page && page.next_cursor) || null, error: null });
            },
            (err) => {
                if (mine !== seq.current || (err && err.name === 'AbortError')) return;
                setState({ loading: false, items: [], next: null, error: err });
            },
        );
        return () => ctl.abort();
    }, [endpoint, queryKey, limit, cursor, sort, debounced, reloadToken, localReload]);

    /* Live updates (e.g. task events): live(apply) subscribes and returns the
     * unsubscribe function; apply(fn) replaces the rows shown by fn(rows, { firstPage }).
     * `live` must keep its identity between renders. */
    const onFirstPage = useRef(true);
    onFirstPage.current = cursor === null;
    useEffect(() => {
        if (!live) return undefined;
        return live((fn) => setState((s) => (s.error ? s
            : { ...s, items: fn(s.items, { firstPage: onFirstPage.current, limit }) })));
    }, [live, limit]);

    const { loading, items, next, error } = state;
    const keyOf = (row) => String(row[rowKey]);
    const allOnPage = items.length > 0 && items.every((r) => selected.has(keyOf(r)));
    const toggleAll = (on) => {
        const m = new Map(selected);
        for (const r of items) on ? m.set(keyOf(r), r) : m.delete(keyOf(r));
        setSelected(m);
    };
    const toggle = (row, on) => {
        const m = new Map(selected);
        on ? m.set(keyOf(row), row) : m.delete(keyOf(row));
        setSelected(m);
    };
    const runBulk = async (action) => {
        setBulkBusy(true);
        try {
            const done = await action.run([...selected.values()]);
            if (done !== false) setSelected(new Map());
        } finally {
            setBulkBusy(false);
            setLocalReload((n) => n + 1);
        }
    };

    const ncols = columns.length + (selectable ? 1 : 0) + (rowActions ? 1 : 0);
    let body;
    if (error) {
        body = html`<tr><td colspan=${ncols} class="table-state error" role="alert">
            <${Icon} name="alert" /> ${error.detail || error.message}
            <button type="button" class="button small" onClick=${() => setLocalReload((n) => n + 1)}>Retry</button>
        </td></tr>`;
    } else if (loading && items.length === 0) {
        body = html`<tr><td colspan=${ncols} class="table-state"><span class="spinner" aria-hidden="true"></span> Loading…</td></tr>`;
    } else if (items.length === 0) {
        body = html`<tr><td colspan=${ncols} class="table-state">${debounced ? `No match for “${debounced}”.` : emptyText}</td></tr>`;
    } else {
        body = items.map((row) => html`<tr key=${keyOf(row)} class=${selected.has(keyOf(row)) ? 'selected' : ''}>
            ${selectable && html`<td class="col-select"><input type="checkbox" checked=${selected.has(keyOf(row))}
                aria-label=${`Select ${row[columns[0].key] ?? keyOf(row)}`}
                onChange=${(e) => toggle(row, e.currentTarget.checked)} /></td>`}
            ${columns.map((c, i) => {
                const content = c.render ? c.render(row) : row[c.key] ?? '—';
                if (i === 0 && onOpen)
                    return html`<th scope="row" class=${c.class || ''}><button type="button" class="link-button"
                        onClick=${() => onOpen(row)}>${content}</button></th>`;
                return i === 0 ? html`<th scope="row" class=${c.class || ''}>${content}</th>`
                    : html`<td class=${c.class || ''}>${content}</td>`;
            })}
            ${rowActions && html`<td class="col-actions">${rowActions(row)}</td>`}
        </tr>`);
    }

    const page = cursors.length;
    return html`<section class="table-card" data-testid=${testid} aria-label=${label}>
        <div class="table-toolbar">
            ${filterParam && html`<div class="search-box">
                <${Icon} name="search" size=${16} />
                <input type="search" aria-label=${filterLabel} placeholder=${`${filterLabel}…`} value=${filter}
                    onInput=${(e) => setFilter(e.currentTarget.value)} />
            </div>`}
            <div class="toolbar-spacer"></div>
            ${toolbar}
            <button type="button" class="icon-button" aria-label="Reload" title="Reload"
                onClick=${() => setLocalReload((n) => n + 1)}>
                <${Icon} name="refresh" class=${loading ? 'spin' : ''} />
            </button>
        </div>
        ${selectable && selected.size > 0 && html`<div class="bulk-bar" role="region" aria-label="Bulk actions">
            <span>${selected.size} selected</span>
            ${bulkActions.map((a) => html`<button type="button" key=${a.label} disabled=${bulkBusy}
                class=${`button small ${a.danger ? 'danger' : ''}`} onClick=${() => runBulk(a)}>${a.label}</button>`)}
            <button type="button" class="button small ghost" onClick=${() => setSelected(new Map())}>Clear selection</button>
        </div>`}
        <div class="table-scroll">
            <table aria-busy=${loading ? 'true' : 'false'}>
                <caption class="sr-only">${label}</caption>
                <thead><tr>
                    ${selectable && html`<th scope="col" class="col-select"><input type="checkbox" checked=${allOnPage}
                        disabled=${items.length === 0} aria-label="Select all rows on this page"
                        onChange=${(e) => toggleAll(e.currentTarget.checked)} /></th>`}
                    ${columns.map((c) => c.sort ? html`<${SortHeader} key=${c.key} col=${c} sort=${sort} setSort=${setSort} />`
                        : html`<th scope="col" key=${c.key} class=${c.class || ''}>${c.label}</th>`)}
                    ${rowActions && html`<th scope="col" class="col-actions"><span class="sr-only">Actions</span></th>`}
                </tr></thead>
                <tbody>${body}</tbody>
            </table>
        </div>
        <div class="table-footer">
            <span class="muted" aria-live="polite">${error ? '' : `Page ${page} · ${items.length} ${items.length === 1 ? 'row' : 'rows'}${next ? ', more available' : ''}`}</span>
            <div class="toolbar-spacer"></div>
            <label class="inline-label">Rows per page
                <select value=${limit} onChange=${(e) => setLimit(Number(e.currentTarget.value))}>
                    ${PAGE_SIZES.map((n) => html`<option value=${n} key=${n}>${n}</option>`)}
                </select>
            </label>
            <div class="pager">
                <button type="button" class="icon-button" aria-label="First page" title="First page" disabled=${page === 1 || loading}
                    onClick=${() => setCursors([null])}><${Icon} name="chevronsLeft" /></button>
                <button type="button" class="icon-button" aria-label="Previous page" title="Previous page" disabled=${page === 1 || loading}
                    onClick=${() => setCursors(cursors.slice(0, -1))}><${Icon} name="chevronLeft" /></button>
                <button type="button" class="icon-button" aria-label="Next page" title="Next page" disabled=${!next || loading}
                    onClick=${() => setCursors([...cursors, next])}><${Icon} name="chevronRight" /></button>
            </div>
        </div>
    </section>`;
}
