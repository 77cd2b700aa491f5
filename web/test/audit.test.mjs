// Unit tests of the audit details splitter (src/lib/audit.js): node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitDetails } from '../src/lib/audit.js';

test('whole before/after objects: one row per field of either, sorted; other keys kept', () => {
    const d = { before: { vms: 2, vcpus: 4, cpu_cores: 1.5 }, after: { vms: 0, vcpus: 4 }, over_quota: [{ resource: 'vms' }] };
    const { rows, rest } = splitDetails(d);
    assert.deepEqual(rows, [
        { field: 'cpu_cores', before: 1.5, after: undefined },
        { field: 'vcpus', before: 4, after: 4 },
        { field: 'vms', before: 2, after: 0 },
    ]);
    assert.deepEqual(rest, [['over_quota', [{ resource: 'vms' }]]]);
});

test('per-field changes {field: {before, after}} become rows too', () => {
    const { rows, rest } = splitDetails({ name: { before: 'Lab', after: 'Physics lab' }, slug: 'lab' });
    assert.deepEqual(rows, [{ field: 'name', before: 'Lab', after: 'Physics lab' }]);
    assert.deepEqual(rest, [['slug', 'lab']]);
});

test('a before that is not an object is an ordinary detail', () => {
    const { rows, rest } = splitDetails({ before: 'reserved', released: [1, 2] });
    assert.deepEqual(rows, []);
    assert.deepEqual(rest, [['before', 'reserved'], ['released', [1, 2]]]);
});

test('an empty object or one with other keys is not a change', () => {
    const { rows, rest } = splitDetails({ a: {}, b: { before: 1, reason: 'x' } });
    assert.deepEqual(rows, []);
    assert.equal(rest.length, 2);
});
