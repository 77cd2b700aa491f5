// Forms: a small state hook plus labelled fields that show inline errors. Errors come
// from the server's problem+json: errors[].field goes under the field of that name,
// detail goes in the form's alert. The client only checks "required"; the server is
// the one validator, so the UI never disagrees with it.
import { useRef, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { ApiError } from '../lib/api.js';
import { Modal } from './dialog.js';
import { Icon } from './icons.js';

let uid = 0;
const useId = (name) => useState(() => `f-${name}-${++uid}`)[0];

export function useForm(initial) {
    const [values, setValues] = useState(initial);
    const [errors, setErrors] = useState({});
    const [formError, setFormError] = useState(null);
    const [busy, setBusy] = useState(false);
    const root = useRef(null);

    function set(name, value) {
        setValues((prev) => ({ ...prev, [name]: value }));
        setErrors((prev) => {
            if (!(name in prev)) return prev;
            const next = { ...prev };
            delete next[name];
            return next;
        });
    }

    function focusFirstError() {
        setTimeout(() => {
            const el = root.current && root.current.querySelector('[aria-invalid="true"]');
            if (el) el.focus();
        }, 0);
    }

    /* Run fn(values) unless a required field is empty. ApiError → inline errors; other
     * errors propagate. Resolves to fn's result, or undefined when it failed. */
    async function submit(fn, { required = [] } = {}) {
        const missing = {};
        for (const name of required) {
            const v = values[name];
            if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) missing[name] = 'Required.';
        }
        if (Object.keys(missing).length) {
            setErrors(missing);
            setFormError('Some fields need attention.');
            focusFirstError();
            return undefined;
        }
        setBusy(true);
        setFormError(null);
        setErrors({});
        try {
            return await fn(values);
        } catch (e) {
            if (!(e instanceof ApiError)) throw e;
            const inline = {};
            const stray = [];
            for (const [field, msg] of Object.entries(e.fieldErrors)) {
                if (field in values) inline[field] = msg;
                else stray.push(`${field}: ${msg}`);
            }
            setErrors(inline);
            /* The field's own message is shown beside it; the alert then only points there. */
            const placed = Object.values(inline);
            let text = placed.length && placed.includes(e.detail)
                ? (placed.length === 1 ? 'Check the highlighted field.' : 'Check the highlighted fields.') : e.detail;
            if (stray.length) text += ` (${stray.join('; ')})`;
            if (e.status === 429 && e.retryAfter) text += ` Try again in ${e.retryAfter} s.`;
            setFormError(text);
            focusFirstError();
            return undefined;
        } finally {
            setBusy(false);
        }
    }

    return { values, set, errors, setErrors, formError, setFormError, busy, submit, root };
}

function describedBy(id, hint, error) {
    const ids = [];
    if (hint) ids.push(`${id}-hint`);
    if (error) ids.push(`${id}-error`);
    return ids.length ? ids.join(' ') : undefined;
}

function Messages({ id, hint, error }) {
    return html`
        ${hint && html`<p class="field-hint" id=${`${id}-hint`}>${hint}</p>`}
        ${error && html`<p class="field-error" id=${`${id}-error`} data-testid="field-error">
            <${Icon} name="alert" size=${14} /> ${error}</p>`}`;
}

export function TextField({ form, name, label, type = 'text', hint, required = false, ...rest }) {
    const id = useId(name);
    const error = form.errors[name];
    return html`<div class=${`field ${error ? 'has-error' : ''}`}>
        <label for=${id}>${label}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
        <input id=${id} name=${name} type=${type} value=${form.values[name] ?? ''} required=${required}
            aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy(id, hint, error)}
            onInput=${(e) => form.set(name, e.currentTarget.value)} ...${rest} />
        <${Messages} id=${id} hint=${hint} error=${error} />
    </div>`;
}

export function TextAreaField({ form, name, label, hint, required = false, rows = 3, ...rest }) {
    const id = useId(name);
    const error = form.errors[name];
    return html`<div class=${`field ${error ? 'has-error' : ''}`}>
        <label for=${id}>${label}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
        <textarea id=${id} name=${name} rows=${rows} value=${form.values[name] ?? ''} required=${required}
            aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy(id, hint, error)}
            onInput=${(e) => form.set(name, e.currentTarget.value)} ...${rest}></textarea>
        <${Messages} id=${id} hint=${hint} error=${error} />
    </div>`;
}

