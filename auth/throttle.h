/* throttle: in-memory login throttling per key ("acct:<login>", "ip:<addr>").
 *
 * At most `max_failures` failures per key within `window_s` seconds; then the
 * key is blocked until the oldest of those failures leaves the window (that is
 * the Retry-After). Memory is fixed at creation: a set-associative table of
 * `slots` entries; keys are stored only as a keyed hash (random per process),
 * so nobody can aim many keys at one set to evict a victim's entry, and
 * eviction prefers entries with no failure left in the window, then the one
 * whose last failure is oldest. Counters are lost at restart (by design).
 *
 * Usage per login: check both keys (429 if either is blocked), verify, then
 * on failure fail() both keys; on success ok() the account key only (clearing
 * the address would let one valid account reset an attacker's counter). */
#ifndef VP_AUTH_THROTTLE_H
#define VP_AUTH_THROTTLE_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#define AUTH_THROTTLE_FAILURES 5 /* issue 3: 5 failures a minute */
#define AUTH_THROTTLE_WINDOW 60
#define AUTH_THROTTLE_MAX_FAILURES 16

struct auth_throttle;

/* A throttle of about `slots` entries (rounded up to a power of two, 64 ..
 * 1<<22), max_failures in 1..AUTH_THROTTLE_MAX_FAILURES, window_s >= 1.
 * Caller frees. NULL with ERR_INVALID / ERR_INTERNAL. Thread-safe. */
struct auth_throttle *auth_throttle_new(size_t slots, int max_failures, int window_s, err *e);

/* NULL is fine. */
void auth_throttle_free(struct auth_throttle *t);

/* 0 when `key` (borrowed) may try now; 1 when blocked, with *retry_after (may
 * be NULL) set to the seconds to wait (>= 1). */
int auth_throttle_check(struct auth_throttle *t, const char *key, time_t now, int *retry_after);

/* Records one failure of `key` at `now`. */
void auth_throttle_fail(struct auth_throttle *t, const char *key, time_t now);

/* Forgets `key`'s failures (after a successful login). */
void auth_throttle_ok(struct auth_throttle *t, const char *key);

#endif
