// Client-side routing with the History API: real paths (/tenants, /users/…) that the
// server answers with index.html, so links can be bookmarked, opened in a new tab and
// reloaded. Only same-origin paths outside /api/ and /assets/ are routed here.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function notify() {
    for (const fn of listeners) fn();
}

window.addEventListener('popstate', notify);

export function currentPath() {
    return window.location.pathname;
}

export function navigate(to, { replace = false } = {}) {
    const here = window.location.pathname + window.location.search;
    if (to === here) return;
    window.history[replace ? 'replaceState' : 'pushState'](null, '', to);
    notify();
}

/* Re-renders the caller when the path changes; returns { path, query }. */
export function useLocation() {
    const [, setTick] = useState(0);
    useEffect(() => {
        const fn = () => setTick((t) => t + 1);
        listeners.add(fn);
        return () => listeners.delete(fn);
    }, []);
    return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/* Match `path` against patterns like "/tenants/:id"; returns params or null. */
export function match(pattern, path) {
    const p = pattern.split('/');
    const s = path.replace(/\/+$/, '').split('/');
    if (pattern === '/') return path === '/' || path === '' ? {} : null;
    if (p.length !== s.length) return null;
    const params = {};
    for (let i = 0; i < p.length; i++) {
        if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
        else if (p[i] !== s[i]) return null;
    }
    return params;
}

/* A link that navigates without reloading; modified clicks (new tab…) behave as usual. */
export function onLinkClick(e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.currentTarget;
    if (a.target && a.target !== '_self') return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
}
