// The bodies the quota-request dialogs send, from their form values: pure (unit-tested
// in web/test/requests.test.mjs), because what goes to the server matters most here.
//  - a request prefilled from a refusal goes back exactly as the refusal gave it,
//    unless the user changed something;
//  - an approval names `resources` only for a partial grant, and `expires_at` only
//    when the approver chose another end than the one asked for.
import { localInputToIso } from './format.js';
import { ALLOCATION, RUNTIME, amountKeys, jsonValue } from './quota_res.js';

/* <input type=date> gives a local calendar day: the grant lasts until that day's end. */
export function endOfDay(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d, 23, 59, 59).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/* draft: {tenant_id, deltas?|targets?, justification?, ends_at?} as given (a refusal's
 * quota_request, or {}); val: the form's values {tenant_id, mode: 'deltas'|'targets',
 * <resource>: text, justification, ends: 'never'|'date', ends_on: 'YYYY-MM-DD'}. */
export function requestBody(draft, val) {
    const amounts = {};
    for (const r of [...ALLOCATION, ...RUNTIME]) {
        const x = jsonValue(val[r.key]);
        if (x !== null) amounts[r.key] = x;
    }
    const body = { tenant_id: draft.tenant_id ? draft.tenant_id : jsonValue(val.tenant_id), [val.mode]: amounts };
    /* unchanged text goes back exactly as it came */
    body.justification = val.justification === (draft.justification || '') ? val.justification : val.justification.trim();
    if (val.ends === 'date') body.ends_at = val.ends_on ? endOfDay(val.ends_on) : '';
    else if (draft.ends_at !== undefined && draft.ends_at !== null) body.ends_at = null;
    return body;
}

/* req: the pending request; val: {<resource>: text, ends: 'keep'|'date'|'never',
 * expires_local: datetime-local text, comment}. */
export function approvalBody(req, val) {
    const keys = amountKeys(req.deltas);
    const body = { comment: val.comment.trim() };
    if (keys.some((k) => jsonValue(val[k]) !== req.deltas[k])) {
        body.resources = {};
        for (const k of keys) body.resources[k] = jsonValue(val[k]) ?? 0;
    }
    if (val.ends === 'date') body.expires_at = localInputToIso(val.expires_local) || val.expires_local;
    else if (val.ends === 'never') body.expires_at = null;
    return body;
}
