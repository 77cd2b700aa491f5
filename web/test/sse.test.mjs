// Unit tests of the SSE parser (src/lib/sse.js): node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSseParser } from '../src/lib/sse.js';

function parse(chunks) {
    const out = [];
    const p = createSseParser((ev) => out.push(ev));
    for (const c of chunks) p.push(c);
    return { out, p };
}

const TASK = '{"id":1,"state":"running","progress":5}';

test('the server stream: retry, task events, resync, keep-alive comments', () => {
    const text = `retry: 3000\n\nid: 17\nevent: task\ndata: ${TASK}\n\n: keep-alive\n\nevent: resync\ndata: {}\n\n`;
    const { out, p } = parse([text]);
    assert.deepEqual(out, [
        { type: 'retry', data: '', id: '', retry: 3000 },
        { type: 'task', data: TASK, id: '17' },
        { type: 'resync', data: '{}', id: '17' },
    ]);
    assert.equal(p.lastEventId, '17');
});

test('every split of the stream gives the same events', () => {
    const text = `retry: 3000\r\n\r\nid: 1\r\nevent: task\r\ndata: ${TASK}\r\n\r\nid: 2\revent: task\rdata: x\r\r`;
    const whole = parse([text]).out;
    assert.equal(whole.length, 3);
    for (let i = 0; i <= text.length; i++) {
        const { out } = parse([text.slice(0, i), text.slice(i)]);
        assert.deepEqual(out, whole, `split at ${i}`);
    }
    const bytes = parse(text.split('')).out;
    assert.deepEqual(bytes, whole, 'one character at a time');
});

test('multi-line data is joined with newlines; default type is message', () => {
    const { out } = parse(['data: a\ndata:b\ndata\n\n']);
    assert.deepEqual(out, [{ type: 'message', data: 'a\nb\n', id: '' }]);
});

test('a colon followed by no space keeps the value as is; one leading space is dropped', () => {
    const { out } = parse(['data:  two spaces\n\n']);
    assert.equal(out[0].data, ' two spaces');
});

test('events without data are not dispatched; the event type resets after each event', () => {
    const { out } = parse(['event: task\n\ndata: x\n\n']);
    assert.deepEqual(out, [{ type: 'message', data: 'x', id: '' }]);
});

test('bad retry and ids with NUL are ignored; unknown fields are ignored', () => {
    const { out, p } = parse(['retry: 3s\nid: 5\n\nid: a\0b\nfoo: bar\ndata: y\n\n']);
    assert.deepEqual(out, [{ type: 'message', data: 'y', id: '5' }]);
    assert.equal(p.lastEventId, '5');
});

test('an id line alone updates the last event id for later reconnects', () => {
    const { out, p } = parse(['id: 9\n\n']);
    assert.deepEqual(out, []);
    assert.equal(p.lastEventId, '9');
});

test('a leading BOM is skipped; an unterminated last event is dropped at end()', () => {
    const { out, p } = parse(['\ufeffdata: first\n\ndata: partial']);
    p.end();
    p.push('\n\n');
    assert.deepEqual(out, [{ type: 'message', data: 'first', id: '' }]);
});
