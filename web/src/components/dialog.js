// Modal dialogs and the details drawer, both on the native <dialog> element: showModal()
// gives a focus trap, inert background, top layer and Esc for free. Esc (the "cancel"
// event) is routed to onClose so the owner's state decides; focus returns to whatever
// had it before the dialog opened.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { Icon } from './icons.js';

let uid = 0;

export function Modal({ title, onClose, children, footer, class: cls = '', busy = false, labelId }) {
    const ref = useRef(null);
    const [id] = useState(() => labelId || `dlg-${++uid}`);
    const latest = useRef({});
    latest.current = { onClose, busy };
    useEffect(() => {
        const dlg = ref.current;
        const before = document.activeElement;
        if (!dlg.open) dlg.showModal();
        const cancel = (e) => {
            e.preventDefault();
            if (!latest.current.busy) latest.current.onClose();
        };
        dlg.addEventListener('cancel', cancel);
        return () => {
            dlg.removeEventListener('cancel', cancel);
            if (dlg.open) dlg.close();
            if (before && before.focus && document.contains(before)) before.focus();
        };
    }, []);
    return html`<dialog ref=${ref} class=${`modal ${cls}`} aria-labelledby=${id}>
        <div class="modal-head">
            <h2 id=${id}>${title}</h2>
            <button type="button" class="icon-button" aria-label="Close" disabled=${busy} onClick=${onClose}>
                <${Icon} name="x" />
            </button>
        </div>
        <div class="modal-body">${children}</div>
        ${footer && html`<div class="modal-foot">${footer}</div>`}
    </dialog>`;
}

/* A side panel for details; same behaviour as Modal. */
export function Drawer({ title, onClose, children, footer }) {
    return html`<${Modal} title=${title} onClose=${onClose} footer=${footer} class="drawer">${children}<//>`;
}

let pending = null;
const listeners = new Set();

/* Ask for confirmation: resolves true when confirmed, false when cancelled or Esc. */
export function confirmAction({ title, message, confirmLabel = 'Confirm', danger = false }) {
    if (pending) pending.resolve(false);
    return new Promise((resolve) => {
        pending = { title, message, confirmLabel, danger, resolve };
        for (const fn of listeners) fn(pending);
    });
}

export function ConfirmHost() {
    const [req, setReq] = useState(null);
    useEffect(() => {
        listeners.add(setReq);
        return () => listeners.delete(setReq);
    }, []);
    if (!req) return null;
    const finish = (ok) => {
        req.resolve(ok);
        pending = null;
        setReq(null);
    };
    return html`<${Modal} title=${req.title} onClose=${() => finish(false)} class="confirm"
        footer=${html`
            <button type="button" class="button" autofocus=${req.danger}
                onClick=${() => finish(false)}>Cancel</button>
            <button type="button" class=${`button ${req.danger ? 'danger' : 'primary'}`} autofocus=${!req.danger}
                onClick=${() => finish(true)}>${req.confirmLabel}</button>`}>
        <p>${req.message}</p>
    <//>`;
}
