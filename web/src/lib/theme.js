// Dark/light theme. The choice is remembered in localStorage (only the theme: no session
// data lives there); without a choice we follow prefers-color-scheme, live.
const KEY = 'vp-theme';

function stored() {
    try {
        const v = window.localStorage.getItem(KEY);
        return v === 'dark' || v === 'light' ? v : null;
    } catch {
        return null;
    }
}

const media = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

export function currentTheme() {
    return stored() || (media && media.matches ? 'dark' : 'light');
}

export function applyTheme() {
    document.documentElement.dataset.theme = currentTheme();
}

export function setTheme(theme) {
    try {
        window.localStorage.setItem(KEY, theme);
    } catch {
        /* storage disabled: the choice lasts for this page only */
    }
    applyTheme();
}

if (media && media.addEventListener) media.addEventListener('change', () => stored() || applyTheme());
