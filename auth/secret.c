/* secret: random bytes, base64url, tokens, constant-time compare, key files. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "autoptr.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
auth_random_bytes(void *buf, size_t n, err *e)
{
    if (n > INT32_MAX || RAND_bytes(buf, (int)n) != 1)
        return err_set(e, ERR_INTERNAL, "random number generator failed");
    return 0;
}

char *
auth_b64url_encode(const void *in, size_t len)
{
    const unsigned char *p = in;
    if (len > (SIZE_MAX - 4) / 4 * 3)
        return NULL;
    char *out = malloc(len / 3 * 4 + 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        out[o++] = b64url_alphabet[p[i] >> 2];
        out[o++] = b64url_alphabet[(p[i] & 3) << 4];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
        out[o++] = b64url_alphabet[v >> 10];
        out[o++] = b64url_alphabet[(v >> 4) & 63];
        out[o++] = b64url_alphabet[(v & 15) << 2];
    }
    out[o] = '\0';
    return out;
}

static int
b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int
auth_b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t rem = inlen % 4;
    size_t need = inlen / 4 * 3 + (rem ? rem - 1 : 0);
    if (rem == 1 || need > cap)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Canonical form only: the unused trailing bits must be zero, so every
     * byte string has exactly one encoding (a signature cannot be re-spelled). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    *outlen = o;
    return 0;
}

static bool
token_prefix_ok(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n < 1 || n > 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (prefix[i] < 'a' || prefix[i] > 'z')
            return false;
    }
    return true;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int
auth_token_new(const char *prefix, char **token_out, char **lookup_out, err *e)
{
    unsigned char sec[32], look[AUTH_TOKEN_LOOKUP_LEN / 2];
    if (prefix && !token_prefix_ok(prefix))
        return err_set(e, ERR_INVALID, "token prefix must be 1 to 8 lowercase letters");
    if (auth_random_bytes(sec, sizeof(sec), e) < 0 || auth_random_bytes(look, sizeof(look), e) < 0)
        return -1;
    AUTOFREE char *s = auth_b64url_encode(sec, sizeof(sec));
    OPENSSL_cleanse(sec, sizeof(sec));
    if (!s)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (!prefix) {
        *token_out = STEAL(s);
        if (lookup_out)
            *lookup_out = NULL;
        return 0;
    }
    AUTOFREE char *lk = malloc(AUTH_TOKEN_LOOKUP_LEN + 1);
    size_t tlen = strlen(prefix) + 1 + AUTH_TOKEN_LOOKUP_LEN + 1 + strlen(s) + 1;
    AUTOFREE char *tok = malloc(tlen);
    if (!lk || !tok)
        return err_set(e, ERR_INTERNAL, "out of memory");
    hex_encode(look, sizeof(look), lk);
    snprintf(tok, tlen, "%s_%s_%s", prefix, lk, s);
    OPENSSL_cleanse(s, strlen(s));
    *token_out = STEAL(tok);
    *lookup_out = STEAL(lk);
    return 0;
}

int
auth_token_parse(const char *token, const char *prefix, char lookup[AUTH_TOKEN_LOOKUP_LEN + 1])
{
    size_t pl = strlen(prefix);
    if (!token || strncmp(token, prefix, pl) != 0 || token[pl] != '_')
        return -1;
    const char *lk = token + pl + 1;
    for (size_t i = 0; i < AUTH_TOKEN_LOOKUP_LEN; i++) {
        char c = lk[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
    }
    const char *sec = lk + AUTH_TOKEN_LOOKUP_LEN;
    if (sec[0] != '_' || strlen(sec + 1) != AUTH_TOKEN_SECRET_LEN)
        return -1;
    unsigned char raw[32];
    size_t rawlen;
    if (auth_b64url_decode(sec + 1, AUTH_TOKEN_SECRET_LEN, raw, sizeof(raw), &rawlen) < 0)
        return -1;
    memcpy(lookup, lk, AUTH_TOKEN_LOOKUP_LEN);
    lookup[AUTH_TOKEN_LOOKUP_LEN] = '\0';
    return 0;
}

void
auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        /* Cannot happen with the default provider; never return a usable value. */
        memset(out, 'x', AUTH_TOKEN_HASH_LEN);
        out[AUTH_TOKEN_HASH_LEN] = '\0';
        return;
    }
    hex_encode(md, sizeof(md), out);
}

