// Waiting for what a list settles to. A table re-renders after each filter's fetch:
// a row that is in both the old and the new list is visible before the new list is,
// so "wait for one row, then count" can count the old list. countSettles polls the
// count until it is the expected one (or the timeout passes) and returns the last
// count, so the caller's assertion still says what was there instead.
export async function countSettles(locator, expected, timeout = 30000) {
    const end = Date.now() + timeout;
    for (;;) {
        const n = await locator.count();
        if (n === expected || Date.now() > end) return n;
        await new Promise((r) => setTimeout(r, 100));
    }
}
