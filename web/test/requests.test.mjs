// Unit tests of the quota-request helpers: the bodies the dialogs send
// (src/lib/quota_request_body.js), amounts as text (src/lib/quota_res.js) and what a
// notification says and where it leads (src/lib/notify_text.js). node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalBody, endOfDay, requestBody } from '../src/lib/quota_request_body.js';
import { amountKeys, amountsText, jsonValue } from '../src/lib/quota_res.js';
import { notificationHref, notificationText, notificationTitle } from '../src/lib/notify_text.js';

/* The form's values as the request dialog starts them from a draft. */
function valuesOf(draft) {
    const mode = draft.targets ? 'targets' : 'deltas';
    const v = { tenant_id: String(draft.tenant_id || ''), mode, justification: draft.justification || '', ends: 'never', ends_on: '' };
    for (const [k, x] of Object.entries(draft[mode] || {})) v[k] = String(x);
    return v;
}

test('a refusal\u2019s quota_request goes back exactly as it came when nothing is changed', () => {
    const refusal = { tenant_id: 7, deltas: { vcpus: 4, memory_mib: 2048 }, justification: 'Needed for a refused request: vcpus +4, memory_mib +2048' };
    assert.deepEqual(requestBody(refusal, valuesOf(refusal)), refusal);
    /* fractional cores survive the round trip through text */
    const cores = { tenant_id: 7, deltas: { cpu_cores: 1.5 }, justification: ' keep my spaces ' };
    assert.deepEqual(requestBody(cores, valuesOf(cores)), cores);
});

test('edits change the body: trimmed new text, emptied resources left out, targets, an end of day', () => {
    const draft = { tenant_id: 3, deltas: { vcpus: 4, memory_mib: 2048 }, justification: 'x' };
    const v = { ...valuesOf(draft), memory_mib: '', justification: '  For the course.  ', mode: 'targets', vcpus: '12', ends: 'date', ends_on: '2031-03-15' };
    const body = requestBody(draft, v);
    assert.deepEqual(body.targets, { vcpus: 12 });
    assert.equal(body.deltas, undefined);
    assert.equal(body.justification, 'For the course.');
    assert.equal(body.ends_at, endOfDay('2031-03-15'));
    const end = new Date(body.ends_at);
    assert.deepEqual([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes()], [2031, 2, 15, 23, 59],
        'the end of that day, local time');
    /* a draft's end date can be dropped again: null, for good */
    const dated = { tenant_id: 3, deltas: { vms: 1 }, justification: 'y', ends_at: '2031-01-01T00:00:00Z' };
    assert.equal(requestBody(dated, { ...valuesOf(dated), ends: 'never' }).ends_at, null);
    /* without a fixed tenant the picked one is sent, as a number */
    assert.equal(requestBody({}, { ...valuesOf({}), tenant_id: '9', vcpus: '1', justification: 'z' }).tenant_id, 9);
    /* what is not a number goes as typed: the server names the field */
    assert.equal(requestBody(draft, { ...valuesOf(draft), vcpus: 'lots' }).deltas.vcpus, 'lots');
});

test('approval: resources only for a partial grant; the end as chosen', () => {
    const req = { id: 1, deltas: { vcpus: 4, memory_mib: 2048 }, ends_at: '2031-01-01T00:00:00Z' };
    const full = { vcpus: '4', memory_mib: '2048', ends: 'keep', expires_local: '', comment: ' ok ' };
    assert.deepEqual(approvalBody(req, full), { comment: 'ok' }, 'everything, until the end asked for');
    assert.deepEqual(approvalBody(req, { ...full, vcpus: '2' }).resources, { vcpus: 2, memory_mib: 2048 });
    assert.deepEqual(approvalBody(req, { ...full, memory_mib: '' }).resources, { vcpus: 4, memory_mib: 0 }, 'empty: none of it');
    assert.equal(approvalBody(req, { ...full, ends: 'never' }).expires_at, null);
    const dated = approvalBody(req, { ...full, ends: 'date', expires_local: '2030-05-01T12:00' });
    assert.equal(dated.expires_at, new Date('2030-05-01T12:00').toISOString(), 'local time to UTC');
    assert.equal('expires_at' in approvalBody(req, full), false);
});

test('amounts as text, in the canonical order, with units', () => {
    assert.deepEqual(amountKeys({ memory_mib: 1, vcpus: 2, frobs: 3, disk_gib: null }), ['vcpus', 'memory_mib', 'frobs']);
    assert.equal(amountsText({ memory_mib: 2048, vcpus: 4 }), 'vCPUs +4, Memory +2 GiB');
    assert.equal(amountsText({ vcpus: 12 }, 'to '), 'vCPUs to 12');
    assert.equal(amountsText({}), '—');
    assert.equal(jsonValue(' 12 '), 12);
    assert.equal(jsonValue(''), null);
    assert.equal(jsonValue('1.5'), 1.5);
    assert.equal(jsonValue('-3'), -3);
    assert.equal(jsonValue('4x'), '4x');
});

test('a notification leads to the request\u2019s page, never to an API path or elsewhere', () => {
    const n = (body, kind = 'quota_request.approved') => ({ id: 1, kind, body });
    assert.equal(notificationHref(n({ link: '/api/v1/quota-requests/12', request_id: 12 })), '/quota-requests/12');
    assert.equal(notificationHref(n({ request_id: 5 })), '/quota-requests/5');
    assert.equal(notificationHref(n({ link: '/api/v1/webhooks/3' })), null);
    assert.equal(notificationHref(n({ link: '//evil.example/x' })), null);
    assert.equal(notificationHref(n({ link: 'https://evil.example/x' })), null);
    assert.equal(notificationHref(n({ link: '/quotas?tenant=2' })), '/quotas?tenant=2');
    assert.equal(notificationHref(n(null)), null);
    assert.equal(notificationText(n({ message: 'Quota request #1 was approved by admin.' })), 'Quota request #1 was approved by admin.');
    assert.equal(notificationText(n({ request_id: 4, tenant: 'lab' }, 'quota_grant.expired')), 'Quota grant expired (#4) · lab');
    assert.equal(notificationTitle({ kind: 'something.new' }), 'something.new');
});