bool
auth_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

/* ---- key files ---- */

static bool
key_trivial(const unsigned char *k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (k[i] != k[0])
            return false;
    }
    return true;
}

/* Reads an existing key file through fd. Returns 0 or -1. */
static int
secret_file_read(int fd, size_t len, unsigned char *out, size_t *outlen, err *e)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(e, ERR_INTERNAL, "cannot stat the secret file");
    if (!S_ISREG(st.st_mode))
        return err_set(e, ERR_INVALID, "the secret file is not a regular file");
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return err_set(e, ERR_INVALID,
                       "the secret file is accessible by group or others (mode %03o); "
                       "chmod 600 it",
                       (unsigned)(st.st_mode & 0777));
    if (st.st_size < AUTH_SECRET_MIN_LEN)
        return err_set(e, ERR_INVALID, "the secret file is shorter than %d bytes",
                       AUTH_SECRET_MIN_LEN);
    if ((uintmax_t)st.st_size > len)
        return err_set(e, ERR_INVALID, "the secret file is longer than %zu bytes", len);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, out + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return err_set(e, ERR_INTERNAL, "cannot read the secret file");
        got += (size_t)r;
    }
    if (key_trivial(out, got))
        return err_set(e, ERR_INVALID, "the secret file holds a trivial key (all bytes equal)");
    *outlen = got;
    return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the new directory entry durable (best effort: some filesystems refuse). */
static void
fsync_parent(const char *path)
{
    AUTOFREE char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* Writes a new key into a private temporary file next to `path` and links it in
 * place; link() fails with EEXIST rather than replace a file someone else created
 * meanwhile. Returns 0 created, 1 lost the race (caller reloads), -1 error. */
static int
secret_file_create(const char *path, size_t len, err *e)
{
    size_t tl = strlen(path) + 16;
    AUTOFREE char *tmp = malloc(tl);
    if (!tmp)
        return err_set(e, ERR_INTERNAL, "out of memory");
    snprintf(tmp, tl, "%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 regardless of umask */
    if (fd < 0)
        return err_set(e, ERR_INTERNAL, "cannot create the secret file (%s)", strerror(errno));
    unsigned char key[4096];
    int rc = auth_random_bytes(key, len, e);
    if (rc == 0 && (fchmod(fd, 0600) < 0 || write_all(fd, key, len) < 0 || fsync(fd) < 0))
        rc = err_set(e, ERR_INTERNAL, "cannot write the secret file (%s)", strerror(errno));
    OPENSSL_cleanse(key, len);
    close(fd);
    if (rc == 0 && link(tmp, path) < 0) {
        rc = errno == EEXIST
                 ? 1
                 : err_set(e, ERR_INTERNAL, "cannot create the secret file (%s)", strerror(errno));
    }
    unlink(tmp);
    if (rc == 0)
        fsync_parent(path);
    return rc;
}

int
auth_secret_file_load_or_create(const char *path, size_t len, unsigned char *out, size_t *outlen,
                                err *e)
{
    if (len < AUTH_SECRET_MIN_LEN || len > 4096)
        return err_set(e, ERR_INTERNAL, "secret length must be between %d and 4096 bytes",
                       AUTH_SECRET_MIN_LEN);
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            int rc = secret_file_read(fd, len, out, outlen, e);
            close(fd);
            if (rc < 0)
                OPENSSL_cleanse(out, len);
            return rc;
        }
        if (errno != ENOENT)
            return err_set(e, ERR_INTERNAL, "cannot open the secret file (%s)", strerror(errno));
        if (secret_file_create(path, len, e) < 0)
            return -1;
        /* created (or lost the race): load what is now there */
    }
    return err_set(e, ERR_INTERNAL, "the secret file keeps disappearing");
}
