/* secret: random bytes, base64url, API/refresh token strings, constant-time
 * comparison and the server's secret key files.
 *
 * Token format: API tokens are `<prefix>_<lookup>_<secret>`, e.g.
 * `vpt_0123456789abcdef_<43 base64url chars>`: `lookup` (16 hex chars) is stored
 * in clear to find the row, the whole token is stored only as auth_token_hash().
 * Refresh tokens (prefix NULL) are 43 opaque base64url characters (256 bits),
 * found by their hash. A SHA-256 of 256 random bits needs no salt or slow hash. */
#ifndef VP_AUTH_SECRET_H
#define VP_AUTH_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AUTH_TOKEN_LOOKUP_LEN 16 /* hex chars */
#define AUTH_TOKEN_SECRET_LEN 43 /* base64url chars of 32 random bytes */
#define AUTH_TOKEN_HASH_LEN 64   /* hex chars of SHA-256 */
#define AUTH_SECRET_MIN_LEN 32   /* bytes: shortest key we accept */

/* Fills buf[n] from the OpenSSL CSPRNG. Returns 0, or -1 (ERR_INTERNAL). */
int auth_random_bytes(void *buf, size_t n, err *e);

/* base64url without padding (RFC 4648 §5) of in[len]. Caller frees; NULL on OOM. */
char *auth_b64url_encode(const void *in, size_t len);

/* Strict base64url decoding of in[inlen] (no padding, no whitespace, canonical
 * trailing bits) into out[cap]. Returns 0 and sets *outlen, or -1 when the input
 * is not canonical base64url or does not fit. */
int auth_b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t cap,
                       size_t *outlen);

/* A new token. With prefix ([a-z]{1,8}): `<prefix>_<lookup>_<secret>` in
 * *token_out and the lookup id in *lookup_out. With prefix NULL: an opaque token
 * and *lookup_out set to NULL (lookup_out may itself be NULL then). Caller frees
 * both. Returns 0, or -1 (ERR_INVALID bad prefix, ERR_INTERNAL). Show the token
 * once, store auth_token_hash() of it. */
int auth_token_new(const char *prefix, char **token_out, char **lookup_out, err *e);

/* Checks that `token` (borrowed) has the API token shape for `prefix` and copies
 * its lookup id into lookup[AUTH_TOKEN_LOOKUP_LEN + 1]. Returns 0 or -1. */
int auth_token_parse(const char *token, const char *prefix, char lookup[AUTH_TOKEN_LOOKUP_LEN + 1]);

/* Lowercase hex SHA-256 of the token string, for storage and lookup. */
void auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN + 1]);

/* Constant-time equality of a[alen] and b[blen] (lengths are not secret). */
bool auth_secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Loads a secret key file, or creates it (mode 0600, atomically: a concurrent
 * creator cannot be overwritten) with `len` random bytes when it does not exist.
 * out[len] receives the key and *outlen its length. An existing file is refused
 * when it is not a regular file, is accessible by group or others, is shorter
 * than AUTH_SECRET_MIN_LEN bytes or longer than len. len must be in
 * [AUTH_SECRET_MIN_LEN, 4096]. The error detail never contains the path (the
 * caller, who knows it, adds it to its own message). Returns 0 or -1. */
int auth_secret_file_load_or_create(const char *path, size_t len, unsigned char *out,
                                    size_t *outlen, err *e);

#endif