export function SelectField({ form, name, label, options, hint, required = false, onChange, ...rest }) {
    const id = useId(name);
    const error = form.errors[name];
    return html`<div class=${`field ${error ? 'has-error' : ''}`}>
        <label for=${id}>${label}${required && html`<span class="req" aria-hidden="true"> *</span>`}</label>
        <select id=${id} name=${name} value=${form.values[name] ?? ''} required=${required}
            aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy(id, hint, error)}
            onChange=${(e) => { form.set(name, e.currentTarget.value); if (onChange) onChange(e.currentTarget.value); }}
            ...${rest}>
            ${options.map((o) => html`<option value=${o.value} key=${o.value}>${o.label}</option>`)}
        </select>
        <${Messages} id=${id} hint=${hint} error=${error} />
    </div>`;
}

export function CheckboxField({ form, name, label, hint }) {
    const id = useId(name);
    const error = form.errors[name];
    return html`<div class=${`field field-check ${error ? 'has-error' : ''}`}>
        <input id=${id} name=${name} type="checkbox" checked=${!!form.values[name]}
            aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy(id, hint, error)}
            onChange=${(e) => form.set(name, e.currentTarget.checked)} />
        <label for=${id}>${label}</label>
        <${Messages} id=${id} hint=${hint} error=${error} />
    </div>`;
}

/* A group of checkboxes whose value is an array of the checked option values. */
export function CheckboxGroup({ form, name, label, options, hint, columns = false }) {
    const id = useId(name);
    const error = form.errors[name];
    const value = form.values[name] || [];
    const toggle = (v, on) => form.set(name, on ? [...value, v] : value.filter((x) => x !== v));
    return html`<fieldset class=${`field ${error ? 'has-error' : ''}`} aria-describedby=${describedBy(id, hint, error)}
        aria-invalid=${error ? 'true' : 'false'}>
        <legend>${label}</legend>
        <div class=${`check-grid ${columns ? 'columns' : ''}`}>
            ${options.map((o) => html`<label class="check" key=${o.value}>
                <input type="checkbox" checked=${value.includes(o.value)}
                    onChange=${(e) => toggle(o.value, e.currentTarget.checked)} />
                <span>${o.label}</span></label>`)}
        </div>
        <${Messages} id=${id} hint=${hint} error=${error} />
    </fieldset>`;
}

export function RadioGroup({ form, name, label, options, hint, onChange }) {
    const id = useId(name);
    const error = form.errors[name];
    return html`<fieldset class=${`field ${error ? 'has-error' : ''}`} aria-describedby=${describedBy(id, hint, error)}>
        <legend>${label}</legend>
        <div class="radio-row">
            ${options.map((o) => html`<label class="check" key=${o.value}>
                <input type="radio" name=${id} value=${o.value} checked=${form.values[name] === o.value}
                    onChange=${() => { form.set(name, o.value); if (onChange) onChange(o.value); }} />
                <span>${o.label}</span></label>`)}
        </div>
        <${Messages} id=${id} hint=${hint} error=${error} />
    </fieldset>`;
}

export function FormError({ form }) {
    if (!form.formError) return null;
    return html`<div class="alert alert-error" role="alert" data-testid="form-error">
        <${Icon} name="alert" /> <span>${form.formError}</span></div>`;
}

/* A modal form. onSubmit(values) runs through form.submit (inline errors); when it
 * resolves to something other than undefined the dialog reports success via onDone. */
export function FormDialog({ title, form, onSubmit, onClose, onDone, submitLabel = 'Save', required = [],
    danger = false, children }) {
    const [id] = useState(() => `form-${++uid}`);
    const submit = async (e) => {
        e.preventDefault();
        const result = await form.submit(onSubmit, { required });
        if (result !== undefined && onDone) onDone(result);
    };
    return html`<${Modal} title=${title} onClose=${onClose} busy=${form.busy}
        footer=${html`
            <button type="button" class="button" onClick=${onClose} disabled=${form.busy}>Cancel</button>
            <button type="submit" form=${id} class=${`button ${danger ? 'danger' : 'primary'}`} disabled=${form.busy}>
                ${form.busy ? 'Saving…' : submitLabel}</button>`}>
        <form id=${id} ref=${form.root} noValidate onSubmit=${submit} class="form">
            <${FormError} form=${form} />
            ${children}
        </form>
    <//>`;
}
