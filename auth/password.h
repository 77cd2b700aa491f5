/* password: Argon2id hashing and the password policy.
 *
 * Hashes use OWASP's Argon2id parameters (m = 19 MiB, t = 2, p = 1, 16-byte
 * salt, 32-byte tag) in the standard encoded form ("$argon2id$v=19$m=..."). At
 * most AUTH_PASSWORD_MAX_CONCURRENT hash computations run at once process-wide;
 * further callers wait, so a burst of logins cannot take memory without bound
 * (4 x 19 MiB). This semaphore is the module's only global state. */
#ifndef VP_AUTH_PASSWORD_H
#define VP_AUTH_PASSWORD_H

#include <stdbool.h>

#include "err.h"

#define AUTH_PASSWORD_MIN_CHARS 12   /* Unicode code points */
#define AUTH_PASSWORD_MAX_BYTES 1024 /* longer input is refused before hashing */
#define AUTH_PASSWORD_MAX_CONCURRENT 4

/* Hashes pw (borrowed, NUL-terminated) into a new encoded string in *out_encoded
 * (caller frees). Does not apply the policy. Returns 0, or -1 (ERR_INVALID when
 * longer than AUTH_PASSWORD_MAX_BYTES, ERR_INTERNAL). May block for a hashing slot. */
int auth_password_hash(const char *pw, char **out_encoded, err *e);

/* Checks pw against an encoded Argon2id hash (both borrowed). Returns 1 on match,
 * 0 on mismatch, -1 when `encoded` is not an Argon2id hash we accept (wrong
 * variant, or parameters so large they look like a denial of service). */
int auth_password_verify(const char *encoded, const char *pw);

/* Spends the same time as a real verification against a fixed hash, for logins
 * of unknown or disabled users, so timing does not reveal whether a user exists. */
void auth_password_dummy_verify(const char *pw);

/* Hash computations running right now (0..AUTH_PASSWORD_MAX_CONCURRENT), for
 * /metrics and tests. */
int auth_password_slots_in_use(void);

/* True when `encoded` was made with other parameters than today's (rehash it at
 * the next successful login). */
bool auth_password_needs_rehash(const char *encoded);

/* Policy for a new password of user `login` (both borrowed; login may be NULL).
 * Returns 0, or -1 with ERR_INVALID and a detail naming the rule: length (12
 * characters to 1024 bytes), valid UTF-8 without control characters, must not
 * contain the login, must not be a short pattern repeated, and must not be
 * mostly made of common breached passwords, sequences (abcd, 4321) or keyboard
 * walks (qwerty, asdf) — case-insensitive. */
int auth_password_policy(const char *pw, const char *login, err *e);

#endif
