// Unit tests of the usage-history helpers (src/lib/series.js): node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtBytes } from '../src/lib/format.js';
import { budgetText, chartGeometry, enforcementInfo, latestWith, niceMax, seriesOf, seriesStats } from '../src/lib/series.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (min) => new Date(T0 + min * 60000).toISOString().replace('.000Z', 'Z');

test('seriesOf: time order, nulls kept as gaps, scale applied, bad times dropped', () => {
    const pts = [
        { t: at(10), cpu_cores: 2 },
        { t: at(0), cpu_cores: 1.5 },
        { t: at(5), cpu_cores: null },
        { t: 'garbage', cpu_cores: 9 },
        { t: at(15) },
    ];
    assert.deepEqual(seriesOf(pts, 'cpu_cores', 2), [
        { t: T0, v: 3 },
        { t: T0 + 5 * 60000, v: null },
        { t: T0 + 10 * 60000, v: 4 },
        { t: T0 + 15 * 60000, v: null },
    ]);
    assert.deepEqual(seriesOf(undefined, 'x'), []);
});

test('seriesStats ignores nulls; null when there is no value at all', () => {
    const s = [{ t: 1, v: 1 }, { t: 2, v: null }, { t: 3, v: 3 }, { t: 4, v: null }];
    assert.deepEqual(seriesStats(s), { n: 2, latest: 3, latestT: 3, min: 1, max: 3, mean: 2 });
    assert.equal(seriesStats([{ t: 1, v: null }]), null);
    assert.equal(seriesStats([]), null);
});

test('niceMax rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceMax(0.7), 1);
    assert.equal(niceMax(1), 1);
    assert.equal(niceMax(1.2), 2);
    assert.equal(niceMax(3), 5);
    assert.equal(niceMax(7), 10);
    assert.equal(niceMax(420), 500);
    assert.ok(niceMax(0) > 0, 'an all-zero series still has a scale');
});

test('niceMax in base 1024: powers of two of the binary units', () => {
    const MiB = 1024 * 1024;
    const GiB = 1024 * MiB;
    assert.equal(niceMax(2 * GiB, 1e-9, 1024), 2 * GiB);
    assert.equal(niceMax(GiB + 1, 1e-9, 1024), 2 * GiB);
    assert.equal(niceMax(3 * MiB, 1e-9, 1024), 4 * MiB);
    assert.equal(niceMax(600 * MiB, 1e-9, 1024), GiB);
    assert.equal(niceMax(0.5, 1e-9, 1024), 1, 'below one byte: one byte');
});

test('chartGeometry: the limit sets the scale, a null or a long gap breaks the line', () => {
    const step = 300000;
    const s = [0, 1, 2, 4, 5, 6].map((i) => ({ t: T0 + i * step, v: i === 5 ? null : 1 }));
    const g = chartGeometry([s], { width: 106, height: 54, pad: 3, x0: T0, x1: T0 + 10 * step, limit: 2, gap: 1.5 * step });
    assert.equal(g.yMax, 2);
    assert.equal(g.yOf(2), 3, 'the limit is at the top');
    assert.equal(g.yOf(0), 51);
    assert.equal(g.yOf(1), 27);
    /* x = 3 + i * 10: a run over i = 0..2, then i = 4 alone (gap before it, null after), then i = 6 alone */
    assert.equal(g.paths[0], 'M3.0,27.0 L13.0,27.0 L23.0,27.0');
    assert.deepEqual(g.dots[0], [{ x: 43, y: 27 }, { x: 63, y: 27 }]);
});

test('chartGeometry: a fixed maximum is the least top of the scale, larger values raise it', () => {
    const g = chartGeometry([[{ t: 0, v: 150 }, { t: 1, v: 50 }]], { width: 10, height: 10, pad: 0, x0: 0, x1: 1, fixedMax: 100 });
    assert.equal(g.yMax, 200, 'the larger of the values and the maximum sets the scale');
    const clipped = chartGeometry([[{ t: 0, v: 5 }]], { width: 10, height: 10, pad: 0, x0: 0, x1: 1, fixedMax: 100 });
    assert.equal(clipped.yMax, 100);
});

test('budgetText names the runtime limits a host budget sets, in the API units', () => {
    assert.equal(budgetText({ cpu_cores: 1.5, memory_max_mib: 2048, io_read_bps: 10485760, unknown: 3 }),
        'CPU cap 1.5 cores · Memory cap 2 GiB · Read bandwidth 10 MiB/s');
    assert.equal(budgetText({}), '');
    assert.equal(budgetText(null), '');
});

test('enforcementInfo: the three modes, anything else reads as not enforced', () => {
    assert.equal(enforcementInfo('cgroup').text, 'cgroup v2');
    assert.equal(enforcementInfo('libvirt').kind, 'warning');
    assert.equal(enforcementInfo('none').text, 'not enforced');
    assert.equal(enforcementInfo(undefined).text, 'not enforced');
});

test('latestWith: the newest point that has the value', () => {
    const pts = [{ t: 'a', cpu_cores: 1 }, { t: 'b', cpu_cores: 2 }, { t: 'c', cpu_cores: null }];
    assert.equal(latestWith(pts, 'cpu_cores').t, 'b');
    assert.equal(latestWith([{ cpu_cores: null }], 'cpu_cores'), null);
    assert.equal(latestWith(undefined, 'cpu_cores'), null);
});

test('fmtBytes: a rate a hair below a unit reads as that unit', () => {
    assert.equal(fmtBytes(1048575.9), '1 MiB');
    assert.equal(fmtBytes(1536), '1.5 KiB');
    assert.equal(fmtBytes(0), '0 B');
});
