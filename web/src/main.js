// Entry point: styles, theme, then the app into #app.
import './styles/app.css';
import { render } from 'preact';
import { html } from './lib/html.js';
import { applyTheme } from './lib/theme.js';
import { App } from './app.js';

applyTheme();
render(html`<${App} />`, document.getElementById('app'));
