// Line icons drawn as inline SVG elements (no icon font, no external file). Decorative:
// every icon is aria-hidden; buttons carry their own text or aria-label.
import { html } from '../lib/html.js';

const C = (cx, cy, r) => ({ c: [cx, cy, r] });
const R = (x, y, w, h, rx = 0) => ({ r: [x, y, w, h, rx] });

const ICONS = {
    menu: ['M3 12h18', 'M3 6h18', 'M3 18h18'],
    sun: [C(12, 12, 4), 'M12 2v2', 'M12 20v2', 'M4.93 4.93l1.41 1.41', 'M17.66 17.66l1.41 1.41',
        'M2 12h2', 'M20 12h2', 'M6.34 17.66l-1.41 1.41', 'M19.07 4.93l-1.41 1.41'],
    moon: ['M21 12.79A9 9 0 1 1 11.21 3 7 7 0 0 0 21 12.79z'],
    user: ['M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2', C(12, 7, 4)],
    chevronDown: ['M6 9l6 6 6-6'],
    chevronUp: ['M18 15l-6-6-6 6'],
    chevronLeft: ['M15 18l-6-6 6-6'],
    chevronRight: ['M9 18l6-6-6-6'],
    chevronsLeft: ['M11 17l-5-5 5-5', 'M18 17l-5-5 5-5'],
    sort: ['M7 15l5 5 5-5', 'M7 9l5-5 5 5'],
    x: ['M18 6L6 18', 'M6 6l12 12'],
    plus: ['M12 5v14', 'M5 12h14'],
    refresh: ['M23 4v6h-6', 'M1 20v-6h6', 'M3.51 9a9 9 0 0 1 14.85-3.36L23 10', 'M1 14l4.64 4.36A9 9 0 0 0 20.49 15'],
    copy: [R(9, 9, 13, 13, 2), 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1'],
    dashboard: [R(3, 3, 7, 7, 1), R(14, 3, 7, 7, 1), R(14, 14, 7, 7, 1), R(3, 14, 7, 7, 1)],
    vm: [R(2, 3, 20, 14, 2), 'M8 21h8', 'M12 17v4'],
    host: [R(2, 2, 20, 8, 2), R(2, 14, 20, 8, 2), 'M6 6h.01', 'M6 18h.01'],
    task: ['M22 12h-4l-3 9L9 3l-3 9H2'],
    tenant: [R(2, 7, 20, 14, 2), 'M16 21V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v16'],
    users: ['M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2', C(9, 7, 4), 'M23 21v-2a4 4 0 0 0-3-3.87',
        'M16 3.13a4 4 0 0 1 0 7.75'],
    shield: ['M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z'],
    key: [C(7.5, 15.5, 4.5), 'M10.7 12.3L21 2', 'M16 7l3 3', 'M19 4l2 2'],
    quota: ['M21.21 15.89A10 10 0 1 1 8 2.83', 'M22 12A10 10 0 0 0 12 2v10z'],
    inbox: ['M22 12h-6l-2 3h-4l-2-3H2',
        'M5.45 5.11L2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z'],
    audit: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M16 13H8', 'M16 17H8', 'M10 9H8'],
    plan: ['M1 6v16l7-4 8 4 7-4V2l-7 4-8-4-7 4z', 'M8 2v16', 'M16 6v16'],
    logout: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
    trash: ['M3 6h18', 'M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6', 'M10 11v6', 'M14 11v6',
        'M9 6V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v2'],
    edit: ['M12 20h9', 'M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4z'],
    check: ['M20 6L9 17l-5-5'],
    alert: [C(12, 12, 10), 'M12 8v4', 'M12 16h.01'],
    info: [C(12, 12, 10), 'M12 16v-4', 'M12 8h.01'],
    search: [C(11, 11, 8), 'M21 21l-4.35-4.35'],
    lock: [R(3, 11, 18, 11, 2), 'M7 11V7a5 5 0 0 1 10 0v4'],
    download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
    send: ['M22 2L11 13', 'M22 2l-7 20-4-9-9-4 20-7z'],
    bell: ['M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9', 'M13.73 21a2 2 0 0 1-3.46 0'],
    link: ['M10 13a5 5 0 0 0 7.54.54l3-3a5 5 0 0 0-7.07-7.07l-1.72 1.71',
        'M14 11a5 5 0 0 0-7.54-.54l-3 3a5 5 0 0 0 7.07 7.07l1.71-1.71'],
    clock: [C(12, 12, 10), 'M12 6v6l4 2'],
    undo: ['M3 7v6h6', 'M21 17a9 9 0 0 0-15-6.7L3 13'],
};

export function Icon({ name, size = 18, class: cls = '' }) {
    const parts = ICONS[name] || ICONS.info;
    return html`<svg class=${`icon ${cls}`} width=${size} height=${size} viewBox="0 0 24 24" fill="none"
        stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
        aria-hidden="true" focusable="false">
        ${parts.map((p) => typeof p === 'string' ? html`<path d=${p} />`
            : p.c ? html`<circle cx=${p.c[0]} cy=${p.c[1]} r=${p.c[2]} />`
            : html`<rect x=${p.r[0]} y=${p.r[1]} width=${p.r[2]} height=${p.r[3]} rx=${p.r[4]} />`)}
    </svg>`;
}
