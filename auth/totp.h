/* totp: RFC 6238 time-based one-time passwords (SHA-1, 30 s, 6 digits), the
 * format every authenticator app understands, with OpenSSL's HMAC.
 *
 * Replay protection is the caller's: auth_totp_verify returns the time step it
 * matched; store it per user and refuse a step <= the last one used. */
#ifndef VP_AUTH_TOTP_H
#define VP_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define AUTH_TOTP_DIGITS 6
#define AUTH_TOTP_PERIOD 30
#define AUTH_TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define AUTH_TOTP_WINDOW 1        /* steps accepted either side of now */

/* RFC 4226 HOTP value of key[keylen] at `counter`, with 6..9 digits, into *out.
 * Returns 0 or -1. */
int auth_totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits,
                   uint32_t *out);

/* The 6-digit code at time t, zero-padded, into out[7]. Returns 0 or -1. */
int auth_totp_code(const unsigned char *key, size_t keylen, time_t t, char out[7]);

/* Checks a 6-digit code (borrowed) at `now` within +-AUTH_TOTP_WINDOW steps,
 * comparing every candidate in constant time. Returns 1 and sets *matched_step
 * (may be NULL) on a match, 0 otherwise (including malformed codes). */
int auth_totp_verify(const unsigned char *key, size_t keylen, const char *code, time_t now,
                     int64_t *matched_step);

/* RFC 4648 base32 (A-Z2-7) without padding of in[len]. Caller frees; NULL on OOM. */
char *auth_totp_base32_encode(const unsigned char *in, size_t len);

/* Decodes base32, case-insensitive, ignoring spaces and trailing '=' (as users
 * type it from an app), into out[cap]. Returns 0 and sets *outlen, or -1. */
int auth_totp_base32_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen);

/* A new random secret (AUTH_TOTP_SECRET_BYTES) into raw[] and its base32 form
 * in *b32_out (caller frees). Returns 0 or -1. */
int auth_totp_secret_new(unsigned char raw[AUTH_TOTP_SECRET_BYTES], char **b32_out, err *e);

/* "otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&
 * digits=6&period=30" with issuer and account percent-encoded (all borrowed).
 * Caller frees; NULL on OOM. */
char *auth_totp_uri(const char *issuer, const char *account, const char *b32secret);

#endif
