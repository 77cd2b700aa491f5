/* totp: RFC 6238 / RFC 4226 one-time passwords (see totp.h). */
#include "totp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "autoptr.h"
#include "secret.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
auth_totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits, uint32_t *out)
{
    static const uint32_t pow10[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};
    if (digits < 6 || digits > 9 || keylen == 0 || keylen > 1024)
        return -1;
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (unsigned char)(counter & 0xff);
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac, &maclen) || maclen != 20)
        return -1;
    /* RFC 4226 §5.3 dynamic truncation */
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    *out = bin % pow10[digits];
    return 0;
}

int
auth_totp_code(const unsigned char *key, size_t keylen, time_t t, char out[7])
{
    uint32_t v;
    if (t < 0 || auth_totp_hotp(key, keylen, (uint64_t)t / AUTH_TOTP_PERIOD, 6, &v) < 0)
        return -1;
    snprintf(out, 7, "%06u", (unsigned)v);
    return 0;
}

static bool
totp_code_shape_ok(const char *code)
{
    if (!code || strlen(code) != AUTH_TOTP_DIGITS)
        return false;
    for (int i = 0; i < AUTH_TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
    }
    return true;
}

int
auth_totp_verify(const unsigned char *key, size_t keylen, const char *code, time_t now,
                 int64_t *matched_step)
{
    if (!totp_code_shape_ok(code) || now < 0)
        return 0;
    int64_t step = (int64_t)now / AUTH_TOTP_PERIOD, found = -1;
    /* No early exit: every candidate is computed and compared. */
    for (int64_t s = step - AUTH_TOTP_WINDOW; s <= step + AUTH_TOTP_WINDOW; s++) {
        char want[7];
        if (s < 0 || auth_totp_code(key, keylen, (time_t)(s * AUTH_TOTP_PERIOD), want) < 0)
            continue;
        if (CRYPTO_memcmp(want, code, AUTH_TOTP_DIGITS) == 0 && found < 0)
            found = s;
    }
    if (found < 0)
        return 0;
    if (matched_step)
        *matched_step = found;
    return 1;
}

char *
auth_totp_base32_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(len / 5 * 8 + 8 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8 | in[i]) & 0xffff;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return out;
}

static int
b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int
auth_totp_base32_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    const char *p = in;
    for (; *p && *p != '='; p++) {
        if (*p == ' ')
            continue;
        int v = b32_value(*p);
        if (v < 0)
            return -1;
        acc = (acc << 5 | (uint32_t)v) & 0xffff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    while (*p == '=')
        p++;
    if (*p)
        return -1; /* data after padding */
    *outlen = o;
    return 0;
}

int
auth_totp_secret_new(unsigned char raw[AUTH_TOTP_SECRET_BYTES], char **b32_out, err *e)
{
    if (auth_random_bytes(raw, AUTH_TOTP_SECRET_BYTES, e) < 0)
        return -1;
    *b32_out = auth_totp_base32_encode(raw, AUTH_TOTP_SECRET_BYTES);
    if (!*b32_out)
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

/* Percent-encodes s (RFC 3986 unreserved characters stay) into a new string. */
static char *
totp_pct(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *
auth_totp_uri(const char *issuer, const char *account, const char *b32secret)
{
    AUTOFREE char *iss = totp_pct(issuer);
    AUTOFREE char *acc = totp_pct(account);
    AUTOFREE char *sec = totp_pct(b32secret);
    if (!iss || !acc || !sec)
        return NULL;
#define TOTP_URI_FMT "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d"
    int n = snprintf(NULL, 0, TOTP_URI_FMT, iss, acc, sec, iss, AUTH_TOTP_DIGITS, AUTH_TOTP_PERIOD);
    char *out = n < 0 ? NULL : malloc((size_t)n + 1);
    if (out)
        snprintf(out, (size_t)n + 1, TOTP_URI_FMT, iss, acc, sec, iss, AUTH_TOTP_DIGITS,
                 AUTH_TOTP_PERIOD);
    return out;
}
