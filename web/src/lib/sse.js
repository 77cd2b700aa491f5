// A Server-Sent Events parser (the "text/event-stream" interpretation of the HTML
// standard, §9.2.6), for streams read with fetch(): EventSource cannot send an
// Authorization header, so the UI reads the bytes itself and feeds them here.
//
//   const p = createSseParser((ev) => …);   ev = { type, data, id, retry }
//   p.push(textChunk) … p.end()
//
// Chunks may split anywhere (inside a line, between \r and \n). Lines are ended by
// \r\n, \n or \r. A blank line dispatches the event being built; "data" lines are
// joined with \n; a line starting with ":" is a comment; "id" sets the last event id
// (kept across events, ignored when it contains NUL); "retry" takes digits only.
// Events without data are not dispatched (as in the standard); `retry` alone is
// reported as { type: 'retry', retry } so the caller can adapt its reconnect delay.
// Text decoding (UTF-8, the BOM) is the caller's: use a TextDecoder with stream: true.

export function createSseParser(onEvent) {
    let buf = '';
    let skipLF = false; /* the previous chunk ended with \r: a leading \n belongs to it */
    let data = [];
    let hasData = false;
    let type = '';
    let lastId = '';
    let first = true;

    function dispatch() {
        if (hasData) onEvent({ type: type || 'message', data: data.join('\n'), id: lastId });
        data = [];
        hasData = false;
        type = '';
    }

    function line(text) {
        if (first) {
            first = false;
            if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        if (text === '') {
            dispatch();
            return;
        }
        if (text[0] === ':') return;
        const colon = text.indexOf(':');
        const field = colon < 0 ? text : text.slice(0, colon);
        let value = colon < 0 ? '' : text.slice(colon + 1);
        if (value[0] === ' ') value = value.slice(1);
        if (field === 'data') {
            data.push(value);
            hasData = true;
        } else if (field === 'event') {
            type = value;
        } else if (field === 'id') {
            if (!value.includes('\0')) lastId = value;
        } else if (field === 'retry') {
            if (/^\d+$/.test(value)) onEvent({ type: 'retry', data: '', id: lastId, retry: Number(value) });
        }
    }

    return {
        push(chunk) {
            let s = chunk;
            if (skipLF && s[0] === '\n') s = s.slice(1);
            skipLF = false;
            buf += s;
            let start = 0;
            for (let i = 0; i < buf.length; i++) {
                const c = buf[i];
                if (c !== '\n' && c !== '\r') continue;
                line(buf.slice(start, i));
                if (c === '\r') {
                    if (i + 1 < buf.length) {
                        if (buf[i + 1] === '\n') i++;
                    } else {
                        skipLF = true;
                    }
                }
                start = i + 1;
            }
            buf = buf.slice(start);
        },
        /* The stream ended: an unterminated event is dropped, as the standard says. */
        end() {
            buf = '';
            data = [];
            hasData = false;
            type = '';
        },
        get lastEventId() {
            return lastId;
        },
    };
}
