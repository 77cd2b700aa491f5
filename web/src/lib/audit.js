// Audit record details: the changes they record, in either of the server's two forms.

export const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/* {"field": {"before": b, "after": a}} — the per-field form some actions record */
const isChange = (v) => isPlainObject(v) && Object.keys(v).length > 0 &&
    Object.keys(v).every((k) => k === 'before' || k === 'after');

/* Changes in either form the server records: {"before": {…}, "after": {…}} (whole
 * objects) or {"field": {"before": b, "after": a}}. Returns { rows, rest }. */
export function splitDetails(details) {
    const rows = [];
    const whole = isPlainObject(details.before) || isPlainObject(details.after);
    if (whole) {
        const b = isPlainObject(details.before) ? details.before : {};
        const a = isPlainObject(details.after) ? details.after : {};
        for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort())
            rows.push({ field: k, before: b[k], after: a[k] });
    }
    const rest = [];
    for (const [k, v] of Object.entries(details)) {
        if (whole && (k === 'before' || k === 'after')) continue;
        if (isChange(v)) rows.push({ field: k, before: v.before, after: v.after });
        else rest.push([k, v]);
    }
    return { rows, rest };
}
