// Tagged-template JSX replacement: html`<div class=${x}>…</div>` builds preact vnodes.
// htm parses each template once and caches it; no build-time transform needed.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
